/*
 * tests/protocol/test_acme_errors.c - the ACME server's refusals, one
 * case per problem type (RFC 8555 6.7) and per JWS rule (6.2-6.5): each
 * checks the HTTP status, the problem type and, where the RFC wants
 * them, the extra members (algorithms, subproblems with identifiers),
 * and that the refusal changed nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/pem.h>

#include "protocol/jws.h"
#include "tests/ca/tutil.h"
#include "tests/protocol/acmefix.h"

static struct afx F;
static EVP_PKEY *K1, *K2;	/* two accounts */
static char *KID1, *KID2;

static int
group_setup(void **state)
{
	(void)state;
	if (afx_setup(&F, NULL) != 0)
		return -1;
	K1 = t_key("ec:P-256");
	K2 = t_key("ec:P-256");
	if (K1 == NULL || K2 == NULL || afx_account(&F, K1, &KID1) != 0 ||
	    afx_account(&F, K2, &KID2) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	afx_teardown(&F);
	EVP_PKEY_free(K1);
	EVP_PKEY_free(K2);
	free(KID1);
	free(KID2);
	return 0;
}

/* Assert a problem of `type` with `status`; frees r. */
static void
want(struct ac_resp *r, long status, const char *type)
{
	char *nonce = ac_header(r, "Replay-Nonce");

	if (r->status != status || strcmp(ac_problem(r), type) != 0)
		print_error("got %ld %s\n", r->status, r->body);
	assert_int_equal(r->status, status);
	assert_string_equal(ac_problem(r), type);
	assert_true(strstr(r->headers, "application/problem+json") != NULL);
	/* 6.5: every error carries a fresh nonce for the retry. */
	assert_non_null(nonce);
	free(nonce);
	ac_resp_free(r);
}

static void
url_of(char *out, size_t len, const char *path)
{
	afx_url(&F, out, len, path);
}

static void
test_bad_nonce(void **state)
{
	char url[256], *body;
	struct ac_resp r;

	(void)state;
	url_of(url, sizeof(url), "/acme/new-order");
	/* A nonce this server never issued. */
	snprintf(F.c.nonce, sizeof(F.c.nonce), "AAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(ac_post(&F.c, K1, KID1, url, "{\"identifiers\":"
	    "[{\"type\":\"dns\",\"value\":\"localhost\"}]}", &r), 0);
	want(&r, 400, "badNonce");
	/* A replayed nonce: the same signed request twice. */
	body = ac_sign(&F.c, K1, KID1, url, "{\"identifiers\":[{\"type\":"
	    "\"dns\",\"value\":\"localhost\"}]}");
	assert_non_null(body);
	assert_int_equal(ac_post_raw(&F.c, url, "application/jose+json",
	    body, &r), 0);
	assert_int_equal(r.status, 201);
	ac_resp_free(&r);
	assert_int_equal(ac_post_raw(&F.c, url, "application/jose+json",
	    body, &r), 0);
	want(&r, 400, "badNonce");
	free(body);
}

static void
test_content_type(void **state)
{
	char url[256], *body;
	struct ac_resp r;

	(void)state;
	url_of(url, sizeof(url), "/acme/new-order");
	body = ac_sign(&F.c, K1, KID1, url, "{}");
	assert_int_equal(ac_post_raw(&F.c, url, "application/json", body,
	    &r), 0);
	want(&r, 415, "malformed");
	free(body);
}

static void
test_malformed(void **state)
{
	static const char *const payloads[] = {
		"[1]",				/* not an object */
		"{\"identifiers\":[]}",		/* empty */
		"{\"identifiers\":\"localhost\"}",
		"{\"identifiers\":[{\"type\":\"dns\"}]}",
		"{\"a\":1,\"a\":2}",		/* duplicate member */
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"localhost\"}],"
		    "\"profile\":\"nosuch\"}",	/* unknown profile */
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"localhost\"}],"
		    "\"notAfter\":\"2030-01-01T00:00:00Z\"}",
		"{\"identifiers\":[{\"type\":\"ip\",\"value\":\"1.2.3\"}]}",
		"not json",
	};
	char url[256];
	struct ac_resp r;
	size_t i;

	(void)state;
	url_of(url, sizeof(url), "/acme/new-order");
	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		print_message("  %s\n", payloads[i]);
		assert_int_equal(ac_post(&F.c, K1, KID1, url, payloads[i],
		    &r), 0);
		want(&r, 400, "malformed");
	}
	/* A JWS in the compact serialization. */
	assert_int_equal(ac_post_raw(&F.c, url, "application/jose+json",
	    "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", &r), 0);
	want(&r, 400, "malformed");
	/* newAccount with "kid" instead of "jwk". */
	url_of(url, sizeof(url), "/acme/new-account");
	assert_int_equal(ac_post(&F.c, K1, KID1, url, "{}", &r), 0);
	want(&r, 400, "malformed");
	/* newOrder with "jwk" instead of "kid". */
	url_of(url, sizeof(url), "/acme/new-order");
	assert_int_equal(ac_post(&F.c, K1, NULL, url, "{}", &r), 0);
	want(&r, 400, "malformed");
}

static void
test_url_mismatch(void **state)
{
	char url[256], other[256], *body;
	struct ac_resp r;

	(void)state;
	url_of(url, sizeof(url), "/acme/new-order");
	url_of(other, sizeof(other), "/acme/new-account");
	body = ac_sign(&F.c, K1, KID1, other, "{}");
	assert_int_equal(ac_post_raw(&F.c, url, "application/jose+json",
	    body, &r), 0);
	want(&r, 403, "unauthorized");
	free(body);
}

/* Signed by one account's key, naming the other account. */
static void
test_kid_of_another_account(void **state)
{
	char url[256];
	struct ac_resp r;

	(void)state;
	url_of(url, sizeof(url), "/acme/new-order");
	assert_int_equal(ac_post(&F.c, K1, KID2, url, "{\"identifiers\":"
	    "[{\"type\":\"dns\",\"value\":\"localhost\"}]}", &r), 0);
	want(&r, 400, "malformed");
	/* And the account resource of the other account. */
	assert_int_equal(ac_post(&F.c, K1, KID1, KID2, NULL, &r), 0);
	want(&r, 403, "unauthorized");
}

static void
test_other_accounts_order(void **state)
{
	char *ourl;
	json_t *order;
	struct ac_resp r;
	const char *az;

	(void)state;
	assert_int_equal(afx_order(&F, K2, KID2, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	assert_int_equal(ac_post(&F.c, K1, KID1, ourl, NULL, &r), 0);
	want(&r, 403, "unauthorized");
	az = json_string_value(json_array_get(json_object_get(order,
	    "authorizations"), 0));
	assert_int_equal(ac_post(&F.c, K1, KID1, az, NULL, &r), 0);
	want(&r, 403, "unauthorized");
	/* The owner still reads it. */
	assert_int_equal(ac_post(&F.c, K2, KID2, ourl, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	ac_resp_free(&r);
	/* An id that does not exist: 404. */
	{
		char url[256];

		url_of(url, sizeof(url), "/acme/order/12345");
		assert_int_equal(ac_post(&F.c, K1, KID1, url, NULL, &r), 0);
		want(&r, 404, "malformed");
	}
	free(ourl);
	json_decref(order);
}

static void
test_account_does_not_exist(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	char url[256], kid[256];
	struct ac_resp r;

	(void)state;
	url_of(url, sizeof(url), "/acme/new-account");
	assert_int_equal(ac_post(&F.c, k, NULL, url,
	    "{\"onlyReturnExisting\":true}", &r), 0);
	want(&r, 400, "accountDoesNotExist");
	url_of(url, sizeof(url), "/acme/new-order");
	url_of(kid, sizeof(kid), "/acme/acct/4242");
	assert_int_equal(ac_post(&F.c, k, kid, url, "{}", &r), 0);
	want(&r, 400, "accountDoesNotExist");
	EVP_PKEY_free(k);
}

/* A JWS with alg "none" / "HS256", assembled by hand. */
static char *
unsigned_jws(const char *alg, const char *url)
{
	json_t *jwk = NULL, *hdr;
	char *h, *hb, *out;

	jwk_from_pkey(K1, &jwk, NULL);
	hdr = json_pack("{s:s, s:o, s:s, s:s}", "alg", alg, "jwk", jwk,
	    "nonce", F.c.nonce, "url", url);
	h = json_dumps(hdr, JSON_COMPACT);
	hb = b64url_encode((unsigned char *)h, strlen(h));
	out = malloc(strlen(hb) + 128);
	sprintf(out, "{\"protected\":\"%s\",\"payload\":\"e30\","
	    "\"signature\":\"%s\"}", hb,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	json_decref(hdr);
	free(h);
	free(hb);
	return out;
}

static void
test_bad_signature_algorithm(void **state)
{
	static const char *const algs[] = { "none", "HS256", "RS1" };
	char url[256], nurl[256], *body;
	struct ac_resp r;
	json_t *list;
	size_t i;

	(void)state;
	url_of(url, sizeof(url), "/acme/new-account");
	url_of(nurl, sizeof(nurl), "/acme/new-nonce");
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		assert_int_equal(ac_get(&F.c, nurl, true, &r), 0);
		ac_resp_free(&r);
		body = unsigned_jws(algs[i], url);
		assert_int_equal(ac_post_raw(&F.c, url,
		    "application/jose+json", body, &r), 0);
		free(body);
		if (!json_is_array(json_object_get(r.json, "algorithms")))
			print_error("%s: %ld %s\n", algs[i], r.status, r.body);
		list = json_object_get(r.json, "algorithms");
		assert_true(json_is_array(list));
		assert_true(json_array_size(list) >= 4);
		want(&r, 400, "badSignatureAlgorithm");
	}
}

static void
test_bad_public_key(void **state)
{
	EVP_PKEY *weak = t_key("rsa:1024");
	char url[256];
	struct ac_resp r;

	(void)state;
	assert_non_null(weak);
	url_of(url, sizeof(url), "/acme/new-account");
	assert_int_equal(ac_post(&F.c, weak, NULL, url,
	    "{\"termsOfServiceAgreed\":true}", &r), 0);
	want(&r, 400, "badPublicKey");
	EVP_PKEY_free(weak);
}

static void
test_rejected_identifier(void **state)
{
	char url[256];
	struct ac_resp r;
	json_t *subs;

	(void)state;
	url_of(url, sizeof(url), "/acme/new-order");
	assert_int_equal(ac_post(&F.c, K1, KID1, url, "{\"identifiers\":["
	    "{\"type\":\"dns\",\"value\":\"localhost\"},"
	    "{\"type\":\"dns\",\"value\":\"bad_name.example.com\"},"
	    "{\"type\":\"dns\",\"value\":\"*.com\"},"
	    "{\"type\":\"dns\",\"value\":\"UPPER.example.com\"}]}", &r), 0);
	subs = json_object_get(r.json, "subproblems");
	assert_int_equal(json_array_size(subs), 3);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(json_array_get(subs, 0), "identifier"), "value")),
	    "bad_name.example.com");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(subs, 1), "type")),
	    "urn:ietf:params:acme:error:rejectedIdentifier");
	want(&r, 400, "rejectedIdentifier");
	/* Wildcard not left-most. */
	assert_int_equal(ac_post(&F.c, K1, KID1, url, "{\"identifiers\":["
	    "{\"type\":\"dns\",\"value\":\"a.*.example.com\"}]}", &r), 0);
	want(&r, 400, "rejectedIdentifier");
}

static void
test_unsupported_identifier(void **state)
{
	char url[256];
	struct ac_resp r;

	(void)state;
	url_of(url, sizeof(url), "/acme/new-order");
	assert_int_equal(ac_post(&F.c, K1, KID1, url, "{\"identifiers\":["
	    "{\"type\":\"email\",\"value\":\"a@example.com\"}]}", &r), 0);
	assert_int_equal(json_array_size(json_object_get(r.json,
	    "subproblems")), 1);
	want(&r, 400, "unsupportedIdentifier");
	/* Two kinds of refusal at once: compound. */
	assert_int_equal(ac_post(&F.c, K1, KID1, url, "{\"identifiers\":["
	    "{\"type\":\"email\",\"value\":\"a@example.com\"},"
	    "{\"type\":\"dns\",\"value\":\"-x.example.com\"}]}", &r), 0);
	assert_int_equal(json_array_size(json_object_get(r.json,
	    "subproblems")), 2);
	want(&r, 400, "compound");
}

/* The wildcard authorization: base name, wildcard true, dns-01 only. */
static void
test_wildcard_authz(void **state)
{
	char *ourl;
	json_t *order, *ch;
	struct ac_resp r;

	(void)state;
	assert_int_equal(afx_order(&F, K1, KID1, "[{\"type\":\"dns\","
	    "\"value\":\"*.example.com\"}]", &ourl, &order), 201);
	assert_int_equal(ac_post(&F.c, K1, KID1, json_string_value(
	    json_array_get(json_object_get(order, "authorizations"), 0)),
	    NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    r.json, "identifier"), "value")), "example.com");
	assert_true(json_is_true(json_object_get(r.json, "wildcard")));
	ch = json_object_get(r.json, "challenges");
	assert_int_equal(json_array_size(ch), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(ch, 0), "type")), "dns-01");
	ac_resp_free(&r);
	free(ourl);
	json_decref(order);
}

static void
test_order_not_ready_and_bad_csr(void **state)
{
	static const char *const sans[] = { "DNS:localhost", NULL };
	static const char *const other[] = { "DNS:localhost",
	    "DNS:example.com", NULL };
	EVP_PKEY *ck = t_key("ec:P-256");
	char *ourl;
	json_t *order;
	struct ac_resp r;

	(void)state;
	assert_int_equal(afx_order(&F, K1, KID1, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	assert_int_equal(afx_finalize(&F, K1, KID1, order, ck, sans, &r), 400);
	want(&r, 400, "orderNotReady");
	assert_int_equal(afx_authorize(&F, K1, KID1, order, false), 0);
	/* Names differ from the order. */
	assert_int_equal(afx_finalize(&F, K1, KID1, order, ck, other, &r),
	    400);
	want(&r, 400, "badCSR");
	/* The account key as certificate key. */
	assert_int_equal(afx_finalize(&F, K1, KID1, order, K1, sans, &r), 400);
	want(&r, 400, "badCSR");
	/* Not base64url. */
	assert_int_equal(ac_post(&F.c, K1, KID1, json_string_value(
	    json_object_get(order, "finalize")), "{\"csr\":\"a+b/\"}", &r), 0);
	want(&r, 400, "badCSR");
	/* Still ready after the refusals; then it finalizes. */
	assert_int_equal(afx_finalize(&F, K1, KID1, order, ck, sans, &r), 200);
	ac_resp_free(&r);
	/* Once valid it cannot be finalized again. */
	assert_int_equal(afx_finalize(&F, K1, KID1, order, ck, sans, &r), 400);
	want(&r, 400, "orderNotReady");
	free(ourl);
	json_decref(order);
	EVP_PKEY_free(ck);
}

static void
test_contacts(void **state)
{
	static const struct {
		const char *contact;
		const char *type;
	} cases[] = {
		{ "\"tel:+1555\"", "unsupportedContact" },
		{ "\"https://example.com\"", "unsupportedContact" },
		{ "\"mailto:a@example.com?subject=x\"", "invalidContact" },
		{ "\"mailto:a@example.com,b@example.com\"", "invalidContact" },
		{ "\"mailto:example.com\"", "invalidContact" },
		{ "\"mailto:a@localhost\"", "invalidContact" },
		{ "\"mailto:a b@example.com\"", "invalidContact" },
		{ "1", "malformed" },
	};
	EVP_PKEY *k = t_key("ec:P-256");
	char url[256], payload[256];
	struct ac_resp r;
	size_t i;

	(void)state;
	url_of(url, sizeof(url), "/acme/new-account");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("  %s\n", cases[i].contact);
		snprintf(payload, sizeof(payload), "{\"contact\":[%s]}",
		    cases[i].contact);
		assert_int_equal(ac_post(&F.c, k, NULL, url, payload, &r), 0);
		want(&r, 400, cases[i].type);
	}
	/* Nothing was created for the key. */
	assert_int_equal(ac_post(&F.c, k, NULL, url,
	    "{\"onlyReturnExisting\":true}", &r), 0);
	want(&r, 400, "accountDoesNotExist");
	EVP_PKEY_free(k);
}

static void
test_incorrect_response(void **state)
{
	char *ourl;
	json_t *order, *o2, *err;

	(void)state;
	assert_int_equal(afx_order(&F, K1, KID1, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	assert_int_equal(afx_authorize(&F, K1, KID1, order, true), -1);
	o2 = afx_poll(&F, K1, KID1, ourl);
	assert_non_null(o2);
	assert_string_equal(json_string_value(json_object_get(o2, "status")),
	    "invalid");
	err = json_object_get(o2, "error");
	assert_string_equal(json_string_value(json_object_get(err, "type")),
	    "urn:ietf:params:acme:error:incorrectResponse");
	json_decref(o2);
	free(ourl);
	json_decref(order);
}

/* 127.0.0.2 is loopback, but nothing listens there. */
static void
test_connection(void **state)
{
	char *ourl;
	json_t *order, *o2, *err;

	(void)state;
	assert_int_equal(afx_order(&F, K1, KID1, "[{\"type\":\"ip\","
	    "\"value\":\"127.0.0.2\"}]", &ourl, &order), 201);
	assert_int_equal(afx_authorize(&F, K1, KID1, order, false), -1);
	o2 = afx_poll(&F, K1, KID1, ourl);
	assert_non_null(o2);
	assert_string_equal(json_string_value(json_object_get(o2, "status")),
	    "invalid");
	err = json_object_get(o2, "error");
	assert_string_equal(json_string_value(json_object_get(err, "type")),
	    "urn:ietf:params:acme:error:connection");
	json_decref(o2);
	free(ourl);
	json_decref(order);
}

static void
test_revocation_refusals(void **state)
{
	static const char *const sans[] = { "DNS:localhost", NULL };
	EVP_PKEY *ck = t_key("ec:P-256");
	char *ourl, *b64, url[256], payload[2048];
	json_t *order;
	struct ac_resp r;
	const char *certurl;
	unsigned char *der = NULL;
	BIO *b;
	X509 *x;
	int n;

	(void)state;
	assert_int_equal(afx_order(&F, K1, KID1, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	assert_int_equal(afx_authorize(&F, K1, KID1, order, false), 0);
	assert_int_equal(afx_finalize(&F, K1, KID1, order, ck, sans, &r), 200);
	certurl = json_string_value(json_object_get(r.json, "certificate"));
	snprintf(url, sizeof(url), "%s", certurl);
	ac_resp_free(&r);
	/* Another account may not download it. */
	assert_int_equal(ac_post(&F.c, K2, KID2, url, NULL, &r), 0);
	want(&r, 403, "unauthorized");
	assert_int_equal(ac_post(&F.c, K1, KID1, url, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	b = BIO_new_mem_buf(r.body, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ac_resp_free(&r);
	assert_non_null(x);
	n = i2d_X509(x, &der);
	X509_free(x);
	b64 = ac_b64(der, (size_t)n);
	OPENSSL_free(der);
	afx_url(&F, url, sizeof(url), "/acme/revoke-cert");
	/* certificateHold is not a subscriber's reason; 99 is none. */
	snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\","
	    "\"reason\":6}", b64);
	assert_int_equal(ac_post(&F.c, K1, KID1, url, payload, &r), 0);
	want(&r, 400, "badRevocationReason");
	snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\","
	    "\"reason\":99}", b64);
	assert_int_equal(ac_post(&F.c, K1, KID1, url, payload, &r), 0);
	want(&r, 400, "badRevocationReason");
	/* Another account (no authorizations): unauthorized. */
	snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\"}", b64);
	assert_int_equal(ac_post(&F.c, K2, KID2, url, payload, &r), 0);
	want(&r, 403, "unauthorized");
	/* A foreign jwk: unauthorized. */
	assert_int_equal(ac_post(&F.c, K2, NULL, url, payload, &r), 0);
	want(&r, 403, "unauthorized");
	/* The certificate's own key may revoke; then alreadyRevoked. */
	assert_int_equal(ac_post(&F.c, ck, NULL, url, payload, &r), 0);
	assert_int_equal(r.status, 200);
	ac_resp_free(&r);
	assert_int_equal(ac_post(&F.c, K1, KID1, url, payload, &r), 0);
	want(&r, 400, "alreadyRevoked");
	free(b64);
	free(ourl);
	json_decref(order);
	EVP_PKEY_free(ck);
}

/* Deactivated accounts are refused (7.3.6); run last for K2. */
static void
test_deactivated(void **state)
{
	char url[256];
	struct ac_resp r;

	(void)state;
	assert_int_equal(ac_post(&F.c, K2, KID2, KID2,
	    "{\"status\":\"revoked\"}", &r), 0);
	want(&r, 400, "malformed");
	assert_int_equal(ac_post(&F.c, K2, KID2, KID2,
	    "{\"status\":\"deactivated\"}", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "status")), "deactivated");
	ac_resp_free(&r);
	url_of(url, sizeof(url), "/acme/new-order");
	assert_int_equal(ac_post(&F.c, K2, KID2, url, "{\"identifiers\":"
	    "[{\"type\":\"dns\",\"value\":\"localhost\"}]}", &r), 0);
	want(&r, 403, "unauthorized");
	url_of(url, sizeof(url), "/acme/new-account");
	assert_int_equal(ac_post(&F.c, K2, NULL, url, "{}", &r), 0);
	want(&r, 403, "unauthorized");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_nonce),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_url_mismatch),
		cmocka_unit_test(test_kid_of_another_account),
		cmocka_unit_test(test_other_accounts_order),
		cmocka_unit_test(test_account_does_not_exist),
		cmocka_unit_test(test_bad_signature_algorithm),
		cmocka_unit_test(test_bad_public_key),
		cmocka_unit_test(test_rejected_identifier),
		cmocka_unit_test(test_unsupported_identifier),
		cmocka_unit_test(test_wildcard_authz),
		cmocka_unit_test(test_order_not_ready_and_bad_csr),
		cmocka_unit_test(test_contacts),
		cmocka_unit_test(test_incorrect_response),
		cmocka_unit_test(test_connection),
		cmocka_unit_test(test_revocation_refusals),
		cmocka_unit_test(test_deactivated),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
