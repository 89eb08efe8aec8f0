/*
 * tests/protocol/acmeclient.h - a small ACME client for the ACME
 * server's tests: libcurl for HTTP, protocol/jws.h for signing.  It
 * keeps the last Replay-Nonce and fetches one when it has none.
 */
#ifndef HSMCA_TESTS_PROTOCOL_ACMECLIENT_H
#define HSMCA_TESTS_PROTOCOL_ACMECLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

struct ac {
	char base[256];
	char nonce[64];		/* "" when none is held */
};

struct ac_resp {
	long status;
	char *body;		/* NUL-terminated */
	size_t len;
	char *headers;		/* raw header block, NUL-terminated */
	json_t *json;		/* body parsed when it is JSON, else NULL */
};

void ac_init(struct ac *c, const char *base);

/* GET or HEAD `url`; 0 when an HTTP answer arrived. */
int ac_get(struct ac *c, const char *url, bool head, struct ac_resp *r);

/* POST `body` as-is with Content-Type `ctype` (NULL: none). */
int ac_post_raw(struct ac *c, const char *url, const char *ctype,
    const char *body, struct ac_resp *r);

/*
 * Sign `payload` (NULL: POST-as-GET) for `url` with `key`, with `kid`
 * (NULL: embed the jwk) and the held nonce, and POST it.
 */
int ac_post(struct ac *c, EVP_PKEY *key, const char *kid, const char *url,
    const char *payload, struct ac_resp *r);

/* A signed body (caller frees) with the held nonce; consumes it. */
char *ac_sign(struct ac *c, EVP_PKEY *key, const char *kid, const char *url,
    const char *payload);

/* The first value of header `name` (malloc'd), or NULL. */
char *ac_header(const struct ac_resp *r, const char *name);

/* "badNonce" for "urn:ietf:params:acme:error:badNonce"; "" otherwise. */
const char *ac_problem(const struct ac_resp *r);

void ac_resp_free(struct ac_resp *r);

/* base64url of `len` bytes (caller frees). */
char *ac_b64(const unsigned char *p, size_t len);

#endif
