/*
 * tests/ca/test_lint.c - ca_lint() against certificates built here, not
 * by ca/issue.c, each case breaking one rule at its boundary.
 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "tests/ca/tutil.h"

#define DAY 86400
#define NOW 1795000000	/* 2026-11: the 200-day maximum is in force */
#define H48 (48 * 3600)

enum { K_EC, K_RSA, K_RSA1024, K_N };
enum { SAN_OK, SAN_NONE, SAN_EXTRA, SAN_CRIT, SAN_EMAIL };

struct lint_case {
	const char *desc;
	int key;
	int64_t prof_days;	/* 0: 90 */
	int64_t span;		/* 0: the profile's validity */
	int64_t nb_off;		/* notBefore - now */
	const char *bc;		/* NULL: critical,CA:FALSE */
	const char *ku;		/* NULL: right for the key */
	const char *eku;	/* NULL: serverAuth; "": none */
	int san;
	const char *cn;		/* NULL: first name; "": none */
	int serial_len;		/* 0: 16 */
	bool bad_aki, bad_issuer, v1;
	int rc;
	const char *why;	/* substring of the detail */
};

static const struct lint_case cases[] = {
	{ "good EC", K_EC },
	{ "good RSA with keyEncipherment", K_RSA, .ku =
	  "critical,digitalSignature,keyEncipherment" },
	{ "validity = profile", K_EC, .span = 90 * DAY },
	{ "validity = profile + 1 s", K_EC, .span = 90 * DAY + 1,
	  .rc = HSMCA_ELINT,
	  .why = "profile's" },
	{ "validity = max in force", K_EC, .prof_days = 400, .span = 200 * DAY },
	{ "validity = max in force + 1 s", K_EC, .prof_days = 400,
	  .span = 200 * DAY + 1, .rc = HSMCA_ELINT,
	  .why = "6.3.2" },
	{ "notBefore 48 h before", K_EC, .nb_off = -H48 },
	{ "notBefore 48 h + 1 s before", K_EC, .nb_off = -H48 - 1,
	  .rc = HSMCA_ELINT,
	  .why = "48 hours" },
	{ "notBefore 48 h after", K_EC, .nb_off = H48 },
	{ "notBefore 48 h + 1 s after", K_EC, .nb_off = H48 + 1,
	  .rc = HSMCA_ELINT,
	  .why = "48 hours" },
	{ "missing SAN", K_EC, .san = SAN_NONE, .rc = HSMCA_ELINT,
	  .why = "subjectAltName missing" },
	{ "SAN with an extra name", K_EC, .san = SAN_EXTRA, .rc = HSMCA_ELINT,
	  .why = "validated names" },
	{ "SAN with an email", K_EC, .san = SAN_EMAIL, .rc = HSMCA_ELINT,
	  .why = "other than dNSName" },
	{ "empty subject, SAN critical", K_EC, .cn = "", .san = SAN_CRIT },
	{ "empty subject, SAN not critical", K_EC, .cn = "",
	  .rc = HSMCA_ELINT,
	  .why = "must be critical when" },
	{ "CN not among the SANs", K_EC, .cn = "other.example",
	  .rc = HSMCA_ELINT,
	  .why = "7.1.4.3" },
	{ "CA:TRUE", K_EC, .bc = "critical,CA:TRUE", .rc = HSMCA_ELINT,
	  .why = "CA:FALSE" },
	{ "basicConstraints not critical", K_EC, .bc = "CA:FALSE",
	  .rc = HSMCA_ELINT,
	  .why = "basicConstraints must be critical" },
	{ "keyEncipherment on EC", K_EC, .ku =
	  "critical,digitalSignature,keyEncipherment", .rc = HSMCA_ELINT,
	  .why = "keyEncipherment on an EC" },
	{ "keyCertSign", K_EC, .ku = "critical,digitalSignature,keyCertSign",
	  .rc = HSMCA_ELINT,
	  .why = "keyCertSign or cRLSign" },
	{ "keyUsage not critical", K_EC, .ku = "digitalSignature",
	  .rc = HSMCA_ELINT,
	  .why = "keyUsage must be critical" },
	{ "no EKU", K_EC, .eku = "", .rc = HSMCA_ELINT,
	  .why = "extKeyUsage missing" },
	{ "EKU clientAuth only", K_EC, .eku = "clientAuth",
	  .rc = HSMCA_ELINT,
	  .why = "lacks serverAuth" },
	{ "EKU with anyExtendedKeyUsage", K_EC, .eku =
	  "serverAuth,anyExtendedKeyUsage", .rc = HSMCA_ELINT,
	  .why = "anyExtendedKeyUsage" },
	{ "AKI not the issuer's SKI", K_EC, .bad_aki = true,
	  .rc = HSMCA_ELINT,
	  .why = "authorityKeyIdentifier" },
	{ "issuer name differs", K_EC, .bad_issuer = true, .rc = HSMCA_ELINT,
	  .why = "4.1.2.4" },
	{ "version 1", K_EC, .v1 = true, .rc = HSMCA_ELINT,
	  .why = "version" },
	{ "serial 8 octets", K_EC, .serial_len = 8, .rc = HSMCA_ELINT,
	  .why = "shorter than 9" },
	{ "serial 9 octets", K_EC, .serial_len = 9 },
	{ "serial 20 octets", K_EC, .serial_len = 20 },
	{ "serial 21 octets (DER)", K_EC, .serial_len = 21,
	  .rc = HSMCA_ELINT,
	  .why = "longer than 20" },
	{ "RSA 1024 key", K_RSA1024, .ku = "critical,digitalSignature",
	  .rc = HSMCA_ELINT,
	  .why = "1024" },
};

static EVP_PKEY *keys[K_N];
static const char *names[] = { "example.com", "www.example.com" };
static X509_NAME *issuer;
static ASN1_OCTET_STRING *ski;

static int
setup(void **state)
{
	static const unsigned char id[20] = { 0x11, 0x22, 0x33 };

	(void)state;
	keys[K_EC] = t_key("ec:P-256");
	keys[K_RSA] = t_key("rsa:2048");
	keys[K_RSA1024] = t_key("rsa:1024");
	issuer = X509_NAME_new();
	X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Test Issuing CA", -1, -1, 0);
	ski = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(ski, id, sizeof(id));
	return keys[K_EC] && keys[K_RSA] && keys[K_RSA1024] ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < K_N; i++)
		EVP_PKEY_free(keys[i]);
	X509_NAME_free(issuer);
	ASN1_OCTET_STRING_free(ski);
	return 0;
}

static void
add_conf(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, NULL, NULL, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

static X509 *
build(const struct lint_case *c, int64_t prof_secs)
{
	X509 *x = X509_new();
	unsigned char serial[21];
	int slen = c->serial_len ? c->serial_len : 16;
	int64_t span = c->span ? c->span : prof_secs;
	int64_t nb = NOW + c->nb_off;
	const char *cn = c->cn ? c->cn : names[0];

	memset(serial, 0x5a, sizeof(serial));
	if (slen == 21) {
		/* 20 content octets with the top bit set: DER needs 21. */
		serial[0] = 0x80;
		slen = 20;
	}
	X509_set_version(x, c->v1 ? X509_VERSION_1 : X509_VERSION_3);
	ASN1_STRING_set(X509_get_serialNumber(x), serial, slen);
	if (c->bad_issuer) {
		X509_NAME *n = X509_NAME_new();
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
		    (const unsigned char *)"Someone Else", -1, -1, 0);
		X509_set_issuer_name(x, n);
		X509_NAME_free(n);
	} else {
		X509_set_issuer_name(x, issuer);
	}
	if (*cn != '\0')
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
		    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb);
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(nb + span - 1));
	X509_set_pubkey(x, keys[c->key]);
	add_conf(x, NID_basic_constraints, c->bc ? c->bc :
	    "critical,CA:FALSE");
	add_conf(x, NID_key_usage, c->ku ? c->ku :
	    "critical,digitalSignature");
	if (c->eku == NULL || *c->eku != '\0')
		add_conf(x, NID_ext_key_usage, c->eku ? c->eku : "serverAuth");
	switch (c->san) {
	case SAN_OK:
		add_conf(x, NID_subject_alt_name,
		    "DNS:example.com,DNS:www.example.com");
		break;
	case SAN_CRIT:
		add_conf(x, NID_subject_alt_name,
		    "critical,DNS:example.com,DNS:www.example.com");
		break;
	case SAN_EXTRA:
		add_conf(x, NID_subject_alt_name,
		    "DNS:example.com,DNS:www.example.com,DNS:x.example.com");
		break;
	case SAN_EMAIL:
		add_conf(x, NID_subject_alt_name,
		    "DNS:example.com,email:a@example.com");
		break;
	}
	{
		AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
		akid->keyid = ASN1_OCTET_STRING_dup(ski);
		if (c->bad_aki)
			akid->keyid->data[0] ^= 0xff;
		X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0);
		AUTHORITY_KEYID_free(akid);
	}
	return x;
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lint_case *c = &cases[i];
		struct ca_profile p = { .name = "t", .max_names = 100 };
		struct ca_lint_ctx lc = { 0 };
		struct hsmca_err err = { 0 };
		X509 *x;
		int rc;

		p.validity_secs = (c->prof_days ? c->prof_days : 90) * DAY;
		x = build(c, p.validity_secs);
		lc.issuer_name = issuer;
		lc.issuer_ski = ski;
		lc.profile = &p;
		lc.names = names;
		lc.nnames = 2;
		lc.now = NOW;
		rc = ca_lint(x, &lc, &err);
		print_message("%-36s rc=%d %s\n", c->desc, rc, err.detail);
		assert_int_equal(rc, c->rc);
		if (rc != 0)
			assert_non_null(strstr(err.detail, c->why));
		X509_free(x);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
