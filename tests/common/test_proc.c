/*
 * tests/common/test_proc.c - proc_no_dump switches core files off for
 * good (a child cannot raise the limit again) and marks the process
 * not dumpable; calling it twice is harmless.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/proc.h"

static void
test_no_dump(void **state)
{
	struct hsmca_err err = { 0 };
	struct rlimit rl;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
	assert_int_equal(proc_no_dump(&err), 0);
	assert_int_equal(proc_no_dump(&err), 0);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_true(rl.rlim_cur == 0 && rl.rlim_max == 0);
	/* A child (a hook, a helper) inherits both limits. */
	if ((pid = fork()) == 0) {
		struct rlimit c;

		_exit(getrlimit(RLIMIT_CORE, &c) == 0 && c.rlim_cur == 0 &&
		    c.rlim_max == 0 ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
