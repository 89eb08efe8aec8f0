/*
 * store/store_ocsp.h - pre-signed OCSP responses.
 *
 * The "ocsp" database maps a certificate serial to the responses last
 * signed for it: the certificate status they state, their
 * thisUpdate/nextUpdate, and one DER OCSPResponse per CertID hash
 * variant (SHA-1, SHA-256; either may be absent).  The store does not
 * look inside the DER.
 *
 * Reads hand out views into a snapshot (no copy, no allocation), which
 * is what keeps the responder's hot path cheap.
 */
#ifndef HSMCA_STORE_OCSP_H
#define HSMCA_STORE_OCSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

#define STORE_OCSP_NVAR 2	/* hash variants: 0 SHA-1, 1 SHA-256 */
#define STORE_OCSP_DER_MAX (64 * 1024)

/* One stored record.  For a put the DER pointers are borrowed. */
struct store_ocsp {
	int status;			/* enum store_cert_status signed */
	int64_t revoked_at;		/* as signed; 0 unless revoked */
	int revoke_reason;		/* as signed; -1 none */
	int64_t this_update, next_update;
	const unsigned char *der[STORE_OCSP_NVAR];	/* NULL: absent */
	size_t der_len[STORE_OCSP_NVAR];
};

/* What the responder needs of a certificate record, decoded lightly. */
struct store_ocsp_cert {
	int status;			/* enum store_cert_status */
	int64_t not_after;
	int64_t revoked_at;
	int revoke_reason;		/* -1 none */
};

/*
 * Write (replace) the record of `serial`.  Sticky error in txn;
 * HSMCA_EINVAL for a bad serial, no variant, or DER over the limit.
 */
int store_ocsp_put(struct store_txn *txn, const unsigned char *serial,
    size_t serial_len, const struct store_ocsp *rec);

/*
 * Called inside a read snapshot with the certificate record of the
 * serial (NULL when no such certificate) and its stored responses (NULL
 * when none).  The pointers are valid only during the call; it must not
 * call store_write().  Its return value is returned.
 */
typedef int (*store_ocsp_view_fn)(const struct store_ocsp_cert *cert,
    const struct store_ocsp *rec, void *arg);

/*
 * One read snapshot: look up `serial` in "certs" and "ocsp" and call
 * `fn`.  HSMCA_EIO ("store") when a stored record does not decode.
 */
int store_ocsp_view(struct store *st, const unsigned char *serial,
    size_t serial_len, store_ocsp_view_fn fn, void *arg,
    struct hsmca_err *err);

/* A place in the expiry-ordered walk: just after this certificate. */
struct store_ocsp_pos {
	int64_t not_after;
	unsigned char serial[STORE_SERIAL_MAX];
	size_t serial_len;
};

/*
 * Called for each unexpired certificate (not_after >= `from`, in expiry
 * order) with its serial, light record and stored responses (NULL when
 * none), inside a read snapshot: same rules as store_ocsp_view_fn.  A
 * non-zero return stops the walk and is returned.
 */
typedef int (*store_ocsp_walk_fn)(const unsigned char *serial,
    size_t serial_len, const struct store_ocsp_cert *cert,
    const struct store_ocsp *rec, void *arg);

/*
 * Walk the certificates with not_after >= `from` in expiry order, in
 * one snapshot, starting just after `after` when it is not NULL (so a
 * caller that stops the walk can resume it where it stopped).
 */
int store_ocsp_walk(struct store *st, int64_t from,
    const struct store_ocsp_pos *after, store_ocsp_walk_fn fn, void *arg,
    struct hsmca_err *err);

/* --- removing the responses of long-expired certificates ------------- */

#define STORE_OCSP_PRUNE_BATCH 256

struct store_ocsp_prune {
	int64_t before;		/* certificates with not_after < before */
	const struct store_ocsp_pos *after;	/* go on just after it;
						   NULL: from the first */
	size_t batch;		/* records removed per write transaction;
				   0: STORE_OCSP_PRUNE_BATCH */
	size_t budget;		/* certificates looked at; 0: no limit */
};

struct store_ocsp_pruned {
	size_t removed;		/* OCSP records removed */
	size_t seen;		/* certificates looked at */
	bool more;		/* budget spent first: pass `next` as
				   `after` to go on */
	struct store_ocsp_pos next;	/* the last certificate looked at;
					   valid when seen > 0 */
};

/*
 * Remove the "ocsp" records of the certificates whose not_after is
 * before `before`, walking the expiry index from the first certificate
 * (or just after `after`) up to `before`.  Certificate records and
 * their indexes are never touched, so a pruned certificate stays known
 * (and `hsmca db check` clean); only its responses go.  The caller
 * makes sure nothing signs for such a certificate again (ca/ocsp.c).
 *
 * Each read snapshot collects at most `batch` serials that have a
 * record, which one store_write() transaction then removes, checking
 * each certificate record's not_after again inside it (a record whose
 * certificate is missing or not that old is left).  Between
 * transactions other writers get their turn.  At most `budget`
 * certificates are looked at per call; `out->more` then says where to
 * go on.  `out->next` is also where a later call with a later `before`
 * may start: every certificate up to it has been dealt with.
 *
 * Call it outside any write function or store_write_async() callback.
 * Returns 0, HSMCA_EIO for a malformed expiry index key, or the first
 * read or write failure (with `err` set); transactions committed
 * before a failure stay done and are counted in *out.
 */
int store_ocsp_prune(struct store *st, const struct store_ocsp_prune *pr,
    struct store_ocsp_pruned *out, struct hsmca_err *err);

/* --- consistency ------------------------------------------------------ */

struct MDB_txn;

/*
 * For store_check(): walk the OCSP records in the snapshot `txn`,
 * writing one line per problem to `report` (may be NULL) and counting
 * them in *problems: a key that is not a serial, a record that does
 * not decode or holds no response, thisUpdate after nextUpdate, no
 * certificate record for the serial, "revoked" for a certificate that
 * is not.  Returns 0, or an LMDB failure as an hsmca code.
 */
int store_ocsp_check(struct store *st, struct MDB_txn *txn, FILE *report,
    size_t *problems);

#endif
