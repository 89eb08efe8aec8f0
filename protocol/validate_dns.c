/*
 * protocol/validate_dns.c - DNS through the calling thread's libunbound
 * context (validate_resolver.c): one query with a deadline, its answer
 * taken apart by ldns, the addresses of a name, and dns-01 (RFC 8555
 * 8.4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <openssl/evp.h>
#include <unbound.h>
#include <unbound-event.h>

#include "protocol/jws.h"
#include "protocol/validate_int.h"

/* DNS response codes named in details. */
#define RCODE_SERVFAIL	2
#define RCODE_NXDOMAIN	3
#define RCODE_REFUSED	5

/*
 * One query in flight, on the resolver of the thread that asked.  All
 * of it happens on that thread: the callback runs inside
 * ub_resolve_event() (local data) or inside val_resolver_run().  A
 * query given up (deadline, or its answer no longer wanted) stays on
 * the resolver's list, marked abandoned, until its callback or the
 * resolver's end frees it.
 */
struct val_query {
	struct val_resolver *r;
	struct val_query *prev, *next;	/* r->queries */
	int rrtype;
	bool done;		/* the callback ran */
	bool abandoned;		/* the caller left; the callback frees */
	int rcode;		/* DNS rcode from the callback */
	int sec;		/* 0 insecure, 1 bogus, 2 secure */
	char *why_bogus;
	struct val_answer *ans;	/* NULL: did not parse (or no memory) */
};

static void
query_unlink_free(struct val_query *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		q->r->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	free(q->why_bogus);
	val_answer_free(q->ans);
	free(q);
}

/* See protocol/validate_int.h. */
void
val_answer_free(struct val_answer *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++)
		free(a->data[i]);
	free(a->data);
	free(a->len);
	free(a);
}

/* See protocol/validate_int.h. */
struct val_answer *
val_answer_parse(const void *packet, size_t len, int rrtype)
{
	struct val_answer *a = NULL;
	ldns_pkt *pkt = NULL;
	ldns_buffer *buf = NULL;
	ldns_rr_list *an;
	ldns_rr *rr;
	size_t i, cnt, n;

	if (ldns_wire2pkt(&pkt, packet, len) != LDNS_STATUS_OK ||
	    (buf = ldns_buffer_new(512)) == NULL ||
	    (a = calloc(1, sizeof(*a))) == NULL)
		goto fail;
	an = ldns_pkt_answer(pkt);
	cnt = an != NULL ? ldns_rr_list_rr_count(an) : 0;
	if ((a->data = calloc(cnt + 1, sizeof(*a->data))) == NULL ||
	    (a->len = calloc(cnt + 1, sizeof(*a->len))) == NULL)
		goto fail;
	for (i = 0; i < cnt; i++) {
		rr = ldns_rr_list_rr(an, i);
		if ((int)ldns_rr_get_type(rr) != rrtype ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
			continue;
		ldns_buffer_clear(buf);
		if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
		    !ldns_buffer_status_ok(buf))
			goto fail;
		n = ldns_buffer_position(buf);
		if ((a->data[a->n] = malloc(n > 0 ? n : 1)) == NULL)
			goto fail;
		memcpy(a->data[a->n], ldns_buffer_begin(buf), n);
		a->len[a->n++] = n;
	}
	a->rcode = (int)ldns_pkt_get_rcode(pkt);
	a->nxdomain = a->rcode == RCODE_NXDOMAIN;
	a->havedata = a->n > 0;
	ldns_buffer_free(buf);
	ldns_pkt_free(pkt);
	return a;
fail:
	val_answer_free(a);
	ldns_buffer_free(buf);
	ldns_pkt_free(pkt);
	return NULL;
}

/* libunbound callback, on the thread that asked. */
static void
query_done(void *arg, int rcode, void *packet, int len, int sec,
    char *why_bogus, int was_ratelimited)
{
	struct val_query *q = arg;

	(void)was_ratelimited;
	if (q->abandoned) {
		query_unlink_free(q);
		return;
	}
	q->done = true;
	q->rcode = rcode;
	q->sec = sec;
	if (why_bogus != NULL)
		q->why_bogus = strdup(why_bogus);
	/* The packet may be read only when rcode is 0. */
	if (rcode == 0 && packet != NULL && len > 0)
		q->ans = val_answer_parse(packet, (size_t)len, q->rrtype);
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
	struct val_resolver *r;
	struct val_query *q;
	int rc, urc, id;

	*out = NULL;
	if ((rc = val_resolver_get(v, &r, err)) != 0)
		return rc;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	q->r = r;
	q->rrtype = rrtype;
	q->next = r->queries;
	if (q->next != NULL)
		q->next->prev = q;
	r->queries = q;
	if ((urc = ub_resolve_event(r->ub, name, rrtype, VAL_CLASS_IN, q,
	    query_done, &id)) != 0) {
		query_unlink_free(q);
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
	(void)v;
	if (q == NULL)
		return;
	if (q->done)
		query_unlink_free(q);
	else
		q->abandoned = true;
}

/* See protocol/validate_int.h. */
void
val_queries_free(struct val_resolver *r)
{
	while (r->queries != NULL)
		query_unlink_free(r->queries);
}

/*
 * Judge a finished query: 0 and *out (NOERROR or NXDOMAIN), or a "dns"
 * error.
 */
static int
query_check(const char *name, int rrtype, const struct val_query *q,
    struct val_answer **out, struct hsmca_err *err)
{
	const char *t = rrtype_name(rrtype);
	int rcode;

	*out = NULL;
	if (!q->done)
		return hsmca_err_set(err, HSMCA_EIO, "dns",
		    "DNS timeout looking up %s for %s", t, name);
	/* With a trust anchor, libunbound classes each answer secure,
	 * insecure (provably unsigned) or bogus; only bogus is refused,
	 * as RFC 4035 4.3 has validating resolvers do. */
	if (q->sec == 1)
		return hsmca_err_set(err, HSMCA_EIO, "dns",
		    "DNSSEC validation failed looking up %s for %s: %s", t,
		    name, q->why_bogus != NULL ? q->why_bogus : "bogus");
	/* libunbound's rcode, or the answer's when that is 0 (the
	 * message may be read only then). */
	if (q->rcode == 0 && q->ans == NULL)
		return hsmca_err_set(err, HSMCA_EIO, "dns",
		    "DNS problem looking up %s for %s: the answer does not "
		    "parse", t, name);
	rcode = q->rcode != 0 ? q->rcode : q->ans->rcode;
	if (rcode != 0 && rcode != RCODE_NXDOMAIN)
		return hsmca_err_set(err, HSMCA_EIO, "dns",
		    "DNS problem looking up %s for %s: %s", t, name,
		    rcode == RCODE_SERVFAIL ? "SERVFAIL" :
		    rcode == RCODE_REFUSED ? "REFUSED" : "server error");
	/* NXDOMAIN from libunbound comes without a message to read. */
	if (q->ans == NULL) {
		if ((*out = calloc(1, sizeof(**out))) == NULL)
			return hsmca_err_set(err, HSMCA_ENOMEM,
			    "serverInternal", "out of memory");
		(*out)->rcode = RCODE_NXDOMAIN;
		(*out)->nxdomain = true;
	}
	return 0;
}

/* See protocol/validate_int.h. */
int
val_query_finish(struct validator *v, struct val_query *q, const char *name,
    int rrtype, int64_t deadline, struct val_answer **out,
    struct hsmca_err *err)
{
	int rc;

	*out = NULL;
	(void)val_resolver_run(q->r, &q->done, deadline);
	if ((rc = query_check(name, rrtype, q, out, err)) == 0 &&
	    *out == NULL) {
		*out = q->ans;
		q->ans = NULL;
	}
	val_query_drop(v, q);
	return rc;
}

/* See protocol/validate_int.h. */
int
val_dns_query(struct validator *v, const char *name, int rrtype,
    int64_t deadline, struct val_answer **out, struct hsmca_err *err)
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
take_addrs(const struct val_answer *res, int family, struct val_addr *addrs,
    size_t *n)
{
	size_t want = family == AF_INET ? 4 : 16;
	size_t i;

	if (res == NULL || !res->havedata)
		return;
	for (i = 0; i < res->n && *n < VAL_MAX_ADDRS; i++) {
		if (res->len[i] != want)
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
	struct val_answer *r4 = NULL, *r6 = NULL;
	struct val_query *q4 = NULL, *q6 = NULL;
	struct hsmca_err e4, e6;
	int rc, c4, c6;

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
	c4 = val_query_finish(v, q4, name, VAL_RR_A, deadline, &r4, &e4);
	c6 = val_query_finish(v, q6, name, VAL_RR_AAAA, deadline, &r6, &e6);
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
	val_answer_free(r4);
	val_answer_free(r6);
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
	struct val_answer *res = NULL;
	unsigned int mdlen;
	size_t i;
	int rc, n = 0, nt;

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
	for (i = 0; i < res->n; i++) {
		n++;
		if (!txt_join(res->data[i], res->len[i], got, sizeof(got)))
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
	val_answer_free(res);
	return rc;
}
