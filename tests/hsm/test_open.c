/*
 * tests/hsm/test_open.c - hsm_open's distinct errors, PIN sources and
 * hsm_token_create / hsm_softhsm_setup.
 */
#define _GNU_SOURCE		/* dladdr */

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#define ENV "HSMCA_TEST_PIN"
#define WRONG_PIN "wrong-pin-55512"

static struct fixture fix;
static char text_file[PATH_MAX];	/* exists, not a shared object */
static char crypto_so[PATH_MAX];	/* a shared object, not PKCS#11 */
static char missing_file[PATH_MAX];
static char pin_nl[PATH_MAX], pin_crlf[PATH_MAX], pin_wrong[PATH_MAX];
static char pin_empty[PATH_MAX], pin_0640[PATH_MAX], pin_0604[PATH_MAX];
static char pin_255[PATH_MAX], pin_256[PATH_MAX];

static void
path(char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", fix.dir, name);
}

static int
group_setup(void **state)
{
	char big[300];
	Dl_info info;

	(void)state;
	if (fixture_setup(&fix, 0) != 0)
		return -1;
	path(text_file, "not-a-module.so");
	path(missing_file, "no-such-file");
	path(pin_nl, "pin-nl");
	path(pin_crlf, "pin-crlf");
	path(pin_wrong, "pin-wrong");
	path(pin_empty, "pin-empty");
	path(pin_0640, "pin-0640");
	path(pin_0604, "pin-0604");
	path(pin_255, "pin-255");
	path(pin_256, "pin-256");
	if (dladdr((void *)(uintptr_t)EVP_sha256, &info) == 0 ||
	    info.dli_fname == NULL)
		return -1;
	snprintf(crypto_so, sizeof(crypto_so), "%s", info.dli_fname);
	memset(big, 'x', sizeof(big));
	big[255] = '\0';
	if (fixture_write(text_file, "hello\n", 0644) != 0 ||
	    fixture_write(pin_nl, FIX_PIN, 0600) != 0 ||
	    fixture_write(pin_crlf, FIX_PIN "\r\n", 0400) != 0 ||
	    fixture_write(pin_wrong, WRONG_PIN "\n", 0600) != 0 ||
	    fixture_write(pin_empty, "\n", 0600) != 0 ||
	    fixture_write(pin_0640, FIX_PIN "\n", 0640) != 0 ||
	    fixture_write(pin_0604, FIX_PIN "\n", 0604) != 0 ||
	    fixture_write(pin_255, big, 0600) != 0)
		return -1;
	big[256] = '\0';
	big[255] = 'x';
	if (fixture_write(pin_256, big, 0600) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unsetenv(ENV);
	fixture_teardown(&fix);
	return 0;
}

struct open_case {
	const char *desc;
	const char *module;	/* NULL: the SoftHSM2 module */
	const char *conf;	/* NULL: the fixture's softhsm2.conf */
	const char *uri;	/* NULL: FIX_URI */
	const char *env_value;	/* NULL: ENV unset */
	int use_env;		/* pass ENV as pin_env */
	const char *pin_file;
	int code;
	const char *detail;	/* substring of err.detail */
};

static void
run_cases(const struct open_case *cases, size_t n)
{
	struct hsmca_err err;
	struct hsm_params p;
	struct hsm *hsm = NULL;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		hsmca_err_clear(&err);
		p = fix.params;
		if (cases[i].module != NULL)
			p.module = cases[i].module;
		if (cases[i].conf != NULL)
			p.softhsm_conf = cases[i].conf;
		if (cases[i].uri != NULL)
			p.token_uri = cases[i].uri;
		if (cases[i].env_value != NULL)
			setenv(ENV, cases[i].env_value, 1);
		else
			unsetenv(ENV);
		p.pin_env = cases[i].use_env ? ENV : NULL;
		p.pin_file = cases[i].pin_file;
		rc = hsm_open(&p, &hsm, &err);
		print_message("%-40s %-9s %s\n", cases[i].desc,
		    hsmca_code_name(rc), err.detail);
		if (rc != cases[i].code)
			fail_msg("%s: got %s (%s), want %s", cases[i].desc,
			    hsmca_code_name(rc), err.detail,
			    hsmca_code_name(cases[i].code));
		if (rc == 0) {
			assert_non_null(hsm);
			hsm_close(hsm);
			hsm = NULL;
			continue;
		}
		assert_null(hsm);
		assert_int_equal(err.code, cases[i].code);
		assert_string_equal(err.type, "hsm");
		if (strstr(err.detail, cases[i].detail) == NULL)
			fail_msg("%s: detail \"%s\" lacks \"%s\"",
			    cases[i].desc, err.detail, cases[i].detail);
		/* Neither the right nor a wrong PIN may leak. */
		if (strstr(err.detail, FIX_PIN) != NULL ||
		    strstr(err.detail, WRONG_PIN) != NULL ||
		    strstr(err.detail, "xxxxxxxx") != NULL)
			fail_msg("%s: detail \"%s\" shows a PIN",
			    cases[i].desc, err.detail);
	}
	unsetenv(ENV);
}

static void
test_open_errors(void **state)
{
	const struct open_case cases[] = {
		{ "missing module file", "/nonexistent/libpkcs11.so", NULL, NULL,
		    NULL, 0, fix.pin_file, HSMCA_EHSM,
		    "cannot load PKCS#11 module /nonexistent/libpkcs11.so: "
		    "No such file" },
		{ "text file as module", text_file, NULL, NULL, NULL, 0,
		    fix.pin_file, HSMCA_EHSM, "cannot load PKCS#11 module" },
		{ "library without C_GetFunctionList", crypto_so, NULL, NULL, NULL,
		    0, fix.pin_file, HSMCA_EHSM, "not a PKCS#11 module" },
		{ "empty module path", "", NULL, NULL, NULL, 0, fix.pin_file,
		    HSMCA_EHSM, "no PKCS#11 module" },
		{ "module fails C_Initialize", NULL, missing_file, NULL, NULL,
		    0, fix.pin_file, HSMCA_EHSM, "cannot load PKCS#11 module "
		    FIX_MODULE ": C_Initialize: CKR_" },
		{ "no such token", NULL, NULL, "pkcs11:token=nope", NULL, 0,
		    fix.pin_file, HSMCA_ENOTFOUND,
		    "no token matches pkcs11:token=nope" },
		{ "label prefix", NULL, NULL, "pkcs11:token=hsmca-tes", NULL, 0,
		    fix.pin_file, HSMCA_ENOTFOUND, "hsmca-tes" },
		{ "label plus one", NULL, NULL, "pkcs11:token=hsmca-test2", NULL, 0,
		    fix.pin_file, HSMCA_ENOTFOUND, "hsmca-test2" },
		{ "serial mismatch", NULL, NULL, FIX_URI ";serial=0000", NULL, 0,
		    fix.pin_file, HSMCA_ENOTFOUND, "serial=0000" },
		{ "not a pkcs11 URI", NULL, NULL, "token=" FIX_LABEL, NULL, 0,
		    fix.pin_file, HSMCA_EINVAL, "malformed PKCS#11 URI" },
		{ "bad escape", NULL, NULL, "pkcs11:token=%zz", NULL, 0,
		    fix.pin_file, HSMCA_EINVAL, "malformed PKCS#11 URI" },
		{ "misspelt attribute", NULL, NULL, "pkcs11:tokn=" FIX_LABEL, NULL,
		    0, fix.pin_file, HSMCA_EINVAL, "unrecognised" },
		{ "empty URI", NULL, NULL, "", NULL, 0, fix.pin_file, HSMCA_EINVAL,
		    "empty PKCS#11 URI" },
		{ "wrong PIN", NULL, NULL, NULL, NULL, 0, pin_wrong, HSMCA_EPIN,
		    "token refused the PIN (CKR_PIN_INCORRECT)" },
		{ "no PIN: env unset, file missing", NULL, NULL, NULL, NULL, 1,
		    missing_file, HSMCA_EPIN, "no PIN: environment variable "
		    ENV " is unset and cannot open PIN file" },
		{ "no PIN: nothing configured", NULL, NULL, NULL, NULL, 0, NULL,
		    HSMCA_EPIN, "no PIN" },
		{ "no PIN: env unset, no file", NULL, NULL, NULL, NULL, 1, NULL,
		    HSMCA_EPIN, ENV " is unset" },
		{ "empty PIN file", NULL, NULL, NULL, NULL, 0, pin_empty,
		    HSMCA_EPIN, "is empty" },
		{ "empty PIN variable", NULL, NULL, NULL, "", 1, fix.pin_file,
		    HSMCA_EPIN, "empty PIN" },
		{ "PIN file 0640", NULL, NULL, NULL, NULL, 0, pin_0640, HSMCA_EPIN,
		    "group or others (mode 0640)" },
		{ "PIN file 0604", NULL, NULL, NULL, NULL, 0, pin_0604, HSMCA_EPIN,
		    "group or others (mode 0604)" },
		{ "PIN of 255 bytes reaches the token", NULL, NULL, NULL, NULL, 0,
		    pin_255, HSMCA_EPIN, "token refused the PIN" },
		{ "PIN of 256 bytes", NULL, NULL, NULL, NULL, 0, pin_256,
		    HSMCA_EPIN, "longer than 255 bytes" },
		{ "PIN file is a directory", NULL, NULL, NULL, NULL, 0, fix.dir,
		    HSMCA_EPIN, "not a regular file" },
		{ "wrong PIN in env beats right file", NULL, NULL, NULL, WRONG_PIN,
		    1, fix.pin_file, HSMCA_EPIN, "CKR_PIN_INCORRECT" },
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_open_ok(void **state)
{
	const struct open_case cases[] = {
		{ "PIN file with LF", NULL, NULL, NULL, NULL, 0, fix.pin_file, 0,
		    NULL },
		{ "PIN file without newline", NULL, NULL, NULL, NULL, 0, pin_nl, 0,
		    NULL },
		{ "PIN file with CRLF, mode 0400", NULL, NULL, NULL, NULL, 0,
		    pin_crlf, 0, NULL },
		{ "right PIN in env beats wrong file", NULL, NULL, NULL, FIX_PIN, 1,
		    pin_wrong, 0, NULL },
		{ "env variable set but not asked for", NULL, NULL, NULL, WRONG_PIN,
		    0, fix.pin_file, 0, NULL },
		{ "env unset falls back to file", NULL, NULL, NULL, NULL, 1,
		    fix.pin_file, 0, NULL },
		{ "PIN only in env", NULL, NULL, NULL, FIX_PIN, 1, NULL, 0, NULL },
		{ "URI with manufacturer and model", NULL, NULL, FIX_URI
		    ";manufacturer=SoftHSM%20project;model=SoftHSM%20v2",
		    NULL, 0, fix.pin_file, 0, NULL },
		{ "URI matching every token (only one)", NULL, NULL, "pkcs11:",
		    NULL, 0, fix.pin_file, 0, NULL },
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_token_create(void **state)
{
	struct hsmca_err err = { 0 };
	const struct open_case ambiguous[] = {
		{ "URI matching two tokens", NULL, NULL, "pkcs11:", NULL, 0,
		    fix.pin_file, HSMCA_EINVAL, "2 tokens match" },
	};
	/* 32 bytes: the longest label PKCS#11 can hold. */
	const char *l32 = "abcdefghijklmnopqrstuvwxyz012345";

	(void)state;
	assert_int_equal(hsm_token_create(FIX_MODULE, fix.conf, FIX_LABEL,
	    FIX_SO_PIN, FIX_PIN, &err), HSMCA_EEXIST);
	assert_non_null(strstr(err.detail, FIX_LABEL));
	hsmca_err_clear(&err);
	assert_int_equal(hsm_token_create(FIX_MODULE, fix.conf,
	    "abcdefghijklmnopqrstuvwxyz0123456", FIX_SO_PIN, FIX_PIN, &err),
	    HSMCA_EINVAL);
	hsmca_err_clear(&err);
	assert_int_equal(hsm_token_create(FIX_MODULE, fix.conf, "", FIX_SO_PIN,
	    FIX_PIN, &err), HSMCA_EINVAL);
	hsmca_err_clear(&err);
	assert_int_equal(hsm_token_create(FIX_MODULE, fix.conf, "x", "",
	    FIX_PIN, &err), HSMCA_EPIN);
	hsmca_err_clear(&err);
	assert_int_equal(hsm_token_create("/nonexistent.so", fix.conf, "x",
	    FIX_SO_PIN, FIX_PIN, &err), HSMCA_EHSM);
	assert_non_null(strstr(err.detail, "/nonexistent.so"));
	assert_null(strstr(err.detail, FIX_SO_PIN));
	hsmca_err_clear(&err);
	assert_int_equal(hsm_token_create(FIX_MODULE, fix.conf, l32,
	    FIX_SO_PIN, FIX_PIN, &err), 0);
	run_cases(ambiguous, 1);
}

static void
test_softhsm_setup(void **state)
{
	struct hsmca_err err = { 0 };
	char conf[PATH_MAX], want[PATH_MAX], sub[PATH_MAX / 2 + 16], small[8];
	char rel_conf[PATH_MAX];
	struct stat st;
	FILE *fp;
	char buf[1024];
	size_t n;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/setup", fix.dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(hsm_softhsm_setup(sub, conf, sizeof(conf), &err), 0);
	snprintf(want, sizeof(want), "%s/softhsm2.conf", sub);
	assert_string_equal(conf, want);
	snprintf(want, sizeof(want), "%s/tokens", sub);
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(conf, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	assert_non_null(fp = fopen(conf, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	snprintf(want, sizeof(want), "directories.tokendir = %s/tokens\n", sub);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "objectstore.backend = file\n"));
	assert_non_null(strstr(buf, "log.level = ERROR\n"));
	assert_non_null(strstr(buf, "slots.removable = false\n"));
	/* Again on the same directory: fine, rewritten. */
	assert_int_equal(hsm_softhsm_setup(sub, conf, sizeof(conf), &err), 0);
	/* A relative directory ends up absolute in the file and the path. */
	assert_int_equal(chdir(fix.dir), 0);
	assert_int_equal(hsm_softhsm_setup("setup", rel_conf, sizeof(rel_conf),
	    &err), 0);
	assert_string_equal(rel_conf, conf);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(hsm_softhsm_setup("relative/dir", conf, sizeof(conf),
	    &err), HSMCA_EIO);
	hsmca_err_clear(&err);
	assert_int_equal(hsm_softhsm_setup("", conf, sizeof(conf), &err),
	    HSMCA_EINVAL);
	hsmca_err_clear(&err);
	assert_int_equal(hsm_softhsm_setup(sub, small, sizeof(small), &err),
	    HSMCA_EINVAL);
	hsmca_err_clear(&err);
	snprintf(want, sizeof(want), "%s/missing/deeper", fix.dir);
	assert_int_equal(hsm_softhsm_setup(want, conf, sizeof(conf), &err),
	    HSMCA_EIO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_ok),
		cmocka_unit_test(test_softhsm_setup),
		cmocka_unit_test(test_token_create),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
