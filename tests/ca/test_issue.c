/*
 * tests/ca/test_issue.c - end to end: the ceremony in a temp dir with a
 * fresh SoftHSM2 token, then issuance checked from the outside (chain
 * verification, extensions, the stored record), refusals, and two
 * threads issuing concurrently.  argv[1] picks the CA key type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "tests/ca/tutil.h"

#define DAY 86400
#define NTHREADS 2
#define PER_THREAD 500

static const char *key_type_name = "ec-p256";

struct env {
	char dir[PATH_MAX];
	struct hsmca_config *cfg;
	struct ca *ca;
	EVP_PKEY *ec, *rsa;
};

static struct env E;

static int
setup(void **state)
{
	(void)state;
	t_tmpdir(E.dir, sizeof(E.dir));
	/* Opened from the written file, as the daemon does. */
	if ((E.cfg = config_new()) == NULL ||
	    t_ca_init(E.dir, key_type_name, NULL, E.cfg) != 0 ||
	    t_ca_open(E.dir, &E.cfg, &E.ca) != 0)
		return -1;
	if ((E.ec = t_key("ec:P-256")) == NULL ||
	    (E.rsa = t_key("rsa:2048")) == NULL)
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
	EVP_PKEY_free(E.rsa);
	t_rmtree(E.dir);
	return 0;
}

static void
assert_ext(X509 *x, int nid, int critical)
{
	int idx = X509_get_ext_by_NID(x, nid, -1);

	print_message("  extension %s\n", OBJ_nid2sn(nid));
	assert_true(idx >= 0);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x, idx)),
	    critical);
	/* Exactly once (RFC 5280 4.2). */
	assert_true(X509_get_ext_by_NID(x, nid, idx) < 0);
}

static bool
ext_has(X509 *x, int nid, const char *needle)
{
	X509_EXTENSION *e = X509_get_ext(x, X509_get_ext_by_NID(x, nid, -1));
	BIO *b = BIO_new(BIO_s_mem());
	char buf[1024] = "";
	bool found;

	X509V3_EXT_print(b, e, 0, 0);
	BIO_read(b, buf, sizeof(buf) - 1);
	BIO_free(b);
	found = strstr(buf, needle) != NULL;
	if (!found)
		print_message("  \"%s\" not in %s\n", needle, buf);
	return found;
}

/* The leaf chains to the root and carries what the profile says. */
static void
check_leaf(const struct ca_issued *is, bool rsa, bool has_cn,
    const char *const *names, size_t nnames, int64_t validity)
{
	const unsigned char *p = is->der;
	X509 *leaf = d2i_X509(NULL, &p, (long)is->der_len);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct store_cert *rec = NULL;
	struct hsmca_err err = { 0 };
	ASN1_BIT_STRING *ku;
	GENERAL_NAMES *gens;
	char want[64];
	int v;

	assert_non_null(leaf);
	assert_ptr_equal(p, is->der + is->der_len);
	assert_int_equal(X509_verify(leaf,
	    X509_get0_pubkey(ca_issuing_cert(E.ca))), 1);
	X509_STORE_add_cert(st, ca_root_cert(E.ca));
	sk_X509_push(chain, ca_issuing_cert(E.ca));
	assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, chain), 1);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	if ((v = X509_verify_cert(ctx)) != 1)
		print_message("verify: %s\n", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
	assert_int_equal(v, 1);

	assert_int_equal(X509_get_version(leaf), X509_VERSION_3);
	assert_ext(leaf, NID_basic_constraints, 1);
	assert_ext(leaf, NID_key_usage, 1);
	assert_ext(leaf, NID_ext_key_usage, 0);
	assert_ext(leaf, NID_subject_alt_name, has_cn ? 0 : 1);
	assert_ext(leaf, NID_authority_key_identifier, 0);
	assert_ext(leaf, NID_info_access, 0);
	assert_ext(leaf, NID_crl_distribution_points, 0);
	assert_ext(leaf, NID_certificate_policies, 0);
	assert_true(ext_has(leaf, NID_info_access, "/ca/issuing.der"));
	assert_true(ext_has(leaf, NID_certificate_policies, "2.23.140.1.2.1"));
	snprintf(want, sizeof(want), "/crl/%u.crl", ca_crl_shard(is->serial,
	    is->serial_len, 16));
	assert_true(ext_has(leaf, NID_crl_distribution_points, want));
	assert_true(ext_has(leaf, NID_ext_key_usage,
	    "TLS Web Server Authentication"));
	assert_false(ext_has(leaf, NID_ext_key_usage, "Client"));
	ku = X509_get_ext_d2i(leaf, NID_key_usage, NULL, NULL);
	assert_true(ASN1_BIT_STRING_get_bit(ku, 0));
	assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 2), rsa);
	assert_false(ASN1_BIT_STRING_get_bit(ku, 5));
	ASN1_BIT_STRING_free(ku);
	assert_int_equal(ASN1_OCTET_STRING_cmp(
	    X509_get0_authority_key_id(leaf),
	    X509_get0_subject_key_id(ca_issuing_cert(E.ca))), 0);
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(gens), (int)nnames);
	GENERAL_NAMES_free(gens);
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(leaf)),
	    has_cn ? 1 : 0);

	/* Validity counts both ends: notAfter - notBefore + 1. */
	assert_int_equal(is->not_after - is->not_before + 1, validity);
	{
		int day, sec;
		ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(leaf),
		    X509_get0_notAfter(leaf));
		assert_int_equal((int64_t)day * DAY + sec + 1, validity);
	}
	/* Serial: 16 octets, positive, the same as reported. */
	{
		const ASN1_INTEGER *s = X509_get0_serialNumber(leaf);
		assert_int_equal(s->type, V_ASN1_INTEGER);
		assert_int_equal(s->length, 16);
		assert_int_equal(is->serial_len, 16);
		assert_memory_equal(s->data, is->serial, 16);
	}
	/* The chain PEM holds the leaf and the issuing CA. */
	assert_non_null(strstr(is->chain_pem, "BEGIN CERTIFICATE"));
	assert_non_null(strstr(strstr(is->chain_pem, "END CERTIFICATE"),
	    "BEGIN CERTIFICATE"));

	/* The record is durable and matches. */
	assert_int_equal(store_cert_get(ca_store(E.ca), is->serial,
	    is->serial_len, &rec, &err), 0);
	assert_int_equal(rec->der_len, is->der_len);
	assert_memory_equal(rec->der, is->der, is->der_len);
	assert_int_equal(rec->status, STORE_CERT_ISSUED);
	assert_int_equal(rec->not_before, is->not_before);
	assert_int_equal(rec->not_after, is->not_after);
	assert_int_equal(rec->crl_shard, ca_crl_shard(is->serial,
	    is->serial_len, 16));
	assert_int_equal(rec->nnames, nnames);
	for (size_t i = 0; i < nnames; i++)
		assert_string_equal(rec->names[i], names[i]);
	store_cert_free(rec);

	sk_X509_free(chain);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(leaf);
}

static void
test_ca_certs(void **state)
{
	X509 *root = ca_root_cert(E.ca), *iss = ca_issuing_cert(E.ca);
	BASIC_CONSTRAINTS *bc;

	(void)state;
	assert_int_equal(X509_verify(root, X509_get0_pubkey(root)), 1);
	assert_int_equal(X509_verify(iss, X509_get0_pubkey(root)), 1);
	assert_ext(root, NID_basic_constraints, 1);
	assert_ext(root, NID_key_usage, 1);
	assert_ext(root, NID_subject_key_identifier, 0);
	assert_ext(iss, NID_basic_constraints, 1);
	assert_ext(iss, NID_key_usage, 1);
	assert_ext(iss, NID_subject_key_identifier, 0);
	assert_ext(iss, NID_authority_key_identifier, 0);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(iss),
	    X509_get0_subject_key_id(root)), 0);
	bc = X509_get_ext_d2i(iss, NID_basic_constraints, NULL, NULL);
	assert_true(bc->ca);
	assert_non_null(bc->pathlen);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_check_ca(iss) > 0);
}

static void
test_init_twice(void **state)
{
	struct ca_init_params p = { 0 };
	struct hsmca_err err = { 0 };
	struct hsmca_config *cfg = config_new();

	(void)state;
	p.state_dir = E.dir;
	p.cfg = cfg;
	p.create_token = true;
	assert_int_equal(ca_init(&p, &err), HSMCA_EEXIST);
	assert_non_null(strstr(err.detail, "hsmca.conf exists"));
	config_free(cfg);
}

/* The PIN files are the owner's alone and the PIN is nowhere else. */
static void
test_state_files(void **state)
{
	static const char *const secret[] = { "token.pin", "so.pin" };
	char path[PATH_MAX + 32], *conf = NULL, pin[128] = "";
	struct stat st;
	FILE *fp;
	long n;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", E.dir, secret[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	snprintf(path, sizeof(path), "%s/token.pin", E.dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(pin, sizeof(pin), fp));
	fclose(fp);
	assert_int_equal(strlen(pin), 32);
	snprintf(path, sizeof(path), "%s/hsmca.conf", E.dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	conf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(conf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	assert_null(strstr(conf, pin));
	assert_non_null(strstr(conf, "softhsm2.conf"));
	free(conf);
}

/* An interrupted ceremony (PEMs written, no hsmca.conf) is refused too. */
static void
test_init_interrupted(void **state)
{
	struct ca_init_params p = { 0 };
	struct hsmca_err err = { 0 };
	struct hsmca_config *cfg = config_new();
	char dir[PATH_MAX], path[PATH_MAX + 16];
	FILE *fp;

	(void)state;
	t_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/root.pem", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	p.state_dir = dir;
	p.cfg = cfg;
	p.create_token = true;
	assert_int_equal(ca_init(&p, &err), HSMCA_EEXIST);
	assert_non_null(strstr(err.detail, "interrupted"));
	/* Nothing else was written. */
	snprintf(path, sizeof(path), "%s/token.pin", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	config_free(cfg);
	t_rmtree(dir);
}

static void
issue_one(EVP_PKEY *key, const char *cn, const char *const *sans,
    const char *profile, const char *const *want, size_t nwant,
    bool has_cn, int64_t validity)
{
	struct ca_issue_req req = { 0 };
	struct ca_issued *is = NULL;
	struct hsmca_err err = { 0 };
	size_t len;
	unsigned char *der = t_csr(key, cn, sans, &len);

	req.csr_der = der;
	req.csr_len = len;
	req.profile = profile;
	req.account_id = 7;
	if (ca_issue(E.ca, &req, &is, &err) != 0)
		print_message("issue: %s: %s\n", err.type, err.detail);
	assert_non_null(is);
	check_leaf(is, EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA, has_cn, want,
	    nwant, validity);
	ca_issued_free(is);
	free(der);
}

static void
test_issue_ec(void **state)
{
	const char *sans[] = { "DNS:www.example.com", "DNS:Example.com",
	    "IP:192.0.2.7", NULL };
	const char *want[] = { "example.com", "www.example.com", "192.0.2.7" };

	(void)state;
	issue_one(E.ec, "example.com", sans, NULL, want, 3, true, 90 * DAY);
}

static void
test_issue_rsa(void **state)
{
	const char *sans[] = { "DNS:rsa.example.org", NULL };
	const char *want[] = { "rsa.example.org" };

	(void)state;
	issue_one(E.rsa, NULL, sans, "shortlived", want, 1, true, 160 * 3600);
}

/* A first DNS name over 64 characters cannot be the CN: empty subject,
 * critical SAN. */
static void
test_issue_long_name(void **state)
{
	static char name[128], san[140];
	const char *sans[] = { san, "IP:2001:db8::1", NULL };
	const char *want[] = { name, "2001:db8::1" };

	(void)state;
	snprintf(name, sizeof(name), "%s.example.com",
	    "a-very-long-label-that-makes-this-name-longer-than-64-chars");
	snprintf(san, sizeof(san), "DNS:%s", name);
	assert_true(strlen(name) > 64);
	issue_one(E.ec, NULL, sans, NULL, want, 2, false, 90 * DAY);
}

static void
refuse(EVP_PKEY *key, const char *cn, const char *const *sans,
    const char *profile, int rc, const char *type, const char *detail)
{
	struct ca_issue_req req = { 0 };
	struct ca_issued *is = NULL;
	struct hsmca_err err = { 0 };
	size_t len;
	unsigned char *der = t_csr(key, cn, sans, &len);

	req.csr_der = der;
	req.csr_len = len;
	req.profile = profile;
	assert_int_equal(ca_issue(E.ca, &req, &is, &err), rc);
	print_message("  %s: %s\n", err.type, err.detail);
	assert_null(is);
	assert_string_equal(err.type, type);
	if (detail != NULL)
		assert_non_null(strstr(err.detail, detail));
	free(der);
}

static void
test_refusals(void **state)
{
	const char *ok[] = { "DNS:ok.example", NULL };
	const char *bad[] = { "DNS:bad_name.example", NULL };
	const char *mail[] = { "email:a@example.com", NULL };
	EVP_PKEY *small = t_key("rsa:1024");

	(void)state;
	refuse(E.ec, NULL, ok, "x", HSMCA_ENOTFOUND, "malformed",
	    "unknown profile \"x\"; configured: dv, shortlived");
	refuse(E.ec, NULL, bad, NULL, HSMCA_EPOLICY, "rejectedIdentifier",
	    "bad_name.example");
	refuse(E.ec, NULL, mail, NULL, HSMCA_EINVAL, "badCSR", NULL);
	refuse(small, NULL, ok, NULL, HSMCA_EPOLICY, "badPublicKey", "1024");
	EVP_PKEY_free(small);
}

static int64_t
clock_2029(void *arg)
{
	(void)arg;
	return 1868227200;	/* 2029-03-15T00:00:00Z: 47-day maximum */
}

/* dv (90 days) is beyond the maximum in force in 2029; shortlived is
 * not.  Nothing is stored for the refusal. */
static void
test_profile_over_max(void **state)
{
	const char *ok[] = { "DNS:future.example", NULL };
	struct ca_issue_req req = { 0 };
	struct ca_issued *is = NULL;
	struct hsmca_err err = { 0 };
	size_t len;
	unsigned char *der = t_csr(E.ec, NULL, ok, &len);

	(void)state;
	ca_set_clock(E.ca, clock_2029, NULL);
	refuse(E.ec, NULL, ok, NULL, HSMCA_EPOLICY, "malformed", "47-day");
	req.csr_der = der;
	req.csr_len = len;
	req.profile = "shortlived";
	assert_int_equal(ca_issue(E.ca, &req, &is, &err), 0);
	assert_int_equal(is->not_before, 1868227200);
	assert_int_equal(is->not_after, 1868227200 + 160 * 3600 - 1);
	ca_issued_free(is);
	ca_set_clock(E.ca, NULL, NULL);
	free(der);
}

struct worker {
	const unsigned char *der;
	size_t len;
	unsigned char serials[PER_THREAD][16];
	int failures;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		struct ca_issue_req req = { .csr_der = w->der,
		    .csr_len = w->len };
		struct ca_issued *is = NULL;
		struct hsmca_err err = { 0 };

		if (ca_issue(E.ca, &req, &is, &err) != 0) {
			w->failures++;
			fprintf(stderr, "issue: %s\n", err.detail);
			continue;
		}
		memcpy(w->serials[i], is->serial, 16);
		ca_issued_free(is);
	}
	return NULL;
}

static int
cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static void
test_threads(void **state)
{
	const char *sans[] = { "DNS:load.example", NULL };
	static struct worker w[NTHREADS];
	static unsigned char all[NTHREADS * PER_THREAD][16];
	pthread_t t[NTHREADS];
	struct hsmca_err err = { 0 };
	size_t len, problems = 99, records = 0;
	unsigned char *der = t_csr(E.ec, NULL, sans, &len);

	(void)state;
	for (int i = 0; i < NTHREADS; i++) {
		w[i].der = der;
		w[i].len = len;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
		    0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
		memcpy(all[i * PER_THREAD], w[i].serials, sizeof(w[i].serials));
	}
	qsort(all, NTHREADS * PER_THREAD, 16, cmp16);
	for (int i = 1; i < NTHREADS * PER_THREAD; i++)
		assert_true(memcmp(all[i - 1], all[i], 16) != 0);
	for (int i = 0; i < NTHREADS * PER_THREAD; i++)
		assert_int_equal(store_cert_exists(ca_store(E.ca), all[i], 16),
		    1);
	assert_int_equal(store_check(ca_store(E.ca), stderr, &problems,
	    &records, &err), 0);
	assert_int_equal(problems, 0);
	assert_true(records >= NTHREADS * PER_THREAD);
	free(der);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_certs),
		cmocka_unit_test(test_init_twice),
		cmocka_unit_test(test_state_files),
		cmocka_unit_test(test_init_interrupted),
		cmocka_unit_test(test_issue_ec),
		cmocka_unit_test(test_issue_rsa),
		cmocka_unit_test(test_issue_long_name),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_profile_over_max),
		cmocka_unit_test(test_threads),
	};

	if (argc > 1)
		key_type_name = argv[1];
	/* The PIN comes from STATE/token.pin, never from the caller's env. */
	unsetenv("HSMCA_PIN");
	return cmocka_run_group_tests(tests, setup, teardown);
}
