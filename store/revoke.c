/*
 * store/revoke.c - the revoked list of each CRL shard and the CRL
 * record of each shard (see store/store_revoke.h for the layout).
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store_revoke.h"

#define REVOKED_V1 1
#define REVOKED_VAL_LEN (1 + 8 + 4 + 8)
#define REASON_MAX 10		/* RFC 5280 5.3.1: aACompromise */
#define STORE_REC_CRL 'L'
#define STORE_REC_CRL_V1 1
#define CRL_DER_MAX (256u << 20)

static void
put_be32(unsigned char out[4], uint32_t v)
{
	out[0] = (unsigned char)(v >> 24);
	out[1] = (unsigned char)(v >> 16);
	out[2] = (unsigned char)(v >> 8);
	out[3] = (unsigned char)v;
}

static uint32_t
get_be32(const unsigned char in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
	    (uint32_t)in[2] << 8 | in[3];
}

/* The entry key: shard BE32 || serial.  Returns its length. */
size_t
store_revoked_key(uint32_t shard, const unsigned char *serial,
    size_t serial_len, unsigned char out[STORE_REVOKED_KEY_MAX])
{
	put_be32(out, shard);
	memcpy(out + 4, serial, serial_len);
	return 4 + serial_len;
}

/*
 * Add one entry; refuses a serial listed already.  See
 * store_revoke.h.
 */
int
store_revoked_put(struct store_txn *txn, uint32_t shard,
    const struct store_revoked *e)
{
	unsigned char key[STORE_REVOKED_KEY_MAX], val[REVOKED_VAL_LEN];
	char hex[STORE_HEX_MAX];
	MDB_val k, v;
	int mrc;

	if (txn->err != 0)
		return txn->err;
	if (e->serial_len == 0 || e->serial_len > STORE_SERIAL_MAX)
		return store_txn_fail(txn, HSMCA_EINVAL, 0, "store: revoked "
		    "entry: serial of %zu octets", e->serial_len);
	store_hex(e->serial, e->serial_len, hex, sizeof(hex));
	if (e->reason < 0 || e->reason > REASON_MAX)
		return store_txn_fail(txn, HSMCA_EINVAL, 0, "store: revoked "
		    "entry %s: reason %d is not an RFC 5280 CRLReason", hex,
		    e->reason);
	val[0] = REVOKED_V1;
	store_codec_put_be64(val + 1, (uint64_t)e->revoked_at);
	put_be32(val + 9, (uint32_t)e->reason);
	store_codec_put_be64(val + 13, (uint64_t)e->not_after);
	k.mv_size = store_revoked_key(shard, e->serial, e->serial_len, key);
	k.mv_data = key;
	v.mv_size = sizeof(val);
	v.mv_data = val;
	mrc = mdb_put(txn->txn, txn->st->dbi[STORE_DB_REVOKED_BY_SHARD], &k,
	    &v, MDB_NOOVERWRITE);
	if (mrc == MDB_KEYEXIST)
		return store_txn_fail(txn, HSMCA_EEXIST, mrc, "store: serial "
		    "%s is already on the revoked list of shard %u", hex,
		    (unsigned)shard);
	if (mrc != 0)
		return store_txn_fail(txn, store_mdb_code(mrc), mrc,
		    "store: revoked entry %s: %s", hex, mdb_strerror(mrc));
	return 0;
}

/* Decode one entry.  See store_revoke.h. */
int
store_revoked_decode(const void *key, size_t klen, const void *val,
    size_t vlen, uint32_t *shard, struct store_revoked *out)
{
	const unsigned char *k = key, *v = val;
	uint32_t reason;

	if (klen <= 4 || klen > STORE_REVOKED_KEY_MAX ||
	    vlen != REVOKED_VAL_LEN || v[0] != REVOKED_V1)
		return HSMCA_EINVAL;
	reason = get_be32(v + 9);
	if (reason > REASON_MAX)
		return HSMCA_EINVAL;
	*shard = get_be32(k);
	out->serial_len = klen - 4;
	memcpy(out->serial, k + 4, out->serial_len);
	out->revoked_at = (int64_t)store_codec_get_be64(v + 1);
	out->reason = (int)reason;
	out->not_after = (int64_t)store_codec_get_be64(v + 13);
	return 0;
}

/* --- CRL records ------------------------------------------------------ */

void
store_crl_free(struct store_crl *crl)
{
	if (crl == NULL)
		return;
	free(crl->der);
	free(crl);
}

/*
 * Record version 1: u8 'L', u8 1, u64 number, this_update,
 * next_update, dirty_since, gen, u32 der_len, der.
 */
static int
crl_encode(const struct store_crl *c, unsigned char **out, size_t *outlen)
{
	struct store_codec_w w = { NULL, 0, 0, 0 };

	if (c->der_len > CRL_DER_MAX || (c->der_len > 0 && c->der == NULL))
		return HSMCA_EINVAL;
	store_codec_w_u8(&w, STORE_REC_CRL);
	store_codec_w_u8(&w, STORE_REC_CRL_V1);
	store_codec_w_u64(&w, c->number);
	store_codec_w_u64(&w, (uint64_t)c->this_update);
	store_codec_w_u64(&w, (uint64_t)c->next_update);
	store_codec_w_u64(&w, (uint64_t)c->dirty_since);
	store_codec_w_u64(&w, c->gen);
	store_codec_w_u32(&w, (uint32_t)c->der_len);
	store_codec_w_bytes(&w, c->der, c->der_len);
	if (w.err != 0) {
		free(w.buf);
		return w.err;
	}
	*out = w.buf;
	*outlen = w.len;
	return 0;
}

/* Decode exactly `len` bytes; copies the DER only when `with_der`. */
static int
crl_decode(uint32_t shard, const unsigned char *p, size_t len,
    bool with_der, struct store_crl **out)
{
	struct store_codec_r r = { p, len, 0, 0 };
	struct store_crl *c;
	const unsigned char *der;
	uint32_t dlen;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return HSMCA_ENOMEM;
	c->shard = shard;
	if (store_codec_r_u8(&r) != STORE_REC_CRL ||
	    store_codec_r_u8(&r) != STORE_REC_CRL_V1)
		goto bad;
	c->number = store_codec_r_u64(&r);
	c->this_update = (int64_t)store_codec_r_u64(&r);
	c->next_update = (int64_t)store_codec_r_u64(&r);
	c->dirty_since = (int64_t)store_codec_r_u64(&r);
	c->gen = store_codec_r_u64(&r);
	dlen = store_codec_r_u32(&r);
	der = store_codec_r_bytes(&r, dlen);
	if (r.err != 0 || r.pos != len || dlen > CRL_DER_MAX)
		goto bad;
	if (with_der && dlen > 0) {
		if ((c->der = malloc(dlen)) == NULL) {
			free(c);
			return HSMCA_ENOMEM;
		}
		memcpy(c->der, der, dlen);
		c->der_len = dlen;
	}
	*out = c;
	return 0;
bad:
	free(c);
	return HSMCA_EIO;
}

/* Read and decode the record of `shard` in `txn`. */
static int
crl_read(struct store *st, MDB_txn *txn, uint32_t shard, bool with_der,
    struct store_crl **out)
{
	unsigned char key[4];
	MDB_val k, v;
	int mrc;

	*out = NULL;
	put_be32(key, shard);
	k.mv_data = key;
	k.mv_size = sizeof(key);
	if ((mrc = mdb_get(txn, st->dbi[STORE_DB_CRLS], &k, &v)) != 0)
		return store_mdb_code(mrc);
	return crl_decode(shard, v.mv_data, v.mv_size, with_der, out);
}

/* Read one CRL record from a fresh snapshot.  See store_revoke.h. */
int
store_crl_get(struct store *st, uint32_t shard, bool with_der,
    struct store_crl **out, struct hsmca_err *err)
{
	struct store_rtxn r;
	int rc;

	*out = NULL;
	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	rc = crl_read(st, r.txn, shard, with_der, out);
	store_rtxn_end(&r);
	if (rc != 0 && rc != HSMCA_ENOTFOUND)
		hsmca_err_set(err, rc, "store", "store: CRL record of shard "
		    "%u: %s", (unsigned)shard, rc == HSMCA_EIO ?
		    "stored record is corrupt" : "read failed");
	else if (rc == HSMCA_ENOTFOUND)
		hsmca_err_set(err, rc, "notFound", "no CRL record for shard %u",
		    (unsigned)shard);
	return rc;
}

/* Read a CRL record inside a write function.  See store_revoke.h. */
int
store_txn_crl_get(struct store_txn *txn, uint32_t shard, bool with_der,
    struct store_crl **out)
{
	return crl_read(txn->st, txn->txn, shard, with_der, out);
}

/* Write a CRL record.  See store_revoke.h. */
int
store_crl_put(struct store_txn *txn, const struct store_crl *crl)
{
	unsigned char key[4], *buf = NULL;
	size_t len = 0;
	MDB_val k, v;
	int mrc, rc;

	if (txn->err != 0)
		return txn->err;
	if ((rc = crl_encode(crl, &buf, &len)) != 0)
		return store_txn_fail(txn, rc, 0, "store: CRL record of shard "
		    "%u: cannot encode (%s)", (unsigned)crl->shard,
		    hsmca_code_name(rc));
	put_be32(key, crl->shard);
	k.mv_data = key;
	k.mv_size = sizeof(key);
	v.mv_data = buf;
	v.mv_size = len;
	mrc = mdb_put(txn->txn, txn->st->dbi[STORE_DB_CRLS], &k, &v, 0);
	free(buf);
	if (mrc != 0)
		return store_txn_fail(txn, store_mdb_code(mrc), mrc,
		    "store: CRL record of shard %u: %s", (unsigned)crl->shard,
		    mdb_strerror(mrc));
	return 0;
}

/* Mark a shard dirty and count the revocation.  See store_revoke.h. */
int
store_crl_mark_dirty(struct store_txn *txn, uint32_t shard, int64_t now)
{
	struct store_crl *c = NULL, fresh;
	int rc;

	if (txn->err != 0)
		return txn->err;
	rc = crl_read(txn->st, txn->txn, shard, true, &c);
	if (rc == HSMCA_ENOTFOUND) {
		memset(&fresh, 0, sizeof(fresh));
		fresh.shard = shard;
		fresh.dirty_since = now;
		fresh.gen = 1;
		return store_crl_put(txn, &fresh);
	}
	if (rc != 0)
		return store_txn_fail(txn, rc, 0, "store: CRL record of shard "
		    "%u is unreadable", (unsigned)shard);
	if (c->dirty_since == 0)
		c->dirty_since = now;
	c->gen++;
	rc = store_crl_put(txn, c);
	store_crl_free(c);
	return rc;
}

/* Walk one shard's revoked list in one snapshot.  See store_revoke.h. */
int
store_revoked_walk(struct store *st, uint32_t shard, int64_t min_not_after,
    struct store_crl **crl, store_revoked_cb cb, void *arg,
    struct hsmca_err *err)
{
	struct store_rtxn r;
	MDB_cursor *cur = NULL;
	unsigned char start[4];
	struct store_revoked e;
	uint32_t s;
	MDB_val k, v;
	int mrc, rc;

	if (crl != NULL)
		*crl = NULL;
	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	if (crl != NULL) {
		rc = crl_read(st, r.txn, shard, false, crl);
		if (rc == HSMCA_ENOTFOUND)
			rc = 0;
		if (rc != 0) {
			hsmca_err_set(err, rc, "store", "store: CRL record of "
			    "shard %u is unreadable", (unsigned)shard);
			goto out;
		}
	}
	if ((mrc = mdb_cursor_open(r.txn, st->dbi[STORE_DB_REVOKED_BY_SHARD],
	    &cur)) != 0)
		goto lmdb;
	put_be32(start, shard);
	k.mv_data = start;
	k.mv_size = sizeof(start);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < 4 || memcmp(k.mv_data, start, 4) != 0)
			break;
		if (store_revoked_decode(k.mv_data, k.mv_size, v.mv_data,
		    v.mv_size, &s, &e) != 0) {
			rc = hsmca_err_set(err, HSMCA_EIO, "store", "store: "
			    "malformed revoked_by_shard entry in shard %u; run "
			    "hsmca db check", (unsigned)shard);
			goto out;
		}
		if (e.not_after < min_not_after)
			continue;
		if ((rc = cb(&e, arg)) != 0)
			goto out;
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		goto lmdb;
	rc = 0;
	goto out;
lmdb:
	rc = hsmca_err_set(err, store_mdb_code(mrc), "store",
	    "store: walking the revoked list of shard %u: %s",
	    (unsigned)shard, mdb_strerror(mrc));
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	store_rtxn_end(&r);
	if (rc != 0 && crl != NULL) {
		store_crl_free(*crl);
		*crl = NULL;
	}
	return rc;
}
