/*
 * tests/e2e/test_hsmcad_helpers.c - the pure helpers of hsmcad's
 * tools/hsmcad_tls.c: the listen port (it goes into every URL handed
 * out, so 0 and garbage are refused) and the base URL built from
 * acme.names (first entry, trimmed, IPv6 in brackets).  Tables of
 * {input, expected}, boundaries on both sides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tools/hsmcad.h"

static void
test_listen_port(void **state)
{
	static const struct {
		const char *listen;
		int port;	/* -1: refused */
	} cases[] = {
		{ "127.0.0.1:14000", 14000 },
		{ "127.0.0.1:1", 1 },
		{ "127.0.0.1:65535", 65535 },
		{ "[::1]:443", 443 },
		{ "[::]:8443", 8443 },
		{ "0.0.0.0:80", 80 },
		{ "127.0.0.1:0", -1 },
		{ "127.0.0.1:65536", -1 },
		{ "127.0.0.1:-1", -1 },
		{ "127.0.0.1:", -1 },
		{ "127.0.0.1", -1 },
		{ "127.0.0.1:80x", -1 },
		{ "127.0.0.1: 80", -1 },
		{ "", -1 },
		{ NULL, -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hsmca_err err = { 0 };
		uint16_t port = 7;
		int rc = hsmcad_listen_port(cases[i].listen, "acme.listen",
		    &port, &err);

		if (cases[i].port < 0) {
			assert_int_equal(rc, HSMCA_EINVAL);
			assert_string_equal(err.type, "config");
			assert_non_null(strstr(err.detail, "acme.listen"));
			assert_int_equal(port, 7);	/* unchanged */
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(port, cases[i].port);
		}
	}
}

static void
test_base_url(void **state)
{
	static const struct {
		const char *names;
		uint16_t port;
		const char *url;	/* NULL: refused */
	} cases[] = {
		{ "localhost,127.0.0.1", 14000, "https://localhost:14000" },
		{ "127.0.0.1,localhost", 443, "https://127.0.0.1:443" },
		{ " ca.example.test , localhost", 8443,
		    "https://ca.example.test:8443" },
		{ ",,acme.example.test", 1, "https://acme.example.test:1" },
		{ "::1,localhost", 14000, "https://[::1]:14000" },
		{ "2001:db8::1", 65535, "https://[2001:db8::1]:65535" },
		{ "", 14000, NULL },
		{ " , ,\t", 14000, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hsmca_config *cfg = config_new();
		struct hsmca_err err = { 0 };
		char url[128] = "";
		int rc;

		assert_non_null(cfg);
		assert_int_equal(config_set(cfg, "acme.names", cases[i].names,
		    &err), 0);
		rc = hsmcad_base_url(cfg, cases[i].port, url, sizeof(url),
		    &err);
		if (cases[i].url == NULL) {
			assert_int_equal(rc, HSMCA_EINVAL);
			assert_non_null(strstr(err.detail, "acme.names"));
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(url, cases[i].url);
		}
		config_free(cfg);
	}
}

/* A URL that does not fit the caller's buffer is refused, not cut. */
static void
test_base_url_too_long(void **state)
{
	struct hsmca_config *cfg = config_new();
	struct hsmca_err err = { 0 };
	char url[32];

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(config_set(cfg, "acme.names", "abcdefghij.example",
	    &err), 0);
	assert_int_equal(hsmcad_base_url(cfg, 14000, url, sizeof(url), &err),
	    HSMCA_EINVAL);
	/* 32 characters: 33 bytes with the NUL fit, 32 did not. */
	{
		char big[33];
		assert_int_equal(hsmcad_base_url(cfg, 14000, big, sizeof(big),
		    &err), 0);
		assert_string_equal(big, "https://abcdefghij.example:14000");
	}
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_port),
		cmocka_unit_test(test_base_url),
		cmocka_unit_test(test_base_url_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
