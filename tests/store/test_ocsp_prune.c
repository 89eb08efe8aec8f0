/*
 * tests/store/test_ocsp_prune.c - store_ocsp_prune() in a real LMDB:
 * exactly the OCSP records of certificates expired before the cutoff
 * go (the boundary on both sides), in several write transactions of at
 * most `batch` removals; every certificate record stays and db check
 * is clean; a budget stops the walk and `next` resumes it, and a later
 * pass from where the last ended looks only at what expired since; a
 * record whose certificate record is missing or not expired is left by
 * the write step however it was collected (ocsp.c is included to reach
 * it).  Time is an explicit cutoff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/ocsp.c"
#include "tests/store/helpers.h"

#define DAY 86400
#define T0 ((int64_t)1700000000)
#define NCERT 40

static void
put_ocsp(struct store *st, const unsigned char *serial, size_t len)
{
	th_ocsp_put(st, serial, len, T0, T0 + 4 * DAY);
}

/*
 * Certificate n (0..NCERT-1) expires at T0 + n days; every one but
 * those with n % 10 == 9 has an OCSP record.
 */
static void
fill(struct store *st, struct store_cert *c)
{
	for (uint32_t n = 0; n < NCERT; n++) {
		th_cert(&c[n], n, T0 + (int64_t)n * DAY, 0, NULL, 0);
		assert_int_equal(th_put(st, &c[n]), 0);
		if (n % 10 != 9)
			put_ocsp(st, c[n].serial, c[n].serial_len);
	}
}

/* Records with n < `upto` went, the rest stayed; all certificates. */
static void
assert_pruned_below(struct store *st, const struct store_cert *c,
    uint32_t upto)
{
	for (uint32_t n = 0; n < NCERT; n++) {
		assert_int_equal(th_ocsp_stored(st, c[n].serial, c[n].serial_len),
		    n >= upto && n % 10 != 9);
		assert_int_equal(store_cert_exists(st, c[n].serial,
		    c[n].serial_len), 1);
	}
	assert_int_equal(th_check_problems(st), 0);
}

/* One store_ocsp_prune() call; checks what it saw, removed, and left. */
static void
prune_expect(struct store *st, const struct store_ocsp_prune *pr,
    size_t seen, size_t removed, bool more, struct store_ocsp_pruned *out)
{
	struct hsmca_err err = { 0 };

	assert_int_equal(store_ocsp_prune(st, pr, out, &err), 0);
	assert_int_equal(out->seen, seen);
	assert_int_equal(out->removed, removed);
	assert_int_equal(out->more, more);
}

/*
 * Cutoff at certificate 25's notAfter: 0..24 expired before it (22 of
 * them with a record), 25 on it stays.  Batches of 4: at least 6
 * commits.  A second run finds nothing.
 */
static void
test_prune_exact(void **state)
{
	struct th_store *f = *state;
	struct hsmca_err err = { 0 };
	struct store_cert c[NCERT];
	struct store_ocsp_prune pr = { 0 };
	struct store_ocsp_pruned out;
	struct store_stats s0, s1;

	fill(f->st, c);
	pr.before = T0 + 25 * DAY;
	pr.batch = 4;
	store_stats(f->st, &s0);
	assert_int_equal(store_ocsp_prune(f->st, &pr, &out, &err), 0);
	store_stats(f->st, &s1);
	assert_int_equal(out.removed, 23);
	assert_int_equal(out.seen, 25);
	assert_false(out.more);
	assert_int_equal(out.next.not_after, T0 + 24 * DAY);
	assert_memory_equal(out.next.serial, c[24].serial, c[24].serial_len);
	print_message("  23 records removed in %llu commits\n",
	    (unsigned long long)(s1.commits - s0.commits));
	assert_int_equal(s1.commits - s0.commits, 6);
	assert_pruned_below(f->st, c, 25);
	assert_int_equal(store_ocsp_prune(f->st, &pr, &out, &err), 0);
	assert_int_equal(out.removed, 0);
	assert_int_equal(out.seen, 25);
	assert_pruned_below(f->st, c, 25);
	/* One second later certificate 25 is due too. */
	pr.before++;
	assert_int_equal(store_ocsp_prune(f->st, &pr, &out, &err), 0);
	assert_int_equal(out.removed, 1);
	assert_pruned_below(f->st, c, 26);
}

/* Nothing expired before the cutoff: nothing looked at or removed. */
static void
test_prune_nothing_due(void **state)
{
	struct th_store *f = *state;
	struct hsmca_err err = { 0 };
	struct store_cert c[NCERT];
	struct store_ocsp_prune pr = { 0 };
	struct store_ocsp_pruned out;

	assert_int_equal(store_ocsp_prune(f->st, &pr, &out, &err), 0);
	assert_int_equal(out.seen, 0);
	fill(f->st, c);
	pr.before = T0;
	prune_expect(f->st, &pr, 0, 0, false, &out);
	assert_pruned_below(f->st, c, 0);
}

/*
 * A budget of 7 certificates a call: four calls to reach the cutoff,
 * each resumed from the last `next`.  A later pass from where that one
 * ended looks at the newly expired certificates only.
 */
static void
test_prune_budget_resume(void **state)
{
	struct th_store *f = *state;
	struct hsmca_err err = { 0 };
	struct store_cert c[NCERT];
	struct store_ocsp_prune pr = { 0 };
	struct store_ocsp_pruned out;
	struct store_ocsp_pos pos;
	size_t removed = 0, seen = 0, calls = 0;

	fill(f->st, c);
	pr.before = T0 + 25 * DAY;
	pr.batch = 3;
	pr.budget = 7;
	do {
		assert_int_equal(store_ocsp_prune(f->st, &pr, &out, &err), 0);
		assert_true(out.seen <= 7);
		removed += out.removed;
		seen += out.seen;
		calls++;
		if (out.seen > 0)
			pos = out.next;
		pr.after = &pos;
	} while (out.more);
	assert_int_equal(removed, 23);
	assert_int_equal(seen, 25);
	assert_true(calls >= 4);
	assert_pruned_below(f->st, c, 25);

	/* Ten days on, from where the pass ended. */
	pr.before = T0 + 35 * DAY;
	pr.budget = 0;
	prune_expect(f->st, &pr, 10, 9, false, &out);
	assert_pruned_below(f->st, c, 35);
}

/*
 * A budget that runs out on a certificate without a record (number 9)
 * still says there is more, and the resumed pass finishes the job.
 */
static void
test_prune_budget_ends_without_record(void **state)
{
	struct th_store *f = *state;
	struct store_cert c[NCERT];
	struct store_ocsp_prune pr = { 0 };
	struct store_ocsp_pruned out;
	struct store_ocsp_pos pos;

	fill(f->st, c);
	pr.before = T0 + 25 * DAY;
	pr.budget = 10;
	prune_expect(f->st, &pr, 10, 9, true, &out);
	pos = out.next;
	pr.after = &pos;
	pr.budget = 0;
	prune_expect(f->st, &pr, 15, 14, false, &out);
	assert_pruned_below(f->st, c, 25);
}

/*
 * The write step trusts the certificate record, not the collection: a
 * record whose certificate is not expired, or is missing, stays; one
 * already gone counts nothing.
 */
static void
test_prune_write_rechecks(void **state)
{
	struct th_store *f = *state;
	struct hsmca_err err = { 0 };
	struct store_cert c[2];
	static const unsigned char stray[] = { 0x01, 0x7f, 0x7f };
	struct prune_item item[3];
	struct prune_batch b;

	th_cert(&c[0], 1, T0, 0, NULL, 0);
	th_cert(&c[1], 2, T0 + 10 * DAY, 0, NULL, 0);
	assert_int_equal(th_put(f->st, &c[0]), 0);
	assert_int_equal(th_put(f->st, &c[1]), 0);
	put_ocsp(f->st, c[1].serial, c[1].serial_len);
	put_ocsp(f->st, stray, sizeof(stray));
	memset(&b, 0, sizeof(b));
	memset(item, 0, sizeof(item));
	b.before = T0 + 5 * DAY;
	b.item = item;
	b.max = 3;
	b.n = 3;
	memcpy(item[0].serial, c[0].serial, c[0].serial_len);	/* no record */
	item[0].len = c[0].serial_len;
	memcpy(item[1].serial, c[1].serial, c[1].serial_len);	/* unexpired */
	item[1].len = c[1].serial_len;
	memcpy(item[2].serial, stray, sizeof(stray));	/* no certificate */
	item[2].len = sizeof(stray);
	assert_int_equal(store_write(f->st, prune_fn, &b, &err), 0);
	assert_int_equal(b.removed, 0);
	assert_true(th_ocsp_stored(f->st, c[1].serial, c[1].serial_len));
	assert_true(th_ocsp_stored(f->st, stray, sizeof(stray)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prune_exact,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_prune_nothing_due,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_prune_budget_resume,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(
		    test_prune_budget_ends_without_record, th_store_setup,
		    th_store_teardown),
		cmocka_unit_test_setup_teardown(test_prune_write_rechecks,
		    th_store_setup, th_store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, th_cleanup);
}
