/*
 * protocol/acme_int.h - private to protocol/acme*.c: the ACME server's
 * state, the parsed request every POST handler works on, and the
 * helpers the resource files share.
 */
#ifndef HSMCA_PROTOCOL_ACME_INT_H
#define HSMCA_PROTOCOL_ACME_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "protocol/acme.h"
#include "protocol/jws.h"
#include "protocol/nonce.h"
#include "protocol/validate.h"
#include "store/store_acme.h"

#define ACME_URL_MAX 512
#define ACME_NONCES_MAX 100000
#define ACME_ROUTES 11
#define ACME_TOKEN_BYTES 32
#define ACME_RETRY_AFTER "1"
#define ACME_CHALL_WAIT_MS 100		/* a challenge POST waits this long
					   for a quick validation's result */
#define ACME_DOMAIN_WINDOW (7 * 86400)	/* certs_per_domain_week */
#define ACME_KEYCACHE 1024		/* parsed account keys kept */

/* Account statuses (RFC 8555 7.1.2). */
enum acme_acct_status {
	ACME_ACCT_VALID = 1,
	ACME_ACCT_DEACTIVATED = 2,
	ACME_ACCT_REVOKED = 3,
};

/* Order, authorization and challenge statuses (RFC 8555 7.1.6). */
enum acme_status {
	ACME_ST_PENDING = 1,
	ACME_ST_READY = 2,
	ACME_ST_PROCESSING = 3,
	ACME_ST_VALID = 4,
	ACME_ST_INVALID = 5,
	ACME_ST_DEACTIVATED = 6,
	ACME_ST_EXPIRED = 7,
	ACME_ST_REVOKED = 8,
};

/* Challenge types share enum validate_type's values. */

struct acme_eab_key {
	char *kid;
	unsigned char *key;
	size_t key_len;
};

struct acme_keyslot {
	uint64_t id;
	char thumb[STORE_ACME_THUMB_LEN + 1];
	EVP_PKEY *key;			/* NULL: empty slot */
};

struct acme_job {
	uint64_t authz_id;
	unsigned idx;
	bool early;		/* started before its mark: see acme_job_wait */
	struct acme_job *next;
};

/* A challenge request waiting for its own validation (acme_job_wait). */
struct acme_waiter {
	uint64_t authz_id;
	unsigned idx;
	bool done;			/* a worker finished this challenge */
	pthread_cond_t cv;		/* monotonic clock */
	struct acme_waiter *next;
};

struct acme {
	struct ca *ca;
	struct store *st;
	char base[ACME_URL_MAX];	/* base_url without trailing '/' */
	struct nonce_store *nonces;
	struct validator *validator;
	char *directory;		/* JSON text, built once */
	size_t directory_len;
	struct http_route routes[ACME_ROUTES];
	char *issuing_pem;		/* the issuing CA certificate, PEM */
	size_t issuing_pem_len;
	pthread_mutex_t kc_mu;		/* guards keycache */
	struct acme_keyslot keycache[ACME_KEYCACHE];

	/* configuration, read once */
	char *tos;			/* NULL: none */
	bool eab_required;
	struct acme_eab_key *eab;
	size_t neab;
	int64_t order_lifetime;
	int64_t authz_reuse;
	unsigned nworkers;
	int64_t rl_orders, rl_window, rl_certs_week, rl_pending;

	/* workers, queue and the orders being finalized, under `mu` */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct acme_waiter *waiters;	/* challenge requests waiting */
	struct acme_job *head, *tail;
	bool stopping;
	pthread_t *threads;
	size_t nthreads;
	uint64_t *finalizing;
	size_t nfinalizing, capfinalizing;
};

/* A verified POST: what every resource handler starts from. */
struct acme_post {
	struct jws *jws;
	json_t *payload;		/* NULL for POST-as-GET */
	struct store_acme_account *acct;	/* kid requests; else NULL */
	EVP_PKEY *acct_key;		/* acct's key; else NULL */
};

/* What a POST may be signed with. */
#define ACME_SIG_KID 0x1u
#define ACME_SIG_JWK 0x2u

/*
 * acme_post.c: run the JWS pipeline on `req` (content type, flattened
 * JWS, url, nonce, kid/jwk as `sig` allows, account status, signature,
 * payload JSON).  Returns 0 with *p filled (release with
 * acme_post_clear()), or a negative code with `err` set and *status the
 * HTTP status when it is not the type's default (415), else 0.
 */
int acme_post_parse(struct acme *a, struct http_req *req, unsigned sig,
    struct acme_post *p, int *status, struct hsmca_err *err);
void acme_post_clear(struct acme_post *p);

/*
 * acme_reply.c: reply with the problem for `err`, with `status` when not
 * 0, adding "algorithms" to badSignatureAlgorithm.  Returns the
 * http_reply_* result.
 */
int acme_reply_err(struct http_req *req, int status,
    const struct hsmca_err *err);
/* Reply 200/201 with `json` (stolen) and an optional Location. */
int acme_reply_json(struct http_req *req, int status, const char *location,
    json_t *json);
/* An error document (JSON text, malloc'd) for storing in a record. */
char *acme_problem_text(const struct hsmca_err *err);
/* RFC 3339 UTC time into buf (at least 32 bytes); returns buf. */
char *acme_time(int64_t t, char *buf, size_t len);

/* acme_url.c: URLs and the ids in them. */
void acme_url(const struct acme *a, char *out, size_t len,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Parse a decimal id (no sign, no leading zero); -1 when not one. */
int acme_id_parse(const char *s, size_t len, uint64_t *out);
/* A fresh random non-zero id. */
int acme_id_new(uint64_t *out, struct hsmca_err *err);
/* A fresh challenge token (base64url of ACME_TOKEN_BYTES). */
int acme_token_new(char *out, size_t len, struct hsmca_err *err);

/* acme_status.c: names and the derived statuses. */
const char *acme_status_name(int status);
const char *acme_chall_name(int type);
int acme_authz_status(const struct store_acme_authz *z, int64_t now);
/*
 * Load the order's authorizations (*zs, nauthz entries, each may be NULL
 * when missing) and compute its status.  acme_authzs_free() frees.
 */
int acme_order_status(struct acme *a, const struct store_acme_order *o,
    int64_t now, struct store_acme_authz ***zs, struct hsmca_err *err);
void acme_authzs_free(struct store_acme_authz **zs, size_t n);
/* Whether the order is being finalized right now (in-memory set). */
bool acme_finalizing(struct acme *a, uint64_t order_id);
/* Add to the set; false when it already is there. */
bool acme_finalizing_add(struct acme *a, uint64_t order_id);
void acme_finalizing_del(struct acme *a, uint64_t order_id);

/* acme_json.c: resource representations.  New references or NULL. */
json_t *acme_account_json(struct acme *a,
    const struct store_acme_account *acct);
json_t *acme_order_json(struct acme *a, const struct store_acme_order *o,
    int status, struct store_acme_authz **zs);
json_t *acme_authz_json(struct acme *a, const struct store_acme_authz *z,
    int64_t now);
json_t *acme_chall_json(struct acme *a, const struct store_acme_authz *z,
    size_t idx);

/* acme_ident.c: identifiers of newOrder (RFC 8555 7.1.4, RFC 8738). */
struct acme_ident {
	bool ip;
	bool wildcard;
	char value[256];		/* canonical; DNS keeps "*." */
};
/*
 * Check one identifier object against the name rules and `profile`;
 * fill `out`.  rejectedIdentifier / unsupportedIdentifier / malformed.
 */
int acme_ident_check(const json_t *ident, const struct ca_profile *profile,
    struct acme_ident *out, struct hsmca_err *err);
/* The registered domain (eTLD+1, libpsl) of a DNS name or the IP. */
const char *acme_regdomain(const char *value);
/* "dns:x" / "ip:x" key of the valid-authorization index. */
void acme_ident_key(bool ip, bool wildcard, const char *value, char *out,
    size_t len);

/*
 * acme_contact.c: check a "contact" member (NULL: none) and return it as
 * compact JSON text in *out (caller frees; "[]" when none).
 * unsupportedContact / invalidContact / malformed.
 */
int acme_contacts(const json_t *contact, char **out, struct hsmca_err *err);

/* acme_rate.c: the ratelimit.* checks; rateLimited with *retry_after. */
int acme_rate_orders(struct acme *a, uint64_t account_id, int64_t now,
    int64_t *retry_after, struct hsmca_err *err);
int acme_rate_pending(struct acme *a, uint64_t account_id, size_t adding,
    int64_t now, int64_t *retry_after, struct hsmca_err *err);
int acme_rate_domains(struct acme *a, const struct acme_ident *ids,
    size_t n, int64_t now, int64_t *retry_after, struct hsmca_err *err);

/* acme_eab.c: load the key file; check an externalAccountBinding. */
int acme_eab_load(struct acme *a, const char *path, struct hsmca_err *err);
void acme_eab_free(struct acme *a);
int acme_eab_check(struct acme *a, const json_t *eab, EVP_PKEY *acct_key,
    const char *url, char **kid_out, struct hsmca_err *err);

/* acme_validate.c: the worker pool. */
int acme_workers_start(struct acme *a, struct hsmca_err *err);
void acme_workers_stop(struct acme *a);
void acme_job_push(struct acme *a, uint64_t authz_id, unsigned idx,
    bool early);
/*
 * Queue challenge `idx` of `authz_id` and wait until a worker is done
 * with it (its result durable), at most `ms`, or the workers stop.
 * Only this request is woken by its result.  `early`: the challenge is
 * still pending in the store (not yet marked processing); its result is
 * stored only while nothing else has decided the authorization.
 */
void acme_job_wait(struct acme *a, uint64_t authz_id, unsigned idx,
    bool early, long ms);

/* acme_keycache.c: the parsed key of an account (new reference). */
int acme_account_key(struct acme *a, const struct store_acme_account *acct,
    EVP_PKEY **out, struct hsmca_err *err);
void acme_keycache_free(struct acme *a);

/* Handlers (route args are the struct acme). */
int acme_h_directory(struct http_req *req, void *arg);
int acme_h_nonce(struct http_req *req, void *arg);
int acme_h_new_account(struct http_req *req, void *arg);
int acme_h_account(struct http_req *req, void *arg);
int acme_h_key_change(struct http_req *req, void *arg);
int acme_h_new_order(struct http_req *req, void *arg);
int acme_h_order(struct http_req *req, void *arg);
int acme_h_authz(struct http_req *req, void *arg);
int acme_h_chall(struct http_req *req, void *arg);
int acme_h_cert(struct http_req *req, void *arg);
int acme_h_revoke(struct http_req *req, void *arg);

/* acme_order.c -> acme_finalize.c */
int acme_finalize(struct acme *a, struct http_req *req,
    struct acme_post *p, struct store_acme_order *o);

#endif
