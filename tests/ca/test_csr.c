/*
 * tests/ca/test_csr.c - ca_csr_read() and the key policy of ca/csr.c:
 * PEM and DER, garbled input, a broken signature, key types and sizes.
 */
#define _GNU_SOURCE	/* memmem */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/pem.h>

#include "ca/ca.h"
#include "tests/ca/tutil.h"

static const char *const one_name[] = { "DNS:example.com", NULL };

struct key_case {
	const char *desc;
	const char *spec;	/* t_key() spec */
	int rc;
	const char *type;
	const char *detail;	/* substring of the detail */
};

static const struct key_case key_cases[] = {
	{ "RSA 1024 refused", "rsa:1024", HSMCA_EPOLICY, "badPublicKey",
	  "1024 bits" },
	{ "RSA 2040 refused (one byte short)", "rsa:2040", HSMCA_EPOLICY,
	  "badPublicKey", "2040 bits" },
	{ "RSA 2048 ok", "rsa:2048", 0 },
	{ "RSA 2048 e=3 refused", "rsa:2048:3", HSMCA_EPOLICY, "badPublicKey",
	  "65537" },
	{ "RSA 2048 e=65539 refused", "rsa:2048:65539", HSMCA_EPOLICY,
	  "badPublicKey", "65537" },
	{ "EC P-256 ok", "ec:P-256", 0 },
	{ "EC P-384 ok", "ec:P-384", 0 },
	{ "EC P-521 refused", "ec:P-521", HSMCA_EPOLICY, "badPublicKey",
	  "secp521r1" },
	{ "EC secp256k1 refused", "ec:secp256k1", HSMCA_EPOLICY,
	  "badPublicKey", "secp256k1" },
	{ "Ed25519 refused", "ed25519", HSMCA_EPOLICY, "badPublicKey",
	  "ED25519" },
};

static void
test_key_policy(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		const struct key_case *c = &key_cases[i];
		EVP_PKEY *k = t_key(c->spec);
		struct hsmca_err err = { 0 };
		struct ca_csr *csr = NULL;
		unsigned char *der;
		size_t len;
		int rc;

		assert_non_null(k);
		der = t_csr(k, NULL, one_name, &len);
		rc = ca_csr_check(der, len, NULL, &csr, &err);
		print_message("%-36s rc=%d %s %s\n", c->desc, rc,
		    err.type ? err.type : "", err.detail);
		assert_int_equal(rc, c->rc);
		if (rc != 0) {
			assert_string_equal(err.type, c->type);
			assert_non_null(strstr(err.detail, c->detail));
		} else {
			assert_int_equal(csr->rsa,
			    EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA);
		}
		ca_csr_free(csr);
		free(der);
		EVP_PKEY_free(k);
	}
}

/* Flip one bit of the signature (the last octet of the DER). */
static void
test_bad_signature(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	struct hsmca_err err = { 0 };
	struct ca_csr *csr = NULL;
	size_t len;
	unsigned char *der = t_csr(k, NULL, one_name, &len);

	(void)state;
	assert_int_equal(ca_csr_check(der, len, NULL, &csr, &err), 0);
	ca_csr_free(csr);
	csr = NULL;
	der[len - 1] ^= 0x01;
	assert_int_equal(ca_csr_check(der, len, NULL, &csr, &err),
	    HSMCA_EINVAL);
	assert_string_equal(err.type, "badCSR");
	assert_non_null(strstr(err.detail, "signature"));
	assert_null(csr);
	free(der);
	EVP_PKEY_free(k);
}

/* Also a changed name under an intact signature. */
static void
test_tampered_body(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	struct hsmca_err err = { 0 };
	struct ca_csr *csr = NULL;
	size_t len;
	unsigned char *der = t_csr(k, NULL, one_name, &len), *p;

	(void)state;
	p = memmem(der, len, "example.com", 11);
	assert_non_null(p);
	p[0] = 'f';
	assert_int_equal(ca_csr_check(der, len, NULL, &csr, &err),
	    HSMCA_EINVAL);
	assert_string_equal(err.type, "badCSR");
	free(der);
	EVP_PKEY_free(k);
}

/* Only SHA-2 signatures are accepted on a CSR. */
static void
test_sha1_signature(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	X509_REQ *req = X509_REQ_new();
	struct hsmca_err err = { 0 };
	struct ca_csr *csr = NULL;
	unsigned char *der;
	size_t len;

	(void)state;
	X509_REQ_set_version(req, X509_REQ_VERSION_1);
	X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req),
	    NID_commonName, MBSTRING_UTF8, (const unsigned char *)"a.example",
	    -1, -1, 0);
	X509_REQ_set_pubkey(req, k);
	assert_true(X509_REQ_sign(req, k, EVP_sha1()) > 0);
	der = t_req_der(req, &len);
	assert_int_equal(ca_csr_check(der, len, NULL, &csr, &err),
	    HSMCA_EINVAL);
	assert_string_equal(err.type, "badCSR");
	assert_non_null(strstr(err.detail, "SHA-256"));
	free(der);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

/* An EC key with explicit curve parameters instead of a named curve. */
static void
test_explicit_curve(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	struct hsmca_err err = { 0 };
	struct ca_csr *csr = NULL;
	X509_REQ *req;
	unsigned char *der;
	size_t len;

	(void)state;
	assert_int_equal(EVP_PKEY_set_utf8_string_param(k,
	    "encoding", "explicit"), 1);
	req = t_req(k, "a.example", NULL);
	der = t_req_der(req, &len);
	assert_int_equal(ca_csr_check(der, len, NULL, &csr, &err),
	    HSMCA_EPOLICY);
	assert_string_equal(err.type, "badPublicKey");
	assert_non_null(strstr(err.detail, "namedCurve"));
	free(der);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

/*
 * EC keys on P-256 and P-384 (built from a copy of the curve's
 * parameters): the key equals the requester's, in uncompressed and
 * compressed form; a point off the curve is refused before the
 * signature is looked at, also on a curve the policy refuses (whose key
 * is built from the curve's name).
 */
static void
test_ec_point(void **state)
{
	static const char *const specs[] = { "ec:P-256", "ec:P-384",
	    "ec:P-521" };

	(void)state;
	for (size_t i = 0; i < 3 * 2; i++) {
		EVP_PKEY *k = t_key(specs[i / 2]);
		struct hsmca_err err = { 0 };
		struct ca_csr *csr = NULL;
		const unsigned char *cp;
		unsigned char *der, *p;
		X509_REQ *req;
		size_t len;
		int publen;
		bool compressed = i % 2 == 1, allowed = i / 2 < 2;

		assert_non_null(k);
		if (compressed)
			assert_int_equal(EVP_PKEY_set_utf8_string_param(k,
			    "point-format", "compressed"), 1);
		der = t_csr(k, NULL, one_name, &len);
		/* The point as the CSR carries it. */
		cp = der;
		assert_non_null(req = d2i_X509_REQ(NULL, &cp, (long)len));
		assert_int_equal(X509_PUBKEY_get0_param(NULL, &cp, &publen,
		    NULL, X509_REQ_get_X509_PUBKEY(req)), 1);
		assert_true(publen > 0);
		assert_int_equal(cp[0], compressed ? 0x02 + (cp[0] & 1) :
		    0x04);
		assert_non_null(p = memmem(der, len, cp, (size_t)publen));
		X509_REQ_free(req);
		assert_int_equal(ca_csr_check(der, len, NULL, &csr, &err),
		    allowed ? 0 : HSMCA_EPOLICY);
		if (allowed)
			assert_int_equal(EVP_PKEY_eq(csr->pubkey, k), 1);
		ca_csr_free(csr);
		csr = NULL;
		if (!compressed) {
			/* y + 1 is not on the curve for this x. */
			p[publen - 1] ^= 0x01;
			memset(&err, 0, sizeof(err));
			assert_int_equal(ca_csr_check(der, len, NULL, &csr,
			    &err), HSMCA_EPOLICY);
			assert_string_equal(err.type, "badPublicKey");
			assert_non_null(strstr(err.detail,
			    "not a point on its curve"));
			assert_null(csr);
		}
		free(der);
		EVP_PKEY_free(k);
	}
}

static char *
to_pem(const unsigned char *der, size_t len, const char *label)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *m;
	char *s;

	PEM_write_bio(b, label, "", der, (long)len);
	BIO_get_mem_ptr(b, &m);
	s = strndup(m->data, m->length);
	BIO_free(b);
	return s;
}

struct read_case {
	const char *desc;
	int kind;	/* 0 DER, 1 PEM, 2 literal */
	const char *literal;
	int trim;	/* bytes removed from the DER's end */
	int extra;	/* zero bytes appended to the DER */
	const char *label;
	int rc;
};

static const struct read_case read_cases[] = {
	{ "DER", 0, NULL, 0, 0, NULL, 0 },
	{ "PEM", 1, NULL, 0, 0, "CERTIFICATE REQUEST", 0 },
	{ "PEM, legacy NEW label", 1, NULL, 0, 0, "NEW CERTIFICATE REQUEST",
	  0 },
	{ "PEM, wrong label", 1, NULL, 0, 0, "CERTIFICATE", HSMCA_EINVAL },
	{ "DER, last byte missing", 0, NULL, 1, 0, NULL, HSMCA_EINVAL },
	{ "DER, one byte appended", 0, NULL, 0, 1, NULL, HSMCA_EINVAL },
	{ "empty", 2, "", 0, 0, NULL, HSMCA_EINVAL },
	{ "garbage", 2, "hello, world", 0, 0, NULL, HSMCA_EINVAL },
	{ "PEM armor, bad base64", 2, "-----BEGIN CERTIFICATE REQUEST-----\n"
	  "!!!!\n-----END CERTIFICATE REQUEST-----\n", 0, 0, NULL,
	  HSMCA_EINVAL },
	{ "PEM armor, no end", 2, "-----BEGIN CERTIFICATE REQUEST-----\n"
	  "MIIB\n", 0, 0, NULL, HSMCA_EINVAL },
	{ "PEM of garbage DER", 2, "-----BEGIN CERTIFICATE REQUEST-----\n"
	  "aGVsbG8=\n-----END CERTIFICATE REQUEST-----\n", 0, 0, NULL,
	  HSMCA_EINVAL },
};

static void
test_read(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	size_t len;
	unsigned char *der = t_csr(k, NULL, one_name, &len);

	(void)state;
	for (size_t i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]);
	    i++) {
		const struct read_case *c = &read_cases[i];
		struct hsmca_err err = { 0 };
		unsigned char *in, *out = NULL;
		size_t inlen, outlen = 0;
		int rc;

		if (c->kind == 1) {
			in = (unsigned char *)to_pem(der, len, c->label);
			inlen = strlen((char *)in);
		} else if (c->kind == 0) {
			inlen = len - (size_t)c->trim + (size_t)c->extra;
			in = calloc(1, inlen);
			memcpy(in, der, len - (size_t)c->trim);
		} else {
			in = (unsigned char *)strdup(c->literal);
			inlen = strlen(c->literal);
		}
		rc = ca_csr_read(in, inlen, &out, &outlen, &err);
		print_message("%-28s rc=%d %s %s\n", c->desc, rc,
		    err.type ? err.type : "", err.detail);
		assert_int_equal(rc, c->rc);
		if (rc == 0) {
			assert_int_equal(outlen, len);
			assert_memory_equal(out, der, len);
		} else {
			assert_string_equal(err.type, "badCSR");
			assert_null(out);
		}
		free(out);
		free(in);
	}
	free(der);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_policy),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_tampered_body),
		cmocka_unit_test(test_sha1_signature),
		cmocka_unit_test(test_explicit_curve),
		cmocka_unit_test(test_ec_point),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
