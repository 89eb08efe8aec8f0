/*
 * tests/protocol/test_acme_flow.c - the ACME server end to end over
 * loopback: directory and nonces, an issuance for "localhost" and
 * 127.0.0.1 validated with http-01 against an in-test responder, the
 * certificate checked from the outside, revocation, account keys of
 * every accepted algorithm, restarts mid-order (the order continues;
 * a challenge left processing is requeued by acme_start()), and the
 * certificate URL after the sweep removed its order.
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

#include <arpa/inet.h>
#include <pthread.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "protocol/jws.h"
#include "store/store_acme.h"
#include "tests/ca/tutil.h"
#include "tests/protocol/acmefix.h"

static struct afx F;

static int
group_setup(void **state)
{
	(void)state;
	return afx_setup(&F, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	afx_teardown(&F);
	return 0;
}

static bool
has_header(const struct ac_resp *r, const char *name, const char *part)
{
	char *v = ac_header(r, name);
	bool ok = v != NULL && (part == NULL || strstr(v, part) != NULL);

	free(v);
	return ok;
}

static void
test_directory_and_nonce(void **state)
{
	struct ac_resp r;
	char url[256], *n1, *n2;
	json_t *meta;

	(void)state;
	afx_url(&F, url, sizeof(url), "/directory");
	assert_int_equal(ac_get(&F.c, url, false, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	afx_url(&F, url, sizeof(url), "/acme/new-order");
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "newOrder")), url);
	meta = json_object_get(r.json, "meta");
	assert_non_null(json_object_get(json_object_get(meta, "profiles"),
	    "dv"));
	assert_non_null(json_object_get(json_object_get(meta, "profiles"),
	    "shortlived"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    meta, "caaIdentities"), 0)), "hsmca.test");
	assert_true(json_is_false(json_object_get(meta,
	    "externalAccountRequired")));
	assert_true(has_header(&r, "Replay-Nonce", NULL));
	assert_true(has_header(&r, "Link", "rel=\"index\""));
	ac_resp_free(&r);

	/* newNonce: HEAD 200, GET 204, no-store, a fresh nonce each. */
	afx_url(&F, url, sizeof(url), "/acme/new-nonce");
	assert_int_equal(ac_get(&F.c, url, true, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Cache-Control", "no-store"));
	n1 = ac_header(&r, "Replay-Nonce");
	ac_resp_free(&r);
	assert_int_equal(ac_get(&F.c, url, false, &r), 0);
	assert_int_equal(r.status, 204);
	assert_true(has_header(&r, "Cache-Control", "no-store"));
	n2 = ac_header(&r, "Replay-Nonce");
	ac_resp_free(&r);
	assert_non_null(n1);
	assert_non_null(n2);
	assert_string_not_equal(n1, n2);
	free(n1);
	free(n2);
}

/* The leaf chains to the root and names exactly `names`. */
static void
check_chain(const char *pem, const char *const *names, size_t n)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
	X509 *inter = PEM_read_bio_X509(b, NULL, NULL, NULL);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	GENERAL_NAMES *gens;
	size_t i;

	assert_non_null(leaf);
	assert_non_null(inter);
	assert_int_equal(X509_cmp(inter, ca_issuing_cert(F.ca)), 0);
	X509_STORE_add_cert(st, ca_root_cert(F.ca));
	sk_X509_push(chain, inter);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, chain), 1);
	assert_int_equal(X509_verify_cert(ctx), 1);
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), (int)n);
	for (int k = 0; k < sk_GENERAL_NAME_num(gens); k++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, k);
		char text[64] = "";
		bool found = false;

		if (g->type == GEN_DNS)
			snprintf(text, sizeof(text), "%.*s",
			    ASN1_STRING_length(g->d.dNSName),
			    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		else if (g->type == GEN_IPADD && g->d.iPAddress->length == 4)
			inet_ntop(AF_INET, g->d.iPAddress->data, text,
			    sizeof(text));
		for (i = 0; i < n; i++)
			found = found || strcmp(text, names[i]) == 0;
		print_message("  SAN %s\n", text);
		assert_true(found);
	}
	GENERAL_NAMES_free(gens);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_free(chain);
	X509_free(leaf);
	X509_free(inter);
	BIO_free(b);
}

/* Account, order, http-01, finalize, download; returns the cert DER. */
static unsigned char *
issue(EVP_PKEY *acct, const char *cert_key, char **kid_out, size_t *der_len)
{
	static const char *const sans[] = { "DNS:localhost", "IP:127.0.0.1",
	    NULL };
	static const char *const names[] = { "localhost", "127.0.0.1" };
	EVP_PKEY *ck = t_key(cert_key);
	char *kid, *ourl;
	json_t *order, *o2;
	struct ac_resp r;
	struct store_stats st0, st1;
	const char *certurl;
	unsigned char *der = NULL;
	BIO *b;
	X509 *x;

	assert_non_null(ck);
	assert_int_equal(afx_account(&F, acct, &kid), 0);
	assert_int_equal(afx_order(&F, acct, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"},{\"type\":\"ip\",\"value\":"
	    "\"127.0.0.1\"}]", &ourl, &order), 201);
	assert_non_null(ourl);
	assert_string_equal(json_string_value(json_object_get(order,
	    "status")), "pending");
	assert_int_equal(json_array_size(json_object_get(order,
	    "authorizations")), 2);
	assert_int_equal(afx_authorize(&F, acct, kid, order, false), 0);
	o2 = afx_poll(&F, acct, kid, ourl);
	assert_non_null(o2);
	assert_string_equal(json_string_value(json_object_get(o2, "status")),
	    "ready");
	json_decref(o2);
	assert_int_equal(store_stats(ca_store(F.ca), &st0), 0);
	assert_int_equal(afx_finalize(&F, acct, kid, order, ck, sans, &r),
	    200);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "status")), "valid");
	/* The certificate record and the valid order: one store write, so
	 * no crash leaves the one without the other. */
	assert_int_equal(store_stats(ca_store(F.ca), &st1), 0);
	assert_true(st1.writes == st0.writes + 1);
	certurl = json_string_value(json_object_get(r.json, "certificate"));
	assert_non_null(certurl);
	{
		char *cu = strdup(certurl);

		ac_resp_free(&r);
		assert_int_equal(ac_post(&F.c, acct, kid, cu, NULL, &r), 0);
		free(cu);
	}
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Content-Type",
	    "application/pem-certificate-chain"));
	check_chain(r.body, names, 2);
	b = BIO_new_mem_buf(r.body, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	assert_non_null(x);
	{
		int n = i2d_X509(x, &der);
		assert_true(n > 0);
		*der_len = (size_t)n;
	}
	X509_free(x);
	BIO_free(b);
	ac_resp_free(&r);
	free(ourl);
	json_decref(order);
	EVP_PKEY_free(ck);
	*kid_out = kid;
	return der;
}

static void
revoke(EVP_PKEY *key, const char *kid, const unsigned char *der, size_t len,
    struct ac_resp *r)
{
	char url[256], *b64 = ac_b64(der, len), *payload;

	assert_non_null(b64);
	payload = malloc(strlen(b64) + 64);
	sprintf(payload, "{\"certificate\":\"%s\",\"reason\":4}", b64);
	afx_url(&F, url, sizeof(url), "/acme/revoke-cert");
	assert_int_equal(ac_post(&F.c, key, kid, url, payload, r), 0);
	free(payload);
	free(b64);
}

static void
test_issue_and_revoke(void **state)
{
	EVP_PKEY *acct = t_key("ec:P-256");
	struct ac_resp r;
	unsigned char *der;
	size_t len;
	char *kid;
	struct store_cert *rec = NULL;
	const unsigned char *p;
	X509 *x;

	(void)state;
	der = issue(acct, "ec:P-256", &kid, &len);
	/* The store holds it under this account. */
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	assert_int_equal(store_cert_get(ca_store(F.ca),
	    X509_get0_serialNumber(x)->data,
	    (size_t)X509_get0_serialNumber(x)->length, &rec, NULL), 0);
	assert_true(rec->account_id != 0);
	assert_int_equal(rec->status, STORE_CERT_ISSUED);
	store_cert_free(rec);
	revoke(acct, kid, der, len, &r);
	assert_int_equal(r.status, 200);
	ac_resp_free(&r);
	assert_int_equal(store_cert_get(ca_store(F.ca),
	    X509_get0_serialNumber(x)->data,
	    (size_t)X509_get0_serialNumber(x)->length, &rec, NULL), 0);
	assert_int_equal(rec->status, STORE_CERT_REVOKED);
	assert_int_equal(rec->revoke_reason, 4);
	store_cert_free(rec);
	/* Twice: alreadyRevoked. */
	revoke(acct, kid, der, len, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(ac_problem(&r), "alreadyRevoked");
	ac_resp_free(&r);
	X509_free(x);
	free(der);
	free(kid);
	EVP_PKEY_free(acct);
}

/* Every accepted account key algorithm: RS256, ES256, ES384, EdDSA. */
static void
test_account_algorithms(void **state)
{
	static const char *const specs[] = { "rsa:2048", "ec:P-256",
	    "ec:P-384", "ed25519" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		EVP_PKEY *k = t_key(specs[i]);
		char *kid, *kid2, *ourl;
		json_t *order;

		print_message("  account key %s\n", specs[i]);
		assert_non_null(k);
		assert_int_equal(afx_account(&F, k, &kid), 0);
		/* The same key again: the same account. */
		assert_int_equal(afx_account(&F, k, &kid2), 0);
		assert_string_equal(kid, kid2);
		assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\","
		    "\"value\":\"localhost\"}]", &ourl, &order), 201);
		assert_int_equal(afx_authorize(&F, k, kid, order, false), 0);
		free(ourl);
		json_decref(order);
		free(kid);
		free(kid2);
		EVP_PKEY_free(k);
	}
}

/* An RSA account key and an RSA certificate key, the uacme way. */
static void
test_issue_rsa(void **state)
{
	EVP_PKEY *acct = t_key("rsa:2048");
	unsigned char *der;
	size_t len;
	char *kid;

	(void)state;
	der = issue(acct, "rsa:2048", &kid, &len);
	assert_non_null(der);
	free(der);
	free(kid);
	EVP_PKEY_free(acct);
}

/* Stop everything once the order is ready, start again, finalize. */
static void
test_restart_mid_order(void **state)
{
	static const char *const sans[] = { "DNS:localhost", NULL };
	EVP_PKEY *acct = t_key("ec:P-256"), *ck = t_key("ec:P-256");
	char *kid, *ourl;
	json_t *order, *o2;
	struct ac_resp r;

	(void)state;
	assert_int_equal(afx_account(&F, acct, &kid), 0);
	assert_int_equal(afx_order(&F, acct, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	assert_int_equal(afx_authorize(&F, acct, kid, order, false), 0);
	afx_stop(&F);
	assert_int_equal(afx_start(&F), 0);
	o2 = afx_poll(&F, acct, kid, ourl);
	assert_non_null(o2);
	assert_string_equal(json_string_value(json_object_get(o2, "status")),
	    "ready");
	json_decref(o2);
	assert_int_equal(afx_finalize(&F, acct, kid, order, ck, sans, &r),
	    200);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "status")), "valid");
	ac_resp_free(&r);
	free(ourl);
	free(kid);
	json_decref(order);
	EVP_PKEY_free(acct);
	EVP_PKEY_free(ck);
}

/*
 * A challenge accepted while no worker runs is processing and marked in
 * the store; a restart requeues it and it completes.
 */
/* Poll `url` until it is no longer pending or processing: valid. */
static void
poll_valid(EVP_PKEY *key, const char *kid, const char *url)
{
	json_t *done = afx_poll(&F, key, kid, url);

	assert_non_null(done);
	assert_string_equal(json_string_value(json_object_get(done,
	    "status")), "valid");
	json_decref(done);
}

/*
 * Restart without validation workers, make an account (*kid) and an
 * order for localhost (*ourl, *order) and answer the http-01 challenge
 * (the responder serves the right key authorization): the challenge
 * stays "processing" and the server stays stopped.  *authz holds the
 * authorization's answer (free with ac_resp_free()); *aurl and *curl
 * point into *order and *authz.
 */
static void
http01_processing(EVP_PKEY *acct, char **kid, char **ourl, json_t **order,
    struct ac_resp *authz, const char **aurl, const char **curl)
{
	char thumb[JWK_THUMBPRINT_LEN + 1], ka[160];
	const char *token = NULL;
	struct ac_resp r;
	json_t *ch;
	size_t k;

	afx_stop(&F);
	F.no_workers = true;
	assert_int_equal(afx_start(&F), 0);
	assert_int_equal(afx_account(&F, acct, kid), 0);
	assert_int_equal(afx_order(&F, acct, *kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", ourl, order), 201);
	*curl = NULL;
	*aurl = json_string_value(json_array_get(json_object_get(*order,
	    "authorizations"), 0));
	assert_int_equal(ac_post(&F.c, acct, *kid, *aurl, NULL, authz), 0);
	json_array_foreach(json_object_get(authz->json, "challenges"), k,
	    ch) {
		if (strcmp(json_string_value(json_object_get(ch, "type")),
		    "http-01") == 0) {
			token = json_string_value(json_object_get(ch, "token"));
			*curl = json_string_value(json_object_get(ch, "url"));
		}
	}
	assert_non_null(token);
	assert_int_equal(jwk_thumbprint(acct, thumb, NULL), 0);
	snprintf(ka, sizeof(ka), "%s.%s", token, thumb);
	afx_serve(&F, token, ka);
	assert_int_equal(ac_post(&F.c, acct, *kid, *curl, "{}", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "status")), "processing");
	assert_true(has_header(&r, "Link", "rel=\"up\""));
	assert_string_equal(json_string_value(json_object_get(r.json, "url")),
	    *curl);
	ac_resp_free(&r);
	afx_stop(&F);
}

static void
test_restart_requeues(void **state)
{
	EVP_PKEY *acct = t_key("ec:P-256");
	const char *aurl, *curl;
	char *kid, *ourl;
	json_t *order;
	struct ac_resp r;

	(void)state;
	http01_processing(acct, &kid, &ourl, &order, &r, &aurl, &curl);
	F.no_workers = false;
	assert_int_equal(afx_start(&F), 0);
	poll_valid(acct, kid, aurl);
	ac_resp_free(&r);
	json_decref(order);
	free(ourl);
	free(kid);
	EVP_PKEY_free(acct);
}

/*
 * A validation that completes after its authorization expired (here:
 * requeued at a restart once the clock is past the authz's lifetime)
 * records the challenge's outcome but leaves the authorization expired:
 * it must not turn valid with a fresh expiry (acme.authz_reuse_s).
 */
static void
test_late_result_expired_authz(void **state)
{
	EVP_PKEY *acct = t_key("ec:P-256");
	const char *aurl, *curl;
	char *kid, *ourl;
	json_t *order;
	struct ac_resp r, z;

	(void)state;
	http01_processing(acct, &kid, &ourl, &order, &r, &aurl, &curl);
	/* Past acme.order_lifetime_s (7 days): the authz has expired.
	 * With reuse on, a valid result would also renew its expiry. */
	F.now = (int64_t)time(NULL) + 8 * 86400;
	F.no_workers = false;
	assert_int_equal(config_set(F.cfg, "acme.authz_reuse_s", "2592000",
	    NULL), 0);
	assert_int_equal(afx_start(&F), 0);
	/* The requeued validation runs and succeeds... */
	poll_valid(acct, kid, curl);
	/* ...but the authorization stays expired. */
	assert_int_equal(ac_post(&F.c, acct, kid, aurl, NULL, &z), 0);
	assert_int_equal(z.status, 200);
	assert_string_equal(json_string_value(json_object_get(z.json,
	    "status")), "expired");
	ac_resp_free(&z);
	F.now = 0;
	afx_stop(&F);
	assert_int_equal(config_set(F.cfg, "acme.authz_reuse_s", "0", NULL),
	    0);
	assert_int_equal(afx_start(&F), 0);
	ac_resp_free(&r);
	json_decref(order);
	free(ourl);
	free(kid);
	EVP_PKEY_free(acct);
}

/*
 * A challenge whose validation is quick is answered with its result and
 * costs one store write: validated before it is marked processing, so
 * no mark precedes the result.
 */
static void
test_challenge_one_write(void **state)
{
	EVP_PKEY *acct = t_key("ec:P-256");
	char *kid, *ourl, thumb[JWK_THUMBPRINT_LEN + 1], ka[160];
	const char *aurl, *curl = NULL, *token = NULL;
	struct store_stats st0, st1;
	json_t *order, *ch;
	struct ac_resp r, r2;
	const char *st;
	size_t k;

	(void)state;
	assert_int_equal(afx_account(&F, acct, &kid), 0);
	assert_int_equal(afx_order(&F, acct, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	aurl = json_string_value(json_array_get(json_object_get(order,
	    "authorizations"), 0));
	assert_int_equal(ac_post(&F.c, acct, kid, aurl, NULL, &r), 0);
	json_array_foreach(json_object_get(r.json, "challenges"), k, ch) {
		if (strcmp(json_string_value(json_object_get(ch, "type")),
		    "http-01") == 0) {
			token = json_string_value(json_object_get(ch, "token"));
			curl = json_string_value(json_object_get(ch, "url"));
		}
	}
	assert_non_null(token);
	assert_int_equal(jwk_thumbprint(acct, thumb, NULL), 0);
	snprintf(ka, sizeof(ka), "%s.%s", token, thumb);
	afx_serve(&F, token, ka);
	assert_int_equal(store_stats(ca_store(F.ca), &st0), 0);
	assert_int_equal(ac_post(&F.c, acct, kid, curl, "{}", &r2), 0);
	assert_int_equal(r2.status, 200);
	assert_int_equal(store_stats(ca_store(F.ca), &st1), 0);
	st = json_string_value(json_object_get(r2.json, "status"));
	if (strcmp(st, "valid") == 0) {
		assert_true(st1.writes == st0.writes + 1);
	} else {
		/* A machine too loaded to validate within the wait: marked
		 * processing first, then the result. */
		assert_string_equal(st, "processing");
		poll_valid(acct, kid, aurl);
	}
	ac_resp_free(&r2);
	ac_resp_free(&r);
	json_decref(order);
	free(ourl);
	free(kid);
	EVP_PKEY_free(acct);
}

/* newOrder "profile" (ACME profiles extension) picks the validity. */
static void
test_profile(void **state)
{
	static const char *const sans[] = { "DNS:localhost", NULL };
	EVP_PKEY *acct = t_key("ec:P-256"), *ck = t_key("ec:P-256");
	const char *payload;
	char *kid, *ourl, url[256];
	json_t *order;
	struct ac_resp r;
	BIO *b;
	X509 *x;
	int days = 0, secs = 0;

	(void)state;
	assert_int_equal(afx_account(&F, acct, &kid), 0);
	afx_url(&F, url, sizeof(url), "/acme/new-order");
	payload = "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"localhost\"}],\"profile\":\"shortlived\"}";
	assert_int_equal(ac_post(&F.c, acct, kid, url, payload, &r), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "profile")), "shortlived");
	order = json_incref(r.json);
	ourl = ac_header(&r, "Location");
	ac_resp_free(&r);
	assert_int_equal(afx_authorize(&F, acct, kid, order, false), 0);
	assert_int_equal(afx_finalize(&F, acct, kid, order, ck, sans, &r),
	    200);
	snprintf(url, sizeof(url), "%s", json_string_value(json_object_get(
	    r.json, "certificate")));
	ac_resp_free(&r);
	assert_int_equal(ac_post(&F.c, acct, kid, url, NULL, &r), 0);
	b = BIO_new_mem_buf(r.body, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	assert_non_null(x);
	/* 160 hours, counted notBefore through notAfter inclusive. */
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)), 1);
	assert_int_equal((int64_t)days * 86400 + secs + 1, 160 * 3600);
	X509_free(x);
	BIO_free(b);
	ac_resp_free(&r);
	free(ourl);
	free(kid);
	json_decref(order);
	EVP_PKEY_free(acct);
	EVP_PKEY_free(ck);
}

/*
 * The challenge POST answers with the durable state: a quick validation
 * already valid (with "validated"), else processing with Retry-After;
 * and a second POST does not start it again.
 */
static void
test_challenge_answer(void **state)
{
	EVP_PKEY *acct = t_key("ec:P-256");
	char *kid, *ourl, thumb[JWK_THUMBPRINT_LEN + 1], ka[160], *curl;
	const char *aurl, *token = NULL, *st;
	json_t *order, *ch;
	struct ac_resp r, r2;
	size_t k;

	(void)state;
	assert_int_equal(afx_account(&F, acct, &kid), 0);
	assert_int_equal(afx_order(&F, acct, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	aurl = json_string_value(json_array_get(json_object_get(order,
	    "authorizations"), 0));
	assert_int_equal(ac_post(&F.c, acct, kid, aurl, NULL, &r), 0);
	curl = NULL;
	json_array_foreach(json_object_get(r.json, "challenges"), k, ch) {
		if (strcmp(json_string_value(json_object_get(ch, "type")),
		    "http-01") == 0) {
			token = json_string_value(json_object_get(ch, "token"));
			curl = strdup(json_string_value(json_object_get(ch,
			    "url")));
		}
	}
	assert_non_null(curl);
	assert_int_equal(jwk_thumbprint(acct, thumb, NULL), 0);
	snprintf(ka, sizeof(ka), "%s.%s", token, thumb);
	afx_serve(&F, token, ka);
	ac_resp_free(&r);
	assert_int_equal(ac_post(&F.c, acct, kid, curl, "{}", &r2), 0);
	assert_int_equal(r2.status, 200);
	st = json_string_value(json_object_get(r2.json, "status"));
	print_message("  challenge answered %s\n", st);
	if (strcmp(st, "valid") == 0) {
		assert_non_null(json_object_get(r2.json, "validated"));
	} else {
		assert_string_equal(st, "processing");
		assert_true(has_header(&r2, "Retry-After", NULL));
	}
	ac_resp_free(&r2);
	/* Again: answered as it is, nothing restarted. */
	assert_int_equal(ac_post(&F.c, acct, kid, curl, "{}", &r2), 0);
	assert_int_equal(r2.status, 200);
	st = json_string_value(json_object_get(r2.json, "status"));
	assert_true(strcmp(st, "valid") == 0 || strcmp(st, "processing") == 0);
	ac_resp_free(&r2);
	free(curl);
	free(ourl);
	free(kid);
	json_decref(order);
	EVP_PKEY_free(acct);
}

#define NRACE 4

struct racer {
	pthread_t t;
	EVP_PKEY *key;
	const char *kid;	/* NULL: newAccount with jwk */
	const char *url;
	const char *payload;
	long status;
	char *location;
};

/* One request on the racer's own client (clients are not shared). */
static void *
race_one(void *arg)
{
	struct racer *r = arg;
	struct ac c;
	struct ac_resp resp;

	ac_init(&c, F.base);
	if (ac_post(&c, r->key, r->kid, r->url, r->payload, &resp) == 0) {
		r->status = resp.status;
		r->location = ac_header(&resp, "Location");
	}
	ac_resp_free(&resp);
	return NULL;
}

static void
race(struct racer *rs)
{
	int i;

	for (i = 0; i < NRACE; i++)
		assert_int_equal(pthread_create(&rs[i].t, NULL, race_one,
		    &rs[i]), 0);
	for (i = 0; i < NRACE; i++)
		pthread_join(rs[i].t, NULL);
}

/* The same key registered at once from several connections: one
 * account (one 201, the others 200 with the same Location). */
static void
test_concurrent_new_account(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	struct racer rs[NRACE];
	char url[256];
	int i, created = 0;

	(void)state;
	afx_url(&F, url, sizeof(url), "/acme/new-account");
	memset(rs, 0, sizeof(rs));
	for (i = 0; i < NRACE; i++) {
		rs[i].key = k;
		rs[i].url = url;
		rs[i].payload = "{\"termsOfServiceAgreed\":true}";
	}
	race(rs);
	for (i = 0; i < NRACE; i++) {
		assert_true(rs[i].status == 201 || rs[i].status == 200);
		created += rs[i].status == 201;
		assert_non_null(rs[i].location);
		assert_string_equal(rs[i].location, rs[0].location);
	}
	assert_int_equal(created, 1);
	for (i = 0; i < NRACE; i++)
		free(rs[i].location);
	EVP_PKEY_free(k);
}

static int
count_cert(const struct store_cert *c, void *arg)
{
	(*(size_t *)arg)++;
	(void)c;
	return 0;
}

/* One ready order finalized at once from several connections: exactly
 * one certificate, the other requests orderNotReady. */
static void
test_concurrent_finalize(void **state)
{
	static const char *const sans[] = { "DNS:localhost", NULL };
	EVP_PKEY *acct = t_key("ec:P-256"), *ck = t_key("ec:P-256");
	struct store_cert_filter flt;
	struct racer rs[NRACE];
	char *kid, *ourl, *b64, *payload;
	unsigned char *der;
	size_t len, ncerts = 0;
	json_t *order;
	int i, ok = 0;
	int64_t acct_id;

	(void)state;
	assert_int_equal(afx_account(&F, acct, &kid), 0);
	assert_int_equal(afx_order(&F, acct, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	assert_int_equal(afx_authorize(&F, acct, kid, order, false), 0);
	der = t_csr(ck, NULL, sans, &len);
	b64 = ac_b64(der, len);
	payload = malloc(strlen(b64) + 16);
	sprintf(payload, "{\"csr\":\"%s\"}", b64);
	memset(rs, 0, sizeof(rs));
	for (i = 0; i < NRACE; i++) {
		rs[i].key = acct;
		rs[i].kid = kid;
		rs[i].url = json_string_value(json_object_get(order,
		    "finalize"));
		rs[i].payload = payload;
	}
	race(rs);
	for (i = 0; i < NRACE; i++) {
		assert_true(rs[i].status == 200 || rs[i].status == 400);
		ok += rs[i].status == 200;
		free(rs[i].location);
	}
	assert_int_equal(ok, 1);
	acct_id = strtoll(strrchr(kid, '/') + 1, NULL, 10);
	memset(&flt, 0, sizeof(flt));
	flt.account_id = (uint64_t)acct_id;
	assert_int_equal(store_cert_list(ca_store(F.ca), &flt, count_cert,
	    &ncerts, NULL), 0);
	assert_int_equal(ncerts, 1);
	free(payload);
	free(b64);
	free(der);
	free(ourl);
	free(kid);
	json_decref(order);
	EVP_PKEY_free(acct);
	EVP_PKEY_free(ck);
}

/* POST-as-GET `url` with a fresh nonce (the clock may have moved). */
static void
get_fresh(EVP_PKEY *k, const char *kid, const char *url, struct ac_resp *r)
{
	F.c.nonce[0] = '\0';
	assert_int_equal(ac_post(&F.c, k, kid, url, NULL, r), 0);
}

/*
 * Once the CA clock is past an order's lifetime plus the retention,
 * store_acme_sweep() removes it (and every order of the tests above):
 * the order and its authorization answer 404, the certificate URL still
 * serves the same chain (it reads the record by serial, not through
 * the order).
 */
static void
test_cert_url_after_sweep(void **state)
{
	static const char *const sans[] = { "DNS:localhost", NULL };
	EVP_PKEY *k = t_key("ec:P-256"), *ck = t_key("ec:P-256");
	struct store_acme_sweep sw = { 0 };
	struct store_acme_swept out;
	int64_t t0 = (int64_t)time(NULL);
	char *kid, *ourl, *zurl, *certurl, *chain;
	json_t *order;
	struct ac_resp r;

	(void)state;
	assert_int_equal(afx_account(&F, k, &kid), 0);
	assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	zurl = strdup(json_string_value(json_array_get(json_object_get(order,
	    "authorizations"), 0)));
	assert_int_equal(afx_authorize(&F, k, kid, order, false), 0);
	assert_int_equal(afx_finalize(&F, k, kid, order, ck, sans, &r), 200);
	certurl = strdup(json_string_value(json_object_get(r.json,
	    "certificate")));
	ac_resp_free(&r);
	get_fresh(k, kid, certurl, &r);
	assert_int_equal(r.status, 200);
	chain = strdup(r.body);
	ac_resp_free(&r);

	/* acme.order_lifetime_s (7 days) and a retention of 30 days. */
	F.now = t0 + 37 * 86400 + 60;
	sw.now = ca_now(F.ca);
	sw.retention = 30 * 86400;
	assert_int_equal(store_acme_sweep(ca_store(F.ca), &sw, &out, NULL),
	    0);
	assert_true(out.orders >= 1 && out.authzs >= 1);
	get_fresh(k, kid, ourl, &r);
	assert_int_equal(r.status, 404);
	ac_resp_free(&r);
	get_fresh(k, kid, zurl, &r);
	assert_int_equal(r.status, 404);
	ac_resp_free(&r);
	get_fresh(k, kid, certurl, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, chain);
	ac_resp_free(&r);
	F.now = 0;
	F.c.nonce[0] = '\0';
	free(chain);
	free(certurl);
	free(zurl);
	free(ourl);
	free(kid);
	json_decref(order);
	EVP_PKEY_free(ck);
	EVP_PKEY_free(k);
}

/* After all of the above, `hsmca db check` finds the store consistent. */
static void
test_db_check(void **state)
{
	size_t problems, records;

	(void)state;
	assert_int_equal(store_check(ca_store(F.ca), stderr, &problems,
	    &records, NULL), 0);
	assert_int_equal(problems, 0);
	assert_true(records >= 3);	/* the certificates issued above */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directory_and_nonce),
		cmocka_unit_test(test_issue_and_revoke),
		cmocka_unit_test(test_issue_rsa),
		cmocka_unit_test(test_account_algorithms),
		cmocka_unit_test(test_restart_mid_order),
		cmocka_unit_test(test_restart_requeues),
		cmocka_unit_test(test_late_result_expired_authz),
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_challenge_answer),
		cmocka_unit_test(test_concurrent_new_account),
		cmocka_unit_test(test_concurrent_finalize),
		cmocka_unit_test(test_challenge_one_write),
		cmocka_unit_test(test_cert_url_after_sweep),
		cmocka_unit_test(test_db_check),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
