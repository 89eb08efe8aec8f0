/*
 * protocol/nonce.h - the anti-replay nonces of ACME (RFC 8555 6.5).
 *
 * A nonce store hands out random nonces and accepts each one back once,
 * within its lifetime.  Memory is bounded: when `max` nonces are live the
 * oldest is forgotten, and a client that presents it gets badNonce and
 * retries with the fresh nonce sent alongside the error (RFC 8555 6.5).
 * All functions are safe to call from several threads at once.  Time is
 * passed in (`now`, seconds; any clock that does not step backwards), so
 * tests control it.
 */
#ifndef HSMCA_PROTOCOL_NONCE_H
#define HSMCA_PROTOCOL_NONCE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* A nonce is 128 random bits, base64url: 22 characters. */
#define NONCE_BYTES 16
#define NONCE_LEN 22

/* Lifetime when the caller has no opinion, in seconds. */
#define NONCE_DEFAULT_LIFETIME 3600

struct nonce_store;

/*
 * A store that keeps at most `max` (>= 1) unused nonces, each valid for
 * `lifetime_secs` (>= 1) seconds: a nonce issued at time t is accepted at
 * times t .. t + lifetime_secs - 1 and refused from t + lifetime_secs on.
 * Returns NULL for bad arguments or when out of memory.  Free with
 * nonce_store_free().
 */
struct nonce_store *nonce_store_new(size_t max, int64_t lifetime_secs);

/*
 * Issue a fresh nonce at time `now` into `out` (NUL-terminated).  Evicts
 * the oldest nonce when the store is full.  Returns 0, or
 * HSMCA_EINTERNAL when the random generator fails.
 */
int nonce_issue(struct nonce_store *store, int64_t now,
    char out[NONCE_LEN + 1]);

/*
 * Accept `nonce` at time `now` if this store issued it, it has not been
 * used and has not expired; it can never be accepted again.  Returns 0,
 * or HSMCA_EINVAL with type "badNonce".
 */
int nonce_consume(struct nonce_store *store, const char *nonce, int64_t now,
    struct hsmca_err *err);

/* Number of nonces issued and not yet used, expired or evicted. */
size_t nonce_store_count(struct nonce_store *store);

/* Free the store; NULL does nothing. */
void nonce_store_free(struct nonce_store *store);

#endif
