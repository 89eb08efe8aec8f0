/*
 * tests/ca/test_issue_async.c - ca_issue_submit() over a real SoftHSM2
 * token and LMDB store: N submissions from two threads, each with a
 * window in flight, give N callbacks, each called once, each after its
 * record is durable (visible in a fresh snapshot inside the callback),
 * with N distinct serials whose records match the certificates; the
 * chain PEM is the leaf's DER in RFC 7468 armor followed by the issuing
 * CA; refusals come back from the call itself and store nothing;
 * ca_close() completes submissions still queued; once the issuing CA is
 * revoked neither ca_issue() nor ca_issue_submit() signs.  argv[1] picks the CA
 * key type (default ec-p256).
 */
#include <errno.h>
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

#include <openssl/pem.h>

#include "ca/ca.h"
#include "ca/ca_revoke.h"
#include "tests/ca/tutil.h"

#define NTHREADS 2
#define PER_THREAD 150
#define WINDOW 16
#define WAIT_SECS 60

static const char *key_type_name = "ec-p256";

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
open_ca(void)
{
	return t_ca_open(E.dir, &E.cfg, &E.ca);
}

static int
setup(void **state)
{
	const char *sans[] = { "DNS:async.example", "DNS:www.async.example",
	    NULL };

	(void)state;
	t_tmpdir(E.dir, sizeof(E.dir));
	if ((E.cfg = config_new()) == NULL ||
	    t_ca_init(E.dir, key_type_name, NULL, E.cfg) != 0 ||
	    open_ca() != 0)
		return -1;
	if ((E.ec = t_key("ec:P-256")) == NULL ||
	    (E.csr = t_csr(E.ec, "async.example", sans, &E.csr_len)) == NULL)
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

/* What one callback saw. */
struct result {
	int calls;
	int rc;
	int visible;		/* store_cert_exists() inside the callback */
	unsigned char serial[16];
	struct ca_issued *issued;
};

/* One submitting thread and its window. */
struct submitter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inflight, completed;
	int failures;
	struct result res[PER_THREAD];
};

struct cb_arg {
	struct submitter *s;
	struct result *r;
};

static void
done_cb(int rc, struct ca_issued *issued, const struct hsmca_err *err,
    void *arg)
{
	struct cb_arg *a = arg;
	struct result *r = a->r;

	r->rc = rc;
	if (rc != 0)
		print_error("callback: %s\n", err != NULL ? err->detail : "?");
	if (issued != NULL) {
		memcpy(r->serial, issued->serial, 16);
		r->visible = store_cert_exists(ca_store(E.ca), issued->serial,
		    issued->serial_len);
	}
	r->issued = issued;
	pthread_mutex_lock(&a->s->mu);
	r->calls++;
	a->s->inflight--;
	a->s->completed++;
	pthread_cond_broadcast(&a->s->cv);
	pthread_mutex_unlock(&a->s->mu);
	free(a);
}

static void
submitter_init(struct submitter *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
}

/* Submit `n` issuances keeping at most `window` in flight. */
static void
submit_n(struct submitter *s, int n, int window)
{
	for (int i = 0; i < n; i++) {
		struct ca_issue_req req = { 0 };
		struct hsmca_err err = { 0 };
		struct cb_arg *a;

		pthread_mutex_lock(&s->mu);
		while (s->inflight >= window)
			pthread_cond_wait(&s->cv, &s->mu);
		s->inflight++;
		pthread_mutex_unlock(&s->mu);
		if ((a = malloc(sizeof(*a))) == NULL)
			abort();
		a->s = s;
		a->r = &s->res[i];
		req.csr_der = E.csr;
		req.csr_len = E.csr_len;
		req.account_id = 77;
		if (ca_issue_submit(E.ca, &req, done_cb, a, &err) != 0) {
			print_error("submit: %s: %s\n", err.type, err.detail);
			free(a);
			pthread_mutex_lock(&s->mu);
			s->inflight--;
			s->failures++;
			pthread_mutex_unlock(&s->mu);
		}
	}
}

static void
submitter_wait(struct submitter *s, int n)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_SECS;
	pthread_mutex_lock(&s->mu);
	while (s->completed < n)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&s->mu);
	assert_int_equal(s->completed, n);
}

static void *
submit_main(void *arg)
{
	submit_n(arg, PER_THREAD, WINDOW);
	return NULL;
}

static int
cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* The leaf PEM as OpenSSL writes it, then the issuing CA's. */
static void
assert_chain_pem(const struct ca_issued *is)
{
	const unsigned char *p = is->der;
	X509 *leaf = d2i_X509(NULL, &p, (long)is->der_len);
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *mem;

	assert_non_null(leaf);
	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509(b, leaf), 1);
	assert_int_equal(PEM_write_bio_X509(b, ca_issuing_cert(E.ca)), 1);
	BIO_get_mem_ptr(b, &mem);
	assert_int_equal(strlen(is->chain_pem), mem->length);
	assert_memory_equal(is->chain_pem, mem->data, mem->length);
	BIO_free(b);
	X509_free(leaf);
}

static void
test_submit_many(void **state)
{
	static struct submitter s[NTHREADS];
	static unsigned char all[NTHREADS * PER_THREAD][16];
	struct store_stats before, after;
	pthread_t t[NTHREADS];
	struct hsmca_err err = { 0 };
	size_t problems = 99, records = 0;
	int n = 0;

	(void)state;
	assert_int_equal(store_stats(ca_store(E.ca), &before), 0);
	for (int i = 0; i < NTHREADS; i++) {
		submitter_init(&s[i]);
		assert_int_equal(pthread_create(&t[i], NULL, submit_main,
		    &s[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(s[i].failures, 0);
		submitter_wait(&s[i], PER_THREAD);
	}
	for (int i = 0; i < NTHREADS; i++)
		for (int j = 0; j < PER_THREAD; j++) {
			struct result *r = &s[i].res[j];
			struct store_cert *rec = NULL;

			assert_int_equal(r->calls, 1);
			assert_int_equal(r->rc, 0);
			assert_non_null(r->issued);
			/* Durable before the requester was told. */
			assert_int_equal(r->visible, 1);
			assert_int_equal(store_cert_get(ca_store(E.ca),
			    r->issued->serial, r->issued->serial_len, &rec,
			    &err), 0);
			assert_int_equal(rec->der_len, r->issued->der_len);
			assert_memory_equal(rec->der, r->issued->der,
			    rec->der_len);
			assert_int_equal(rec->account_id, 77);
			assert_int_equal(rec->nnames, 2);
			store_cert_free(rec);
			if (j == 0)
				assert_chain_pem(r->issued);
			memcpy(all[n++], r->serial, 16);
			ca_issued_free(r->issued);
			r->issued = NULL;
		}
	qsort(all, (size_t)n, 16, cmp16);
	for (int i = 1; i < n; i++)
		assert_true(memcmp(all[i - 1], all[i], 16) != 0);
	assert_int_equal(store_stats(ca_store(E.ca), &after), 0);
	print_message("%d issuances in %llu commits\n", n,
	    (unsigned long long)(after.commits - before.commits));
	assert_true(after.writes - before.writes == (uint64_t)n);
	assert_int_equal(store_check(ca_store(E.ca), stderr, &problems,
	    &records, &err), 0);
	assert_int_equal(problems, 0);
	assert_true(records >= (size_t)n);
}

/* Refusals come back from the call; the callback never runs. */
static void
test_submit_refused(void **state)
{
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	const char *bad_sans[] = { "DNS:bad_name.example", NULL };
	struct submitter s;
	struct store_stats before, after;
	struct ca_issue_req req = { 0 };
	struct hsmca_err err = { 0 };
	unsigned char *bad;
	size_t bad_len;
	struct cb_arg a;

	(void)state;
	submitter_init(&s);
	a.s = &s;
	a.r = &s.res[0];
	assert_int_equal(store_stats(ca_store(E.ca), &before), 0);
	req.csr_der = junk;
	req.csr_len = sizeof(junk);
	assert_int_equal(ca_issue_submit(E.ca, &req, done_cb, &a, &err),
	    HSMCA_EINVAL);
	assert_string_equal(err.type, "badCSR");
	assert_non_null(bad = t_csr(E.ec, NULL, bad_sans, &bad_len));
	req.csr_der = bad;
	req.csr_len = bad_len;
	memset(&err, 0, sizeof(err));
	assert_true(ca_issue_submit(E.ca, &req, done_cb, &a, &err) < 0);
	assert_string_equal(err.type, "rejectedIdentifier");
	free(bad);
	req.csr_der = E.csr;
	req.csr_len = E.csr_len;
	req.profile = "no-such-profile";
	memset(&err, 0, sizeof(err));
	assert_int_equal(ca_issue_submit(E.ca, &req, done_cb, &a, &err),
	    HSMCA_ENOTFOUND);
	req.profile = NULL;
	memset(&err, 0, sizeof(err));
	assert_int_equal(ca_issue_submit(E.ca, &req, NULL, NULL, &err),
	    HSMCA_EINVAL);
	/* Nothing queued, nothing written, no callback. */
	assert_int_equal(store_stats(ca_store(E.ca), &after), 0);
	assert_true(after.writes == before.writes);
	assert_int_equal(s.res[0].calls, 0);
}

/* ca_close() runs what is still queued; the records survive a reopen. */
static void
test_close_completes(void **state)
{
	static struct submitter s;

	(void)state;
	submitter_init(&s);
	submit_n(&s, 40, 40);
	assert_int_equal(s.failures, 0);
	ca_close(E.ca);
	E.ca = NULL;
	assert_int_equal(s.completed, 40);
	assert_int_equal(open_ca(), 0);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(s.res[i].calls, 1);
		assert_int_equal(s.res[i].rc, 0);
		assert_int_equal(store_cert_exists(ca_store(E.ca),
		    s.res[i].serial, 16), 1);
		ca_issued_free(s.res[i].issued);
	}
}

/* Last: the revocation of the issuing CA cannot be undone. */
static void
test_revoked_issuing_refused(void **state)
{
	struct submitter s;
	struct store_stats before, after;
	struct ca_issue_req req = { 0 };
	struct ca_issued *is = NULL;
	struct hsmca_err err = { 0 };
	struct cb_arg a;

	(void)state;
	submitter_init(&s);
	a.s = &s;
	a.r = &s.res[0];
	req.csr_der = E.csr;
	req.csr_len = E.csr_len;
	/* Still active: one goes through. */
	assert_int_equal(ca_issue(E.ca, &req, &is, &err), 0);
	ca_issued_free(is);
	is = NULL;
	assert_int_equal(ca_revoke_issuing(E.ca, CA_REASON_KEY_COMPROMISE,
	    "test", NULL, &err), 0);
	assert_int_equal(store_stats(ca_store(E.ca), &before), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ca_issue_submit(E.ca, &req, done_cb, &a, &err),
	    HSMCA_EPOLICY);
	assert_non_null(strstr(err.detail, "revoked"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(ca_issue(E.ca, &req, &is, &err), HSMCA_EPOLICY);
	assert_null(is);
	assert_non_null(strstr(err.detail, "revoked"));
	assert_int_equal(store_stats(ca_store(E.ca), &after), 0);
	assert_true(after.writes == before.writes);
	assert_int_equal(s.res[0].calls, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit_many),
		cmocka_unit_test(test_submit_refused),
		cmocka_unit_test(test_close_completes),
		cmocka_unit_test(test_revoked_issuing_refused),
	};

	if (argc > 1)
		key_type_name = argv[1];
	unsetenv("HSMCA_PIN");
	return cmocka_run_group_tests(tests, setup, teardown);
}
