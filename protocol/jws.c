/*
 * protocol/jws.c - JSON Web Signatures as ACME uses them: the flattened
 * JSON serialization only, with a protected header that names the key
 * ("jwk" or "kid"), the nonce and the URL (RFC 7515, RFC 8555 6.2).
 * Parsing, verification, and signing for the test client.
 */
#include "protocol/jws.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

const char *const jws_algorithms[] = { "RS256", "ES256", "ES384", "EdDSA",
    NULL };

#define SUPPORTED "RS256, ES256, ES384, EdDSA"

/* What each alg needs of a key and of a signature. */
struct alg {
	const char *name;
	const char *keytype;	/* EVP_PKEY_is_a() name */
	const char *group;	/* EC group (two spellings), else NULL */
	const char *group_alias;
	const char *md;		/* digest, NULL for EdDSA */
	size_t siglen;		/* fixed signature length, 0 for RSA */
};

static const struct alg algs[] = {
	{ "RS256", "RSA", NULL, NULL, "SHA256", 0 },
	{ "ES256", "EC", "prime256v1", "P-256", "SHA256", 64 },
	{ "ES384", "EC", "secp384r1", "P-384", "SHA384", 96 },
	{ "EdDSA", "ED25519", NULL, NULL, NULL, 64 },
};

struct jws {
	json_t *hdr;		/* decoded protected header; owns the strings */
	const struct alg *alg;
	const char *nonce;
	const char *url;
	const char *kid;
	json_t *jwk_json;	/* borrowed from hdr */
	EVP_PKEY *jwk;
	char *input;		/* signing input: protected '.' payload */
	size_t inputlen;
	unsigned char *payload;	/* decoded, NUL-terminated */
	size_t payloadlen;
	unsigned char *sig;
	size_t siglen;
};

/* The alg entry that fits `key`, or NULL. */
static const struct alg *
alg_of_key(EVP_PKEY *key)
{
	char group[64];
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (!EVP_PKEY_is_a(key, algs[i].keytype))
			continue;
		if (algs[i].group == NULL)
			return &algs[i];
		if (!EVP_PKEY_get_group_name(key, group, sizeof(group), NULL))
			return NULL;
		if (strcmp(group, algs[i].group) == 0 ||
		    strcmp(group, algs[i].group_alias) == 0)
			return &algs[i];
	}
	return NULL;
}

/* The JWS alg for a signing key. */
const char *
jws_alg_for_key(EVP_PKEY *key)
{
	const struct alg *a;

	a = alg_of_key(key);
	ERR_clear_error();
	return a != NULL ? a->name : NULL;
}

/* Look up a header alg; badSignatureAlgorithm names the supported ones. */
static int
find_alg(const char *name, const struct alg **out, struct hsmca_err *err)
{
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(name, algs[i].name) == 0) {
			*out = &algs[i];
			return 0;
		}
	/* "none" and the HMAC algs have no public key to check against. */
	return hsmca_err_set(err, HSMCA_EINVAL, "badSignatureAlgorithm",
	    "RFC 8555 6.2: alg \"%.32s\" is not accepted (supported: "
	    SUPPORTED ")", name);
}

/* Say why a body that is not a JSON object was refused. */
static int
not_flattened(const char *body, size_t len, struct hsmca_err *err)
{
	size_t i, dots = 0;

	for (i = 0; i < len; i++)
		if (body[i] == '.')
			dots++;
		else if (body[i] == '{' || body[i] == '"')
			break;
	if (i == len && dots == 2)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 6.2: the compact JWS serialization is not "
		    "allowed; send the flattened JSON serialization");
	return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
	    "RFC 8555 6.2: body is not a flattened JWS JSON object");
}

/* Check the outer object: exactly protected, payload, signature. */
static int
check_members(json_t *obj, struct hsmca_err *err)
{
	static const char *const want[] = { "protected", "payload",
	    "signature" };
	const char *key;
	json_t *v;
	size_t i;

	if (json_object_get(obj, "signatures") != NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 6.2: the general JWS serialization is not "
		    "allowed; send the flattened JSON serialization");
	if (json_object_get(obj, "header") != NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 6.2: unprotected JWS header not allowed");
	for (i = 0; i < 3; i++)
		if (!json_is_string(json_object_get(obj, want[i])))
			return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
			    "RFC 7515 7.2.2: JWS member \"%s\" missing or "
			    "not a string", want[i]);
	json_object_foreach(obj, key, v)
		if (strcmp(key, "protected") != 0 &&
		    strcmp(key, "payload") != 0 &&
		    strcmp(key, "signature") != 0)
			return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
			    "RFC 8555 6.2: unexpected JWS member \"%.32s\"",
			    key);
	return 0;
}

/*
 * The optional header member `name`: NULL when absent, else a non-empty
 * string in *out.  Returns 0 or sets err.
 */
static int
hdr_string(json_t *hdr, const char *name, const char **out,
    struct hsmca_err *err)
{
	json_t *v;

	*out = NULL;
	if ((v = json_object_get(hdr, name)) == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 6.2: protected header \"%s\" must be a "
		    "non-empty string", name);
	*out = json_string_value(v);
	return 0;
}

/* Check the protected header and fill in alg, key, nonce, url. */
static int
check_header(struct jws *jws, unsigned int flags, struct hsmca_err *err)
{
	const char *alg;
	const struct alg *a;
	unsigned char *nbuf = NULL;
	size_t nlen;
	int rc;

	if ((rc = hdr_string(jws->hdr, "alg", &alg, err)) != 0)
		return rc;
	if (alg == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 7515 4.1.1: protected header lacks \"alg\"");
	if ((rc = find_alg(alg, &jws->alg, err)) != 0)
		return rc;
	/* No extension is understood, so none may be critical. */
	if (json_object_get(jws->hdr, "crit") != NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 7515 4.1.11: \"crit\" header not supported");
	if (json_object_get(jws->hdr, "b64") != NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 7797 3: \"b64\" header not supported");

	/* RFC 8555 6.2: exactly one of "jwk" and "kid". */
	if ((rc = hdr_string(jws->hdr, "kid", &jws->kid, err)) != 0)
		return rc;
	jws->jwk_json = json_object_get(jws->hdr, "jwk");
	if ((jws->kid == NULL) == (jws->jwk_json == NULL))
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 6.2: protected header must contain exactly one "
		    "of \"jwk\" and \"kid\"");
	if ((flags & JWS_INNER) && jws->jwk_json == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 7.3.5: inner JWS must carry \"jwk\"");
	if (jws->jwk_json != NULL) {
		if ((rc = jwk_parse(jws->jwk_json, &jws->jwk, err)) != 0)
			return rc;
		if ((a = alg_of_key(jws->jwk)) != jws->alg)
			return hsmca_err_set(err, HSMCA_EINVAL,
			    "badSignatureAlgorithm", "RFC 7518 3.1: alg %s "
			    "does not fit the jwk (its key needs %s)",
			    jws->alg->name, a ? a->name : "none");
	}

	if ((rc = hdr_string(jws->hdr, "nonce", &jws->nonce, err)) != 0)
		return rc;
	if (flags & JWS_INNER) {
		if (jws->nonce != NULL)
			return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
			    "RFC 8555 7.3.5: inner JWS must omit \"nonce\"");
	} else if (jws->nonce == NULL) {
		return hsmca_err_set(err, HSMCA_EINVAL, "badNonce",
		    "RFC 8555 6.5: protected header lacks \"nonce\"");
	} else if (b64url_decode(jws->nonce, strlen(jws->nonce), &nbuf,
	    &nlen, NULL) != 0) {
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 6.5.2: \"nonce\" is not base64url");
	}
	free(nbuf);	/* only its encoding matters here; see nonce.c */

	if ((rc = hdr_string(jws->hdr, "url", &jws->url, err)) != 0)
		return rc;
	if (jws->url == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 6.4: protected header lacks \"url\"");

	/* Fixed-size signatures: R || S, not DER (RFC 7518 3.4). */
	if (jws->alg->siglen != 0 && jws->siglen != jws->alg->siglen)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 7518 3.4: %s signature must be %zu bytes, not %zu%s",
		    jws->alg->name, jws->alg->siglen, jws->siglen,
		    jws->alg->md != NULL ? " (R || S, not DER)" : "");
	return 0;
}

/* Parse an ordinary ACME request JWS. */
int
jws_parse(const char *body, size_t len, struct jws **out,
    struct hsmca_err *err)
{
	return jws_parse_flags(body, len, 0, out, err);
}

/* Parse a flattened JWS with JWS_* flags. */
int
jws_parse_flags(const char *body, size_t len, unsigned int flags,
    struct jws **out, struct hsmca_err *err)
{
	struct jws *jws = NULL;
	json_t *obj = NULL, *p, *pl, *s;
	json_error_t jerr;
	unsigned char *hdrtext = NULL;
	size_t hdrlen, plen, pllen;
	int rc = HSMCA_EINVAL;

	*out = NULL;
	if (len > JWS_MAX_BODY) {
		hsmca_err_set(err, rc, "malformed", "RFC 8555 6.2: JWS body "
		    "of %zu bytes exceeds the limit of %d", len, JWS_MAX_BODY);
		goto out;
	}
	if ((obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_object(obj)) {
		if (obj == NULL && len > 0 && memchr(body, '{', len) != NULL)
			hsmca_err_set(err, rc, "malformed", "RFC 8555 6.2: "
			    "JWS is not valid JSON: %s", jerr.text);
		else
			not_flattened(body, len, err);
		goto out;
	}
	if ((rc = check_members(obj, err)) != 0)
		goto out;
	rc = HSMCA_EINVAL;
	if ((jws = calloc(1, sizeof(*jws))) == NULL)
		goto nomem;
	p = json_object_get(obj, "protected");
	pl = json_object_get(obj, "payload");
	s = json_object_get(obj, "signature");
	plen = json_string_length(p);
	pllen = json_string_length(pl);

	/* The signing input is the two encoded parts as received. */
	jws->inputlen = plen + 1 + pllen;
	if ((jws->input = malloc(jws->inputlen + 1)) == NULL)
		goto nomem;
	memcpy(jws->input, json_string_value(p), plen);
	jws->input[plen] = '.';
	memcpy(jws->input + plen + 1, json_string_value(pl), pllen);
	jws->input[jws->inputlen] = '\0';

	if (b64url_decode(json_string_value(p), plen, &hdrtext, &hdrlen,
	    NULL) != 0 || hdrlen == 0) {
		hsmca_err_set(err, rc, "malformed", "RFC 7515 7.2.1: "
		    "\"protected\" is not a non-empty base64url value");
		goto out;
	}
	if ((jws->hdr = json_loadb((const char *)hdrtext, hdrlen,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(jws->hdr)) {
		hsmca_err_set(err, rc, "malformed", "RFC 7515 4: protected "
		    "header is not a JSON object%s%s", jws->hdr ? "" : ": ",
		    jws->hdr ? "" : jerr.text);
		goto out;
	}
	if (b64url_decode(json_string_value(pl), pllen, &jws->payload,
	    &jws->payloadlen, NULL) != 0) {
		hsmca_err_set(err, rc, "malformed", "RFC 7515 7.2.1: "
		    "\"payload\" is not base64url");
		goto out;
	}
	if (b64url_decode(json_string_value(s), json_string_length(s),
	    &jws->sig, &jws->siglen, NULL) != 0 || jws->siglen == 0) {
		hsmca_err_set(err, rc, "malformed", "RFC 7515 7.2.1: "
		    "\"signature\" is not a non-empty base64url value");
		goto out;
	}
	if ((rc = check_header(jws, flags, err)) != 0)
		goto out;
	*out = jws;
	jws = NULL;
	rc = 0;
	goto out;
nomem:
	rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
	    "out of memory parsing a JWS");
out:
	free(hdrtext);
	json_decref(obj);
	jws_free(jws);
	return rc;
}

/* R || S (each `half` bytes) to a DER ECDSA-Sig-Value. */
static int
raw_to_der(const unsigned char *raw, size_t half, unsigned char **der,
    size_t *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	int n, rc = -1;

	*der = NULL;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, (int)half, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + half, (int)half, NULL)) == NULL ||
	    !ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL;	/* owned by es */
	if ((n = i2d_ECDSA_SIG(es, der)) <= 0)
		goto out;
	*derlen = (size_t)n;
	rc = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

/* Verify the signature with `key`, or with the embedded jwk. */
int
jws_verify(const struct jws *jws, EVP_PKEY *key, struct hsmca_err *err)
{
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const struct alg *a;
	unsigned char *der = NULL;
	const unsigned char *sig = jws->sig;
	size_t siglen = jws->siglen;
	int rc = HSMCA_EINVAL;

	if (key == NULL && (key = jws->jwk) == NULL) {
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "JWS has \"kid\": the account key is needed to verify");
		goto out;
	}
	if ((a = alg_of_key(key)) != jws->alg) {
		hsmca_err_set(err, rc, "badSignatureAlgorithm", "RFC 7518 3.1: "
		    "alg %s does not fit the account key (it needs %s)",
		    jws->alg->name, a ? a->name : "none");
		goto out;
	}
	if (a->md != NULL && a->siglen != 0) {
		if (raw_to_der(jws->sig, a->siglen / 2, &der, &siglen) != 0) {
			rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
			    "cannot encode the ECDSA signature");
			goto out;
		}
		sig = der;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, &pctx, a->md, NULL, NULL, key,
	    NULL) != 1) {
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "cannot set up %s verification", a->name);
		goto out;
	}
	if (EVP_PKEY_is_a(key, "RSA") &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "cannot select RSASSA-PKCS1-v1_5");
		goto out;
	}
	if (EVP_DigestVerify(mctx, sig, siglen,
	    (const unsigned char *)jws->input, jws->inputlen) != 1) {
		hsmca_err_set(err, rc, "malformed", "RFC 8555 6.2: JWS "
		    "signature does not verify");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	return rc;
}

const char *
jws_alg(const struct jws *jws)
{
	return jws->alg->name;
}

const char *
jws_nonce(const struct jws *jws)
{
	return jws->nonce;
}

const char *
jws_url(const struct jws *jws)
{
	return jws->url;
}

const char *
jws_kid(const struct jws *jws)
{
	return jws->kid;
}

EVP_PKEY *
jws_jwk(const struct jws *jws)
{
	return jws->jwk;
}

const json_t *
jws_jwk_json(const struct jws *jws)
{
	return jws->jwk_json;
}

const unsigned char *
jws_payload(const struct jws *jws, size_t *len)
{
	*len = jws->payloadlen;
	return jws->payload;
}

/* Free a parsed JWS and everything it owns. */
void
jws_free(struct jws *jws)
{
	if (jws == NULL)
		return;
	EVP_PKEY_free(jws->jwk);
	json_decref(jws->hdr);
	free(jws->input);
	free(jws->payload);
	free(jws->sig);
	free(jws);
}

/* DER ECDSA-Sig-Value to R || S of `half` bytes each. */
static int
der_to_raw(const unsigned char *der, size_t derlen, size_t half,
    unsigned char *raw)
{
	ECDSA_SIG *es = NULL;
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	int rc = -1;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, (int)half) < 0 ||
	    BN_bn2binpad(s, raw + half, (int)half) < 0)
		goto out;
	rc = 0;
out:
	ECDSA_SIG_free(es);
	return rc;
}

/* Build and encode the protected header for jws_sign(); free() *out. */
static int
sign_header(EVP_PKEY *key, const struct alg *a, const char *kid,
    const char *nonce, const char *url, char **out, struct hsmca_err *err)
{
	json_t *hdr = NULL, *jwk = NULL;
	char *text = NULL, *enc = NULL;
	int rc;

	*out = NULL;
	if (kid == NULL && (rc = jwk_from_pkey(key, &jwk, err)) != 0)
		goto out;
	rc = HSMCA_ENOMEM;
	if ((hdr = json_object()) == NULL ||
	    json_object_set_new(hdr, "alg", json_string(a->name)) != 0 ||
	    (kid != NULL &&
	    json_object_set_new(hdr, "kid", json_string(kid)) != 0) ||
	    (jwk != NULL && json_object_set(hdr, "jwk", jwk) != 0) ||
	    (nonce != NULL &&
	    json_object_set_new(hdr, "nonce", json_string(nonce)) != 0) ||
	    json_object_set_new(hdr, "url", json_string(url)) != 0 ||
	    (text = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
	    (enc = b64url_encode((unsigned char *)text, strlen(text))) ==
	    NULL) {
		hsmca_err_set(err, rc, "serverInternal",
		    "cannot build the JWS protected header");
		goto out;
	}
	*out = enc;
	rc = 0;
out:
	free(text);
	json_decref(hdr);
	json_decref(jwk);
	return rc;
}

/* Sign an ACME request with a local private key. */
int
jws_sign(EVP_PKEY *key, const char *kid, const char *nonce,
    const char *url, const char *payload, size_t payload_len,
    char **out_json, struct hsmca_err *err)
{
	const struct alg *a;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	json_t *obj = NULL;
	char *prot = NULL, *pl = NULL, *input = NULL, *sigenc = NULL;
	unsigned char *sig = NULL, raw[96];
	size_t siglen = 0, inputlen;
	int rc = HSMCA_EINVAL;

	*out_json = NULL;
	if ((a = alg_of_key(key)) == NULL) {
		hsmca_err_set(err, rc, "badPublicKey", "no JWS alg for a %s "
		    "key; use RSA, EC P-256/P-384 or Ed25519",
		    EVP_PKEY_get0_type_name(key) ?
		    EVP_PKEY_get0_type_name(key) : "?");
		goto out;
	}
	if (url == NULL) {
		hsmca_err_set(err, rc, "usage", "jws_sign needs a url");
		goto out;
	}
	if ((rc = sign_header(key, a, kid, nonce, url, &prot, err)) != 0)
		goto out;
	if ((pl = b64url_encode((const unsigned char *)(payload ? payload : ""),
	    payload ? payload_len : 0)) == NULL)
		goto nomem;
	inputlen = strlen(prot) + 1 + strlen(pl);
	if ((input = malloc(inputlen + 1)) == NULL)
		goto nomem;
	memcpy(input, prot, strlen(prot));
	input[strlen(prot)] = '.';
	memcpy(input + strlen(prot) + 1, pl, strlen(pl) + 1);

	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(mctx, &pctx, a->md, NULL, NULL, key,
	    NULL) != 1 ||
	    (EVP_PKEY_is_a(key, "RSA") &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_DigestSign(mctx, NULL, &siglen, (unsigned char *)input,
	    inputlen) != 1 ||
	    (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(mctx, sig, &siglen, (unsigned char *)input,
	    inputlen) != 1) {
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "%s signing failed", a->name);
		goto out;
	}
	/* ECDSA: OpenSSL gives DER; JWS wants R || S (RFC 7518 3.4). */
	if (a->md != NULL && a->siglen != 0) {
		if (der_to_raw(sig, siglen, a->siglen / 2, raw) != 0) {
			rc = hsmca_err_set(err, HSMCA_EINTERNAL,
			    "serverInternal", "cannot decode ECDSA signature");
			goto out;
		}
		sigenc = b64url_encode(raw, a->siglen);
	} else
		sigenc = b64url_encode(sig, siglen);
	if (sigenc == NULL)
		goto nomem;
	if ((obj = json_object()) == NULL ||
	    json_object_set_new(obj, "protected", json_string(prot)) != 0 ||
	    json_object_set_new(obj, "payload", json_string(pl)) != 0 ||
	    json_object_set_new(obj, "signature", json_string(sigenc)) != 0 ||
	    (*out_json = json_dumps(obj, JSON_COMPACT)) == NULL)
		goto nomem;
	rc = 0;
	goto out;
nomem:
	rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
	    "out of memory signing a JWS");
out:
	ERR_clear_error();
	json_decref(obj);
	EVP_MD_CTX_free(mctx);
	free(prot);
	free(pl);
	free(input);
	free(sig);
	free(sigenc);
	return rc;
}
