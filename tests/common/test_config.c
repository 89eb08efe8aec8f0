/*
 * tests/common/test_config.c - the configuration table, --set parsing
 * and the INI loader of common/config.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"

/* A temp dir per test, removed by teardown. */
struct fixture {
	char dir[64];
	char path[128];
	struct hsmca_config *cfg;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/hsmca-test-config-XXXXXX");
	if (mkdtemp(f->dir) == NULL || (f->cfg = config_new()) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/hsmca.conf", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	config_free(f->cfg);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
test_defaults(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(config_get(f->cfg, "hsm.module"),
	    "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(config_get(f->cfg, "hsm.token_uri"),
	    "pkcs11:token=hsmca");
	assert_string_equal(config_get(f->cfg, "ca.key_type"), "ec-p256");
	assert_string_equal(config_get(f->cfg, "ca.default_profile"), "dv");
	assert_int_equal(config_get_int(f->cfg, "ca.crl_shards"), 16);
	assert_int_equal(config_get_int(f->cfg, "profile.dv.validity_hours"),
	    2160);
	assert_int_equal(config_get_int(f->cfg,
	    "profile.shortlived.validity_hours"), 160);
	assert_true(config_get_bool(f->cfg, "profile.dv.wildcard"));
	/* A key without a default and a key not in the table. */
	assert_null(config_get(f->cfg, "hsm.softhsm_conf"));
	assert_null(config_get(f->cfg, "no.such"));
	assert_int_equal(config_get_int(f->cfg, "no.such"), 0);
}

static void
test_set_arg(void **state)
{
	static const struct {
		const char *arg;
		int rc;
		const char *key, *value;
	} cases[] = {
		{ "ca.name=Example CA", 0, "ca.name", "Example CA" },
		/* Only the first '=' splits. */
		{ "ca.base_url=http://x/?a=b", 0, "ca.base_url",
		  "http://x/?a=b" },
		{ "ca.name=", 0, "ca.name", "" },
		{ "ca.name", HSMCA_EINVAL, NULL, NULL },
		{ "=value", HSMCA_EINVAL, NULL, NULL },
		{ "", HSMCA_EINVAL, NULL, NULL },
		{ "store.path=", HSMCA_EINVAL, NULL, NULL },	/* empty path */
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hsmca_err err = { 0 };
		int rc = config_set_arg(f->cfg, cases[i].arg, &err);

		assert_int_equal(rc, cases[i].rc);
		assert_int_equal(err.code, cases[i].rc);
		if (rc == 0)
			assert_string_equal(config_get(f->cfg, cases[i].key),
			    cases[i].value);
		else
			assert_true(err.detail[0] != '\0');
	}
	/* A usage mistake is reported as such. */
	{
		struct hsmca_err err = { 0 };

		config_set_arg(f->cfg, "noequals", &err);
		assert_string_equal(err.type, "usage");
		assert_non_null(strstr(err.detail, "KEY=VALUE"));
	}
}

static void
test_unknown_key(void **state)
{
	static const char *const keys[] = {
		"ca.nmae", "nosection", "hsm.module.extra", "profile.dv",
		"profile.gold.bogus", "profile.a.b.validity_hours",
		"profile..validity_hours", "profile.g/d.validity_hours",
		"profile.g*.validity_hours",
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct hsmca_err err = { 0 };

		assert_int_equal(config_set(f->cfg, keys[i], "1", &err),
		    HSMCA_EINVAL);
		assert_non_null(strstr(err.detail, "unknown"));
		assert_non_null(strstr(err.detail, keys[i]));
		assert_null(config_get(f->cfg, keys[i]));
	}
}

static void
test_int_bounds(void **state)
{
	static const struct {
		const char *key, *value;
		int rc;
	} cases[] = {
		{ "ca.crl_shards", "0", HSMCA_EINVAL },
		{ "ca.crl_shards", "1", 0 },
		{ "ca.crl_shards", "4096", 0 },
		{ "ca.crl_shards", "4097", HSMCA_EINVAL },
		{ "ca.crl_shards", "-1", HSMCA_EINVAL },
		{ "ca.crl_shards", "12x", HSMCA_EINVAL },
		{ "ca.crl_shards", "", HSMCA_EINVAL },
		{ "ca.crl_shards", "99999999999999999999", HSMCA_EINVAL },
		{ "ca.root_validity_days", "36500", 0 },
		{ "ca.root_validity_days", "36501", HSMCA_EINVAL },
		{ "profile.dv.validity_hours", "9600", 0 },
		{ "profile.dv.validity_hours", "9601", HSMCA_EINVAL },
		{ "profile.dv.validity_hours", "0", HSMCA_EINVAL },
		{ "profile.gold.max_names", "100", 0 },
		{ "profile.gold.max_names", "101", HSMCA_EINVAL },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hsmca_err err = { 0 };
		char *before = NULL;
		const char *v = config_get(f->cfg, cases[i].key);

		if (v != NULL)
			before = strdup(v);
		assert_int_equal(config_set(f->cfg, cases[i].key,
		    cases[i].value, &err), cases[i].rc);
		if (cases[i].rc == 0) {
			assert_int_equal(config_get_int(f->cfg, cases[i].key),
			    strtoll(cases[i].value, NULL, 10));
		} else {
			/* The detail names the key; the old value stays. */
			assert_non_null(strstr(err.detail, cases[i].key));
			assert_string_equal(config_get(f->cfg, cases[i].key),
			    before);
		}
		free(before);
	}
}

static void
test_bool(void **state)
{
	static const struct {
		const char *value;
		int rc;
		bool b;
	} cases[] = {
		{ "true", 0, true }, { "yes", 0, true }, { "1", 0, true },
		{ "on", 0, true }, { "false", 0, false }, { "no", 0, false },
		{ "0", 0, false }, { "off", 0, false },
		{ "maybe", HSMCA_EINVAL, true }, { "", HSMCA_EINVAL, true },
		{ "2", HSMCA_EINVAL, true },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hsmca_err err = { 0 };

		/* Start each case from true so a refused value shows. */
		assert_int_equal(config_set(f->cfg, "profile.dv.ip", "true",
		    NULL), 0);
		assert_int_equal(config_set(f->cfg, "profile.dv.ip",
		    cases[i].value, &err), cases[i].rc);
		assert_int_equal(config_get_bool(f->cfg, "profile.dv.ip"),
		    cases[i].b);
	}
}

static void
test_profile_template(void **state)
{
	struct fixture *f = *state;

	/* A new profile's keys follow the profile.*.field rows. */
	assert_null(config_get(f->cfg, "profile.gold.validity_hours"));
	assert_int_equal(config_get_int(f->cfg, "profile.gold.max_names"), 100);
	assert_true(config_get_bool(f->cfg, "profile.gold.wildcard"));
	assert_int_equal(config_set(f->cfg, "profile.gold.validity_hours",
	    "48", NULL), 0);
	assert_int_equal(config_get_int(f->cfg, "profile.gold.validity_hours"),
	    48);
	assert_int_equal(config_set(f->cfg, "profile.gold.wildcard", "no",
	    NULL), 0);
	assert_false(config_get_bool(f->cfg, "profile.gold.wildcard"));
	/* The shipped profiles keep their own defaults. */
	assert_int_equal(config_get_int(f->cfg, "profile.dv.validity_hours"),
	    2160);
	assert_true(config_get_bool(f->cfg, "profile.dv.wildcard"));
}

static void
test_load_file(void **state)
{
	struct fixture *f = *state;
	struct hsmca_err err = { 0 };

	write_file(f->path, "; comment\n[ca]\nname = Loaded CA\n"
	    "crl_shards = 32\n[profile.gold]\nvalidity_hours = 24\n");
	assert_int_equal(config_load(f->cfg, f->path, &err), 0);
	assert_string_equal(config_get(f->cfg, "ca.name"), "Loaded CA");
	assert_int_equal(config_get_int(f->cfg, "ca.crl_shards"), 32);
	assert_int_equal(config_get_int(f->cfg, "profile.gold.validity_hours"),
	    24);
}

static void
test_bad_file_unchanged(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *substr;
	} cases[] = {
		/* The first key is fine; the bad second one undoes it. */
		{ "[ca]\nname = New\ncrl_shards = 0\n", HSMCA_EINVAL,
		  "crl_shards" },
		{ "[ca]\nname = New\nnmae = x\n", HSMCA_EINVAL, "ca.nmae" },
		{ "[ca]\nname = New\n[profile.dv]\nwildcard = perhaps\n",
		  HSMCA_EINVAL, "wildcard" },
		{ "[ca]\nname = New\nthis line has no equals sign\n",
		  HSMCA_EINVAL, ":3" },
	};
	struct fixture *f = *state;

	assert_int_equal(config_set(f->cfg, "ca.name", "Keep", NULL), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hsmca_err err = { 0 };

		write_file(f->path, cases[i].text);
		assert_int_equal(config_load(f->cfg, f->path, &err),
		    cases[i].rc);
		assert_non_null(strstr(err.detail, f->path));
		assert_non_null(strstr(err.detail, cases[i].substr));
		assert_string_equal(config_get(f->cfg, "ca.name"), "Keep");
		assert_int_equal(config_get_int(f->cfg, "ca.crl_shards"), 16);
	}
	/* A missing file is an I/O error, not a silent default. */
	{
		struct hsmca_err err = { 0 };
		char missing[160];

		snprintf(missing, sizeof(missing), "%s/none.conf", f->dir);
		assert_int_equal(config_load(f->cfg, missing, &err),
		    HSMCA_EIO);
		assert_string_equal(config_get(f->cfg, "ca.name"), "Keep");
	}
}

static void
test_dump_load_roundtrip(void **state)
{
	static const char *const sets[][2] = {
		{ "ca.name", "Round Trip CA" },
		{ "ca.crl_shards", "7" },
		{ "hsm.softhsm_conf", "/var/lib/hsmca/softhsm2.conf" },
		{ "profile.dv.wildcard", "false" },
		{ "profile.gold.validity_hours", "72" },
		{ "profile.gold.ip", "false" },
	};
	static const char *const keys[] = {
		"hsm.module", "hsm.token_uri", "hsm.pin_file", "ca.root_key",
		"ca.base_url", "ca.policy_oid", "store.path",
		"profile.shortlived.validity_hours",
	};
	struct fixture *f = *state;
	struct hsmca_config *back;
	struct hsmca_err err = { 0 };
	FILE *fp;

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		assert_int_equal(config_set(f->cfg, sets[i][0], sets[i][1],
		    NULL), 0);
	assert_non_null(fp = fopen(f->path, "w"));
	assert_int_equal(config_dump(f->cfg, fp), 0);
	assert_int_equal(fclose(fp), 0);

	assert_non_null(back = config_new());
	assert_int_equal(config_load(back, f->path, &err), 0);
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		assert_string_equal(config_get(back, sets[i][0]), sets[i][1]);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_string_equal(config_get(back, keys[i]),
		    config_get(f->cfg, keys[i]));
	config_free(back);
}

static void
test_get_path(void **state)
{
	struct fixture *f = *state;
	char out[64];

	assert_int_equal(config_get_path(f->cfg, "store.path", "/srv/ca", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "/srv/ca/db");
	assert_int_equal(config_set(f->cfg, "store.path", "/data/db", NULL), 0);
	assert_int_equal(config_get_path(f->cfg, "store.path", "/srv/ca", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "/data/db");
	/* Unset, and too long for the buffer. */
	assert_int_equal(config_get_path(f->cfg, "hsm.softhsm_conf", "/x",
	    out, sizeof(out)), HSMCA_EINVAL);
	assert_int_equal(config_get_path(f->cfg, "store.path", "/srv/ca", out,
	    5), HSMCA_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_arg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_int_bounds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profile_template, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_load_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_file_unchanged, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dump_load_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_get_path, setup, teardown),
	};

	return cmocka_run_group_tests_name("common/config", tests, NULL, NULL);
}
