/*
 * tests/ca/test_issue_also.c - ca_issue_req.also over a real SoftHSM2
 * token and LMDB store: the caller's writes land in the commit that
 * stores the certificate record (one commit for both, each visible
 * exactly when the other is), and a failing `also` stores neither, so
 * no crash can leave one without the other.  Both for ca_issue() and
 * ca_issue_submit().  ca_issue_req.csr: a CSR checked by the caller is
 * used as is (the DER is not read again) and is freed on every path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <pthread.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "tests/ca/tutil.h"

#define WAIT_SECS 60

struct env {
	char dir[PATH_MAX];
	struct hsmca_config *cfg;
	struct ca *ca;
	EVP_PKEY *ec;
	unsigned char *csr;
	size_t csr_len;
};

static struct env E;

static int
setup(void **state)
{
	const char *sans[] = { "DNS:also.example", NULL };

	(void)state;
	t_tmpdir(E.dir, sizeof(E.dir));
	if ((E.cfg = config_new()) == NULL ||
	    t_ca_init(E.dir, "ec-p256", NULL, E.cfg) != 0 ||
	    t_ca_open(E.dir, &E.cfg, &E.ca) != 0)
		return -1;
	if ((E.ec = t_key("ec:P-256")) == NULL ||
	    (E.csr = t_csr(E.ec, "also.example", sans, &E.csr_len)) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	ca_close(E.ca);
	config_free(E.cfg);
	EVP_PKEY_free(E.ec);
	free(E.csr);
	t_rmtree(E.dir);
	return 0;
}

/* What `also` saw, and whether it fails on purpose. */
struct also_arg {
	int fail;		/* 0, or the code to return */
	int calls;
	unsigned char serial[STORE_SERIAL_MAX];
	size_t serial_len;
	char name[64];		/* the meta entry it writes */
};

/* Writes meta "also-<n>" = the certificate's serial. */
static int
also_write(struct store_txn *txn, const struct ca_issued *is, void *arg)
{
	struct also_arg *a = arg;

	a->calls++;
	memcpy(a->serial, is->serial, is->serial_len);
	a->serial_len = is->serial_len;
	store_meta_put(txn, a->name, is->serial, is->serial_len);
	if (a->fail != 0)
		return a->fail;
	return store_txn_error(txn);
}

/* The meta entry holds `a`'s serial (1), is absent (0). */
static int
meta_has_serial(const struct also_arg *a)
{
	void *v = NULL;
	size_t len = 0;
	int rc, same;

	if ((rc = store_meta_get(ca_store(E.ca), a->name, &v, &len)) ==
	    HSMCA_ENOTFOUND)
		return 0;
	assert_int_equal(rc, 0);
	same = len == a->serial_len && memcmp(v, a->serial, len) == 0;
	free(v);
	return same ? 1 : -1;
}

static void
test_issue_also_one_commit(void **state)
{
	struct ca_issue_req req = { 0 };
	struct also_arg a = { .name = "also-1" };
	struct store_stats before, after;
	struct hsmca_err err = { 0 };
	struct ca_issued *is = NULL;

	(void)state;
	req.csr_der = E.csr;
	req.csr_len = E.csr_len;
	req.also = also_write;
	req.also_arg = &a;
	assert_int_equal(store_stats(ca_store(E.ca), &before), 0);
	assert_int_equal(ca_issue(E.ca, &req, &is, &err), 0);
	assert_non_null(is);
	assert_true(a.calls >= 1);
	assert_memory_equal(a.serial, is->serial, is->serial_len);
	assert_int_equal(store_stats(ca_store(E.ca), &after), 0);
	/* One request, one commit: the record and the caller's write. */
	assert_true(after.writes == before.writes + 1);
	assert_true(after.commits == before.commits + 1);
	assert_int_equal(store_cert_exists(ca_store(E.ca), is->serial,
	    is->serial_len), 1);
	assert_int_equal(meta_has_serial(&a), 1);
	ca_issued_free(is);
}

static void
test_issue_also_fails_stores_nothing(void **state)
{
	struct ca_issue_req req = { 0 };
	struct also_arg a = { .fail = HSMCA_EINVAL, .name = "also-2" };
	struct hsmca_err err = { 0 };
	struct ca_issued *is = NULL;

	(void)state;
	req.csr_der = E.csr;
	req.csr_len = E.csr_len;
	req.also = also_write;
	req.also_arg = &a;
	assert_int_not_equal(ca_issue(E.ca, &req, &is, &err), 0);
	assert_null(is);
	assert_string_equal(err.type, "serverInternal");
	assert_int_equal(a.calls, 1);
	/* Signed, but neither the record nor the caller's write stored. */
	assert_int_equal(store_cert_exists(ca_store(E.ca), a.serial,
	    a.serial_len), 0);
	assert_int_equal(meta_has_serial(&a), 0);
}

/* ca_issue_submit(): the callback's result, seen from the test. */
struct done_arg {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls, rc;
	int cert_visible, meta_visible;
	struct also_arg *a;
};

static void
done_cb(int rc, struct ca_issued *issued, const struct hsmca_err *err,
    void *arg)
{
	struct done_arg *d = arg;

	(void)err;
	pthread_mutex_lock(&d->mu);
	d->rc = rc;
	d->cert_visible = store_cert_exists(ca_store(E.ca), d->a->serial,
	    d->a->serial_len);
	d->meta_visible = meta_has_serial(d->a);
	d->calls++;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	ca_issued_free(issued);
}

static void
submit_and_wait(struct also_arg *a, struct done_arg *d)
{
	struct ca_issue_req req = { 0 };
	struct hsmca_err err = { 0 };
	struct timespec until;

	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->a = a;
	req.csr_der = E.csr;
	req.csr_len = E.csr_len;
	req.also = also_write;
	req.also_arg = a;
	assert_int_equal(ca_issue_submit(E.ca, &req, done_cb, d, &err), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_SECS;
	pthread_mutex_lock(&d->mu);
	while (d->calls == 0)
		if (pthread_cond_timedwait(&d->cv, &d->mu, &until) != 0)
			break;
	pthread_mutex_unlock(&d->mu);
	assert_int_equal(d->calls, 1);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
}

static void
test_submit_also(void **state)
{
	struct also_arg ok = { .name = "also-3" };
	struct also_arg bad = { .fail = HSMCA_EINVAL, .name = "also-4" };
	struct done_arg d1 = { 0 }, d2 = { 0 };

	(void)state;
	submit_and_wait(&ok, &d1);
	assert_int_equal(d1.rc, 0);
	assert_int_equal(d1.cert_visible, 1);
	assert_int_equal(d1.meta_visible, 1);
	submit_and_wait(&bad, &d2);
	assert_int_not_equal(d2.rc, 0);
	assert_int_equal(d2.cert_visible, 0);
	assert_int_equal(d2.meta_visible, 0);
}

/* A CSR ca_csr_check() made against the default profile. */
static struct ca_csr *
checked_csr(void)
{
	struct ca_profile prof;
	struct hsmca_err err = { 0 };
	struct ca_csr *csr = NULL;

	assert_int_equal(ca_profile_get(E.ca, NULL, &prof, &err), 0);
	assert_int_equal(ca_csr_check(E.csr, E.csr_len, &prof, &csr, &err),
	    0);
	return csr;
}

static void
test_issue_checked_csr(void **state)
{
	struct ca_issue_req req = { 0 };
	struct hsmca_err err = { 0 };
	struct ca_issued *is = NULL;
	X509 *x;
	const unsigned char *p;

	(void)state;
	/* No DER at all: only the checked CSR can make this certificate. */
	req.csr = checked_csr();
	assert_int_equal(ca_issue(E.ca, &req, &is, &err), 0);
	assert_non_null(is);
	p = is->der;
	assert_non_null(x = d2i_X509(NULL, &p, (long)is->der_len));
	assert_int_equal(X509_check_host(x, "also.example", 0, 0, NULL), 1);
	X509_free(x);
	ca_issued_free(is);

	/* Refused before the CSR is used: still freed (ASan: no leak). */
	req.csr = checked_csr();
	req.profile = "no-such-profile";
	assert_int_not_equal(ca_issue(E.ca, &req, &is, &err), 0);
	assert_null(is);
	hsmca_err_clear(&err);
	req.csr = checked_csr();
	assert_int_not_equal(ca_issue_submit(E.ca, &req, NULL, NULL, &err),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_also_one_commit),
		cmocka_unit_test(test_issue_also_fails_stores_nothing),
		cmocka_unit_test(test_submit_also),
		cmocka_unit_test(test_issue_checked_csr),
	};

	unsetenv("HSMCA_PIN");
	return cmocka_run_group_tests(tests, setup, teardown);
}
