/*
 * store/audit.c - the append-only audit log: sequence number (8 octets,
 * big-endian, from 1) -> opaque record.  Nothing here changes or
 * removes an entry.
 */
#include <string.h>

#include "store/store_int.h"
#include "store/store_revoke.h"

#define AUDIT_REC_MAX (64 * 1024)

/* Append one record under the next number.  See store_revoke.h. */
int
store_audit_append(struct store_txn *txn, const void *rec, size_t len,
    uint64_t *seq)
{
	MDB_cursor *cur = NULL;
	unsigned char key[8];
	MDB_val k, v;
	uint64_t next = 1;
	int mrc;

	if (txn->err != 0)
		return txn->err;
	if (rec == NULL || len == 0 || len > AUDIT_REC_MAX)
		return store_txn_fail(txn, HSMCA_EINVAL, 0, "store: audit "
		    "record of %zu bytes; 1 to %d allowed", len, AUDIT_REC_MAX);
	/* The last key, as this transaction sees it, plus one. */
	if ((mrc = mdb_cursor_open(txn->txn, txn->st->dbi[STORE_DB_AUDIT],
	    &cur)) != 0)
		goto lmdb;
	mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (mrc == 0) {
		if (k.mv_size != 8)
			return store_txn_fail(txn, HSMCA_EIO, 0, "store: audit "
			    "log holds a %zu-byte key; run hsmca db check",
			    k.mv_size);
		next = store_codec_get_be64(k.mv_data) + 1;
	} else if (mrc != MDB_NOTFOUND)
		goto lmdb;
	store_codec_put_be64(key, next);
	k.mv_data = key;
	k.mv_size = sizeof(key);
	v.mv_data = (void *)rec;
	v.mv_size = len;
	/* Never overwrite: an existing key here would mean damage. */
	if ((mrc = mdb_put(txn->txn, txn->st->dbi[STORE_DB_AUDIT], &k, &v,
	    MDB_NOOVERWRITE)) != 0)
		goto lmdb;
	if (seq != NULL)
		*seq = next;
	return 0;
lmdb:
	return store_txn_fail(txn, store_mdb_code(mrc), mrc,
	    "store: audit log: %s", mdb_strerror(mrc));
}

/* Walk the log from `from`.  See store_revoke.h. */
int
store_audit_walk(struct store *st, uint64_t from, store_audit_cb cb,
    void *arg, struct hsmca_err *err)
{
	struct store_rtxn r;
	MDB_cursor *cur = NULL;
	unsigned char start[8];
	MDB_val k, v;
	int mrc, rc;

	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(r.txn, st->dbi[STORE_DB_AUDIT], &cur)) != 0)
		goto lmdb;
	store_codec_put_be64(start, from);
	k.mv_data = start;
	k.mv_size = sizeof(start);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			rc = hsmca_err_set(err, HSMCA_EIO, "store", "store: "
			    "audit log holds a %zu-byte key", k.mv_size);
			goto out;
		}
		if ((rc = cb(store_codec_get_be64(k.mv_data), v.mv_data,
		    v.mv_size, arg)) != 0)
			goto out;
	}
	if (mrc != MDB_NOTFOUND)
		goto lmdb;
	rc = 0;
	goto out;
lmdb:
	rc = hsmca_err_set(err, store_mdb_code(mrc), "store",
	    "store: reading the audit log: %s", mdb_strerror(mrc));
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	store_rtxn_end(&r);
	return rc;
}
