/*
 * tests/store/test_writer_async.c - store_write_async(): callbacks run
 * once each, in queue order, only after the commit that carried them
 * (the record is visible and the commit counted); a failing write
 * function's callback gets its error and nothing of it is stored; the
 * map grows under an asynchronous batch; store_close() completes what
 * is queued and refuses new writes; synchronous and asynchronous
 * writers mix; store_write() from a callback is refused; every write
 * acknowledged through a callback survives kill -9; a commit waits for
 * announced writes (store_write_expect) and for nothing else.
 *
 * Determinism: a "gate" write function holds the writer inside a batch
 * until the test releases it, so the test knows exactly which requests
 * are queued behind it and that no callback can have run yet.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store_int.h"
#include "tests/store/helpers.h"

#define WAIT_SECS 20		/* bound of every wait on the writer */
#define MAX_SLOTS 2048

/* --- the gate: holds the writer until released ----------------------- */

struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, released;
};

static void
gate_init(struct gate *g)
{
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->entered = g->released = false;
}

static void
deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += WAIT_SECS;
}

/* Write function: writes nothing, waits for the release. */
static int
gate_fn(struct store_txn *txn, void *arg)
{
	struct gate *g = arg;
	struct timespec ts;

	(void)txn;
	deadline(&ts);
	pthread_mutex_lock(&g->mu);
	g->entered = true;
	pthread_cond_broadcast(&g->cv);
	while (!g->released)
		if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&g->mu);
	return 0;
}

static void
gate_wait_entered(struct gate *g)
{
	struct timespec ts;

	deadline(&ts);
	pthread_mutex_lock(&g->mu);
	while (!g->entered)
		if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&g->mu);
	assert_true(g->entered);
}

static void
gate_release(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->released = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* --- what the callbacks saw ------------------------------------------ */

struct tracker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store *st;
	int ncalls;		/* callbacks run so far */
};

struct slot {
	struct tracker *t;
	struct store_cert c;	/* the record written (names borrowed) */
	int calls;
	int result;
	int order;		/* ncalls when this callback ran */
	int visible;		/* store_cert_exists() inside the callback */
	uint64_t commits;	/* store_stats().commits inside it */
	bool had_err;
	char detail[HSMCA_ERR_DETAIL];
	int sync_rc;		/* store_write() from the callback */
};

static void
tracker_init(struct tracker *t, struct store *st)
{
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->st = st;
	t->ncalls = 0;
}

static void
slot_done(int result, const struct hsmca_err *err, void *arg)
{
	struct slot *s = arg;
	struct store_stats stats;

	s->result = result;
	s->had_err = err != NULL;
	if (err != NULL)
		snprintf(s->detail, sizeof(s->detail), "%s", err->detail);
	if (s->c.serial_len > 0)
		s->visible = store_cert_exists(s->t->st, s->c.serial,
		    s->c.serial_len);
	store_stats(s->t->st, &stats);
	s->commits = stats.commits;
	pthread_mutex_lock(&s->t->mu);
	s->calls++;
	s->order = s->t->ncalls++;
	pthread_cond_broadcast(&s->t->cv);
	pthread_mutex_unlock(&s->t->mu);
}

static void
tracker_wait(struct tracker *t, int n)
{
	struct timespec ts;

	deadline(&ts);
	pthread_mutex_lock(&t->mu);
	while (t->ncalls < n)
		if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&t->mu);
	assert_int_equal(t->ncalls, n);
}

static int
tracker_calls(struct tracker *t)
{
	int n;

	pthread_mutex_lock(&t->mu);
	n = t->ncalls;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* Queue the gate with its own slot and wait until it holds the writer. */
static void
gate_queue(struct store *st, struct gate *g, struct slot *s,
    struct tracker *t)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	assert_int_equal(store_write_async(st, gate_fn, g, slot_done, s,
	    NULL), 0);
	gate_wait_entered(g);
}

static void
put_async(struct store *st, struct slot *s, struct tracker *t, uint32_t n)
{
	struct hsmca_err err = { 0 };

	memset(s, 0, sizeof(*s));
	s->t = t;
	th_cert(&s->c, n, 2000000000 + n, 7, NULL, 0);
	assert_int_equal(store_write_async(st, th_put_fn, &s->c, slot_done,
	    s, &err), 0);
}

static void
assert_stored(struct store *st, uint32_t n, int want)
{
	struct store_cert c;

	th_cert(&c, n, 0, 0, NULL, 0);
	if (store_cert_exists(st, c.serial, c.serial_len) != want)
		fail_msg("serial %u: expected %s", n, want ? "stored" :
		    "absent");
}

/* --- tests ------------------------------------------------------------ */

#define NQ 16

static void
test_callback_after_commit(void **state)
{
	struct slot gs, s[NQ];
	struct tracker t;
	struct gate g;
	struct store_stats before;
	struct store *st;
	char *tmp = th_tmpdir();
	int i;

	(void)state;
	assert_non_null(tmp);
	st = th_open(th_path(tmp, "db"));
	tracker_init(&t, st);
	gate_init(&g);
	gate_queue(st, &g, &gs, &t);
	for (i = 0; i < NQ; i++)
		put_async(st, &s[i], &t, 100 + (uint32_t)i);
	/* The writer is inside the gate's batch: nothing committed yet. */
	assert_int_equal(tracker_calls(&t), 0);
	for (i = 0; i < NQ; i++)
		assert_stored(st, 100 + (uint32_t)i, 0);
	assert_int_equal(store_stats(st, &before), 0);
	gate_release(&g);
	tracker_wait(&t, NQ + 1);
	assert_int_equal(gs.calls, 1);
	assert_int_equal(gs.result, 0);
	assert_int_equal(gs.order, 0);
	for (i = 0; i < NQ; i++) {
		assert_int_equal(s[i].calls, 1);
		assert_int_equal(s[i].result, 0);
		assert_false(s[i].had_err);
		/* Queue order, and only once committed. */
		assert_int_equal(s[i].order, i + 1);
		assert_int_equal(s[i].visible, 1);
		assert_true(s[i].commits > before.commits);
	}
	/* The gate's batch held the gate alone; the rest took one more. */
	assert_true(s[NQ - 1].commits == before.commits + 2);
	store_close(st);
	st = th_open(th_path(tmp, "db"));
	for (i = 0; i < NQ; i++)
		assert_stored(st, 100 + (uint32_t)i, 1);
	store_close(st);
	th_rmtree(tmp);
}

enum job_kind { JOB_GOOD, JOB_REFUSE, JOB_DUP, JOB_IGNORED_FAIL };

struct job {
	enum job_kind kind;
	uint32_t n;
};

/* Like test_writer.c's jobs: serial 1 is stored before the batch. */
static int
job_fn(struct store_txn *txn, void *arg)
{
	const struct job *j = arg;
	struct store_cert c;

	th_cert(&c, j->n, 1000, 0, NULL, 0);
	switch (j->kind) {
	case JOB_GOOD:
		return store_cert_put(txn, &c);
	case JOB_REFUSE:
		store_cert_put(txn, &c);
		return HSMCA_EPOLICY;
	case JOB_DUP:
		store_cert_put(txn, &c);
		th_cert(&c, 1, 1000, 0, NULL, 0);
		store_cert_put(txn, &c);
		return store_txn_error(txn);
	case JOB_IGNORED_FAIL:
		store_cert_put(txn, &c);
		th_cert(&c, 1, 1000, 0, NULL, 0);
		store_cert_put(txn, &c);
		return 0;
	}
	return HSMCA_EINTERNAL;
}

static void
test_failure_reported(void **state)
{
	static const struct {
		struct job job;
		int expect;
	} cases[] = {
		{ { JOB_GOOD, 20 }, 0 },
		{ { JOB_REFUSE, 21 }, HSMCA_EPOLICY },
		{ { JOB_GOOD, 22 }, 0 },
		{ { JOB_DUP, 23 }, HSMCA_EEXIST },
		{ { JOB_IGNORED_FAIL, 24 }, HSMCA_EEXIST },
		{ { JOB_GOOD, 25 }, 0 },
	};
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	struct slot gs, s[sizeof(cases) / sizeof(cases[0])];
	struct store_cert one;
	struct tracker t;
	struct gate g;
	struct store *st;
	char *tmp = th_tmpdir();
	size_t i, problems, records;

	(void)state;
	assert_non_null(tmp);
	st = th_open(th_path(tmp, "db"));
	th_cert(&one, 1, 1000, 0, NULL, 0);
	assert_int_equal(th_put(st, &one), 0);
	tracker_init(&t, st);
	gate_init(&g);
	gate_queue(st, &g, &gs, &t);
	for (i = 0; i < n; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].t = &t;
		assert_int_equal(store_write_async(st, job_fn,
		    (void *)&cases[i].job, slot_done, &s[i], NULL), 0);
	}
	gate_release(&g);
	tracker_wait(&t, (int)n + 1);
	for (i = 0; i < n; i++) {
		assert_int_equal(s[i].calls, 1);
		assert_int_equal(s[i].result, cases[i].expect);
		assert_int_equal(s[i].had_err, cases[i].expect != 0);
		if (cases[i].expect != 0)
			assert_true(s[i].detail[0] != '\0');
		assert_stored(st, cases[i].job.n, cases[i].expect == 0);
	}
	assert_int_equal(store_check(st, stderr, &problems, &records, NULL),
	    0);
	assert_int_equal(problems, 0);
	assert_int_equal(records, 4);
	store_close(st);
	th_rmtree(tmp);
}

#define BIG_DER (48 * 1024)
#define NBIG 64

static void
test_map_growth(void **state)
{
	static unsigned char der[BIG_DER];
	struct store_opts opts = { .map_size = 1024 * 1024 };
	struct hsmca_err err = { 0 };
	struct store_stats stats;
	struct slot gs, *s;
	struct tracker t;
	struct gate g;
	struct store *st = NULL;
	char *tmp = th_tmpdir();
	size_t problems, records;
	int i;

	(void)state;
	assert_non_null(tmp);
	assert_non_null(s = calloc(NBIG, sizeof(*s)));
	/* A DER SEQUENCE of the right length; the store keeps bytes. */
	der[0] = 0x30;
	der[1] = 0x83;
	der[2] = (unsigned char)((BIG_DER - 5) >> 16);
	der[3] = (unsigned char)((BIG_DER - 5) >> 8);
	der[4] = (unsigned char)(BIG_DER - 5);
	assert_int_equal(store_open(th_path(tmp, "db"), &opts, &st, &err), 0);
	tracker_init(&t, st);
	gate_init(&g);
	gate_queue(st, &g, &gs, &t);
	/* 3 MiB behind the gate: one batch that cannot fit in 1 MiB. */
	for (i = 0; i < NBIG; i++) {
		put_async(st, &s[i], &t, 500 + (uint32_t)i);
		s[i].c.der = der;
		s[i].c.der_len = sizeof(der);
	}
	gate_release(&g);
	tracker_wait(&t, NBIG + 1);
	for (i = 0; i < NBIG; i++) {
		assert_int_equal(s[i].calls, 1);
		assert_int_equal(s[i].result, 0);
		assert_int_equal(s[i].visible, 1);
	}
	assert_int_equal(store_stats(st, &stats), 0);
	print_message("map grew %llu times to %zu bytes\n",
	    (unsigned long long)stats.map_grows, stats.map_size);
	assert_true(stats.map_grows >= 2);
	assert_true(stats.map_size >= 4 * opts.map_size);
	assert_int_equal(store_check(st, stderr, &problems, &records, NULL),
	    0);
	assert_int_equal(problems, 0);
	assert_int_equal(records, NBIG);
	store_close(st);
	free(s);
	th_rmtree(tmp);
}

static void *
closer_main(void *arg)
{
	store_close(arg);
	return NULL;
}

static bool
store_stopping(struct store *st)
{
	bool b;

	pthread_mutex_lock(&st->mu);
	b = st->stopping;
	pthread_mutex_unlock(&st->mu);
	return b;
}

static void
test_close_completes_pending(void **state)
{
	struct hsmca_err err = { 0 };
	struct timespec ms = { 0, 1000000 };
	struct slot gs, s[NQ], late;
	struct tracker t;
	struct gate g;
	struct store *st;
	pthread_t closer;
	char *tmp = th_tmpdir();
	int i, tries;

	(void)state;
	assert_non_null(tmp);
	st = th_open(th_path(tmp, "db"));
	tracker_init(&t, st);
	gate_init(&g);
	gate_queue(st, &g, &gs, &t);
	for (i = 0; i < NQ; i++)
		put_async(st, &s[i], &t, 300 + (uint32_t)i);
	assert_int_equal(pthread_create(&closer, NULL, closer_main, st), 0);
	/* store_close() marks the store closing at once, then waits. */
	for (tries = 0; tries < WAIT_SECS * 1000 && !store_stopping(st);
	    tries++)
		nanosleep(&ms, NULL);
	assert_true(store_stopping(st));
	memset(&late, 0, sizeof(late));
	late.t = &t;
	th_cert(&late.c, 399, 2000000000, 0, NULL, 0);
	assert_int_equal(store_write_async(st, th_put_fn, &late.c, slot_done,
	    &late, &err), HSMCA_EINVAL);
	assert_non_null(strstr(err.detail, "store_close"));
	gate_release(&g);
	pthread_join(closer, NULL);
	/* Every queued write was completed before store_close returned. */
	assert_int_equal(t.ncalls, NQ + 1);
	assert_int_equal(late.calls, 0);
	for (i = 0; i < NQ; i++) {
		assert_int_equal(s[i].calls, 1);
		assert_int_equal(s[i].result, 0);
	}
	st = th_open(th_path(tmp, "db"));
	for (i = 0; i < NQ; i++)
		assert_stored(st, 300 + (uint32_t)i, 1);
	assert_stored(st, 399, 0);
	store_close(st);
	th_rmtree(tmp);
}

#define MIX_PER_THREAD 300
#define MIX_WINDOW 16

struct mixer {
	struct store *st;
	bool async;
	uint32_t first;
	int failures;
	struct tracker t;
	struct slot *slots;
};

static void *
mixer_main(void *arg)
{
	struct mixer *m = arg;
	char *names[] = { "mix.example" };
	struct store_cert c;
	uint32_t i;

	for (i = 0; i < MIX_PER_THREAD; i++) {
		if (!m->async) {
			th_cert(&c, m->first + i, 2000000000 + i, 3, names, 1);
			if (th_put(m->st, &c) != 0)
				m->failures++;
			continue;
		}
		/* Keep at most MIX_WINDOW writes in flight. */
		pthread_mutex_lock(&m->t.mu);
		while ((int)i - m->t.ncalls >= MIX_WINDOW)
			pthread_cond_wait(&m->t.cv, &m->t.mu);
		pthread_mutex_unlock(&m->t.mu);
		memset(&m->slots[i], 0, sizeof(m->slots[i]));
		m->slots[i].t = &m->t;
		th_cert(&m->slots[i].c, m->first + i, 2000000000 + i, 4,
		    names, 1);
		if (store_write_async(m->st, th_put_fn, &m->slots[i].c,
		    slot_done, &m->slots[i], NULL) != 0)
			m->failures++;
	}
	return NULL;
}

static void
test_sync_and_async_mixed(void **state)
{
	struct mixer m[4];
	pthread_t th[4];
	struct store_stats stats;
	struct store *st;
	char *tmp = th_tmpdir();
	size_t problems, records;
	int k, i;

	(void)state;
	assert_non_null(tmp);
	st = th_open(th_path(tmp, "db"));
	for (k = 0; k < 4; k++) {
		memset(&m[k], 0, sizeof(m[k]));
		m[k].st = st;
		m[k].async = k % 2 == 1;
		m[k].first = (uint32_t)(k + 1) * 100000;
		tracker_init(&m[k].t, st);
		assert_non_null(m[k].slots = calloc(MIX_PER_THREAD,
		    sizeof(struct slot)));
		assert_int_equal(pthread_create(&th[k], NULL, mixer_main,
		    &m[k]), 0);
	}
	for (k = 0; k < 4; k++) {
		pthread_join(th[k], NULL);
		assert_int_equal(m[k].failures, 0);
		if (!m[k].async)
			continue;
		tracker_wait(&m[k].t, MIX_PER_THREAD);
		for (i = 0; i < MIX_PER_THREAD; i++) {
			assert_int_equal(m[k].slots[i].calls, 1);
			assert_int_equal(m[k].slots[i].result, 0);
			assert_int_equal(m[k].slots[i].visible, 1);
		}
	}
	assert_int_equal(store_stats(st, &stats), 0);
	print_message("%d writes in %llu commits\n", 4 * MIX_PER_THREAD,
	    (unsigned long long)stats.commits);
	assert_true(stats.writes == 4 * MIX_PER_THREAD);
	assert_true(stats.commits < stats.writes);
	assert_int_equal(store_check(st, stderr, &problems, &records, NULL),
	    0);
	assert_int_equal(problems, 0);
	assert_int_equal(records, 4 * MIX_PER_THREAD);
	store_close(st);
	for (k = 0; k < 4; k++)
		free(m[k].slots);
	th_rmtree(tmp);
}

/* A callback that tries store_write() and chains an async write. */
struct chain {
	struct slot first, second;
	struct store_cert sync_rec;
};

static void
chain_done(int result, const struct hsmca_err *err, void *arg)
{
	struct chain *ch = arg;
	struct hsmca_err e = { 0 };

	slot_done(result, err, &ch->first);
	ch->first.sync_rc = store_write(ch->first.t->st, th_put_fn,
	    &ch->sync_rec, &e);
	put_async(ch->first.t->st, &ch->second, ch->first.t, 41);
}

static void
test_callback_may_only_queue(void **state)
{
	struct chain ch;
	struct tracker t;
	struct store *st;
	char *tmp = th_tmpdir();

	(void)state;
	assert_non_null(tmp);
	st = th_open(th_path(tmp, "db"));
	tracker_init(&t, st);
	memset(&ch, 0, sizeof(ch));
	ch.first.t = &t;
	th_cert(&ch.first.c, 40, 2000000000, 0, NULL, 0);
	th_cert(&ch.sync_rec, 42, 2000000000, 0, NULL, 0);
	assert_int_equal(store_write_async(st, th_put_fn, &ch.first.c,
	    chain_done, &ch, NULL), 0);
	tracker_wait(&t, 2);
	assert_int_equal(ch.first.result, 0);
	assert_int_equal(ch.first.sync_rc, HSMCA_EINVAL);
	assert_int_equal(ch.second.calls, 1);
	assert_int_equal(ch.second.result, 0);
	assert_stored(st, 40, 1);
	assert_stored(st, 41, 1);
	assert_stored(st, 42, 0);
	/* Nothing to write with is refused up front. */
	assert_int_equal(store_write_async(st, NULL, NULL, slot_done, NULL,
	    NULL), HSMCA_EINVAL);
	assert_int_equal(store_write_async(st, th_put_fn, &ch.sync_rec, NULL,
	    NULL, NULL), HSMCA_EINVAL);
	store_close(st);
	th_rmtree(tmp);
}

/* kill -9: a child acknowledges on a pipe from its callbacks only. */
#define CHILD_THREADS 2
#define CHILD_WINDOW 32
#define ACKS_WANTED 300
#define MAX_ACKS 200000

struct child_ack {
	int fd;
	uint32_t n;
	struct store_cert c;
	pthread_mutex_t *mu;
	pthread_cond_t *cv;
	int *inflight;
};

static void
child_done(int result, const struct hsmca_err *err, void *arg)
{
	struct child_ack *a = arg;

	(void)err;
	if (result != 0)
		_exit(3);
	/* 4-byte pipe writes are atomic: acks never interleave. */
	if (write(a->fd, &a->n, sizeof(a->n)) != (ssize_t)sizeof(a->n))
		_exit(4);
	pthread_mutex_lock(a->mu);
	(*a->inflight)--;
	pthread_cond_signal(a->cv);
	pthread_mutex_unlock(a->mu);
	free(a);
}

struct child_worker {
	struct store *st;
	int fd;
	uint32_t first;
};

static void *
child_worker(void *arg)
{
	static char *names[] = { "async-durable.example" };
	struct child_worker *w = arg;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	int inflight = 0;
	uint32_t i;

	for (i = w->first;; i++) {
		struct child_ack *a;

		pthread_mutex_lock(&mu);
		while (inflight >= CHILD_WINDOW)
			pthread_cond_wait(&cv, &mu);
		inflight++;
		pthread_mutex_unlock(&mu);
		if ((a = calloc(1, sizeof(*a))) == NULL)
			_exit(5);
		a->fd = w->fd;
		a->n = i;
		a->mu = &mu;
		a->cv = &cv;
		a->inflight = &inflight;
		th_cert(&a->c, i, 1000 + (i % 100), 1 + (i % 5), names, 1);
		if (store_write_async(w->st, th_put_fn, &a->c, child_done, a,
		    NULL) != 0)
			_exit(6);
	}
	return NULL;
}

static void
child(const char *dir, int fd)
{
	struct child_worker w[CHILD_THREADS];
	pthread_t th[CHILD_THREADS];
	struct store *st = NULL;
	int k;

	if (store_open(dir, NULL, &st, NULL) != 0)
		_exit(2);
	for (k = 0; k < CHILD_THREADS; k++) {
		w[k] = (struct child_worker){ st, fd, (uint32_t)k * 1000000 };
		if (pthread_create(&th[k], NULL, child_worker, &w[k]) != 0)
			_exit(7);
	}
	for (;;)
		pause();
}

static void
test_kill9_acknowledged(void **state)
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

	(void)state;
	assert_non_null(tmp);
	assert_non_null(acks = calloc(MAX_ACKS, sizeof(*acks)));
	snprintf(dir, sizeof(dir), "%s", th_path(tmp, "db"));
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
	while (nacks < MAX_ACKS &&
	    (got = read(fds[0], &n, sizeof(n))) == (ssize_t)sizeof(n))
		acks[nacks++] = n;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_true(nacks >= ACKS_WANTED);
	print_message("%zu acknowledged async writes before kill -9\n", nacks);
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

/* Wait (bounded) until `n` commits have started waiting. */
static void
wait_delayed(struct store *st, uint64_t n)
{
	struct timespec ts = { 0, 1000000 };
	struct store_stats stats;
	int tries;

	for (tries = 0; tries < WAIT_SECS * 1000; tries++) {
		store_stats(st, &stats);
		if (stats.delayed >= n)
			return;
		nanosleep(&ts, NULL);
	}
	fail_msg("no commit waited for an announced write");
}

/*
 * store_write_expect(): unannounced writes never wait; a commit waits
 * for an announced write, so one commit carries both, and the last -1
 * ends the wait at once (the delay is ten minutes, far beyond
 * WAIT_SECS); an announcement that is never queued holds a commit no
 * longer than commit_delay_us.
 */
static void
test_commit_delay(void **state)
{
	struct store_opts opts = { .commit_delay_us = 600u * 1000000u };
	struct hsmca_err err = { 0 };
	struct store_stats stats;
	struct tracker t;
	struct slot s[6];
	struct store *st = NULL;
	char *tmp = th_tmpdir();
	uint32_t i;

	(void)state;
	assert_non_null(tmp);
	assert_int_equal(store_open(th_path(tmp, "db"), &opts, &st, &err), 0);
	tracker_init(&t, st);
	for (i = 0; i < 3; i++) {
		put_async(st, &s[i], &t, 100 + i);
		tracker_wait(&t, (int)i + 1);
	}
	assert_int_equal(store_stats(st, &stats), 0);
	assert_int_equal(stats.delayed, 0);
	assert_int_equal(stats.commits, 3);

	/* The writer finds 103 with 104 announced and waits for it. */
	store_write_expect(st, 1);
	put_async(st, &s[3], &t, 103);
	wait_delayed(st, 1);
	put_async(st, &s[4], &t, 104);
	store_write_expect(st, -1);
	tracker_wait(&t, 5);
	assert_int_equal(store_stats(st, &stats), 0);
	assert_int_equal(stats.delayed, 1);
	assert_int_equal(stats.commits, 4);
	assert_int_equal(stats.writes, 5);
	assert_true(s[3].commits == s[4].commits);
	store_close(st);

	/* Announced but never queued: the commit goes after the delay. */
	opts.commit_delay_us = 1000;
	assert_int_equal(store_open(th_path(tmp, "db"), &opts, &st, &err), 0);
	tracker_init(&t, st);
	store_write_expect(st, 1);
	put_async(st, &s[5], &t, 105);
	tracker_wait(&t, 1);
	assert_int_equal(s[5].result, 0);
	store_write_expect(st, -1);
	assert_int_equal(store_stats(st, &stats), 0);
	assert_int_equal(stats.delayed, 1);
	assert_int_equal(stats.commits, 1);
	for (i = 100; i <= 105; i++)
		assert_stored(st, i, 1);
	store_close(st);
	th_rmtree(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_callback_after_commit,
		    th_cleanup),
		cmocka_unit_test_teardown(test_failure_reported, th_cleanup),
		cmocka_unit_test_teardown(test_map_growth, th_cleanup),
		cmocka_unit_test_teardown(test_close_completes_pending,
		    th_cleanup),
		cmocka_unit_test_teardown(test_sync_and_async_mixed,
		    th_cleanup),
		cmocka_unit_test_teardown(test_callback_may_only_queue,
		    th_cleanup),
		cmocka_unit_test_teardown(test_kill9_acknowledged,
		    th_cleanup),
		cmocka_unit_test_teardown(test_commit_delay, th_cleanup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
