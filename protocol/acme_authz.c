/*
 * protocol/acme_authz.c - the authorization (RFC 8555 7.5, 7.5.2
 * deactivation) and challenge (7.5.1) resources.  A challenge POST with
 * a payload marks the challenge "processing" durably and queues it for
 * the validation workers (acme_validate.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/acme_int.h"

/* Fetch authz `id` for the request's account: 404 / unauthorized. */
static int
authz_load(struct acme *a, uint64_t id, const struct acme_post *p,
    struct store_acme_authz **z, int *status, struct hsmca_err *err)
{
	int rc;

	rc = store_acme_authz_get(a->st, id, z, err);
	if (rc == HSMCA_ENOTFOUND) {
		*status = 404;
		return hsmca_err_set(err, rc, "malformed",
		    "no such authorization");
	}
	if (rc != 0)
		return rc;
	if ((*z)->account_id != p->acct->id)
		return hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "this authorization belongs to another account");
	return 0;
}

struct deact_write {
	uint64_t id;
	int64_t now;
	struct store_acme_authz *z;	/* result */
	struct hsmca_err err;
};

static int
deact_write(struct store_txn *txn, void *arg)
{
	struct deact_write *w = arg;
	int st;

	store_acme_authz_free(w->z);
	w->z = NULL;
	hsmca_err_clear(&w->err);
	if (store_acme_txn_authz_get(txn, w->id, &w->z) != 0)
		return hsmca_err_set(&w->err, HSMCA_EIO, "store",
		    "authorization vanished");
	st = acme_authz_status(w->z, w->now);
	if (st != ACME_ST_PENDING && st != ACME_ST_VALID)
		return hsmca_err_set(&w->err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 7.5.2: only a pending or valid authorization "
		    "can be deactivated; this one is %s",
		    acme_status_name(st));
	w->z->status = ACME_ST_DEACTIVATED;
	return store_acme_authz_put(txn, w->z);
}

/* POST /acme/authz/ID: read, or deactivate (7.5, 7.5.2). */
int
acme_h_authz(struct http_req *req, void *arg)
{
	struct acme *a = arg;
	struct acme_post p;
	struct hsmca_err err = { 0 };
	struct store_acme_authz *z = NULL;
	struct deact_write w;
	const char *sub = http_req_subpath(req);
	const json_t *st;
	int64_t now = ca_now(a->ca);
	uint64_t id;
	size_t i;
	int rc, status = 0;

	memset(&w, 0, sizeof(w));
	if ((rc = acme_post_parse(a, req, ACME_SIG_KID, &p, &status,
	    &err)) != 0)
		return acme_reply_err(req, status, &err);
	if (acme_id_parse(sub, strlen(sub), &id) != 0) {
		status = 404;
		hsmca_err_set(&err, HSMCA_ENOTFOUND, "malformed",
		    "no such authorization");
		goto fail;
	}
	if (authz_load(a, id, &p, &z, &status, &err) != 0)
		goto fail;
	if (p.payload != NULL) {
		st = json_object_get(p.payload, "status");
		if (!json_is_string(st) ||
		    strcmp(json_string_value(st), "deactivated") != 0) {
			hsmca_err_set(&err, HSMCA_EINVAL, "malformed",
			    "RFC 8555 7.5.2: the only change is {\"status\": "
			    "\"deactivated\"}");
			goto fail;
		}
		w.id = id;
		w.now = now;
		rc = store_write(a->st, deact_write, &w, &err);
		if (rc != 0) {
			if (w.err.code != 0)
				err = w.err;
			goto fail;
		}
		store_acme_authz_free(z);
		z = w.z;
		w.z = NULL;
	}
	for (i = 0; i < z->nchall; i++) {
		if (z->chall[i].status == ACME_ST_PROCESSING) {
			http_reply_header(req, "Retry-After", ACME_RETRY_AFTER);
			break;
		}
	}
	rc = acme_reply_json(req, 200, NULL, acme_authz_json(a, z, now));
	goto out;
fail:
	rc = acme_reply_err(req, status, &err);
out:
	store_acme_authz_free(w.z);
	store_acme_authz_free(z);
	acme_post_clear(&p);
	return rc;
}

struct start_write {
	uint64_t id;
	unsigned idx;
	int64_t now;
	bool queued;			/* result: newly processing */
	struct store_acme_authz *z;	/* result */
	struct hsmca_err err;
};

/*
 * 7.5.1: a pending challenge of a pending authorization becomes
 * processing and is marked for the workers, in one commit, so a crash
 * after the reply leaves it requeued by acme_start().  A challenge in
 * another state is answered as it is.
 */
static int
start_write(struct store_txn *txn, void *arg)
{
	struct start_write *w = arg;
	size_t i;

	store_acme_authz_free(w->z);
	w->z = NULL;
	w->queued = false;
	hsmca_err_clear(&w->err);
	if (store_acme_txn_authz_get(txn, w->id, &w->z) != 0)
		return hsmca_err_set(&w->err, HSMCA_EIO, "store",
		    "authorization vanished");
	if (w->z->chall[w->idx].status != ACME_ST_PENDING)
		return 0;
	if (acme_authz_status(w->z, w->now) != ACME_ST_PENDING)
		return hsmca_err_set(&w->err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 7.5.1: the authorization is %s; its challenges "
		    "can no longer be answered",
		    acme_status_name(acme_authz_status(w->z, w->now)));
	for (i = 0; i < w->z->nchall; i++)
		if (w->z->chall[i].status == ACME_ST_PROCESSING)
			return 0;	/* another challenge is running */
	w->z->chall[w->idx].status = ACME_ST_PROCESSING;
	store_acme_authz_put(txn, w->z);
	store_acme_queue_put(txn, w->id, w->idx);
	w->queued = true;
	return store_txn_error(txn);
}

/*
 * Queue the validation and give it up to `ms`: a quick one is answered
 * with its result, sparing the client a poll; a slow one is answered
 * "processing" with Retry-After.  Either way the state shown is the
 * durable one.  *z is replaced by the latest record.
 */
static void
wait_result(struct acme *a, uint64_t id, unsigned idx, bool early, long ms,
    struct store_acme_authz **z)
{
	struct store_acme_authz *nz = NULL;

	acme_job_wait(a, id, idx, early, ms);
	if (store_acme_authz_get(a->st, id, &nz, NULL) == 0) {
		store_acme_authz_free(*z);
		*z = nz;
	}
}

/* Milliseconds since `t0` (monotonic). */
static long
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)((t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/*
 * Validate before marking when the challenge could start now (pending,
 * in a pending authorization with no other challenge running): the
 * usual quick result is then stored in one commit with no mark before
 * it.  Nothing was told to the client meanwhile, so a crash leaves the
 * challenge pending and the client's retry starts it again.  Returns
 * true when the challenge left pending (its result, durable, is in *z).
 */
static bool
try_early(struct acme *a, uint64_t id, unsigned idx, int64_t now,
    struct store_acme_authz **z)
{
	size_t i;

	if ((*z)->chall[idx].status != ACME_ST_PENDING ||
	    acme_authz_status(*z, now) != ACME_ST_PENDING)
		return false;
	for (i = 0; i < (*z)->nchall; i++)
		if ((*z)->chall[i].status == ACME_ST_PROCESSING)
			return false;
	wait_result(a, id, idx, true, ACME_CHALL_WAIT_MS, z);
	return (*z)->chall[idx].status != ACME_ST_PENDING;
}

/* POST /acme/chall/ID/N: start the challenge, or read it (7.5.1). */
int
acme_h_chall(struct http_req *req, void *arg)
{
	struct acme *a = arg;
	struct acme_post p;
	struct hsmca_err err = { 0 };
	struct store_acme_authz *z = NULL;
	struct start_write w;
	const char *sub = http_req_subpath(req);
	const char *slash = strchr(sub, '/');
	char up[ACME_URL_MAX + 16], url[ACME_URL_MAX];
	struct timespec t0;
	uint64_t id, idx;
	int rc, status = 0;

	memset(&w, 0, sizeof(w));
	if ((rc = acme_post_parse(a, req, ACME_SIG_KID, &p, &status,
	    &err)) != 0)
		return acme_reply_err(req, status, &err);
	if (slash == NULL ||
	    acme_id_parse(sub, (size_t)(slash - sub), &id) != 0 ||
	    !((slash[1] >= '0' && slash[1] <= '9' && slash[2] == '\0') &&
	    (idx = (uint64_t)(slash[1] - '0')) < STORE_ACME_MAX_CHALL)) {
		status = 404;
		hsmca_err_set(&err, HSMCA_ENOTFOUND, "malformed",
		    "no such challenge");
		goto fail;
	}
	if (authz_load(a, id, &p, &z, &status, &err) != 0)
		goto fail;
	if (idx >= z->nchall) {
		status = 404;
		hsmca_err_set(&err, HSMCA_ENOTFOUND, "malformed",
		    "no such challenge");
		goto fail;
	}
	/* A payload (normally {}) is the client's go-ahead; POST-as-GET
	 * only reads. */
	if (p.payload != NULL) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		w.id = id;
		w.idx = (unsigned)idx;
		w.now = ca_now(a->ca);
		if (try_early(a, id, (unsigned)idx, w.now, &z))
			goto reply;
		/* Slow or refused early: mark it so a restart resumes it. */
		if ((rc = store_write(a->st, start_write, &w, &err)) != 0) {
			if (w.err.code != 0)
				err = w.err;
			goto fail;
		}
		store_acme_authz_free(z);
		z = w.z;
		w.z = NULL;
		if (w.queued)
			wait_result(a, id, (unsigned)idx, false,
			    ACME_CHALL_WAIT_MS - ms_since(&t0), &z);
	}
reply:
	acme_url(a, url, sizeof(url), "/acme/authz/%llu",
	    (unsigned long long)id);
	snprintf(up, sizeof(up), "<%s>;rel=\"up\"", url);
	http_reply_header(req, "Link", up);
	if (z->chall[idx].status == ACME_ST_PROCESSING)
		http_reply_header(req, "Retry-After", ACME_RETRY_AFTER);
	rc = acme_reply_json(req, 200, NULL, acme_chall_json(a, z, idx));
	goto out;
fail:
	rc = acme_reply_err(req, status, &err);
out:
	store_acme_authz_free(w.z);
	store_acme_authz_free(z);
	acme_post_clear(&p);
	return rc;
}
