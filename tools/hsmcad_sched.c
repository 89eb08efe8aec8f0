/*
 * tools/hsmcad_sched.c - the thread that runs hsmcad's periodic jobs
 * (CRL and OCSP refresh), the sweep of expired ACME objects and the
 * pruning of long-expired certificates' OCSP responses.  Each
 * job decides itself what is due at `now`; the scheduler only calls
 * them in turn every few seconds and stops promptly when asked (a
 * condition variable, not a sleep).
 */
#include "tools/hsmcad.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/ca_ocsp.h"
#include "common/log.h"
#include "common/proc.h"
#include "store/store_acme.h"
#include "store/store_ocsp.h"

/*
 * The sweep of expired ACME orders (store_acme_sweep()) starts at
 * start-up and then every SWEEP_INTERVAL_S seconds of the CA clock.  A
 * round removes about SWEEP_BUDGET objects at most and a backlog goes
 * on at the next round, so the CRL and OCSP jobs are never held up
 * long; within a round, each write transaction holds at most
 * STORE_ACME_SWEEP_BATCH objects, so other writers wait little.  When
 * the CA clock goes back by more than an interval, the next round is
 * due at once: a step back must not stop the sweep for its length.
 */
#define SWEEP_INTERVAL_S 3600
#define SWEEP_BUDGET 4096

/*
 * The pruning of OCSP responses (store_ocsp_prune()) runs on the same
 * schedule.  A round looks at PRUNE_BUDGET certificates at most, in
 * write transactions of at most STORE_OCSP_PRUNE_BATCH removals.  The
 * first pass walks every certificate expired before the cutoff; each
 * later one starts where the last ended, so it reads only what expired
 * since: nothing signs for a certificate behind the cutoff again.
 */
#define PRUNE_BUDGET 8192

struct hsmcad_sched {
	struct ca *ca;
	char publish_dir[PATH_MAX];
	const struct hsmcad_job *jobs;
	size_t njobs;
	unsigned interval_s;
	pthread_t thread;
	bool running;		/* `thread` was started */
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* on CLOCK_MONOTONIC */
	bool stop;
	/* The sweep; only the scheduler thread touches these. */
	int64_t retention;	/* acme.retention_days in seconds; 0: off */
	int64_t rate_window;	/* orders that still count toward
				   ratelimit.orders_per_window */
	int64_t sweep_due;	/* CA time the next sweep starts */
	uint64_t sweep_from;	/* account a sweep in progress goes on at */
	struct store_acme_swept swept;	/* sum of the sweep in progress */
	/* The OCSP pruning; only the scheduler thread touches these. */
	bool prune;		/* ocsp.enabled */
	int64_t keep_days;	/* ocsp.keep_expired_days, for the log */
	int64_t prune_due;	/* CA time the next pass starts */
	int64_t prune_before;	/* cutoff of the pass in progress */
	bool prune_running;	/* a pass is in progress */
	struct store_ocsp_pos prune_pos;	/* the last certificate done */
	bool have_prune_pos;
	size_t pruned;		/* removed by the pass in progress */
};

/*
 * One round of the sweep: start one when due, or go on with the one in
 * progress; when it is finished, log what it removed (if anything) and
 * set the next.  A failure is logged and the sweep tried again at the
 * next interval rather than every round.
 */
static void
sweep_round(struct hsmcad_sched *s, int64_t now)
{
	struct store_acme_sweep sw;
	struct store_acme_swept out;
	struct hsmca_err err;
	int rc;

	if (s->retention == 0)
		return;
	/* The CA clock went back: do not wait out the step. */
	if (s->sweep_due > now + SWEEP_INTERVAL_S)
		s->sweep_due = now;
	if (s->sweep_from == 0 && now < s->sweep_due)
		return;
	memset(&sw, 0, sizeof(sw));
	memset(&err, 0, sizeof(err));
	sw.now = now;
	sw.retention = s->retention;
	sw.rate_window = s->rate_window;
	sw.budget = SWEEP_BUDGET;
	sw.from_account = s->sweep_from;
	rc = store_acme_sweep(ca_store(s->ca), &sw, &out, &err);
	s->swept.orders += out.orders;
	s->swept.authzs += out.authzs;
	s->swept.challs += out.challs;
	s->swept.removed += out.removed;
	if (rc == 0 && out.next_account != 0) {
		s->sweep_from = out.next_account;
		return;
	}
	if (rc != 0)
		log_error("scheduler: ACME sweep: %s: %s",
		    err.type ? err.type : "error", err.detail);
	if (s->swept.removed > 0)
		log_info("scheduler: ACME sweep removed %zu objects (%zu "
		    "orders, %zu authorizations, %zu challenges) expired "
		    "more than %lld days ago", s->swept.removed,
		    s->swept.orders, s->swept.authzs, s->swept.challs,
		    (long long)(s->retention / 86400));
	memset(&s->swept, 0, sizeof(s->swept));
	s->sweep_from = 0;
	s->sweep_due = now + SWEEP_INTERVAL_S;
}

/*
 * One round of the OCSP pruning, like sweep_round(): start a pass when
 * due (cutoff fixed for the whole pass) or go on with the one in
 * progress; at its end log the count, if any, and set the next.
 */
static void
prune_round(struct hsmcad_sched *s, int64_t now)
{
	struct store_ocsp_prune pr;
	struct store_ocsp_pruned out;
	struct hsmca_err err;
	int rc;

	if (!s->prune)
		return;
	/* The CA clock went back: do not wait out the step. */
	if (s->prune_due > now + SWEEP_INTERVAL_S)
		s->prune_due = now;
	if (!s->prune_running && now < s->prune_due)
		return;
	if (!s->prune_running) {
		s->prune_before = ca_ocsp_expired_cutoff(s->ca, now);
		s->prune_running = true;
		s->pruned = 0;
		/*
		 * A cutoff at or before where the last pass ended means the
		 * clock went back: certificates behind that point are no
		 * longer long expired and may be signed for again, and a
		 * pass starting after it would never see them.  So this
		 * pass starts from the first certificate.
		 */
		if (s->have_prune_pos &&
		    s->prune_pos.not_after >= s->prune_before)
			s->have_prune_pos = false;
	}
	memset(&pr, 0, sizeof(pr));
	memset(&err, 0, sizeof(err));
	pr.before = s->prune_before;
	pr.after = s->have_prune_pos ? &s->prune_pos : NULL;
	pr.budget = PRUNE_BUDGET;
	rc = store_ocsp_prune(ca_store(s->ca), &pr, &out, &err);
	s->pruned += out.removed;
	if (out.seen > 0) {
		s->prune_pos = out.next;
		s->have_prune_pos = true;
	}
	if (rc == 0 && out.more)
		return;
	if (rc != 0)
		log_error("scheduler: OCSP pruning: %s: %s",
		    err.type ? err.type : "error", err.detail);
	if (s->pruned > 0)
		log_info("scheduler: OCSP pruning removed the responses of "
		    "%zu certificates expired more than %lld days ago",
		    s->pruned, (long long)s->keep_days);
	s->prune_running = false;
	s->prune_due = now + SWEEP_INTERVAL_S;
}

static void
run_jobs(struct hsmcad_sched *s)
{
	struct hsmca_err err;
	int64_t now = ca_now(s->ca);

	for (size_t i = 0; i < s->njobs; i++) {
		memset(&err, 0, sizeof(err));
		if (s->jobs[i].fn(s->ca, now, s->publish_dir, &err) != 0)
			log_error("scheduler: %s: %s: %s", s->jobs[i].name,
			    err.type ? err.type : "error", err.detail);
	}
	sweep_round(s, now);
	prune_round(s, now);
}

static void *
sched_main(void *arg)
{
	struct hsmcad_sched *s = arg;
	struct timespec until;
	bool stop;

	proc_thread_name("scheduler");
	for (;;) {
		run_jobs(s);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += s->interval_s;
		pthread_mutex_lock(&s->lock);
		while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock,
		    &until) != ETIMEDOUT)
			;
		stop = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
	}
	return NULL;
}

/* See hsmcad.h. */
void
hsmcad_sched_round(struct hsmcad_sched *s)
{
	run_jobs(s);
}

/* See hsmcad.h. */
int
hsmcad_sched_new(struct ca *ca, const struct hsmca_config *cfg,
    const char *publish_dir, const struct hsmcad_job *jobs, size_t njobs,
    unsigned interval_s, struct hsmcad_sched **out, struct hsmca_err *err)
{
	struct hsmcad_sched *s;
	pthread_condattr_t ca_attr;

	*out = NULL;
	if (strlen(publish_dir) >= PATH_MAX)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "publish.dir: path too long");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	s->ca = ca;
	snprintf(s->publish_dir, sizeof(s->publish_dir), "%s", publish_dir);
	s->jobs = jobs;
	s->njobs = njobs;
	s->interval_s = interval_s > 0 ? interval_s : 1;
	s->retention = config_get_int(cfg, "acme.retention_days") * 86400;
	/* With the limit off, no order counts toward it. */
	if (config_get_int(cfg, "ratelimit.orders_per_window") > 0)
		s->rate_window = config_get_int(cfg, "ratelimit.window_s");
	s->prune = ca_ocsp_enabled(ca);
	s->keep_days = config_get_int(cfg, "ocsp.keep_expired_days");
	pthread_mutex_init(&s->lock, NULL);
	/* A monotonic wait is immune to wall-clock jumps. */
	pthread_condattr_init(&ca_attr);
	pthread_condattr_setclock(&ca_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca_attr);
	pthread_condattr_destroy(&ca_attr);
	*out = s;
	return 0;
}

/* Start the scheduler thread; see hsmcad.h. */
int
hsmcad_sched_start(struct ca *ca, const struct hsmca_config *cfg,
    const char *publish_dir, const struct hsmcad_job *jobs, size_t njobs,
    unsigned interval_s, struct hsmcad_sched **out, struct hsmca_err *err)
{
	struct hsmcad_sched *s;
	int rc, e;

	if ((rc = hsmcad_sched_new(ca, cfg, publish_dir, jobs, njobs,
	    interval_s, &s, err)) != 0)
		return rc;
	if ((e = pthread_create(&s->thread, NULL, sched_main, s)) != 0) {
		hsmcad_sched_stop(s);
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "scheduler: cannot start its thread: %s", strerror(e));
	}
	s->running = true;
	*out = s;
	return 0;
}

/* Stop and join the scheduler thread; see hsmcad.h. */
void
hsmcad_sched_stop(struct hsmcad_sched *s)
{
	if (s == NULL)
		return;
	if (s->running) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
