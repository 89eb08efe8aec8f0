/*
 * tools/bench_acme_order.c - the flows `hsmca bench acme` drives: a new
 * account, and one complete issuance (RFC 8555 7.4): newOrder, the
 * authorization, its http-01 challenge, finalize with a new key's CSR,
 * polling to valid, and the certificate downloaded and checked.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tools/bench_acme.h"


const char *const bacme_step_names[BACME_NSTEPS] = {
	"newOrder", "authz", "challenge", "validation", "finalize",
	"issuance", "download",
};

/* JSON `doc` as compact text; NULL when out of memory.  Steals `doc`. */
static char *
dump(json_t *doc)
{
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	return s;
}

/* POST `payload` (steals it; NULL: POST-as-GET) and parse the answer. */
static int
post_json(struct bacme_client *c, const char *url, json_t *payload,
    const char *what, json_t **out, struct hsmca_err *err)
{
	char *text = NULL;
	int rc;

	*out = NULL;
	if (payload != NULL && (text = dump(payload)) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "io",
		    "%s: cannot build the request", what);
	if ((rc = bacme_post(c, url, text, err)) == 0)
		rc = bacme_resp_json(c, what, out, err);
	free(text);
	return rc;
}

/* Copy string member `name` of `doc` into `dst`. */
static int
member(json_t *doc, const char *name, char *dst, size_t dstsz,
    const char *what, struct hsmca_err *err)
{
	const char *v = json_string_value(json_object_get(doc, name));

	if (v == NULL || v[0] == '\0' || strlen(v) >= dstsz)
		return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "%s: \"%s\" missing, empty or over %zu bytes", what, name,
		    dstsz - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Charge the time since *t to *step and restart the lap. */
static void
lap(double *t, double *step)
{
	double now = now_s();

	*step = now - *t;
	*t = now;
}

/* The "error" member of an object, or of its first challenge with one,
 * as "type: detail" for an invalid authorization or order. */
static void
why_invalid(json_t *doc, char *out, size_t outsz)
{
	json_t *e = json_object_get(doc, "error"), *ch;
	size_t i;

	if (e == NULL) {
		json_array_foreach(json_object_get(doc, "challenges"), i, ch)
			if ((e = json_object_get(ch, "error")) != NULL)
				break;
	}
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *detail = json_string_value(json_object_get(e, "detail"));

	/* The detail has little room: drop the common URN prefix. */
	if (type != NULL && strncmp(type, BACME_ERR_PREFIX,
	    strlen(BACME_ERR_PREFIX)) == 0)
		type += strlen(BACME_ERR_PREFIX);
	snprintf(out, outsz, "%s: %s", type ? type : "(no error type)",
	    detail ? detail : "");
}

/*
 * Poll `url` (an authorization or an order whose last state is *doc)
 * until its status is "valid".  "invalid" is an error, so is still
 * waiting after BACME_POLL_LIMIT_S.  *doc is replaced by the last state.
 */
static int
poll_valid(struct bacme_client *c, const char *url, const char *what,
    json_t **doc, struct hsmca_err *err)
{
	double deadline = now_s() + BACME_POLL_LIMIT_S;
	const char *st;
	char why[300];
	int rc;

	for (;;) {
		st = json_string_value(json_object_get(*doc, "status"));
		if (st == NULL)
			return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
			    "%s %s: no status", what, url);
		if (strcmp(st, "valid") == 0)
			return 0;
		if (strcmp(st, "invalid") == 0) {
			why_invalid(*doc, why, sizeof(why));
			return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
			    "%s is invalid: %s", what, why);
		}
		if (now_s() > deadline)
			return hsmca_err_set(err, HSMCA_EIO, "io",
			    "%s %s still \"%s\" after %d s", what, url, st,
			    BACME_POLL_LIMIT_S);
		bacme_poll_wait(c);
		json_decref(*doc);
		*doc = NULL;
		c->counts.polls++;
		if ((rc = post_json(c, url, NULL, what, doc, err)) != 0)
			return rc;
	}
}

/* newAccount. */
int
bacme_account_new(struct bacme_client *c, struct hsmca_err *err)
{
	json_t *doc = NULL;
	int rc;

	if ((rc = post_json(c, c->dir.new_account,
	    json_pack("{s:b}", "termsOfServiceAgreed", 1), "newAccount",
	    &doc, err)) != 0)
		goto out;
	if (c->resp.status != 201) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "newAccount for a new key: HTTP %ld, want 201 "
		    "(RFC 8555 7.3)", c->resp.status);
		goto out;
	}
	if (c->resp.location[0] == '\0') {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "newAccount: no Location (RFC 8555 7.3)");
		goto out;
	}
	memcpy(c->kid, c->resp.location, sizeof(c->kid));
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

/*
 * Put the public half of P-256 `key` into `req` as its
 * SubjectPublicKeyInfo.  X509_REQ_set_pubkey() would do the same through
 * OpenSSL 3.0's encoder and then decoder, which costs more CPU than the
 * rest of the CSR, and this CPU is taken from the server under test.
 */
static int
set_spki(X509_REQ *req, EVP_PKEY *key)
{
	X509_PUBKEY *pub = X509_REQ_get_X509_PUBKEY(req);
	unsigned char pt[65], *copy;
	size_t len = 0;

	if (pub == NULL || EVP_PKEY_get_octet_string_param(key,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &len) != 1 ||
	    len != sizeof(pt) || (copy = OPENSSL_memdup(pt, len)) == NULL)
		return -1;
	/* On success `copy` belongs to `pub`. */
	if (X509_PUBKEY_set0_param(pub, OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
	    V_ASN1_OBJECT, OBJ_nid2obj(NID_X9_62_prime256v1), copy,
	    (int)len) != 1) {
		OPENSSL_free(copy);
		return -1;
	}
	return 0;
}

/* A new P-256 key and a CSR for `name` (SAN only) as base64url DER. */
static int
make_csr(const char *name, EVP_PKEY **key, char **csr_b64,
    struct hsmca_err *err)
{
	X509_REQ *req = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	unsigned char *der = NULL;
	char ebuf[160] = "";
	int len, rc = HSMCA_EINTERNAL;

	*key = NULL;
	*csr_b64 = NULL;
	if ((*key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (req = X509_REQ_new()) == NULL ||
	    X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    set_spki(req, *key) != 0 ||
	    (gens = GENERAL_NAMES_new()) == NULL ||
	    (gen = GENERAL_NAME_new()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(ia5, name, -1) != 1)
		goto fail;
	GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
	ia5 = NULL;
	if (sk_GENERAL_NAME_push(gens, gen) == 0)
		goto fail;
	gen = NULL;
	if ((ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) == 0)
		goto fail;
	ext = NULL;
	if (X509_REQ_add_extensions(req, exts) != 1 ||
	    X509_REQ_sign(req, *key, EVP_sha256()) <= 0 ||
	    (len = i2d_X509_REQ(req, &der)) <= 0)
		goto fail;
	if ((*csr_b64 = b64url_encode(der, (size_t)len)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "io", "out of memory");
		goto out;
	}
	rc = 0;
	goto out;
fail:
	rc = hsmca_err_set(err, HSMCA_EINTERNAL, "io",
	    "cannot build a P-256 CSR for %s: %s", name,
	    hsmca_openssl_errstr(ebuf, sizeof(ebuf)));
out:
	if (rc != 0) {
		EVP_PKEY_free(*key);
		*key = NULL;
	}
	OPENSSL_free(der);
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return rc;
}

/*
 * Whether `x` certifies P-256 `key`: its SubjectPublicKeyInfo holds
 * the same point.  Compared as bytes: the key of `x` is not decoded.
 */
static bool
same_key(X509 *x, EVP_PKEY *key)
{
	const unsigned char *bits;
	unsigned char pt[65];
	ASN1_OBJECT *alg;
	size_t len = 0;
	int blen;

	return X509_PUBKEY_get0_param(&alg, &bits, &blen, NULL,
	    X509_get_X509_PUBKEY(x)) == 1 &&
	    OBJ_obj2nid(alg) == NID_X9_62_id_ecPublicKey &&
	    EVP_PKEY_get_octet_string_param(key,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &len) == 1 &&
	    (size_t)blen == len && memcmp(bits, pt, len) == 0;
}

/*
 * The first certificate of the PEM chain in c->resp names `name` and
 * certifies `key`.  It is parsed in c->bare, a library context with no
 * provider: OpenSSL 3.0 decodes a certificate's key while parsing it,
 * through its decoder framework, at about 0.2 ms of CPU a certificate
 * (a fifth of the generator's CPU) taken from the server under test;
 * with no provider that step finds nothing and is skipped, and the
 * SubjectPublicKeyInfo is compared as bytes.
 */
static int
check_cert(const struct bacme_client *c, const char *name, EVP_PKEY *key,
    struct hsmca_err *err)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	char *pem_name = NULL, *header = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	long der_len = 0;
	int rc = HSMCA_EINVAL;

	if (c->resp.len == 0 ||
	    (bio = BIO_new_mem_buf(c->resp.body, (int)c->resp.len)) == NULL ||
	    PEM_read_bio(bio, &pem_name, &header, &der, &der_len) != 1 ||
	    strcmp(pem_name, PEM_STRING_X509) != 0 ||
	    (p = der, x = (X509 *)ASN1_item_d2i_ex(NULL, &p, der_len,
	    ASN1_ITEM_rptr(X509), c->bare, NULL)) == NULL ||
	    p != der + der_len) {
		hsmca_err_set(err, rc, "protocol",
		    "certificate for %s: not a PEM chain", name);
		goto out;
	}
	if (X509_check_host(x, name, 0, 0, NULL) != 1) {
		hsmca_err_set(err, rc, "protocol",
		    "certificate does not name %s", name);
		goto out;
	}
	if (!same_key(x, key)) {
		hsmca_err_set(err, rc, "protocol",
		    "certificate for %s is not over the CSR's key", name);
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_free(x);
	OPENSSL_free(pem_name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(bio);
	return rc;
}

/* Find the http-01 challenge of an authorization. */
static int
pick_http01(json_t *authz, const char *url, char *token, size_t tokensz,
    char *chal_url, size_t chal_urlsz, struct hsmca_err *err)
{
	json_t *ch;
	size_t i;

	json_array_foreach(json_object_get(authz, "challenges"), i, ch) {
		const char *type = json_string_value(json_object_get(ch,
		    "type"));

		if (type == NULL || strcmp(type, "http-01") != 0)
			continue;
		if (member(ch, "token", token, tokensz, "http-01 challenge",
		    err) != 0 ||
		    member(ch, "url", chal_url, chal_urlsz,
		    "http-01 challenge", err) != 0)
			return HSMCA_EINVAL;
		return 0;
	}
	return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
	    "authorization %s offers no http-01 challenge", url);
}

/* Steps 2-4: authorize `name` through the http-01 challenge. */
static int
authorize(struct bacme_client *c, struct bacme_http01 *h, unsigned slot,
    const char *authz_url, double *t, double steps[BACME_NSTEPS],
    struct hsmca_err *err)
{
	json_t *authz = NULL, *chal = NULL;
	char token[BACME_MAX_TOKEN], chal_url[BACME_MAX_URL];
	char keyauth[BACME_MAX_TOKEN + 1 + JWK_THUMBPRINT_LEN + 1];
	const char *st;
	int published = 0, rc;

	if ((rc = post_json(c, authz_url, NULL, "authorization", &authz,
	    err)) != 0)
		goto out;
	lap(t, &steps[BACME_STEP_AUTHZ]);
	st = json_string_value(json_object_get(authz, "status"));
	if (st != NULL && strcmp(st, "valid") == 0)
		goto out;	/* reused; nothing to prove */
	if ((rc = pick_http01(authz, authz_url, token, sizeof(token),
	    chal_url, sizeof(chal_url), err)) != 0)
		goto out;
	/* RFC 8555 8.1: token "." base64url(thumbprint of the account key) */
	snprintf(keyauth, sizeof(keyauth), "%s.%s", token, c->thumbprint);
	if ((rc = bacme_http01_set(h, slot, token, keyauth, err)) != 0)
		goto out;
	published = 1;
	if ((rc = post_json(c, chal_url, json_object(), "challenge", &chal,
	    err)) != 0)
		goto out;
	lap(t, &steps[BACME_STEP_CHALLENGE]);
	/* A server that validated while answering has nothing to poll. */
	st = json_string_value(json_object_get(chal, "status"));
	if (st != NULL && strcmp(st, "valid") == 0)
		goto out;
	/* `authz` still says "pending": poll_valid() waits, then fetches. */
	if ((rc = poll_valid(c, authz_url, "authorization", &authz, err)) == 0)
		lap(t, &steps[BACME_STEP_VALIDATION]);
out:
	if (published)
		bacme_http01_clear(h, slot);
	json_decref(chal);
	json_decref(authz);
	return rc;
}

/* One complete issuance for `name`. */
int
bacme_order_run(struct bacme_client *c, struct bacme_http01 *h,
    unsigned slot, const char *name, double steps[BACME_NSTEPS],
    struct hsmca_err *err)
{
	json_t *order = NULL, *authzs, *req;
	EVP_PKEY *key = NULL;
	char *csr = NULL;
	char order_url[BACME_MAX_URL], finalize[BACME_MAX_URL];
	char authz_url[BACME_MAX_URL], cert_url[BACME_MAX_URL];
	double t = now_s();
	int rc;

	for (int i = 0; i < BACME_NSTEPS; i++)
		steps[i] = 0;

	/* 1. newOrder for one dns identifier. */
	req = json_pack("{s:[{s:s,s:s}]}", "identifiers", "type", "dns",
	    "value", name);
	if ((rc = post_json(c, c->dir.new_order, req, "newOrder", &order,
	    err)) != 0)
		goto out;
	if (c->resp.status != 201 || c->resp.location[0] == '\0') {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "newOrder %s: HTTP %ld%s, want 201 with Location "
		    "(RFC 8555 7.4)", name, c->resp.status,
		    c->resp.location[0] ? "" : " without Location");
		goto out;
	}
	memcpy(order_url, c->resp.location, sizeof(order_url));
	lap(&t, &steps[BACME_STEP_NEW_ORDER]);
	authzs = json_object_get(order, "authorizations");
	if (json_array_size(authzs) != 1 ||
	    json_string_value(json_array_get(authzs, 0)) == NULL ||
	    strlen(json_string_value(json_array_get(authzs, 0))) >=
	    sizeof(authz_url)) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "order %s: want exactly one authorization URL for one "
		    "identifier", order_url);
		goto out;
	}
	snprintf(authz_url, sizeof(authz_url), "%s",
	    json_string_value(json_array_get(authzs, 0)));
	if ((rc = member(order, "finalize", finalize, sizeof(finalize),
	    "order", err)) != 0)
		goto out;

	/* 2-4. Prove control of the name. */
	if ((rc = authorize(c, h, slot, authz_url, &t, steps, err)) != 0)
		goto out;

	/* 5. Finalize with a fresh key's CSR, then wait for valid. */
	if ((rc = make_csr(name, &key, &csr, err)) != 0)
		goto out;
	json_decref(order);
	order = NULL;
	if ((rc = post_json(c, finalize, json_pack("{s:s}", "csr", csr),
	    "finalize", &order, err)) != 0)
		goto out;
	lap(&t, &steps[BACME_STEP_FINALIZE]);
	if ((rc = poll_valid(c, order_url, "order", &order, err)) != 0)
		goto out;
	lap(&t, &steps[BACME_STEP_ISSUANCE]);
	if ((rc = member(order, "certificate", cert_url, sizeof(cert_url),
	    "valid order", err)) != 0)
		goto out;

	/* 6. Download (POST-as-GET) and check the certificate. */
	if ((rc = bacme_post(c, cert_url, NULL, err)) != 0 ||
	    (rc = check_cert(c, name, key, err)) != 0)
		goto out;
	lap(&t, &steps[BACME_STEP_DOWNLOAD]);
	rc = 0;
out:
	free(csr);
	EVP_PKEY_free(key);
	json_decref(order);
	return rc;
}
