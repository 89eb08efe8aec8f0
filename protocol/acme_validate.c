/*
 * protocol/acme_validate.c - the validation workers: a queue of
 * (authorization, challenge) jobs served by validation.workers threads.
 * Each job checks CAA, then runs the challenge (protocol/validate.h)
 * with the key authorization token "." thumbprint (RFC 8555 8.1), and
 * writes the outcome - challenge and authorization valid or invalid,
 * the problem kept in the challenge - in one durable commit before any
 * reader can see it.  Then it wakes the challenge request waiting for
 * that challenge, and only that one: with a shared condition variable
 * every result woke every waiting request to re-read its record.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/proc.h"
#include "protocol/acme_int.h"

/* Queue challenge `idx` of authorization `authz_id` for a worker. */
void
acme_job_push(struct acme *a, uint64_t authz_id, unsigned idx, bool early)
{
	struct acme_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		/* Still marked in the store: the next start requeues it. */
		log_error("acme: out of memory queueing a validation");
		return;
	}
	j->authz_id = authz_id;
	j->idx = idx;
	j->early = early;
	pthread_mutex_lock(&a->mu);
	if (a->tail != NULL)
		a->tail->next = j;
	else
		a->head = j;
	a->tail = j;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* Wake the requests waiting for challenge `idx` of `authz_id`. */
static void
waiters_wake(struct acme *a, uint64_t authz_id, unsigned idx)
{
	struct acme_waiter *w;

	pthread_mutex_lock(&a->mu);
	for (w = a->waiters; w != NULL; w = w->next)
		if (w->authz_id == authz_id && w->idx == idx) {
			w->done = true;
			pthread_cond_signal(&w->cv);
		}
	pthread_mutex_unlock(&a->mu);
}

struct result_write {
	uint64_t id;
	unsigned idx;
	int64_t now;
	int64_t reuse;
	bool early;		/* the job's early flag */
	const char *error;	/* problem JSON text; NULL: valid */
};

/*
 * Whether an early job's result may be stored for challenge `idx`: it
 * is still pending, its authorization too, and no other challenge of
 * it is being validated (that one decides).
 */
static bool
early_applies(const struct store_acme_authz *z, unsigned idx, int64_t now)
{
	size_t i;

	if (z->chall[idx].status != ACME_ST_PENDING ||
	    acme_authz_status(z, now) != ACME_ST_PENDING)
		return false;
	for (i = 0; i < z->nchall; i++)
		if (z->chall[i].status == ACME_ST_PROCESSING)
			return false;
	return true;
}

static int
result_write(struct store_txn *txn, void *arg)
{
	struct result_write *w = arg;
	struct store_acme_authz *z = NULL;
	struct store_acme_chall *c;
	char key[300];
	bool live;
	int rc;

	if ((rc = store_acme_txn_authz_get(txn, w->id, &z)) != 0) {
		/* Gone: only drop the mark. */
		store_acme_queue_del(txn, w->id, w->idx);
		return store_txn_error(txn);
	}
	c = w->idx < z->nchall ? &z->chall[w->idx] : NULL;
	/*
	 * A deactivated or expired authz stays so: a result that comes
	 * late (a validation requeued at a restart after the authz's
	 * expiry) records the challenge's outcome only.
	 */
	live = acme_authz_status(z, w->now) == ACME_ST_PENDING;
	if (c != NULL && (c->status == ACME_ST_PROCESSING ||
	    (w->early && early_applies(z, w->idx, w->now)))) {
		c->validated_at = w->now;
		free(c->error);
		c->error = NULL;
		if (w->error == NULL) {
			c->status = ACME_ST_VALID;
			if (live) {
				z->status = ACME_ST_VALID;
				if (w->reuse > 0)
					z->expires = w->now + w->reuse;
			}
		} else {
			c->status = ACME_ST_INVALID;
			if ((c->error = strdup(w->error)) == NULL) {
				store_acme_authz_free(z);
				return HSMCA_ENOMEM;
			}
			if (live)
				z->status = ACME_ST_INVALID;
		}
		store_acme_authz_put(txn, z);
		/* Indexed even without reuse: revokeCert by an account
		 * holding authorizations (RFC 8555 7.6) looks here.  Only
		 * when this result made it valid: a late result for an
		 * authz that was valid already (another challenge decided)
		 * must not move the entry back from a newer authz. */
		if (live && w->error == NULL) {
			acme_ident_key(z->ip, z->wildcard, z->value, key,
			    sizeof(key));
			store_acme_valid_put(txn, z->account_id, key, z->id);
		}
	}
	store_acme_queue_del(txn, w->id, w->idx);
	store_acme_authz_free(z);
	return store_txn_error(txn);
}

/* Run one validation; the outcome goes to the store. */
static void
job_run(struct acme *a, const struct acme_job *j)
{
	struct store_acme_authz *z = NULL;
	struct store_acme_account *acct = NULL;
	struct hsmca_err err = { 0 }, werr = { 0 };
	struct validate_ident ident;
	struct result_write w;
	char thumb_authz[STORE_ACME_TOKEN_MAX + STORE_ACME_THUMB_LEN + 2];
	char acct_url[ACME_URL_MAX], *problem = NULL;
	const struct store_acme_chall *c;
	int rc;

	if (store_acme_authz_get(a->st, j->authz_id, &z, &err) != 0 ||
	    j->idx >= z->nchall ||
	    (z->chall[j->idx].status != ACME_ST_PROCESSING &&
	    !(j->early && early_applies(z, j->idx, ca_now(a->ca)))))
		goto done;
	c = &z->chall[j->idx];
	if ((rc = store_acme_account_get(a->st, z->account_id, &acct,
	    &err)) != 0) {
		hsmca_err_clear(&err);
		hsmca_err_set(&err, HSMCA_EPOLICY, "unauthorized",
		    "the account of this authorization is gone");
		goto failed;
	}
	snprintf(thumb_authz, sizeof(thumb_authz), "%s.%s", c->token,
	    acct->thumb);
	acme_url(a, acct_url, sizeof(acct_url), "/acme/acct/%llu",
	    (unsigned long long)acct->id);
	ident.ip = z->ip;
	ident.value = z->value;
	ident.wildcard = z->wildcard;
	/* RFC 8555 10.5 / CA/B BR 3.2.2.8: CAA first, then the proof. */
	if (validate_caa(a->validator, &ident, acct_url,
	    acme_chall_name(c->type), &err) == 0 &&
	    validate_challenge(a->validator, (enum validate_type)c->type,
	    &ident, c->token, thumb_authz, &err) == 0)
		goto record;
failed:
	if (err.type == NULL)
		hsmca_err_set(&err, HSMCA_EINVAL, "incorrectResponse",
		    "validation failed");
	if ((problem = acme_problem_text(&err)) == NULL)
		goto done;	/* still marked: requeued at next start */
record:
	w.id = j->authz_id;
	w.idx = j->idx;
	w.now = ca_now(a->ca);
	w.reuse = a->authz_reuse;
	w.early = j->early;
	w.error = problem;
	if (store_write(a->st, result_write, &w, &werr) != 0)
		log_error("acme: storing a validation result: %s",
		    werr.detail);
done:
	/* Durable now (or nothing to do): the waiting request reads it. */
	waiters_wake(a, j->authz_id, j->idx);
	free(problem);
	store_acme_account_free(acct);
	store_acme_authz_free(z);
}

/* Queue the challenge and wait for its result; see acme_int.h. */
void
acme_job_wait(struct acme *a, uint64_t authz_id, unsigned idx, bool early,
    long ms)
{
	struct acme_waiter w, **pp;
	pthread_condattr_t attr;
	struct timespec until;

	memset(&w, 0, sizeof(w));
	w.authz_id = authz_id;
	w.idx = idx;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cv, &attr);
	pthread_condattr_destroy(&attr);
	if (ms < 0)
		ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	/* Listed before the job is queued: its result cannot slip by. */
	pthread_mutex_lock(&a->mu);
	w.next = a->waiters;
	a->waiters = &w;
	pthread_mutex_unlock(&a->mu);
	acme_job_push(a, authz_id, idx, early);
	pthread_mutex_lock(&a->mu);
	while (!w.done && !a->stopping)
		if (pthread_cond_timedwait(&w.cv, &a->mu, &until) != 0)
			break;
	for (pp = &a->waiters; *pp != NULL; pp = &(*pp)->next)
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	pthread_mutex_unlock(&a->mu);
	pthread_cond_destroy(&w.cv);
}

static void *
worker(void *arg)
{
	struct acme *a = arg;
	struct acme_job *j;

	proc_thread_name("validate");
	for (;;) {
		pthread_mutex_lock(&a->mu);
		while (a->head == NULL && !a->stopping)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stopping) {
			pthread_mutex_unlock(&a->mu);
			return NULL;
		}
		j = a->head;
		a->head = j->next;
		if (a->head == NULL)
			a->tail = NULL;
		pthread_mutex_unlock(&a->mu);
		job_run(a, j);
		free(j);
	}
}

/* Start validation.workers threads. */
int
acme_workers_start(struct acme *a, struct hsmca_err *err)
{
	size_t i;

	if (a->threads != NULL)
		return 0;
	if ((a->threads = calloc(a->nworkers, sizeof(*a->threads))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	for (i = 0; i < a->nworkers; i++) {
		if (pthread_create(&a->threads[i], NULL, worker, a) != 0) {
			acme_workers_stop(a);
			return hsmca_err_set(err, HSMCA_EINTERNAL,
			    "serverInternal", "acme: cannot start validation "
			    "worker %zu", i);
		}
		a->nthreads++;
	}
	return 0;
}

/*
 * Stop the workers.  Jobs still queued are dropped from memory; their
 * challenges stay marked in the store and the next acme_start()
 * requeues them.
 */
void
acme_workers_stop(struct acme *a)
{
	struct acme_waiter *w;
	struct acme_job *j;
	size_t i;

	pthread_mutex_lock(&a->mu);
	a->stopping = true;
	pthread_cond_broadcast(&a->cv);
	for (w = a->waiters; w != NULL; w = w->next)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&a->mu);
	for (i = 0; i < a->nthreads; i++)
		pthread_join(a->threads[i], NULL);
	free(a->threads);
	a->threads = NULL;
	a->nthreads = 0;
	while ((j = a->head) != NULL) {
		a->head = j->next;
		free(j);
	}
	a->tail = NULL;
}
