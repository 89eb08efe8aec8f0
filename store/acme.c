/*
 * store/acme.c - ACME accounts, orders and authorizations in LMDB, with
 * their indexes (see store_acme.h for the key layout).
 *
 * Every put writes the record and its index entries in the caller's
 * nested transaction, so a failure leaves neither half.  Records are
 * keyed by their 64-bit id as 8 big-endian bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_acme.h"
#include "store/store_int.h"


/* Write `val` under `key` in `db` with `flags`; sticky on failure. */
static int
raw_put(struct store_txn *t, enum store_db db, const void *key, size_t klen,
    const void *val, size_t vlen, unsigned flags, const char *what)
{
	MDB_val k = { klen, (void *)key };
	MDB_val v = { vlen, (void *)(vlen > 0 ? val : "") };
	int mrc;

	if (t->err != 0)
		return t->err;
	if ((mrc = mdb_put(t->txn, t->st->dbi[db], &k, &v, flags)) == 0)
		return 0;
	if (mrc == MDB_KEYEXIST)
		return store_txn_fail(t, HSMCA_EEXIST, mrc,
		    "store: %s already exists", what);
	return store_txn_fail(t, store_mdb_code(mrc), mrc, "store: %s: %s",
	    what, mdb_strerror(mrc));
}

/* Delete `key` (with value `val` in a dup-sorted db); absent is fine. */
static int
raw_del(struct store_txn *t, enum store_db db, const void *key, size_t klen,
    const void *val, size_t vlen, const char *what)
{
	MDB_val k = { klen, (void *)key };
	MDB_val v = { vlen, (void *)val };
	int mrc;

	if (t->err != 0)
		return t->err;
	mrc = mdb_del(t->txn, t->st->dbi[db], &k, val != NULL ? &v : NULL);
	if (mrc == 0 || mrc == MDB_NOTFOUND)
		return 0;
	return store_txn_fail(t, store_mdb_code(mrc), mrc, "store: %s: %s",
	    what, mdb_strerror(mrc));
}

/* Read and decode the record `id` of `db` in `txn`. */
static int
rec_read(struct store *st, MDB_txn *txn, enum store_db db, uint64_t id,
    int (*decode)(const unsigned char *, size_t, void *), void *out)
{
	unsigned char key[8];
	MDB_val k = { 8, key }, v;
	int mrc, rc;

	store_codec_put_be64(key, id);
	if ((mrc = mdb_get(txn, st->dbi[db], &k, &v)) != 0)
		return store_mdb_code(mrc);
	rc = decode(v.mv_data, v.mv_size, out);
	return rc == HSMCA_EINVAL ? HSMCA_EIO : rc;
}

/* rec_read() on a fresh snapshot. */
static int
rec_get(struct store *st, enum store_db db, uint64_t id,
    int (*decode)(const unsigned char *, size_t, void *), void *out,
    struct hsmca_err *err)
{
	struct store_rtxn r;
	int rc;

	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	rc = rec_read(st, r.txn, db, id, decode, out);
	store_rtxn_end(&r);
	if (rc == HSMCA_EIO)
		hsmca_err_set(err, rc, "store", "store: %s record %llu does "
		    "not decode", store_db_table[db].name,
		    (unsigned long long)id);
	return rc;
}

/* Adapters from the typed decoders to rec_read()'s void pointer. */
static int
dec_account(const unsigned char *p, size_t n, void *out)
{
	return store_acme_account_decode(p, n, out);
}

static int
dec_authz(const unsigned char *p, size_t n, void *out)
{
	return store_acme_authz_decode(p, n, out);
}

static int
dec_order(const unsigned char *p, size_t n, void *out)
{
	return store_acme_order_decode(p, n, out);
}

/* --- accounts ---------------------------------------------------------- */

/* Write an account and move its key index; see store_acme.h. */
int
store_acme_account_put(struct store_txn *txn,
    const struct store_acme_account *a, bool create)
{
	struct store_acme_account *old = NULL;
	unsigned char key[8], *buf = NULL;
	size_t len;
	int rc;

	if (txn->err != 0)
		return txn->err;
	if (strlen(a->thumb) != STORE_ACME_THUMB_LEN)
		return store_txn_fail(txn, HSMCA_EINVAL, 0,
		    "store: account thumbprint must be %d characters",
		    STORE_ACME_THUMB_LEN);
	if ((rc = store_acme_account_encode(a, &buf, &len)) != 0)
		return store_txn_fail(txn, rc, 0, "store: account %llu: "
		    "cannot encode the record",
		    (unsigned long long)a->id);
	store_codec_put_be64(key, a->id);
	if (!create) {
		rc = rec_read(txn->st, txn->txn, STORE_DB_ACCOUNTS, a->id,
		    dec_account, &old);
		if (rc != 0) {
			rc = store_txn_fail(txn, rc, 0, "store: account %llu: "
			    "not stored, cannot update",
			    (unsigned long long)a->id);
			goto out;
		}
		if (strcmp(old->thumb, a->thumb) != 0) {
			raw_del(txn, STORE_DB_ACCOUNTS_BY_THUMB, old->thumb,
			    strlen(old->thumb), NULL, 0, "account key index");
			raw_put(txn, STORE_DB_ACCOUNTS_BY_THUMB, a->thumb,
			    strlen(a->thumb), key, 8, MDB_NOOVERWRITE,
			    "account key");
		}
	} else {
		raw_put(txn, STORE_DB_ACCOUNTS_BY_THUMB, a->thumb,
		    strlen(a->thumb), key, 8, MDB_NOOVERWRITE, "account key");
	}
	rc = raw_put(txn, STORE_DB_ACCOUNTS, key, 8, buf, len,
	    create ? MDB_NOOVERWRITE : 0, "account");
out:
	store_acme_account_free(old);
	free(buf);
	return rc;
}

/* Read account `id` from a fresh snapshot. */
int
store_acme_account_get(struct store *st, uint64_t id,
    struct store_acme_account **out, struct hsmca_err *err)
{
	*out = NULL;
	return rec_get(st, STORE_DB_ACCOUNTS, id, dec_account, out, err);
}

/* Read account `id` inside a write transaction. */
int
store_acme_txn_account_get(struct store_txn *txn, uint64_t id,
    struct store_acme_account **out)
{
	*out = NULL;
	return rec_read(txn->st, txn->txn, STORE_DB_ACCOUNTS, id, dec_account,
	    out);
}

/* The id of the account holding key `thumb`. */
int
store_acme_account_by_thumb(struct store *st, const char *thumb,
    uint64_t *id, struct hsmca_err *err)
{
	struct store_rtxn r;
	MDB_val k = { strlen(thumb), (void *)thumb }, v;
	int mrc, rc;

	if (k.mv_size == 0 || k.mv_size > STORE_ACME_THUMB_LEN)
		return HSMCA_ENOTFOUND;
	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	mrc = mdb_get(r.txn, st->dbi[STORE_DB_ACCOUNTS_BY_THUMB], &k, &v);
	if (mrc == 0 && v.mv_size == 8)
		*id = store_codec_get_be64(v.mv_data);
	store_rtxn_end(&r);
	if (mrc == 0 && v.mv_size != 8)
		return hsmca_err_set(err, HSMCA_EIO, "store",
		    "store: accounts_by_thumb entry of %zu bytes", v.mv_size);
	return store_mdb_code(mrc);
}

/* --- authorizations ---------------------------------------------------- */

/* Write (create or replace) an authorization. */
int
store_acme_authz_put(struct store_txn *txn, const struct store_acme_authz *a)
{
	unsigned char key[8], *buf = NULL;
	size_t len;
	int rc;

	if (txn->err != 0)
		return txn->err;
	if ((rc = store_acme_authz_encode(a, &buf, &len)) != 0)
		return store_txn_fail(txn, rc, 0, "store: authorization %llu: "
		    "cannot encode the record", (unsigned long long)a->id);
	store_codec_put_be64(key, a->id);
	rc = raw_put(txn, STORE_DB_AUTHZS, key, 8, buf, len, 0,
	    "authorization");
	free(buf);
	return rc;
}

/* Delete authorization `id` and the validation marks of its challenges. */
int
store_acme_authz_del(struct store_txn *txn, uint64_t id)
{
	unsigned char key[8];
	unsigned i;

	/* Every index a challenge can have: no mark may outlive it. */
	for (i = 0; i < STORE_ACME_MAX_CHALL; i++)
		store_acme_queue_del(txn, id, i);
	store_codec_put_be64(key, id);
	return raw_del(txn, STORE_DB_AUTHZS, key, 8, NULL, 0,
	    "authorization");
}

/* Read authorization `id` from a fresh snapshot. */
int
store_acme_authz_get(struct store *st, uint64_t id,
    struct store_acme_authz **out, struct hsmca_err *err)
{
	*out = NULL;
	return rec_get(st, STORE_DB_AUTHZS, id, dec_authz, out, err);
}

/* Read authorization `id` inside a write transaction. */
int
store_acme_txn_authz_get(struct store_txn *txn, uint64_t id,
    struct store_acme_authz **out)
{
	*out = NULL;
	return rec_read(txn->st, txn->txn, STORE_DB_AUTHZS, id, dec_authz,
	    out);
}

/* --- orders ------------------------------------------------------------ */

/*
 * The orders_by_account value of `o`: created_at with its sign bit
 * flipped (so that negative times sort first), then the order id.
 */
static void
order_index_val(const struct store_acme_order *o, unsigned char out[16])
{
	store_codec_put_be64(out, (uint64_t)o->created_at ^ ((uint64_t)1 << 63));
	store_codec_put_be64(out + 8, o->id);
}

/* Write an order (and, when new, its orders_by_account entry). */
int
store_acme_order_put(struct store_txn *txn, const struct store_acme_order *o,
    bool create)
{
	unsigned char key[8], akey[8], ival[16], *buf = NULL;
	size_t len;
	int rc;

	if (txn->err != 0)
		return txn->err;
	if ((rc = store_acme_order_encode(o, &buf, &len)) != 0)
		return store_txn_fail(txn, rc, 0, "store: order %llu: cannot "
		    "encode the record", (unsigned long long)o->id);
	store_codec_put_be64(key, o->id);
	rc = raw_put(txn, STORE_DB_ORDERS, key, 8, buf, len,
	    create ? MDB_NOOVERWRITE : 0, "order");
	if (rc == 0 && create) {
		/* Sorted by creation time: the rate limit counts a suffix. */
		store_account_key(o->account_id, akey);
		order_index_val(o, ival);
		rc = raw_put(txn, STORE_DB_ORDERS_BY_ACCOUNT, akey, 8, ival,
		    16, MDB_NODUPDATA, "order index");
	}
	free(buf);
	return rc;
}

/* Delete order `o` and its orders_by_account entry. */
int
store_acme_order_del(struct store_txn *txn, const struct store_acme_order *o)
{
	unsigned char key[8], akey[8], ival[16];

	store_codec_put_be64(key, o->id);
	store_account_key(o->account_id, akey);
	order_index_val(o, ival);
	raw_del(txn, STORE_DB_ORDERS_BY_ACCOUNT, akey, 8, ival, 16,
	    "order index");
	return raw_del(txn, STORE_DB_ORDERS, key, 8, NULL, 0, "order");
}

/* Read order `id` from a fresh snapshot. */
int
store_acme_order_get(struct store *st, uint64_t id,
    struct store_acme_order **out, struct hsmca_err *err)
{
	*out = NULL;
	return rec_get(st, STORE_DB_ORDERS, id, dec_order, out, err);
}

/* Read order `id` inside a write transaction. */
int
store_acme_txn_order_get(struct store_txn *txn, uint64_t id,
    struct store_acme_order **out)
{
	*out = NULL;
	return rec_read(txn->st, txn->txn, STORE_DB_ORDERS, id, dec_order,
	    out);
}

/*
 * Walk the order index of `account_id` from `since` on, in one
 * snapshot, collecting the ids (bounded: an account's orders in a
 * window are bounded by the rate limit).  *ids is malloc'd.
 */
static int
order_ids(struct store *st, uint64_t account_id, int64_t since,
    uint64_t **ids, size_t *n, int64_t *oldest, struct hsmca_err *err)
{
	struct store_rtxn r;
	MDB_cursor *cur = NULL;
	unsigned char akey[8], start[16];
	MDB_val k = { 8, akey }, v = { 16, start };
	uint64_t *list = NULL, *nl;
	size_t cnt = 0, cap = 0;
	int mrc, rc;

	*ids = NULL;
	*n = 0;
	if (oldest != NULL)
		*oldest = 0;
	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	store_account_key(account_id, akey);
	store_codec_put_be64(start, (uint64_t)since ^ ((uint64_t)1 << 63));
	memset(start + 8, 0, 8);
	if ((mrc = mdb_cursor_open(r.txn, st->dbi[STORE_DB_ORDERS_BY_ACCOUNT],
	    &cur)) != 0)
		goto mdb_fail;
	mrc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH_RANGE);
	while (mrc == 0) {
		if (v.mv_size != 16) {
			rc = hsmca_err_set(err, HSMCA_EIO, "store",
			    "store: orders_by_account entry of %zu bytes",
			    v.mv_size);
			goto out;
		}
		if (cnt == 0 && oldest != NULL)
			*oldest = (int64_t)(store_codec_get_be64(v.mv_data) ^
			    ((uint64_t)1 << 63));
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nl = realloc(list, cap * sizeof(*list))) == NULL) {
				rc = hsmca_err_set(err, HSMCA_ENOMEM, "store",
				    "out of memory");
				goto out;
			}
			list = nl;
		}
		list[cnt++] = store_codec_get_be64((unsigned char *)v.mv_data +
		    8);
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
	}
	if (mrc != MDB_NOTFOUND)
		goto mdb_fail;
	*ids = list;
	*n = cnt;
	list = NULL;
	rc = 0;
	goto out;
mdb_fail:
	rc = hsmca_err_set(err, store_mdb_code(mrc), "store",
	    "store: orders_by_account: %s", mdb_strerror(mrc));
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	store_rtxn_end(&r);
	free(list);
	return rc;
}

/* Count the account's orders created since `since`. */
int
store_acme_order_count(struct store *st, uint64_t account_id, int64_t since,
    size_t *count, int64_t *oldest, struct hsmca_err *err)
{
	uint64_t *ids;
	int rc;

	rc = order_ids(st, account_id, since, &ids, count, oldest, err);
	free(ids);
	return rc;
}

/* Call `cb` for the account's orders created since `since`. */
int
store_acme_order_list(struct store *st, uint64_t account_id, int64_t since,
    store_acme_id_cb cb, void *arg, struct hsmca_err *err)
{
	uint64_t *ids;
	size_t n, i;
	int rc;

	if ((rc = order_ids(st, account_id, since, &ids, &n, NULL, err)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = cb(ids[i], arg)) != 0)
			break;
	free(ids);
	return rc;
}

/* --- the rate database ------------------------------------------------- */

static void
queue_key(uint64_t authz_id, unsigned idx, unsigned char key[10])
{
	key[0] = 'V';
	store_codec_put_be64(key + 1, authz_id);
	key[9] = (unsigned char)idx;
}

/* Mark a challenge as being validated. */
int
store_acme_queue_put(struct store_txn *txn, uint64_t authz_id, unsigned idx)
{
	unsigned char key[10];

	queue_key(authz_id, idx, key);
	return raw_put(txn, STORE_DB_RATE, key, sizeof(key), "", 0, 0,
	    "validation queue");
}

/* Unmark a challenge once its result is stored. */
int
store_acme_queue_del(struct store_txn *txn, uint64_t authz_id, unsigned idx)
{
	unsigned char key[10];

	queue_key(authz_id, idx, key);
	return raw_del(txn, STORE_DB_RATE, key, sizeof(key), NULL, 0,
	    "validation queue");
}

/*
 * Collect the keys of `db` that start with `prefix` (plen bytes), from
 * `start` (slen bytes, itself starting with prefix) on.  Each key is
 * handed to `cb` within the snapshot; cb must not block.
 */
static int
prefix_walk(struct store *st, const void *start, size_t slen, size_t plen,
    int (*cb)(const MDB_val *k, const MDB_val *v, void *arg), void *arg,
    struct hsmca_err *err)
{
	struct store_rtxn r;
	MDB_cursor *cur = NULL;
	MDB_val k = { slen, (void *)start }, v;
	int mrc, rc;

	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(r.txn, st->dbi[STORE_DB_RATE], &cur)) != 0)
		goto mdb_fail;
	mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (mrc == 0 && k.mv_size >= plen &&
	    memcmp(k.mv_data, start, plen) == 0) {
		if ((rc = cb(&k, &v, arg)) != 0)
			goto out;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		goto mdb_fail;
	rc = 0;
	goto out;
mdb_fail:
	rc = hsmca_err_set(err, store_mdb_code(mrc), "store",
	    "store: rate: %s", mdb_strerror(mrc));
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	store_rtxn_end(&r);
	return rc;
}

struct qlist {
	unsigned char (*keys)[10];
	size_t n, cap;
};

static int
qlist_add(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct qlist *q = arg;
	void *nk;

	if (k->mv_size != 10)
		return 0;
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		if ((nk = realloc(q->keys, q->cap * 10)) == NULL)
			return HSMCA_ENOMEM;
		q->keys = nk;
	}
	memcpy(q->keys[q->n++], k->mv_data, 10);
	return 0;
}

/* Call `cb` for every marked challenge. */
int
store_acme_queue_list(struct store *st, store_acme_queue_cb cb, void *arg,
    struct hsmca_err *err)
{
	struct qlist q = { NULL, 0, 0 };
	size_t i;
	int rc;

	/* Collect first so that cb may call store_write(). */
	if ((rc = prefix_walk(st, "V", 1, 1, qlist_add, &q, err)) != 0)
		goto out;
	for (i = 0; i < q.n; i++)
		if ((rc = cb(store_codec_get_be64(q.keys[i] + 1), q.keys[i][9],
		    arg)) != 0)
			break;
out:
	free(q.keys);
	return rc;
}

/* 'Z' account(8) ident; NULL-free ident of bounded length. */
static int
valid_key(uint64_t account_id, const char *ident, unsigned char *key,
    size_t *klen)
{
	size_t n = strlen(ident);

	if (n == 0 || n > STORE_ACME_IDENT_MAX)
		return HSMCA_EINVAL;
	key[0] = 'Z';
	store_codec_put_be64(key + 1, account_id);
	memcpy(key + 9, ident, n);
	*klen = 9 + n;
	return 0;
}

/* Remember `authz_id` as the account's valid authorization for `ident`. */
int
store_acme_valid_put(struct store_txn *txn, uint64_t account_id,
    const char *ident, uint64_t authz_id)
{
	unsigned char key[320], val[8];
	size_t klen;

	if (valid_key(account_id, ident, key, &klen) != 0)
		return store_txn_fail(txn, HSMCA_EINVAL, 0,
		    "store: identifier key of %zu bytes", strlen(ident));
	store_codec_put_be64(val, authz_id);
	return raw_put(txn, STORE_DB_RATE, key, klen, val, 8, 0,
	    "valid authorization index");
}

/*
 * Forget the account's valid authorization for `ident` when it is
 * `authz_id`: a newer one of the same identifier stays.
 */
int
store_acme_valid_del(struct store_txn *txn, uint64_t account_id,
    const char *ident, uint64_t authz_id)
{
	unsigned char key[320];
	MDB_val k, v;
	size_t klen;
	int mrc;

	if (txn->err != 0)
		return txn->err;
	if (valid_key(account_id, ident, key, &klen) != 0)
		return 0;	/* valid_put() refuses such a key: none stored */
	k.mv_size = klen;
	k.mv_data = key;
	mrc = mdb_get(txn->txn, txn->st->dbi[STORE_DB_RATE], &k, &v);
	if (mrc == MDB_NOTFOUND)
		return 0;
	if (mrc != 0)
		return store_txn_fail(txn, store_mdb_code(mrc), mrc,
		    "store: valid authorization index: %s",
		    mdb_strerror(mrc));
	if (v.mv_size != 8 || store_codec_get_be64(v.mv_data) != authz_id)
		return 0;
	return raw_del(txn, STORE_DB_RATE, key, klen, NULL, 0,
	    "valid authorization index");
}

struct valid_walk {
	size_t plen;
	store_acme_valid_cb cb;
	void *arg;
};

/* One 'Z' key of the account: its identifier as a C string to cb. */
static int
valid_visit(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct valid_walk *w = arg;
	char ident[STORE_ACME_IDENT_MAX + 1];
	size_t n = k->mv_size - w->plen;

	if (n == 0 || n > STORE_ACME_IDENT_MAX || v->mv_size != 8)
		return 0;
	memcpy(ident, (const unsigned char *)k->mv_data + w->plen, n);
	ident[n] = '\0';
	return w->cb(ident, store_codec_get_be64(v->mv_data), w->arg);
}

/* Every valid-authorization entry of the account. */
int
store_acme_valid_list(struct store *st, uint64_t account_id,
    store_acme_valid_cb cb, void *arg, struct hsmca_err *err)
{
	struct valid_walk w = { 9, cb, arg };
	unsigned char prefix[9];

	prefix[0] = 'Z';
	store_codec_put_be64(prefix + 1, account_id);
	return prefix_walk(st, prefix, sizeof(prefix), sizeof(prefix),
	    valid_visit, &w, err);
}

/* The account's remembered valid authorization for `ident`. */
int
store_acme_valid_get(struct store *st, uint64_t account_id,
    const char *ident, uint64_t *authz_id, struct hsmca_err *err)
{
	unsigned char key[320];
	struct store_rtxn r;
	MDB_val k, v;
	size_t klen;
	int mrc, rc;

	if (valid_key(account_id, ident, key, &klen) != 0)
		return HSMCA_ENOTFOUND;
	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	k.mv_size = klen;
	k.mv_data = key;
	mrc = mdb_get(r.txn, st->dbi[STORE_DB_RATE], &k, &v);
	if (mrc == 0 && v.mv_size == 8)
		*authz_id = store_codec_get_be64(v.mv_data);
	else if (mrc == 0)
		mrc = MDB_NOTFOUND;
	store_rtxn_end(&r);
	return store_mdb_code(mrc);
}

/* 'D' regdomain NUL issued_at(8, sign flipped) [serial]. */
static int
issued_key(const char *regdomain, int64_t at, unsigned char *key,
    size_t *klen)
{
	size_t n = strlen(regdomain);

	if (n == 0 || n > 253)
		return HSMCA_EINVAL;
	key[0] = 'D';
	memcpy(key + 1, regdomain, n);
	key[1 + n] = '\0';
	store_codec_put_be64(key + 2 + n, (uint64_t)at ^ ((uint64_t)1 << 63));
	*klen = 10 + n;
	return 0;
}

/* Count one certificate under `regdomain` at `issued_at`. */
int
store_acme_issued_put(struct store_txn *txn, const char *regdomain,
    int64_t issued_at, const unsigned char *serial, size_t serial_len)
{
	unsigned char key[10 + 253 + STORE_SERIAL_MAX];
	size_t klen;

	if (serial_len > STORE_SERIAL_MAX ||
	    issued_key(regdomain, issued_at, key, &klen) != 0)
		return store_txn_fail(txn, HSMCA_EINVAL, 0,
		    "store: registered domain of %zu bytes",
		    strlen(regdomain));
	memcpy(key + klen, serial, serial_len);
	return raw_put(txn, STORE_DB_RATE, key, klen + serial_len, "", 0, 0,
	    "issuance counter");
}

/* Delete the 'D' entries of `regdomain` older than `before`. */
int
store_acme_issued_prune(struct store_txn *txn, const char *regdomain,
    int64_t before)
{
	unsigned char key[10 + 253], lim[8];
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t klen, plen;
	int mrc;

	if (txn->err != 0)
		return txn->err;
	if (issued_key(regdomain, INT64_MIN, key, &klen) != 0)
		return store_txn_fail(txn, HSMCA_EINVAL, 0,
		    "store: registered domain of %zu bytes",
		    strlen(regdomain));
	plen = klen - 8;
	store_codec_put_be64(lim, (uint64_t)before ^ ((uint64_t)1 << 63));
	if ((mrc = mdb_cursor_open(txn->txn, txn->st->dbi[STORE_DB_RATE],
	    &cur)) != 0)
		goto fail;
	/* The oldest entry first; delete while it is older than `before`
	 * (each lookup starts afresh: a deleted cursor's position is not
	 * worth trusting). */
	for (;;) {
		k.mv_size = klen;
		k.mv_data = key;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (mrc != 0 || k.mv_size < plen + 8 ||
		    memcmp(k.mv_data, key, plen) != 0 ||
		    memcmp((unsigned char *)k.mv_data + plen, lim, 8) >= 0)
			break;
		if ((mrc = mdb_cursor_del(cur, 0)) != 0)
			goto fail;
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		goto fail;
	mdb_cursor_close(cur);
	return 0;
fail:
	if (cur != NULL)
		mdb_cursor_close(cur);
	return store_txn_fail(txn, store_mdb_code(mrc), mrc,
	    "store: pruning the issuance counter: %s", mdb_strerror(mrc));
}

struct icount {
	size_t plen;
	size_t n;
	int64_t oldest;
};

static int
icount_add(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct icount *c = arg;

	if (k->mv_size < c->plen + 8)
		return 0;
	if (c->n++ == 0)
		c->oldest = (int64_t)(store_codec_get_be64(
		    (unsigned char *)k->mv_data + c->plen) ^ ((uint64_t)1 << 63));
	return 0;
}

/* Certificates counted under `regdomain` since `since`. */
int
store_acme_issued_count(struct store *st, const char *regdomain,
    int64_t since, size_t *count, int64_t *oldest, struct hsmca_err *err)
{
	unsigned char key[10 + 253];
	struct icount c = { 0, 0, 0 };
	size_t klen;
	int rc;

	*count = 0;
	if (oldest != NULL)
		*oldest = 0;
	if (issued_key(regdomain, since, key, &klen) != 0)
		return 0;
	c.plen = klen - 8;
	if ((rc = prefix_walk(st, key, klen, c.plen, icount_add, &c,
	    err)) != 0)
		return rc;
	*count = c.n;
	if (oldest != NULL)
		*oldest = c.oldest;
	return 0;
}
