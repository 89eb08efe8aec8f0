/*
 * protocol/nonce.c - single-use, time-bounded ACME nonces (RFC 8555 6.5)
 * in bounded memory.
 *
 * Nonces sit in a fixed pool of `max` slots.  Live ones are linked in
 * issue order (a doubly linked FIFO: the oldest is at the head, so
 * expiry and eviction are O(1)) and chained in a hash table keyed by the
 * nonce bytes (so consume is O(1)); a consumed slot goes back to the free
 * list at once, so only live nonces count against `max`.  The nonces are
 * random, so hashing their first bytes spreads them; a client cannot
 * choose what is stored, only what is looked up.
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
	size_t hnext;		/* next slot in the same hash bucket */
	size_t prev;		/* FIFO neighbours; next also links free slots */
	size_t next;
};

struct nonce_store {
	pthread_mutex_t lock;
	struct slot *pool;
	size_t max;
	size_t head;		/* oldest live slot, or NIL */
	size_t tail;		/* newest live slot, or NIL */
	size_t free;		/* first free slot, or NIL */
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
	if ((st->pool = calloc(max, sizeof(*st->pool))) == NULL ||
	    (st->bucket = malloc(st->nbucket * sizeof(*st->bucket))) == NULL ||
	    pthread_mutex_init(&st->lock, NULL) != 0) {
		free(st->pool);
		free(st->bucket);
		free(st);
		return NULL;
	}
	for (i = 0; i < st->nbucket; i++)
		st->bucket[i] = NIL;
	for (i = 0; i < max; i++)
		st->pool[i].next = i + 1 < max ? i + 1 : NIL;
	st->free = 0;
	st->head = st->tail = NIL;
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
	free(st->pool);
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

/* Take live slot `idx` out of the hash table and the FIFO; free it. */
static void
release(struct nonce_store *st, size_t idx)
{
	struct slot *s = &st->pool[idx];
	size_t *pp = &st->bucket[bucket_of(st, s->id)];

	while (*pp != NIL && *pp != idx)
		pp = &st->pool[*pp].hnext;
	if (*pp == idx)
		*pp = s->hnext;
	if (s->prev != NIL)
		st->pool[s->prev].next = s->next;
	else
		st->head = s->next;
	if (s->next != NIL)
		st->pool[s->next].prev = s->prev;
	else
		st->tail = s->prev;
	s->next = st->free;
	st->free = idx;
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
	/* Drop expired nonces (oldest first), then the oldest if full. */
	while (st->head != NIL && !fresh(st, st->pool[st->head].issued, now))
		release(st, st->head);
	if (st->free == NIL)
		release(st, st->head);
	idx = st->free;
	s = &st->pool[idx];
	st->free = s->next;
	memcpy(s->id, id, sizeof(id));
	s->issued = now;
	b = bucket_of(st, id);
	s->hnext = st->bucket[b];
	st->bucket[b] = idx;
	s->prev = st->tail;
	s->next = NIL;
	if (st->tail != NIL)
		st->pool[st->tail].next = idx;
	else
		st->head = idx;
	st->tail = idx;
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
	    idx = st->pool[idx].hnext)
		if (memcmp(st->pool[idx].id, id, sizeof(id)) == 0)
			break;
	if (idx != NIL) {
		found = true;
		ok = fresh(st, st->pool[idx].issued, now);
		release(st, idx);	/* single use, even when expired */
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
