/*
 * tests/store/test_cert.c - certificate records: put, get, duplicate
 * serials, update moving index entries, and listing by every filter
 * with its boundaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "tests/store/helpers.h"

/* Assert the store is consistent. */
static void
assert_clean(struct store *st, size_t nrecords)
{
	size_t problems, records;

	assert_int_equal(store_check(st, stderr, &problems, &records, NULL),
	    0);
	assert_int_equal(problems, 0);
	assert_int_equal(records, nrecords);
}

static void
test_put_get(void **state)
{
	struct th_store *f = *state;
	char *names[] = { "a.example", "b.example" };
	struct hsmca_err err = { 0 };
	struct store_cert c, *got = NULL;

	th_cert(&c, 7, 2000000000, 12, names, 2);
	c.lineage_id = 99;
	c.pred_serial[0] = 0x42;
	c.pred_serial_len = 1;
	assert_int_equal(store_cert_exists(f->st, c.serial, c.serial_len), 0);
	assert_int_equal(store_cert_get(f->st, c.serial, c.serial_len, &got,
	    &err), HSMCA_ENOTFOUND);
	assert_null(got);
	assert_non_null(strstr(err.detail, "not found"));
	assert_int_equal(th_put(f->st, &c), 0);
	assert_int_equal(store_cert_exists(f->st, c.serial, c.serial_len), 1);
	assert_int_equal(store_cert_get(f->st, c.serial, c.serial_len, &got,
	    NULL), 0);
	assert_int_equal(got->serial_len, 5);
	assert_memory_equal(got->serial, c.serial, 5);
	assert_true(got->not_after == 2000000000);
	assert_true(got->account_id == 12);
	assert_true(got->lineage_id == 99);
	assert_int_equal(got->pred_serial_len, 1);
	assert_int_equal(got->nnames, 2);
	assert_string_equal(got->names[1], "b.example");
	assert_string_equal(got->profile, "tls-server");
	assert_int_equal(got->der_len, c.der_len);
	assert_memory_equal(got->der, c.der, c.der_len);
	store_cert_free(got);
	/* A serial of a bad length is refused, not looked up. */
	assert_int_equal(store_cert_exists(f->st, c.serial, 0), HSMCA_EINVAL);
	assert_int_equal(store_cert_exists(f->st, c.serial, 21), HSMCA_EINVAL);
	assert_clean(f->st, 1);
}

struct valid_case {
	const char *desc;
	size_t serial_len;
	int status;
	const char *name;
	int expect;
};

static char long_name[600];

static const struct valid_case valid_cases[] = {
	{ "serial 1 octet", 1, STORE_CERT_ISSUED, NULL, 0 },
	{ "serial 20 octets", 20, STORE_CERT_ISSUED, NULL, 0 },
	{ "serial 0 octets", 0, STORE_CERT_ISSUED, NULL, HSMCA_EINVAL },
	{ "serial 21 octets", 21, STORE_CERT_ISSUED, NULL, HSMCA_EINVAL },
	{ "status REVOKED", 2, STORE_CERT_REVOKED, NULL, 0 },
	{ "status 0", 2, 0, NULL, HSMCA_EINVAL },
	{ "status 3", 2, 3, NULL, HSMCA_EINVAL },
	{ "empty name", 3, STORE_CERT_ISSUED, "", HSMCA_EINVAL },
	{ "name of 511 bytes", 3, STORE_CERT_ISSUED, long_name + 88, 0 },
	{ "name of 512 bytes", 4, STORE_CERT_ISSUED, long_name + 87,
	    HSMCA_EINVAL },
};

static void
test_validation(void **state)
{
	struct th_store *f = *state;
	struct store_cert c;
	char *names[1];
	size_t i, stored = 0;
	int rc;

	memset(long_name, 'n', sizeof(long_name) - 1);
	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		names[0] = (char *)valid_cases[i].name;
		th_cert(&c, 0, 2000000000, 0, names,
		    valid_cases[i].name != NULL);
		memset(c.serial, (int)(0x10 + i), sizeof(c.serial));
		c.serial_len = valid_cases[i].serial_len;
		c.status = valid_cases[i].status;
		rc = th_put(f->st, &c);
		if (rc != valid_cases[i].expect)
			fail_msg("%s: got %d", valid_cases[i].desc, rc);
		if (rc == 0)
			stored++;
	}
	assert_clean(f->st, stored);
}

static void
test_duplicate_serial(void **state)
{
	struct th_store *f = *state;
	char *n1[] = { "first.example" }, *n2[] = { "second.example" };
	struct hsmca_err err = { 0 };
	struct store_cert a, b, *got;

	th_cert(&a, 5, 2000000000, 1, n1, 1);
	th_cert(&b, 5, 2100000000, 2, n2, 1);
	assert_int_equal(th_put(f->st, &a), 0);
	assert_int_equal(store_write(f->st, th_put_fn, &b, &err),
	    HSMCA_EEXIST);
	assert_non_null(strstr(err.detail, "already stored"));
	assert_int_equal(store_cert_get(f->st, a.serial, a.serial_len, &got,
	    NULL), 0);
	assert_true(got->not_after == 2000000000);
	assert_true(got->account_id == 1);
	assert_string_equal(got->names[0], "first.example");
	store_cert_free(got);
	/* No index entry of the refused record was left behind. */
	assert_clean(f->st, 1);
}

/* Collect serial numbers (th_cert's n) seen by store_cert_list. */
struct seen {
	uint32_t n[64];
	size_t count;
	size_t stop_after;	/* 0: never stop */
};

static int
collect(const struct store_cert *c, void *arg)
{
	struct seen *s = arg;

	assert_true(s->count < 64);
	s->n[s->count++] = (uint32_t)c->serial[1] << 24 |
	    (uint32_t)c->serial[2] << 16 | (uint32_t)c->serial[3] << 8 |
	    c->serial[4];
	if (s->stop_after != 0 && s->count == s->stop_after)
		return 77;
	return 0;
}

static void
list(struct store *st, const struct store_cert_filter *flt, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(store_cert_list(st, flt, collect, s, NULL), 0);
}

static void
assert_seen(const struct seen *s, const uint32_t *want, size_t n)
{
	size_t i;

	if (s->count != n)
		fail_msg("listed %zu records, want %zu", s->count, n);
	for (i = 0; i < n; i++)
		assert_int_equal(s->n[i], want[i]);
}

struct upd_arg {
	struct store_cert *c;
	int64_t not_after;
	uint64_t account;
	char **names;
	size_t nnames;
};

/* Read-modify-write inside the transaction. */
static int
update_fn(struct store_txn *txn, void *arg)
{
	struct upd_arg *u = arg;
	struct store_cert *cur = NULL;
	char **keep_names;
	size_t keep_n;
	int rc;

	if ((rc = store_txn_cert_get(txn, u->c->serial, u->c->serial_len,
	    &cur)) != 0)
		return rc;
	cur->not_after = u->not_after;
	cur->account_id = u->account;
	keep_names = cur->names;
	keep_n = cur->nnames;
	cur->names = u->names;
	cur->nnames = u->nnames;
	store_cert_update(txn, cur);
	cur->names = keep_names;
	cur->nnames = keep_n;
	store_cert_free(cur);
	return store_txn_error(txn);
}

static int
update_plain_fn(struct store_txn *txn, void *arg)
{
	store_cert_update(txn, arg);
	return store_txn_error(txn);
}

static void
test_update_moves_indexes(void **state)
{
	struct th_store *f = *state;
	char *old_names[] = { "keep.example", "old.example" };
	char *new_names[] = { "keep.example", "new.example" };
	struct store_cert_filter flt;
	struct hsmca_err err = { 0 };
	struct store_cert c, other;
	struct upd_arg u;
	struct seen s;
	const uint32_t one[] = { 1 };

	th_cert(&c, 1, 1000, 10, old_names, 2);
	assert_int_equal(th_put(f->st, &c), 0);
	u = (struct upd_arg){ &c, 5000, 20, new_names, 2 };
	assert_int_equal(store_write(f->st, update_fn, &u, &err), 0);

	memset(&flt, 0, sizeof(flt));
	flt.name = "old.example";
	list(f->st, &flt, &s);
	assert_seen(&s, NULL, 0);
	flt.name = "new.example";
	list(f->st, &flt, &s);
	assert_seen(&s, one, 1);
	flt.name = "keep.example";
	list(f->st, &flt, &s);
	assert_seen(&s, one, 1);
	memset(&flt, 0, sizeof(flt));
	flt.account_id = 10;
	list(f->st, &flt, &s);
	assert_seen(&s, NULL, 0);
	flt.account_id = 20;
	list(f->st, &flt, &s);
	assert_seen(&s, one, 1);
	memset(&flt, 0, sizeof(flt));
	flt.expires_before = 1001;
	list(f->st, &flt, &s);
	assert_seen(&s, NULL, 0);
	flt.expires_before = 5001;
	list(f->st, &flt, &s);
	assert_seen(&s, one, 1);
	assert_clean(f->st, 1);

	/* Account 0 drops the account entry. */
	u = (struct upd_arg){ &c, 5000, 0, new_names, 1 };
	assert_int_equal(store_write(f->st, update_fn, &u, &err), 0);
	memset(&flt, 0, sizeof(flt));
	flt.account_id = 20;
	list(f->st, &flt, &s);
	assert_seen(&s, NULL, 0);
	flt.account_id = 0;
	flt.name = "new.example";
	list(f->st, &flt, &s);
	assert_seen(&s, NULL, 0);
	assert_clean(f->st, 1);

	/* Updating a serial that is not stored. */
	th_cert(&other, 2, 1000, 0, NULL, 0);
	assert_int_equal(store_write(f->st, update_plain_fn, &other, &err),
	    HSMCA_ENOTFOUND);
	assert_int_equal(store_cert_exists(f->st, other.serial,
	    other.serial_len), 0);
	assert_clean(f->st, 1);
}

/*
 * Records for the list tests: n, not_after, account, status, names.
 */
static char *nm_a[] = { "a.example" };
static char *nm_ab[] = { "a.example", "b.example" };
static char *nm_b[] = { "b.example" };

struct rec {
	uint32_t n;
	int64_t not_after;
	uint64_t account;
	int status;
	char **names;
	size_t nnames;
};

static const struct rec recs[] = {
	{ 5, 3000, 1, STORE_CERT_ISSUED, nm_a, 1 },
	{ 1, 1000, 1, STORE_CERT_ISSUED, nm_ab, 2 },
	{ 3, 2000, 2, STORE_CERT_REVOKED, nm_b, 1 },
	{ 2, 2000, 0, STORE_CERT_ISSUED, nm_a, 1 },
	{ 4, -50, 2, STORE_CERT_ISSUED, NULL, 0 },
	{ 6, 4000, 0, STORE_CERT_REVOKED, nm_ab, 2 },
};

struct list_case {
	const char *desc;
	struct store_cert_filter f;
	uint32_t want[8];
	size_t nwant;
};

static const struct list_case list_cases[] = {
	{ "all, serial order", { 0 }, { 1, 2, 3, 4, 5, 6 }, 6 },
	{ "before 1000 excludes 1000", { .expires_before = 1000 }, { 4 }, 1 },
	{ "before 1001 includes 1000", { .expires_before = 1001 },
	    { 4, 1 }, 2 },
	{ "after 2000 includes 2000", { .expires_after = 2000 },
	    { 2, 3, 5, 6 }, 4 },
	{ "after 2001 excludes 2000", { .expires_after = 2001 }, { 5, 6 }, 2 },
	{ "window [2000, 3000)", { .expires_after = 2000,
	    .expires_before = 3000 }, { 2, 3 }, 2 },
	{ "window [2000, 3001)", { .expires_after = 2000,
	    .expires_before = 3001 }, { 2, 3, 5 }, 3 },
	{ "empty window", { .expires_after = 3000, .expires_before = 3000 },
	    { 0 }, 0 },
	{ "negative not_after first", { .expires_before = 4001 },
	    { 4, 1, 2, 3, 5, 6 }, 6 },
	{ "name a.example", { .name = "a.example" }, { 1, 2, 5, 6 }, 4 },
	{ "name b.example", { .name = "b.example" }, { 1, 3, 6 }, 3 },
	{ "name prefix does not match", { .name = "a.exampl" }, { 0 }, 0 },
	{ "name longer does not match", { .name = "a.example." }, { 0 }, 0 },
	{ "account 1", { .account_id = 1 }, { 1, 5 }, 2 },
	{ "account 2", { .account_id = 2 }, { 3, 4 }, 2 },
	{ "account 3", { .account_id = 3 }, { 0 }, 0 },
	{ "status revoked", { .status = STORE_CERT_REVOKED }, { 3, 6 }, 2 },
	{ "name + status", { .name = "a.example",
	    .status = STORE_CERT_ISSUED }, { 1, 2, 5 }, 3 },
	{ "name + account", { .name = "b.example", .account_id = 2 },
	    { 3 }, 1 },
	{ "expiry + name", { .expires_before = 3001, .name = "a.example" },
	    { 1, 2, 5 }, 3 },
	{ "expiry + account", { .expires_after = 1, .account_id = 2 },
	    { 3 }, 1 },
};

static void
put_recs(struct store *st)
{
	struct store_cert c;
	size_t i;

	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		th_cert(&c, recs[i].n, recs[i].not_after, recs[i].account,
		    recs[i].names, recs[i].nnames);
		c.status = recs[i].status;
		assert_int_equal(th_put(st, &c), 0);
	}
}

static void
test_list_filters(void **state)
{
	struct th_store *f = *state;
	struct seen s;
	size_t i;

	put_recs(f->st);
	for (i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
		list(f->st, &list_cases[i].f, &s);
		if (s.count != list_cases[i].nwant)
			fail_msg("%s: listed %zu, want %zu", list_cases[i].desc,
			    s.count, list_cases[i].nwant);
		assert_seen(&s, list_cases[i].want, list_cases[i].nwant);
	}
	/* NULL filter: everything. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_cert_list(f->st, NULL, collect, &s, NULL), 0);
	assert_int_equal(s.count, 6);
	/* A non-zero callback result stops the walk and is returned. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	assert_int_equal(store_cert_list(f->st, NULL, collect, &s, NULL), 77);
	assert_int_equal(s.count, 2);
	assert_clean(f->st, 6);
}

/* More records than one list chunk (64), in every walk order. */
static int
count_cb(const struct store_cert *c, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

struct many_arg {
	uint32_t first, n;
};

static int
many_fn(struct store_txn *txn, void *arg)
{
	struct many_arg *m = arg;
	char *names[] = { "many.example" };
	struct store_cert c;
	uint32_t i;

	for (i = 0; i < m->n; i++) {
		th_cert(&c, m->first + i, 1000 + (i % 7), 3, names, 1);
		store_cert_put(txn, &c);
	}
	return store_txn_error(txn);
}

static void
test_list_chunks(void **state)
{
	struct th_store *f = *state;
	struct many_arg m = { 100, 300 };
	struct store_cert_filter flt;
	size_t n;

	assert_int_equal(store_write(f->st, many_fn, &m, NULL), 0);
	memset(&flt, 0, sizeof(flt));
	n = 0;
	assert_int_equal(store_cert_list(f->st, &flt, count_cb, &n, NULL), 0);
	assert_int_equal(n, 300);
	flt.expires_after = 1000;
	n = 0;
	assert_int_equal(store_cert_list(f->st, &flt, count_cb, &n, NULL), 0);
	assert_int_equal(n, 300);
	flt.expires_before = 1006;	/* excludes i % 7 == 6: 42 records */
	n = 0;
	assert_int_equal(store_cert_list(f->st, &flt, count_cb, &n, NULL), 0);
	assert_int_equal(n, 300 - 42);
	memset(&flt, 0, sizeof(flt));
	flt.name = "many.example";
	n = 0;
	assert_int_equal(store_cert_list(f->st, &flt, count_cb, &n, NULL), 0);
	assert_int_equal(n, 300);
	flt.name = NULL;
	flt.account_id = 3;
	n = 0;
	assert_int_equal(store_cert_list(f->st, &flt, count_cb, &n, NULL), 0);
	assert_int_equal(n, 300);
	assert_clean(f->st, 300);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_validation,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_serial,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_update_moves_indexes,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_list_filters,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_list_chunks,
		    th_store_setup, th_store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
