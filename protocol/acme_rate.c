/*
 * protocol/acme_rate.c - the ratelimit.* limits, counted from durable
 * indexes rather than from memory so that a restart does not reset
 * them: new orders per account per window (orders_by_account, sorted
 * by creation time), certificates per registered domain per week (the
 * issuance counter written at finalization) and pending authorizations
 * per account (the account's live orders and their authorizations).
 */
#include <string.h>

#include "protocol/acme_int.h"


/* ratelimit.orders_per_window: refuse when the window is full. */
int
acme_rate_orders(struct acme *a, uint64_t account_id, int64_t now,
    int64_t *retry_after, struct hsmca_err *err)
{
	size_t count;
	int64_t oldest;
	int rc;

	if (a->rl_orders <= 0)
		return 0;
	if ((rc = store_acme_order_count(a->st, account_id,
	    now - a->rl_window + 1, &count, &oldest, err)) != 0)
		return rc;
	if ((int64_t)count < a->rl_orders)
		return 0;
	/* The window frees a slot when its oldest order leaves it. */
	*retry_after = oldest + a->rl_window - now;
	return hsmca_err_set(err, HSMCA_EPOLICY, "rateLimited",
	    "ratelimit.orders_per_window: %zu new orders in the last %lld "
	    "seconds; the limit is %lld", count, (long long)a->rl_window,
	    (long long)a->rl_orders);
}

/* ratelimit.certs_per_domain_week for each identifier's registered domain. */
int
acme_rate_domains(struct acme *a, const struct acme_ident *ids, size_t n,
    int64_t now, int64_t *retry_after, struct hsmca_err *err)
{
	size_t i, count;
	int64_t oldest;
	const char *rd;
	int rc;

	if (a->rl_certs_week <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		rd = acme_regdomain(ids[i].value);
		if ((rc = store_acme_issued_count(a->st, rd,
		    now - ACME_DOMAIN_WINDOW + 1, &count, &oldest, err)) != 0)
			return rc;
		if ((int64_t)count >= a->rl_certs_week) {
			*retry_after = oldest + ACME_DOMAIN_WINDOW - now;
			return hsmca_err_set(err, HSMCA_EPOLICY, "rateLimited",
			    "ratelimit.certs_per_domain_week: %zu "
			    "certificates for \"%.80s\" in the last 7 days; "
			    "the limit is %lld", count, rd,
			    (long long)a->rl_certs_week);
		}
	}
	return 0;
}

struct pending_ctx {
	struct acme *a;
	int64_t now;
	size_t count;
	int64_t first_expiry;	/* of the orders holding them; 0: none */
};

static int
pending_add(uint64_t id, void *arg)
{
	struct pending_ctx *c = arg;
	struct store_acme_order *o = NULL;
	struct store_acme_authz **zs = NULL;
	size_t i;
	int st;

	if (store_acme_order_get(c->a->st, id, &o, NULL) != 0)
		return 0;
	/* Only a pending, unexpired order can hold pending authzs. */
	if (o->status != ACME_ST_PENDING || o->expires <= c->now) {
		store_acme_order_free(o);
		return 0;
	}
	st = acme_order_status(c->a, o, c->now, &zs, NULL);
	if (st == ACME_ST_PENDING && zs != NULL) {
		for (i = 0; i < o->nauthz; i++)
			if (zs[i] != NULL && acme_authz_status(zs[i],
			    c->now) == ACME_ST_PENDING)
				c->count++;
		if (c->first_expiry == 0 || o->expires < c->first_expiry)
			c->first_expiry = o->expires;
	}
	acme_authzs_free(zs, o->nauthz);
	store_acme_order_free(o);
	return 0;
}

/*
 * Refuse when `adding` new pending authorizations would take the
 * account over ratelimit.pending_authz.  Only orders young enough to be
 * alive are looked at: an authorization never outlives its order.
 */
int
acme_rate_pending(struct acme *a, uint64_t account_id, size_t adding,
    int64_t now, int64_t *retry_after, struct hsmca_err *err)
{
	struct pending_ctx c = { a, now, 0, 0 };
	int rc;

	if (a->rl_pending <= 0 || adding == 0)
		return 0;
	if ((rc = store_acme_order_list(a->st, account_id,
	    now - a->order_lifetime, pending_add, &c, err)) != 0)
		return rc;
	if ((int64_t)(c.count + adding) <= a->rl_pending)
		return 0;
	/* At the latest, the first of those orders expires then. */
	*retry_after = c.first_expiry > now ? c.first_expiry - now : 1;
	return hsmca_err_set(err, HSMCA_EPOLICY, "rateLimited",
	    "ratelimit.pending_authz: the account holds %zu pending "
	    "authorizations and this order adds %zu; the limit is %lld; "
	    "finish or deactivate some first", c.count, adding,
	    (long long)a->rl_pending);
}
