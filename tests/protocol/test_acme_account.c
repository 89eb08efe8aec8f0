/*
 * tests/protocol/test_acme_account.c - accounts beyond the happy path:
 * contact update, the orders list, key rollover (RFC 8555 7.3.5),
 * External Account Binding (7.3.4), authorization deactivation and
 * reuse, and the three rate limits at their boundaries, with time
 * moved by the injectable clock.
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

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "protocol/jws.h"
#include "tests/ca/tutil.h"
#include "tests/protocol/acmefix.h"

#define EAB_KID "kid-1"
/* 32 bytes, base64url */
#define EAB_KEY "c2VjcmV0LWhtYWMta2V5LWZvci10ZXN0cy0wMTIzNDU"

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

/* Apply `set` ("key=value") and restart the server with it. */
static void
restart_with(const char *set)
{
	struct hsmca_err err = { 0 };

	afx_stop(&F);
	if (set != NULL)
		assert_int_equal(config_set_arg(F.cfg, set, &err), 0);
	assert_int_equal(afx_start(&F), 0);
}

static void
want(struct ac_resp *r, long status, const char *type)
{
	if (r->status != status || strcmp(ac_problem(r), type) != 0)
		print_error("got %ld %s\n", r->status, r->body);
	assert_int_equal(r->status, status);
	assert_string_equal(ac_problem(r), type);
	ac_resp_free(r);
}

static void
test_update_and_orders(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	char *kid, *ourl, *listurl;
	json_t *order;
	struct ac_resp r;

	(void)state;
	assert_int_equal(afx_account(&F, k, &kid), 0);
	assert_int_equal(ac_post(&F.c, k, kid, kid,
	    "{\"contact\":[\"mailto:new@example.org\"]}", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    r.json, "contact"), 0)), "mailto:new@example.org");
	listurl = strdup(json_string_value(json_object_get(r.json,
	    "orders")));
	ac_resp_free(&r);
	/* A bad contact changes nothing. */
	assert_int_equal(ac_post(&F.c, k, kid, kid,
	    "{\"contact\":[\"tel:1\"]}", &r), 0);
	want(&r, 400, "unsupportedContact");
	assert_int_equal(ac_post(&F.c, k, kid, kid, NULL, &r), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    r.json, "contact"), 0)), "mailto:new@example.org");
	ac_resp_free(&r);
	/* The orders list holds the new order. */
	assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	assert_int_equal(ac_post(&F.c, k, kid, listurl, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "orders")),
	    1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    r.json, "orders"), 0)), ourl);
	ac_resp_free(&r);
	free(listurl);
	free(ourl);
	json_decref(order);
	free(kid);
	EVP_PKEY_free(k);
}

/* The keyChange body: inner JWS by `newk` for {account, oldKey}. */
static char *
key_change_inner(EVP_PKEY *oldk, EVP_PKEY *newk, const char *kid,
    const char *url, const char *inner_url)
{
	json_t *old = NULL, *pl;
	char *pls, *inner = NULL;

	assert_int_equal(jwk_from_pkey(oldk, &old, NULL), 0);
	pl = json_pack("{s:s, s:o}", "account", kid, "oldKey", old);
	pls = json_dumps(pl, JSON_COMPACT);
	assert_int_equal(jws_sign(newk, NULL, NULL, inner_url ? inner_url :
	    url, pls, strlen(pls), &inner, NULL), 0);
	json_decref(pl);
	free(pls);
	return inner;
}

static void
test_key_change(void **state)
{
	EVP_PKEY *k1 = t_key("ec:P-256"), *k2 = t_key("rsa:2048");
	EVP_PKEY *k3 = t_key("ec:P-384");
	char *kid, *kid3, *inner, url[256], nurl[256], *loc;
	struct ac_resp r;

	(void)state;
	assert_int_equal(afx_account(&F, k1, &kid), 0);
	assert_int_equal(afx_account(&F, k3, &kid3), 0);
	afx_url(&F, url, sizeof(url), "/acme/key-change");
	afx_url(&F, nurl, sizeof(nurl), "/acme/new-account");
	/* Inner url differs from the outer one. */
	inner = key_change_inner(k1, k2, kid, url, nurl);
	assert_int_equal(ac_post(&F.c, k1, kid, url, inner, &r), 0);
	want(&r, 400, "malformed");
	free(inner);
	/* oldKey is not the account's key. */
	inner = key_change_inner(k3, k2, kid, url, NULL);
	assert_int_equal(ac_post(&F.c, k1, kid, url, inner, &r), 0);
	want(&r, 400, "malformed");
	free(inner);
	/* The new key belongs to another account: 409 with its URL. */
	inner = key_change_inner(k1, k3, kid, url, NULL);
	assert_int_equal(ac_post(&F.c, k1, kid, url, inner, &r), 0);
	assert_int_equal(r.status, 409);
	loc = ac_header(&r, "Location");
	assert_non_null(loc);
	assert_string_equal(loc, kid3);
	free(loc);
	ac_resp_free(&r);
	free(inner);
	/* The rollover. */
	inner = key_change_inner(k1, k2, kid, url, NULL);
	assert_int_equal(ac_post(&F.c, k1, kid, url, inner, &r), 0);
	assert_int_equal(r.status, 200);
	ac_resp_free(&r);
	free(inner);
	/* The new key finds the account, the old one finds nothing. */
	assert_int_equal(ac_post(&F.c, k2, NULL, nurl,
	    "{\"onlyReturnExisting\":true}", &r), 0);
	assert_int_equal(r.status, 200);
	loc = ac_header(&r, "Location");
	assert_string_equal(loc, kid);
	free(loc);
	ac_resp_free(&r);
	assert_int_equal(ac_post(&F.c, k1, NULL, nurl,
	    "{\"onlyReturnExisting\":true}", &r), 0);
	want(&r, 400, "accountDoesNotExist");
	/* Requests signed with the old key under the kid fail (the old
	 * key is EC, the account's is RSA now). */
	assert_int_equal(ac_post(&F.c, k1, kid, kid, NULL, &r), 0);
	want(&r, 400, "badSignatureAlgorithm");
	assert_int_equal(ac_post(&F.c, k2, kid, kid, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	ac_resp_free(&r);
	free(kid);
	free(kid3);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
}

/* An EAB object: HS256 over the account JWK with `key_b64`. */
static char *
eab_json(EVP_PKEY *acct, const char *kid, const char *key_b64,
    const char *url)
{
	unsigned char *key, mac[64];
	size_t klen, mlen = 0;
	json_t *jwk = NULL, *hdr;
	char *h, *hb, *jw, *pb, *signing, *sig, *out;

	assert_int_equal(b64url_decode(key_b64, strlen(key_b64), &key, &klen,
	    NULL), 0);
	jwk_from_pkey(acct, &jwk, NULL);
	jw = json_dumps(jwk, JSON_COMPACT);
	hdr = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", kid, "url",
	    url);
	h = json_dumps(hdr, JSON_COMPACT);
	hb = b64url_encode((unsigned char *)h, strlen(h));
	pb = b64url_encode((unsigned char *)jw, strlen(jw));
	signing = malloc(strlen(hb) + strlen(pb) + 2);
	sprintf(signing, "%s.%s", hb, pb);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key,
	    klen, (unsigned char *)signing, strlen(signing), mac, sizeof(mac),
	    &mlen));
	sig = b64url_encode(mac, mlen);
	out = malloc(strlen(hb) + strlen(pb) + strlen(sig) + 128);
	sprintf(out, "{\"protected\":\"%s\",\"payload\":\"%s\","
	    "\"signature\":\"%s\"}", hb, pb, sig);
	json_decref(jwk);
	json_decref(hdr);
	free(key);
	free(jw);
	free(h);
	free(hb);
	free(pb);
	free(signing);
	free(sig);
	return out;
}

static void
test_eab(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	char path[PATH_MAX + 16], url[256], payload[4096], *eab;
	struct ac_resp r;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/eab.keys", F.dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "# kid key\n%s %s\n", EAB_KID, EAB_KEY);
	fclose(fp);
	restart_with("acme.eab_required=true");
	afx_url(&F, url, sizeof(url), "/directory");
	assert_int_equal(ac_get(&F.c, url, false, &r), 0);
	assert_true(json_is_true(json_object_get(json_object_get(r.json,
	    "meta"), "externalAccountRequired")));
	ac_resp_free(&r);
	afx_url(&F, url, sizeof(url), "/acme/new-account");
	assert_int_equal(ac_post(&F.c, k, NULL, url, "{}", &r), 0);
	want(&r, 400, "externalAccountRequired");
	/* Unknown kid, wrong key, wrong url: unauthorized. */
	eab = eab_json(k, "kid-2", EAB_KEY, url);
	snprintf(payload, sizeof(payload), "{\"externalAccountBinding\":%s}",
	    eab);
	free(eab);
	assert_int_equal(ac_post(&F.c, k, NULL, url, payload, &r), 0);
	want(&r, 403, "unauthorized");
	eab = eab_json(k, EAB_KID, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    url);
	snprintf(payload, sizeof(payload), "{\"externalAccountBinding\":%s}",
	    eab);
	free(eab);
	assert_int_equal(ac_post(&F.c, k, NULL, url, payload, &r), 0);
	want(&r, 403, "unauthorized");
	/* The binding must cover this account's key. */
	{
		EVP_PKEY *other = t_key("ec:P-256");

		eab = eab_json(other, EAB_KID, EAB_KEY, url);
		snprintf(payload, sizeof(payload),
		    "{\"externalAccountBinding\":%s}", eab);
		free(eab);
		assert_int_equal(ac_post(&F.c, k, NULL, url, payload, &r), 0);
		want(&r, 400, "malformed");
		EVP_PKEY_free(other);
	}
	eab = eab_json(k, EAB_KID, EAB_KEY, url);
	snprintf(payload, sizeof(payload), "{\"externalAccountBinding\":%s}",
	    eab);
	free(eab);
	assert_int_equal(ac_post(&F.c, k, NULL, url, payload, &r), 0);
	assert_int_equal(r.status, 201);
	ac_resp_free(&r);
	restart_with("acme.eab_required=false");
	EVP_PKEY_free(k);
}

static void
test_authz_deactivate(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	char *kid, *ourl, *az;
	json_t *order, *o2;
	struct ac_resp r;

	(void)state;
	assert_int_equal(afx_account(&F, k, &kid), 0);
	assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	az = strdup(json_string_value(json_array_get(json_object_get(order,
	    "authorizations"), 0)));
	assert_int_equal(ac_post(&F.c, k, kid, az, "{\"status\":\"valid\"}",
	    &r), 0);
	want(&r, 400, "malformed");
	assert_int_equal(ac_post(&F.c, k, kid, az,
	    "{\"status\":\"deactivated\"}", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "status")), "deactivated");
	ac_resp_free(&r);
	o2 = afx_poll(&F, k, kid, ourl);
	assert_string_equal(json_string_value(json_object_get(o2, "status")),
	    "invalid");
	json_decref(o2);
	/* Twice: no longer pending or valid. */
	assert_int_equal(ac_post(&F.c, k, kid, az,
	    "{\"status\":\"deactivated\"}", &r), 0);
	want(&r, 400, "malformed");
	free(az);
	free(ourl);
	json_decref(order);
	free(kid);
	EVP_PKEY_free(k);
}

/* With acme.authz_reuse_s, a second order reuses the valid authz. */
static void
test_authz_reuse(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	char *kid, *o1, *o2;
	json_t *order1, *order2;

	(void)state;
	restart_with("acme.authz_reuse_s=3600");
	assert_int_equal(afx_account(&F, k, &kid), 0);
	assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &o1, &order1), 201);
	assert_int_equal(afx_authorize(&F, k, kid, order1, false), 0);
	assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &o2, &order2), 201);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    order1, "authorizations"), 0)), json_string_value(json_array_get(
	    json_object_get(order2, "authorizations"), 0)));
	/* Its only authorization is reused and valid: ready at once. */
	assert_string_equal(json_string_value(json_object_get(order2,
	    "status")), "ready");
	free(o1);
	free(o2);
	json_decref(order1);
	json_decref(order2);
	restart_with("acme.authz_reuse_s=0");
	/* Without reuse: a fresh authorization. */
	assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &o1, &order1), 201);
	assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &o2, &order2), 201);
	assert_string_not_equal(json_string_value(json_array_get(
	    json_object_get(order1, "authorizations"), 0)),
	    json_string_value(json_array_get(json_object_get(order2,
	    "authorizations"), 0)));
	free(o1);
	free(o2);
	json_decref(order1);
	json_decref(order2);
	free(kid);
	EVP_PKEY_free(k);
}

static long
new_order(EVP_PKEY *k, const char *kid, const char *idents,
    struct ac_resp *r)
{
	char url[256], payload[512];

	afx_url(&F, url, sizeof(url), "/acme/new-order");
	snprintf(payload, sizeof(payload), "{\"identifiers\":%s}", idents);
	assert_int_equal(ac_post(&F.c, k, kid, url, payload, r), 0);
	return r->status;
}

/* Orders per window: the limit, then one second past the window. */
static void
test_rate_orders(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	const char *id = "[{\"type\":\"dns\",\"value\":\"localhost\"}]";
	struct ac_resp r;
	char *kid, *ra;
	int64_t t0 = (int64_t)time(NULL);

	(void)state;
	restart_with("ratelimit.orders_per_window=2");
	restart_with("ratelimit.window_s=100");
	F.now = t0;
	assert_int_equal(afx_account(&F, k, &kid), 0);
	assert_int_equal(new_order(k, kid, id, &r), 201);
	ac_resp_free(&r);
	F.now = t0 + 10;
	F.c.nonce[0] = '\0';
	assert_int_equal(new_order(k, kid, id, &r), 201);
	ac_resp_free(&r);
	assert_int_equal(new_order(k, kid, id, &r), 429);
	ra = ac_header(&r, "Retry-After");
	assert_non_null(ra);
	assert_string_equal(ra, "90");
	free(ra);
	want(&r, 429, "rateLimited");
	/* At t0 + 99 the first order is still in the window. */
	F.now = t0 + 99;
	F.c.nonce[0] = '\0';
	assert_int_equal(new_order(k, kid, id, &r), 429);
	ac_resp_free(&r);
	/* At t0 + 100 it has left it. */
	F.now = t0 + 100;
	F.c.nonce[0] = '\0';
	assert_int_equal(new_order(k, kid, id, &r), 201);
	ac_resp_free(&r);
	F.now = 0;
	F.c.nonce[0] = '\0';
	restart_with("ratelimit.orders_per_window=300");
	free(kid);
	EVP_PKEY_free(k);
}

static void
test_rate_pending(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	struct ac_resp r;
	char *kid;

	(void)state;
	restart_with("ratelimit.pending_authz=3");
	assert_int_equal(afx_account(&F, k, &kid), 0);
	assert_int_equal(new_order(k, kid, "[{\"type\":\"dns\",\"value\":"
	    "\"a.example.com\"},{\"type\":\"dns\",\"value\":"
	    "\"b.example.com\"}]", &r), 201);
	ac_resp_free(&r);
	/* 2 + 2 > 3; the first order expires in acme.order_lifetime_s. */
	assert_int_equal(new_order(k, kid, "[{\"type\":\"dns\",\"value\":"
	    "\"c.example.com\"},{\"type\":\"dns\",\"value\":"
	    "\"d.example.com\"}]", &r), 429);
	{
		char *ra = ac_header(&r, "Retry-After");
		long v = ra != NULL ? strtol(ra, NULL, 10) : 0;

		assert_true(v > 604800 - 60 && v <= 604800);
		free(ra);
	}
	want(&r, 429, "rateLimited");
	/* 2 + 1 = 3 */
	assert_int_equal(new_order(k, kid, "[{\"type\":\"dns\",\"value\":"
	    "\"c.example.com\"}]", &r), 201);
	ac_resp_free(&r);
	restart_with("ratelimit.pending_authz=300");
	free(kid);
	EVP_PKEY_free(k);
}

/* Certificates per registered domain per week. */
static void
test_rate_domains(void **state)
{
	static const char *const sans[] = { "DNS:localhost", NULL };
	EVP_PKEY *k = t_key("ec:P-256"), *ck = t_key("ec:P-256");
	const char *id = "[{\"type\":\"dns\",\"value\":\"localhost\"}]";
	char *kid, *ourl;
	json_t *order;
	struct ac_resp r;
	int64_t t0 = (int64_t)time(NULL);
	int i;

	(void)state;
	restart_with("ratelimit.certs_per_domain_week=2");
	F.now = t0;
	assert_int_equal(afx_account(&F, k, &kid), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(afx_order(&F, k, kid, id, &ourl, &order),
		    201);
		assert_int_equal(afx_authorize(&F, k, kid, order, false), 0);
		assert_int_equal(afx_finalize(&F, k, kid, order, ck, sans,
		    &r), 200);
		ac_resp_free(&r);
		free(ourl);
		json_decref(order);
	}
	assert_int_equal(new_order(k, kid, id, &r), 429);
	want(&r, 429, "rateLimited");
	/* Other registered domains are not affected. */
	assert_int_equal(new_order(k, kid, "[{\"type\":\"dns\",\"value\":"
	    "\"www.example.org\"}]", &r), 201);
	ac_resp_free(&r);
	/* One second short of a week, then a week. */
	F.now = t0 + 7 * 86400 - 1;
	F.c.nonce[0] = '\0';
	assert_int_equal(new_order(k, kid, id, &r), 429);
	ac_resp_free(&r);
	F.now = t0 + 7 * 86400;
	F.c.nonce[0] = '\0';
	assert_int_equal(new_order(k, kid, id, &r), 201);
	ac_resp_free(&r);
	F.now = 0;
	F.c.nonce[0] = '\0';
	restart_with("ratelimit.certs_per_domain_week=50");
	free(kid);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ck);
}

/* acme.terms_of_service: in the directory, and agreement required. */
static void
test_terms_of_service(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	char url[256];
	struct ac_resp r;

	(void)state;
	restart_with("acme.terms_of_service=https://ca.example/tos");
	afx_url(&F, url, sizeof(url), "/directory");
	assert_int_equal(ac_get(&F.c, url, false, &r), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    r.json, "meta"), "termsOfService")), "https://ca.example/tos");
	ac_resp_free(&r);
	afx_url(&F, url, sizeof(url), "/acme/new-account");
	assert_int_equal(ac_post(&F.c, k, NULL, url, "{}", &r), 0);
	want(&r, 400, "malformed");
	assert_int_equal(ac_post(&F.c, k, NULL, url,
	    "{\"termsOfServiceAgreed\":false}", &r), 0);
	want(&r, 400, "malformed");
	assert_int_equal(ac_post(&F.c, k, NULL, url,
	    "{\"termsOfServiceAgreed\":true}", &r), 0);
	assert_int_equal(r.status, 201);
	assert_true(json_is_true(json_object_get(r.json,
	    "termsOfServiceAgreed")));
	ac_resp_free(&r);
	restart_with("acme.terms_of_service=");
	EVP_PKEY_free(k);
}

/* An order and its authorizations expire with acme.order_lifetime_s. */
static void
test_order_expiry(void **state)
{
	static const char *const sans[] = { "DNS:localhost", NULL };
	EVP_PKEY *k = t_key("ec:P-256"), *ck = t_key("ec:P-256");
	int64_t t0 = (int64_t)time(NULL);
	char *kid, *ourl, *ra;
	json_t *order, *o2;
	struct ac_resp r;

	(void)state;
	restart_with("acme.order_lifetime_s=600");
	F.now = t0;
	assert_int_equal(afx_account(&F, k, &kid), 0);
	assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\","
	    "\"value\":\"localhost\"}]", &ourl, &order), 201);
	/* Pending: Retry-After. */
	assert_int_equal(ac_post(&F.c, k, kid, ourl, NULL, &r), 0);
	ra = ac_header(&r, "Retry-After");
	assert_non_null(ra);
	free(ra);
	ac_resp_free(&r);
	assert_int_equal(afx_authorize(&F, k, kid, order, false), 0);
	/* One second before the end it is ready ... */
	F.now = t0 + 599;
	F.c.nonce[0] = '\0';
	o2 = afx_poll(&F, k, kid, ourl);
	assert_string_equal(json_string_value(json_object_get(o2, "status")),
	    "ready");
	json_decref(o2);
	/* ... at the end it is invalid and cannot be finalized. */
	F.now = t0 + 600;
	F.c.nonce[0] = '\0';
	o2 = afx_poll(&F, k, kid, ourl);
	assert_string_equal(json_string_value(json_object_get(o2, "status")),
	    "invalid");
	json_decref(o2);
	assert_int_equal(afx_finalize(&F, k, kid, order, ck, sans, &r), 400);
	want(&r, 400, "orderNotReady");
	assert_int_equal(ac_post(&F.c, k, kid, json_string_value(
	    json_array_get(json_object_get(order, "authorizations"), 0)),
	    NULL, &r), 0);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "status")), "expired");
	ac_resp_free(&r);
	F.now = 0;
	F.c.nonce[0] = '\0';
	restart_with("acme.order_lifetime_s=604800");
	free(ourl);
	json_decref(order);
	free(kid);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ck);
}

/* RFC 8555 7.6: an account holding valid authorizations for every name
 * may revoke a certificate another account ordered. */
static void
test_revoke_by_authz(void **state)
{
	static const char *const sans[] = { "DNS:localhost", NULL };
	EVP_PKEY *ka = t_key("ec:P-256"), *kb = t_key("ec:P-256");
	EVP_PKEY *ck = t_key("ec:P-256");
	char *kida, *kidb, *ourl, url[256], *b64, payload[2048];
	const char *id = "[{\"type\":\"dns\",\"value\":\"localhost\"}]";
	json_t *order;
	struct ac_resp r;
	unsigned char *der = NULL;
	BIO *b;
	X509 *x;
	int n;

	(void)state;
	assert_int_equal(afx_account(&F, ka, &kida), 0);
	assert_int_equal(afx_account(&F, kb, &kidb), 0);
	assert_int_equal(afx_order(&F, ka, kida, id, &ourl, &order), 201);
	assert_int_equal(afx_authorize(&F, ka, kida, order, false), 0);
	assert_int_equal(afx_finalize(&F, ka, kida, order, ck, sans, &r), 200);
	snprintf(url, sizeof(url), "%s", json_string_value(json_object_get(
	    r.json, "certificate")));
	ac_resp_free(&r);
	free(ourl);
	json_decref(order);
	assert_int_equal(ac_post(&F.c, ka, kida, url, NULL, &r), 0);
	b = BIO_new_mem_buf(r.body, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ac_resp_free(&r);
	assert_non_null(x);
	n = i2d_X509(x, &der);
	X509_free(x);
	b64 = ac_b64(der, (size_t)n);
	OPENSSL_free(der);
	snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\"}", b64);
	afx_url(&F, url, sizeof(url), "/acme/revoke-cert");
	/* B holds nothing yet. */
	assert_int_equal(ac_post(&F.c, kb, kidb, url, payload, &r), 0);
	want(&r, 403, "unauthorized");
	assert_int_equal(afx_order(&F, kb, kidb, id, &ourl, &order), 201);
	assert_int_equal(afx_authorize(&F, kb, kidb, order, false), 0);
	assert_int_equal(ac_post(&F.c, kb, kidb, url, payload, &r), 0);
	assert_int_equal(r.status, 200);
	ac_resp_free(&r);
	free(ourl);
	json_decref(order);
	free(b64);
	free(kida);
	free(kidb);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	EVP_PKEY_free(ck);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update_and_orders),
		cmocka_unit_test(test_key_change),
		cmocka_unit_test(test_eab),
		cmocka_unit_test(test_authz_deactivate),
		cmocka_unit_test(test_authz_reuse),
		cmocka_unit_test(test_rate_orders),
		cmocka_unit_test(test_rate_pending),
		cmocka_unit_test(test_rate_domains),
		cmocka_unit_test(test_terms_of_service),
		cmocka_unit_test(test_order_expiry),
		cmocka_unit_test(test_revoke_by_authz),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
