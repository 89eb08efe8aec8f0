/*
 * tests/store/test_acme_sweep.c - store_acme_sweep() in a real LMDB:
 * orders expired beyond the retention go with their authorizations,
 * challenges, validation marks and index entries, and db check stays
 * clean; the retention boundary on both sides; unexpired orders, an
 * authorization a kept order still references (reuse), an order whose
 * authorization outlives it, orders inside the rate-limit window and
 * accounts stay; batches of bounded size and a budget that stops and
 * resumes; retention 0 removes nothing; an order without
 * authorizations goes; a valid order goes while its
 * certificate record and the issuance counter stay.  A record changed
 * between the plan and its transaction is left (acme_sweep.c is
 * included to reach the plan and batch steps).  Time is an explicit
 * `now`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/acme_sweep.c"
#include "tests/store/helpers.h"

#define DAY 86400
#define RET (30 * DAY)

/* The 'Z' identifier key of authorization `id` in these tests. */
static void
ident_of(uint64_t id, char *out, size_t len)
{
	snprintf(out, len, "dns:z%llu.example", (unsigned long long)id);
}

struct zput {
	uint64_t id, account;
	int64_t expires;
	size_t nchall;
};

/*
 * A valid authorization with `nchall` challenges, its first challenge
 * marked as being validated and its 'Z' entry: every index an
 * authorization can have.
 */
static int
zput_fn(struct store_txn *txn, void *arg)
{
	struct zput *p = arg;
	struct store_acme_authz z;
	char value[64], key[80];
	size_t i;

	memset(&z, 0, sizeof(z));
	z.id = p->id;
	z.account_id = p->account;
	z.status = 2;
	snprintf(value, sizeof(value), "z%llu.example",
	    (unsigned long long)p->id);
	z.value = value;
	z.expires = p->expires;
	z.nchall = p->nchall;
	for (i = 0; i < p->nchall; i++) {
		z.chall[i].type = (int)i + 1;
		z.chall[i].status = 1;
		snprintf(z.chall[i].token, sizeof(z.chall[i].token), "t%zu",
		    i);
	}
	store_acme_authz_put(txn, &z);
	store_acme_queue_put(txn, p->id, 0);
	ident_of(p->id, key, sizeof(key));
	return store_acme_valid_put(txn, p->account, key, p->id);
}

static void
put_authz(struct store *st, uint64_t id, uint64_t account, int64_t expires,
    size_t nchall)
{
	struct zput p = { id, account, expires, nchall };

	assert_int_equal(store_write(st, zput_fn, &p, NULL), 0);
}

static int
oput_fn(struct store_txn *txn, void *arg)
{
	return store_acme_order_put(txn, arg, true);
}

/* An order of `account` over the authorizations `authz` (n of them). */
static void
put_order(struct store *st, uint64_t id, uint64_t account, int64_t created,
    int64_t expires, const uint64_t *authz, size_t n)
{
	struct store_acme_order o;
	struct store_acme_ident ids[8];
	char names[8][64];
	size_t i;

	assert_true(n <= 8);
	memset(&o, 0, sizeof(o));
	o.id = id;
	o.account_id = account;
	o.status = 1;
	o.created_at = created;
	o.expires = expires;
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "z%llu.example",
		    (unsigned long long)authz[i]);
		ids[i].ip = false;
		ids[i].value = names[i];
	}
	o.nidents = o.nauthz = n;
	o.idents = ids;
	o.authz = (uint64_t *)authz;
	assert_int_equal(store_write(st, oput_fn, &o, NULL), 0);
}

/* An order with one fresh authorization expiring with it. */
static void
put_simple(struct store *st, uint64_t id, uint64_t account, int64_t created,
    int64_t expires, size_t nchall)
{
	uint64_t z = id + 1000;

	put_authz(st, z, account, expires, nchall);
	put_order(st, id, account, created, expires, &z, 1);
}

static bool
has_order(struct store *st, uint64_t id)
{
	struct store_acme_order *o = NULL;
	int rc = store_acme_order_get(st, id, &o, NULL);

	store_acme_order_free(o);
	assert_true(rc == 0 || rc == HSMCA_ENOTFOUND);
	return rc == 0;
}

static bool
has_authz(struct store *st, uint64_t id)
{
	struct store_acme_authz *z = NULL;
	int rc = store_acme_authz_get(st, id, &z, NULL);

	store_acme_authz_free(z);
	assert_true(rc == 0 || rc == HSMCA_ENOTFOUND);
	return rc == 0;
}

/* Whether the 'Z' entry of authorization `id` still names it. */
static bool
has_valid(struct store *st, uint64_t account, uint64_t id)
{
	char key[80];
	uint64_t got = 0;

	ident_of(id, key, sizeof(key));
	return store_acme_valid_get(st, account, key, &got, NULL) == 0 &&
	    got == id;
}


static size_t
orders_of(struct store *st, uint64_t account)
{
	size_t n;

	assert_int_equal(store_acme_order_count(st, account, INT64_MIN, &n,
	    NULL, NULL), 0);
	return n;
}

static struct store_acme_swept
sweep(struct store *st, int64_t now, int64_t retention, size_t batch)
{
	struct store_acme_sweep sw = { .now = now, .retention = retention,
	    .batch = batch };
	struct store_acme_swept out;

	assert_int_equal(store_acme_sweep(st, &sw, &out, NULL), 0);
	return out;
}

/*
 * Expired beyond the retention: the order, its authorization, the
 * challenges, the mark, the 'Z' entry and the index entry go.  The
 * boundary: expired exactly `retention` before now stays, one second
 * more goes.  Unexpired orders and the account stay.
 */
static void
test_expired_removed(void **state)
{
	struct th_store *f = *state;
	struct store_acme_account *got = NULL;
	struct store_acme_swept out;
	int64_t now = 1800000000;

	th_acme_account(f->st, 1);
	put_simple(f->st, 1, 1, now - RET - 10 * DAY, now - RET - 3 * DAY,
	    3);
	put_simple(f->st, 2, 1, now - RET - 7 * DAY, now - RET - 1, 2);
	put_simple(f->st, 3, 1, now - RET - 7 * DAY, now - RET, 3);
	put_simple(f->st, 4, 1, now - DAY, now + 6 * DAY, 3);
	put_simple(f->st, 5, 2, now - 8 * DAY, now - DAY, 1);
	assert_int_equal(th_acme_marks(f->st), 5);
	assert_int_equal(th_check_problems(f->st), 0);

	out = sweep(f->st, now, RET, 0);
	assert_int_equal(out.orders, 2);
	assert_int_equal(out.authzs, 2);
	assert_int_equal(out.challs, 5);
	assert_int_equal(out.removed, 9);
	assert_int_equal(out.next_account, 0);
	assert_false(has_order(f->st, 1));
	assert_false(has_authz(f->st, 1001));
	assert_false(has_valid(f->st, 1, 1001));
	assert_false(has_order(f->st, 2));
	assert_false(has_authz(f->st, 1002));
	assert_true(has_order(f->st, 3));
	assert_true(has_authz(f->st, 1003));
	assert_true(has_valid(f->st, 1, 1003));
	assert_true(has_order(f->st, 4));
	assert_true(has_order(f->st, 5));
	assert_int_equal(orders_of(f->st, 1), 2);
	assert_int_equal(orders_of(f->st, 2), 1);
	assert_int_equal(th_acme_marks(f->st), 3);
	assert_int_equal(store_acme_account_get(f->st, 1, &got, NULL), 0);
	store_acme_account_free(got);
	assert_int_equal(th_check_problems(f->st), 0);
	/* Nothing more is due at the same time. */
	out = sweep(f->st, now, RET, 0);
	assert_int_equal(out.removed, 0);
	/* One second later the boundary order goes too. */
	out = sweep(f->st, now + 1, RET, 0);
	assert_int_equal(out.orders, 1);
	assert_false(has_order(f->st, 3));
	assert_int_equal(th_check_problems(f->st), 0);
}

/*
 * Authorization reuse: 21 expired long ago but order 12, which reused
 * it and has not expired, keeps it (and its 'Z' entry).  Order 13's
 * authorization was validated with a reuse period longer than the
 * order: both stay until the authorization too expired beyond the
 * retention.
 */
static void
test_shared_authz_kept(void **state)
{
	struct th_store *f = *state;
	struct store_acme_swept out;
	int64_t t = 1700000000, now = t + 200 + RET + 1;
	uint64_t z11[1] = { 21 }, z12[2] = { 21, 22 }, z13[1] = { 31 };

	put_authz(f->st, 21, 1, t + 150, 3);
	put_authz(f->st, 22, 1, t + 140 + 100 * DAY, 3);
	put_authz(f->st, 31, 1, t + 100 * DAY, 2);
	put_order(f->st, 11, 1, t + 100, t + 200, z11, 1);
	put_order(f->st, 12, 1, t + 140, t + 140 + 100 * DAY, z12, 2);
	put_order(f->st, 13, 1, t + 100, t + 200, z13, 1);

	out = sweep(f->st, now, RET, 0);
	assert_int_equal(out.orders, 1);
	assert_int_equal(out.authzs, 0);
	assert_false(has_order(f->st, 11));
	assert_true(has_authz(f->st, 21));
	assert_true(has_valid(f->st, 1, 21));
	assert_true(has_order(f->st, 12));
	assert_true(has_order(f->st, 13));
	assert_true(has_authz(f->st, 31));
	assert_int_equal(th_check_problems(f->st), 0);

	/* Authorization 31 expired beyond the retention: 13 goes with it. */
	out = sweep(f->st, t + 100 * DAY + RET + 1, RET, 0);
	assert_int_equal(out.orders, 1);
	assert_int_equal(out.authzs, 1);
	assert_false(has_order(f->st, 13));
	assert_false(has_authz(f->st, 31));
	assert_true(has_order(f->st, 12));
	assert_int_equal(th_check_problems(f->st), 0);

	/* Order 12 expired beyond the retention: it takes both. */
	out = sweep(f->st, t + 140 + 100 * DAY + RET + 1, RET, 0);
	assert_int_equal(out.orders, 1);
	assert_int_equal(out.authzs, 2);
	assert_int_equal(out.challs, 6);
	assert_false(has_authz(f->st, 21));
	assert_false(has_valid(f->st, 1, 21));
	assert_false(has_authz(f->st, 22));
	assert_int_equal(th_acme_marks(f->st), 0);
	assert_int_equal(orders_of(f->st, 1), 0);
	assert_int_equal(th_check_problems(f->st), 0);
}

/*
 * More objects than one batch: each transaction holds at most `batch`
 * objects (counted in commits), an order too big for one goes alone,
 * and two removed orders sharing an authorization leave the store
 * consistent between their transactions.  A budget stops the walk
 * after the batch that reaches it; from_account resumes it.
 */
static void
test_batches(void **state)
{
	struct th_store *f = *state;
	struct store_acme_sweep sw = { 0 };
	struct store_acme_swept out;
	struct store_stats s0, s1;
	int64_t t = 1700000000, now = t + RET + 10 * DAY;
	uint64_t big[5] = { 901, 902, 903, 904, 905 }, shared[1] = { 950 };
	size_t removed = 0, rounds = 0, i;

	/* 3 accounts x 20 orders of 3 objects: two per batch of 7. */
	for (i = 0; i < 60; i++)
		put_simple(f->st, 100 + i, 1 + i % 3, t, t + DAY, 1);
	/* 1 + 5 x (1 + 3) = 21 objects, more than a batch. */
	for (i = 0; i < 5; i++)
		put_authz(f->st, big[i], 4, t + DAY, 3);
	put_order(f->st, 900, 4, t, t + DAY, big, 5);
	/* 950 is shared by two removed orders of account 5 (each alone
	 * in its batch of 1). */
	put_authz(f->st, 950, 5, t + 10, 1);
	put_order(f->st, 951, 5, t, t + DAY, shared, 1);
	put_order(f->st, 952, 5, t + 5, t + DAY, shared, 1);

	store_stats(f->st, &s0);
	out = sweep(f->st, now, RET, 7);
	store_stats(f->st, &s1);
	assert_int_equal(out.orders, 63);
	assert_int_equal(out.removed, 60 * 3 + 21 + 1 + 2 + 1);
	/* 30 batches of two small orders, one for the big order, one for
	 * both orders of account 5 (4 objects). */
	assert_int_equal(s1.commits - s0.commits, 32);
	assert_int_equal(th_check_problems(f->st), 0);

	/* Again, with a budget and a batch of one object. */
	for (i = 0; i < 60; i++)
		put_simple(f->st, 200 + i, 1 + i % 3, t, t + DAY, 1);
	put_authz(f->st, 950, 5, t + 10, 1);
	put_order(f->st, 951, 5, t, t + DAY, shared, 1);
	put_order(f->st, 952, 5, t + 5, t + DAY, shared, 1);
	sw.now = now;
	sw.retention = RET;
	sw.batch = 1;
	sw.budget = 20;
	do {
		assert_int_equal(store_acme_sweep(f->st, &sw, &out, NULL), 0);
		/* Each call stops at the first batch reaching the budget. */
		assert_true(out.removed <= 20 + 3);
		removed += out.removed;
		sw.from_account = out.next_account;
		rounds++;
		/* Consistent between any two transactions. */
		assert_int_equal(th_check_problems(f->st), 0);
	} while (out.next_account != 0);
	assert_int_equal(removed, 60 * 3 + 1 + 2 + 1);
	assert_true(rounds >= 9);
	assert_false(has_authz(f->st, 950));
	for (i = 1; i <= 5; i++)
		assert_int_equal(orders_of(f->st, i), 0);
}

/* Retention 0 is "never": nothing goes, however old. */
static void
test_retention_zero(void **state)
{
	struct th_store *f = *state;
	struct store_acme_swept out;

	put_simple(f->st, 1, 1, 1000, 2000, 3);
	out = sweep(f->st, INT64_MAX, 0, 0);
	assert_int_equal(out.removed, 0);
	assert_true(has_order(f->st, 1));
	assert_true(has_authz(f->st, 1001));
	/* A negative retention is refused. */
	{
		struct store_acme_sweep sw = { .now = 3000, .retention = -1 };
		struct hsmca_err err = { 0 };

		assert_int_equal(store_acme_sweep(f->st, &sw, &out, &err),
		    HSMCA_EINVAL);
		assert_non_null(strstr(err.detail, "negative"));
	}
	assert_true(has_order(f->st, 1));
}

/* An order without authorizations (none in ACME, but a record can say
 * so) goes like any other. */
static void
test_order_without_authz(void **state)
{
	struct th_store *f = *state;
	struct store_acme_swept out;

	th_acme_account(f->st, 1);
	put_order(f->st, 1, 1, 1000, 2000, NULL, 0);
	out = sweep(f->st, 2000 + RET + 1, RET, 0);
	assert_int_equal(out.orders, 1);
	assert_int_equal(out.removed, 1);
	assert_false(has_order(f->st, 1));
	assert_int_equal(th_check_problems(f->st), 0);
}

/*
 * Orders created inside the orders-per-window limit's window still
 * count: they stay, at the window's boundary on both sides.
 */
static void
test_rate_window(void **state)
{
	struct th_store *f = *state;
	struct store_acme_sweep sw = { 0 };
	struct store_acme_swept out;
	int64_t created = 1700000000, now = created + 100 + RET + 1;

	put_simple(f->st, 1, 1, created, created + 100, 1);
	sw.now = now;
	sw.retention = RET;
	/* The window starts at `created`: the order counts. */
	sw.rate_window = now - created + 1;
	assert_int_equal(store_acme_sweep(f->st, &sw, &out, NULL), 0);
	assert_int_equal(out.removed, 0);
	assert_int_equal(orders_of(f->st, 1), 1);
	/* One second shorter: it no longer counts and goes. */
	sw.rate_window = now - created;
	assert_int_equal(store_acme_sweep(f->st, &sw, &out, NULL), 0);
	assert_int_equal(out.orders, 1);
	assert_int_equal(orders_of(f->st, 1), 0);
	assert_int_equal(th_check_problems(f->st), 0);
}

/* The order valid with its certificate, counted as finalize does. */
static int
valid_fn(struct store_txn *txn, void *arg)
{
	const struct store_acme_order *o = arg;

	store_acme_order_put(txn, o, false);
	return store_acme_issued_put(txn, "example", o->created_at,
	    o->serial, o->serial_len);
}

/*
 * A valid order goes; its certificate record (found by serial for the
 * download URL, never through the order) and the per-domain issuance
 * counter stay as they were.
 */
static void
test_certificate_untouched(void **state)
{
	struct th_store *f = *state;
	struct store_acme_order *o = NULL;
	struct store_cert c, *before = NULL, *after = NULL;
	struct store_acme_swept out;
	char *names[] = { (char *)"z1001.example" };
	int64_t t = 1700000000, now = t + DAY + RET + 1;
	size_t n;

	th_cert(&c, 77, t + 90 * DAY, 1, names, 1);
	assert_int_equal(th_put(f->st, &c), 0);
	put_simple(f->st, 1, 1, t, t + DAY, 3);
	assert_int_equal(store_acme_order_get(f->st, 1, &o, NULL), 0);
	o->status = 4;
	memcpy(o->serial, c.serial, c.serial_len);
	o->serial_len = c.serial_len;
	assert_int_equal(store_write(f->st, valid_fn, o, NULL), 0);
	store_acme_order_free(o);
	assert_int_equal(store_cert_get(f->st, c.serial, c.serial_len,
	    &before, NULL), 0);

	out = sweep(f->st, now, RET, 0);
	assert_int_equal(out.orders, 1);
	assert_false(has_order(f->st, 1));
	assert_int_equal(store_cert_get(f->st, c.serial, c.serial_len,
	    &after, NULL), 0);
	assert_int_equal(after->status, before->status);
	assert_int_equal(after->account_id, 1);
	assert_int_equal(after->not_after, before->not_after);
	assert_int_equal(after->der_len, before->der_len);
	assert_memory_equal(after->der, before->der, before->der_len);
	assert_int_equal(store_acme_issued_count(f->st, "example", 0, &n,
	    NULL, NULL), 0);
	assert_int_equal(n, 1);
	store_cert_free(before);
	store_cert_free(after);
	assert_int_equal(th_check_problems(f->st), 0);
}

/*
 * A record that changed between the plan and the transaction: orders
 * 41 and 42 share authorization 50, which is planned to go with 42,
 * the later one.  Before the batch runs, authorization 51 of order 41
 * is validated again (its expiry moves on), so 41 stays; then 42 must
 * stay too, or 41 would point at a removed authorization.
 */
static void
test_changed_since_plan(void **state)
{
	struct th_store *f = *state;
	struct store_acme_swept out = { 0 };
	struct batch b = { 0 };
	struct plan p = { 0 };
	int64_t t = 1700000000, now = t + DAY + RET + 1;
	uint64_t z41[2] = { 50, 51 }, z42[1] = { 50 };
	size_t i;

	put_authz(f->st, 50, 1, t + 10, 1);
	put_authz(f->st, 51, 1, t + DAY, 1);
	put_order(f->st, 41, 1, t, t + DAY, z41, 2);
	put_order(f->st, 42, 1, t + 5, t + DAY, z42, 1);
	b.cutoff = now - RET;
	b.keep_from = INT64_MAX;
	assert_int_equal(plan_read(f->st, 1, &b, &p, NULL), 0);
	assert_int_equal(p.norders, 2);
	assert_true(p.orders[0].remove && p.orders[1].remove);
	assert_int_equal(plan_authz_find(&p, 50)->last, 2);
	assert_int_equal(plan_authz_find(&p, 51)->last, 1);

	put_authz(f->st, 51, 1, now + DAY, 1);
	for (i = 0; i < p.norders; i++)
		assert_int_equal(batch_add(&b, &p, i, unit_objects(&p, i)), 0);
	assert_int_equal(batch_flush(f->st, &b, &p, &out, NULL), 0);
	assert_true(p.stopped);
	assert_int_equal(out.removed, 0);
	assert_true(has_order(f->st, 41));
	assert_true(has_order(f->st, 42));
	assert_true(has_authz(f->st, 50));
	assert_int_equal(th_check_problems(f->st), 0);
	plan_clear(&p);
	free(b.units);
	free(b.authz);

	/* Once 51 too expired beyond the retention, all of it goes. */
	out = sweep(f->st, now + DAY + RET + 1, RET, 0);
	assert_int_equal(out.orders, 2);
	assert_int_equal(out.authzs, 2);
	assert_int_equal(th_check_problems(f->st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_expired_removed,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_shared_authz_kept,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_batches,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_retention_zero,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_order_without_authz,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_rate_window,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_certificate_untouched,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_changed_since_plan,
		    th_store_setup, th_store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, th_cleanup);
}
