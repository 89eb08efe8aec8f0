/*
 * tools/bench_acme_http01.c - the http-01 responder of `hsmca bench
 * acme`: GET /.well-known/acme-challenge/<token> answered from a table
 * with one slot per worker (a worker has one challenge pending at a
 * time), on the project's own HTTP server.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http.h"
#include "tools/bench_acme.h"

#define CHALLENGE_PREFIX "/.well-known/acme-challenge/"
/* token "." thumbprint */
#define MAX_KEYAUTH (BACME_MAX_TOKEN + 1 + JWK_THUMBPRINT_LEN)

struct slot {
	char token[BACME_MAX_TOKEN];	/* "" when empty */
	char keyauth[MAX_KEYAUTH + 1];
	size_t keyauth_len;
};

struct bacme_http01 {
	struct http_server *srv;
	struct http_route route;	/* borrowed by srv */
	pthread_rwlock_t lock;		/* guards slots */
	struct slot *slots;
	unsigned nslots;
	atomic_ulong hits;
	atomic_ulong misses;
};

/* GET of a challenge token: the key authorization, or 404. */
static int
serve_token(struct http_req *req, void *arg)
{
	struct bacme_http01 *h = arg;
	const char *token = http_req_subpath(req);
	char body[MAX_KEYAUTH + 1];
	size_t len = 0;

	/* Copy under the lock and reply outside it: a slow client must not
	 * hold up the workers publishing their next token. */
	pthread_rwlock_rdlock(&h->lock);
	for (unsigned i = 0; i < h->nslots; i++) {
		if (h->slots[i].token[0] != '\0' &&
		    strcmp(h->slots[i].token, token) == 0) {
			len = h->slots[i].keyauth_len;
			memcpy(body, h->slots[i].keyauth, len);
			break;
		}
	}
	pthread_rwlock_unlock(&h->lock);
	if (len == 0) {
		struct hsmca_err e = { 0 };

		atomic_fetch_add(&h->misses, 1);
		hsmca_err_set(&e, HSMCA_ENOTFOUND, "notFound",
		    "no such challenge token");
		return http_reply_problem(req, &e);
	}
	atomic_fetch_add(&h->hits, 1);
	/* RFC 8555 8.3: the body is the key authorization, nothing else. */
	return http_reply(req, 200, "application/octet-stream", body, len);
}

/* Start the responder on `listen`. */
int
bacme_http01_start(const char *listen, unsigned nslots,
    struct bacme_http01 **out, struct hsmca_err *err)
{
	struct http_server_params p = { 0 };
	struct bacme_http01 *h = NULL;
	int rc = HSMCA_ENOMEM;

	*out = NULL;
	if (nslots == 0 || nslots > BACME_MAX_WORKERS)
		return hsmca_err_set(err, HSMCA_EINVAL, "usage",
		    "http-01 responder: %u slots, want 1..%d", nslots,
		    BACME_MAX_WORKERS);
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->slots = calloc(nslots, sizeof(*h->slots))) == NULL) {
		if (h != NULL)
			free(h);
		return hsmca_err_set(err, rc, "io", "out of memory");
	}
	h->nslots = nslots;
	pthread_rwlock_init(&h->lock, NULL);
	atomic_init(&h->hits, 0);
	atomic_init(&h->misses, 0);
	h->route = (struct http_route){ HTTP_GET, CHALLENGE_PREFIX,
	    serve_token, h };
	p.listen = listen;
	p.routes = &h->route;
	p.nroutes = 1;
	/* Validation connections are short; don't let a stray one linger. */
	p.timeout_s = 5;
	p.drain_ms = 1000;
	if ((rc = http_server_start(&p, &h->srv, err)) != 0)
		goto out;
	*out = h;
	h = NULL;
	rc = 0;
out:
	if (h != NULL) {
		pthread_rwlock_destroy(&h->lock);
		free(h->slots);
		free(h);
	}
	return rc;
}

/* Publish a key authorization in a slot. */
int
bacme_http01_set(struct bacme_http01 *h, unsigned slot, const char *token,
    const char *keyauth, struct hsmca_err *err)
{
	size_t tlen = strlen(token), klen = strlen(keyauth);

	if (slot >= h->nslots)
		return hsmca_err_set(err, HSMCA_EINVAL, "usage",
		    "http-01 slot %u out of range", slot);
	if (tlen == 0 || tlen >= BACME_MAX_TOKEN || klen == 0 ||
	    klen > MAX_KEYAUTH)
		return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "challenge token of %zu bytes (want 1..%d)", tlen,
		    BACME_MAX_TOKEN - 1);
	pthread_rwlock_wrlock(&h->lock);
	memcpy(h->slots[slot].token, token, tlen + 1);
	memcpy(h->slots[slot].keyauth, keyauth, klen + 1);
	h->slots[slot].keyauth_len = klen;
	pthread_rwlock_unlock(&h->lock);
	return 0;
}

/* Empty a slot. */
void
bacme_http01_clear(struct bacme_http01 *h, unsigned slot)
{
	if (slot >= h->nslots)
		return;
	pthread_rwlock_wrlock(&h->lock);
	h->slots[slot].token[0] = '\0';
	h->slots[slot].keyauth_len = 0;
	pthread_rwlock_unlock(&h->lock);
}

/* Requests answered with a key authorization. */
unsigned long
bacme_http01_hits(const struct bacme_http01 *h)
{
	return atomic_load(&((struct bacme_http01 *)h)->hits);
}

/* Requests answered 404. */
unsigned long
bacme_http01_misses(const struct bacme_http01 *h)
{
	return atomic_load(&((struct bacme_http01 *)h)->misses);
}

/* Stop the server and free the table. */
void
bacme_http01_stop(struct bacme_http01 *h)
{
	if (h == NULL)
		return;
	http_server_stop(h->srv);
	pthread_rwlock_destroy(&h->lock);
	free(h->slots);
	free(h);
}
