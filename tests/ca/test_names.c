/*
 * tests/ca/test_names.c - the name rules of ca/names.c through
 * ca_csr_check(): one CSR per case, boundaries on both sides.
 */
/* Tables leave trailing fields zero on purpose. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ca/ca.h"
#include "tests/ca/tutil.h"

static EVP_PKEY *key;

enum { ANY = 0, NOWILD = 1, NOIP = 2, MAX2 = 4 };

struct name_case {
	const char *desc;
	const char *cn;
	const char *sans[8];
	int flags;
	int rc;			/* expected return */
	const char *type;	/* expected error type when rc != 0 */
	size_t nnames;		/* expected names when rc == 0 */
	const char *first;	/* expected names[0] when rc == 0 */
};

/* Filled by setup: labels and names at the length limits. */
static char l63[64], l64[65], n253[512], n254[512], dns63[120], dns64[120];
static char dns253[600], dns254[600];

static const struct name_case cases[] = {
	{ "plain name", NULL, { "DNS:example.com" }, ANY, 0, NULL, 1,
	  "example.com" },
	{ "upper case is lower-cased", NULL, { "DNS:WWW.Example.COM" }, ANY,
	  0, NULL, 1, "www.example.com" },
	{ "CN first, duplicates merged", "b.example.com",
	  { "DNS:a.example.com", "DNS:B.example.com" }, ANY, 0, NULL, 2,
	  "b.example.com" },
	{ "underscore", NULL, { "DNS:a_b.example.com" }, ANY, HSMCA_EPOLICY,
	  "rejectedIdentifier" },
	{ "empty label", NULL, { "DNS:a..example.com" }, ANY, HSMCA_EPOLICY,
	  "rejectedIdentifier" },
	{ "leading dot", NULL, { "DNS:.example.com" }, ANY, HSMCA_EPOLICY,
	  "rejectedIdentifier" },
	{ "trailing dot", NULL, { "DNS:example.com." }, ANY, HSMCA_EPOLICY,
	  "rejectedIdentifier" },
	{ "63-character label", NULL, { dns63 }, ANY, 0, NULL, 1 },
	{ "64-character label", NULL, { dns64 }, ANY, HSMCA_EPOLICY,
	  "rejectedIdentifier" },
	{ "253-character name", NULL, { dns253 }, ANY, 0, NULL, 1 },
	{ "254-character name", NULL, { dns254 }, ANY, HSMCA_EPOLICY,
	  "rejectedIdentifier" },
	{ "raw UTF-8", NULL, { "DNS:b\xc3\xbc" "cher.example" }, ANY,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "raw UTF-8 in CN", "b\xc3\xbc" "cher.example", { NULL }, ANY,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "A-label", NULL, { "DNS:xn--bcher-kva.example" }, ANY, 0, NULL, 1 },
	{ "reserved R-LDH label", NULL, { "DNS:ab--cd.example" }, ANY,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "label starts with hyphen", NULL, { "DNS:-a.example.com" }, ANY,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "label ends with hyphen", NULL, { "DNS:a-.example.com" }, ANY,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "space in name", NULL, { "DNS:a b.example.com" }, ANY,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "wildcard allowed", NULL, { "DNS:*.example.com" }, ANY, 0, NULL, 1,
	  "*.example.com" },
	{ "wildcard, profile forbids", NULL, { "DNS:*.example.com" }, NOWILD,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "wildcard alone", NULL, { "DNS:*" }, ANY, HSMCA_EPOLICY,
	  "rejectedIdentifier" },
	{ "wildcard over a TLD", NULL, { "DNS:*.com" }, ANY, HSMCA_EPOLICY,
	  "rejectedIdentifier" },
	{ "wildcard over a public suffix", NULL, { "DNS:*.co.uk" }, ANY,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "wildcard in second label", NULL, { "DNS:a.*.example.com" }, ANY,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "partial wildcard label", NULL, { "DNS:a*.example.com" }, ANY,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "double wildcard", NULL, { "DNS:*.*.example.com" }, ANY,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "IPv4", NULL, { "IP:192.0.2.1" }, ANY, 0, NULL, 1, "192.0.2.1" },
	{ "IPv6", NULL, { "IP:2001:DB8:0:0::1" }, ANY, 0, NULL, 1,
	  "2001:db8::1" },
	{ "IPv4 in CN and SAN merged", "192.0.2.1", { "IP:192.0.2.1" }, ANY,
	  0, NULL, 1, "192.0.2.1" },
	{ "IP, profile forbids", NULL, { "IP:192.0.2.1" }, NOIP,
	  HSMCA_EPOLICY, "unsupportedIdentifier" },
	{ "iPAddress of 5 octets", NULL, { "IPRAW:5" }, ANY, HSMCA_EINVAL,
	  "badCSR" },
	{ "IP address as dNSName", NULL, { "DNS:192.0.2.1" }, ANY,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
	{ "email SAN", NULL, { "DNS:example.com", "email:a@example.com" },
	  ANY, HSMCA_EINVAL, "badCSR" },
	{ "URI SAN", NULL, { "URI:https://example.com/" }, ANY, HSMCA_EINVAL,
	  "badCSR" },
	{ "no identifiers", NULL, { NULL }, ANY, HSMCA_EINVAL, "badCSR" },
	{ "2 names, max 2", NULL, { "DNS:a.example", "DNS:b.example" }, MAX2,
	  0, NULL, 2 },
	{ "3 names with a duplicate, max 2", NULL,
	  { "DNS:a.example", "DNS:b.example", "DNS:A.example" }, MAX2, 0, NULL,
	  2 },
	{ "3 names, max 2", NULL,
	  { "DNS:a.example", "DNS:b.example", "DNS:c.example" }, MAX2,
	  HSMCA_EPOLICY, "rejectedIdentifier" },
};

static int
setup(void **state)
{
	(void)state;
	memset(l63, 'a', 63);
	memset(l64, 'a', 64);
	snprintf(dns63, sizeof(dns63), "DNS:%s.example.com", l63);
	snprintf(dns64, sizeof(dns64), "DNS:%s.example.com", l64);
	/* 63+1+63+1+63+1+61 = 253 */
	snprintf(n253, sizeof(n253), "%s.%s.%s.%.61s", l63, l63, l63, l63);
	snprintf(n254, sizeof(n254), "%s.%s.%s.%.62s", l63, l63, l63, l63);
	snprintf(dns253, sizeof(dns253), "DNS:%s", n253);
	snprintf(dns254, sizeof(dns254), "DNS:%s", n254);
	if (strlen(n253) != 253 || strlen(n254) != 254)
		return -1;
	return (key = t_key("ec:P-256")) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	return 0;
}

static struct ca_profile
profile_for(int flags)
{
	struct ca_profile p = { .name = "test", .validity_secs = 86400,
	    .max_names = 100, .wildcard = true, .ip = true };

	if (flags & NOWILD)
		p.wildcard = false;
	if (flags & NOIP)
		p.ip = false;
	if (flags & MAX2)
		p.max_names = 2;
	return p;
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct name_case *c = &cases[i];
		struct ca_profile p = profile_for(c->flags);
		struct hsmca_err err = { 0 };
		struct ca_csr *csr = NULL;
		unsigned char *der;
		size_t len;
		int rc;

		der = t_csr(key, c->cn, c->sans[0] ? c->sans : NULL, &len);
		rc = ca_csr_check(der, len, &p, &csr, &err);
		print_message("%-36s rc=%d %s %s\n", c->desc, rc,
		    err.type ? err.type : "", err.detail);
		assert_int_equal(rc, c->rc);
		if (rc != 0) {
			assert_string_equal(err.type, c->type);
			assert_null(csr);
		} else {
			assert_int_equal(csr->nnames, c->nnames);
			if (c->first != NULL)
				assert_string_equal(csr->names[0], c->first);
		}
		ca_csr_free(csr);
		free(der);
	}
}

/* 100 names pass the default limit, 101 do not. */
static void
test_max_names(void **state)
{
	static char bufs[101][32];
	const char *sans[102];
	struct ca_profile p = profile_for(ANY);

	(void)state;
	for (int n = 100; n <= 101; n++) {
		struct hsmca_err err = { 0 };
		struct ca_csr *csr = NULL;
		unsigned char *der;
		size_t len;
		int rc;

		for (int i = 0; i < n; i++) {
			snprintf(bufs[i], sizeof(bufs[i]), "DNS:n%d.example",
			    i);
			sans[i] = bufs[i];
		}
		sans[n] = NULL;
		der = t_csr(key, NULL, sans, &len);
		rc = ca_csr_check(der, len, &p, &csr, &err);
		if (n == 100) {
			assert_int_equal(rc, 0);
			assert_int_equal(csr->nnames, 100);
		} else {
			assert_int_equal(rc, HSMCA_EPOLICY);
			assert_string_equal(err.type, "rejectedIdentifier");
		}
		ca_csr_free(csr);
		free(der);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_max_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
