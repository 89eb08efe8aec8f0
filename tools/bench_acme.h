/*
 * tools/bench_acme.h - the parts of `hsmca bench acme`, an RFC 8555 load
 * generator: the in-process http-01 responder (bench_acme_http01.c), the
 * HTTP/JWS transport of one worker (bench_acme_net.c) and the account and
 * order flows (bench_acme_order.c); bench_acme.c parses the options, runs
 * the workers and prints the figures.
 *
 * Errors: 0 or a negative HSMCA_E* code with `err` filled in; type "io"
 * for transport failures, "protocol" for a server answer the generator
 * does not accept (the server's problem type and detail are in the
 * detail text).
 */
#ifndef HSMCA_TOOLS_BENCH_ACME_H
#define HSMCA_TOOLS_BENCH_ACME_H

#include <stdatomic.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "common/err.h"
#include "protocol/jws.h"

/* Bounds the generator keeps to. */
#define BACME_MAX_WORKERS	256
#define BACME_MAX_URL		1024
#define BACME_MAX_NONCE		256
#define BACME_MAX_TOKEN		256
#define BACME_MAX_BODY		(256 * 1024)	/* one response body */
#define BACME_POLL_MS		10	/* poll interval without Retry-After */
#define BACME_POLL_CAP_MS	50	/* Retry-After is honoured up to this */
#define BACME_POLL_LIMIT_S	60	/* give up polling one object */
/* RFC 8555 6.7: the namespace of ACME problem types. */
#define BACME_ERR_PREFIX	"urn:ietf:params:acme:error:"
#define BACME_HTTP_TIMEOUT_S	10	/* one HTTP exchange, on loopback */

/* --- http-01 responder --------------------------------------------- */

struct bacme_http01;

/*
 * Serve GET /.well-known/acme-challenge/<token> on `listen`
 * ("127.0.0.1:5002") from a table of `nslots` slots (one per worker,
 * at most BACME_MAX_WORKERS).  On success *out belongs to the caller
 * (bacme_http01_stop()).
 */
int bacme_http01_start(const char *listen, unsigned nslots,
    struct bacme_http01 **out, struct hsmca_err *err);

/* Publish `keyauth` for `token` in slot `slot` (replacing what was
 * there); the strings are copied.  HSMCA_EINVAL when one is too long. */
int bacme_http01_set(struct bacme_http01 *h, unsigned slot,
    const char *token, const char *keyauth, struct hsmca_err *err);

/* Empty slot `slot`. */
void bacme_http01_clear(struct bacme_http01 *h, unsigned slot);

/* Requests answered with a key authorization, and those answered 404. */
unsigned long bacme_http01_hits(const struct bacme_http01 *h);
unsigned long bacme_http01_misses(const struct bacme_http01 *h);

/* Stop serving and free; NULL does nothing. */
void bacme_http01_stop(struct bacme_http01 *h);

/* --- transport of one worker --------------------------------------- */

/* The directory URLs the flows need. */
struct bacme_dir {
	char new_nonce[BACME_MAX_URL];
	char new_account[BACME_MAX_URL];
	char new_order[BACME_MAX_URL];
};

/* Counters of one worker, read after the workers have been joined. */
struct bacme_counts {
	unsigned long requests;		/* HTTP exchanges */
	unsigned long connects;		/* new connections they needed */
	unsigned long new_nonce;	/* HEAD newNonce (no nonce at hand) */
	unsigned long bad_nonce;	/* badNonce answers retried once */
	unsigned long polls;		/* POST-as-GET of a pending object */
	unsigned long retry_after;	/* answers with Retry-After */
	double poll_wait_s;		/* time slept before polls */
};

/* The last response: status, the headers the flows read, the body. */
struct bacme_resp {
	long status;
	char location[BACME_MAX_URL];
	long retry_after;		/* seconds; -1 when absent */
	char *body;			/* NUL-terminated, `len` bytes */
	size_t len;
	size_t cap;
};

/* One worker's connection (one CURL easy handle, kept alive), its
 * account key and the nonce to use next. */
struct bacme_client {
	void *curl;			/* CURL *, opaque here */
	void *jose_hdr;			/* struct curl_slist * */
	struct bacme_dir dir;
	EVP_PKEY *key;			/* account key, P-256 */
	/* A library context with only the null provider (so the default
	 * one is not loaded into it on first use): certificates parsed in
	 * it keep their key undecoded (see check_cert()). */
	OSSL_LIB_CTX *bare;
	OSSL_PROVIDER *bare_null;
	char kid[BACME_MAX_URL];	/* account URL; "" before newAccount */
	char thumbprint[JWK_THUMBPRINT_LEN + 1];
	char nonce[BACME_MAX_NONCE];	/* "" when none is at hand */
	struct bacme_resp resp;
	struct bacme_counts counts;
};

/*
 * Set up `c`: a CURL handle verifying TLS against `ca_bundle` (a PEM
 * file; verification is never turned off), the directory at
 * `directory` fetched, and a fresh P-256 account key.  `c` must be
 * zeroed; release it with bacme_client_fini() even on failure.
 */
int bacme_client_init(struct bacme_client *c, const char *directory,
    const char *ca_bundle, struct hsmca_err *err);

/* Release what `c` holds; safe on a zeroed or half-set-up client. */
void bacme_client_fini(struct bacme_client *c);

/*
 * POST a JWS over `payload` (NULL: POST-as-GET) to `url`, signed with
 * the account key ("jwk" before newAccount, "kid" after).  Uses the
 * nonce of the previous response, or fetches one from newNonce; keeps
 * the new Replay-Nonce; retries once on badNonce.  Success is a 2xx
 * answer, left in c->resp; anything else is an error whose detail
 * carries the status and the problem document's type and detail.
 */
int bacme_post(struct bacme_client *c, const char *url, const char *payload,
    struct hsmca_err *err);

/*
 * Parse c->resp.body as a JSON object (duplicate members refused).
 * On success *out belongs to the caller (json_decref()).
 */
int bacme_resp_json(const struct bacme_client *c, const char *what,
    json_t **out, struct hsmca_err *err);

/* Sleep before the next poll: Retry-After of the last response, capped
 * at BACME_POLL_CAP_MS; BACME_POLL_MS without one.  Counts the time
 * slept in c->counts. */
void bacme_poll_wait(struct bacme_client *c);

/* --- flows --------------------------------------------------------- */

/* The steps of one order, timed separately to show where time goes. */
enum bacme_step {
	BACME_STEP_NEW_ORDER,	/* POST newOrder */
	BACME_STEP_AUTHZ,	/* POST-as-GET the authorization */
	BACME_STEP_CHALLENGE,	/* publish the token, POST the challenge */
	BACME_STEP_VALIDATION,	/* polling the authorization to valid */
	BACME_STEP_FINALIZE,	/* key, CSR, POST finalize */
	BACME_STEP_ISSUANCE,	/* polling the order to valid */
	BACME_STEP_DOWNLOAD,	/* POST-as-GET and check the certificate */
	BACME_NSTEPS
};

/* Short names of the steps, for the figures. */
extern const char *const bacme_step_names[BACME_NSTEPS];

/* newAccount for c->key with the terms agreed; sets c->kid. */
int bacme_account_new(struct bacme_client *c, struct hsmca_err *err);

/*
 * One complete issuance for the dns name `name`: newOrder, the
 * authorization, http-01 through slot `slot` of `h`, finalize with a
 * fresh P-256 key, polling to valid, and the certificate downloaded and
 * checked (it names `name` and carries the CSR's key).  The seconds each
 * step took go into steps[] (filled only on success).
 */
int bacme_order_run(struct bacme_client *c, struct bacme_http01 *h,
    unsigned slot, const char *name, double steps[BACME_NSTEPS],
    struct hsmca_err *err);

#endif
