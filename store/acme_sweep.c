/*
 * store/acme_sweep.c - removing expired ACME orders with the
 * authorizations only they reference and every index entry naming
 * them, in bounded write transactions (see store_acme_sweep() in
 * store_acme.h).
 *
 * Orders are found through orders_by_account, one account at a time:
 * an account's entries are sorted by creation time, so only the orders
 * created before the cutoff (now - retention) are read.  Those include
 * every order that shares an authorization the sweep may remove: an
 * order references an authorization only if it was created before the
 * authorization expired (a new one expires with its order, reuse takes
 * only a valid one, a validation sets the expiry from a time after the
 * order was created), and an authorization is removed only once it
 * expired before the cutoff.
 *
 * An account is planned from one read snapshot: which orders go and
 * which authorization goes with which order (the last removed order
 * that references it, so that no order removed later points at a
 * missing one in between); then which 'Z' entries name those.  The
 * plan is written in batches; each order is checked again inside its
 * transaction, and when one no longer qualifies the rest of its
 * account is left for the next sweep.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_acme.h"
#include "store/store_int.h"

/* --- the plan of one account ------------------------------------------ */

struct plan_order {
	uint64_t id;
	bool remove;
	size_t first, n;	/* its authorization ids: plan.zref[first..] */
};

struct plan_authz {
	uint64_t id;
	bool stored;		/* a record exists */
	bool expired;		/* of this account, expired before the cutoff */
	bool kept;		/* an order that stays references it */
	unsigned nchall;
	size_t last;		/* 1 + index of the last removed order
				   referencing it; 0: it stays */
	char *ident;		/* the 'Z' entry naming it; NULL: none */
};

struct plan {
	uint64_t account;
	struct plan_order *orders;
	size_t norders, ocap;
	uint64_t *zref;		/* the orders' authorization ids, in turn */
	size_t nzref, zcap;
	struct plan_authz *authz;	/* distinct ids, sorted */
	size_t nauthz;
	bool stopped;		/* a transaction left one of its orders */
};

/* --- a batch: one write transaction ----------------------------------- */

struct unit_authz {
	uint64_t id;
	bool has_ident;
	char ident[STORE_ACME_IDENT_MAX + 1];
};

/* One order and the authorizations that go with it. */
struct unit {
	uint64_t order;
	uint64_t account;
	size_t first, n;	/* batch.authz[first..first + n) */
	bool done;		/* removed (set by batch_write) */
};

struct batch {
	int64_t cutoff;		/* expired before this: may go */
	int64_t keep_from;	/* created at or after this: stays */
	struct unit *units;
	size_t nunits, ucap;
	struct unit_authz *authz;
	size_t nauthz, acap;
	size_t objects;		/* planned */
	size_t orders, authzs, challs;	/* removed; set by batch_write */
};

/*
 * Room for `need` elements of `size` bytes in the array `ptr` of *cap
 * elements: *out gets the array to use from now on (`ptr` itself, or
 * its reallocation).  On failure `ptr` is unchanged.
 */
static int
grow(void *ptr, size_t *cap, size_t need, size_t size, void **out)
{
	size_t ncap;
	void *np;

	*out = ptr;
	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap < need)
		ncap = need;
	if ((np = realloc(ptr, ncap * size)) == NULL)
		return HSMCA_ENOMEM;
	*out = np;
	*cap = ncap;
	return 0;
}

static void
plan_clear(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->nauthz; i++)
		free(p->authz[i].ident);
	free(p->orders);
	free(p->zref);
	free(p->authz);
	memset(p, 0, sizeof(*p));
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The plan's entry for authorization `id` (plan.authz is sorted). */
static struct plan_authz *
plan_authz_find(const struct plan *p, uint64_t id)
{
	size_t lo = 0, hi = p->nauthz, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (p->authz[mid].id == id)
			return &p->authz[mid];
		if (p->authz[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Whether order `o` itself may go: expired long enough, not counted. */
static bool
order_expired(const struct store_acme_order *o, const struct batch *b)
{
	return o->expires < b->cutoff && o->created_at < b->keep_from;
}

/* Record `o` (one of the plan's account) and its authorization ids. */
static int
plan_add_order(struct plan *p, const struct store_acme_order *o,
    const struct batch *b)
{
	struct plan_order *po;
	void *np;

	if (grow(p->orders, &p->ocap, p->norders + 1, sizeof(*p->orders),
	    &np) != 0)
		return HSMCA_ENOMEM;
	p->orders = np;
	if (grow(p->zref, &p->zcap, p->nzref + o->nauthz, sizeof(*p->zref),
	    &np) != 0)
		return HSMCA_ENOMEM;
	p->zref = np;
	po = &p->orders[p->norders++];
	po->id = o->id;
	po->remove = o->account_id == p->account && order_expired(o, b);
	po->first = p->nzref;
	po->n = o->nauthz;
	/* An order without authorizations has none to copy (and no
	 * arrays: memcpy of NULL is undefined even for 0 bytes). */
	if (o->nauthz > 0) {
		memcpy(p->zref + p->nzref, o->authz,
		    o->nauthz * sizeof(*p->zref));
		p->nzref += o->nauthz;
	}
	return 0;
}

/*
 * The account's orders created before the cutoff, oldest first, from
 * the snapshot `txn`.  An index entry whose order does not decode is
 * passed over: db check reports it, the sweep leaves it alone.
 */
static int
plan_orders(struct store *st, MDB_txn *txn, struct plan *p,
    const struct batch *b, struct hsmca_err *err)
{
	struct store_acme_order *o;
	MDB_cursor *cur = NULL;
	unsigned char akey[8];
	MDB_val k = { 8, akey }, v, ok, ov;
	int64_t created;
	int mrc, rc = 0;

	store_account_key(p->account, akey);
	if ((mrc = mdb_cursor_open(txn, st->dbi[STORE_DB_ORDERS_BY_ACCOUNT],
	    &cur)) != 0)
		goto mdb_fail;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
		if (v.mv_size != 16)
			continue;
		created = (int64_t)(store_codec_get_be64(v.mv_data) ^
		    ((uint64_t)1 << 63));
		if (created >= b->cutoff)
			break;
		ok.mv_size = 8;
		ok.mv_data = (unsigned char *)v.mv_data + 8;
		o = NULL;
		if (mdb_get(txn, st->dbi[STORE_DB_ORDERS], &ok, &ov) != 0 ||
		    store_acme_order_decode(ov.mv_data, ov.mv_size, &o) != 0)
			continue;
		rc = plan_add_order(p, o, b);
		store_acme_order_free(o);
		if (rc != 0) {
			hsmca_err_set(err, rc, "store", "out of memory");
			goto out;
		}
	}
	if (mrc == 0 || mrc == MDB_NOTFOUND)
		goto out;
mdb_fail:
	rc = hsmca_err_set(err, store_mdb_code(mrc), "store",
	    "store: orders_by_account: %s", mdb_strerror(mrc));
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	return rc;
}

/* The distinct authorizations the orders reference, with their state. */
static int
plan_authzs(struct store *st, MDB_txn *txn, struct plan *p,
    const struct batch *b, struct hsmca_err *err)
{
	struct store_acme_authz *z;
	struct plan_authz *pa;
	uint64_t *ids;
	unsigned char key[8];
	MDB_val k = { 8, key }, v;
	size_t i, n = 0;

	if (p->nzref == 0)
		return 0;
	if ((ids = malloc(p->nzref * sizeof(*ids))) == NULL ||
	    (p->authz = calloc(p->nzref, sizeof(*p->authz))) == NULL) {
		free(ids);
		return hsmca_err_set(err, HSMCA_ENOMEM, "store",
		    "out of memory");
	}
	memcpy(ids, p->zref, p->nzref * sizeof(*ids));
	qsort(ids, p->nzref, sizeof(*ids), cmp_u64);
	for (i = 0; i < p->nzref; i++) {
		if (n > 0 && p->authz[n - 1].id == ids[i])
			continue;
		pa = &p->authz[n++];
		pa->id = ids[i];
		store_codec_put_be64(key, ids[i]);
		z = NULL;
		if (mdb_get(txn, st->dbi[STORE_DB_AUTHZS], &k, &v) != 0)
			continue;
		/* One that does not decode is a problem for db check. */
		pa->stored = true;
		if (store_acme_authz_decode(v.mv_data, v.mv_size, &z) != 0)
			continue;
		pa->expired = z->account_id == p->account &&
		    z->expires < b->cutoff;
		pa->nchall = (unsigned)z->nchall;
		store_acme_authz_free(z);
	}
	p->nauthz = n;
	free(ids);
	return 0;
}

/*
 * Which orders go and which authorization goes with which of them.  An
 * order goes when it expired long enough and so did every authorization
 * it has (a missing one is no reason to keep it); an authorization goes
 * with the last such order referencing it, unless an order that stays
 * references it too.
 */
static bool
plan_decide(struct plan *p)
{
	struct plan_order *po;
	struct plan_authz *pa;
	size_t i, j;
	bool any = false;

	for (i = 0; i < p->norders; i++) {
		po = &p->orders[i];
		for (j = 0; po->remove && j < po->n; j++) {
			pa = plan_authz_find(p, p->zref[po->first + j]);
			if (pa->stored && !pa->expired)
				po->remove = false;
		}
	}
	for (i = 0; i < p->norders; i++) {
		po = &p->orders[i];
		for (j = 0; !po->remove && j < po->n; j++)
			plan_authz_find(p, p->zref[po->first + j])->kept = true;
	}
	for (i = 0; i < p->norders; i++) {
		po = &p->orders[i];
		for (j = 0; po->remove && j < po->n; j++) {
			pa = plan_authz_find(p, p->zref[po->first + j]);
			if (pa->stored && !pa->kept) {
				pa->last = i + 1;
				any = true;
			}
		}
	}
	return any;
}

/* A 'Z' entry of the account: remember it if its authorization goes. */
static int
plan_ident(const char *ident, uint64_t authz_id, void *arg)
{
	struct plan *p = arg;
	struct plan_authz *pa;

	if ((pa = plan_authz_find(p, authz_id)) == NULL || pa->last == 0 ||
	    pa->ident != NULL)
		return 0;
	return (pa->ident = strdup(ident)) == NULL ? HSMCA_ENOMEM : 0;
}

/*
 * Plan account `account`: its orders and authorizations from one
 * snapshot, then, when some authorization goes, the 'Z' entries naming
 * it (another snapshot is fine: a delete checks the entry's value).
 */
static int
plan_read(struct store *st, uint64_t account, const struct batch *b,
    struct plan *p, struct hsmca_err *err)
{
	struct store_rtxn r;
	int rc;

	plan_clear(p);
	p->account = account;
	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	if ((rc = plan_orders(st, r.txn, p, b, err)) == 0)
		rc = plan_authzs(st, r.txn, p, b, err);
	store_rtxn_end(&r);
	if (rc != 0 || !plan_decide(p))
		return rc;
	rc = store_acme_valid_list(st, account, plan_ident, p, err);
	if (rc == HSMCA_ENOMEM)
		hsmca_err_set(err, rc, "store", "out of memory");
	return rc;
}

/* --- writing a batch --------------------------------------------------- */

/*
 * Remove unit `u` if its order still qualifies, checked on the records
 * as they are now; else leave all of it.  Returns 0 either way (u->done
 * tells), or a negative code when a delete failed or memory ran out.
 */
static int
unit_remove(struct store_txn *txn, struct batch *b, struct unit *u)
{
	struct store_acme_order *o = NULL;
	struct store_acme_authz **zs = NULL, *z;
	const struct unit_authz *ua;
	size_t i, j;
	int rc = 0;

	if (store_acme_txn_order_get(txn, u->order, &o) != 0 ||
	    o->account_id != u->account || !order_expired(o, b))
		goto out;
	if ((zs = calloc(o->nauthz ? o->nauthz : 1, sizeof(*zs))) == NULL) {
		rc = HSMCA_ENOMEM;
		goto out;
	}
	for (i = 0; i < o->nauthz; i++) {
		rc = store_acme_txn_authz_get(txn, o->authz[i], &zs[i]);
		if (rc == HSMCA_ENOTFOUND) {
			rc = 0;
			continue;
		}
		/* Unreadable, another account's or not expired so long:
		 * the authorization stays, and its order with it. */
		if (rc != 0 || zs[i]->account_id != o->account_id ||
		    zs[i]->expires >= b->cutoff) {
			rc = 0;
			goto out;
		}
	}
	store_acme_order_del(txn, o);
	b->orders++;
	for (j = 0; j < u->n; j++) {
		ua = &b->authz[u->first + j];
		for (i = 0, z = NULL; i < o->nauthz && z == NULL; i++)
			if (zs[i] != NULL && zs[i]->id == ua->id)
				z = zs[i];
		if (z == NULL)
			continue;
		store_acme_authz_del(txn, z->id);
		if (ua->has_ident)
			store_acme_valid_del(txn, o->account_id, ua->ident,
			    z->id);
		b->authzs++;
		b->challs += z->nchall;
	}
	u->done = true;
	rc = store_txn_error(txn);
out:
	for (i = 0; zs != NULL && i < o->nauthz; i++)
		store_acme_authz_free(zs[i]);
	free(zs);
	store_acme_order_free(o);
	return rc;
}

/*
 * The write function of one batch.  Once an order of an account is
 * left, that account's later orders in the batch are left too: an
 * authorization planned to go with one of them may still be referenced
 * by the order left.  (An account's units are queued one after the
 * other, so remembering the last account stopped is enough.)  May run
 * again (map growth): it sets, never adds.
 */
static int
batch_write(struct store_txn *txn, void *arg)
{
	struct batch *b = arg;
	struct unit *u;
	uint64_t stopped = 0;
	bool any_stopped = false;
	size_t i;
	int rc;

	b->orders = b->authzs = b->challs = 0;
	for (i = 0; i < b->nunits; i++)
		b->units[i].done = false;
	for (i = 0; i < b->nunits; i++) {
		u = &b->units[i];
		if (any_stopped && u->account == stopped)
			continue;
		if ((rc = unit_remove(txn, b, u)) != 0)
			return rc;
		if (!u->done) {
			any_stopped = true;
			stopped = u->account;
		}
	}
	return store_txn_error(txn);
}

/* Objects that order `i` of the plan takes with it. */
static size_t
unit_objects(const struct plan *p, size_t i)
{
	const struct plan_order *po = &p->orders[i];
	const struct plan_authz *pa;
	size_t j, n = 1;

	for (j = 0; j < po->n; j++) {
		pa = plan_authz_find(p, p->zref[po->first + j]);
		if (pa->last == i + 1)
			n += 1 + pa->nchall;
	}
	return n;
}

/*
 * Queue order `i` of the plan with the authorizations that go with it,
 * `objects` in all (unit_objects()).
 */
static int
batch_add(struct batch *b, const struct plan *p, size_t i, size_t objects)
{
	const struct plan_order *po = &p->orders[i];
	const struct plan_authz *pa;
	struct unit_authz *ua;
	struct unit *u;
	void *np;
	size_t j;

	if (grow(b->units, &b->ucap, b->nunits + 1, sizeof(*b->units),
	    &np) != 0)
		return HSMCA_ENOMEM;
	b->units = np;
	if (grow(b->authz, &b->acap, b->nauthz + po->n, sizeof(*b->authz),
	    &np) != 0)
		return HSMCA_ENOMEM;
	b->authz = np;
	u = &b->units[b->nunits++];
	u->order = po->id;
	u->account = p->account;
	u->first = b->nauthz;
	u->n = 0;
	u->done = false;
	for (j = 0; j < po->n; j++) {
		pa = plan_authz_find(p, p->zref[po->first + j]);
		if (pa->last != i + 1)
			continue;
		ua = &b->authz[b->nauthz++];
		ua->id = pa->id;
		ua->has_ident = pa->ident != NULL;
		snprintf(ua->ident, sizeof(ua->ident), "%s",
		    pa->ident != NULL ? pa->ident : "");
		u->n++;
	}
	b->objects += objects;
	return 0;
}

/*
 * Commit the queued units in one store_write() and count what went.
 * A unit of `p`'s account that was left stops the rest of its plan.
 */
static int
batch_flush(struct store *st, struct batch *b, struct plan *p,
    struct store_acme_swept *out, struct hsmca_err *err)
{
	size_t i;
	int rc;

	if (b->nunits == 0)
		return 0;
	if ((rc = store_write(st, batch_write, b, err)) != 0)
		return rc;
	out->orders += b->orders;
	out->authzs += b->authzs;
	out->challs += b->challs;
	out->removed += b->orders + b->authzs + b->challs;
	for (i = 0; i < b->nunits; i++)
		if (!b->units[i].done && b->units[i].account == p->account)
			p->stopped = true;
	b->nunits = b->nauthz = b->objects = 0;
	return 0;
}

/* The first account at or after `from` that has orders; *found says. */
static int
account_next(struct store *st, uint64_t from, uint64_t *account,
    bool *found, struct hsmca_err *err)
{
	struct store_rtxn r;
	MDB_cursor *cur = NULL;
	unsigned char key[8];
	MDB_val k = { 8, key }, v;
	int mrc, rc;

	*found = false;
	store_account_key(from, key);
	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(r.txn, st->dbi[STORE_DB_ORDERS_BY_ACCOUNT],
	    &cur)) == 0)
		mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (mrc == 0 && k.mv_size == 8) {
		*account = store_codec_get_be64(k.mv_data);
		*found = true;
	} else if (mrc == 0) {
		mrc = MDB_CORRUPTED;
	}
	if (cur != NULL)
		mdb_cursor_close(cur);
	store_rtxn_end(&r);
	if (mrc == 0 || mrc == MDB_NOTFOUND)
		return 0;
	return hsmca_err_set(err, store_mdb_code(mrc), "store",
	    "store: orders_by_account: %s", mdb_strerror(mrc));
}

/* Remove expired orders and what only they reference; see store_acme.h. */
int
store_acme_sweep(struct store *st, const struct store_acme_sweep *sw,
    struct store_acme_swept *out, struct hsmca_err *err)
{
	struct batch b;
	struct plan p;
	uint64_t account = sw->from_account;
	size_t limit = sw->batch ? sw->batch : STORE_ACME_SWEEP_BATCH;
	size_t i, n;
	bool found;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	memset(&p, 0, sizeof(p));
	if (sw->retention < 0 || sw->rate_window < 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "store",
		    "store: sweep: retention and rate window must not be "
		    "negative");
	/* 0 means never; a cutoff before any time means nothing is due. */
	if (sw->retention == 0 || sw->now < INT64_MIN + sw->retention)
		return 0;
	b.cutoff = sw->now - sw->retention;
	/* No window: nothing is kept for it; one reaching before any
	 * time: everything is. */
	if (sw->rate_window == 0)
		b.keep_from = INT64_MAX;
	else if (sw->now < INT64_MIN + sw->rate_window)
		b.keep_from = INT64_MIN;
	else
		b.keep_from = sw->now - sw->rate_window + 1;
	for (;;) {
		if ((rc = account_next(st, account, &account, &found,
		    err)) != 0 || !found)
			break;
		if ((rc = plan_read(st, account, &b, &p, err)) != 0)
			break;
		for (i = 0; i < p.norders && !p.stopped; i++) {
			if (!p.orders[i].remove)
				continue;
			n = unit_objects(&p, i);
			if (b.nunits > 0 && b.objects + n > limit) {
				if ((rc = batch_flush(st, &b, &p, out,
				    err)) != 0)
					goto out;
				if (sw->budget > 0 &&
				    out->removed >= sw->budget) {
					out->next_account = account;
					goto out;
				}
				if (p.stopped)
					break;
			}
			if ((rc = batch_add(&b, &p, i, n)) != 0) {
				hsmca_err_set(err, rc, "store",
				    "out of memory");
				goto out;
			}
		}
		if (account == UINT64_MAX)
			break;
		account++;
	}
	if (rc == 0)
		rc = batch_flush(st, &b, &p, out, err);
out:
	plan_clear(&p);
	free(b.units);
	free(b.authz);
	return rc;
}
