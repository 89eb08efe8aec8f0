/*
 * tests/store/test_durability.c - an acknowledged write survives
 * kill -9.  A child process writes through store_write() from several
 * threads and reports each acknowledged serial on a pipe; the parent
 * kills it mid-stream, reopens the store and finds every acknowledged
 * record, with the indexes consistent.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "tests/store/helpers.h"

#define CHILD_THREADS 4
#define ACKS_WANTED 200
#define MAX_ACKS 100000

struct child_worker {
	struct store *st;
	int fd;
	uint32_t first;
};

static void *
child_worker(void *arg)
{
	struct child_worker *w = arg;
	char *names[] = { "durable.example" };
	struct store_cert c;
	uint32_t i;

	for (i = w->first;; i++) {
		th_cert(&c, i, 1000 + (i % 100), 1 + (i % 5), names, 1);
		if (th_put(w->st, &c) != 0)
			_exit(3);
		/* 4-byte pipe writes are atomic: acks never interleave. */
		if (write(w->fd, &i, sizeof(i)) != (ssize_t)sizeof(i))
			_exit(4);
	}
	return NULL;
}

/* The child: never returns; killed by the parent. */
static void
child(const char *dir, int fd)
{
	struct child_worker w[CHILD_THREADS];
	pthread_t th[CHILD_THREADS];
	struct store *st = NULL;
	int t;

	if (store_open(dir, NULL, &st, NULL) != 0)
		_exit(2);
	for (t = 0; t < CHILD_THREADS; t++) {
		w[t] = (struct child_worker){ st, fd, (uint32_t)t * 1000000 };
		if (pthread_create(&th[t], NULL, child_worker, &w[t]) != 0)
			_exit(5);
	}
	for (;;)
		pause();
}

static void
test_kill9(void **state)
{
	char *tmp = th_tmpdir();
	char dir[4096];
	uint32_t *acks, n;
	size_t nacks = 0, i, problems, records;
	struct store_cert c;
	struct store *st;
	int fds[2], status;
	ssize_t got;
	pid_t pid;

	assert_non_null(tmp);
	assert_non_null(acks = calloc(MAX_ACKS, sizeof(*acks)));
	snprintf(dir, sizeof(dir), "%s", th_path(tmp, "db"));
	/* Create the store first so the child only appends. */
	store_close(th_open(dir));
	assert_int_equal(pipe(fds), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		close(fds[0]);
		child(dir, fds[1]);
	}
	close(fds[1]);
	while (nacks < ACKS_WANTED) {
		got = read(fds[0], &n, sizeof(n));
		if (got < 0 && errno == EINTR)
			continue;
		if (got != (ssize_t)sizeof(n))
			break;
		acks[nacks++] = n;
	}
	assert_int_equal(kill(pid, SIGKILL), 0);
	/* Acks already in the pipe were acknowledged too. */
	while (nacks < MAX_ACKS &&
	    (got = read(fds[0], &n, sizeof(n))) == (ssize_t)sizeof(n))
		acks[nacks++] = n;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_true(nacks >= ACKS_WANTED);
	print_message("%zu acknowledged writes before kill -9\n", nacks);

	st = th_open(dir);
	for (i = 0; i < nacks; i++) {
		th_cert(&c, acks[i], 0, 0, NULL, 0);
		if (store_cert_exists(st, c.serial, c.serial_len) != 1)
			fail_msg("acknowledged serial %u lost", acks[i]);
	}
	assert_int_equal(store_check(st, stderr, &problems, &records, NULL),
	    0);
	assert_int_equal(problems, 0);
	assert_true(records >= nacks);
	store_close(st);
	free(acks);
	th_rmtree(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_kill9, th_cleanup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
