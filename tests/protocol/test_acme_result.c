/*
 * tests/protocol/test_acme_result.c - how a validation result is
 * written (result_write() in protocol/acme_validate.c, included here to
 * reach it), in a real LMDB store, for the orders of events that the
 * flow tests cannot arrange: the result that makes an authorization
 * valid points the identifier's valid-authorization entry at it; a late
 * result for an authorization another challenge already decided records
 * only its challenge and leaves the entry at a newer authorization; a
 * failure records the problem; a result for an authorization that is
 * gone only drops the validation mark.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/acme_validate.c"
#include "tests/store/helpers.h"

#define NOW ((int64_t)1800000000)
#define ACCT 7
#define NAME "www.example"

struct zput {
	uint64_t id;
	int status;
	int chall_status[2];
	bool index;		/* write the 'Z' entry for it */
};

static int
zput_fn(struct store_txn *txn, void *arg)
{
	struct zput *p = arg;
	struct store_acme_authz z;
	char key[300];
	size_t i;

	memset(&z, 0, sizeof(z));
	z.id = p->id;
	z.account_id = ACCT;
	z.status = p->status;
	z.value = (char *)NAME;
	z.expires = NOW + 86400;
	z.nchall = 2;
	for (i = 0; i < 2; i++) {
		z.chall[i].type = (int)i + 1;
		z.chall[i].status = p->chall_status[i];
		snprintf(z.chall[i].token, sizeof(z.chall[i].token), "t%zu",
		    i);
		if (p->chall_status[i] == ACME_ST_PROCESSING)
			store_acme_queue_put(txn, p->id, (unsigned)i);
	}
	store_acme_authz_put(txn, &z);
	if (p->index) {
		acme_ident_key(false, false, NAME, key, sizeof(key));
		store_acme_valid_put(txn, ACCT, key, p->id);
	}
	return store_txn_error(txn);
}

static void
put_authz(struct store *st, uint64_t id, int status, int c0, int c1,
    bool index)
{
	struct zput p = { id, status, { c0, c1 }, index };

	assert_int_equal(store_write(st, zput_fn, &p, NULL), 0);
}

/* Write the result of challenge `idx` of `id`: NULL error is valid. */
static void
result(struct store *st, uint64_t id, unsigned idx, const char *error)
{
	struct result_write w = { id, idx, NOW, 0, false, error };
	struct hsmca_err err = { 0 };

	assert_int_equal(store_write(st, result_write, &w, &err), 0);
}

/* The authorization the identifier's 'Z' entry names; 0: none. */
static uint64_t
valid_of(struct store *st)
{
	char key[300];
	uint64_t id = 0;

	acme_ident_key(false, false, NAME, key, sizeof(key));
	if (store_acme_valid_get(st, ACCT, key, &id, NULL) != 0)
		return 0;
	return id;
}

static struct store_acme_authz *
get(struct store *st, uint64_t id)
{
	struct store_acme_authz *z = NULL;

	assert_int_equal(store_acme_authz_get(st, id, &z, NULL), 0);
	return z;
}


/* The result that makes the authorization valid indexes it. */
static void
test_valid_indexes(void **state)
{
	struct th_store *e = *state;
	struct store_acme_authz *z;

	put_authz(e->st, 1, ACME_ST_PENDING, ACME_ST_PROCESSING,
	    ACME_ST_PENDING, false);
	assert_int_equal(th_acme_marks(e->st), 1);
	result(e->st, 1, 0, NULL);
	z = get(e->st, 1);
	assert_int_equal(z->status, ACME_ST_VALID);
	assert_int_equal(z->chall[0].status, ACME_ST_VALID);
	assert_int_equal(z->chall[0].validated_at, NOW);
	store_acme_authz_free(z);
	assert_int_equal(valid_of(e->st), 1);
	assert_int_equal(th_acme_marks(e->st), 0);
}

/*
 * Authorization 1 was made valid by its first challenge; since then
 * authorization 2 for the same identifier became valid and holds the
 * entry.  A late success of 1's second challenge records that
 * challenge and nothing else: the entry stays at 2.
 */
static void
test_late_result_keeps_entry(void **state)
{
	struct th_store *e = *state;
	struct store_acme_authz *z;

	put_authz(e->st, 1, ACME_ST_VALID, ACME_ST_VALID, ACME_ST_PROCESSING,
	    false);
	put_authz(e->st, 2, ACME_ST_VALID, ACME_ST_VALID, ACME_ST_PENDING,
	    true);
	assert_int_equal(valid_of(e->st), 2);
	result(e->st, 1, 1, NULL);
	z = get(e->st, 1);
	assert_int_equal(z->status, ACME_ST_VALID);
	assert_int_equal(z->chall[1].status, ACME_ST_VALID);
	store_acme_authz_free(z);
	assert_int_equal(valid_of(e->st), 2);
	assert_int_equal(th_acme_marks(e->st), 0);

	/* A late failure does not turn the valid authorization invalid. */
	put_authz(e->st, 3, ACME_ST_VALID, ACME_ST_VALID, ACME_ST_PROCESSING,
	    false);
	result(e->st, 3, 1, "{\"type\":\"x\"}");
	z = get(e->st, 3);
	assert_int_equal(z->status, ACME_ST_VALID);
	assert_int_equal(z->chall[1].status, ACME_ST_INVALID);
	assert_string_equal(z->chall[1].error, "{\"type\":\"x\"}");
	store_acme_authz_free(z);
	assert_int_equal(valid_of(e->st), 2);
}

/* A failure makes the pending authorization invalid, unindexed. */
static void
test_failure(void **state)
{
	struct th_store *e = *state;
	struct store_acme_authz *z;

	put_authz(e->st, 1, ACME_ST_PENDING, ACME_ST_PROCESSING,
	    ACME_ST_PENDING, false);
	result(e->st, 1, 0, "{\"type\":\"urn:ietf:params:acme:error:dns\"}");
	z = get(e->st, 1);
	assert_int_equal(z->status, ACME_ST_INVALID);
	assert_int_equal(z->chall[0].status, ACME_ST_INVALID);
	assert_non_null(strstr(z->chall[0].error, "error:dns"));
	store_acme_authz_free(z);
	assert_int_equal(valid_of(e->st), 0);
	assert_int_equal(th_acme_marks(e->st), 0);
}

static int
mark_fn(struct store_txn *txn, void *arg)
{
	return store_acme_queue_put(txn, *(uint64_t *)arg, 0);
}

/* Authorization gone: its mark goes, nothing else is written. */
static void
test_gone(void **state)
{
	struct th_store *e = *state;
	struct store_acme_authz *z = NULL;
	uint64_t gone = 9;

	put_authz(e->st, 1, ACME_ST_PENDING, ACME_ST_PROCESSING,
	    ACME_ST_PENDING, false);
	/* A mark left for 9, whose authorization is no longer stored. */
	assert_int_equal(store_write(e->st, mark_fn, &gone, NULL), 0);
	assert_int_equal(th_acme_marks(e->st), 2);
	result(e->st, 9, 0, NULL);
	assert_int_equal(th_acme_marks(e->st), 1);
	assert_int_not_equal(store_acme_authz_get(e->st, 9, &z, NULL), 0);
	assert_int_equal(valid_of(e->st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_indexes,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_late_result_keeps_entry,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_failure,
		    th_store_setup, th_store_teardown),
		cmocka_unit_test_setup_teardown(test_gone,
		    th_store_setup, th_store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, th_cleanup);
}
