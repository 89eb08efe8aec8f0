/*
 * store/store_int.h - private state shared by the files of store/.
 *
 * Nothing outside store/ (and tests/store/) includes this header.
 */
#ifndef HSMCA_STORE_INT_H
#define HSMCA_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "store/store.h"

/*
 * The named databases.  Adding a record type is one enum value here and
 * one row in store_db_table (env.c).
 */
enum store_db {
	STORE_DB_META,
	STORE_DB_CERTS,
	STORE_DB_CERTS_BY_EXPIRY,
	STORE_DB_CERTS_BY_NAME,
	STORE_DB_CERTS_BY_ACCOUNT,
	/* ACME (store/acme.c) */
	STORE_DB_ACCOUNTS,
	STORE_DB_ACCOUNTS_BY_THUMB,
	STORE_DB_ORDERS,
	STORE_DB_ORDERS_BY_ACCOUNT,
	STORE_DB_AUTHZS,
	STORE_DB_RATE,
	/* revocation and CRLs (store/revoke.c) */
	STORE_DB_REVOKED_BY_SHARD,
	STORE_DB_CRLS,
	STORE_DB_AUDIT,
	/* pre-signed OCSP responses (store/ocsp.c) */
	STORE_DB_OCSP,
	STORE_DB_COUNT
};

struct store_db_def {
	const char *name;	/* LMDB database name */
	unsigned int flags;	/* MDB_DUPSORT ... (MDB_CREATE is added) */
};

extern const struct store_db_def store_db_table[STORE_DB_COUNT];

/* One queued store_write() call; lives on the caller's stack. */
struct store_req {
	store_write_fn fn;
	void *arg;
	int result;
	bool done;
	struct hsmca_err err;
	struct store_req *next;
};

struct store {
	MDB_env *env;
	MDB_dbi dbi[STORE_DB_COUNT];
	unsigned max_batch;
	unsigned commit_delay_us;

	/*
	 * Held shared by every read transaction and exclusively while the
	 * map is resized: mdb_env_set_mapsize() needs no live transaction
	 * in this process.  The writer never holds it during a batch; its
	 * own transaction is always finished before a resize.
	 */
	pthread_rwlock_t resize_lock;

	/* The queue, the writer thread and the counters, under `mu`. */
	pthread_mutex_t mu;
	pthread_cond_t work_cv;		/* queue gained work, or stopping */
	pthread_cond_t done_cv;		/* a batch finished */
	struct store_req *head, *tail;
	unsigned queued;		/* requests on the queue */
	unsigned expected;		/* announced writes outstanding */
	bool stopping;
	bool writer_started;
	pthread_t writer;
	uint64_t commits;
	uint64_t writes;
	uint64_t map_grows;
	uint64_t delayed;
	size_t map_size;
};

/* The handle a write function sees: a nested transaction. */
struct store_txn {
	struct store *st;
	MDB_txn *txn;
	int err;		/* first failed put (sticky), or 0 */
	bool map_full;		/* a put hit MDB_MAP_FULL: grow and rerun */
	struct hsmca_err detail;
};

/* A read snapshot guarded against a concurrent map resize. */
struct store_rtxn {
	struct store *st;
	MDB_txn *txn;
};

/* env.c */
int store_rtxn_begin(struct store *st, struct store_rtxn *r,
    struct hsmca_err *err);
void store_rtxn_end(struct store_rtxn *r);
int store_mdb_code(int mdb_rc);

/* writer.c */
int store_writer_start(struct store *st, struct hsmca_err *err);
void store_writer_stop(struct store *st);

/*
 * Record the first failure of a put in `txn` (sticky) and return the
 * hsmca code.  `mdb_rc` is the LMDB result that caused it, or 0 when
 * the failure is not LMDB's.
 */
int store_txn_fail(struct store_txn *txn, int code, int mdb_rc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* codec.c: bounds-checked byte buffers. */
struct store_codec_w {
	unsigned char *buf;
	size_t len, cap;
	int err;		/* sticky: HSMCA_ENOMEM / HSMCA_EINVAL */
};

struct store_codec_r {
	const unsigned char *p;
	size_t len, pos;
	int err;		/* sticky: HSMCA_EINVAL on short input */
};

void store_codec_w_u8(struct store_codec_w *w, uint8_t v);
void store_codec_w_u16(struct store_codec_w *w, uint16_t v);
void store_codec_w_u32(struct store_codec_w *w, uint32_t v);
void store_codec_w_u64(struct store_codec_w *w, uint64_t v);
void store_codec_w_bytes(struct store_codec_w *w, const void *p, size_t n);
uint8_t store_codec_r_u8(struct store_codec_r *r);
uint16_t store_codec_r_u16(struct store_codec_r *r);
uint32_t store_codec_r_u32(struct store_codec_r *r);
uint64_t store_codec_r_u64(struct store_codec_r *r);
const unsigned char *store_codec_r_bytes(struct store_codec_r *r, size_t n);
void store_codec_put_be64(unsigned char out[8], uint64_t v);
uint64_t store_codec_get_be64(const unsigned char in[8]);

/*
 * Certificate record encoding (version 1).  Encode: on success *out is
 * malloc'd (caller frees) and *outlen its length.  Decode consumes
 * exactly `len` bytes or fails with HSMCA_EINVAL; on success *out
 * belongs to the caller (store_cert_free()).
 */
#define STORE_REC_CERT 'C'
#define STORE_REC_CERT_V1 1
int store_cert_encode(const struct store_cert *cert, unsigned char **out,
    size_t *outlen);
int store_cert_decode(const unsigned char *p, size_t len,
    struct store_cert **out);

/*
 * Write `len` bytes as lower-case hex into `out` (of `outlen` bytes,
 * NUL-terminated, truncated to fit).  Returns `out`.  For messages.
 */
#define STORE_HEX_MAX (2 * STORE_SERIAL_MAX + 1)
char *store_hex(const unsigned char *p, size_t len, char *out, size_t outlen);

/* cert.c: index keys, shared with check.c and list.c. */
#define STORE_EXPIRY_KEY_MAX (8 + STORE_SERIAL_MAX)
size_t store_expiry_key(int64_t not_after, const unsigned char *serial,
    size_t serial_len, unsigned char out[STORE_EXPIRY_KEY_MAX]);
/*
 * Read and decode the record of `serial` in `txn` (any kind).
 * HSMCA_ENOTFOUND when absent, HSMCA_EINVAL for a bad serial length,
 * HSMCA_EIO when the stored bytes do not decode.  On success *out
 * belongs to the caller.
 */
int store_cert_read(struct store *st, MDB_txn *txn,
    const unsigned char *serial, size_t serial_len, struct store_cert **out);
int64_t store_expiry_key_time(const unsigned char key[8]);
void store_account_key(uint64_t account_id, unsigned char out[8]);

#endif
