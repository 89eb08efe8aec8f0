/*
 * store/ocsp.c - pre-signed OCSP responses ("ocsp": serial -> record),
 * the light certificate read the responder compares them with, and the
 * removal of the records of long-expired certificates.
 *
 * Record, version 1:
 *   u8 'O', u8 1, u8 status, u64 revoked_at, u32 revoke_reason,
 *   u64 this_update, u64 next_update,
 *   { u32 der_len, der } for each of STORE_OCSP_NVAR variants
 *   (der_len 0: absent).
 *
 * The light certificate read decodes only the leading fixed fields of a
 * certificate record (see store/codec.c) instead of copying its names
 * and DER: the responder does it on every request.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store_ocsp.h"

#define STORE_REC_OCSP 'O'
#define STORE_REC_OCSP_V1 1

/* Encode `rec` into `w` (sticky errors in w). */
static void
ocsp_encode(struct store_codec_w *w, const struct store_ocsp *rec)
{
	size_t i;

	store_codec_w_u8(w, STORE_REC_OCSP);
	store_codec_w_u8(w, STORE_REC_OCSP_V1);
	store_codec_w_u8(w, (uint8_t)rec->status);
	store_codec_w_u64(w, (uint64_t)rec->revoked_at);
	store_codec_w_u32(w, (uint32_t)rec->revoke_reason);
	store_codec_w_u64(w, (uint64_t)rec->this_update);
	store_codec_w_u64(w, (uint64_t)rec->next_update);
	for (i = 0; i < STORE_OCSP_NVAR; i++) {
		size_t n = rec->der[i] != NULL ? rec->der_len[i] : 0;
		store_codec_w_u32(w, (uint32_t)n);
		store_codec_w_bytes(w, rec->der[i], n);
	}
}

/* Decode a stored record into a view of `p`; exact length.  */
static int
ocsp_decode(const unsigned char *p, size_t len, struct store_ocsp *rec)
{
	struct store_codec_r r = { p, len, 0, 0 };
	size_t i, n;

	memset(rec, 0, sizeof(*rec));
	if (store_codec_r_u8(&r) != STORE_REC_OCSP ||
	    store_codec_r_u8(&r) != STORE_REC_OCSP_V1)
		return HSMCA_EINVAL;
	rec->status = store_codec_r_u8(&r);
	rec->revoked_at = (int64_t)store_codec_r_u64(&r);
	rec->revoke_reason = (int32_t)store_codec_r_u32(&r);
	rec->this_update = (int64_t)store_codec_r_u64(&r);
	rec->next_update = (int64_t)store_codec_r_u64(&r);
	for (i = 0; i < STORE_OCSP_NVAR; i++) {
		n = store_codec_r_u32(&r);
		rec->der[i] = store_codec_r_bytes(&r, n);
		rec->der_len[i] = n;
		if (n == 0)
			rec->der[i] = NULL;
	}
	if (r.err != 0 || r.pos != r.len)
		return HSMCA_EINVAL;
	return 0;
}

/*
 * The leading fields of a certificate record (codec.c, version 1):
 * type, version, serial, status, not_before, not_after, issued_at,
 * revoked_at, revoke_reason.  The rest is not read.
 */
static int
cert_decode_light(const unsigned char *p, size_t len,
    struct store_ocsp_cert *c)
{
	struct store_codec_r r = { p, len, 0, 0 };
	size_t n;

	if (store_codec_r_u8(&r) != STORE_REC_CERT ||
	    store_codec_r_u8(&r) != STORE_REC_CERT_V1)
		return HSMCA_EINVAL;
	n = store_codec_r_u8(&r);
	if (n == 0 || n > STORE_SERIAL_MAX ||
	    store_codec_r_bytes(&r, n) == NULL)
		return HSMCA_EINVAL;
	c->status = store_codec_r_u8(&r);
	(void)store_codec_r_u64(&r);	/* not_before */
	c->not_after = (int64_t)store_codec_r_u64(&r);
	(void)store_codec_r_u64(&r);	/* issued_at */
	c->revoked_at = (int64_t)store_codec_r_u64(&r);
	c->revoke_reason = (int32_t)store_codec_r_u32(&r);
	return r.err != 0 ? HSMCA_EINVAL : 0;
}

/*
 * Replace the record of a serial.  See store_ocsp.h.
 */
int
store_ocsp_put(struct store_txn *txn, const unsigned char *serial,
    size_t serial_len, const struct store_ocsp *rec)
{
	struct store_codec_w w = { NULL, 0, 0, 0 };
	char hex[STORE_HEX_MAX];
	MDB_val k, v;
	size_t i, nvar = 0;
	int mrc, rc;

	if (txn->err != 0)
		return txn->err;
	if (serial_len == 0 || serial_len > STORE_SERIAL_MAX)
		return store_txn_fail(txn, HSMCA_EINVAL, 0,
		    "store: OCSP response for a serial of %zu octets",
		    serial_len);
	store_hex(serial, serial_len, hex, sizeof(hex));
	for (i = 0; i < STORE_OCSP_NVAR; i++) {
		if (rec->der[i] == NULL)
			continue;
		if (rec->der_len[i] == 0 ||
		    rec->der_len[i] > STORE_OCSP_DER_MAX)
			return store_txn_fail(txn, HSMCA_EINVAL, 0,
			    "store: OCSP response %s: variant %zu is %zu "
			    "bytes (1 to %d)", hex, i, rec->der_len[i],
			    STORE_OCSP_DER_MAX);
		nvar++;
	}
	if (nvar == 0 || rec->status < 0 || rec->status > 0xff)
		return store_txn_fail(txn, HSMCA_EINVAL, 0,
		    "store: OCSP response %s: no response or bad status", hex);
	ocsp_encode(&w, rec);
	if (w.err != 0) {
		rc = store_txn_fail(txn, w.err, 0,
		    "store: OCSP response %s: cannot encode", hex);
		goto out;
	}
	k.mv_data = (void *)serial;
	k.mv_size = serial_len;
	v.mv_data = w.buf;
	v.mv_size = w.len;
	if ((mrc = mdb_put(txn->txn, txn->st->dbi[STORE_DB_OCSP], &k, &v,
	    0)) != 0) {
		rc = store_txn_fail(txn, store_mdb_code(mrc), mrc,
		    "store: OCSP response %s: %s", hex, mdb_strerror(mrc));
		goto out;
	}
	rc = 0;
out:
	free(w.buf);
	return rc;
}

/* Look up `serial` in both databases of `txn`; NULL views when absent. */
static int
lookup(struct store *st, MDB_txn *txn, const unsigned char *serial,
    size_t serial_len, struct store_ocsp_cert *cert, bool *have_cert,
    struct store_ocsp *rec, bool *have_rec)
{
	MDB_val k, v;
	int mrc;

	*have_cert = false;
	*have_rec = false;
	k.mv_data = (void *)serial;
	k.mv_size = serial_len;
	mrc = mdb_get(txn, st->dbi[STORE_DB_CERTS], &k, &v);
	if (mrc == 0) {
		if (cert_decode_light(v.mv_data, v.mv_size, cert) != 0)
			return HSMCA_EIO;
		*have_cert = true;
	} else if (mrc != MDB_NOTFOUND)
		return store_mdb_code(mrc);
	mrc = mdb_get(txn, st->dbi[STORE_DB_OCSP], &k, &v);
	if (mrc == 0) {
		if (ocsp_decode(v.mv_data, v.mv_size, rec) != 0)
			return HSMCA_EIO;
		*have_rec = true;
	} else if (mrc != MDB_NOTFOUND)
		return store_mdb_code(mrc);
	return 0;
}

/*
 * One snapshot, two gets, one callback.  See store_ocsp.h.
 */
int
store_ocsp_view(struct store *st, const unsigned char *serial,
    size_t serial_len, store_ocsp_view_fn fn, void *arg,
    struct hsmca_err *err)
{
	struct store_rtxn r;
	struct store_ocsp_cert cert;
	struct store_ocsp rec;
	bool have_cert, have_rec;
	char hex[STORE_HEX_MAX];
	int rc;

	if (serial_len == 0 || serial_len > STORE_SERIAL_MAX)
		return hsmca_err_set(err, HSMCA_EINVAL, "store",
		    "store: serial of %zu octets", serial_len);
	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	rc = lookup(st, r.txn, serial, serial_len, &cert, &have_cert, &rec,
	    &have_rec);
	if (rc == 0)
		rc = fn(have_cert ? &cert : NULL, have_rec ? &rec : NULL, arg);
	else
		hsmca_err_set(err, rc, "store", "store: OCSP lookup of %s: %s",
		    store_hex(serial, serial_len, hex, sizeof(hex)),
		    rc == HSMCA_EIO ? "stored record is corrupt" :
		    "read failed");
	store_rtxn_end(&r);
	return rc;
}

/*
 * Put `cur` (on the expiry index) on the first entry just after `after`
 * or, when `after` is NULL or before `from`, on the first entry with
 * not_after >= `from`.  Returns the LMDB result (MDB_NOTFOUND: none).
 */
static int
expiry_seek(MDB_cursor *cur, int64_t from, const struct store_ocsp_pos *after,
    MDB_val *k, MDB_val *v)
{
	unsigned char start[STORE_EXPIRY_KEY_MAX];
	int mrc;

	if (after != NULL && after->not_after >= from &&
	    after->serial_len <= STORE_SERIAL_MAX)
		k->mv_size = store_expiry_key(after->not_after, after->serial,
		    after->serial_len, start);
	else {
		after = NULL;
		k->mv_size = store_expiry_key(from, (const unsigned char *)"",
		    0, start);
	}
	k->mv_data = start;
	mrc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	/* Resuming: skip the entry the last walk stopped at. */
	if (mrc == 0 && after != NULL && k->mv_size == 8 + after->serial_len &&
	    memcmp(k->mv_data, start, k->mv_size) == 0)
		mrc = mdb_cursor_get(cur, k, v, MDB_NEXT);
	return mrc;
}

/*
 * Walk the expiry index from `from` in one snapshot.  See
 * store_ocsp.h.
 */
int
store_ocsp_walk(struct store *st, int64_t from,
    const struct store_ocsp_pos *after, store_ocsp_walk_fn fn, void *arg,
    struct hsmca_err *err)
{
	struct store_ocsp_cert cert;
	struct store_ocsp rec;
	struct store_rtxn r;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	bool have_cert, have_rec;
	int mrc, rc;

	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(r.txn, st->dbi[STORE_DB_CERTS_BY_EXPIRY],
	    &cur)) != 0) {
		rc = hsmca_err_set(err, store_mdb_code(mrc), "store",
		    "store: OCSP walk: %s", mdb_strerror(mrc));
		goto out;
	}
	for (mrc = expiry_seek(cur, from, after, &k, &v); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const unsigned char *serial = (const unsigned char *)k.mv_data
		    + 8;
		size_t slen = k.mv_size - 8;

		if (k.mv_size <= 8 || slen > STORE_SERIAL_MAX) {
			rc = hsmca_err_set(err, HSMCA_EIO, "store",
			    "store: OCSP walk: bad expiry index key");
			goto out;
		}
		if ((rc = lookup(st, r.txn, serial, slen, &cert, &have_cert,
		    &rec, &have_rec)) != 0) {
			hsmca_err_set(err, rc, "store",
			    "store: OCSP walk: record unreadable");
			goto out;
		}
		/* An index entry without its record: db check reports it. */
		if (!have_cert)
			continue;
		if ((rc = fn(serial, slen, &cert, have_rec ? &rec : NULL,
		    arg)) != 0)
			goto out;
	}
	if (mrc != MDB_NOTFOUND) {
		rc = hsmca_err_set(err, store_mdb_code(mrc), "store",
		    "store: OCSP walk: %s", mdb_strerror(mrc));
		goto out;
	}
	rc = 0;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	store_rtxn_end(&r);
	return rc;
}

/* --- pruning ------------------------------------------------------------ */

struct prune_item {
	unsigned char serial[STORE_SERIAL_MAX];
	size_t len;
};

/* One batch: collected in a snapshot, removed in one transaction. */
struct prune_batch {
	int64_t before;
	struct prune_item *item;
	size_t n, max;
	size_t removed;		/* set by prune_fn */
};

/*
 * In one snapshot, from just after `pos` (have_pos false: the first
 * certificate): look at certificates with not_after before b->before
 * until `max_seen` are looked at or b->max serials with a record are
 * collected.  *pos and *have_pos follow the last one looked at, *seen
 * counts them, *done says the walk reached `before` or the end.
 */
static int
prune_collect(struct store *st, struct prune_batch *b,
    struct store_ocsp_pos *pos, bool *have_pos, size_t max_seen,
    size_t *seen, bool *done, struct hsmca_err *err)
{
	struct store_rtxn r;
	MDB_cursor *cur = NULL;
	MDB_val k, v, ok, ov;
	size_t slen;
	int mrc, grc, rc;

	b->n = 0;
	*seen = 0;
	*done = false;
	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(r.txn, st->dbi[STORE_DB_CERTS_BY_EXPIRY],
	    &cur)) != 0)
		goto mdb_fail;
	for (mrc = expiry_seek(cur, INT64_MIN, *have_pos ? pos : NULL, &k,
	    &v); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		slen = k.mv_size - 8;
		if (k.mv_size <= 8 || slen > STORE_SERIAL_MAX) {
			rc = hsmca_err_set(err, HSMCA_EIO, "store",
			    "store: OCSP prune: bad expiry index key");
			goto out;
		}
		if (store_expiry_key_time(k.mv_data) >= b->before)
			break;
		pos->not_after = store_expiry_key_time(k.mv_data);
		memcpy(pos->serial, (unsigned char *)k.mv_data + 8, slen);
		pos->serial_len = slen;
		*have_pos = true;
		(*seen)++;
		ok.mv_data = pos->serial;
		ok.mv_size = slen;
		/* Not in mrc: that tells below why the walk stopped. */
		grc = mdb_get(r.txn, st->dbi[STORE_DB_OCSP], &ok, &ov);
		if (grc == 0) {
			memcpy(b->item[b->n].serial, pos->serial, slen);
			b->item[b->n++].len = slen;
		} else if (grc != MDB_NOTFOUND) {
			mrc = grc;
			goto mdb_fail;
		}
		if (b->n == b->max || *seen == max_seen)
			break;
	}
	if (mrc == MDB_NOTFOUND || (mrc == 0 &&
	    store_expiry_key_time(k.mv_data) >= b->before))
		*done = true;
	else if (mrc != 0)
		goto mdb_fail;
	rc = 0;
	goto out;
mdb_fail:
	rc = hsmca_err_set(err, store_mdb_code(mrc), "store",
	    "store: OCSP prune: %s", mdb_strerror(mrc));
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	store_rtxn_end(&r);
	return rc;
}

/*
 * The write function of one batch: remove each collected record whose
 * certificate record is there and still expired before the cutoff.
 * May run again (map growth): it sets, never adds.
 */
static int
prune_fn(struct store_txn *txn, void *arg)
{
	struct prune_batch *b = arg;
	struct store_ocsp_cert c;
	char hex[STORE_HEX_MAX];
	MDB_val k, v;
	size_t i;
	int mrc;

	b->removed = 0;
	for (i = 0; i < b->n; i++) {
		k.mv_data = b->item[i].serial;
		k.mv_size = b->item[i].len;
		store_hex(b->item[i].serial, b->item[i].len, hex, sizeof(hex));
		/* The index says expired; only the record is trusted. */
		mrc = mdb_get(txn->txn, txn->st->dbi[STORE_DB_CERTS], &k, &v);
		if (mrc == MDB_NOTFOUND || (mrc == 0 &&
		    (cert_decode_light(v.mv_data, v.mv_size, &c) != 0 ||
		    c.not_after >= b->before)))
			continue;
		if (mrc == 0)
			mrc = mdb_del(txn->txn, txn->st->dbi[STORE_DB_OCSP], &k,
			    NULL);
		if (mrc == MDB_NOTFOUND)
			continue;
		if (mrc != 0)
			return store_txn_fail(txn, store_mdb_code(mrc), mrc,
			    "store: OCSP prune of %s: %s", hex,
			    mdb_strerror(mrc));
		b->removed++;
	}
	return store_txn_error(txn);
}

/*
 * Remove the responses of certificates expired before a cutoff.  See
 * store_ocsp.h.
 */
int
store_ocsp_prune(struct store *st, const struct store_ocsp_prune *pr,
    struct store_ocsp_pruned *out, struct hsmca_err *err)
{
	struct prune_batch b;
	struct store_ocsp_pos pos;
	bool have_pos = false, done = false;
	size_t seen, left;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	b.before = pr->before;
	b.max = pr->batch > 0 ? pr->batch : STORE_OCSP_PRUNE_BATCH;
	if ((b.item = calloc(b.max, sizeof(*b.item))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "store",
		    "out of memory");
	if (pr->after != NULL) {
		pos = *pr->after;
		have_pos = true;
	}
	while (!done) {
		left = pr->budget > 0 ? pr->budget - out->seen : SIZE_MAX;
		if (left == 0) {
			out->more = true;
			break;
		}
		if ((rc = prune_collect(st, &b, &pos, &have_pos, left, &seen,
		    &done, err)) != 0)
			break;
		if (b.n > 0) {
			if ((rc = store_write(st, prune_fn, &b, err)) != 0)
				break;
			out->removed += b.removed;
		}
		/* Only once its batch is gone does the position pass it. */
		out->seen += seen;
		if (seen > 0)
			out->next = pos;
	}
	free(b.item);
	return rc;
}

/* --- consistency ------------------------------------------------------ */

/* One line for store_check()'s report, counted. */
static void
ocsp_problem(FILE *report, size_t *problems, const char *hex,
    const char *what)
{
	(*problems)++;
	if (report != NULL)
		fprintf(report, "ocsp %s: %s\n", hex, what);
}

/* The OCSP part of store_check(); see store_ocsp.h. */
int
store_ocsp_check(struct store *st, struct MDB_txn *txn, FILE *report,
    size_t *problems)
{
	struct store_ocsp_cert cert;
	struct store_ocsp rec;
	MDB_cursor *cur = NULL;
	char hex[STORE_HEX_MAX];
	MDB_val k, v, cv;
	size_t i, nder;
	int mrc, grc = 0;

	if ((mrc = mdb_cursor_open(txn, st->dbi[STORE_DB_OCSP], &cur)) != 0)
		return store_mdb_code(mrc);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		store_hex(k.mv_data, k.mv_size <= STORE_SERIAL_MAX ?
		    k.mv_size : STORE_SERIAL_MAX, hex, sizeof(hex));
		if (k.mv_size == 0 || k.mv_size > STORE_SERIAL_MAX) {
			ocsp_problem(report, problems, hex,
			    "key is not a serial");
			continue;
		}
		if (ocsp_decode(v.mv_data, v.mv_size, &rec) != 0) {
			ocsp_problem(report, problems, hex,
			    "record does not decode");
			continue;
		}
		for (i = 0, nder = 0; i < STORE_OCSP_NVAR; i++)
			if (rec.der[i] != NULL)
				nder++;
		if (nder == 0)
			ocsp_problem(report, problems, hex,
			    "record holds no response");
		if (rec.this_update > rec.next_update)
			ocsp_problem(report, problems, hex,
			    "thisUpdate is after nextUpdate");
		/* Responses are served only while they state the
		 * certificate's status, and only for a known certificate;
		 * a stale "good" after a revocation is re-signed, but a
		 * response for no certificate, or "revoked" for one that
		 * is not, cannot come from this program. */
		cv.mv_size = 0;
		if ((grc = mdb_get(txn, st->dbi[STORE_DB_CERTS], &k,
		    &cv)) == MDB_NOTFOUND) {
			ocsp_problem(report, problems, hex,
			    "no certificate record for this serial");
			grc = 0;
			continue;
		}
		if (grc != 0)
			break;
		if (cert_decode_light(cv.mv_data, cv.mv_size, &cert) != 0)
			continue;	/* the certificate check reports it */
		if (rec.status == STORE_CERT_REVOKED &&
		    cert.status != STORE_CERT_REVOKED)
			ocsp_problem(report, problems, hex,
			    "response says revoked, the certificate record "
			    "does not");
	}
	mdb_cursor_close(cur);
	if (grc != 0)
		return store_mdb_code(grc);
	return mrc == MDB_NOTFOUND ? 0 : store_mdb_code(mrc);
}
