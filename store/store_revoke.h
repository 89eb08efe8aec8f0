/*
 * store/store_revoke.h - revocation records: the revoked list of each
 * CRL shard, the CRL record of each shard, and the append-only audit
 * log.
 *
 * "revoked_by_shard" maps shard (4 octets, big-endian) || serial to
 * {revoked_at, reason, not_after}, so one shard's entries are one
 * contiguous key range, sorted by serial octets: a CRL is built by one
 * cursor walk with nothing to sort.  "crls" maps the shard (4 octets,
 * big-endian; STORE_CRL_ROOT for the root CRL) to the CRL record: the
 * CRL number, thisUpdate, nextUpdate, the dirty mark and the DER of
 * the current CRL.  "audit" maps a sequence number (8 octets,
 * big-endian, from 1) to one opaque record (the CA writes JSON).
 *
 * Like store.h, this knows bytes and records, not X.509.
 */
#ifndef HSMCA_STORE_REVOKE_H
#define HSMCA_STORE_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The CRL record key of the root CRL (not a shard number). */
#define STORE_CRL_ROOT UINT32_MAX

/* --- revoked_by_shard ------------------------------------------------ */

struct store_revoked {
	unsigned char serial[STORE_SERIAL_MAX];
	size_t serial_len;		/* DER INTEGER content octets */
	int64_t revoked_at;		/* Unix seconds */
	int reason;			/* RFC 5280 CRLReason code */
	int64_t not_after;		/* the certificate's notAfter */
};

/* Key of an entry: shard BE32 || serial. */
#define STORE_REVOKED_KEY_MAX (4 + STORE_SERIAL_MAX)
size_t store_revoked_key(uint32_t shard, const unsigned char *serial,
    size_t serial_len, unsigned char out[STORE_REVOKED_KEY_MAX]);

/*
 * Add the entry of `e` to `shard`'s list.  HSMCA_EEXIST (sticky in txn)
 * when the serial is listed already; HSMCA_EINVAL for a bad serial
 * length or a reason outside 0..10.
 */
int store_revoked_put(struct store_txn *txn, uint32_t shard,
    const struct store_revoked *e);

/*
 * Decode one stored entry (key and value as found in the database)
 * into *shard and *out.  HSMCA_EINVAL when malformed.  Used by the
 * consistency check and by tests.
 */
int store_revoked_decode(const void *key, size_t klen, const void *val,
    size_t vlen, uint32_t *shard, struct store_revoked *out);

/* --- CRL records ------------------------------------------------------ */

struct store_crl {
	uint32_t shard;			/* or STORE_CRL_ROOT */
	uint64_t number;		/* CRL number of `der`; 0: none yet */
	int64_t this_update, next_update;
	int64_t dirty_since;		/* first revocation not in `der`;
					   0: clean */
	uint64_t gen;			/* revocations into the shard ever;
					   lets a CRL commit tell whether a
					   revocation raced its build */
	unsigned char *der;		/* current CRL; NULL when number 0
					   or not asked for */
	size_t der_len;
};

/* Free a record returned by the store.  NULL is ok. */
void store_crl_free(struct store_crl *crl);

/*
 * Read the CRL record of `shard` from a fresh snapshot, with its DER
 * when `with_der`.  HSMCA_ENOTFOUND when the shard has none.  On
 * success *out belongs to the caller (store_crl_free()).
 */
int store_crl_get(struct store *st, uint32_t shard, bool with_der,
    struct store_crl **out, struct hsmca_err *err);

/* The same inside a write function (read-modify-write).  Does not
 * touch the transaction's sticky error. */
int store_txn_crl_get(struct store_txn *txn, uint32_t shard, bool with_der,
    struct store_crl **out);

/* Write (create or replace) a CRL record.  `crl` is copied. */
int store_crl_put(struct store_txn *txn, const struct store_crl *crl);

/*
 * Mark `shard`'s CRL dirty at `now` (kept when already dirty) and count
 * one more revocation into it (gen + 1).  A shard without a record gets
 * one with number 0.
 */
int store_crl_mark_dirty(struct store_txn *txn, uint32_t shard, int64_t now);

/*
 * Walk `shard`'s revoked list in key (serial) order in ONE read
 * snapshot, calling `cb` for each entry whose not_after >=
 * `min_not_after`.  When `crl` is not NULL, *crl gets the shard's CRL
 * record (without DER) read in that same snapshot, or NULL when there
 * is none, so a builder knows exactly which revocations it saw (gen).
 * The entry passed to cb is valid only during the call; cb must not
 * call store_write() (the snapshot is open).  A non-zero return from cb
 * stops the walk and is returned.  On success *crl belongs to the
 * caller.
 */
typedef int (*store_revoked_cb)(const struct store_revoked *e, void *arg);
int store_revoked_walk(struct store *st, uint32_t shard,
    int64_t min_not_after, struct store_crl **crl, store_revoked_cb cb,
    void *arg, struct hsmca_err *err);

/* --- audit log -------------------------------------------------------- */

/*
 * Append `rec` (`len` bytes, 1..64 KiB) under the next sequence number;
 * *seq (may be NULL) gets it.  Entries are never changed or removed.
 */
int store_audit_append(struct store_txn *txn, const void *rec, size_t len,
    uint64_t *seq);

/*
 * Call `cb` for every entry with sequence >= `from`, in order, from one
 * snapshot (cb must not call store_write()).  A non-zero return from cb
 * stops the walk and is returned.
 */
typedef int (*store_audit_cb)(uint64_t seq, const void *rec, size_t len,
    void *arg);
int store_audit_walk(struct store *st, uint64_t from, store_audit_cb cb,
    void *arg, struct hsmca_err *err);

#endif
