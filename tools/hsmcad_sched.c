/*
 * tools/hsmcad_sched.c - the thread that runs hsmcad's periodic jobs
 * (CRL and OCSP refresh).  Each job decides itself what is due at `now`;
 * the scheduler only calls them in turn every few seconds and stops
 * promptly when asked (a condition variable, not a sleep).
 */
#include "tools/hsmcad.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

struct hsmcad_sched {
	struct ca *ca;
	char publish_dir[PATH_MAX];
	const struct hsmcad_job *jobs;
	size_t njobs;
	unsigned interval_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* on CLOCK_MONOTONIC */
	bool stop;
};

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
}

static void *
sched_main(void *arg)
{
	struct hsmcad_sched *s = arg;
	struct timespec until;
	bool stop;

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

/* Start the scheduler thread; see hsmcad.h. */
int
hsmcad_sched_start(struct ca *ca, const char *publish_dir,
    const struct hsmcad_job *jobs, size_t njobs, unsigned interval_s,
    struct hsmcad_sched **out, struct hsmca_err *err)
{
	struct hsmcad_sched *s;
	pthread_condattr_t ca_attr;
	int rc = HSMCA_EINTERNAL, e;

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
	pthread_mutex_init(&s->lock, NULL);
	/* A monotonic wait is immune to wall-clock jumps. */
	pthread_condattr_init(&ca_attr);
	pthread_condattr_setclock(&ca_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca_attr);
	pthread_condattr_destroy(&ca_attr);
	if ((e = pthread_create(&s->thread, NULL, sched_main, s)) != 0) {
		hsmca_err_set(err, rc, "serverInternal",
		    "scheduler: cannot start its thread: %s", strerror(e));
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* Stop and join the scheduler thread; see hsmcad.h. */
void
hsmcad_sched_stop(struct hsmcad_sched *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
