/*
 * store/writer.c - the one write path: group commit.
 *
 * store_write() queues a request and sleeps.  One writer thread takes
 * everything queued (up to max_batch), runs each write function in its
 * own nested transaction under one parent transaction and commits the
 * parent once: one fsync for the whole batch.  When producers announced
 * writes that are not queued yet, it first waits up to commit_delay_us
 * for them to join (linger()).  Then it wakes every
 * synchronous caller of the batch with its own result and runs the
 * callbacks of the asynchronous ones, in queue order.
 *
 * An asynchronous request is a heap copy of the queue entry that the
 * writer frees after its callback.  It is told apart from a waiting
 * caller's entry by its function, async_run(), which calls the
 * caller's write function: the queue entry type stays one type.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/proc.h"
#include "store/store_int.h"

/*
 * Record a put's failure in `txn`; the first one sticks.  See
 * store_int.h.
 */
int
store_txn_fail(struct store_txn *txn, int code, int mdb_rc,
    const char *fmt, ...)
{
	va_list ap;
	char buf[HSMCA_ERR_DETAIL];

	if (mdb_rc == MDB_MAP_FULL)
		txn->map_full = true;
	if (txn->err != 0)
		return txn->err;
	txn->err = code;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	hsmca_err_set(&txn->detail, code, "store", "%s", buf);
	return code;
}

/*
 * First error recorded by a put in this transaction.  See store.h.
 */
int
store_txn_error(const struct store_txn *txn)
{
	return txn->err;
}

/* Give every request of the batch the same failure. */
static void
fail_all(struct store_req *batch, int code, const char *what, int mrc)
{
	struct store_req *r;

	for (r = batch; r != NULL; r = r->next) {
		r->result = code;
		hsmca_err_clear(&r->err);
		hsmca_err_set(&r->err, code, "store", "store: %s: %s; "
		    "nothing of this write was stored", what,
		    mdb_strerror(mrc));
	}
}

/*
 * Double the map.  No transaction of this process may be live:
 * the writer's own is finished and readers are held off by the
 * resize lock.
 */
static int
grow_map(struct store *st)
{
	size_t cur, next;
	int mrc;

	pthread_mutex_lock(&st->mu);
	cur = st->map_size;
	pthread_mutex_unlock(&st->mu);
	if (cur > SIZE_MAX / 2)
		return ENOMEM;
	next = cur * 2;
	pthread_rwlock_wrlock(&st->resize_lock);
	mrc = mdb_env_set_mapsize(st->env, next);
	pthread_rwlock_unlock(&st->resize_lock);
	if (mrc != 0)
		return mrc;
	pthread_mutex_lock(&st->mu);
	st->map_size = next;
	st->map_grows++;
	pthread_mutex_unlock(&st->mu);
	return 0;
}

/*
 * Run one request in a nested transaction of `parent`.  Returns true
 * when the map filled up (the batch must be rerun), else false with
 * req->result set.
 */
static bool
run_one(struct store *st, MDB_txn *parent, struct store_req *req)
{
	struct store_txn t;
	int mrc, rc;

	memset(&t, 0, sizeof(t));
	t.st = st;
	hsmca_err_clear(&req->err);
	if ((mrc = mdb_txn_begin(st->env, parent, 0, &t.txn)) != 0) {
		if (mrc == MDB_MAP_FULL)
			return true;
		req->result = hsmca_err_set(&req->err, store_mdb_code(mrc),
		    "store", "store: nested transaction: %s",
		    mdb_strerror(mrc));
		return false;
	}
	rc = req->fn(&t, req->arg);
	if (t.map_full) {
		mdb_txn_abort(t.txn);
		return true;
	}
	/* A failed put discards the writes even when fn ignored it. */
	if (rc == 0 && t.err != 0)
		rc = t.err;
	if (rc != 0) {
		mdb_txn_abort(t.txn);
		req->result = rc;
		if (t.detail.code != 0)
			req->err = t.detail;
		else
			hsmca_err_set(&req->err, rc, "store",
			    "store: write function failed (%s)",
			    hsmca_code_name(rc));
		return false;
	}
	if ((mrc = mdb_txn_commit(t.txn)) != 0) {
		if (mrc == MDB_MAP_FULL)
			return true;
		req->result = hsmca_err_set(&req->err, store_mdb_code(mrc),
		    "store", "store: nested commit: %s", mdb_strerror(mrc));
		return false;
	}
	req->result = 0;
	return false;
}

/*
 * Run a batch in one parent transaction and commit it durably,
 * growing the map and starting over as often as it fills up.  Returns
 * true when the batch was committed.
 */
static bool
run_batch(struct store *st, struct store_req *batch)
{
	struct store_req *r;
	MDB_txn *parent;
	bool full;
	int mrc;

	for (;;) {
		parent = NULL;
		if ((mrc = mdb_txn_begin(st->env, NULL, 0, &parent)) != 0) {
			if (mrc == MDB_MAP_FULL)
				goto grow;
			fail_all(batch, store_mdb_code(mrc),
			    "write transaction", mrc);
			return false;
		}
		full = false;
		for (r = batch; r != NULL && !full; r = r->next)
			full = run_one(st, parent, r);
		if (full) {
			mdb_txn_abort(parent);
			goto grow;
		}
		/* The fsync: every result above holds only if this works. */
		if ((mrc = mdb_txn_commit(parent)) == 0)
			return true;
		if (mrc != MDB_MAP_FULL) {
			fail_all(batch, store_mdb_code(mrc), "commit", mrc);
			return false;
		}
grow:
		if ((mrc = grow_map(st)) != 0) {
			fail_all(batch, HSMCA_EIO, "growing the map", mrc);
			return false;
		}
	}
}

/* A store_write_async() request: the queue entry and the callback. */
struct async_req {
	struct store_req req;		/* req.fn is async_run, req.arg us */
	store_write_fn fn;
	void *arg;
	store_done_fn done;
	void *cb_arg;
};

/* The write function of every asynchronous request. */
static int
async_run(struct store_txn *txn, void *arg)
{
	struct async_req *a = arg;

	return a->fn(txn, a->arg);
}

/*
 * Wake the synchronous callers of a finished batch and return its
 * asynchronous requests, in queue order, for their callbacks.  Called
 * with `mu` held: a waiting caller's entry may vanish as soon as `mu`
 * is released after its `done` is set, so nothing reads it afterwards.
 */
static struct store_req *
batch_finish(struct store *st, struct store_req *batch)
{
	struct store_req *r, *next, *async = NULL, **tail = &async;

	for (r = batch; r != NULL; r = next) {
		next = r->next;
		if (r->fn == async_run) {
			r->next = NULL;
			*tail = r;
			tail = &r->next;
		} else
			r->done = true;
	}
	pthread_cond_broadcast(&st->done_cv);
	return async;
}

/* Tell each asynchronous request its result, then free it. */
static void
async_complete(struct store_req *async)
{
	struct store_req *r, *next;

	for (r = async; r != NULL; r = next) {
		struct async_req *a = r->arg;

		next = r->next;
		a->done(r->result, r->result != 0 ? &r->err : NULL,
		    a->cb_arg);
		free(a);
	}
}

/*
 * Let announced writes (store_write_expect) join the next commit: wait
 * while any is outstanding, until the queue holds max_batch, the store
 * closes or commit_delay_us is over.  `mu` held.
 */
static void
linger(struct store *st)
{
	struct timespec until;

	if (st->commit_delay_us == 0 || st->expected == 0 ||
	    st->queued >= st->max_batch)
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += st->commit_delay_us / 1000000u;
	until.tv_nsec += (long)(st->commit_delay_us % 1000000u) * 1000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	st->delayed++;
	while (st->expected > 0 && st->queued < st->max_batch &&
	    !st->stopping)
		if (pthread_cond_timedwait(&st->work_cv, &st->mu,
		    &until) == ETIMEDOUT)
			break;
}

/*
 * Count an announced write in or out.  See store.h.
 */
void
store_write_expect(struct store *st, int delta)
{
	pthread_mutex_lock(&st->mu);
	if (delta > 0)
		st->expected += (unsigned)delta;
	else if ((unsigned)-delta <= st->expected)
		st->expected -= (unsigned)-delta;
	else
		st->expected = 0;
	/* The last one in: a waiting commit need not wait any longer. */
	if (st->expected == 0)
		pthread_cond_signal(&st->work_cv);
	pthread_mutex_unlock(&st->mu);
}

/*
 * The writer thread: batches until stopped and the queue is empty.
 * Asynchronous callbacks run outside `mu`, after the commit that
 * carried them, so they may queue more asynchronous writes.
 */
static void *
writer_main(void *arg)
{
	struct store *st = arg;
	struct store_req *batch, *last, *async;
	uint64_t n;
	bool committed;

	proc_thread_name("store-writer");
	pthread_mutex_lock(&st->mu);
	for (;;) {
		while (st->head == NULL && !st->stopping)
			pthread_cond_wait(&st->work_cv, &st->mu);
		if (st->head == NULL)
			break;
		linger(st);
		/* Take up to max_batch requests off the queue. */
		batch = last = st->head;
		for (n = 1; n < st->max_batch && last->next != NULL; n++)
			last = last->next;
		st->head = last->next;
		st->queued -= (unsigned)n;
		if (st->head == NULL)
			st->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&st->mu);

		committed = run_batch(st, batch);

		pthread_mutex_lock(&st->mu);
		if (committed) {
			st->commits++;
			st->writes += n;
		}
		async = batch_finish(st, batch);
		if (async != NULL) {
			pthread_mutex_unlock(&st->mu);
			async_complete(async);
			pthread_mutex_lock(&st->mu);
		}
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* Start the writer thread (store_open). */
int
store_writer_start(struct store *st, struct hsmca_err *err)
{
	if (pthread_create(&st->writer, NULL, writer_main, st) != 0)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "store",
		    "store: cannot start the writer thread");
	st->writer_started = true;
	return 0;
}

/* Let the writer finish the queue, then join it (store_close). */
void
store_writer_stop(struct store *st)
{
	if (!st->writer_started)
		return;
	pthread_mutex_lock(&st->mu);
	st->stopping = true;
	pthread_cond_signal(&st->work_cv);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->writer, NULL);
	st->writer_started = false;
}

/* Append `req` to the queue; `mu` held.  Refused once closing began. */
static int
enqueue(struct store *st, struct store_req *req, struct hsmca_err *err)
{
	if (st->stopping)
		return hsmca_err_set(err, HSMCA_EINVAL, "store",
		    "store: write after store_close() began");
	if (st->tail != NULL)
		st->tail->next = req;
	else
		st->head = req;
	st->tail = req;
	st->queued++;
	pthread_cond_signal(&st->work_cv);
	return 0;
}

/*
 * Queue `fn` for the next group commit and wait for it.  See store.h.
 */
int
store_write(struct store *st, store_write_fn fn, void *arg,
    struct hsmca_err *err)
{
	struct store_req req;
	int rc;

	/* On the writer thread (a callback) this would wait for itself. */
	if (st->writer_started && pthread_equal(pthread_self(), st->writer))
		return hsmca_err_set(err, HSMCA_EINVAL, "store",
		    "store: store_write() from a write callback would "
		    "deadlock; use store_write_async()");
	memset(&req, 0, sizeof(req));
	req.fn = fn;
	req.arg = arg;
	pthread_mutex_lock(&st->mu);
	if ((rc = enqueue(st, &req, err)) != 0) {
		pthread_mutex_unlock(&st->mu);
		return rc;
	}
	while (!req.done)
		pthread_cond_wait(&st->done_cv, &st->mu);
	pthread_mutex_unlock(&st->mu);
	if (req.result != 0 && err != NULL && err->code == 0)
		*err = req.err;
	return req.result;
}

/*
 * Queue `fn` for the next group commit; `done` runs after it.  See
 * store.h.
 */
int
store_write_async(struct store *st, store_write_fn fn, void *arg,
    store_done_fn done, void *cb_arg, struct hsmca_err *err)
{
	struct async_req *a;
	int rc;

	if (fn == NULL || done == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "store",
		    "store: asynchronous write without a write function or "
		    "a callback");
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "store",
		    "store: out of memory queueing a write");
	a->req.fn = async_run;
	a->req.arg = a;
	a->fn = fn;
	a->arg = arg;
	a->done = done;
	a->cb_arg = cb_arg;
	pthread_mutex_lock(&st->mu);
	rc = enqueue(st, &a->req, err);
	pthread_mutex_unlock(&st->mu);
	if (rc != 0)
		free(a);
	return rc;
}
