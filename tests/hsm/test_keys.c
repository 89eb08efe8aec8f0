/*
 * tests/hsm/test_keys.c - key generation, key attributes, key opening.
 *
 * One token per test group (token creation and RSA-4096 generation are
 * the slow part); each case uses its own labels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "hsm/hsm_int.h"
#include "sigutil.h"

#include <openssl/x509.h>

static struct fixture fix;

static int
group_setup(void **state)
{
	(void)state;
	return fixture_setup(&fix, 1);
}

static int
group_teardown(void **state)
{
	(void)state;
	fixture_teardown(&fix);
	return 0;
}

static const struct {
	const char *name;
	enum hsm_key_type type;
	int bits;
} gen_cases[] = {
	{ "ec-p256", HSM_KEY_EC_P256, 256 },
	{ "ec-p384", HSM_KEY_EC_P384, 384 },
	{ "rsa-2048", HSM_KEY_RSA_2048, 2048 },
	{ "rsa-3072", HSM_KEY_RSA_3072, 3072 },
	{ "rsa-4096", HSM_KEY_RSA_4096, 4096 },
};

/* Every type: generate, open by label, sign in the token, verify. */
static void
test_generate_sign_verify(void **state)
{
	struct hsmca_err err = { 0 };
	struct hsm_key *key = NULL;
	unsigned char msg[1000];
	char label[64], uri[128];
	size_t i;

	(void)state;
	memset(msg, 'm', sizeof(msg));
	for (i = 0; i < sizeof(gen_cases) / sizeof(gen_cases[0]); i++) {
		snprintf(label, sizeof(label), "gen-%s", gen_cases[i].name);
		snprintf(uri, sizeof(uri), "pkcs11:object=%s", label);
		hsmca_err_clear(&err);
		assert_int_equal(hsm_key_generate(fix.hsm, gen_cases[i].type,
		    label, &err), 0);
		assert_int_equal(hsm_key_open(fix.hsm, uri, &key, &err), 0);
		assert_int_equal(hsm_key_type(key), gen_cases[i].type);
		assert_int_equal(EVP_PKEY_get_bits(hsm_key_public(key)),
		    gen_cases[i].bits);
		assert_int_equal(sign_verify(hsm_key_private(key),
		    hsm_key_public(key), msg, sizeof(msg), 0), 1);
		/* The verifier must be able to say no. */
		assert_int_equal(sign_verify(hsm_key_private(key),
		    hsm_key_public(key), msg, sizeof(msg), 1), 0);
		hsm_key_free(key);
		key = NULL;
	}
}

/* Read one CK_BBOOL attribute through the function list. */
static CK_BBOOL
bool_attr(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t)
{
	CK_BBOOL v = 0x55;
	CK_ATTRIBUTE a = { t, &v, sizeof(v) };

	assert_int_equal(fix.hsm->mod.fl->C_GetAttributeValue(
	    fix.hsm->session, o, &a, 1), CKR_OK);
	return v;
}

static CK_OBJECT_HANDLE
find_one(CK_OBJECT_CLASS cls, const char *label)
{
	struct hsmca_err err = { 0 };
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)(uintptr_t)label, strlen(label) },
	};
	CK_OBJECT_HANDLE o[2];
	CK_ULONG n;

	assert_int_equal(hsm_find_objects(fix.hsm, t, 2, o, 2, &n, &err), 0);
	assert_int_equal(n, 1);
	return o[0];
}

/* The generated private key can sign and nothing else, and never leaves. */
static void
test_attributes(void **state)
{
	struct hsmca_err err = { 0 };
	static const struct {
		CK_ATTRIBUTE_TYPE type;
		const char *name;
		CK_BBOOL want;
	} priv_want[] = {
		{ CKA_TOKEN, "CKA_TOKEN", CK_TRUE },
		{ CKA_PRIVATE, "CKA_PRIVATE", CK_TRUE },
		{ CKA_SENSITIVE, "CKA_SENSITIVE", CK_TRUE },
		{ CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", CK_TRUE },
		{ CKA_EXTRACTABLE, "CKA_EXTRACTABLE", CK_FALSE },
		{ CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", CK_TRUE },
		{ CKA_SIGN, "CKA_SIGN", CK_TRUE },
		{ CKA_DECRYPT, "CKA_DECRYPT", CK_FALSE },
		{ CKA_UNWRAP, "CKA_UNWRAP", CK_FALSE },
		{ CKA_DERIVE, "CKA_DERIVE", CK_FALSE },
	};
	unsigned char *v = NULL, *pid = NULL;
	size_t vlen, pidlen, i, k;
	CK_OBJECT_HANDLE priv, pub;
	const char *labels[] = { "attr-ec", "attr-rsa" };
	enum hsm_key_type types[] = { HSM_KEY_EC_P256, HSM_KEY_RSA_2048 };

	(void)state;
	for (k = 0; k < 2; k++) {
		assert_int_equal(hsm_key_generate(fix.hsm, types[k], labels[k],
		    &err), 0);
		priv = find_one(CKO_PRIVATE_KEY, labels[k]);
		pub = find_one(CKO_PUBLIC_KEY, labels[k]);
		for (i = 0; i < sizeof(priv_want) / sizeof(priv_want[0]); i++) {
			if (bool_attr(priv, priv_want[i].type) !=
			    priv_want[i].want)
				fail_msg("%s: %s is not %d", labels[k],
				    priv_want[i].name, priv_want[i].want);
		}
		assert_int_equal(bool_attr(pub, CKA_TOKEN), CK_TRUE);
		assert_int_equal(bool_attr(pub, CKA_VERIFY), CK_TRUE);
		/* Same 16-byte CKA_ID on both halves. */
		assert_int_equal(hsm_get_attr(fix.hsm, priv, CKA_ID, &v, &vlen,
		    &err), 0);
		assert_int_equal(hsm_get_attr(fix.hsm, pub, CKA_ID, &pid,
		    &pidlen, &err), 0);
		assert_int_equal(vlen, HSM_ID_LEN);
		assert_int_equal(pidlen, vlen);
		assert_memory_equal(v, pid, vlen);
		free(v);
		free(pid);
		v = pid = NULL;
		/* The secret itself is not readable. */
		assert_int_equal(hsm_get_attr(fix.hsm, priv,
		    k == 0 ? CKA_VALUE : CKA_PRIVATE_EXPONENT, &v, &vlen,
		    &err), HSMCA_ENOTFOUND);
		hsmca_err_clear(&err);
	}
}

static void
test_duplicate_label(void **state)
{
	struct hsmca_err err = { 0 };

	(void)state;
	assert_int_equal(hsm_key_generate(fix.hsm, HSM_KEY_EC_P256, "dup",
	    &err), 0);
	/* Another type under the same label is refused as well. */
	assert_int_equal(hsm_key_generate(fix.hsm, HSM_KEY_EC_P384, "dup",
	    &err), HSMCA_EEXIST);
	assert_int_equal(err.code, HSMCA_EEXIST);
	assert_non_null(strstr(err.detail, "\"dup\""));
	/* A label that only extends it is a different label. */
	hsmca_err_clear(&err);
	assert_int_equal(hsm_key_generate(fix.hsm, HSM_KEY_EC_P256, "dup2",
	    &err), 0);
	hsmca_err_clear(&err);
	assert_int_equal(hsm_key_generate(fix.hsm, HSM_KEY_EC_P256, "",
	    &err), HSMCA_EINVAL);
	hsmca_err_clear(&err);
	assert_int_equal(hsm_key_generate(fix.hsm, HSM_KEY_NONE, "none",
	    &err), HSMCA_EINVAL);
	hsmca_err_clear(&err);
	assert_int_equal(hsm_key_generate(fix.hsm, (enum hsm_key_type)99,
	    "bad", &err), HSMCA_EINVAL);
}

/* hsm_key_open: which URIs find the key and which fail how. */
static void
test_key_open_uris(void **state)
{
	static const struct {
		const char *desc;
		const char *uri;
		int code;
		const char *detail;
	} cases[] = {
		{ "by label", "pkcs11:object=open-me", 0, NULL },
		{ "label and token", "pkcs11:token=" FIX_LABEL
		    ";object=open-me", 0, NULL },
		{ "label and type", "pkcs11:object=open-me;type=private", 0,
		    NULL },
		{ "type=public", "pkcs11:object=open-me;type=public",
		    HSMCA_EINVAL, "type=private" },
		{ "type=cert", "pkcs11:object=open-me;type=cert",
		    HSMCA_EINVAL, "type=private" },
		{ "missing key", "pkcs11:object=no-such-key", HSMCA_ENOTFOUND,
		    "pkcs11:object=no-such-key" },
		{ "label prefix only", "pkcs11:object=open-m", HSMCA_ENOTFOUND,
		    "open-m" },
		{ "label plus one", "pkcs11:object=open-me2", HSMCA_ENOTFOUND,
		    "open-me2" },
		{ "wrong id", "pkcs11:object=open-me;id=%01%02",
		    HSMCA_ENOTFOUND, "id=%01%02" },
		{ "other token", "pkcs11:token=other;object=open-me",
		    HSMCA_ENOTFOUND, "a token other than" },
		{ "no object or id", "pkcs11:token=" FIX_LABEL, HSMCA_EINVAL,
		    "neither object= nor id=" },
		{ "not a URI", "object=open-me", HSMCA_EINVAL, "malformed" },
		{ "bad escape", "pkcs11:object=%zz", HSMCA_EINVAL,
		    "malformed" },
		{ "empty", "", HSMCA_EINVAL, "empty" },
	};
	struct hsmca_err err = { 0 };
	struct hsm_key *key = NULL, *byid = NULL;
	unsigned char *id = NULL;
	char uri[256];
	size_t idlen, i, n;
	int rc;

	(void)state;
	assert_int_equal(hsm_key_generate(fix.hsm, HSM_KEY_EC_P256, "open-me",
	    &err), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hsmca_err_clear(&err);
		rc = hsm_key_open(fix.hsm, cases[i].uri, &key, &err);
		if (rc != cases[i].code)
			fail_msg("%s: got %s (%s), want %s", cases[i].desc,
			    hsmca_code_name(rc), err.detail,
			    hsmca_code_name(cases[i].code));
		if (rc == 0) {
			assert_non_null(key);
			hsm_key_free(key);
			key = NULL;
			continue;
		}
		assert_null(key);
		assert_int_equal(err.code, cases[i].code);
		if (strstr(err.detail, cases[i].detail) == NULL)
			fail_msg("%s: detail \"%s\" lacks \"%s\"",
			    cases[i].desc, err.detail, cases[i].detail);
	}
	/* By id= alone, percent-encoded from the object's CKA_ID. */
	assert_int_equal(hsm_get_attr(fix.hsm, find_one(CKO_PRIVATE_KEY,
	    "open-me"), CKA_ID, &id, &idlen, &err), 0);
	n = (size_t)snprintf(uri, sizeof(uri), "pkcs11:id=");
	for (i = 0; i < idlen; i++)
		n += (size_t)snprintf(uri + n, sizeof(uri) - n, "%%%02x", id[i]);
	free(id);
	assert_int_equal(hsm_key_open(fix.hsm, uri, &byid, &err), 0);
	assert_int_equal(hsm_key_type(byid), HSM_KEY_EC_P256);
	hsm_key_free(byid);
	hsm_key_free(NULL);
}

/* X509_sign and X509_CRL_sign (what ca/ does) work with token keys. */
static void
test_x509_sign(void **state)
{
	static const struct {
		const char *label;
		enum hsm_key_type type;
	} cases[] = {
		{ "x509-ec", HSM_KEY_EC_P256 },
		{ "x509-ec384", HSM_KEY_EC_P384 },
		{ "x509-rsa", HSM_KEY_RSA_2048 },
	};
	struct hsmca_err err = { 0 };
	struct hsm_key *key = NULL, *other = NULL;
	X509 *x = NULL;
	X509_CRL *crl = NULL;
	X509_NAME *name = NULL;
	char uri[64];
	size_t i;

	(void)state;
	assert_int_equal(hsm_key_open(fix.hsm, "pkcs11:object=gen-ec-p256",
	    &other, &err), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(hsm_key_generate(fix.hsm, cases[i].type,
		    cases[i].label, &err), 0);
		snprintf(uri, sizeof(uri), "pkcs11:object=%s", cases[i].label);
		assert_int_equal(hsm_key_open(fix.hsm, uri, &key, &err), 0);
		assert_non_null(x = X509_new());
		assert_non_null(name = X509_NAME_new());
		assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN",
		    MBSTRING_ASC, (const unsigned char *)cases[i].label, -1,
		    -1, 0), 1);
		assert_int_equal(X509_set_version(x, 2), 1);
		assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x),
		    (long)i + 1), 1);
		assert_int_equal(X509_set_subject_name(x, name), 1);
		assert_int_equal(X509_set_issuer_name(x, name), 1);
		assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
		assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
		assert_int_equal(X509_set_pubkey(x, hsm_key_public(key)), 1);
		assert_true(X509_sign(x, hsm_key_private(key),
		    EVP_sha256()) > 0);
		assert_int_equal(X509_verify(x, hsm_key_public(key)), 1);
		/* And not with another key. */
		assert_true(X509_verify(x, hsm_key_public(other)) != 1);
		assert_non_null(crl = X509_CRL_new());
		assert_int_equal(X509_CRL_set_issuer_name(crl, name), 1);
		assert_true(X509_CRL_sign(crl, hsm_key_private(key),
		    EVP_sha256()) > 0);
		assert_int_equal(X509_CRL_verify(crl, hsm_key_public(key)), 1);
		X509_CRL_free(crl);
		X509_NAME_free(name);
		X509_free(x);
		hsm_key_free(key);
		key = NULL;
	}
	/*
	 * `other` was opened before three more keys were generated and
	 * libp11's key list re-read: its handle must still sign.
	 */
	assert_int_equal(sign_verify(hsm_key_private(other),
	    hsm_key_public(other), (const unsigned char *)"abc", 3, 0), 1);
	hsm_key_free(other);
}

static void
test_type_names(void **state)
{
	static const struct {
		const char *name;
		int rc;
		enum hsm_key_type type;
	} cases[] = {
		{ "ec-p256", 0, HSM_KEY_EC_P256 },
		{ "ec-p384", 0, HSM_KEY_EC_P384 },
		{ "rsa-2048", 0, HSM_KEY_RSA_2048 },
		{ "rsa-3072", 0, HSM_KEY_RSA_3072 },
		{ "rsa-4096", 0, HSM_KEY_RSA_4096 },
		{ "rsa-1024", HSMCA_EINVAL, HSM_KEY_NONE },
		{ "rsa-8192", HSMCA_EINVAL, HSM_KEY_NONE },
		{ "EC-P256", HSMCA_EINVAL, HSM_KEY_NONE },
		{ "ec-p256 ", HSMCA_EINVAL, HSM_KEY_NONE },
		{ "ec-p25", HSMCA_EINVAL, HSM_KEY_NONE },
		{ "", HSMCA_EINVAL, HSM_KEY_NONE },
		{ NULL, HSMCA_EINVAL, HSM_KEY_NONE },
	};
	enum hsm_key_type t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(hsm_key_type_parse(cases[i].name, &t),
		    cases[i].rc);
		assert_int_equal(t, cases[i].type);
		if (cases[i].rc == 0)
			assert_string_equal(hsm_key_type_name(t),
			    cases[i].name);
	}
	assert_string_equal(hsm_key_type_name(HSM_KEY_NONE), "none");
	assert_string_equal(hsm_key_type_name((enum hsm_key_type)42), "none");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_generate_sign_verify),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_duplicate_label),
		cmocka_unit_test(test_key_open_uris),
		cmocka_unit_test(test_x509_sign),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
