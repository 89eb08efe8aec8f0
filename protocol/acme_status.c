/*
 * protocol/acme_status.c - status names and the statuses derived at
 * read time: an authorization past its expiry is "expired", and a
 * pending order is "ready", "invalid" or "pending" according to its
 * authorizations (RFC 8555 7.1.6), so a validation result never has to
 * be copied into every order that shares the authorization.
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/acme_int.h"

/* The RFC 8555 name of a status. */
const char *
acme_status_name(int status)
{
	switch (status) {
	case ACME_ST_PENDING:		return "pending";
	case ACME_ST_READY:		return "ready";
	case ACME_ST_PROCESSING:	return "processing";
	case ACME_ST_VALID:		return "valid";
	case ACME_ST_INVALID:		return "invalid";
	case ACME_ST_DEACTIVATED:	return "deactivated";
	case ACME_ST_EXPIRED:		return "expired";
	case ACME_ST_REVOKED:		return "revoked";
	default:			return "invalid";
	}
}

/* The RFC 8555 name of a challenge type. */
const char *
acme_chall_name(int type)
{
	switch (type) {
	case VALIDATE_HTTP01:		return "http-01";
	case VALIDATE_DNS01:		return "dns-01";
	case VALIDATE_TLSALPN01:	return "tls-alpn-01";
	default:			return "unknown";
	}
}

/* The authorization's status at `now` ("expired" past its expiry). */
int
acme_authz_status(const struct store_acme_authz *z, int64_t now)
{
	if ((z->status == ACME_ST_PENDING || z->status == ACME_ST_VALID) &&
	    z->expires <= now)
		return ACME_ST_EXPIRED;
	return z->status;
}

/* Free an array of authorizations from acme_order_status(). */
void
acme_authzs_free(struct store_acme_authz **zs, size_t n)
{
	size_t i;

	if (zs == NULL)
		return;
	for (i = 0; i < n; i++)
		store_acme_authz_free(zs[i]);
	free(zs);
}

/*
 * Load every authorization of `o` and derive its status.  Returns the
 * status (> 0) or a negative code.  *zs (may be NULL when the caller
 * does not want them) gets the authorizations.
 */
int
acme_order_status(struct acme *a, const struct store_acme_order *o,
    int64_t now, struct store_acme_authz ***zs, struct hsmca_err *err)
{
	struct store_acme_authz **list;
	bool all_valid = true, bad = false;
	size_t i;
	int rc, st;

	if (zs != NULL)
		*zs = NULL;
	if ((list = calloc(o->nauthz ? o->nauthz : 1, sizeof(*list))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	for (i = 0; i < o->nauthz; i++) {
		rc = store_acme_authz_get(a->st, o->authz[i], &list[i], err);
		if (rc == HSMCA_ENOTFOUND) {
			bad = true;
			continue;
		}
		if (rc != 0) {
			acme_authzs_free(list, o->nauthz);
			return rc;
		}
		st = acme_authz_status(list[i], now);
		if (st != ACME_ST_VALID)
			all_valid = false;
		if (st != ACME_ST_VALID && st != ACME_ST_PENDING)
			bad = true;
	}
	if (o->status != ACME_ST_PENDING)
		st = o->status;
	else if (o->expires <= now || bad)
		st = ACME_ST_INVALID;
	else if (acme_finalizing(a, o->id))
		st = ACME_ST_PROCESSING;
	else
		st = all_valid ? ACME_ST_READY : ACME_ST_PENDING;
	if (zs != NULL)
		*zs = list;
	else
		acme_authzs_free(list, o->nauthz);
	return st;
}

/* Whether order `id` is being finalized by some request now. */
bool
acme_finalizing(struct acme *a, uint64_t id)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->nfinalizing && !found; i++)
		found = a->finalizing[i] == id;
	pthread_mutex_unlock(&a->mu);
	return found;
}

/*
 * The orders being finalized live in memory only: after a crash the
 * order is "ready" again and the client may finalize it once more.
 */
bool
acme_finalizing_add(struct acme *a, uint64_t id)
{
	bool ok = true;
	uint64_t *n;
	size_t i;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->nfinalizing; i++)
		if (a->finalizing[i] == id)
			ok = false;
	if (ok && a->nfinalizing == a->capfinalizing) {
		size_t cap = a->capfinalizing ? a->capfinalizing * 2 : 16;

		if ((n = realloc(a->finalizing, cap * sizeof(*n))) == NULL) {
			ok = false;
		} else {
			a->finalizing = n;
			a->capfinalizing = cap;
		}
	}
	if (ok)
		a->finalizing[a->nfinalizing++] = id;
	pthread_mutex_unlock(&a->mu);
	return ok;
}

/* Take order `id` out of the finalizing set. */
void
acme_finalizing_del(struct acme *a, uint64_t id)
{
	size_t i;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->nfinalizing; i++) {
		if (a->finalizing[i] == id) {
			a->finalizing[i] = a->finalizing[--a->nfinalizing];
			break;
		}
	}
	pthread_mutex_unlock(&a->mu);
}
