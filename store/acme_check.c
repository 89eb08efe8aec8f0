/*
 * store/acme_check.c - the ACME part of `hsmca db check`: every
 * account, order and authorization decodes under its own id, and the
 * indexes agree with the records both ways (accounts_by_thumb,
 * orders_by_account, the marks and indexes kept in "rate").
 */
#include <stdarg.h>
#include <string.h>

#include "store/store_acme.h"
#include "store/store_int.h"

struct ack {
	struct store *st;
	MDB_txn *txn;
	FILE *report;
	size_t *problems;
};

static void problem(struct ack *ck, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct ack *ck, const char *fmt, ...)
{
	va_list ap;

	(*ck->problems)++;
	if (ck->report == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(ck->report, fmt, ap);
	va_end(ap);
	fputc('\n', ck->report);
}

/* The value under `key` in `db`, or NULL. */
static bool
get(struct ack *ck, enum store_db db, const void *key, size_t klen,
    MDB_val *v)
{
	MDB_val k = { klen, (void *)key };

	return mdb_get(ck->txn, ck->st->dbi[db], &k, v) == 0;
}

static bool
has_dup(struct ack *ck, enum store_db db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_cursor *cur = NULL;
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int mrc;

	if (mdb_cursor_open(ck->txn, ck->st->dbi[db], &cur) != 0)
		return false;
	mrc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH);
	mdb_cursor_close(cur);
	return mrc == 0;
}

static struct store_acme_account *
account_at(struct ack *ck, uint64_t id)
{
	struct store_acme_account *a = NULL;
	unsigned char key[8];
	MDB_val v;

	store_codec_put_be64(key, id);
	if (!get(ck, STORE_DB_ACCOUNTS, key, 8, &v) ||
	    store_acme_account_decode(v.mv_data, v.mv_size, &a) != 0)
		return NULL;
	return a;
}

static struct store_acme_authz *
authz_at(struct ack *ck, uint64_t id)
{
	struct store_acme_authz *z = NULL;
	unsigned char key[8];
	MDB_val v;

	store_codec_put_be64(key, id);
	if (!get(ck, STORE_DB_AUTHZS, key, 8, &v) ||
	    store_acme_authz_decode(v.mv_data, v.mv_size, &z) != 0)
		return NULL;
	return z;
}

static struct store_acme_order *
order_at(struct ack *ck, uint64_t id)
{
	struct store_acme_order *o = NULL;
	unsigned char key[8];
	MDB_val v;

	store_codec_put_be64(key, id);
	if (!get(ck, STORE_DB_ORDERS, key, 8, &v) ||
	    store_acme_order_decode(v.mv_data, v.mv_size, &o) != 0)
		return NULL;
	return o;
}

static uint64_t
key_id(const MDB_val *k)
{
	return k->mv_size == 8 ? store_codec_get_be64(k->mv_data) : 0;
}

static void
check_account(struct ack *ck, const MDB_val *k, const MDB_val *v)
{
	struct store_acme_account *a = NULL;
	MDB_val t;
	uint64_t id = key_id(k);

	if (store_acme_account_decode(v->mv_data, v->mv_size, &a) != 0 ||
	    a->id != id || id == 0) {
		problem(ck, "accounts %llu: record does not decode or has "
		    "another id", (unsigned long long)id);
		goto out;
	}
	if (!get(ck, STORE_DB_ACCOUNTS_BY_THUMB, a->thumb, strlen(a->thumb),
	    &t) || t.mv_size != 8 || store_codec_get_be64(t.mv_data) != id)
		problem(ck, "accounts %llu: accounts_by_thumb does not point "
		    "at it", (unsigned long long)id);
out:
	store_acme_account_free(a);
}

static void
check_thumb(struct ack *ck, const MDB_val *k, const MDB_val *v)
{
	struct store_acme_account *a = NULL;

	if (v->mv_size != 8 ||
	    (a = account_at(ck, store_codec_get_be64(v->mv_data))) == NULL ||
	    strlen(a->thumb) != k->mv_size ||
	    memcmp(a->thumb, k->mv_data, k->mv_size) != 0)
		problem(ck, "accounts_by_thumb %.*s: no account with that key",
		    (int)(k->mv_size < 64 ? k->mv_size : 64),
		    (const char *)k->mv_data);
	store_acme_account_free(a);
}

/* The orders_by_account value of `o`. */
static void
order_ival(const struct store_acme_order *o, unsigned char out[16])
{
	store_codec_put_be64(out, (uint64_t)o->created_at ^ ((uint64_t)1 << 63));
	store_codec_put_be64(out + 8, o->id);
}

static void
check_order(struct ack *ck, const MDB_val *k, const MDB_val *v)
{
	struct store_acme_order *o = NULL;
	struct store_acme_authz *z;
	unsigned char akey[8], ival[16];
	uint64_t id = key_id(k);
	size_t i;

	if (store_acme_order_decode(v->mv_data, v->mv_size, &o) != 0 ||
	    o->id != id || id == 0) {
		problem(ck, "orders %llu: record does not decode or has "
		    "another id", (unsigned long long)id);
		goto out;
	}
	store_account_key(o->account_id, akey);
	order_ival(o, ival);
	if (!has_dup(ck, STORE_DB_ORDERS_BY_ACCOUNT, akey, 8, ival, 16))
		problem(ck, "orders %llu: missing from orders_by_account",
		    (unsigned long long)id);
	for (i = 0; i < o->nauthz; i++) {
		if ((z = authz_at(ck, o->authz[i])) == NULL)
			problem(ck, "orders %llu: authorization %llu is not "
			    "stored", (unsigned long long)id,
			    (unsigned long long)o->authz[i]);
		else if (z->account_id != o->account_id)
			problem(ck, "orders %llu: authorization %llu belongs "
			    "to another account", (unsigned long long)id,
			    (unsigned long long)o->authz[i]);
		store_acme_authz_free(z);
	}
out:
	store_acme_order_free(o);
}

static void
check_order_index(struct ack *ck, const MDB_val *k, const MDB_val *v)
{
	struct store_acme_order *o = NULL;
	unsigned char ival[16];

	if (k->mv_size != 8 || v->mv_size != 16 ||
	    (o = order_at(ck, store_codec_get_be64((unsigned char *)
	    v->mv_data + 8))) == NULL || o->account_id != key_id(k)) {
		problem(ck, "orders_by_account %llu: entry points at no order "
		    "of that account", (unsigned long long)key_id(k));
		goto out;
	}
	order_ival(o, ival);
	if (memcmp(ival, v->mv_data, 16) != 0)
		problem(ck, "orders_by_account %llu: order %llu has another "
		    "creation time", (unsigned long long)key_id(k),
		    (unsigned long long)o->id);
out:
	store_acme_order_free(o);
}

static void
check_authz(struct ack *ck, const MDB_val *k, const MDB_val *v)
{
	struct store_acme_authz *z = NULL;
	uint64_t id = key_id(k);

	if (store_acme_authz_decode(v->mv_data, v->mv_size, &z) != 0 ||
	    z->id != id || id == 0)
		problem(ck, "authzs %llu: record does not decode or has "
		    "another id", (unsigned long long)id);
	store_acme_authz_free(z);
}

/* The 'V', 'Z' and 'D' entries of "rate" (see store_acme.h). */
static void
check_rate(struct ack *ck, const MDB_val *k, const MDB_val *v)
{
	const unsigned char *p = k->mv_data;
	struct store_acme_authz *z = NULL;
	const void *nul;

	if (k->mv_size == 0) {
		problem(ck, "rate: empty key");
		return;
	}
	switch (p[0]) {
	case 'V':
		if (k->mv_size != 10 ||
		    (z = authz_at(ck, store_codec_get_be64(p + 1))) == NULL ||
		    p[9] >= z->nchall)
			problem(ck, "rate: validation mark of an authorization "
			    "or challenge that is not stored");
		break;
	case 'Z':
		if (k->mv_size < 10 || v->mv_size != 8 ||
		    (z = authz_at(ck, store_codec_get_be64(v->mv_data))) ==
		    NULL || z->account_id != store_codec_get_be64(p + 1))
			problem(ck, "rate: valid-authorization entry points at "
			    "no authorization of its account");
		break;
	case 'D':
		nul = memchr(p + 1, '\0', k->mv_size - 1);
		if (nul == NULL || nul == p + 1 ||
		    k->mv_size - (size_t)((const unsigned char *)nul - p) <
		    1 + 8 + 1)
			problem(ck, "rate: malformed issuance counter key");
		break;
	default:
		problem(ck, "rate: key of unknown kind 0x%02x", p[0]);
	}
	store_acme_authz_free(z);
}

static int
walk(struct ack *ck, enum store_db db,
    void (*fn)(struct ack *, const MDB_val *, const MDB_val *))
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int mrc;

	if ((mrc = mdb_cursor_open(ck->txn, ck->st->dbi[db], &cur)) != 0)
		return store_mdb_code(mrc);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		fn(ck, &k, &v);
	mdb_cursor_close(cur);
	return mrc == MDB_NOTFOUND ? 0 : store_mdb_code(mrc);
}

/* The ACME part of store_check(); see store_acme.h. */
int
store_acme_check(struct store *st, struct MDB_txn *txn, FILE *report,
    size_t *problems)
{
	struct ack ck = { st, txn, report, problems };
	int rc;

	if ((rc = walk(&ck, STORE_DB_ACCOUNTS, check_account)) != 0 ||
	    (rc = walk(&ck, STORE_DB_ACCOUNTS_BY_THUMB, check_thumb)) != 0 ||
	    (rc = walk(&ck, STORE_DB_ORDERS, check_order)) != 0 ||
	    (rc = walk(&ck, STORE_DB_ORDERS_BY_ACCOUNT,
	    check_order_index)) != 0 ||
	    (rc = walk(&ck, STORE_DB_AUTHZS, check_authz)) != 0 ||
	    (rc = walk(&ck, STORE_DB_RATE, check_rate)) != 0)
		return rc;
	return 0;
}
