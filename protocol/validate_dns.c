/*
 * protocol/validate_dns.c - DNS through the shared libunbound context:
 * one query with a deadline, the addresses of a name, and dns-01
 * (RFC 8555 8.4).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <unbound.h>

#include "protocol/jws.h"
#include "protocol/validate_int.h"

/* DNS response codes named in details. */
#define RCODE_SERVFAIL	2
#define RCODE_NXDOMAIN	3
#define RCODE_REFUSED	5

/*
 * One query in flight.  Heap-allocated: when the caller gives up at its
 * deadline while libunbound is already delivering the answer, the
 * callback still owns it and frees it.  Each query has its own
 * condition variable so that an answer wakes only the thread waiting
 * for it: with one shared between all queries every answer woke every
 * validation worker waiting on DNS.
 */
struct val_query {
	struct validator *v;
	pthread_cond_t cond;	/* CLOCK_MONOTONIC; under v->lock */
	int async_id;
	bool done;		/* the callback ran */
	bool abandoned;		/* the caller left; the callback frees */
	int uerr;
	struct ub_result *res;
};

static void
query_free(struct val_query *q)
{
	pthread_cond_destroy(&q->cond);
	free(q);
}

/* libunbound callback, on the dispatcher thread. */
static void
query_done(void *arg, int uerr, struct ub_result *res)
{
	struct val_query *q = arg;
	struct validator *v = q->v;

	pthread_mutex_lock(&v->lock);
	if (q->abandoned) {
		pthread_mutex_unlock(&v->lock);
		if (res != NULL)
			ub_resolve_free(res);
		query_free(q);
		return;
	}
	q->uerr = uerr;
	q->res = res;
	q->done = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&v->lock);
}

static const char *
rrtype_name(int t)
{
	switch (t) {
	case VAL_RR_A:		return "A";
	case VAL_RR_AAAA:	return "AAAA";
	case VAL_RR_TXT:	return "TXT";
	case VAL_RR_CAA:	return "CAA";
	}
	return "?";
}

/* See protocol/validate_int.h. */
int
val_query_start(struct validator *v, const char *name, int rrtype,
    struct val_query **out, struct hsmca_err *err)
{
	struct val_query *q;
	pthread_condattr_t ca;
	int urc;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	q->v = v;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((urc = ub_resolve_async(v->ub, name, rrtype, VAL_CLASS_IN, q,
	    query_done, &q->async_id)) != 0) {
		query_free(q);
		return hsmca_err_set(err, HSMCA_EINVAL, "dns",
		    "cannot look up %s %s: %s", rrtype_name(rrtype), name,
		    ub_strerror(urc));
	}
	*out = q;
	return 0;
}

/* See protocol/validate_int.h. */
void
val_query_drop(struct validator *v, struct val_query *q)
{
	struct ub_result *res = NULL;
	bool done;

	if (q == NULL)
		return;
	pthread_mutex_lock(&v->lock);
	if (!(done = q->done))
		q->abandoned = true;
	else
		res = q->res;
	pthread_mutex_unlock(&v->lock);
	if (done) {
		if (res != NULL)
			ub_resolve_free(res);
		query_free(q);
		return;
	}
	/* Cancelled: no callback will come, q is ours.  Otherwise the
	 * answer is being delivered and query_done() frees q. */
	if (ub_cancel(v->ub, q->async_id) == 0)
		query_free(q);
}

/*
 * Wait for `q` until `deadline`.  On return q is freed or handed to the
 * callback; *res is the answer (or NULL) and *uerr libunbound's error.
 * Returns false when the deadline passed first.
 */
static bool
query_wait(struct validator *v, struct val_query *q, int64_t deadline,
    struct ub_result **res, int *uerr)
{
	struct timespec ts;
	int64_t now;

	*res = NULL;
	*uerr = 0;
	pthread_mutex_lock(&v->lock);
	while (!q->done && (now = val_now_ms()) < deadline) {
		ts.tv_sec = (time_t)(deadline / 1000);
		ts.tv_nsec = (long)(deadline % 1000) * 1000000;
		(void)pthread_cond_timedwait(&q->cond, &v->lock, &ts);
	}
	if (q->done) {
		pthread_mutex_unlock(&v->lock);
		*res = q->res;
		*uerr = q->uerr;
		query_free(q);
		return true;
	}
	pthread_mutex_unlock(&v->lock);
	val_query_drop(v, q);
	return false;
}

/*
 * Turn a finished query into 0 (NOERROR or NXDOMAIN) or a "dns" error.
 * Frees `res` on error.
 */
static int
query_check(const char *name, int rrtype, bool ok, int uerr,
    struct ub_result *res, struct hsmca_err *err)
{
	const char *t = rrtype_name(rrtype);
	int rc;

	if (!ok)
		return hsmca_err_set(err, HSMCA_EIO, "dns",
		    "DNS timeout looking up %s for %s", t, name);
	if (uerr != 0 || res == NULL) {
		rc = hsmca_err_set(err, HSMCA_EIO, "dns",
		    "DNS problem looking up %s for %s: %s", t, name,
		    ub_strerror(uerr));
		goto fail;
	}
	/* With a trust anchor, libunbound classes each answer secure,
	 * insecure (provably unsigned) or bogus; only bogus is refused,
	 * as RFC 4035 4.3 has validating resolvers do. */
	if (res->bogus) {
		rc = hsmca_err_set(err, HSMCA_EIO, "dns",
		    "DNSSEC validation failed looking up %s for %s: %s", t,
		    name, res->why_bogus != NULL ? res->why_bogus : "bogus");
		goto fail;
	}
	if (res->rcode != 0 && res->rcode != RCODE_NXDOMAIN) {
		rc = hsmca_err_set(err, HSMCA_EIO, "dns",
		    "DNS problem looking up %s for %s: %s", t, name,
		    res->rcode == RCODE_SERVFAIL ? "SERVFAIL" :
		    res->rcode == RCODE_REFUSED ? "REFUSED" : "server error");
		goto fail;
	}
	return 0;
fail:
	ub_resolve_free(res);
	return rc;
}

/* See protocol/validate_int.h. */
int
val_query_finish(struct validator *v, struct val_query *q, const char *name,
    int rrtype, int64_t deadline, struct ub_result **out,
    struct hsmca_err *err)
{
	struct ub_result *res;
	bool ok;
	int rc, uerr;

	*out = NULL;
	ok = query_wait(v, q, deadline, &res, &uerr);
	if ((rc = query_check(name, rrtype, ok, uerr, res, err)) != 0)
		return rc;
	*out = res;
	return 0;
}

/* See protocol/validate_int.h. */
int
val_dns_query(struct validator *v, const char *name, int rrtype,
    int64_t deadline, struct ub_result **out, struct hsmca_err *err)
{
	struct val_query *q;
	int rc;

	*out = NULL;
	if ((rc = val_query_start(v, name, rrtype, &q, err)) != 0)
		return rc;
	return val_query_finish(v, q, name, rrtype, deadline, out, err);
}

/* Append the A or AAAA RDATA of `res` to addrs. */
static void
take_addrs(const struct ub_result *res, int family, struct val_addr *addrs,
    size_t *n)
{
	size_t want = family == AF_INET ? 4 : 16;
	int i;

	if (res == NULL || !res->havedata)
		return;
	for (i = 0; res->data[i] != NULL && *n < VAL_MAX_ADDRS; i++) {
		if ((size_t)res->len[i] != want)
			continue;
		addrs[*n].family = family;
		memset(addrs[*n].bytes, 0, sizeof(addrs[*n].bytes));
		memcpy(addrs[*n].bytes, res->data[i], want);
		(*n)++;
	}
}

/* See protocol/validate_int.h. */
int
val_dns_addrs(struct validator *v, const char *name, int64_t deadline,
    struct val_addr *addrs, size_t *n, struct hsmca_err *err)
{
	struct ub_result *r4 = NULL, *r6 = NULL;
	struct val_query *q4 = NULL, *q6 = NULL;
	struct hsmca_err e4, e6;
	bool ok4, ok6;
	int rc, u4, u6, c4, c6;

	*n = 0;
	hsmca_err_clear(&e4);
	hsmca_err_clear(&e6);
	/* Both questions at once: one round trip of the deadline each. */
	if ((rc = val_query_start(v, name, VAL_RR_A, &q4, err)) != 0)
		return rc;
	if ((rc = val_query_start(v, name, VAL_RR_AAAA, &q6, err)) != 0) {
		val_query_drop(v, q4);
		return rc;
	}
	ok4 = query_wait(v, q4, deadline, &r4, &u4);
	ok6 = query_wait(v, q6, deadline, &r6, &u6);
	c4 = query_check(name, VAL_RR_A, ok4, u4, r4, &e4);
	c6 = query_check(name, VAL_RR_AAAA, ok6, u6, r6, &e6);
	if (c4 != 0)
		r4 = NULL;
	if (c6 != 0)
		r6 = NULL;
	/* IPv6 first, as most validators try it first. */
	take_addrs(r6, AF_INET6, addrs, n);
	take_addrs(r4, AF_INET, addrs, n);
	if (*n > 0)
		rc = val_addrs_allowed(v, name, addrs, n, err);
	else if (c4 != 0)
		rc = hsmca_err_set(err, c4, e4.type, "%s", e4.detail);
	else if (c6 != 0)
		rc = hsmca_err_set(err, c6, e6.type, "%s", e6.detail);
	else if (r4->nxdomain)
		rc = hsmca_err_set(err, HSMCA_ENOTFOUND, "dns",
		    "NXDOMAIN looking up A for %s: no such name", name);
	else
		rc = hsmca_err_set(err, HSMCA_ENOTFOUND, "dns",
		    "no A or AAAA records found for %s", name);
	if (r4 != NULL)
		ub_resolve_free(r4);
	if (r6 != NULL)
		ub_resolve_free(r6);
	return rc;
}

/* See protocol/validate_int.h. */
int
val_ip_parse(const char *text, struct val_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, a->bytes) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, a->bytes) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return HSMCA_EINVAL;
}

/* See protocol/validate_int.h. */
void
val_addr_str(const struct val_addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family, a->bytes, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

/*
 * Join the character-strings of one TXT RDATA (RFC 1035 3.3.14) into
 * out (of `len` bytes, NUL-terminated).  False when it does not fit or
 * the RDATA is malformed.
 */
static bool
txt_join(const unsigned char *rd, size_t rdlen, char *out, size_t len)
{
	size_t i = 0, o = 0, sl;

	while (i < rdlen) {
		sl = rd[i++];
		if (sl > rdlen - i || o + sl >= len)
			return false;
		memcpy(out + o, rd + i, sl);
		o += sl;
		i += sl;
	}
	out[o] = '\0';
	return true;
}

/* See protocol/validate_int.h. */
int
val_dns01(struct validator *v, const struct validate_ident *ident,
    const char *key_authz, int64_t deadline, struct hsmca_err *err)
{
	unsigned char md[32];
	char want[64], got[512], name[VAL_MAX_NAME + 32];
	char seen[48] = "";
	struct ub_result *res = NULL;
	unsigned int mdlen;
	int rc, i, n = 0, nt;

	nt = snprintf(name, sizeof(name), "_acme-challenge.%s", ident->value);
	if (nt < 0 || (size_t)nt >= sizeof(name))
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "name too long: %s", ident->value);
	/* RFC 8555 8.4: base64url(SHA-256(key authorization)). */
	if (EVP_Digest(key_authz, strlen(key_authz), md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "SHA-256 failed");
	b64url_encode_buf(md, mdlen, want);
	if ((rc = val_dns_query(v, name, VAL_RR_TXT, deadline, &res, err)) != 0)
		return rc;
	if (res->nxdomain) {
		rc = hsmca_err_set(err, HSMCA_ENOTFOUND, "dns",
		    "NXDOMAIN looking up TXT for %s", name);
		goto out;
	}
	for (i = 0; res->havedata && res->data[i] != NULL; i++) {
		n++;
		if (!txt_join((const unsigned char *)res->data[i],
		    (size_t)res->len[i], got, sizeof(got)))
			continue;
		if (strcmp(got, want) == 0) {
			rc = 0;
			goto out;
		}
		if (n == 1)
			val_sanitize((const unsigned char *)got, strlen(got),
			    24, seen, sizeof(seen));
	}
	if (n == 0)
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "incorrectResponse",
		    "no TXT record found at %s", name);
	else
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "incorrectResponse",
		    "none of the %d TXT value(s) at %s is the expected "
		    "digest \"%s\" (first seen: \"%s\")", n, name, want, seen);
out:
	ub_resolve_free(res);
	return rc;
}
