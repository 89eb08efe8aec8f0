/*
 * tests/protocol/test_jwk.c - JWK parsing (protocol/jwk.c): which keys are
 * accepted and why the others are refused, JWK output, RFC 7638 / RFC 8037
 * thumbprints.
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

/* Members of freshly generated keys, substituted into the case table. */
static struct {
	const char *token;
	char *value;
} subst[16];
static size_t nsubst;

static void
add_subst(const char *token, char *value)
{
	assert_true(nsubst < sizeof(subst) / sizeof(subst[0]));
	subst[nsubst].token = token;
	subst[nsubst].value = value;
	nsubst++;
}

/* A copy of member `name` of the JWK of `key`. */
static char *
member_of(EVP_PKEY *key, const char *name)
{
	json_t *jwk = NULL;
	char *s;

	assert_int_equal(jwk_from_pkey(key, &jwk, NULL), 0);
	s = strdup(json_string_value(json_object_get(jwk, name)));
	json_decref(jwk);
	return s;
}

/* base64url of an odd modulus of exactly `bits` bits (top bit set). */
static char *
modulus_of_bits(size_t bits)
{
	size_t len = (bits + 7) / 8;
	unsigned char *buf = malloc(len);
	char *s;

	memset(buf, 0xa5, len);
	buf[0] = (unsigned char)(1u << ((bits - 1) % 8));
	buf[len - 1] |= 1;
	s = b64url_encode(buf, len);
	free(buf);
	return s;
}

/* `b64` re-encoded after changing its bytes with `how`. */
static char *
mutate(const char *b64, int how)
{
	unsigned char *buf, *tmp;
	size_t len;
	char *s;

	assert_int_equal(b64url_decode(b64, strlen(b64), &buf, &len, NULL), 0);
	switch (how) {
	case 0:		/* drop the first byte */
		s = b64url_encode(buf + 1, len - 1);
		break;
	case 1:		/* prepend a zero byte */
		tmp = calloc(1, len + 1);
		memcpy(tmp + 1, buf, len);
		s = b64url_encode(tmp, len + 1);
		free(tmp);
		break;
	case 2:		/* flip the lowest bit */
		buf[len - 1] ^= 1;
		s = b64url_encode(buf, len);
		break;
	default:	/* clear the lowest bit */
		buf[len - 1] &= 0xfe;
		s = b64url_encode(buf, len);
		break;
	}
	free(buf);
	return s;
}

static int
setup(void **state)
{
	EVP_PKEY *rsa, *rsa1024, *p256, *p384, *ed;

	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(rsa);
	assert_non_null(rsa1024);
	assert_non_null(p256);
	assert_non_null(p384);
	assert_non_null(ed);
	add_subst("$N2048", member_of(rsa, "n"));
	add_subst("$N1024", member_of(rsa1024, "n"));
	add_subst("$X256", member_of(p256, "x"));
	add_subst("$Y256", member_of(p256, "y"));
	add_subst("$X384", member_of(p384, "x"));
	add_subst("$Y384", member_of(p384, "y"));
	add_subst("$XED", member_of(ed, "x"));
	add_subst("$NB2047", modulus_of_bits(2047));
	add_subst("$NB2048", modulus_of_bits(2048));
	add_subst("$NB8192", modulus_of_bits(8192));
	add_subst("$NB8193", modulus_of_bits(8193));
	add_subst("$X256SHORT", mutate(subst[2].value, 0));
	add_subst("$X256LONG", mutate(subst[2].value, 1));
	add_subst("$Y256OFF", mutate(subst[3].value, 2));
	add_subst("$NLEAD0", mutate(subst[0].value, 1));
	add_subst("$NEVEN", mutate(subst[0].value, 3));
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(ed);
	(void)state;
	return 0;
}

static int
teardown(void **state)
{
	size_t i;

	for (i = 0; i < nsubst; i++)
		free(subst[i].value);
	nsubst = 0;
	(void)state;
	return 0;
}

/* `tmpl` with each $TOKEN replaced; free() the result. */
static char *
expand(const char *tmpl)
{
	char *out = malloc(65536);
	size_t o = 0, i, best, blen, tlen;

	while (*tmpl != '\0') {
		best = nsubst;
		blen = 0;
		if (*tmpl == '$')
			for (i = 0; i < nsubst; i++) {
				tlen = strlen(subst[i].token);
				if (strncmp(tmpl, subst[i].token, tlen) == 0 &&
				    tlen > blen) {
					best = i;
					blen = tlen;
				}
			}
		if (best < nsubst) {
			strcpy(out + o, subst[best].value);
			o += strlen(subst[best].value);
			tmpl += blen;
		} else
			out[o++] = *tmpl++;
	}
	out[o] = '\0';
	return out;
}

struct jwk_case {
	const char *description;
	const char *input;
	int expected;		/* return code */
	const char *type;	/* expected problem type when refused */
};

static const struct jwk_case cases[] = {
	/* accepted */
	{ "RSA 2048", "{\"kty\":\"RSA\",\"n\":\"$N2048\",\"e\":\"AQAB\"}",
	    0, NULL },
	{ "RSA with extra members", "{\"kty\":\"RSA\",\"n\":\"$N2048\","
	    "\"e\":\"AQAB\",\"use\":\"sig\",\"kid\":\"k1\",\"alg\":\"RS256\"}",
	    0, NULL },
	{ "RSA exactly 2048 bits", "{\"kty\":\"RSA\",\"n\":\"$NB2048\","
	    "\"e\":\"AQAB\"}", 0, NULL },
	{ "RSA exactly 8192 bits", "{\"kty\":\"RSA\",\"n\":\"$NB8192\","
	    "\"e\":\"AQAB\"}", 0, NULL },
	{ "EC P-256", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$X256\","
	    "\"y\":\"$Y256\"}", 0, NULL },
	{ "EC P-384", "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"$X384\","
	    "\"y\":\"$Y384\"}", 0, NULL },
	{ "OKP Ed25519", "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"$XED\"}",
	    0, NULL },
	/* RSA refused */
	{ "RSA 1024", "{\"kty\":\"RSA\",\"n\":\"$N1024\",\"e\":\"AQAB\"}",
	    HSMCA_EINVAL, "badPublicKey" },
	{ "RSA 2047 bits", "{\"kty\":\"RSA\",\"n\":\"$NB2047\","
	    "\"e\":\"AQAB\"}", HSMCA_EINVAL, "badPublicKey" },
	{ "RSA 8193 bits", "{\"kty\":\"RSA\",\"n\":\"$NB8193\","
	    "\"e\":\"AQAB\"}", HSMCA_EINVAL, "badPublicKey" },
	{ "RSA e=3", "{\"kty\":\"RSA\",\"n\":\"$N2048\",\"e\":\"Aw\"}",
	    HSMCA_EINVAL, "badPublicKey" },
	{ "RSA e=65537 with a leading zero", "{\"kty\":\"RSA\","
	    "\"n\":\"$N2048\",\"e\":\"AAEAAQ\"}", HSMCA_EINVAL,
	    "badPublicKey" },
	{ "RSA n with a leading zero", "{\"kty\":\"RSA\",\"n\":\"$NLEAD0\","
	    "\"e\":\"AQAB\"}", HSMCA_EINVAL, "malformed" },
	{ "RSA n even", "{\"kty\":\"RSA\",\"n\":\"$NEVEN\",\"e\":\"AQAB\"}",
	    HSMCA_EINVAL, "badPublicKey" },
	{ "RSA n empty", "{\"kty\":\"RSA\",\"n\":\"\",\"e\":\"AQAB\"}",
	    HSMCA_EINVAL, "malformed" },
	{ "RSA missing n", "{\"kty\":\"RSA\",\"e\":\"AQAB\"}", HSMCA_EINVAL,
	    "malformed" },
	{ "RSA missing e", "{\"kty\":\"RSA\",\"n\":\"$N2048\"}", HSMCA_EINVAL,
	    "malformed" },
	{ "RSA n padded", "{\"kty\":\"RSA\",\"n\":\"$N2048=\","
	    "\"e\":\"AQAB\"}", HSMCA_EINVAL, "malformed" },
	{ "RSA e a number", "{\"kty\":\"RSA\",\"n\":\"$N2048\",\"e\":65537}",
	    HSMCA_EINVAL, "malformed" },
	{ "RSA private key", "{\"kty\":\"RSA\",\"n\":\"$N2048\","
	    "\"e\":\"AQAB\",\"d\":\"AQAB\"}", HSMCA_EINVAL, "malformed" },
	/* EC refused */
	{ "EC x 31 bytes", "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"$X256SHORT\",\"y\":\"$Y256\"}", HSMCA_EINVAL,
	    "malformed" },
	{ "EC x 33 bytes", "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"$X256LONG\",\"y\":\"$Y256\"}", HSMCA_EINVAL,
	    "malformed" },
	{ "EC P-384 coordinates as P-256", "{\"kty\":\"EC\","
	    "\"crv\":\"P-256\",\"x\":\"$X384\",\"y\":\"$Y384\"}",
	    HSMCA_EINVAL, "malformed" },
	{ "EC P-256 coordinates as P-384", "{\"kty\":\"EC\","
	    "\"crv\":\"P-384\",\"x\":\"$X256\",\"y\":\"$Y256\"}",
	    HSMCA_EINVAL, "malformed" },
	{ "EC point off the curve", "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"$X256\",\"y\":\"$Y256OFF\"}", HSMCA_EINVAL,
	    "badPublicKey" },
	{ "EC all-zero point", "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	    "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	    HSMCA_EINVAL, "badPublicKey" },
	{ "EC x = p (not reduced)", "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"_____wAAAAEAAAAAAAAAAAAAAAD_______________8\","
	    "\"y\":\"$Y256\"}", HSMCA_EINVAL, "badPublicKey" },
	{ "EC P-521", "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"$X256\","
	    "\"y\":\"$Y256\"}", HSMCA_EINVAL, "badPublicKey" },
	{ "EC secp256k1", "{\"kty\":\"EC\",\"crv\":\"secp256k1\","
	    "\"x\":\"$X256\",\"y\":\"$Y256\"}", HSMCA_EINVAL, "badPublicKey" },
	{ "EC missing crv", "{\"kty\":\"EC\",\"x\":\"$X256\","
	    "\"y\":\"$Y256\"}", HSMCA_EINVAL, "malformed" },
	{ "EC missing y", "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"$X256\"}", HSMCA_EINVAL, "malformed" },
	{ "EC private key", "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"$X256\",\"y\":\"$Y256\",\"d\":\"$X256\"}", HSMCA_EINVAL,
	    "malformed" },
	/* OKP refused */
	{ "OKP Ed448", "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"$XED\"}",
	    HSMCA_EINVAL, "badPublicKey" },
	{ "OKP X25519", "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"$XED\"}",
	    HSMCA_EINVAL, "badPublicKey" },
	{ "OKP x 31 bytes", "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	    HSMCA_EINVAL, "malformed" },
	{ "OKP x 33 bytes", "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	    HSMCA_EINVAL, "malformed" },
	{ "OKP missing x", "{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}",
	    HSMCA_EINVAL, "malformed" },
	/* structure */
	{ "kty oct", "{\"kty\":\"oct\",\"k\":\"AQAB\"}", HSMCA_EINVAL,
	    "badPublicKey" },
	{ "kty lower case", "{\"kty\":\"rsa\",\"n\":\"$N2048\","
	    "\"e\":\"AQAB\"}", HSMCA_EINVAL, "badPublicKey" },
	{ "missing kty", "{\"n\":\"$N2048\",\"e\":\"AQAB\"}", HSMCA_EINVAL,
	    "malformed" },
	{ "kty not a string", "{\"kty\":1}", HSMCA_EINVAL, "malformed" },
	{ "duplicate member", "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"$X256\",\"y\":\"$Y256\",\"crv\":\"P-256\"}",
	    HSMCA_EINVAL, "malformed" },
	{ "duplicate kty", "{\"kty\":\"EC\",\"kty\":\"RSA\","
	    "\"crv\":\"P-256\",\"x\":\"$X256\",\"y\":\"$Y256\"}",
	    HSMCA_EINVAL, "malformed" },
	{ "array", "[]", HSMCA_EINVAL, "malformed" },
	{ "not JSON", "kty=RSA", HSMCA_EINVAL, "malformed" },
	{ "empty", "", HSMCA_EINVAL, "malformed" },
};

static void
test_table(void **state)
{
	const struct jwk_case *c;
	struct hsmca_err err;
	EVP_PKEY *key;
	char *text;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		text = expand(c->input);
		hsmca_err_clear(&err);
		key = (EVP_PKEY *)1;
		rc = jwk_parse_text(text, strlen(text), &key, &err);
		if (rc != c->expected || (c->type != NULL &&
		    (err.type == NULL || strcmp(err.type, c->type) != 0)))
			fail_msg("case \"%s\": rc %d type %s (%s); expected "
			    "%d %s", c->description, rc,
			    err.type ? err.type : "-", err.detail, c->expected,
			    c->type ? c->type : "");
		if (rc == 0)
			assert_non_null(key);
		else
			assert_null(key);
		EVP_PKEY_free(key);
		free(text);
	}
}

/* RFC 7638 3.1: the example RSA key and its thumbprint. */
static void
test_thumbprint_rfc7638(void **state)
{
	static const char jwk[] = "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPi"
	    "LJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L"
	    "6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93"
	    "lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c"
	    "7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZ"
	    "u0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKn"
	    "qDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
	char tp[JWK_THUMBPRINT_LEN + 1];
	EVP_PKEY *key = NULL;

	(void)state;
	assert_int_equal(jwk_parse_text(jwk, strlen(jwk), &key, NULL), 0);
	assert_int_equal(jwk_thumbprint(key, tp, NULL), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	EVP_PKEY_free(key);
}

/* RFC 8037 A.3: the Ed25519 example key and its thumbprint. */
static void
test_thumbprint_rfc8037(void **state)
{
	static const char jwk[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
	char tp[JWK_THUMBPRINT_LEN + 1];
	EVP_PKEY *key = NULL;

	(void)state;
	assert_int_equal(jwk_parse_text(jwk, strlen(jwk), &key, NULL), 0);
	assert_int_equal(jwk_thumbprint(key, tp, NULL), 0);
	assert_string_equal(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	EVP_PKEY_free(key);
}

/* JWK out, JWK in: same key, same thumbprint; only required members. */
static void
test_round_trip(void **state)
{
	static const char *const specs[][2] = {
	    { "RSA", NULL }, { "EC", "P-256" }, { "EC", "P-384" },
	    { "ED25519", NULL },
	};
	static const size_t nmembers[] = { 3, 4, 4, 3 };
	char tp1[JWK_THUMBPRINT_LEN + 1], tp2[JWK_THUMBPRINT_LEN + 1];
	EVP_PKEY *key, *back;
	json_t *jwk;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		if (specs[i][1] != NULL)
			key = EVP_PKEY_Q_keygen(NULL, NULL, specs[i][0],
			    specs[i][1]);
		else if (strcmp(specs[i][0], "RSA") == 0)
			key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
			    (size_t)2048);
		else
			key = EVP_PKEY_Q_keygen(NULL, NULL, specs[i][0]);
		assert_non_null(key);
		assert_int_equal(jwk_from_pkey(key, &jwk, NULL), 0);
		assert_int_equal(json_object_size(jwk), nmembers[i]);
		assert_int_equal(jwk_parse(jwk, &back, NULL), 0);
		assert_int_equal(EVP_PKEY_eq(key, back), 1);
		assert_int_equal(jwk_thumbprint(key, tp1, NULL), 0);
		assert_int_equal(jwk_thumbprint(back, tp2, NULL), 0);
		assert_string_equal(tp1, tp2);
		assert_int_equal(strlen(tp1), JWK_THUMBPRINT_LEN);
		json_decref(jwk);
		EVP_PKEY_free(back);
		EVP_PKEY_free(key);
	}
}

/* Keys with no JWK here are refused, not mangled. */
static void
test_from_pkey_unsupported(void **state)
{
	struct hsmca_err err;
	EVP_PKEY *key;
	json_t *jwk = NULL;
	char tp[JWK_THUMBPRINT_LEN + 1];

	(void)state;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	assert_non_null(key);
	hsmca_err_clear(&err);
	assert_int_equal(jwk_from_pkey(key, &jwk, &err), HSMCA_EINVAL);
	assert_string_equal(err.type, "badPublicKey");
	assert_null(jwk);
	assert_int_equal(jwk_thumbprint(key, tp, NULL), HSMCA_EINVAL);
	EVP_PKEY_free(key);
	key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	assert_non_null(key);
	assert_int_equal(jwk_from_pkey(key, &jwk, NULL), HSMCA_EINVAL);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_thumbprint_rfc7638),
		cmocka_unit_test(test_thumbprint_rfc8037),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_from_pkey_unsupported),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
