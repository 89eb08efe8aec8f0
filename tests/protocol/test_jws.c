/*
 * tests/protocol/test_jws.c - base64url (protocol/b64url.c) and JWS
 * parsing, verification and signing (protocol/jws.c): every rule of RFC
 * 8555 6.2 with the problem type it yields, sign/verify round trips for
 * each alg, tampering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/jws.h"

/* --- base64url ------------------------------------------------------- */

struct b64_case {
	const char *description;
	const char *raw;	/* decoded bytes */
	size_t rawlen;
	const char *enc;
};

/* RFC 4648 10 vectors, in the URL-safe alphabet without padding. */
static const struct b64_case b64_good[] = {
	{ "empty", "", 0, "" },
	{ "1 byte", "f", 1, "Zg" },
	{ "2 bytes", "fo", 2, "Zm8" },
	{ "3 bytes", "foo", 3, "Zm9v" },
	{ "4 bytes", "foob", 4, "Zm9vYg" },
	{ "5 bytes", "fooba", 5, "Zm9vYmE" },
	{ "6 bytes", "foobar", 6, "Zm9vYmFy" },
	{ "62 and 63 use - and _", "\xfb\xff\xbf", 3, "-_-_" },
	{ "NUL bytes", "\0\0", 2, "AAA" },
	{ "all ones", "\xff\xff\xff\xff", 4, "_____w" },
};

static const struct b64_case b64_bad[] = {
	{ "padding", NULL, 0, "Zg==" },
	{ "one pad char", NULL, 0, "Zm8=" },
	{ "standard alphabet +", NULL, 0, "+/8" },
	{ "standard alphabet /", NULL, 0, "Zm9/" },
	{ "newline", NULL, 0, "Zm9v\nYmFy" },
	{ "space", NULL, 0, "Zm9v YmFy" },
	{ "trailing space", NULL, 0, "Zm9v " },
	{ "length 4k+1", NULL, 0, "Zm9vY" },
	{ "single char", NULL, 0, "Z" },
	{ "non-zero pad bits, 2 chars", NULL, 0, "Zh" },
	{ "non-zero pad bits, 3 chars", NULL, 0, "Zm9" },
	{ "non-ASCII", NULL, 0, "Zm\xc3\xa9" },
	{ "dot", NULL, 0, "Zm9v.mFy" },
};

static void
test_b64url_good(void **state)
{
	const struct b64_case *c;
	unsigned char *dec;
	size_t i, len;
	char *enc;

	(void)state;
	for (i = 0; i < sizeof(b64_good) / sizeof(b64_good[0]); i++) {
		c = &b64_good[i];
		enc = b64url_encode((const unsigned char *)c->raw, c->rawlen);
		assert_non_null(enc);
		if (strcmp(enc, c->enc) != 0)
			fail_msg("encode \"%s\": %s, expected %s",
			    c->description, enc, c->enc);
		assert_int_equal(strlen(enc), b64url_encoded_len(c->rawlen));
		free(enc);
		if (b64url_decode(c->enc, strlen(c->enc), &dec, &len,
		    NULL) != 0)
			fail_msg("decode \"%s\" refused", c->description);
		assert_int_equal(len, c->rawlen);
		assert_memory_equal(dec, c->raw, len);
		assert_int_equal(dec[len], 0);
		free(dec);
	}
}

static void
test_b64url_bad(void **state)
{
	const struct b64_case *c;
	struct hsmca_err err;
	unsigned char *dec;
	unsigned char buf[16];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(b64_bad) / sizeof(b64_bad[0]); i++) {
		c = &b64_bad[i];
		hsmca_err_clear(&err);
		if (b64url_decode(c->enc, strlen(c->enc), &dec, &len,
		    &err) != HSMCA_EINVAL)
			fail_msg("decode \"%s\" accepted", c->description);
		assert_null(dec);
		assert_string_equal(err.type, "malformed");
		assert_int_equal(b64url_decode_buf(c->enc, strlen(c->enc),
		    buf, sizeof(buf), &len, NULL), HSMCA_EINVAL);
	}
	/* An embedded NUL is a character outside the alphabet. */
	assert_int_equal(b64url_decode("Zm\0v", 4, &dec, &len, NULL),
	    HSMCA_EINVAL);
}

/* The caller's buffer: exactly large enough, one byte short. */
static void
test_b64url_buf(void **state)
{
	unsigned char buf[3];
	size_t len;

	(void)state;
	assert_int_equal(b64url_decode_buf("Zm9v", 4, buf, 3, &len, NULL), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "foo", 3);
	assert_int_equal(b64url_decode_buf("Zm9v", 4, buf, 2, &len, NULL),
	    HSMCA_EINVAL);
	assert_int_equal(b64url_decode_buf("Zm8", 3, buf, 2, &len, NULL), 0);
	assert_int_equal(len, 2);
}

/* --- JWS fixtures ---------------------------------------------------- */

enum { K_RSA, K_P256, K_P384, K_ED, K_RSA1024, NKEYS };

static EVP_PKEY *keys[NKEYS];
static char *jwks[NKEYS];	/* JSON text of each public key */

static const char *const tokens[NKEYS] = {
	"$JWKRSA", "$JWK256", "$JWK384", "$JWKED", "$JWK1024",
};

static int
setup(void **state)
{
	json_t *jwk;
	int i;

	keys[K_RSA] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	keys[K_P256] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[K_P384] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	keys[K_ED] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	keys[K_RSA1024] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	for (i = 0; i < NKEYS; i++) {
		assert_non_null(keys[i]);
		assert_int_equal(jwk_from_pkey(keys[i], &jwk, NULL), 0);
		jwks[i] = json_dumps(jwk, JSON_COMPACT);
		json_decref(jwk);
	}
	(void)state;
	return 0;
}

static int
teardown(void **state)
{
	int i;

	for (i = 0; i < NKEYS; i++) {
		EVP_PKEY_free(keys[i]);
		free(jwks[i]);
	}
	(void)state;
	return 0;
}

/* `tmpl` with each $JWK... token replaced by that key's JWK. */
static char *
expand(const char *tmpl)
{
	char *out = malloc(16384);
	size_t o = 0, tlen;
	int i;

	while (*tmpl != '\0') {
		for (i = 0; i < NKEYS; i++) {
			tlen = strlen(tokens[i]);
			if (strncmp(tmpl, tokens[i], tlen) == 0)
				break;
		}
		if (i < NKEYS) {
			strcpy(out + o, jwks[i]);
			o += strlen(jwks[i]);
			tmpl += tlen;
		} else
			out[o++] = *tmpl++;
	}
	out[o] = '\0';
	return out;
}

/* A flattened JWS with header `hdr`, `payload` and a dummy signature. */
static char *
make_body(const char *hdr, const char *payload, size_t siglen)
{
	char *h, *hb, *pb, *sb, *out;
	unsigned char sig[1024];

	memset(sig, 0x11, sizeof(sig));
	h = expand(hdr);
	hb = b64url_encode((unsigned char *)h, strlen(h));
	pb = b64url_encode((const unsigned char *)payload, strlen(payload));
	sb = b64url_encode(sig, siglen);
	out = malloc(strlen(hb) + strlen(pb) + strlen(sb) + 64);
	sprintf(out, "{\"protected\":\"%s\",\"payload\":\"%s\","
	    "\"signature\":\"%s\"}", hb, pb, sb);
	free(h);
	free(hb);
	free(pb);
	free(sb);
	return out;
}

#define NONCE "\"nonce\":\"bm9uY2U\""
#define URL "\"url\":\"https://ca.test/acme/new-order\""
#define KID "\"kid\":\"https://ca.test/acme/acct/1\""

struct jws_case {
	const char *description;
	const char *body;	/* raw body, or NULL to build from hdr */
	const char *hdr;
	size_t siglen;
	unsigned int flags;
	int expected;
	const char *type;
};

static const struct jws_case cases[] = {
	/* accepted */
	{ "ES256 with jwk", NULL, "{\"alg\":\"ES256\",\"jwk\":$JWK256,"
	    NONCE "," URL "}", 64, 0, 0, NULL },
	{ "ES256 with kid", NULL, "{\"alg\":\"ES256\"," KID "," NONCE ","
	    URL "}", 64, 0, 0, NULL },
	{ "ES384 with jwk", NULL, "{\"alg\":\"ES384\",\"jwk\":$JWK384,"
	    NONCE "," URL "}", 96, 0, 0, NULL },
	{ "RS256 with jwk", NULL, "{\"alg\":\"RS256\",\"jwk\":$JWKRSA,"
	    NONCE "," URL "}", 256, 0, 0, NULL },
	{ "EdDSA with jwk", NULL, "{\"alg\":\"EdDSA\",\"jwk\":$JWKED,"
	    NONCE "," URL "}", 64, 0, 0, NULL },
	{ "unknown header members ignored", NULL, "{\"alg\":\"ES256\","
	    KID "," NONCE "," URL ",\"typ\":\"JOSE\",\"x-foo\":[1]}", 64, 0,
	    0, NULL },
	{ "keyChange inner JWS", NULL, "{\"alg\":\"ES256\",\"jwk\":$JWK256,"
	    URL "}", 64, JWS_INNER, 0, NULL },
	/* alg */
	{ "alg none", NULL, "{\"alg\":\"none\"," KID "," NONCE "," URL "}",
	    64, 0, HSMCA_EINVAL, "badSignatureAlgorithm" },
	{ "alg HS256", NULL, "{\"alg\":\"HS256\"," KID "," NONCE "," URL "}",
	    32, 0, HSMCA_EINVAL, "badSignatureAlgorithm" },
	{ "alg RS512", NULL, "{\"alg\":\"RS512\"," KID "," NONCE "," URL "}",
	    256, 0, HSMCA_EINVAL, "badSignatureAlgorithm" },
	{ "alg ES512", NULL, "{\"alg\":\"ES512\"," KID "," NONCE "," URL "}",
	    132, 0, HSMCA_EINVAL, "badSignatureAlgorithm" },
	{ "alg PS256", NULL, "{\"alg\":\"PS256\"," KID "," NONCE "," URL "}",
	    256, 0, HSMCA_EINVAL, "badSignatureAlgorithm" },
	{ "alg lower case", NULL, "{\"alg\":\"es256\"," KID "," NONCE ","
	    URL "}", 64, 0, HSMCA_EINVAL, "badSignatureAlgorithm" },
	{ "alg missing", NULL, "{" KID "," NONCE "," URL "}", 64, 0,
	    HSMCA_EINVAL, "malformed" },
	{ "alg not a string", NULL, "{\"alg\":256," KID "," NONCE "," URL
	    "}", 64, 0, HSMCA_EINVAL, "malformed" },
	/* key */
	{ "jwk and kid", NULL, "{\"alg\":\"ES256\",\"jwk\":$JWK256," KID ","
	    NONCE "," URL "}", 64, 0, HSMCA_EINVAL, "malformed" },
	{ "neither jwk nor kid", NULL, "{\"alg\":\"ES256\"," NONCE "," URL
	    "}", 64, 0, HSMCA_EINVAL, "malformed" },
	{ "kid empty", NULL, "{\"alg\":\"ES256\",\"kid\":\"\"," NONCE ","
	    URL "}", 64, 0, HSMCA_EINVAL, "malformed" },
	{ "kid not a string", NULL, "{\"alg\":\"ES256\",\"kid\":1," NONCE ","
	    URL "}", 64, 0, HSMCA_EINVAL, "malformed" },
	{ "jwk not an object", NULL, "{\"alg\":\"ES256\",\"jwk\":\"k\","
	    NONCE "," URL "}", 64, 0, HSMCA_EINVAL, "malformed" },
	{ "jwk RSA 1024", NULL, "{\"alg\":\"RS256\",\"jwk\":$JWK1024,"
	    NONCE "," URL "}", 128, 0, HSMCA_EINVAL, "badPublicKey" },
	{ "ES256 with a P-384 jwk", NULL, "{\"alg\":\"ES256\","
	    "\"jwk\":$JWK384," NONCE "," URL "}", 64, 0, HSMCA_EINVAL,
	    "badSignatureAlgorithm" },
	{ "ES384 with a P-256 jwk", NULL, "{\"alg\":\"ES384\","
	    "\"jwk\":$JWK256," NONCE "," URL "}", 96, 0, HSMCA_EINVAL,
	    "badSignatureAlgorithm" },
	{ "ES256 with an RSA jwk", NULL, "{\"alg\":\"ES256\","
	    "\"jwk\":$JWKRSA," NONCE "," URL "}", 64, 0, HSMCA_EINVAL,
	    "badSignatureAlgorithm" },
	{ "RS256 with an EC jwk", NULL, "{\"alg\":\"RS256\","
	    "\"jwk\":$JWK256," NONCE "," URL "}", 256, 0, HSMCA_EINVAL,
	    "badSignatureAlgorithm" },
	{ "EdDSA with an EC jwk", NULL, "{\"alg\":\"EdDSA\","
	    "\"jwk\":$JWK256," NONCE "," URL "}", 64, 0, HSMCA_EINVAL,
	    "badSignatureAlgorithm" },
	{ "ES256 with an Ed25519 jwk", NULL, "{\"alg\":\"ES256\","
	    "\"jwk\":$JWKED," NONCE "," URL "}", 64, 0, HSMCA_EINVAL,
	    "badSignatureAlgorithm" },
	/* nonce, url */
	{ "nonce missing", NULL, "{\"alg\":\"ES256\"," KID "," URL "}", 64, 0,
	    HSMCA_EINVAL, "badNonce" },
	{ "nonce not base64url", NULL, "{\"alg\":\"ES256\"," KID ","
	    "\"nonce\":\"a+b/\"," URL "}", 64, 0, HSMCA_EINVAL, "malformed" },
	{ "nonce empty", NULL, "{\"alg\":\"ES256\"," KID ",\"nonce\":\"\","
	    URL "}", 64, 0, HSMCA_EINVAL, "malformed" },
	{ "nonce a number", NULL, "{\"alg\":\"ES256\"," KID ",\"nonce\":7,"
	    URL "}", 64, 0, HSMCA_EINVAL, "malformed" },
	{ "url missing", NULL, "{\"alg\":\"ES256\"," KID "," NONCE "}", 64, 0,
	    HSMCA_EINVAL, "malformed" },
	{ "url not a string", NULL, "{\"alg\":\"ES256\"," KID "," NONCE
	    ",\"url\":{}}", 64, 0, HSMCA_EINVAL, "malformed" },
	{ "inner JWS with nonce", NULL, "{\"alg\":\"ES256\","
	    "\"jwk\":$JWK256," NONCE "," URL "}", 64, JWS_INNER,
	    HSMCA_EINVAL, "malformed" },
	{ "inner JWS with kid", NULL, "{\"alg\":\"ES256\"," KID "," URL "}",
	    64, JWS_INNER, HSMCA_EINVAL, "malformed" },
	/* extensions */
	{ "b64 false", NULL, "{\"alg\":\"ES256\"," KID "," NONCE "," URL
	    ",\"b64\":false}", 64, 0, HSMCA_EINVAL, "malformed" },
	{ "crit", NULL, "{\"alg\":\"ES256\"," KID "," NONCE "," URL
	    ",\"crit\":[\"exp\"],\"exp\":1}", 64, 0, HSMCA_EINVAL,
	    "malformed" },
	/* header encoding */
	{ "duplicate header member", NULL, "{\"alg\":\"ES256\"," KID ","
	    NONCE "," URL ",\"alg\":\"ES256\"}", 64, 0, HSMCA_EINVAL,
	    "malformed" },
	{ "header is an array", NULL, "[\"ES256\"]", 64, 0, HSMCA_EINVAL,
	    "malformed" },
	{ "header is not JSON", NULL, "alg=ES256", 64, 0, HSMCA_EINVAL,
	    "malformed" },
	/* signature length */
	{ "ES256 signature 63 bytes", NULL, "{\"alg\":\"ES256\"," KID ","
	    NONCE "," URL "}", 63, 0, HSMCA_EINVAL, "malformed" },
	{ "ES256 signature 65 bytes", NULL, "{\"alg\":\"ES256\"," KID ","
	    NONCE "," URL "}", 65, 0, HSMCA_EINVAL, "malformed" },
	{ "ES256 signature DER-sized (71 bytes)", NULL, "{\"alg\":\"ES256\","
	    KID "," NONCE "," URL "}", 71, 0, HSMCA_EINVAL, "malformed" },
	{ "ES384 signature 95 bytes", NULL, "{\"alg\":\"ES384\"," KID ","
	    NONCE "," URL "}", 95, 0, HSMCA_EINVAL, "malformed" },
	{ "ES384 signature 97 bytes", NULL, "{\"alg\":\"ES384\"," KID ","
	    NONCE "," URL "}", 97, 0, HSMCA_EINVAL, "malformed" },
	{ "EdDSA signature 63 bytes", NULL, "{\"alg\":\"EdDSA\"," KID ","
	    NONCE "," URL "}", 63, 0, HSMCA_EINVAL, "malformed" },
	{ "empty signature", NULL, "{\"alg\":\"RS256\"," KID "," NONCE ","
	    URL "}", 0, 0, HSMCA_EINVAL, "malformed" },
	/* outer object */
	{ "compact serialization", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", NULL, 0,
	    0, HSMCA_EINVAL, "malformed" },
	{ "general serialization", "{\"payload\":\"e30\",\"signatures\":"
	    "[{\"protected\":\"e30\",\"signature\":\"AAAA\"}]}", NULL, 0, 0,
	    HSMCA_EINVAL, "malformed" },
	{ "unprotected header", "{\"protected\":\"e30\",\"header\":{},"
	    "\"payload\":\"\",\"signature\":\"AAAA\"}", NULL, 0, 0,
	    HSMCA_EINVAL, "malformed" },
	{ "extra member", "{\"protected\":\"e30\",\"payload\":\"\","
	    "\"signature\":\"AAAA\",\"x\":1}", NULL, 0, 0, HSMCA_EINVAL,
	    "malformed" },
	{ "missing signature", "{\"protected\":\"e30\",\"payload\":\"\"}",
	    NULL, 0, 0, HSMCA_EINVAL, "malformed" },
	{ "missing payload", "{\"protected\":\"e30\",\"signature\":\"AAAA\"}",
	    NULL, 0, 0, HSMCA_EINVAL, "malformed" },
	{ "protected not a string", "{\"protected\":{},\"payload\":\"\","
	    "\"signature\":\"AAAA\"}", NULL, 0, 0, HSMCA_EINVAL,
	    "malformed" },
	{ "protected empty", "{\"protected\":\"\",\"payload\":\"\","
	    "\"signature\":\"AAAA\"}", NULL, 0, 0, HSMCA_EINVAL, "malformed" },
	{ "protected padded", "{\"protected\":\"e30=\",\"payload\":\"\","
	    "\"signature\":\"AAAA\"}", NULL, 0, 0, HSMCA_EINVAL, "malformed" },
	{ "payload not base64url", "{\"protected\":\"e30\","
	    "\"payload\":\"e30=\",\"signature\":\"AAAA\"}", NULL, 0, 0,
	    HSMCA_EINVAL, "malformed" },
	{ "duplicate outer member", "{\"protected\":\"e30\",\"payload\":\"\","
	    "\"signature\":\"AAAA\",\"payload\":\"\"}", NULL, 0, 0,
	    HSMCA_EINVAL, "malformed" },
	{ "array body", "[]", NULL, 0, 0, HSMCA_EINVAL, "malformed" },
	{ "string body", "\"x\"", NULL, 0, 0, HSMCA_EINVAL, "malformed" },
	{ "empty body", "", NULL, 0, 0, HSMCA_EINVAL, "malformed" },
	{ "trailing garbage", "{\"protected\":\"e30\",\"payload\":\"\","
	    "\"signature\":\"AAAA\"}x", NULL, 0, 0, HSMCA_EINVAL,
	    "malformed" },
};

static void
test_parse_table(void **state)
{
	const struct jws_case *c;
	struct hsmca_err err;
	struct jws *jws;
	char *body;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		body = c->body ? strdup(c->body) :
		    make_body(c->hdr, "{}", c->siglen);
		hsmca_err_clear(&err);
		rc = jws_parse_flags(body, strlen(body), c->flags, &jws, &err);
		if (rc != c->expected || (c->type != NULL &&
		    (err.type == NULL || strcmp(err.type, c->type) != 0)))
			fail_msg("case \"%s\": rc %d type %s (%s); expected "
			    "%d %s", c->description, rc,
			    err.type ? err.type : "-", err.detail, c->expected,
			    c->type ? c->type : "");
		if (rc == 0)
			assert_non_null(jws);
		else
			assert_null(jws);
		jws_free(jws);
		free(body);
	}
}

/* badSignatureAlgorithm names the algorithms that would work. */
static void
test_alg_detail(void **state)
{
	struct hsmca_err err;
	struct jws *jws;
	char *body;
	size_t i;

	(void)state;
	body = make_body("{\"alg\":\"HS256\"," KID "," NONCE "," URL "}",
	    "", 32);
	hsmca_err_clear(&err);
	assert_int_equal(jws_parse(body, strlen(body), &jws, &err),
	    HSMCA_EINVAL);
	for (i = 0; jws_algorithms[i] != NULL; i++)
		assert_non_null(strstr(err.detail, jws_algorithms[i]));
	assert_int_equal(i, 4);
	free(body);
}

/* JWS_MAX_BODY is inclusive: pad a valid body with whitespace. */
static void
test_size_limit(void **state)
{
	struct hsmca_err err;
	struct jws *jws;
	char *body, *big;
	size_t len;

	(void)state;
	body = make_body("{\"alg\":\"ES256\"," KID "," NONCE "," URL "}",
	    "", 64);
	len = strlen(body);
	big = malloc(JWS_MAX_BODY + 2);
	memset(big, ' ', JWS_MAX_BODY + 1);
	memcpy(big, body, len);
	assert_int_equal(jws_parse(big, JWS_MAX_BODY, &jws, NULL), 0);
	jws_free(jws);
	hsmca_err_clear(&err);
	assert_int_equal(jws_parse(big, JWS_MAX_BODY + 1, &jws, &err),
	    HSMCA_EINVAL);
	assert_string_equal(err.type, "malformed");
	assert_null(jws);
	free(big);
	free(body);
}

/* Accessors of a parsed JWS; POST-as-GET has an empty payload. */
static void
test_accessors(void **state)
{
	const unsigned char *p;
	struct jws *jws;
	char *body;
	size_t len;

	(void)state;
	body = make_body("{\"alg\":\"ES256\"," KID "," NONCE "," URL "}",
	    "", 64);
	assert_int_equal(jws_parse(body, strlen(body), &jws, NULL), 0);
	assert_string_equal(jws_alg(jws), "ES256");
	assert_string_equal(jws_kid(jws), "https://ca.test/acme/acct/1");
	assert_string_equal(jws_nonce(jws), "bm9uY2U");
	assert_string_equal(jws_url(jws), "https://ca.test/acme/new-order");
	assert_null(jws_jwk(jws));
	assert_null(jws_jwk_json(jws));
	p = jws_payload(jws, &len);
	assert_int_equal(len, 0);
	assert_string_equal((const char *)p, "");
	jws_free(jws);
	free(body);

	body = make_body("{\"alg\":\"EdDSA\",\"jwk\":$JWKED," NONCE "," URL
	    "}", "{\"a\":1}", 64);
	assert_int_equal(jws_parse(body, strlen(body), &jws, NULL), 0);
	assert_null(jws_kid(jws));
	assert_non_null(jws_jwk_json(jws));
	assert_int_equal(EVP_PKEY_eq(jws_jwk(jws), keys[K_ED]), 1);
	p = jws_payload(jws, &len);
	assert_int_equal(len, 7);
	assert_string_equal((const char *)p, "{\"a\":1}");
	jws_free(jws);
	free(body);
	jws_free(NULL);
}

/* --- sign and verify ------------------------------------------------- */

static const char *const expect_alg[] = { "RS256", "ES256", "ES384",
    "EdDSA" };

/* jws_sign() output parses and verifies, with jwk and with kid. */
static void
test_round_trip(void **state)
{
	static const char payload[] = "{\"identifiers\":[]}";
	struct hsmca_err err;
	struct jws *jws;
	const unsigned char *p;
	char *body;
	size_t len;
	int k;

	(void)state;
	for (k = K_RSA; k <= K_ED; k++) {
		assert_string_equal(jws_alg_for_key(keys[k]), expect_alg[k]);
		/* jwk, nonce */
		hsmca_err_clear(&err);
		assert_int_equal(jws_sign(keys[k], NULL, "bm9uY2U",
		    "https://ca.test/acme/new-acct", payload, strlen(payload),
		    &body, &err), 0);
		assert_int_equal(jws_parse(body, strlen(body), &jws, &err), 0);
		assert_string_equal(jws_alg(jws), expect_alg[k]);
		assert_int_equal(EVP_PKEY_eq(jws_jwk(jws), keys[k]), 1);
		p = jws_payload(jws, &len);
		assert_int_equal(len, strlen(payload));
		assert_memory_equal(p, payload, len);
		if (jws_verify(jws, NULL, &err) != 0)
			fail_msg("%s: %s", expect_alg[k], err.detail);
		assert_int_equal(jws_verify(jws, keys[k], NULL), 0);
		jws_free(jws);
		free(body);
		/* kid, POST-as-GET */
		assert_int_equal(jws_sign(keys[k], "https://ca.test/acct/9",
		    "bm9uY2U", "https://ca.test/acme/order/1", NULL, 0, &body,
		    NULL), 0);
		assert_int_equal(jws_parse(body, strlen(body), &jws, NULL), 0);
		assert_string_equal(jws_kid(jws), "https://ca.test/acct/9");
		assert_int_equal(jws_verify(jws, keys[k], NULL), 0);
		jws_free(jws);
		free(body);
		/* inner keyChange JWS: jwk, no nonce */
		assert_int_equal(jws_sign(keys[k], NULL, NULL,
		    "https://ca.test/acme/key-change", payload,
		    strlen(payload), &body, NULL), 0);
		assert_int_equal(jws_parse_flags(body, strlen(body),
		    JWS_INNER, &jws, NULL), 0);
		assert_null(jws_nonce(jws));
		assert_int_equal(jws_verify(jws, NULL, NULL), 0);
		jws_free(jws);
		assert_int_equal(jws_parse(body, strlen(body), &jws, &err),
		    HSMCA_EINVAL);
		free(body);
	}
}

/* Keys with no JWS alg are refused by the signer. */
static void
test_sign_unsupported(void **state)
{
	EVP_PKEY *key;
	char *body = (char *)1;

	(void)state;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	assert_non_null(key);
	assert_null(jws_alg_for_key(key));
	assert_int_equal(jws_sign(key, NULL, "bm9uY2U", "https://x/", "", 0,
	    &body, NULL), HSMCA_EINVAL);
	assert_null(body);
	EVP_PKEY_free(key);
}

/* Replace member `name` of the JWS text `body` with `value`. */
static char *
replace_member(const char *body, const char *name, const char *value)
{
	json_t *obj;
	char *out;

	obj = json_loads(body, 0, NULL);
	assert_non_null(obj);
	json_object_set_new(obj, name, json_string(value));
	out = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return out;
}

/* The decoded value of member `name`, changed by flipping one bit. */
static char *
flip_member(const char *body, const char *name, size_t at)
{
	json_t *obj;
	unsigned char *raw;
	size_t len;
	char *enc, *out;

	obj = json_loads(body, 0, NULL);
	assert_int_equal(b64url_decode(json_string_value(json_object_get(obj,
	    name)), json_string_length(json_object_get(obj, name)), &raw, &len,
	    NULL), 0);
	/* Negative offsets count from the end (stay inside the JSON). */
	if (at > len)
		at += len;
	assert_true(at < len);
	raw[at] ^= 0x01;
	enc = b64url_encode(raw, len);
	out = replace_member(body, name, enc);
	free(enc);
	free(raw);
	json_decref(obj);
	return out;
}

/* Expect `body` to parse and to fail verification with `key`. */
static void
expect_bad_sig(const char *what, const char *body, EVP_PKEY *key,
    const char *type)
{
	struct hsmca_err err;
	struct jws *jws;

	hsmca_err_clear(&err);
	if (jws_parse(body, strlen(body), &jws, &err) != 0)
		fail_msg("%s: parse: %s", what, err.detail);
	hsmca_err_clear(&err);
	if (jws_verify(jws, key, &err) != HSMCA_EINVAL)
		fail_msg("%s: verified", what);
	assert_string_equal(err.type, type);
	jws_free(jws);
}

/* Tampering with any part breaks the signature. */
static void
test_tamper(void **state)
{
	static const char payload[] = "{\"status\":\"deactivated\"}";
	char *body, *bad, *enc;
	EVP_PKEY *other;
	int k;

	(void)state;
	other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	for (k = K_RSA; k <= K_ED; k++) {
		assert_int_equal(jws_sign(keys[k], "https://ca.test/acct/9",
		    "bm9uY2U", "https://ca.test/acme/acct/9", payload,
		    strlen(payload), &body, NULL), 0);
		bad = flip_member(body, "payload", 3);
		expect_bad_sig("payload", bad, keys[k], "malformed");
		free(bad);
		/* Same payload, different (equivalent) JSON: still bad. */
		enc = b64url_encode((const unsigned char *)"{\"status\": "
		    "\"deactivated\"}", 25);
		bad = replace_member(body, "payload", enc);
		expect_bad_sig("re-encoded payload", bad, keys[k],
		    "malformed");
		free(bad);
		free(enc);
		bad = flip_member(body, "protected", (size_t)-3);
		expect_bad_sig("protected", bad, keys[k], "malformed");
		free(bad);
		bad = flip_member(body, "signature", 10);
		expect_bad_sig("signature", bad, keys[k], "malformed");
		free(bad);
		/* Verified with a key of another type. */
		expect_bad_sig("wrong key type", body,
		    keys[k == K_P256 ? K_P384 : K_P256],
		    "badSignatureAlgorithm");
		free(body);
	}
	/* Right type, wrong key. */
	assert_int_equal(jws_sign(keys[K_P256], "k", "bm9uY2U", "https://x/",
	    "", 0, &body, NULL), 0);
	expect_bad_sig("other P-256 key", body, other, "malformed");
	free(body);
	EVP_PKEY_free(other);
}

/* An ECDSA signature in DER (as OpenSSL makes it) is refused. */
static void
test_ecdsa_der(void **state)
{
	struct hsmca_err err;
	struct jws *jws;
	EVP_MD_CTX *mctx;
	json_t *obj;
	unsigned char der[128];
	size_t derlen = sizeof(der);
	char *body, *bad, *input, *enc;
	const char *prot, *pl;

	(void)state;
	assert_int_equal(jws_sign(keys[K_P256], "k", "bm9uY2U", "https://x/",
	    "{}", 2, &body, NULL), 0);
	obj = json_loads(body, 0, NULL);
	prot = json_string_value(json_object_get(obj, "protected"));
	pl = json_string_value(json_object_get(obj, "payload"));
	input = malloc(strlen(prot) + strlen(pl) + 2);
	sprintf(input, "%s.%s", prot, pl);
	mctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit_ex(mctx, NULL, "SHA256", NULL,
	    NULL, keys[K_P256], NULL), 1);
	assert_int_equal(EVP_DigestSign(mctx, der, &derlen,
	    (unsigned char *)input, strlen(input)), 1);
	enc = b64url_encode(der, derlen);
	bad = replace_member(body, "signature", enc);
	hsmca_err_clear(&err);
	assert_int_equal(jws_parse(bad, strlen(bad), &jws, &err),
	    HSMCA_EINVAL);
	assert_string_equal(err.type, "malformed");
	assert_non_null(strstr(err.detail, "DER"));
	EVP_MD_CTX_free(mctx);
	json_decref(obj);
	free(input);
	free(enc);
	free(bad);
	free(body);
}

/* A kid JWS cannot be verified without the account key. */
static void
test_verify_needs_key(void **state)
{
	struct hsmca_err err;
	struct jws *jws;
	char *body;

	(void)state;
	assert_int_equal(jws_sign(keys[K_ED], "k", "bm9uY2U", "https://x/",
	    "", 0, &body, NULL), 0);
	assert_int_equal(jws_parse(body, strlen(body), &jws, NULL), 0);
	hsmca_err_clear(&err);
	assert_int_equal(jws_verify(jws, NULL, &err), HSMCA_EINTERNAL);
	jws_free(jws);
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_good),
		cmocka_unit_test(test_b64url_bad),
		cmocka_unit_test(test_b64url_buf),
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_alg_detail),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_sign_unsupported),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_ecdsa_der),
		cmocka_unit_test(test_verify_needs_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
