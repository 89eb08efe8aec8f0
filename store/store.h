/*
 * store/store.h - hsmca's durable records in LMDB.
 *
 * One LMDB environment holds named databases: the records and the
 * indexes over them.  Reads run on read-only snapshots and never wait on
 * the writer.  Every write goes through one writer thread that runs the
 * callers' write functions inside one LMDB transaction (each in its own
 * nested transaction, so one caller's failure does not undo another's)
 * and commits them with one fsync: group commit.  store_write() returns
 * only after the commit is durable; store_write_async() calls back only
 * then.  When the map is full it is doubled and the batch retried.
 *
 * The store knows bytes and records, not X.509 policy.
 */
#ifndef HSMCA_STORE_H
#define HSMCA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_SERIAL_MAX 20	/* RFC 5280 4.1.2.2: at most 20 octets */
#define STORE_PROFILE_MAX 32

struct store;
struct store_txn;

struct store_opts {
	size_t map_size;	/* initial map size in bytes; 0: 64 MiB */
	unsigned max_batch;	/* write functions per commit; 0: 256 */
	/*
	 * How long a commit may wait, in microseconds, for writes that
	 * producers announced with store_write_expect(); 0: never wait.
	 * Fewer, larger commits cost less CPU per write (one pwrite and
	 * fdatasync round per commit) when writes come from slow
	 * producers such as token signing.
	 */
	unsigned commit_delay_us;
};

/*
 * Open (creating when missing) the environment in directory `dir`.  A
 * store written by another schema version is refused.  On success *out
 * belongs to the caller; free with store_close().
 */
int store_open(const char *dir, const struct store_opts *opts,
    struct store **out, struct hsmca_err *err);

/* Stop the writer after pending writes and close.  NULL is ok. */
void store_close(struct store *st);

/*
 * A write function runs on the writer thread inside a nested
 * transaction.  It returns 0 to keep its writes or a negative code to
 * discard them (store_txn_error() returns the first failure of the
 * store_*_put calls it made, so `return store_txn_error(txn);` is the
 * usual last line).  It must not block nor call store_write().
 *
 * A write function may run more than once: when the map fills up the
 * whole batch is discarded and rerun after the map grows.  It must
 * therefore change nothing outside `txn` (keep results in `arg` and
 * overwrite, don't accumulate).  When it returns 0 but one of its puts
 * failed, its writes are discarded and store_write() returns that
 * put's error.
 */
typedef int (*store_write_fn)(struct store_txn *txn, void *arg);

/*
 * Run `fn` in the next group commit and wait until that commit is
 * durable.  Returns fn's result, or the commit's error (then none of
 * fn's writes happened).  Safe from any number of threads.
 */
int store_write(struct store *st, store_write_fn fn, void *arg,
    struct hsmca_err *err);

/*
 * Told the outcome of a store_write_async() request, on the writer
 * thread, once the commit that carried it is durable (result 0) or has
 * failed (result negative: none of fn's writes happened; `err` says
 * why and is valid only during the call; NULL when result is 0).
 * Callbacks run in the order their requests were queued, after every
 * caller of the same batch could be woken.  A callback holds up the
 * next commit, so it should be short; it may call store_write_async()
 * but not store_write() (which refuses, since it would wait for the
 * thread it runs on) nor store_close().
 */
typedef void (*store_done_fn)(int result, const struct hsmca_err *err,
    void *cb_arg);

/*
 * Queue `fn` for the next group commit without waiting: the caller
 * goes on while earlier writes commit, and learns the result from
 * `done`.  Nothing may treat the write as done before `done` reports 0:
 * only then is it durable.  `arg` and `cb_arg` must stay valid until
 * `done` has run.  Returns 0 when queued (then `done` runs exactly once,
 * at the latest during store_close(), which completes every queued
 * write); else a negative code (HSMCA_ENOMEM, or HSMCA_EINVAL once
 * store_close() began) and `done` is never called.  The store sets no
 * bound on the queue: callers keep their own window of writes in
 * flight.  Safe from any number of threads, mixed with store_write().
 */
int store_write_async(struct store *st, store_write_fn fn, void *arg,
    store_done_fn done, void *cb_arg, struct hsmca_err *err);

/*
 * Announce (`delta` +1) that a write is being prepared and will be
 * queued soon, or (-1) that an announced write was queued or given up.
 * While any announced write is outstanding, a commit waits for it, up
 * to store_opts.commit_delay_us, so that one fsync carries it too.
 * Every +1 needs exactly one -1, after its store_write_async() returned
 * (a -1 before the write is queued lets the commit go without it).
 * Unannounced writes never make a commit wait.  Any thread.
 */
void store_write_expect(struct store *st, int delta);

/* First error recorded by a put in this transaction, or 0. */
int store_txn_error(const struct store_txn *txn);

/* Counters since store_open(), for tests and benchmarks. */
struct store_stats {
	uint64_t commits;	/* durable LMDB commits (batches) */
	uint64_t writes;	/* store_write() and store_write_async()
				   requests those commits carried */
	uint64_t map_grows;	/* times the map was doubled */
	uint64_t delayed;	/* commits that waited for announced writes */
	size_t map_size;	/* current map size in bytes */
};

/* Fill *out with the store's counters.  Returns 0. */
int store_stats(struct store *st, struct store_stats *out);

/* --- certificates --------------------------------------------------- */

enum store_cert_status {
	STORE_CERT_ISSUED = 1,
	STORE_CERT_REVOKED = 2,
};

struct store_cert {
	unsigned char serial[STORE_SERIAL_MAX];
	size_t serial_len;		/* DER INTEGER content octets */
	int status;			/* enum store_cert_status */
	int64_t not_before, not_after;	/* Unix seconds */
	int64_t issued_at;
	int64_t revoked_at;		/* 0 unless revoked */
	int revoke_reason;		/* RFC 5280 CRLReason; -1 none */
	uint64_t account_id;		/* 0: none (CLI issuance) */
	uint64_t lineage_id;		/* 0: none */
	unsigned char pred_serial[STORE_SERIAL_MAX];
	size_t pred_serial_len;		/* 0: no predecessor */
	uint32_t crl_shard;
	char profile[STORE_PROFILE_MAX];
	char **names;			/* nnames lower-case SAN values */
	size_t nnames;
	unsigned char *der;		/* the certificate */
	size_t der_len;
};

/* Free a record returned by the store and all it points to.  NULL ok. */
void store_cert_free(struct store_cert *cert);

/*
 * Add a new certificate record and its index entries (by expiry, by
 * name, by account).  HSMCA_EEXIST (sticky in txn) when the serial is
 * already stored.  `cert` is copied.
 */
int store_cert_put(struct store_txn *txn, const struct store_cert *cert);

/*
 * Replace an existing record (same serial), updating the indexes.
 * HSMCA_ENOTFOUND when the serial is not stored.
 */
int store_cert_update(struct store_txn *txn, const struct store_cert *cert);

/* Read a record inside a write transaction (read-modify-write). */
int store_txn_cert_get(struct store_txn *txn, const unsigned char *serial,
    size_t serial_len, struct store_cert **out);

/*
 * Read one record from a fresh snapshot.  HSMCA_ENOTFOUND when absent.
 * On success *out belongs to the caller (store_cert_free()).
 */
int store_cert_get(struct store *st, const unsigned char *serial,
    size_t serial_len, struct store_cert **out, struct hsmca_err *err);

/* 1 when stored, 0 when not, negative on error. */
int store_cert_exists(struct store *st, const unsigned char *serial,
    size_t serial_len);

struct store_cert_filter {
	int status;			/* 0: any */
	int64_t expires_after;		/* 0: no bound; not_after >= this */
	int64_t expires_before;		/* 0: no bound; not_after < this */
	const char *name;		/* NULL: any; exact SAN value */
	uint64_t account_id;		/* 0: any */
};

/*
 * Call `cb` for every record matching `filter`, in expiry order when an
 * expiry bound is given, by name or account index when those are given,
 * else in serial order.  The record passed to cb is valid only during
 * the call.  A non-zero return from cb stops the walk and is returned.
 * The walk reads in short snapshots of up to 64 records and calls cb
 * between them, outside any transaction: cb may call store_write(),
 * and records written during the walk may or may not be seen.
 */
typedef int (*store_cert_cb)(const struct store_cert *cert, void *arg);
int store_cert_list(struct store *st, const struct store_cert_filter *filter,
    store_cert_cb cb, void *arg, struct hsmca_err *err);

/* --- meta ------------------------------------------------------------ */

/* Small named values (CA ids, settings).  Value is copied. */
int store_meta_put(struct store_txn *txn, const char *name,
    const void *val, size_t len);
/* *out is malloc'd, caller frees.  HSMCA_ENOTFOUND when absent. */
int store_meta_get(struct store *st, const char *name, void **out,
    size_t *len);

/* --- consistency ----------------------------------------------------- */

/*
 * Verify every record decodes and every index entry matches its record
 * both ways (each record is indexed exactly where it should be; each
 * index entry points at a record that says so), and that stored OCSP
 * responses belong to certificates (store_ocsp_check()).  Each problem
 * is written as one line to `report` (may be NULL); *problems counts
 * them.  Returns 0 when the walk completed (whatever it found) or an
 * I/O error.
 */
int store_check(struct store *st, FILE *report, size_t *problems,
    size_t *records, struct hsmca_err *err);

#endif
