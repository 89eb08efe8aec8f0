/*
 * tests/protocol/test_dns_answer.c - val_answer_parse(): from a DNS
 * message to the RDATA of the asked type, in wire form exactly as the
 * records carry it (CAA and TXT are judged from those octets), also
 * beyond ldns's first buffer size; the records of other types (a CNAME
 * in front of its A) are left out; a response with no such record,
 * NXDOMAIN, and messages that do not parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "protocol/validate_int.h"

struct rr {
	const char *owner;
	int type;
	const void *rdata;
	size_t rdlen;
};

static size_t
put_name(unsigned char *p, const char *name)
{
	size_t o = 0, l;
	const char *dot;

	while (*name != '\0') {
		dot = strchr(name, '.');
		l = dot != NULL ? (size_t)(dot - name) : strlen(name);
		p[o++] = (unsigned char)l;
		memcpy(p + o, name, l);
		o += l;
		name += l + (dot != NULL);
	}
	p[o++] = 0;
	return o;
}

static size_t
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return 2;
}

/* A response to (qname, qtype) with `rcode` and the answers. */
static size_t
message(unsigned char *p, const char *qname, int qtype, int rcode,
    const struct rr *an, size_t nan)
{
	size_t o = 0, i;

	o += put16(p + o, 0x1234);
	o += put16(p + o, 0x8180 | (unsigned)rcode);
	o += put16(p + o, 1);
	o += put16(p + o, (unsigned)nan);
	o += put16(p + o, 0);
	o += put16(p + o, 0);
	o += put_name(p + o, qname);
	o += put16(p + o, (unsigned)qtype);
	o += put16(p + o, 1);
	for (i = 0; i < nan; i++) {
		o += put_name(p + o, an[i].owner);
		o += put16(p + o, (unsigned)an[i].type);
		o += put16(p + o, 1);
		o += put16(p + o, 0);
		o += put16(p + o, 300);
		o += put16(p + o, (unsigned)an[i].rdlen);
		memcpy(p + o, an[i].rdata, an[i].rdlen);
		o += an[i].rdlen;
	}
	return o;
}

static void
test_caa_and_txt_raw(void **state)
{
	static const unsigned char caa1[] = "\x00\x05issuehsmca.test";
	static const unsigned char caa2[] = "\x80\x03tbs\x01\x02";
	static const unsigned char txt[] = "\x05hello\x00\x03" "abc";
	const struct rr caa[] = {
		{ "example.test", VAL_RR_CAA, caa1, sizeof(caa1) - 1 },
		{ "example.test", VAL_RR_CAA, caa2, sizeof(caa2) - 1 },
	};
	const struct rr t[] = {
		{ "_acme-challenge.example.test", VAL_RR_TXT, txt,
		    sizeof(txt) - 1 },
	};
	unsigned char m[512];
	struct val_answer *a;
	size_t len;

	(void)state;
	len = message(m, "example.test", VAL_RR_CAA, 0, caa, 2);
	assert_non_null(a = val_answer_parse(m, len, VAL_RR_CAA));
	assert_int_equal(a->rcode, 0);
	assert_false(a->nxdomain);
	assert_true(a->havedata);
	assert_int_equal(a->n, 2);
	assert_int_equal(a->len[0], sizeof(caa1) - 1);
	assert_memory_equal(a->data[0], caa1, sizeof(caa1) - 1);
	assert_int_equal(a->len[1], sizeof(caa2) - 1);
	assert_memory_equal(a->data[1], caa2, sizeof(caa2) - 1);
	val_answer_free(a);

	len = message(m, "_acme-challenge.example.test", VAL_RR_TXT, 0, t, 1);
	assert_non_null(a = val_answer_parse(m, len, VAL_RR_TXT));
	assert_int_equal(a->n, 1);
	assert_int_equal(a->len[0], sizeof(txt) - 1);
	assert_memory_equal(a->data[0], txt, sizeof(txt) - 1);
	val_answer_free(a);
}

/* RDATA longer than the 512 octets ldns's buffer starts with. */
static void
test_long_rdata(void **state)
{
	unsigned char txt[3 * 256], m[1024];
	const struct rr t[] = {
		{ "long.example.test", VAL_RR_TXT, txt, sizeof(txt) },
	};
	struct val_answer *a;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(txt); i++)
		txt[i] = i % 256 == 0 ? 255 : (unsigned char)('a' + i % 26);
	len = message(m, "long.example.test", VAL_RR_TXT, 0, t, 1);
	assert_non_null(a = val_answer_parse(m, len, VAL_RR_TXT));
	assert_int_equal(a->n, 1);
	assert_int_equal(a->len[0], sizeof(txt));
	assert_memory_equal(a->data[0], txt, sizeof(txt));
	val_answer_free(a);
}

static void
test_cname_left_out(void **state)
{
	static const unsigned char target[] = "\x03www\x07" "example\x04test";
	static const unsigned char v4[] = { 10, 0, 0, 1 };
	const struct rr an[] = {
		{ "alias.example.test", 5, target, sizeof(target) },
		{ "www.example.test", VAL_RR_A, v4, sizeof(v4) },
	};
	unsigned char m[512];
	struct val_answer *a;
	size_t len;

	(void)state;
	len = message(m, "alias.example.test", VAL_RR_A, 0, an, 2);
	assert_non_null(a = val_answer_parse(m, len, VAL_RR_A));
	assert_int_equal(a->n, 1);
	assert_int_equal(a->len[0], 4);
	assert_memory_equal(a->data[0], v4, 4);
	val_answer_free(a);
	/* Asked for AAAA: the same message holds none. */
	assert_non_null(a = val_answer_parse(m, len, VAL_RR_AAAA));
	assert_int_equal(a->n, 0);
	assert_false(a->havedata);
	val_answer_free(a);
}

static void
test_nxdomain_and_nodata(void **state)
{
	unsigned char m[512];
	struct val_answer *a;
	size_t len;

	(void)state;
	len = message(m, "nx.example.test", VAL_RR_A, 3, NULL, 0);
	assert_non_null(a = val_answer_parse(m, len, VAL_RR_A));
	assert_int_equal(a->rcode, 3);
	assert_true(a->nxdomain);
	assert_false(a->havedata);
	val_answer_free(a);
	len = message(m, "example.test", VAL_RR_CAA, 0, NULL, 0);
	assert_non_null(a = val_answer_parse(m, len, VAL_RR_CAA));
	assert_int_equal(a->rcode, 0);
	assert_false(a->nxdomain);
	assert_int_equal(a->n, 0);
	val_answer_free(a);
}

static void
test_malformed(void **state)
{
	static const unsigned char v4[] = { 10, 0, 0, 1 };
	const struct rr an[] = { { "a.test", VAL_RR_A, v4, sizeof(v4) } };
	unsigned char m[512];
	size_t len;

	(void)state;
	len = message(m, "a.test", VAL_RR_A, 0, an, 1);
	/* Cut inside the record; the header alone; nothing at all. */
	assert_null(val_answer_parse(m, len - 2, VAL_RR_A));
	assert_null(val_answer_parse(m, 6, VAL_RR_A));
	assert_null(val_answer_parse(m, 0, VAL_RR_A));
	/* An answer count beyond what follows. */
	m[7] = 5;
	assert_null(val_answer_parse(m, len, VAL_RR_A));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caa_and_txt_raw),
		cmocka_unit_test(test_long_rdata),
		cmocka_unit_test(test_cname_left_out),
		cmocka_unit_test(test_nxdomain_and_nodata),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
