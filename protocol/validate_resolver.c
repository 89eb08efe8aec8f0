/*
 * protocol/validate_resolver.c - a libunbound context per thread, on
 * that thread's own libevent base.
 *
 * libunbound's threaded mode passes each question to its resolver
 * thread through a pipe and each answer back through another, and a
 * third thread must deliver the answers: about twenty system calls and
 * three thread wake-ups per question.  In event mode the context's
 * state machines run on an event base that the asking thread drives
 * itself while it waits (val_resolver_run()), so a question costs only
 * its own UDP exchange.  The contexts are not shared: libunbound's
 * cache is capped at 0 s (every attempt sees the zone as it is now), so
 * a shared one would save nothing.
 */
#include <stdlib.h>
#include <sys/time.h>

#include <event2/event.h>
#include <unbound.h>
#include <unbound-event.h>

#include "protocol/validate_int.h"

static void
tick_fn(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void
resolver_free(struct val_resolver *r)
{
	if (r == NULL)
		return;
	/* Deleting the context drops its queries without callbacks. */
	if (r->ub != NULL)
		ub_ctx_delete(r->ub);
	val_queries_free(r);
	if (r->tick != NULL)
		event_free(r->tick);
	if (r->base != NULL)
		event_base_free(r->base);
	free(r);
}

/* Apply v's settings to a new context. */
static int
configure(const struct validator *v, struct ub_ctx *ub,
    struct hsmca_err *err)
{
	int urc;

	if ((urc = ub_ctx_set_option(ub, "cache-max-ttl:", "0")) != 0 ||
	    (urc = ub_ctx_set_option(ub, "cache-max-negative-ttl:",
	    "0")) != 0)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "libunbound setup: %s", ub_strerror(urc));
	/* libunbound answers RFC 6761 names itself (NXDOMAIN); "test."
	 * is meant for test setups (RFC 6761 6.2), whose resolver then
	 * serves it.  The other special names stay answered locally. */
	if ((urc = ub_ctx_set_option(ub, "local-zone:",
	    "test. transparent")) != 0)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "libunbound setup: %s", ub_strerror(urc));
	(void)ub_ctx_debugout(ub, NULL);
	if (v->fwd[0] != '\0') {
		/* A resolver on loopback is allowed: it is named by the
		 * operator (and tests run one there). */
		if ((urc = ub_ctx_set_option(ub, "do-not-query-localhost:",
		    "no")) != 0 || (urc = ub_ctx_set_fwd(ub, v->fwd)) != 0)
			return hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "validation.dns_resolver \"%s\": %s", v->fwd,
			    ub_strerror(urc));
	} else if ((urc = ub_ctx_resolvconf(ub, NULL)) != 0)
		return hsmca_err_set(err, HSMCA_EIO, "config",
		    "validation.dns_resolver is empty and /etc/resolv.conf "
		    "is unusable: %s", ub_strerror(urc));
	if (v->ta_path != NULL &&
	    (urc = ub_ctx_add_ta_file(ub, v->ta_path)) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "validation.trust_anchor %s: %s", v->ta_path,
		    ub_strerror(urc));
	return 0;
}

/* See protocol/validate_int.h. */
int
val_resolver_get(struct validator *v, struct val_resolver **out,
    struct hsmca_err *err)
{
	struct val_resolver *r;
	int rc;

	if ((r = pthread_getspecific(v->res_key)) != NULL) {
		*out = r;
		return 0;
	}
	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	if ((r->base = event_base_new()) == NULL ||
	    (r->tick = evtimer_new(r->base, tick_fn, NULL)) == NULL ||
	    (r->ub = ub_ctx_create_event(r->base)) == NULL) {
		resolver_free(r);
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "cannot set up a DNS resolver: out of memory");
	}
	if ((rc = configure(v, r->ub, err)) != 0) {
		resolver_free(r);
		return rc;
	}
	if (pthread_setspecific(v->res_key, r) != 0) {
		resolver_free(r);
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	}
	pthread_mutex_lock(&v->lock);
	r->next = v->resolvers;
	v->resolvers = r;
	pthread_mutex_unlock(&v->lock);
	*out = r;
	return 0;
}

/* See protocol/validate_int.h. */
bool
val_resolver_run(struct val_resolver *r, const bool *done, int64_t deadline)
{
	struct timeval tv;
	int64_t left;

	while (!*done && (left = deadline - val_now_ms()) > 0) {
		tv.tv_sec = (time_t)(left / 1000);
		tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
		/* The tick ends the loop at the deadline if nothing else
		 * does; EVLOOP_ONCE returns after the first callbacks. */
		if (evtimer_add(r->tick, &tv) != 0 ||
		    event_base_loop(r->base, EVLOOP_ONCE) < 0)
			break;
	}
	(void)evtimer_del(r->tick);
	return *done;
}

/* See protocol/validate_int.h. */
void
val_resolvers_free(struct validator *v)
{
	struct val_resolver *r;

	while ((r = v->resolvers) != NULL) {
		v->resolvers = r->next;
		resolver_free(r);
	}
}
