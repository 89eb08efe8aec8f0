/*
 * protocol/jws.h - what ACME needs of JOSE: base64url (RFC 4648 5), JSON
 * Web Keys (RFC 7517, 7518, 8037) with their thumbprints (RFC 7638), and
 * JSON Web Signatures in the flattened JSON serialization (RFC 7515,
 * restricted as RFC 8555 6.2 requires).
 *
 * Every function that can fail returns 0 or a negative HSMCA_E* code and
 * writes the ACME problem type into `err` ("malformed",
 * "badSignatureAlgorithm", "badPublicKey", "badNonce"); `err` may be NULL.
 *
 * Files: b64url.c (b64url_*), jwk.c (jwk_*), jws.c (jws_*).
 */
#ifndef HSMCA_PROTOCOL_JWS_H
#define HSMCA_PROTOCOL_JWS_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/err.h"

/* --- base64url, no padding ------------------------------------------ */

/* Length of the encoding of `n` bytes, without the terminating NUL. */
size_t b64url_encoded_len(size_t n);

/*
 * Encode `len` bytes of `in` into `out`, which must hold
 * b64url_encoded_len(len) + 1 bytes; `out` is NUL-terminated.
 */
void b64url_encode_buf(const unsigned char *in, size_t len, char *out);

/*
 * Encode `len` bytes of `in`.  Returns a NUL-terminated string the caller
 * frees with free(), or NULL when out of memory.
 */
char *b64url_encode(const unsigned char *in, size_t len);

/*
 * Decode exactly `len` characters of `in`.  Refuses padding ('='),
 * whitespace, characters outside the URL-safe alphabet, a length of 4k+1
 * and non-zero bits in the last character (the encoding must be the
 * canonical one, so one value has one encoding).  On success *out is a
 * buffer of *outlen bytes plus a NUL (so text can be used as a string)
 * that the caller frees with free(); on failure *out is NULL.
 * Returns 0, HSMCA_EINVAL ("malformed") or HSMCA_ENOMEM.
 */
int b64url_decode(const char *in, size_t len, unsigned char **out,
    size_t *outlen, struct hsmca_err *err);

/*
 * As b64url_decode() into the caller's buffer `out` of `outsz` bytes
 * (no NUL added).  HSMCA_EINVAL when the decoded value does not fit.
 */
int b64url_decode_buf(const char *in, size_t len, unsigned char *out,
    size_t outsz, size_t *outlen, struct hsmca_err *err);

/* --- JWK ------------------------------------------------------------- */

/* Length of a thumbprint: base64url of a SHA-256 digest. */
#define JWK_THUMBPRINT_LEN 43

/* Bounds on accepted RSA moduli, in bits (both inclusive). */
#define JWK_RSA_MIN_BITS 2048
#define JWK_RSA_MAX_BITS 8192

/*
 * Build the public key described by the JWK object `jwk`.  Accepted:
 * kty "RSA" with n of JWK_RSA_MIN_BITS..JWK_RSA_MAX_BITS bits (minimal
 * encoding, odd) and e = 65537; kty "EC" with crv "P-256" or "P-384",
 * x and y of exactly 32 or 48 bytes naming a point on the curve; kty
 * "OKP" with crv "Ed25519" and x of 32 bytes.  Members other than the
 * required ones are ignored, except "d": a private key is refused.
 * On success *out is a new key the caller frees with EVP_PKEY_free().
 * Returns 0 or HSMCA_EINVAL with type "malformed" (missing or ill-formed
 * member) or "badPublicKey" (a key this server does not accept).
 */
int jwk_parse(const json_t *jwk, EVP_PKEY **out, struct hsmca_err *err);

/*
 * As jwk_parse() over JSON text of `len` bytes (for JWKs kept in the
 * store); duplicate members are refused.
 */
int jwk_parse_text(const char *text, size_t len, EVP_PKEY **out,
    struct hsmca_err *err);

/*
 * The JWK of the public half of `key` (RSA, EC P-256/P-384, Ed25519),
 * with only the members RFC 7638 3.2 requires for its kty.  On success
 * *out is a new reference the caller releases with json_decref().
 * HSMCA_EINVAL ("badPublicKey") for other key types.
 */
int jwk_from_pkey(EVP_PKEY *key, json_t **out, struct hsmca_err *err);

/*
 * The RFC 7638 thumbprint of `key`: base64url(SHA-256(canonical JWK)),
 * written with its NUL into `out`.  Computed from the key, not from the
 * JSON a client sent, so one key has one thumbprint.
 */
int jwk_thumbprint(EVP_PKEY *key, char out[JWK_THUMBPRINT_LEN + 1],
    struct hsmca_err *err);

/* --- JWS ------------------------------------------------------------- */

/* Largest JWS body accepted, in bytes (inclusive). */
#define JWS_MAX_BODY 65536

/*
 * Parse flags.  JWS_INNER is the inner JWS of an ACME keyChange (RFC 8555
 * 7.3.5): it must carry "jwk" and must not carry "nonce".  Without it the
 * JWS is an ordinary ACME request: "nonce" required.
 */
#define JWS_INNER 0x1u

/* The algorithms RFC 8555 servers are asked to support, NULL-terminated;
 * the "algorithms" member of a badSignatureAlgorithm problem. */
extern const char *const jws_algorithms[];

struct jws;

/*
 * Parse an ACME request body (flattened JWS JSON serialization) of `len`
 * bytes; `body` need not be NUL-terminated.  Checks the structure and
 * the protected header, decodes payload and signature, and parses an
 * embedded "jwk"; it does not verify the signature (jws_verify()) nor
 * the nonce or url (the caller knows the nonce store and the URL).
 * Same as jws_parse_flags(body, len, 0, out, err).
 * Refusals are HSMCA_EINVAL with type:
 *  - "badSignatureAlgorithm": alg not in jws_algorithms (the detail lists
 *    them; "none" and HS* included), or a jwk whose key does not fit alg;
 *  - "badPublicKey": a jwk this server does not accept (jwk_parse());
 *  - "badNonce": no "nonce" (RFC 8555 6.5);
 *  - "malformed": everything else: body over JWS_MAX_BODY, not JSON,
 *    compact or general serialization, members other than exactly
 *    protected/payload/signature (an unprotected "header" included),
 *    duplicate members, bad base64url, missing alg or url, both or
 *    neither of jwk and kid, "crit" or "b64" present, a nonce that is not
 *    base64url, an ECDSA/EdDSA signature of the wrong size (DER included).
 * On success *out belongs to the caller (jws_free()).
 */
int jws_parse(const char *body, size_t len, struct jws **out,
    struct hsmca_err *err);

/* jws_parse() with JWS_* flags. */
int jws_parse_flags(const char *body, size_t len, unsigned int flags,
    struct jws **out, struct hsmca_err *err);

/*
 * Verify the signature of `jws` with `key` (the account key found by
 * "kid"), or with the embedded "jwk" when `key` is NULL.  The key type
 * must fit "alg" ("badSignatureAlgorithm" otherwise).  A bad signature
 * is HSMCA_EINVAL with type "malformed".
 */
int jws_verify(const struct jws *jws, EVP_PKEY *key, struct hsmca_err *err);

/*
 * Accessors.  Strings and objects point into `jws` and live until
 * jws_free(); do not free them.  Absent members are NULL.
 */
const char *jws_alg(const struct jws *jws);
const char *jws_nonce(const struct jws *jws);
const char *jws_url(const struct jws *jws);
const char *jws_kid(const struct jws *jws);
EVP_PKEY *jws_jwk(const struct jws *jws);		/* the parsed "jwk" */
const json_t *jws_jwk_json(const struct jws *jws);	/* as sent */

/*
 * The decoded payload: *len bytes followed by a NUL.  Empty ("" and 0)
 * for POST-as-GET (RFC 8555 6.3).
 */
const unsigned char *jws_payload(const struct jws *jws, size_t *len);

/* Free a parsed JWS; NULL does nothing. */
void jws_free(struct jws *jws);

/*
 * The JWS "alg" for signing with `key`: "RS256" (RSA), "ES256" (P-256),
 * "ES384" (P-384), "EdDSA" (Ed25519); NULL for any other key.
 */
const char *jws_alg_for_key(EVP_PKEY *key);

/*
 * Sign `payload_len` bytes of `payload` (NULL or empty for POST-as-GET)
 * as an ACME request to `url` with the private key `key`, the alg coming
 * from jws_alg_for_key().  The protected header carries "kid" when
 * `kid` is not NULL, else the "jwk" of `key`; "nonce" when `nonce` is not
 * NULL (the inner JWS of a keyChange has none).  On success *out_json is
 * the NUL-terminated flattened JWS, freed by the caller with free().
 */
int jws_sign(EVP_PKEY *key, const char *kid, const char *nonce,
    const char *url, const char *payload, size_t payload_len,
    char **out_json, struct hsmca_err *err);

#endif
