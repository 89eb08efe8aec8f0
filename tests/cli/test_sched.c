/*
 * tests/cli/test_sched.c - hsmcad's scheduler (tools/hsmcad_sched.c)
 * driven round by round on a real CA (SoftHSM2 token, LMDB store) with
 * the injectable clock: the ACME sweep and the OCSP pruning run in the
 * first round, wait an interval after it, and neither waits out a step
 * back of the CA clock; a pruning pass after such a step starts from
 * the first certificate, so a response signed while the clock was
 * behind is still pruned once it is long expired again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_acme.h"
#include "store/store_ocsp.h"
#include "tests/ca/tutil.h"
#include "tests/store/helpers.h"
#include "tools/hsmcad.h"

#define DAY 86400
#define HOUR 3600
/* acme.retention_days and ocsp.keep_expired_days: the defaults. */
#define KEEP (30 * DAY)

struct env {
	char dir[PATH_MAX];
	struct hsmca_config *cfg;
	struct ca *ca;
	struct store *st;
	struct hsmcad_sched *s;
	int64_t now;
	int64_t t0;
};

static int64_t
fixed_clock(void *arg)
{
	return *(int64_t *)arg;
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct hsmca_err err = { 0 };
	struct hsmca_config *init_cfg = config_new();
	int rc;

	assert_non_null(e);
	assert_non_null(init_cfg);
	t_tmpdir(e->dir, sizeof(e->dir));
	rc = t_ca_init(e->dir, "ec-p256", NULL, init_cfg);
	config_free(init_cfg);
	if (rc != 0 || t_ca_open(e->dir, &e->cfg, &e->ca) != 0)
		return -1;
	e->t0 = e->now = ca_now(e->ca);
	ca_set_clock(e->ca, fixed_clock, &e->now);
	e->st = ca_store(e->ca);
	if (hsmcad_sched_new(e->ca, e->cfg, e->dir, NULL, 0, 5, &e->s,
	    &err) != 0) {
		fprintf(stderr, "hsmcad_sched_new: %s\n", err.detail);
		return -1;
	}
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	hsmcad_sched_stop(e->s);
	ca_close(e->ca);
	config_free(e->cfg);
	t_rmtree(e->dir);
	free(e);
	return 0;
}

/* --- ACME objects ----------------------------------------------------- */

static int
order_fn(struct store_txn *txn, void *arg)
{
	return store_acme_order_put(txn, arg, true);
}

/* An order of account 1 without authorizations, expiring at `expires`. */
static void
put_order(struct store *st, uint64_t id, int64_t expires)
{
	struct store_acme_order o;

	memset(&o, 0, sizeof(o));
	o.id = id;
	o.account_id = 1;
	o.status = 1;
	o.created_at = expires - 7 * DAY;
	o.expires = expires;
	assert_int_equal(store_write(st, order_fn, &o, NULL), 0);
}

static bool
has_order(struct store *st, uint64_t id)
{
	struct store_acme_order *o = NULL;
	struct hsmca_err err = { 0 };
	bool has = store_acme_order_get(st, id, &o, &err) == 0;

	store_acme_order_free(o);
	return has;
}

/* --- OCSP records ----------------------------------------------------- */

static void
put_ocsp(struct store *st, const struct store_cert *c)
{
	th_ocsp_put(st, c->serial, c->serial_len, c->not_after - DAY,
	    c->not_after + 3 * DAY);
}

static bool
has_ocsp(struct store *st, const struct store_cert *c)
{
	return th_ocsp_stored(st, c->serial, c->serial_len);
}

/* --- the tests -------------------------------------------------------- */

/*
 * The sweep runs in the first round and then once an interval; when
 * the clock goes back by days it runs at the next round instead of
 * days later.
 */
static void
test_sweep_clock_back(void **state)
{
	struct env *e = *state;

	th_acme_account(e->st, 1);
	put_order(e->st, 1, e->t0 - KEEP - DAY);
	hsmcad_sched_round(e->s);
	assert_false(has_order(e->st, 1));

	/* Not due again within the hour. */
	e->now = e->t0 + 10;
	put_order(e->st, 2, e->now - KEEP - DAY);
	hsmcad_sched_round(e->s);
	assert_true(has_order(e->st, 2));
	e->now = e->t0 + HOUR;
	hsmcad_sched_round(e->s);
	assert_false(has_order(e->st, 2));

	/* Ten days back: due now, not in ten days. */
	e->now = e->t0 - 10 * DAY;
	put_order(e->st, 3, e->now - KEEP - DAY);
	hsmcad_sched_round(e->s);
	assert_false(has_order(e->st, 3));
}

/*
 * A pass prunes A and B; the clock goes back twenty days, where A is
 * no longer long expired and a response is signed for it again (as an
 * OCSP request would); the clock comes back: A's new response goes
 * too.  Without a pass from the first certificate it would stay, the
 * passes going on after B.
 */
static void
test_prune_clock_back(void **state)
{
	struct env *e = *state;
	struct store_cert a, b;

	th_cert(&a, 1, e->t0 - KEEP - 10 * DAY, 0, NULL, 0);
	th_cert(&b, 2, e->t0 - KEEP - 5 * DAY, 0, NULL, 0);
	assert_int_equal(th_put(e->st, &a), 0);
	assert_int_equal(th_put(e->st, &b), 0);
	put_ocsp(e->st, &a);
	put_ocsp(e->st, &b);
	hsmcad_sched_round(e->s);
	assert_false(has_ocsp(e->st, &a));
	assert_false(has_ocsp(e->st, &b));

	e->now = e->t0 - 20 * DAY;
	hsmcad_sched_round(e->s);
	put_ocsp(e->st, &a);
	hsmcad_sched_round(e->s);
	assert_true(has_ocsp(e->st, &a));

	e->now = e->t0 + 2 * HOUR;
	hsmcad_sched_round(e->s);
	assert_false(has_ocsp(e->st, &a));
	assert_int_equal(th_check_problems(e->st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sweep_clock_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_prune_clock_back, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
