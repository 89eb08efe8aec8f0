/*
 * tests/store/test_revoke.c - revoked_by_shard, CRL records and the
 * audit log over a real LMDB environment: key order and shard bounds of
 * the walk, refusals, record round trips, the dirty mark, sequence
 * numbers that survive a reopen, and store_check on revoked entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "store/store_int.h"
#include "store/store_revoke.h"
#include "tests/store/helpers.h"

#define NOW 1800000000

struct put_arg {
	uint32_t shard;
	struct store_revoked e;
	struct store_cert *cert;	/* NULL: entry only */
};

static int
put_fn(struct store_txn *txn, void *arg)
{
	struct put_arg *a = arg;

	if (a->cert != NULL)
		store_cert_put(txn, a->cert);
	store_revoked_put(txn, a->shard, &a->e);
	return store_txn_error(txn);
}

static void
entry(struct store_revoked *e, unsigned char first, size_t len,
    int64_t not_after, int reason)
{
	memset(e, 0, sizeof(*e));
	memset(e->serial, 0x11, len);
	e->serial[0] = first;
	e->serial_len = len;
	e->revoked_at = NOW - 10;
	e->reason = reason;
	e->not_after = not_after;
}

struct seen {
	unsigned char first[16];
	size_t n;
};

static int
seen_cb(const struct store_revoked *e, void *arg)
{
	struct seen *s = arg;

	if (s->n < sizeof(s->first))
		s->first[s->n] = e->serial[0];
	s->n++;
	return 0;
}

/* A shard's walk sees its entries only, in serial order, unexpired. */
static void
test_walk(void **state)
{
	static const struct { uint32_t shard; unsigned char first; } puts[] = {
		{ 1, 0x30 }, { 1, 0x10 }, { 0, 0x20 }, { 2, 0x05 },
		{ 1, 0x20 }, { UINT32_MAX, 0x01 },
	};
	char *dir = th_tmpdir();
	struct store *st = th_open(dir);
	struct hsmca_err err = { 0 };
	struct put_arg a;
	struct seen s;

	(void)state;
	for (size_t i = 0; i < sizeof(puts) / sizeof(puts[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.shard = puts[i].shard;
		entry(&a.e, puts[i].first, 16, NOW + (puts[i].first == 0x20 ?
		    -1 : 100), 1);
		assert_int_equal(store_write(st, put_fn, &a, &err), 0);
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_revoked_walk(st, 1, 0, NULL, seen_cb, &s, &err),
	    0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.first[0], 0x10);
	assert_int_equal(s.first[1], 0x20);
	assert_int_equal(s.first[2], 0x30);
	/* not_after >= min: NOW - 1 is dropped at NOW, kept at NOW - 1. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_revoked_walk(st, 1, NOW, NULL, seen_cb, &s,
	    &err), 0);
	assert_int_equal(s.n, 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_revoked_walk(st, 1, NOW - 1, NULL, seen_cb, &s,
	    &err), 0);
	assert_int_equal(s.n, 3);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_revoked_walk(st, 3, 0, NULL, seen_cb, &s, &err),
	    0);
	assert_int_equal(s.n, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_revoked_walk(st, UINT32_MAX, 0, NULL, seen_cb,
	    &s, &err), 0);
	assert_int_equal(s.n, 1);
	store_close(st);
	th_rmtree(dir);
}

/* Duplicates, bad serial lengths and reasons are refused. */
static void
test_refused(void **state)
{
	char *dir = th_tmpdir();
	struct store *st = th_open(dir);
	struct hsmca_err err;
	struct put_arg a;
	struct seen s;

	(void)state;
	memset(&a, 0, sizeof(a));
	entry(&a.e, 0x40, 20, NOW, 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_write(st, put_fn, &a, &err), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_write(st, put_fn, &a, &err), HSMCA_EEXIST);
	a.e.serial_len = 21;
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_write(st, put_fn, &a, &err), HSMCA_EINVAL);
	a.e.serial_len = 0;
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_write(st, put_fn, &a, &err), HSMCA_EINVAL);
	entry(&a.e, 0x41, 16, NOW, 11);
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_write(st, put_fn, &a, &err), HSMCA_EINVAL);
	a.e.reason = -1;
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_write(st, put_fn, &a, &err), HSMCA_EINVAL);
	a.e.reason = 10;
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_write(st, put_fn, &a, &err), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_revoked_walk(st, 0, 0, NULL, seen_cb, &s, &err),
	    0);
	assert_int_equal(s.n, 2);
	store_close(st);
	th_rmtree(dir);
}

struct crl_arg {
	struct store_crl crl;
	uint32_t dirty_shard;
	int64_t dirty_at;
	int mode;		/* 0 put, 1 mark dirty */
};

static int
crl_fn(struct store_txn *txn, void *arg)
{
	struct crl_arg *a = arg;

	if (a->mode == 0)
		store_crl_put(txn, &a->crl);
	else
		store_crl_mark_dirty(txn, a->dirty_shard, a->dirty_at);
	return store_txn_error(txn);
}

/* Records round-trip; the dirty mark keeps the first time and counts. */
static void
test_crl_records(void **state)
{
	static unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
	char *dir = th_tmpdir();
	struct store *st = th_open(dir);
	struct hsmca_err err = { 0 };
	struct store_crl *got = NULL;
	struct crl_arg a;

	(void)state;
	assert_int_equal(store_crl_get(st, 5, true, &got, &err),
	    HSMCA_ENOTFOUND);
	memset(&a, 0, sizeof(a));
	a.mode = 1;
	a.dirty_shard = 5;
	a.dirty_at = NOW;
	assert_int_equal(store_write(st, crl_fn, &a, &err), 0);
	a.dirty_at = NOW + 5;
	assert_int_equal(store_write(st, crl_fn, &a, &err), 0);
	assert_int_equal(store_crl_get(st, 5, true, &got, &err), 0);
	assert_int_equal(got->number, 0);
	assert_int_equal(got->dirty_since, NOW);
	assert_int_equal(got->gen, 2);
	assert_null(got->der);
	store_crl_free(got);

	a.mode = 0;
	a.crl.shard = 5;
	a.crl.number = 0xfffffffffffull;
	a.crl.this_update = NOW;
	a.crl.next_update = NOW + 86400;
	a.crl.gen = 2;
	a.crl.der = der;
	a.crl.der_len = sizeof(der);
	assert_int_equal(store_write(st, crl_fn, &a, &err), 0);
	store_close(st);
	st = th_open(dir);
	assert_int_equal(store_crl_get(st, 5, true, &got, &err), 0);
	assert_int_equal(got->number, 0xfffffffffffull);
	assert_int_equal(got->this_update, NOW);
	assert_int_equal(got->next_update, NOW + 86400);
	assert_int_equal(got->dirty_since, 0);
	assert_int_equal(got->gen, 2);
	assert_int_equal(got->der_len, sizeof(der));
	assert_memory_equal(got->der, der, sizeof(der));
	store_crl_free(got);
	/* Without DER: the rest only. */
	assert_int_equal(store_crl_get(st, 5, false, &got, &err), 0);
	assert_null(got->der);
	assert_int_equal(got->der_len, 0);
	store_crl_free(got);
	/* A revocation after the CRL: dirty again, DER kept. */
	a.mode = 1;
	a.dirty_at = NOW + 9;
	assert_int_equal(store_write(st, crl_fn, &a, &err), 0);
	assert_int_equal(store_crl_get(st, 5, true, &got, &err), 0);
	assert_int_equal(got->dirty_since, NOW + 9);
	assert_int_equal(got->gen, 3);
	assert_int_equal(got->der_len, sizeof(der));
	store_crl_free(got);
	store_close(st);
	th_rmtree(dir);
}

struct audit_arg {
	const char *rec;
	uint64_t seq;
};

static int
audit_fn(struct store_txn *txn, void *arg)
{
	struct audit_arg *a = arg;

	store_audit_append(txn, a->rec, a->rec ? strlen(a->rec) : 0, &a->seq);
	return store_txn_error(txn);
}

static int
audit_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	uint64_t *expect = arg;

	assert_int_equal(seq, *expect);
	assert_true(len > 0);
	assert_int_equal(((const char *)rec)[0], '{');
	(*expect)++;
	return 0;
}

/* Sequence numbers from 1, continued after a reopen; empty refused. */
static void
test_audit(void **state)
{
	char *dir = th_tmpdir();
	struct store *st = th_open(dir);
	struct hsmca_err err = { 0 };
	struct audit_arg a = { "{\"a\":1}", 0 };
	uint64_t expect = 1;

	(void)state;
	assert_int_equal(store_write(st, audit_fn, &a, &err), 0);
	assert_int_equal(a.seq, 1);
	assert_int_equal(store_write(st, audit_fn, &a, &err), 0);
	assert_int_equal(a.seq, 2);
	store_close(st);
	st = th_open(dir);
	assert_int_equal(store_write(st, audit_fn, &a, &err), 0);
	assert_int_equal(a.seq, 3);
	a.rec = NULL;
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_write(st, audit_fn, &a, &err), HSMCA_EINVAL);
	assert_int_equal(store_audit_walk(st, 1, audit_cb, &expect, &err), 0);
	assert_int_equal(expect, 4);
	expect = 3;
	assert_int_equal(store_audit_walk(st, 3, audit_cb, &expect, &err), 0);
	assert_int_equal(expect, 4);
	store_close(st);
	th_rmtree(dir);
}

static size_t
problems_of(struct store *st)
{
	size_t problems = 99, records = 0;

	assert_int_equal(store_check(st, stderr, &problems, &records, NULL),
	    0);
	return problems;
}

/* store_check: an entry must match a revoked record of its shard. */
static void
test_check(void **state)
{
	char *dir = th_tmpdir();
	struct store *st = th_open(dir);
	struct hsmca_err err = { 0 };
	struct store_cert c;
	struct put_arg a;

	(void)state;
	th_cert(&c, 1, NOW + 100, 0, NULL, 0);
	c.status = STORE_CERT_REVOKED;
	c.revoked_at = NOW - 10;
	c.revoke_reason = 4;
	c.crl_shard = 2;
	memset(&a, 0, sizeof(a));
	a.cert = &c;
	a.shard = 2;
	memcpy(a.e.serial, c.serial, c.serial_len);
	a.e.serial_len = c.serial_len;
	a.e.revoked_at = NOW - 10;
	a.e.reason = 4;
	a.e.not_after = NOW + 100;
	assert_int_equal(store_write(st, put_fn, &a, &err), 0);
	assert_int_equal(problems_of(st), 0);
	/* The same serial listed on another shard. */
	a.cert = NULL;
	a.shard = 3;
	assert_int_equal(store_write(st, put_fn, &a, &err), 0);
	assert_int_equal(problems_of(st), 1);
	/* An entry whose record does not exist; one whose reason differs. */
	th_cert(&c, 2, NOW + 100, 0, NULL, 0);
	c.status = STORE_CERT_REVOKED;
	c.revoked_at = NOW - 10;
	c.revoke_reason = 1;
	a.cert = &c;
	a.shard = 0;
	memcpy(a.e.serial, c.serial, c.serial_len);
	assert_int_equal(store_write(st, put_fn, &a, &err), 0);
	assert_int_equal(problems_of(st), 2);
	a.cert = NULL;
	a.e.serial[4] = 0x77;
	assert_int_equal(store_write(st, put_fn, &a, &err), 0);
	assert_int_equal(problems_of(st), 3);
	/* A revoked record its shard does not list (here: listed on
	 * shard 0, recorded on shard 5). */
	th_cert(&c, 3, NOW + 100, 0, NULL, 0);
	c.status = STORE_CERT_REVOKED;
	c.revoked_at = NOW - 10;
	c.revoke_reason = 4;
	c.crl_shard = 5;
	a.cert = &c;
	a.shard = 0;
	memcpy(a.e.serial, c.serial, c.serial_len);
	assert_int_equal(store_write(st, put_fn, &a, &err), 0);
	/* The entry's backward check and the record's forward check. */
	assert_int_equal(problems_of(st), 5);
	store_close(st);
	th_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_crl_records),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, th_cleanup);
}
