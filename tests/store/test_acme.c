/*
 * tests/store/test_acme.c - the ACME records in a real LMDB: codec
 * round trips and refusals of truncated or extended bytes, accounts and
 * the thumbprint index (create, duplicate key, key rollover moving the
 * index, rollover onto a taken key), orders by account and creation
 * time at the window boundary, the validation marks, the valid-authz
 * index and the per-domain issuance counter; and that everything
 * survives closing and reopening the environment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store_acme.h"
#include "tests/store/helpers.h"

#define THUMB_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define THUMB_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define THUMB_C "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"

static void
reopen(struct th_store *f)
{
	store_close(f->st);
	f->st = th_open(th_path(f->tmp, "db"));
}

static void
account(struct store_acme_account *a, uint64_t id, const char *thumb)
{
	memset(a, 0, sizeof(*a));
	a->id = id;
	a->status = 1;
	snprintf(a->thumb, sizeof(a->thumb), "%s", thumb);
	a->jwk = (char *)"{\"kty\":\"EC\"}";
	a->contact = (char *)"[\"mailto:a@example.com\"]";
	a->created_at = 1700000000;
}

struct acct_put {
	struct store_acme_account *a;
	bool create;
};

static int
acct_put_fn(struct store_txn *txn, void *arg)
{
	struct acct_put *p = arg;

	return store_acme_account_put(txn, p->a, p->create);
}

static int
acct_put(struct store *st, struct store_acme_account *a, bool create)
{
	struct acct_put p = { a, create };

	return store_write(st, acct_put_fn, &p, NULL);
}

static void
test_account_index(void **state)
{
	struct th_store *f = *state;
	struct store_acme_account a, b, *got = NULL;
	uint64_t id;

	account(&a, 7, THUMB_A);
	account(&b, 8, THUMB_B);
	assert_int_equal(acct_put(f->st, &a, true), 0);
	assert_int_equal(acct_put(f->st, &b, true), 0);
	/* The same id, or the same key, twice: refused, nothing written. */
	assert_int_equal(acct_put(f->st, &a, true), HSMCA_EEXIST);
	account(&a, 9, THUMB_A);
	assert_int_equal(acct_put(f->st, &a, true), HSMCA_EEXIST);
	assert_int_equal(store_acme_account_get(f->st, 9, &got, NULL),
	    HSMCA_ENOTFOUND);
	assert_int_equal(store_acme_account_by_thumb(f->st, THUMB_A, &id,
	    NULL), 0);
	assert_int_equal(id, 7);
	/* Rollover onto a taken key: refused, the index unchanged. */
	account(&a, 7, THUMB_B);
	assert_int_equal(acct_put(f->st, &a, false), HSMCA_EEXIST);
	assert_int_equal(store_acme_account_by_thumb(f->st, THUMB_A, &id,
	    NULL), 0);
	assert_int_equal(id, 7);
	/* Rollover to a free key moves the index. */
	account(&a, 7, THUMB_C);
	a.status = 2;
	assert_int_equal(acct_put(f->st, &a, false), 0);
	reopen(f);
	assert_int_equal(store_acme_account_by_thumb(f->st, THUMB_A, &id,
	    NULL), HSMCA_ENOTFOUND);
	assert_int_equal(store_acme_account_by_thumb(f->st, THUMB_C, &id,
	    NULL), 0);
	assert_int_equal(id, 7);
	assert_int_equal(store_acme_account_get(f->st, 7, &got, NULL), 0);
	assert_int_equal(got->status, 2);
	assert_string_equal(got->thumb, THUMB_C);
	assert_string_equal(got->contact, "[\"mailto:a@example.com\"]");
	assert_null(got->eab_kid);
	store_acme_account_free(got);
	/* Update of an account that does not exist. */
	account(&a, 99, "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD");
	assert_int_equal(acct_put(f->st, &a, false), HSMCA_ENOTFOUND);
	assert_int_equal(th_check_problems(f->st), 0);
}

/* Every record encodes, decodes to itself, and refuses cut bytes. */
static void
test_codec(void **state)
{
	struct store_acme_account a, *a2 = NULL;
	struct store_acme_authz z, *z2 = NULL;
	struct store_acme_order o, *o2 = NULL;
	struct store_acme_ident ids[2] = { { false, (char *)"*.example.com" },
	    { true, (char *)"::1" } };
	uint64_t authz[2] = { 11, 12 };
	unsigned char *buf, *big;
	size_t len, i;

	(void)state;
	account(&a, 1, THUMB_A);
	a.eab_kid = (char *)"kid";
	assert_int_equal(store_acme_account_encode(&a, &buf, &len), 0);
	assert_int_equal(store_acme_account_decode(buf, len, &a2), 0);
	assert_string_equal(a2->eab_kid, "kid");
	assert_string_equal(a2->jwk, a.jwk);
	store_acme_account_free(a2);
	for (i = 0; i < len; i++)
		assert_int_equal(store_acme_account_decode(buf, i, &a2),
		    HSMCA_EINVAL);
	big = malloc(len + 1);
	memcpy(big, buf, len);
	big[len] = 0;
	assert_int_equal(store_acme_account_decode(big, len + 1, &a2),
	    HSMCA_EINVAL);
	free(big);
	free(buf);

	memset(&z, 0, sizeof(z));
	z.id = 5;
	z.account_id = 1;
	z.status = 1;
	z.wildcard = true;
	z.value = (char *)"example.com";
	z.expires = -5;
	z.nchall = 2;
	z.chall[0].type = 2;
	z.chall[0].status = 1;
	snprintf(z.chall[0].token, sizeof(z.chall[0].token), "tok0");
	z.chall[1].type = 1;
	z.chall[1].status = 5;
	z.chall[1].validated_at = 1234;
	z.chall[1].error = (char *)"{\"type\":\"x\"}";
	snprintf(z.chall[1].token, sizeof(z.chall[1].token), "tok1");
	assert_int_equal(store_acme_authz_encode(&z, &buf, &len), 0);
	assert_int_equal(store_acme_authz_decode(buf, len, &z2), 0);
	assert_true(z2->wildcard && !z2->ip);
	assert_int_equal(z2->expires, -5);
	assert_int_equal(z2->nchall, 2);
	assert_null(z2->chall[0].error);
	assert_string_equal(z2->chall[1].error, "{\"type\":\"x\"}");
	assert_string_equal(z2->chall[1].token, "tok1");
	assert_int_equal(z2->chall[1].validated_at, 1234);
	store_acme_authz_free(z2);
	for (i = 0; i < len; i++)
		assert_int_equal(store_acme_authz_decode(buf, i, &z2),
		    HSMCA_EINVAL);
	free(buf);
	z.nchall = 4;
	assert_int_equal(store_acme_authz_encode(&z, &buf, &len),
	    HSMCA_EINVAL);

	memset(&o, 0, sizeof(o));
	o.id = 3;
	o.account_id = 1;
	o.status = 4;
	o.created_at = 100;
	o.expires = 200;
	snprintf(o.profile, sizeof(o.profile), "dv");
	o.nidents = 2;
	o.idents = ids;
	o.nauthz = 2;
	o.authz = authz;
	o.serial_len = 16;
	memset(o.serial, 0x42, 16);
	assert_int_equal(store_acme_order_encode(&o, &buf, &len), 0);
	assert_int_equal(store_acme_order_decode(buf, len, &o2), 0);
	assert_string_equal(o2->idents[0].value, "*.example.com");
	assert_true(o2->idents[1].ip);
	assert_int_equal(o2->authz[1], 12);
	assert_int_equal(o2->serial_len, 16);
	assert_memory_equal(o2->serial, o.serial, 16);
	assert_null(o2->error);
	assert_string_equal(o2->profile, "dv");
	store_acme_order_free(o2);
	for (i = 0; i < len; i++)
		assert_int_equal(store_acme_order_decode(buf, i, &o2),
		    HSMCA_EINVAL);
	/* A wrong record type is refused. */
	assert_int_equal(store_acme_authz_decode(buf, len, &z2), HSMCA_EINVAL);
	free(buf);
}

struct order_put {
	struct store_acme_order *o;
};

static int
order_put_fn(struct store_txn *txn, void *arg)
{
	struct order_put *p = arg;

	return store_acme_order_put(txn, p->o, true);
}

static int
collect(uint64_t id, void *arg)
{
	uint64_t *ids = arg;

	ids[++ids[0]] = id;
	return 0;
}

static void
test_orders_by_account(void **state)
{
	struct th_store *f = *state;
	struct store_acme_order o;
	struct order_put p = { &o };
	uint64_t ids[8] = { 0 };
	int64_t oldest;
	size_t n;
	int i;

	memset(&o, 0, sizeof(o));
	o.status = 1;
	/* Three orders of account 1 at times 100, 200, 300 (written out of
	 * order), one of account 2 at 250. */
	for (i = 0; i < 4; i++) {
		static const int64_t t[] = { 300, 100, 200, 250 };

		o.id = (uint64_t)(10 + i);
		o.account_id = i == 3 ? 2 : 1;
		o.created_at = t[i];
		assert_int_equal(store_write(f->st, order_put_fn, &p, NULL),
		    0);
	}
	/* The same id again is refused. */
	assert_int_equal(store_write(f->st, order_put_fn, &p, NULL),
	    HSMCA_EEXIST);
	reopen(f);
	assert_int_equal(store_acme_order_count(f->st, 1, 200, &n, &oldest,
	    NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(oldest, 200);
	assert_int_equal(store_acme_order_count(f->st, 1, 201, &n, &oldest,
	    NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(oldest, 300);
	assert_int_equal(store_acme_order_count(f->st, 1, 301, &n, &oldest,
	    NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_acme_order_count(f->st, 3, 0, &n, NULL, NULL),
	    0);
	assert_int_equal(n, 0);
	/* Negative times sort before positive ones. */
	assert_int_equal(store_acme_order_count(f->st, 1, -1000, &n, NULL,
	    NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_acme_order_list(f->st, 1, 0, collect, ids,
	    NULL), 0);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], 11);	/* t=100 */
	assert_int_equal(ids[2], 12);	/* t=200 */
	assert_int_equal(ids[3], 10);	/* t=300 */
	assert_int_equal(th_check_problems(f->st), 0);
}

struct marks {
	bool prune;
	bool del;
	uint64_t authz;
	unsigned idx;
	const char *domain;
	int64_t at;
};

static int
marks_fn(struct store_txn *txn, void *arg)
{
	struct marks *m = arg;
	unsigned char serial[2] = { 1, (unsigned char)m->at };

	if (m->prune)
		return store_acme_issued_prune(txn, m->domain, m->at);
	if (m->domain != NULL)
		return store_acme_issued_put(txn, m->domain, m->at, serial, 2);
	if (m->del)
		return store_acme_queue_del(txn, m->authz, m->idx);
	store_acme_queue_put(txn, m->authz, m->idx);
	return store_acme_valid_put(txn, 1, "dns:example.com", m->authz);
}

static int
queue_collect(uint64_t authz, unsigned idx, void *arg)
{
	uint64_t *got = arg;

	got[++got[0]] = authz * 10 + idx;
	return 0;
}

static void
test_marks_and_counters(void **state)
{
	struct th_store *f = *state;
	struct marks m = { false, false, 5, 2, NULL, 0 };
	uint64_t got[8] = { 0 }, zid;
	int64_t oldest;
	size_t n;

	assert_int_equal(store_write(f->st, marks_fn, &m, NULL), 0);
	m.authz = 3;
	m.idx = 0;
	assert_int_equal(store_write(f->st, marks_fn, &m, NULL), 0);
	/* Issuance counters of two domains share a prefix. */
	m.domain = "example.com";
	m.at = 100;
	assert_int_equal(store_write(f->st, marks_fn, &m, NULL), 0);
	m.at = 200;
	assert_int_equal(store_write(f->st, marks_fn, &m, NULL), 0);
	m.domain = "example.co";
	assert_int_equal(store_write(f->st, marks_fn, &m, NULL), 0);
	reopen(f);
	assert_int_equal(store_acme_queue_list(f->st, queue_collect, got,
	    NULL), 0);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 30);
	assert_int_equal(got[2], 52);
	assert_int_equal(store_acme_valid_get(f->st, 1, "dns:example.com",
	    &zid, NULL), 0);
	assert_int_equal(zid, 3);
	assert_int_equal(store_acme_valid_get(f->st, 2, "dns:example.com",
	    &zid, NULL), HSMCA_ENOTFOUND);
	assert_int_equal(store_acme_issued_count(f->st, "example.com", 100,
	    &n, &oldest, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(oldest, 100);
	assert_int_equal(store_acme_issued_count(f->st, "example.com", 101,
	    &n, &oldest, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(oldest, 200);
	assert_int_equal(store_acme_issued_count(f->st, "example.co", 0, &n,
	    NULL, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_acme_issued_count(f->st, "example", 0, &n,
	    NULL, NULL), 0);
	assert_int_equal(n, 0);
	/* db check: the two marks and the valid-authz entry point at
	 * authorizations that were never stored; the counters are fine. */
	assert_int_equal(th_check_problems(f->st), 3);
	/* Unmark one. */
	m.domain = NULL;
	m.del = true;
	m.authz = 5;
	m.idx = 2;
	assert_int_equal(store_write(f->st, marks_fn, &m, NULL), 0);
	got[0] = 0;
	assert_int_equal(store_acme_queue_list(f->st, queue_collect, got,
	    NULL), 0);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 30);
	assert_int_equal(th_check_problems(f->st), 2);
	/* Prune example.com before 200: the entry at 100 goes, the one at
	 * 200 and example.co's stay. */
	m.del = false;
	m.prune = true;
	m.domain = "example.com";
	m.at = 200;
	assert_int_equal(store_write(f->st, marks_fn, &m, NULL), 0);
	assert_int_equal(store_acme_issued_count(f->st, "example.com", 0,
	    &n, &oldest, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(oldest, 200);
	assert_int_equal(store_acme_issued_count(f->st, "example.co", 0, &n,
	    NULL, NULL), 0);
	assert_int_equal(n, 1);
	m.at = 201;
	assert_int_equal(store_write(f->st, marks_fn, &m, NULL), 0);
	assert_int_equal(store_acme_issued_count(f->st, "example.com", 0,
	    &n, NULL, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_acme_issued_count(f->st, "example.co", 0, &n,
	    NULL, NULL), 0);
	assert_int_equal(n, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_account_index,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test(test_codec),
		cmocka_unit_test_setup_teardown(test_orders_by_account,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_marks_and_counters,
		    th_store_setup, th_store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, th_cleanup);
}
