/*
 * tests/hsm/test_sign.c - one EVP_PKEY from hsm_key_private() signing
 * from several threads at once; every signature must verify.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "sigutil.h"

#define NTHREADS 4

static struct fixture fix;

struct worker {
	struct hsm_key *key;
	int n;			/* signatures to make */
	int tag;		/* makes each thread's messages distinct */
	int good;		/* signatures that verified */
	int bad;		/* tampered messages that verified (must be 0) */
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	unsigned char msg[1024];
	int i;

	memset(msg, w->tag, sizeof(msg));
	for (i = 0; i < w->n; i++) {
		memcpy(msg, &i, sizeof(i));
		if (sign_verify(hsm_key_private(w->key),
		    hsm_key_public(w->key), msg, sizeof(msg), 0))
			w->good++;
		/* One in 50 also checks that a changed message fails. */
		if (i % 50 == 0 && sign_verify(hsm_key_private(w->key),
		    hsm_key_public(w->key), msg, sizeof(msg), 1))
			w->bad++;
	}
	return NULL;
}

static void
run(enum hsm_key_type type, const char *label, int per_thread)
{
	struct hsmca_err err = { 0 };
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct hsm_key *key = NULL;
	char uri[64];
	int i;

	assert_int_equal(hsm_key_generate(fix.hsm, type, label, &err), 0);
	snprintf(uri, sizeof(uri), "pkcs11:object=%s", label);
	assert_int_equal(hsm_key_open(fix.hsm, uri, &key, &err), 0);
	for (i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].key = key;
		w[i].n = per_thread;
		w[i].tag = 'a' + i;
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < NTHREADS; i++) {
		if (w[i].good != per_thread || w[i].bad != 0)
			fail_msg("%s thread %d: %d of %d verified, %d forged",
			    label, i, w[i].good, per_thread, w[i].bad);
	}
	hsm_key_free(key);
}

static void
test_concurrent_ec(void **state)
{
	(void)state;
	run(HSM_KEY_EC_P256, "conc-ec", 500);
}

static void
test_concurrent_rsa(void **state)
{
	(void)state;
	run(HSM_KEY_RSA_2048, "conc-rsa", 500);
}

static int
group_setup(void **state)
{
	(void)state;
	return fixture_setup(&fix, 1);
}

static int
group_teardown(void **state)
{
	(void)state;
	fixture_teardown(&fix);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_ec),
		cmocka_unit_test(test_concurrent_rsa),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
