/*
 * tests/protocol/test_nonce.c - the nonce store (protocol/nonce.c): single
 * use, the lifetime boundary, eviction when full, several threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "protocol/jws.h"
#include "protocol/nonce.h"

#define T0 1700000000

/* Expect `nonce` to be refused with badNonce. */
static void
expect_bad(struct nonce_store *st, const char *nonce, int64_t now)
{
	struct hsmca_err err;

	hsmca_err_clear(&err);
	assert_int_equal(nonce_consume(st, nonce, now, &err), HSMCA_EINVAL);
	assert_string_equal(err.type, "badNonce");
}

static void
test_new_args(void **state)
{
	struct nonce_store *st;

	(void)state;
	assert_null(nonce_store_new(0, 60));
	assert_null(nonce_store_new(10, 0));
	assert_null(nonce_store_new(10, -1));
	assert_null(nonce_store_new(SIZE_MAX, 60));
	assert_non_null(st = nonce_store_new(1, 1));
	nonce_store_free(st);
	nonce_store_free(NULL);
}

static void
test_single_use(void **state)
{
	struct nonce_store *st;
	char a[NONCE_LEN + 1], b[NONCE_LEN + 1];
	unsigned char raw[NONCE_BYTES];
	size_t len;

	(void)state;
	st = nonce_store_new(100, NONCE_DEFAULT_LIFETIME);
	assert_int_equal(nonce_issue(st, T0, a), 0);
	assert_int_equal(nonce_issue(st, T0, b), 0);
	/* 128 bits, base64url, distinct. */
	assert_int_equal(strlen(a), NONCE_LEN);
	assert_int_equal(b64url_decode_buf(a, NONCE_LEN, raw, sizeof(raw),
	    &len, NULL), 0);
	assert_int_equal(len, NONCE_BYTES);
	assert_string_not_equal(a, b);
	assert_int_equal(nonce_store_count(st), 2);
	assert_int_equal(nonce_consume(st, b, T0, NULL), 0);
	expect_bad(st, b, T0);
	assert_int_equal(nonce_consume(st, a, T0 + 1, NULL), 0);
	expect_bad(st, a, T0 + 1);
	assert_int_equal(nonce_store_count(st), 0);
	nonce_store_free(st);
}

/* Strings this store never issued. */
static void
test_unknown(void **state)
{
	static const char *const bad[] = {
		"",
		"AAAAAAAAAAAAAAAAAAAAAA",	/* well-formed, never issued */
		"AAAAAAAAAAAAAAAAAAAAA",	/* 21 characters */
		"AAAAAAAAAAAAAAAAAAAAAAA",	/* 23 characters */
		"AAAAAAAAAAAAAAAAAAAA+A",	/* not base64url */
		"AAAAAAAAAAAAAAAAAAAAAB",	/* non-zero pad bits */
	};
	struct nonce_store *st;
	char a[NONCE_LEN + 1], longer[NONCE_LEN + 2];
	size_t i;

	(void)state;
	st = nonce_store_new(10, 60);
	assert_int_equal(nonce_issue(st, T0, a), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(st, bad[i], T0);
	expect_bad(st, NULL, T0);
	/* The issued nonce with one more character is not it. */
	memcpy(longer, a, NONCE_LEN);
	longer[NONCE_LEN] = 'A';
	longer[NONCE_LEN + 1] = '\0';
	expect_bad(st, longer, T0);
	/* One character changed. */
	longer[NONCE_LEN] = '\0';
	longer[0] = longer[0] == 'B' ? 'C' : 'B';
	expect_bad(st, longer, T0);
	assert_int_equal(nonce_consume(st, a, T0, NULL), 0);
	nonce_store_free(st);
}

/* Issued at t with lifetime L: accepted through t+L-1, refused at t+L. */
static void
test_lifetime_boundary(void **state)
{
	struct nonce_store *st;
	char a[NONCE_LEN + 1], b[NONCE_LEN + 1];

	(void)state;
	st = nonce_store_new(10, 60);
	assert_int_equal(nonce_issue(st, T0, a), 0);
	assert_int_equal(nonce_issue(st, T0, b), 0);
	assert_int_equal(nonce_consume(st, a, T0 + 59, NULL), 0);
	expect_bad(st, b, T0 + 60);
	/* Refused once for expiry, it is gone for good. */
	expect_bad(st, b, T0);
	/* Lifetime 1: only the second it was issued in. */
	nonce_store_free(st);
	st = nonce_store_new(10, 1);
	assert_int_equal(nonce_issue(st, T0, a), 0);
	assert_int_equal(nonce_issue(st, T0, b), 0);
	assert_int_equal(nonce_consume(st, a, T0, NULL), 0);
	expect_bad(st, b, T0 + 1);
	nonce_store_free(st);
}

/* Expired nonces leave the store as new ones are issued. */
static void
test_expired_dropped(void **state)
{
	struct nonce_store *st;
	char a[NONCE_LEN + 1];
	int i;

	(void)state;
	st = nonce_store_new(10, 60);
	for (i = 0; i < 5; i++)
		assert_int_equal(nonce_issue(st, T0, a), 0);
	assert_int_equal(nonce_store_count(st), 5);
	assert_int_equal(nonce_issue(st, T0 + 60, a), 0);
	assert_int_equal(nonce_store_count(st), 1);
	assert_int_equal(nonce_consume(st, a, T0 + 60, NULL), 0);
	nonce_store_free(st);
}

/* Full store: the oldest goes, the rest stay valid. */
static void
test_eviction(void **state)
{
	enum { MAX = 4 };
	struct nonce_store *st;
	char n[MAX + 2][NONCE_LEN + 1];
	int i;

	(void)state;
	st = nonce_store_new(MAX, 60);
	for (i = 0; i < MAX; i++)
		assert_int_equal(nonce_issue(st, T0 + i, n[i]), 0);
	assert_int_equal(nonce_store_count(st), MAX);
	/* Exactly full: nothing lost yet. */
	assert_int_equal(nonce_issue(st, T0 + MAX, n[MAX]), 0);
	assert_int_equal(nonce_store_count(st), MAX);
	expect_bad(st, n[0], T0 + MAX);
	for (i = 1; i <= MAX; i++)
		assert_int_equal(nonce_consume(st, n[i], T0 + MAX, NULL), 0);
	assert_int_equal(nonce_store_count(st), 0);
	/* A used nonce frees its place: no live one is evicted for it. */
	for (i = 0; i < MAX; i++)
		assert_int_equal(nonce_issue(st, T0 + 10, n[i]), 0);
	assert_int_equal(nonce_consume(st, n[1], T0 + 10, NULL), 0);
	assert_int_equal(nonce_issue(st, T0 + 10, n[MAX]), 0);
	assert_int_equal(nonce_store_count(st), MAX);
	/* Full again: the next issue evicts the oldest live one, n[0]. */
	assert_int_equal(nonce_issue(st, T0 + 10, n[MAX + 1]), 0);
	expect_bad(st, n[0], T0 + 10);
	for (i = 2; i <= MAX + 1; i++)
		assert_int_equal(nonce_consume(st, n[i], T0 + 10, NULL), 0);
	assert_int_equal(nonce_store_count(st), 0);
	nonce_store_free(st);
}

/* Store of one. */
static void
test_max_one(void **state)
{
	struct nonce_store *st;
	char a[NONCE_LEN + 1], b[NONCE_LEN + 1];

	(void)state;
	st = nonce_store_new(1, 60);
	assert_int_equal(nonce_issue(st, T0, a), 0);
	assert_int_equal(nonce_issue(st, T0, b), 0);
	expect_bad(st, a, T0);
	assert_int_equal(nonce_consume(st, b, T0, NULL), 0);
	nonce_store_free(st);
}

/* --- threads --------------------------------------------------------- */

#define NTHREADS 4
#define PER_THREAD 20000
#define SHARED 5000

struct worker {
	struct nonce_store *st;
	char (*shared)[NONCE_LEN + 1];
	int ok;		/* own nonces accepted */
	int won;	/* shared nonces this thread consumed */
};

/* Issue and consume its own nonces, then race for the shared ones. */
static void *
work(void *arg)
{
	struct worker *w = arg;
	char n[NONCE_LEN + 1];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		if (nonce_issue(w->st, T0, n) == 0 &&
		    nonce_consume(w->st, n, T0, NULL) == 0 &&
		    nonce_consume(w->st, n, T0, NULL) == HSMCA_EINVAL)
			w->ok++;
	}
	for (i = 0; i < SHARED; i++)
		if (nonce_consume(w->st, w->shared[i], T0, NULL) == 0)
			w->won++;
	return NULL;
}

static void
test_threads(void **state)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	struct nonce_store *st;
	char (*shared)[NONCE_LEN + 1];
	int i, won = 0;

	(void)state;
	/* Room for the shared nonces plus what the workers hold at once. */
	st = nonce_store_new(SHARED + NTHREADS, 60);
	shared = calloc(SHARED, sizeof(*shared));
	for (i = 0; i < SHARED; i++)
		assert_int_equal(nonce_issue(st, T0, shared[i]), 0);
	for (i = 0; i < NTHREADS; i++) {
		w[i].st = st;
		w[i].shared = shared;
		w[i].ok = w[i].won = 0;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].ok, PER_THREAD);
		won += w[i].won;
	}
	/* Each shared nonce accepted exactly once across all threads. */
	assert_int_equal(won, SHARED);
	assert_int_equal(nonce_store_count(st), 0);
	free(shared);
	nonce_store_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_args),
		cmocka_unit_test(test_single_use),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_lifetime_boundary),
		cmocka_unit_test(test_expired_dropped),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_max_one),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
