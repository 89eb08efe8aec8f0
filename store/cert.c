/*
 * store/cert.c - certificate records and their indexes.
 *
 * "certs" maps serial -> encoded record.  Three indexes point back at
 * the serial: "certs_by_expiry" (key: not_after || serial, empty
 * value), "certs_by_name" (name -> serial, sorted duplicates) and
 * "certs_by_account" (8-byte account id -> serial, only when the id is
 * not 0).  A put adds the record and its entries; an update removes the
 * old record's entries and adds the new ones, all in the caller's
 * nested transaction, so a failure leaves neither half.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/*
 * The expiry index key: not_after as 8 big-endian bytes with the sign
 * bit flipped (so negative times sort before positive ones, and a
 * cursor walks in expiry order) followed by the serial.  Returns its
 * length.
 */
size_t
store_expiry_key(int64_t not_after, const unsigned char *serial,
    size_t serial_len, unsigned char out[STORE_EXPIRY_KEY_MAX])
{
	store_codec_put_be64(out, (uint64_t)not_after ^ ((uint64_t)1 << 63));
	memcpy(out + 8, serial, serial_len);
	return 8 + serial_len;
}

/* The not_after of an expiry index key (its first 8 bytes). */
int64_t
store_expiry_key_time(const unsigned char key[8])
{
	return (int64_t)(store_codec_get_be64(key) ^ ((uint64_t)1 << 63));
}

/* The account index key: the id as 8 big-endian bytes. */
void
store_account_key(uint64_t account_id, unsigned char out[8])
{
	store_codec_put_be64(out, account_id);
}

/*
 * Free a record and everything it points to.  See store.h.
 */
void
store_cert_free(struct store_cert *cert)
{
	size_t i;

	if (cert == NULL)
		return;
	if (cert->names != NULL) {
		for (i = 0; i < cert->nnames; i++)
			free(cert->names[i]);
		free(cert->names);
	}
	free(cert->der);
	free(cert);
}

/* Check what the indexes need beyond what the encoder checks. */
static int
check_cert(struct store_txn *t, const struct store_cert *c)
{
	char hex[STORE_HEX_MAX];
	size_t i, keymax;

	keymax = (size_t)mdb_env_get_maxkeysize(t->st->env);
	if (c->serial_len == 0 || c->serial_len > STORE_SERIAL_MAX)
		return store_txn_fail(t, HSMCA_EINVAL, 0,
		    "store: serial of %zu octets; RFC 5280 4.1.2.2 allows 1 "
		    "to %d", c->serial_len, STORE_SERIAL_MAX);
	store_hex(c->serial, c->serial_len, hex, sizeof(hex));
	if (c->status != STORE_CERT_ISSUED && c->status != STORE_CERT_REVOKED)
		return store_txn_fail(t, HSMCA_EINVAL, 0,
		    "store: certificate %s: status %d is not ISSUED or "
		    "REVOKED", hex, c->status);
	for (i = 0; i < c->nnames; i++) {
		if (c->names[i] == NULL || c->names[i][0] == '\0' ||
		    strlen(c->names[i]) > keymax)
			return store_txn_fail(t, HSMCA_EINVAL, 0,
			    "store: certificate %s: name %zu is empty or "
			    "longer than %zu bytes", hex, i, keymax);
	}
	return 0;
}

/* Put one index entry; an identical entry already there is fine. */
static int
index_put(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *)key };
	MDB_val v = { vlen, (void *)val };
	unsigned flags;
	int mrc;

	flags = (store_db_table[db].flags & MDB_DUPSORT) ? MDB_NODUPDATA : 0;
	mrc = mdb_put(t->txn, t->st->dbi[db], &k, &v, flags);
	if (mrc == 0 || mrc == MDB_KEYEXIST)
		return 0;
	return store_txn_fail(t, store_mdb_code(mrc), mrc,
	    "store: adding to %s: %s", store_db_table[db].name,
	    mdb_strerror(mrc));
}

/* Delete one index entry; one already gone is fine. */
static int
index_del(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *)key };
	MDB_val v = { vlen, (void *)val };
	int mrc;

	/* A plain index holds one value per key: delete the key. */
	mrc = mdb_del(t->txn, t->st->dbi[db], &k,
	    (store_db_table[db].flags & MDB_DUPSORT) ? &v : NULL);
	if (mrc == 0 || mrc == MDB_NOTFOUND)
		return 0;
	return store_txn_fail(t, store_mdb_code(mrc), mrc,
	    "store: removing from %s: %s", store_db_table[db].name,
	    mdb_strerror(mrc));
}

/* Add (add=true) or remove every index entry of record `c`. */
static int
index_apply(struct store_txn *t, const struct store_cert *c, bool add)
{
	int (*op)(struct store_txn *, enum store_db, const void *, size_t,
	    const void *, size_t) = add ? index_put : index_del;
	unsigned char ekey[STORE_EXPIRY_KEY_MAX], akey[8];
	size_t i, elen;
	int rc;

	elen = store_expiry_key(c->not_after, c->serial, c->serial_len, ekey);
	if ((rc = op(t, STORE_DB_CERTS_BY_EXPIRY, ekey, elen, "", 0)) != 0)
		return rc;
	for (i = 0; i < c->nnames; i++) {
		if ((rc = op(t, STORE_DB_CERTS_BY_NAME, c->names[i],
		    strlen(c->names[i]), c->serial, c->serial_len)) != 0)
			return rc;
	}
	if (c->account_id != 0) {
		store_account_key(c->account_id, akey);
		if ((rc = op(t, STORE_DB_CERTS_BY_ACCOUNT, akey, sizeof(akey),
		    c->serial, c->serial_len)) != 0)
			return rc;
	}
	return 0;
}

/* Encode `c` and write it under its serial with `flags`. */
static int
record_put(struct store_txn *t, const struct store_cert *c, unsigned flags)
{
	unsigned char *buf = NULL;
	char hex[STORE_HEX_MAX];
	MDB_val k, v;
	size_t len;
	int mrc, rc;

	store_hex(c->serial, c->serial_len, hex, sizeof(hex));
	if ((rc = store_cert_encode(c, &buf, &len)) != 0) {
		rc = store_txn_fail(t, rc, 0, "store: certificate %s: cannot "
		    "encode the record (%s)", hex, hsmca_code_name(rc));
		goto out;
	}
	k.mv_data = (void *)c->serial;
	k.mv_size = c->serial_len;
	v.mv_data = buf;
	v.mv_size = len;
	if ((mrc = mdb_put(t->txn, t->st->dbi[STORE_DB_CERTS], &k, &v,
	    flags)) != 0) {
		if (mrc == MDB_KEYEXIST)
			rc = store_txn_fail(t, HSMCA_EEXIST, mrc,
			    "store: certificate serial %s is already stored",
			    hex);
		else
			rc = store_txn_fail(t, store_mdb_code(mrc), mrc,
			    "store: certificate %s: %s", hex,
			    mdb_strerror(mrc));
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/*
 * Add a new record and its index entries.  See store.h.
 */
int
store_cert_put(struct store_txn *txn, const struct store_cert *cert)
{
	int rc;

	if (txn->err != 0)
		return txn->err;
	if ((rc = check_cert(txn, cert)) != 0)
		return rc;
	if ((rc = record_put(txn, cert, MDB_NOOVERWRITE)) != 0)
		return rc;
	return index_apply(txn, cert, true);
}

/*
 * Replace a record, moving its index entries.  See store.h.
 */
int
store_cert_update(struct store_txn *txn, const struct store_cert *cert)
{
	struct store_cert *old = NULL;
	char hex[STORE_HEX_MAX];
	int rc;

	if (txn->err != 0)
		return txn->err;
	if ((rc = check_cert(txn, cert)) != 0)
		goto out;
	if ((rc = store_txn_cert_get(txn, cert->serial, cert->serial_len,
	    &old)) != 0) {
		store_hex(cert->serial, cert->serial_len, hex, sizeof(hex));
		rc = store_txn_fail(txn, rc, 0, "store: certificate %s: %s",
		    hex, rc == HSMCA_ENOTFOUND ? "not stored, cannot update" :
		    "stored record unreadable");
		goto out;
	}
	/* Delete the old entries first: the new ones may share keys. */
	if ((rc = index_apply(txn, old, false)) != 0 ||
	    (rc = record_put(txn, cert, 0)) != 0 ||
	    (rc = index_apply(txn, cert, true)) != 0)
		goto out;
	rc = 0;
out:
	store_cert_free(old);
	return rc;
}

/*
 * Look up and decode one record in an open transaction.  See
 * store_int.h.
 */
int
store_cert_read(struct store *st, MDB_txn *txn, const unsigned char *serial,
    size_t serial_len, struct store_cert **out)
{
	MDB_val k, v;
	int mrc;

	*out = NULL;
	if (serial == NULL || serial_len == 0 || serial_len > STORE_SERIAL_MAX)
		return HSMCA_EINVAL;
	k.mv_data = (void *)serial;
	k.mv_size = serial_len;
	if ((mrc = mdb_get(txn, st->dbi[STORE_DB_CERTS], &k, &v)) != 0)
		return store_mdb_code(mrc);
	/* A record that does not decode is damage, not bad input. */
	if (store_cert_decode(v.mv_data, v.mv_size, out) != 0)
		return HSMCA_EIO;
	return 0;
}

/*
 * Read a record inside a write transaction.  Does not touch the
 * transaction's sticky error: not finding a record is an answer.
 */
int
store_txn_cert_get(struct store_txn *txn, const unsigned char *serial,
    size_t serial_len, struct store_cert **out)
{
	return store_cert_read(txn->st, txn->txn, serial, serial_len, out);
}

/*
 * Read one record from a fresh snapshot.  See store.h.
 */
int
store_cert_get(struct store *st, const unsigned char *serial,
    size_t serial_len, struct store_cert **out, struct hsmca_err *err)
{
	struct store_rtxn r;
	char hex[STORE_HEX_MAX];
	int rc;

	*out = NULL;
	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	rc = store_cert_read(st, r.txn, serial, serial_len, out);
	store_rtxn_end(&r);
	if (rc != 0) {
		store_hex(serial, serial_len <= STORE_SERIAL_MAX ?
		    serial_len : STORE_SERIAL_MAX, hex, sizeof(hex));
		hsmca_err_set(err, rc, "store", "store: certificate %s: %s",
		    hex, rc == HSMCA_ENOTFOUND ? "not found" :
		    rc == HSMCA_EINVAL ? "serial must be 1 to 20 octets" :
		    rc == HSMCA_EIO ? "stored record is corrupt" : "read failed");
	}
	return rc;
}

/*
 * 1 when the serial is stored, 0 when not, negative on error.
 */
int
store_cert_exists(struct store *st, const unsigned char *serial,
    size_t serial_len)
{
	struct store_rtxn r;
	MDB_val k, v;
	int mrc, rc;

	if (serial == NULL || serial_len == 0 || serial_len > STORE_SERIAL_MAX)
		return HSMCA_EINVAL;
	if ((rc = store_rtxn_begin(st, &r, NULL)) != 0)
		return rc;
	k.mv_data = (void *)serial;
	k.mv_size = serial_len;
	mrc = mdb_get(r.txn, st->dbi[STORE_DB_CERTS], &k, &v);
	store_rtxn_end(&r);
	if (mrc == 0)
		return 1;
	if (mrc == MDB_NOTFOUND)
		return 0;
	return store_mdb_code(mrc);
}
