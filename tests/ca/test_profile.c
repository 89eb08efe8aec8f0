/*
 * tests/ca/test_profile.c - the validity schedule, profiles from the
 * config table, serial generation, hex and CRL shards.
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

#include "ca/ca_int.h"

#define DAY 86400
#define T_2026 1773532800	/* 2026-03-15T00:00:00Z */
#define T_2027 1805068800	/* 2027-03-15T00:00:00Z */
#define T_2029 1868227200	/* 2029-03-15T00:00:00Z */

static const struct {
	const char *desc;
	int64_t at;
	int64_t days;
} max_cases[] = {
	{ "epoch", 0, 398 },
	{ "2026-03-15 minus 1 s", T_2026 - 1, 398 },
	{ "2026-03-15 exactly", T_2026, 200 },
	{ "2027-03-15 minus 1 s", T_2027 - 1, 200 },
	{ "2027-03-15 exactly", T_2027, 100 },
	{ "2029-03-15 minus 1 s", T_2029 - 1, 100 },
	{ "2029-03-15 exactly", T_2029, 47 },
	{ "2040", 2208988800LL, 47 },
};

static void
test_max_validity(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(max_cases) / sizeof(max_cases[0]); i++) {
		print_message("%s\n", max_cases[i].desc);
		assert_int_equal(ca_max_validity(max_cases[i].at),
		    max_cases[i].days * DAY);
	}
}

static void
test_profile_validity(void **state)
{
	struct ca_profile p = { .name = "p", .max_names = 1 };
	struct hsmca_err err = { 0 };

	(void)state;
	p.validity_secs = 47 * DAY;
	assert_int_equal(ca_profile_check_validity(&p, T_2029, &err), 0);
	p.validity_secs = 47 * DAY + 1;
	assert_int_equal(ca_profile_check_validity(&p, T_2029, &err),
	    HSMCA_EPOLICY);
	assert_string_equal(err.type, "malformed");
	assert_non_null(strstr(err.detail, "profile \"p\""));
	hsmca_err_clear(&err);
	assert_int_equal(ca_profile_check_validity(&p, T_2029 - 1, &err), 0);
}

static void
test_profiles_load(void **state)
{
	struct hsmca_config *cfg = config_new();
	struct hsmca_err err = { 0 };
	struct ca *ca = calloc(1, sizeof(*ca));
	struct ca_profile p;

	(void)state;
	assert_int_equal(ca_profiles_load(ca, cfg, &err), 0);
	assert_int_equal(ca->nprofiles, 2);
	assert_int_equal(ca_profile_get(ca, NULL, &p, &err), 0);
	assert_string_equal(p.name, "dv");
	assert_int_equal(p.validity_secs, 90 * DAY);
	assert_int_equal(p.max_names, 100);
	assert_true(p.wildcard);
	assert_true(p.ip);
	assert_int_equal(ca_profile_get(ca, "shortlived", &p, &err), 0);
	assert_int_equal(p.validity_secs, 160 * 3600);
	assert_int_equal(ca_profile_get(ca, "x", &p, &err), HSMCA_ENOTFOUND);
	assert_string_equal(err.type, "malformed");
	assert_string_equal(err.detail,
	    "unknown profile \"x\"; configured: dv, shortlived");

	/* A new profile needs its validity; the rest default. */
	hsmca_err_clear(&err);
	assert_int_equal(config_set(cfg, "ca.profiles", "dv, tiny", &err), 0);
	assert_int_equal(ca_profiles_load(ca, cfg, &err), HSMCA_EINVAL);
	assert_non_null(strstr(err.detail, "profile.tiny.validity_hours"));
	hsmca_err_clear(&err);
	assert_int_equal(config_set(cfg, "profile.tiny.validity_hours", "24",
	    &err), 0);
	assert_int_equal(config_set(cfg, "profile.tiny.wildcard", "false",
	    &err), 0);
	assert_int_equal(config_set(cfg, "profile.tiny.max_names", "3", &err),
	    0);
	assert_int_equal(ca_profiles_load(ca, cfg, &err), 0);
	assert_int_equal(ca_profile_get(ca, "tiny", &p, &err), 0);
	assert_int_equal(p.validity_secs, DAY);
	assert_false(p.wildcard);
	assert_int_equal(p.max_names, 3);
	/* The default must be one of the listed profiles. */
	assert_int_equal(config_set(cfg, "ca.default_profile", "shortlived",
	    &err), 0);
	assert_int_equal(ca_profiles_load(ca, cfg, &err), HSMCA_EINVAL);
	free(ca);
	config_free(cfg);
}

static void
test_serial_new(void **state)
{
	unsigned char s[CA_SERIAL_LEN], first[CA_SERIAL_LEN];

	(void)state;
	assert_int_equal(ca_serial_new(first, NULL), 0);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(ca_serial_new(s, NULL), 0);
		assert_true(s[0] != 0);
		assert_true((s[0] & 0x80) == 0);
		assert_true(memcmp(s, first, sizeof(s)) != 0);
	}
}

static const struct {
	const char *desc;
	const char *hex;
	int rc;
	size_t len;
	const char *canon;
} hex_cases[] = {
	{ "plain", "0a1b", 0, 2, "0a1b" },
	{ "colons and upper case", "0A:1B:FF", 0, 3, "0a1bff" },
	{ "20 octets", "0102030405060708090a0b0c0d0e0f1011121314", 0, 20,
	  "0102030405060708090a0b0c0d0e0f1011121314" },
	{ "21 octets", "0102030405060708090a0b0c0d0e0f101112131415",
	  HSMCA_EINVAL },
	{ "odd digits", "abc", HSMCA_EINVAL },
	{ "empty", "", HSMCA_EINVAL },
	{ "not hex", "zz", HSMCA_EINVAL },
	{ "leading colon", ":0a", HSMCA_EINVAL },
	{ "trailing colon", "0a:", HSMCA_EINVAL },
	{ "double colon", "0a::0b", HSMCA_EINVAL },
	{ "colon inside an octet", "0:a", HSMCA_EINVAL },
};

static void
test_serial_hex(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hex_cases) / sizeof(hex_cases[0]); i++) {
		unsigned char s[STORE_SERIAL_MAX];
		char back[2 * STORE_SERIAL_MAX + 1];
		size_t len = 0;
		int rc = ca_serial_parse(hex_cases[i].hex, s, &len, NULL);

		print_message("%s\n", hex_cases[i].desc);
		assert_int_equal(rc, hex_cases[i].rc);
		if (rc != 0)
			continue;
		assert_int_equal(len, hex_cases[i].len);
		ca_serial_hex(s, len, back);
		assert_string_equal(back, hex_cases[i].canon);
	}
}

static void
test_crl_shard(void **state)
{
	static const unsigned char a[] = { 0x01, 0x00 };	/* 256 */
	static const unsigned char b[] = { 0x7f, 0xff, 0xff, 0xff, 0xff };

	(void)state;
	assert_int_equal(ca_crl_shard(a, sizeof(a), 16), 0);
	assert_int_equal(ca_crl_shard(a, sizeof(a), 255), 1);
	assert_int_equal(ca_crl_shard(a, sizeof(a), 1), 0);
	/* 0x7fffffffff = 549755813887 = 7 * 78536544841 */
	assert_int_equal(ca_crl_shard(b, sizeof(b), 7), 0);
	assert_int_equal(ca_crl_shard(b, sizeof(b), 4096), 4095);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_validity),
		cmocka_unit_test(test_profile_validity),
		cmocka_unit_test(test_profiles_load),
		cmocka_unit_test(test_serial_new),
		cmocka_unit_test(test_serial_hex),
		cmocka_unit_test(test_crl_shard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
