/*
 * protocol/jwk.c - JSON Web Keys: the account public keys of ACME
 * clients (RFC 7517, RFC 7518 6, RFC 8037 2), their thumbprints (RFC
 * 7638), and the JWK of a local key for the signing side.
 */
#include "protocol/jws.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

/* The curves accepted, with the JWK name, OpenSSL's name, field size. */
struct curve {
	const char *crv;
	const char *group;	/* OpenSSL group name */
	const char *alias;	/* what EVP_PKEY_get_group_name() may say */
	size_t len;		/* bytes per coordinate */
};

static const struct curve curves[] = {
	{ "P-256", "P-256", "prime256v1", 32 },
	{ "P-384", "P-384", "secp384r1", 48 },
};

#define ED25519_LEN 32

/*
 * Decode the required base64url string member `name` of `jwk`.  On
 * success *buf (NUL-terminated) belongs to the caller.
 */
static int
member_b64(const json_t *jwk, const char *kty, const char *name,
    unsigned char **buf, size_t *len, struct hsmca_err *err)
{
	const json_t *v;
	const char *s;

	*buf = NULL;
	if ((v = json_object_get(jwk, name)) == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 7518 6: %s JWK lacks member \"%s\"", kty, name);
	if ((s = json_string_value(v)) == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 7518 6: JWK member \"%s\" must be a string", name);
	if (b64url_decode(s, json_string_length(v), buf, len, NULL) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 7518 6: JWK member \"%s\" is not base64url", name);
	return 0;
}

/* The required string member `name` of `jwk`, or NULL after setting err. */
static const char *
member_str(const json_t *jwk, const char *name, struct hsmca_err *err)
{
	const char *s;

	if ((s = json_string_value(json_object_get(jwk, name))) == NULL)
		hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 7517 4: JWK member \"%s\" must be a string", name);
	return s;
}

/* Build a public key of type `type` from `params`. */
static int
fromdata(const char *type, OSSL_PARAM *params, EVP_PKEY **out,
    struct hsmca_err *err, const char *why)
{
	EVP_PKEY_CTX *ctx = NULL;
	int rc = HSMCA_EINVAL;

	*out = NULL;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0) {
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "no OpenSSL support for %s keys", type);
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "badPublicKey", "%s", why);
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* kty "RSA": n and e (RFC 7518 6.3.1). */
static int
parse_rsa(const json_t *jwk, EVP_PKEY **out, struct hsmca_err *err)
{
	static const unsigned char f4[] = { 0x01, 0x00, 0x01 };
	unsigned char *n = NULL, *e = NULL;
	size_t nlen, elen, bits;
	unsigned int top;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	int rc;

	if ((rc = member_b64(jwk, "RSA", "n", &n, &nlen, err)) != 0 ||
	    (rc = member_b64(jwk, "RSA", "e", &e, &elen, err)) != 0)
		goto out;
	rc = HSMCA_EINVAL;
	/* Minimal encoding makes the thumbprint the client computes ours. */
	if (nlen == 0 || n[0] == 0) {
		hsmca_err_set(err, rc, "malformed", "RFC 7518 6.3.1.1: n must "
		    "use the minimum number of octets");
		goto out;
	}
	bits = nlen * 8;
	for (top = n[0]; !(top & 0x80); top <<= 1)
		bits--;
	if (bits < JWK_RSA_MIN_BITS || bits > JWK_RSA_MAX_BITS) {
		hsmca_err_set(err, rc, "badPublicKey", "RSA modulus of %zu "
		    "bits; hsmca accepts %d to %d bits", bits,
		    JWK_RSA_MIN_BITS, JWK_RSA_MAX_BITS);
		goto out;
	}
	if (!(n[nlen - 1] & 1)) {
		hsmca_err_set(err, rc, "badPublicKey", "RSA modulus is even");
		goto out;
	}
	if (elen != sizeof(f4) || memcmp(e, f4, sizeof(f4)) != 0) {
		hsmca_err_set(err, rc, "badPublicKey", "RSA public exponent "
		    "must be 65537 (\"AQAB\")");
		goto out;
	}
	if ((bn_n = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (bn_e = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory building an RSA key");
		goto out;
	}
	rc = fromdata("RSA", params, out, err, "RSA key refused by OpenSSL");
out:
	ERR_clear_error();
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	return rc;
}

/* kty "EC": crv, x, y (RFC 7518 6.2.1). */
static int
parse_ec(const json_t *jwk, EVP_PKEY **out, struct hsmca_err *err)
{
	const struct curve *c = NULL;
	const char *crv;
	unsigned char *x = NULL, *y = NULL, *pt = NULL;
	size_t xlen, ylen, i;
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	int rc = HSMCA_EINVAL;

	if ((crv = member_str(jwk, "crv", err)) == NULL)
		goto out;
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(crv, curves[i].crv) == 0)
			c = &curves[i];
	if (c == NULL) {
		hsmca_err_set(err, rc, "badPublicKey", "EC curve \"%.32s\" is "
		    "not supported; use P-256 or P-384", crv);
		goto out;
	}
	if ((rc = member_b64(jwk, "EC", "x", &x, &xlen, err)) != 0 ||
	    (rc = member_b64(jwk, "EC", "y", &y, &ylen, err)) != 0)
		goto out;
	rc = HSMCA_EINVAL;
	if (xlen != c->len || ylen != c->len) {
		hsmca_err_set(err, rc, "malformed", "RFC 7518 6.2.1.2: %s "
		    "coordinates must be %zu bytes (x %zu, y %zu)", c->crv,
		    c->len, xlen, ylen);
		goto out;
	}
	/* SEC 1 2.3.3 uncompressed point: 04 || x || y. */
	if ((pt = malloc(1 + 2 * c->len)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory building an EC key");
		goto out;
	}
	pt[0] = 0x04;
	memcpy(pt + 1, x, c->len);
	memcpy(pt + 1 + c->len, y, c->len);
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)c->group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * c->len);
	params[2] = OSSL_PARAM_construct_end();
	if ((rc = fromdata("EC", params, out, err,
	    "EC point is not on the curve")) != 0)
		goto out;
	/* Import checks the point; ask again rather than rely on it. */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL)) == NULL ||
	    EVP_PKEY_public_check_quick(ctx) != 1) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "badPublicKey",
		    "EC point is not a valid %s public key", c->crv);
		EVP_PKEY_free(*out);
		*out = NULL;
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	free(pt);
	free(x);
	free(y);
	return rc;
}

/* kty "OKP": crv "Ed25519", x (RFC 8037 2). */
static int
parse_okp(const json_t *jwk, EVP_PKEY **out, struct hsmca_err *err)
{
	const char *crv;
	unsigned char *x = NULL;
	size_t xlen;
	OSSL_PARAM params[2];
	int rc = HSMCA_EINVAL;

	if ((crv = member_str(jwk, "crv", err)) == NULL)
		goto out;
	if (strcmp(crv, "Ed25519") != 0) {
		hsmca_err_set(err, rc, "badPublicKey", "OKP curve \"%.32s\" is "
		    "not supported; use Ed25519", crv);
		goto out;
	}
	if ((rc = member_b64(jwk, "OKP", "x", &x, &xlen, err)) != 0)
		goto out;
	if (xlen != ED25519_LEN) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8032 5.1.5: Ed25519 public key must be 32 bytes, "
		    "not %zu", xlen);
		goto out;
	}
	params[0] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, x, xlen);
	params[1] = OSSL_PARAM_construct_end();
	rc = fromdata("ED25519", params, out, err, "Ed25519 key refused");
out:
	free(x);
	return rc;
}

/* Parse a JWK object into a public key. */
int
jwk_parse(const json_t *jwk, EVP_PKEY **out, struct hsmca_err *err)
{
	const char *kty;

	*out = NULL;
	if (!json_is_object(jwk))
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 7517 4: a JWK is a JSON object");
	if ((kty = member_str(jwk, "kty", err)) == NULL)
		return HSMCA_EINVAL;
	/* An account key is public; a client sending "d" leaks its key. */
	if (json_object_get(jwk, "d") != NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 6.2: the JWK carries a private key (\"d\"); "
		    "send the public key only");
	if (strcmp(kty, "RSA") == 0)
		return parse_rsa(jwk, out, err);
	if (strcmp(kty, "EC") == 0)
		return parse_ec(jwk, out, err);
	if (strcmp(kty, "OKP") == 0)
		return parse_okp(jwk, out, err);
	return hsmca_err_set(err, HSMCA_EINVAL, "badPublicKey",
	    "JWK kty \"%.32s\" is not supported; use RSA, EC or OKP", kty);
}

/* Parse JWK text, refusing duplicate members. */
int
jwk_parse_text(const char *text, size_t len, EVP_PKEY **out,
    struct hsmca_err *err)
{
	json_error_t jerr;
	json_t *jwk;
	int rc;

	*out = NULL;
	if ((jwk = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 7517 4: JWK is not valid JSON: %s", jerr.text);
	rc = jwk_parse(jwk, out, err);
	json_decref(jwk);
	return rc;
}

/* Set member `name` of `obj` to the base64url of `len` bytes of `buf`. */
static int
set_b64(json_t *obj, const char *name, const unsigned char *buf, size_t len)
{
	char *s;
	int rc;

	if ((s = b64url_encode(buf, len)) == NULL)
		return -1;
	rc = json_object_set_new(obj, name, json_string(s));
	free(s);
	return rc;
}

/* Set member `name` to the big-endian bytes of `bn`, padded to `pad`. */
static int
set_bn(json_t *obj, const char *name, const BIGNUM *bn, size_t pad)
{
	unsigned char *buf;
	size_t len = pad ? pad : (size_t)BN_num_bytes(bn);
	int rc = -1;

	if ((buf = malloc(len ? len : 1)) == NULL)
		return -1;
	if (BN_bn2binpad(bn, buf, (int)len) >= 0)
		rc = set_b64(obj, name, buf, len);
	free(buf);
	return rc;
}

/* The JWK of a key: RFC 7638 3.2 required members only. */
int
jwk_from_pkey(EVP_PKEY *key, json_t **out, struct hsmca_err *err)
{
	json_t *jwk = NULL;
	BIGNUM *a = NULL, *b = NULL;
	unsigned char raw[ED25519_LEN];
	size_t rawlen = sizeof(raw), i;
	char group[64];
	const struct curve *c = NULL;
	int rc = HSMCA_EINVAL;

	*out = NULL;
	if ((jwk = json_object()) == NULL)
		goto nomem;
	if (EVP_PKEY_is_a(key, "RSA")) {
		if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &a) ||
		    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &b))
			goto unsupported;
		if (set_bn(jwk, "e", b, 0) != 0 ||
		    json_object_set_new(jwk, "kty", json_string("RSA")) != 0 ||
		    set_bn(jwk, "n", a, 0) != 0)
			goto nomem;
	} else if (EVP_PKEY_is_a(key, "EC")) {
		if (!EVP_PKEY_get_group_name(key, group, sizeof(group), NULL))
			goto unsupported;
		for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
			if (strcmp(group, curves[i].group) == 0 ||
			    strcmp(group, curves[i].alias) == 0)
				c = &curves[i];
		if (c == NULL ||
		    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &a) ||
		    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &b))
			goto unsupported;
		if (json_object_set_new(jwk, "crv", json_string(c->crv)) != 0 ||
		    json_object_set_new(jwk, "kty", json_string("EC")) != 0 ||
		    set_bn(jwk, "x", a, c->len) != 0 ||
		    set_bn(jwk, "y", b, c->len) != 0)
			goto nomem;
	} else if (EVP_PKEY_is_a(key, "ED25519")) {
		if (EVP_PKEY_get_raw_public_key(key, raw, &rawlen) != 1 ||
		    rawlen != ED25519_LEN)
			goto unsupported;
		if (json_object_set_new(jwk, "crv", json_string("Ed25519")) ||
		    json_object_set_new(jwk, "kty", json_string("OKP")) != 0 ||
		    set_b64(jwk, "x", raw, rawlen) != 0)
			goto nomem;
	} else
		goto unsupported;
	*out = jwk;
	jwk = NULL;
	rc = 0;
	goto out;
unsupported:
	rc = hsmca_err_set(err, HSMCA_EINVAL, "badPublicKey", "key type %s "
	    "has no JWK here; use RSA, EC P-256/P-384 or Ed25519",
	    EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?");
	goto out;
nomem:
	rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
	    "out of memory building a JWK");
out:
	ERR_clear_error();
	BN_free(a);
	BN_free(b);
	json_decref(jwk);
	return rc;
}

/* RFC 7638 3: SHA-256 over the required members, sorted, no spaces. */
int
jwk_thumbprint(EVP_PKEY *key, char out[JWK_THUMBPRINT_LEN + 1],
    struct hsmca_err *err)
{
	json_t *jwk = NULL;
	char *text = NULL;
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	int rc;

	out[0] = '\0';
	if ((rc = jwk_from_pkey(key, &jwk, err)) != 0)
		goto out;
	/* Members are already the required ones; SORT_KEYS orders them. */
	if ((text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory serializing a JWK");
		goto out;
	}
	if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) !=
	    1 || mdlen != sizeof(md)) {
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "SHA-256 failed");
		goto out;
	}
	b64url_encode_buf(md, sizeof(md), out);
	rc = 0;
out:
	ERR_clear_error();
	free(text);
	json_decref(jwk);
	return rc;
}
