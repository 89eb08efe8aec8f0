/*
 * tests/store/test_codec.c - the certificate record encoding: round
 * trips, every truncation and trailing bytes refused, corrupt fields
 * refused, out-of-range inputs refused by the encoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store_int.h"
#include "tests/store/helpers.h"

static char *names3[] = { "a.example", "www.example.com", "x" };

static void
assert_cert_equal(const struct store_cert *a, const struct store_cert *b)
{
	size_t i;

	assert_int_equal(a->serial_len, b->serial_len);
	assert_memory_equal(a->serial, b->serial, a->serial_len);
	assert_int_equal(a->status, b->status);
	assert_true(a->not_before == b->not_before);
	assert_true(a->not_after == b->not_after);
	assert_true(a->issued_at == b->issued_at);
	assert_true(a->revoked_at == b->revoked_at);
	assert_int_equal(a->revoke_reason, b->revoke_reason);
	assert_true(a->account_id == b->account_id);
	assert_true(a->lineage_id == b->lineage_id);
	assert_int_equal(a->pred_serial_len, b->pred_serial_len);
	if (a->pred_serial_len > 0)
		assert_memory_equal(a->pred_serial, b->pred_serial,
		    a->pred_serial_len);
	assert_int_equal(a->crl_shard, b->crl_shard);
	assert_string_equal(a->profile, b->profile);
	assert_int_equal(a->nnames, b->nnames);
	for (i = 0; i < a->nnames; i++)
		assert_string_equal(a->names[i], b->names[i]);
	assert_int_equal(a->der_len, b->der_len);
	if (a->der_len > 0)
		assert_memory_equal(a->der, b->der, a->der_len);
}

enum variant {
	V_PLAIN, V_MIN, V_MAX, V_NEGATIVE, V_NO_NAMES, V_EMPTY_DER,
	V_BIG_DER, V_REVOKED, V_COUNT
};

static unsigned char big_der[70000];

/* Build the record of one table row into `c`. */
static void
variant(struct store_cert *c, enum variant v)
{
	th_cert(c, 42, 1800000000, 7, names3, 3);
	switch (v) {
	case V_PLAIN:
		break;
	case V_MIN:	/* smallest values of every field */
		c->serial_len = 1;
		c->serial[0] = 0;
		c->profile[0] = '\0';
		c->revoke_reason = 0;
		c->account_id = 0;
		c->nnames = 0;
		c->der_len = 0;
		c->der = NULL;
		break;
	case V_MAX:	/* largest values of every field */
		memset(c->serial, 0xff, STORE_SERIAL_MAX);
		c->serial_len = STORE_SERIAL_MAX;
		memset(c->pred_serial, 0xee, STORE_SERIAL_MAX);
		c->pred_serial_len = STORE_SERIAL_MAX;
		memset(c->profile, 'p', STORE_PROFILE_MAX - 1);
		c->profile[STORE_PROFILE_MAX - 1] = '\0';
		c->not_after = INT64_MAX;
		c->issued_at = INT64_MAX;
		c->account_id = UINT64_MAX;
		c->lineage_id = UINT64_MAX;
		c->crl_shard = UINT32_MAX;
		c->status = 255;
		break;
	case V_NEGATIVE:
		c->not_before = INT64_MIN;
		c->not_after = -1;
		c->revoke_reason = -1;
		break;
	case V_NO_NAMES:
		c->names = NULL;
		c->nnames = 0;
		break;
	case V_EMPTY_DER:
		c->der = NULL;
		c->der_len = 0;
		break;
	case V_BIG_DER:
		c->der = big_der;
		c->der_len = sizeof(big_der);
		break;
	case V_REVOKED:
		c->status = STORE_CERT_REVOKED;
		c->revoked_at = 1700000000;
		c->revoke_reason = 1;
		break;
	case V_COUNT:
		break;
	}
}

static void
test_roundtrip(void **state)
{
	struct store_cert c, *d;
	unsigned char *buf;
	size_t len;
	int v;

	for (v = 0; v < V_COUNT; v++) {
		variant(&c, (enum variant)v);
		assert_int_equal(store_cert_encode(&c, &buf, &len), 0);
		assert_int_equal(store_cert_decode(buf, len, &d), 0);
		assert_cert_equal(&c, d);
		store_cert_free(d);
		free(buf);
	}
}

/* Every proper prefix fails; so does any trailing byte. */
static void
test_truncated_and_trailing(void **state)
{
	struct store_cert c, *d;
	unsigned char *buf, *longer;
	size_t len, n;
	int v;

	for (v = 0; v < V_COUNT; v++) {
		if (v == V_BIG_DER)
			continue;	/* same code paths, 70k prefixes */
		variant(&c, (enum variant)v);
		assert_int_equal(store_cert_encode(&c, &buf, &len), 0);
		for (n = 0; n < len; n++) {
			d = (struct store_cert *)1;
			assert_int_equal(store_cert_decode(buf, n, &d),
			    HSMCA_EINVAL);
			assert_null(d);
		}
		assert_non_null(longer = malloc(len + 1));
		memcpy(longer, buf, len);
		longer[len] = 0;
		assert_int_equal(store_cert_decode(longer, len + 1, &d),
		    HSMCA_EINVAL);
		free(longer);
		free(buf);
	}
}

/*
 * Offsets into the encoding of the V_PLAIN record (serial 5 bytes,
 * no predecessor, profile "tls-server", names3).
 */
#define OFF_TYPE 0
#define OFF_VERSION 1
#define OFF_SERIAL_LEN 2
#define OFF_PRED_LEN (3 + 5 + 1 + 32 + 4 + 16)
#define OFF_PROFILE_LEN (OFF_PRED_LEN + 1 + 4)
#define OFF_NNAMES (OFF_PROFILE_LEN + 1 + 10)
#define OFF_NAME0_LEN (OFF_NNAMES + 4)

struct corrupt_case {
	const char *desc;
	size_t off;
	unsigned char val;
};

static const struct corrupt_case corrupt_cases[] = {
	{ "unknown record type", OFF_TYPE, 'X' },
	{ "version 0", OFF_VERSION, 0 },
	{ "version 2", OFF_VERSION, 2 },
	{ "serial length 0", OFF_SERIAL_LEN, 0 },
	{ "serial length 21", OFF_SERIAL_LEN, STORE_SERIAL_MAX + 1 },
	{ "serial length past the end", OFF_SERIAL_LEN, 0xff },
	{ "predecessor length 21", OFF_PRED_LEN, STORE_SERIAL_MAX + 1 },
	{ "profile length 32", OFF_PROFILE_LEN, STORE_PROFILE_MAX },
	{ "profile with a NUL", OFF_PROFILE_LEN + 1 + 3, 0 },
	{ "nnames huge", OFF_NNAMES, 0x7f },
	{ "nnames one more", OFF_NNAMES + 3, 4 },
	{ "nnames one less", OFF_NNAMES + 3, 2 },
	{ "name length 0", OFF_NAME0_LEN + 1, 0 },
	{ "name with a NUL", OFF_NAME0_LEN + 2 + 1, 0 },
};

static void
test_corrupt(void **state)
{
	struct store_cert c, *d;
	unsigned char *buf;
	size_t len, i;
	unsigned char save;

	variant(&c, V_PLAIN);
	assert_int_equal(store_cert_encode(&c, &buf, &len), 0);
	/* The offsets really point where the table says. */
	assert_int_equal(buf[OFF_SERIAL_LEN], 5);
	assert_int_equal(buf[OFF_PRED_LEN], 0);
	assert_int_equal(buf[OFF_PROFILE_LEN], 10);
	assert_int_equal(buf[OFF_NNAMES + 3], 3);
	assert_int_equal(buf[OFF_NAME0_LEN + 1], 9);
	for (i = 0; i < sizeof(corrupt_cases) / sizeof(corrupt_cases[0]);
	    i++) {
		save = buf[corrupt_cases[i].off];
		buf[corrupt_cases[i].off] = corrupt_cases[i].val;
		if (store_cert_decode(buf, len, &d) != HSMCA_EINVAL)
			fail_msg("decoded: %s", corrupt_cases[i].desc);
		assert_null(d);
		buf[corrupt_cases[i].off] = save;
	}
	/* Restored: decodes again (the cases did not depend on each other). */
	assert_int_equal(store_cert_decode(buf, len, &d), 0);
	store_cert_free(d);
	free(buf);
}

static char *bad_names_empty[] = { "ok", "" };
static char *bad_names_null[] = { "ok", NULL };

static void
test_encode_refuses(void **state)
{
	struct store_cert c;
	unsigned char *buf = NULL;
	size_t len;

	th_cert(&c, 1, 1, 0, NULL, 0);
	c.serial_len = 0;
	assert_int_equal(store_cert_encode(&c, &buf, &len), HSMCA_EINVAL);
	c.serial_len = STORE_SERIAL_MAX + 1;
	assert_int_equal(store_cert_encode(&c, &buf, &len), HSMCA_EINVAL);
	c.serial_len = STORE_SERIAL_MAX;
	assert_int_equal(store_cert_encode(&c, &buf, &len), 0);
	free(buf);
	c.pred_serial_len = STORE_SERIAL_MAX + 1;
	assert_int_equal(store_cert_encode(&c, &buf, &len), HSMCA_EINVAL);
	c.pred_serial_len = 0;
	memset(c.profile, 'p', sizeof(c.profile));	/* no NUL */
	assert_int_equal(store_cert_encode(&c, &buf, &len), HSMCA_EINVAL);
	c.profile[0] = '\0';
	c.names = bad_names_empty;
	c.nnames = 2;
	assert_int_equal(store_cert_encode(&c, &buf, &len), HSMCA_EINVAL);
	c.names = bad_names_null;
	assert_int_equal(store_cert_encode(&c, &buf, &len), HSMCA_EINVAL);
	assert_null(buf);
}

/* The fuzz seeds are valid records that re-encode to the same bytes. */
static void
test_seed_corpus(void **state)
{
	static const char *seeds[] = { "plain", "min", "revoked_max" };
	unsigned char in[4096], *out;
	struct store_cert *c;
	char path[4096];
	size_t i, n, len;
	FILE *fp;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", STORE_CORPUS_DIR,
		    seeds[i]);
		assert_non_null(fp = fopen(path, "rb"));
		n = fread(in, 1, sizeof(in), fp);
		fclose(fp);
		if (store_cert_decode(in, n, &c) != 0)
			fail_msg("seed %s does not decode", seeds[i]);
		assert_int_equal(store_cert_encode(c, &out, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(out, in, n);
		free(out);
		store_cert_free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_roundtrip, th_cleanup),
		cmocka_unit_test_teardown(test_truncated_and_trailing, th_cleanup),
		cmocka_unit_test_teardown(test_corrupt, th_cleanup),
		cmocka_unit_test_teardown(test_encode_refuses, th_cleanup),
		cmocka_unit_test_teardown(test_seed_corpus, th_cleanup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
