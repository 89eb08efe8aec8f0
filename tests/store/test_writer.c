/*
 * tests/store/test_writer.c - group commit: concurrent writers are
 * batched, one failing write function does not undo the others, a
 * put failure the function ignores still discards its writes, and the
 * map grows from 1 MiB past 16 MiB.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store/store_int.h"
#include "tests/store/helpers.h"

#define NTHREADS 4
#define PER_THREAD 500

struct worker {
	struct store *st;
	uint32_t first;
	int failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char *names[] = { "w.example" };
	struct store_cert c;
	uint32_t i;

	for (i = 0; i < PER_THREAD; i++) {
		th_cert(&c, w->first + i, 2000000000 + i, 1 + w->first, names,
		    1);
		if (th_put(w->st, &c) != 0)
			w->failures++;
	}
	return NULL;
}

static void
test_concurrent_batching(void **state)
{
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct store_stats stats;
	struct store_cert c;
	struct store *st;
	char *tmp = th_tmpdir();
	size_t problems, records;
	uint32_t i;
	int t;

	assert_non_null(tmp);
	st = th_open(th_path(tmp, "db"));
	for (t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){ st, (uint32_t)t * 100000, 0 };
		assert_int_equal(pthread_create(&th[t], NULL, worker_main,
		    &w[t]), 0);
	}
	for (t = 0; t < NTHREADS; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(w[t].failures, 0);
	}
	assert_int_equal(store_stats(st, &stats), 0);
	print_message("%d x %d writes: %llu commits\n", NTHREADS, PER_THREAD,
	    (unsigned long long)stats.commits);
	assert_true(stats.writes == NTHREADS * PER_THREAD);
	assert_true(stats.commits < stats.writes);
	store_close(st);
	/* All stored, durable across a reopen. */
	st = th_open(th_path(tmp, "db"));
	for (t = 0; t < NTHREADS; t++)
		for (i = 0; i < PER_THREAD; i++) {
			th_cert(&c, (uint32_t)t * 100000 + i, 0, 0, NULL, 0);
			assert_int_equal(store_cert_exists(st, c.serial,
			    c.serial_len), 1);
		}
	assert_int_equal(store_check(st, stderr, &problems, &records, NULL),
	    0);
	assert_int_equal(problems, 0);
	assert_int_equal(records, NTHREADS * PER_THREAD);
	store_close(st);
	th_rmtree(tmp);
}

/*
 * One batch holding good and failing write functions.  The first
 * request holds the writer until the others are queued, so they are
 * all taken as the next batch.
 */
enum job_kind { JOB_GOOD, JOB_REFUSE, JOB_DUP, JOB_IGNORED_FAIL };

struct job {
	struct store *st;
	enum job_kind kind;
	uint32_t n;
	int rc;
	struct hsmca_err err;
	pthread_t th;
};

static int
job_fn(struct store_txn *txn, void *arg)
{
	struct job *j = arg;
	struct store_cert c;

	th_cert(&c, j->n, 1000, 0, NULL, 0);
	switch (j->kind) {
	case JOB_GOOD:
		return store_cert_put(txn, &c);
	case JOB_REFUSE:
		/* Wrote, then changed its mind. */
		store_cert_put(txn, &c);
		return HSMCA_EPOLICY;
	case JOB_DUP:
		/* A fresh record, then a serial that is already stored. */
		store_cert_put(txn, &c);
		th_cert(&c, 1, 1000, 0, NULL, 0);
		store_cert_put(txn, &c);
		return store_txn_error(txn);
	case JOB_IGNORED_FAIL:
		/* Ignores the failed put and returns 0. */
		store_cert_put(txn, &c);
		th_cert(&c, 1, 1000, 0, NULL, 0);
		store_cert_put(txn, &c);
		return 0;
	}
	return HSMCA_EINTERNAL;
}

static int queued_target;
static _Atomic int gate_entered;

/* Holds the writer until `queued_target` requests wait behind it. */
static int
gate_fn(struct store_txn *txn, void *arg)
{
	struct store *st = arg;
	struct store_req *r;
	struct timespec ts = { 0, 1000000 };
	int n, tries;

	gate_entered = 1;
	for (tries = 0; tries < 5000; tries++) {
		pthread_mutex_lock(&st->mu);
		for (n = 0, r = st->head; r != NULL; r = r->next)
			n++;
		pthread_mutex_unlock(&st->mu);
		if (n >= queued_target)
			break;
		nanosleep(&ts, NULL);
	}
	return 0;
}

static void *
job_main(void *arg)
{
	struct job *j = arg;

	j->rc = store_write(j->st, job_fn, j, &j->err);
	return NULL;
}

static void *
gate_main(void *arg)
{
	struct store *st = arg;

	store_write(st, gate_fn, st, NULL);
	return NULL;
}

static void
test_failure_isolated(void **state)
{
	static const struct {
		enum job_kind kind;
		uint32_t n;
		int expect;
		int stored;
	} jobs[] = {
		{ JOB_GOOD, 10, 0, 1 },
		{ JOB_REFUSE, 11, HSMCA_EPOLICY, 0 },
		{ JOB_GOOD, 12, 0, 1 },
		{ JOB_DUP, 13, HSMCA_EEXIST, 0 },
		{ JOB_GOOD, 14, 0, 1 },
		{ JOB_IGNORED_FAIL, 15, HSMCA_EEXIST, 0 },
		{ JOB_GOOD, 16, 0, 1 },
	};
	enum { NJOBS = sizeof(jobs) / sizeof(jobs[0]) };
	struct job j[NJOBS];
	struct store_stats before, after;
	struct store_cert c;
	struct store *st;
	pthread_t gate;
	char *tmp = th_tmpdir();
	size_t i;

	assert_non_null(tmp);
	st = th_open(th_path(tmp, "db"));
	th_cert(&c, 1, 1000, 0, NULL, 0);
	assert_int_equal(th_put(st, &c), 0);
	assert_int_equal(store_stats(st, &before), 0);
	queued_target = NJOBS;
	gate_entered = 0;
	assert_int_equal(pthread_create(&gate, NULL, gate_main, st), 0);
	/* The writer is inside the gate's batch before any job queues. */
	while (!gate_entered)
		sched_yield();
	for (i = 0; i < NJOBS; i++) {
		memset(&j[i], 0, sizeof(j[i]));
		j[i].st = st;
		j[i].kind = jobs[i].kind;
		j[i].n = jobs[i].n;
		assert_int_equal(pthread_create(&j[i].th, NULL, job_main,
		    &j[i]), 0);
	}
	pthread_join(gate, NULL);
	for (i = 0; i < NJOBS; i++)
		pthread_join(j[i].th, NULL);
	assert_int_equal(store_stats(st, &after), 0);
	/* The gate's commit, then all jobs in one. */
	assert_true(after.commits - before.commits == 2);
	assert_true(after.writes - before.writes == NJOBS + 1);
	for (i = 0; i < NJOBS; i++) {
		if (j[i].rc != jobs[i].expect)
			fail_msg("job %zu: rc %d, want %d", i, j[i].rc,
			    jobs[i].expect);
		if (jobs[i].expect != 0)
			assert_int_equal(j[i].err.code, jobs[i].expect);
		th_cert(&c, jobs[i].n, 0, 0, NULL, 0);
		assert_int_equal(store_cert_exists(st, c.serial, c.serial_len),
		    jobs[i].stored);
	}
	assert_non_null(strstr(j[3].err.detail, "already stored"));
	store_close(st);
	th_rmtree(tmp);
}

/* Writes of 64 records of 16 KiB each: 1 MiB per call. */
#define BIG_DER (16 * 1024)
#define BIG_PER_CALL 64
#define BIG_CALLS 20		/* 20 MiB in all */

struct big_arg {
	uint32_t first;
	unsigned char *der;
};

static int
big_fn(struct store_txn *txn, void *arg)
{
	struct big_arg *b = arg;
	struct store_cert c;
	uint32_t i;

	for (i = 0; i < BIG_PER_CALL; i++) {
		th_cert(&c, b->first + i, 1000 + i, 0, NULL, 0);
		c.der = b->der;
		c.der_len = BIG_DER;
		store_cert_put(txn, &c);
	}
	return store_txn_error(txn);
}

static void
test_map_growth(void **state)
{
	struct store_opts opts = { .map_size = 1 << 20 };
	struct hsmca_err err = { 0 };
	struct store_stats stats;
	struct store_cert c, *got;
	struct big_arg b;
	struct store *st = NULL;
	char *tmp = th_tmpdir();
	size_t problems, records;
	uint32_t i;

	assert_non_null(tmp);
	assert_non_null(b.der = malloc(BIG_DER));
	for (i = 0; i < BIG_DER; i++)
		b.der[i] = (unsigned char)(i * 7);
	assert_int_equal(store_open(th_path(tmp, "db"), &opts, &st, &err), 0);
	assert_int_equal(store_stats(st, &stats), 0);
	assert_true(stats.map_size == 1 << 20);
	for (i = 0; i < BIG_CALLS; i++) {
		b.first = i * BIG_PER_CALL;
		assert_int_equal(store_write(st, big_fn, &b, &err), 0);
	}
	assert_int_equal(store_stats(st, &stats), 0);
	print_message("map grew %llu times to %zu bytes\n",
	    (unsigned long long)stats.map_grows, stats.map_size);
	assert_true(stats.map_grows >= 5);
	assert_true(stats.map_size >= (size_t)16 << 20);
	store_close(st);
	/* Reopen with the small size asked again: all readable. */
	st = NULL;
	assert_int_equal(store_open(th_path(tmp, "db"), &opts, &st, &err), 0);
	assert_int_equal(store_stats(st, &stats), 0);
	assert_true(stats.map_size >= (size_t)16 << 20);
	for (i = 0; i < BIG_CALLS * BIG_PER_CALL; i++) {
		th_cert(&c, i, 0, 0, NULL, 0);
		assert_int_equal(store_cert_get(st, c.serial, c.serial_len,
		    &got, &err), 0);
		assert_int_equal(got->der_len, BIG_DER);
		assert_memory_equal(got->der, b.der, BIG_DER);
		store_cert_free(got);
	}
	assert_int_equal(store_check(st, stderr, &problems, &records, NULL),
	    0);
	assert_int_equal(problems, 0);
	assert_int_equal(records, BIG_CALLS * BIG_PER_CALL);
	/* A write after growth still works. */
	b.first = 1000000;
	assert_int_equal(store_write(st, big_fn, &b, &err), 0);
	store_close(st);
	free(b.der);
	th_rmtree(tmp);
}

/* Readers running while the map grows see consistent data. */
struct reader {
	struct store *st;
	_Atomic int *stop;
	long reads;
	int errors;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct store_cert c, *got;

	th_cert(&c, 0, 0, 0, NULL, 0);
	while (!*r->stop) {
		if (store_cert_get(r->st, c.serial, c.serial_len, &got,
		    NULL) != 0 || got->der_len != BIG_DER)
			r->errors++;
		store_cert_free(got);
		r->reads++;
	}
	return NULL;
}

static void
test_growth_with_readers(void **state)
{
	struct store_opts opts = { .map_size = 1 << 20 };
	struct reader r[2];
	pthread_t th[2];
	_Atomic int stop = 0;
	struct store_stats stats;
	struct big_arg b;
	struct store *st = NULL;
	char *tmp = th_tmpdir();
	uint32_t i;
	int t;

	assert_non_null(tmp);
	assert_non_null(b.der = calloc(1, BIG_DER));
	assert_int_equal(store_open(th_path(tmp, "db"), &opts, &st, NULL), 0);
	b.first = 0;
	assert_int_equal(store_write(st, big_fn, &b, NULL), 0);
	for (t = 0; t < 2; t++) {
		r[t] = (struct reader){ st, &stop, 0, 0 };
		assert_int_equal(pthread_create(&th[t], NULL, reader_main,
		    &r[t]), 0);
	}
	for (i = 1; i < 12; i++) {
		b.first = i * BIG_PER_CALL;
		assert_int_equal(store_write(st, big_fn, &b, NULL), 0);
	}
	stop = 1;
	for (t = 0; t < 2; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(r[t].errors, 0);
		assert_true(r[t].reads > 0);
	}
	assert_int_equal(store_stats(st, &stats), 0);
	assert_true(stats.map_grows >= 3);
	store_close(st);
	free(b.der);
	th_rmtree(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_concurrent_batching, th_cleanup),
		cmocka_unit_test_teardown(test_failure_isolated, th_cleanup),
		cmocka_unit_test_teardown(test_map_growth, th_cleanup),
		cmocka_unit_test_teardown(test_growth_with_readers, th_cleanup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
