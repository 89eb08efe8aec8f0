/*
 * store/list.c - walk certificate records through the best index.
 *
 * The walk runs in chunks: one read snapshot collects up to CHUNK
 * matching records, ends, and only then are they handed to the
 * callback.  So a callback may call store_write() (a map resize waits
 * for readers, and would wait forever for a reader blocked on it), and
 * no snapshot stays open long enough to pin old pages.  Each chunk
 * resumes just after the last index entry seen; records written between
 * chunks may or may not be seen, as with any walk over a live store.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define CHUNK 64
#define KEY_MAX 512		/* >= mdb_env_get_maxkeysize() */

enum walk_kind { WALK_CERTS, WALK_EXPIRY, WALK_DUP };

struct walk {
	struct store *st;
	const struct store_cert_filter *f;
	enum walk_kind kind;
	enum store_db db;
	unsigned char key[KEY_MAX];	/* WALK_DUP: the fixed key */
	size_t klen;
	unsigned char last[KEY_MAX];	/* last key (or dup value) seen */
	size_t lastlen;
	bool have_last;
	bool done;
};

/* Does record `c` pass every field of the filter? */
static bool
match(const struct store_cert *c, const struct store_cert_filter *f)
{
	size_t i;

	if (f->status != 0 && c->status != f->status)
		return false;
	if (f->expires_after != 0 && c->not_after < f->expires_after)
		return false;
	if (f->expires_before != 0 && c->not_after >= f->expires_before)
		return false;
	if (f->account_id != 0 && c->account_id != f->account_id)
		return false;
	if (f->name != NULL) {
		for (i = 0; i < c->nnames; i++)
			if (strcmp(c->names[i], f->name) == 0)
				return true;
		return false;
	}
	return true;
}

/* Put the cursor on the first entry of this chunk. */
static int
position(struct walk *w, MDB_cursor *cur, MDB_val *k, MDB_val *v)
{
	unsigned char start[STORE_EXPIRY_KEY_MAX];
	int mrc;

	if (w->kind == WALK_DUP) {
		k->mv_data = w->key;
		k->mv_size = w->klen;
		if (!w->have_last)
			return mdb_cursor_get(cur, k, v, MDB_SET_KEY);
		v->mv_data = w->last;
		v->mv_size = w->lastlen;
		if ((mrc = mdb_cursor_get(cur, k, v, MDB_GET_BOTH_RANGE)) != 0)
			return mrc;
		if (v->mv_size == w->lastlen &&
		    memcmp(v->mv_data, w->last, w->lastlen) == 0)
			return mdb_cursor_get(cur, k, v, MDB_NEXT_DUP);
		return 0;
	}
	if (!w->have_last) {
		if (w->kind == WALK_CERTS)
			return mdb_cursor_get(cur, k, v, MDB_FIRST);
		k->mv_size = store_expiry_key(w->f->expires_after != 0 ?
		    w->f->expires_after : INT64_MIN, (const unsigned char *)"", 0,
		    start);
		k->mv_data = start;
		return mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	}
	k->mv_data = w->last;
	k->mv_size = w->lastlen;
	if ((mrc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE)) != 0)
		return mrc;
	if (k->mv_size == w->lastlen &&
	    memcmp(k->mv_data, w->last, w->lastlen) == 0)
		return mdb_cursor_get(cur, k, v, MDB_NEXT);
	return 0;
}

/*
 * Collect up to CHUNK matching records into `out` (*n of them) from
 * one snapshot.  Sets w->done when the index is exhausted.
 */
static int
chunk(struct walk *w, struct store_cert **out, size_t *n,
    struct hsmca_err *err)
{
	struct store_rtxn r;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	struct store_cert *c;
	const unsigned char *serial;
	size_t slen;
	char hex[STORE_HEX_MAX];
	int mrc, rc;

	*n = 0;
	if ((rc = store_rtxn_begin(w->st, &r, err)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(r.txn, w->st->dbi[w->db], &cur)) != 0)
		goto lmdb;
	for (mrc = position(w, cur, &k, &v); mrc == 0 && *n < CHUNK;
	    mrc = mdb_cursor_get(cur, &k, &v,
	    w->kind == WALK_DUP ? MDB_NEXT_DUP : MDB_NEXT)) {
		if (w->kind == WALK_EXPIRY) {
			if (k.mv_size <= 8 || k.mv_size > STORE_EXPIRY_KEY_MAX)
				goto corrupt;
			if (w->f->expires_before != 0 &&
			    store_expiry_key_time(k.mv_data) >=
			    w->f->expires_before) {
				mrc = MDB_NOTFOUND;
				break;
			}
			serial = (const unsigned char *)k.mv_data + 8;
			slen = k.mv_size - 8;
		} else if (w->kind == WALK_DUP) {
			serial = v.mv_data;
			slen = v.mv_size;
		} else {
			serial = k.mv_data;
			slen = k.mv_size;
		}
		/* Remember where we are before anything can stop us. */
		if (w->kind == WALK_DUP) {
			if (v.mv_size > KEY_MAX)
				goto corrupt;
			memcpy(w->last, v.mv_data, v.mv_size);
			w->lastlen = v.mv_size;
		} else {
			memcpy(w->last, k.mv_data, k.mv_size);
			w->lastlen = k.mv_size;
		}
		w->have_last = true;
		if (w->kind == WALK_CERTS)
			rc = store_cert_decode(v.mv_data, v.mv_size, &c) == 0 ?
			    0 : HSMCA_EIO;
		else
			rc = store_cert_read(w->st, r.txn, serial, slen, &c);
		/* An index entry without its record: store_check says so. */
		if (rc == HSMCA_ENOTFOUND || rc == HSMCA_EINVAL)
			continue;
		if (rc != 0) {
			store_hex(serial, slen <= STORE_SERIAL_MAX ? slen :
			    STORE_SERIAL_MAX, hex, sizeof(hex));
			rc = hsmca_err_set(err, rc, "store", "store: certificate "
			    "%s: stored record is corrupt; run hsmca check", hex);
			goto out;
		}
		if (match(c, w->f))
			out[(*n)++] = c;
		else
			store_cert_free(c);
	}
	if (mrc == MDB_NOTFOUND)
		w->done = true;
	else if (mrc != 0)
		goto lmdb;
	rc = 0;
	goto out;
corrupt:
	rc = hsmca_err_set(err, HSMCA_EIO, "store", "store: malformed entry "
	    "in %s; run hsmca check", store_db_table[w->db].name);
	goto out;
lmdb:
	rc = hsmca_err_set(err, store_mdb_code(mrc), "store",
	    "store: listing certificates: %s", mdb_strerror(mrc));
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	store_rtxn_end(&r);
	return rc;
}

/*
 * Call `cb` for every matching record.  See store.h.
 */
int
store_cert_list(struct store *st, const struct store_cert_filter *filter,
    store_cert_cb cb, void *arg, struct hsmca_err *err)
{
	static const struct store_cert_filter all;
	struct store_cert *recs[CHUNK];
	struct walk *w = NULL;
	size_t i, n = 0;
	int rc = HSMCA_ENOMEM;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		rc = hsmca_err_set(err, rc, "store", "store: out of memory");
		goto out;
	}
	w->st = st;
	w->f = filter != NULL ? filter : &all;
	/* The most selective index the filter allows. */
	if (w->f->expires_after != 0 || w->f->expires_before != 0) {
		w->kind = WALK_EXPIRY;
		w->db = STORE_DB_CERTS_BY_EXPIRY;
	} else if (w->f->name != NULL) {
		w->kind = WALK_DUP;
		w->db = STORE_DB_CERTS_BY_NAME;
		w->klen = strlen(w->f->name);
		if (w->klen == 0 || w->klen > KEY_MAX) {
			rc = 0;	/* no stored name can match */
			goto out;
		}
		memcpy(w->key, w->f->name, w->klen);
	} else if (w->f->account_id != 0) {
		w->kind = WALK_DUP;
		w->db = STORE_DB_CERTS_BY_ACCOUNT;
		store_account_key(w->f->account_id, w->key);
		w->klen = 8;
	} else {
		w->kind = WALK_CERTS;
		w->db = STORE_DB_CERTS;
	}
	while (!w->done) {
		if ((rc = chunk(w, recs, &n, err)) != 0)
			goto out;
		for (i = 0; i < n; i++) {
			if ((rc = cb(recs[i], arg)) != 0)
				goto out;
			store_cert_free(recs[i]);
			recs[i] = NULL;
		}
		n = 0;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		store_cert_free(recs[i]);
	free(w);
	return rc;
}
