/*
 * tests/cli/test_cli_helpers.c - the shared CLI helpers of tools/cli.c:
 * exit-code table, HSMCA_NOW parsing, ISO times, file reading limits and
 * atomic writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/cli.h"

static void
test_exit_codes(void **state)
{
	static const struct {
		int code, exit;
	} cases[] = {
		{ HSMCA_OK, 0 }, { HSMCA_EINTERNAL, 1 }, { HSMCA_ENOMEM, 1 },
		{ HSMCA_EINVAL, 3 }, { HSMCA_EPOLICY, 3 }, { HSMCA_ELINT, 3 },
		{ HSMCA_ENOTFOUND, 4 }, { HSMCA_EHSM, 5 }, { HSMCA_EPIN, 5 },
		{ HSMCA_EIO, 6 }, { HSMCA_EEXIST, 7 }, { -99, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(cli_exit_code(cases[i].code), cases[i].exit);
}

static void
test_fail_usage(void **state)
{
	struct hsmca_err e = { 0 };

	(void)state;
	/* A usage mistake found late is 2; EEXIST typed "usage" stays 7. */
	hsmca_err_set(&e, HSMCA_EINVAL, "usage", "no state directory");
	assert_int_equal(cli_fail(&e), CLI_EXIT_USAGE);
	hsmca_err_clear(&e);
	hsmca_err_set(&e, HSMCA_EEXIST, "usage", "already holds a CA");
	assert_int_equal(cli_fail(&e), CLI_EXIT_EXISTS);
	hsmca_err_clear(&e);
	hsmca_err_set(&e, HSMCA_EINVAL, "badCSR", "garbled");
	assert_int_equal(cli_fail(&e), CLI_EXIT_INPUT);
}

static void
test_clock(void **state)
{
	static const struct {
		const char *env;	/* NULL: unset */
		int rc;
		int64_t now;		/* -1: real time */
	} cases[] = {
		{ NULL, 0, -1 }, { "", 0, -1 }, { "0", 0, 0 },
		{ "1767225600", 0, 1767225600 },
		{ "-1", HSMCA_EINVAL, -1 }, { "12x", HSMCA_EINVAL, -1 },
		{ "yesterday", HSMCA_EINVAL, -1 },
		{ "99999999999999999999", HSMCA_EINVAL, -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hsmca_err e = { 0 };
		int64_t slot = -5;
		ca_clock_fn fn;
		void *arg;

		if (cases[i].env == NULL)
			unsetenv("HSMCA_NOW");
		else
			setenv("HSMCA_NOW", cases[i].env, 1);
		assert_int_equal(cli_clock(&slot, &fn, &arg, &e), cases[i].rc);
		if (cases[i].rc == 0 && cases[i].now >= 0) {
			assert_non_null(fn);
			assert_int_equal(fn(arg), cases[i].now);
			assert_int_equal(cli_now(), cases[i].now);
		} else
			assert_null(fn);
	}
	unsetenv("HSMCA_NOW");
}

static void
test_time_iso(void **state)
{
	char buf[32];

	(void)state;
	cli_time_iso(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	cli_time_iso(2147483648LL, buf, sizeof(buf));
	assert_string_equal(buf, "2038-01-19T03:14:08Z");
	cli_time_iso(1795392000LL - 1, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22T23:59:59Z");
}

/* Number of entries in dir other than . and .. */
static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_files(void **state)
{
	char dir[] = "/tmp/hsmca-test-cli-XXXXXX", path[128], bad[160];
	struct hsmca_err e = { 0 };
	unsigned char *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.pem", dir);

	/* Atomic write, then replace; no temporary file stays behind. */
	assert_int_equal(cli_write_atomic(path, "first\n", 6, &e), 0);
	assert_int_equal(cli_write_atomic(path, "second\n", 7, &e), 0);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(cli_read_file(path, 0, &buf, &len, &e), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "second\n", 7);
	free(buf);
	buf = NULL;

	/* Limits: exactly max is fine, one byte over is refused. */
	assert_int_equal(cli_read_file(path, 7, &buf, &len, &e), 0);
	free(buf);
	buf = NULL;
	assert_int_equal(cli_read_file(path, 6, &buf, &len, &e), HSMCA_EINVAL);
	assert_null(buf);
	hsmca_err_clear(&e);

	/* Missing input is not found; an unwritable target is I/O. */
	snprintf(bad, sizeof(bad), "%s/missing.csr", dir);
	assert_int_equal(cli_read_file(bad, 0, &buf, &len, &e),
	    HSMCA_ENOTFOUND);
	hsmca_err_clear(&e);
	snprintf(bad, sizeof(bad), "%s/nodir/out.pem", dir);
	assert_int_equal(cli_write_atomic(bad, "x", 1, &e), HSMCA_EIO);
	assert_int_equal(count_entries(dir), 1);

	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_state_dir(void **state)
{
	struct cli_opts o = { 0 };
	struct hsmca_err e = { 0 };
	char out[PATH_MAX];

	(void)state;
	unsetenv("HSMCA_STATE");
	assert_int_equal(cli_state_dir(&o, out, &e), HSMCA_EINVAL);
	assert_string_equal(e.type, "usage");
	setenv("HSMCA_STATE", "/from/env", 1);
	assert_int_equal(cli_state_dir(&o, out, NULL), 0);
	assert_string_equal(out, "/from/env");
	o.state = "/from/option";
	assert_int_equal(cli_state_dir(&o, out, NULL), 0);
	assert_string_equal(out, "/from/option");
	unsetenv("HSMCA_STATE");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_fail_usage),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_time_iso),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_state_dir),
	};

	return cmocka_run_group_tests_name("tools/cli", tests, NULL, NULL);
}
