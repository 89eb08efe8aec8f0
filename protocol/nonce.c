/*
 * protocol/nonce.c - single-use, time-bounded ACME nonces (RFC 8555 6.5)
 * in bounded memory.
 *
 * Nonces sit in a FIFO ring in issue order (so the oldest is at the head
 * and eviction is O(1)) and in a chained hash table keyed by the nonce
 * bytes (so consume is O(1)).  A consumed nonce leaves the table at once
 * but keeps its ring slot, marked dead, until the head passes it.  The
 * nonces are random, so hashing their first bytes spreads them; a client
 * cannot choose what is stored, only what is looked up.
 */
#include "protocol/nonce.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "protocol/jws.h"

#define NIL ((size_t)-1)

struct slot {
	unsigned char id[NONCE_BYTES];
	int64_t issued;
	size_t next;		/* next slot in the same hash bucket, or NIL */
	bool live;		/* in the hash table, not yet used */
};

struct nonce_store {
	pthread_mutex_t lock;
	struct slot *ring;
	size_t max;		/* ring size */
	size_t head;		/* oldest slot */
	size_t used;		/* slots from head on, live or dead */
	size_t live;
	size_t *bucket;		/* first slot of each chain, or NIL */
	size_t nbucket;		/* a power of two */
	int64_t lifetime;
};

/* Create a store of at most `max` nonces living `lifetime_secs`. */
struct nonce_store *
nonce_store_new(size_t max, int64_t lifetime_secs)
{
	struct nonce_store *st = NULL;
	size_t i;

	if (max == 0 || max > SIZE_MAX / 4 / sizeof(struct slot) ||
	    lifetime_secs < 1)
		return NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	/* Load factor at most 1/2 keeps chains short. */
	for (st->nbucket = 1; st->nbucket < 2 * max; st->nbucket <<= 1)
		;
	if ((st->ring = calloc(max, sizeof(*st->ring))) == NULL ||
	    (st->bucket = malloc(st->nbucket * sizeof(*st->bucket))) == NULL ||
	    pthread_mutex_init(&st->lock, NULL) != 0) {
		free(st->ring);
		free(st->bucket);
		free(st);
		return NULL;
	}
	for (i = 0; i < st->nbucket; i++)
		st->bucket[i] = NIL;
	st->max = max;
	st->lifetime = lifetime_secs;
	return st;
}

/* Free the store. */
void
nonce_store_free(struct nonce_store *st)
{
	if (st == NULL)
		return;
	pthread_mutex_destroy(&st->lock);
	free(st->ring);
	free(st->bucket);
	free(st);
}

static size_t
bucket_of(const struct nonce_store *st, const unsigned char *id)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return (size_t)h & (st->nbucket - 1);
}

/* Issued at `issued`, is it still valid at `now`?  Overflow-free. */
static bool
fresh(const struct nonce_store *st, int64_t issued, int64_t now)
{
	if (now < issued)
		return true;
	return (uint64_t)now - (uint64_t)issued < (uint64_t)st->lifetime;
}

/* Take live slot `idx` out of its hash chain and mark it dead. */
static void
unlink_slot(struct nonce_store *st, size_t idx)
{
	size_t *pp = &st->bucket[bucket_of(st, st->ring[idx].id)];

	while (*pp != NIL && *pp != idx)
		pp = &st->ring[*pp].next;
	if (*pp == idx)
		*pp = st->ring[idx].next;
	st->ring[idx].live = false;
	st->live--;
}

/* Issue a new nonce. */
int
nonce_issue(struct nonce_store *st, int64_t now, char out[NONCE_LEN + 1])
{
	unsigned char id[NONCE_BYTES];
	struct slot *s;
	size_t idx, b;

	out[0] = '\0';
	if (RAND_bytes(id, sizeof(id)) != 1)
		return HSMCA_EINTERNAL;
	pthread_mutex_lock(&st->lock);
	/* Drop used and expired slots at the head, then the oldest if full. */
	while (st->used > 0) {
		s = &st->ring[st->head];
		if (s->live && fresh(st, s->issued, now) && st->used < st->max)
			break;
		if (s->live)
			unlink_slot(st, st->head);
		st->head = (st->head + 1) % st->max;
		st->used--;
	}
	idx = (st->head + st->used) % st->max;
	s = &st->ring[idx];
	memcpy(s->id, id, sizeof(id));
	s->issued = now;
	s->live = true;
	b = bucket_of(st, id);
	s->next = st->bucket[b];
	st->bucket[b] = idx;
	st->used++;
	st->live++;
	pthread_mutex_unlock(&st->lock);
	b64url_encode_buf(id, sizeof(id), out);
	return 0;
}

/* Accept a nonce once. */
int
nonce_consume(struct nonce_store *st, const char *nonce, int64_t now,
    struct hsmca_err *err)
{
	unsigned char id[NONCE_BYTES];
	size_t len, idx;
	bool found = false, ok = false;

	if (nonce == NULL || strnlen(nonce, NONCE_LEN + 1) != NONCE_LEN ||
	    b64url_decode_buf(nonce, NONCE_LEN, id, sizeof(id), &len,
	    NULL) != 0 || len != NONCE_BYTES)
		return hsmca_err_set(err, HSMCA_EINVAL, "badNonce",
		    "RFC 8555 6.5: nonce was not issued by this server; "
		    "retry with the one in Replay-Nonce");
	pthread_mutex_lock(&st->lock);
	for (idx = st->bucket[bucket_of(st, id)]; idx != NIL;
	    idx = st->ring[idx].next)
		if (memcmp(st->ring[idx].id, id, sizeof(id)) == 0)
			break;
	if (idx != NIL) {
		found = true;
		ok = fresh(st, st->ring[idx].issued, now);
		unlink_slot(st, idx);	/* single use, even when expired */
	}
	pthread_mutex_unlock(&st->lock);
	if (!found)
		return hsmca_err_set(err, HSMCA_EINVAL, "badNonce",
		    "RFC 8555 6.5: nonce unknown or already used; retry "
		    "with the one in Replay-Nonce");
	if (!ok)
		return hsmca_err_set(err, HSMCA_EINVAL, "badNonce",
		    "RFC 8555 6.5: nonce expired; retry with the one in "
		    "Replay-Nonce");
	return 0;
}

/* Live nonces. */
size_t
nonce_store_count(struct nonce_store *st)
{
	size_t n;

	pthread_mutex_lock(&st->lock);
	n = st->live;
	pthread_mutex_unlock(&st->lock);
	return n;
}
