/*
 * protocol/validate_int.h - internals shared by the validate*.c files,
 * their tests and the CAA fuzz target.  Nothing else includes this.
 *
 * Files: validate.c (the validator, retries), validate_resolver.c (a
 * libunbound context per thread), validate_dns.c (queries and their
 * answers, A/AAAA, dns-01), validate_http.c (http-01),
 * validate_tls.c (sockets with deadlines, tls-alpn-01), validate_caa.c
 * (CAA lookup and policy), validate_caa_parse.c (CAA RDATA and value
 * grammar: untrusted input).
 */
#ifndef HSMCA_PROTOCOL_VALIDATE_INT_H
#define HSMCA_PROTOCOL_VALIDATE_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "protocol/validate.h"

/* Limits. */
#define VAL_MAX_ADDRS		8	/* addresses tried per name */
#define VAL_MAX_REDIRECTS	10	/* http-01 redirects followed */
#define VAL_MAX_BODY		(64 * 1024)	/* http-01 body bytes read */
#define VAL_MAX_NAME		256	/* presentation-format name + NUL */
#define VAL_CAA_MAX_TAG		15	/* RFC 8659 4.1 */

/* DNS types and the one class we ask for. */
#define VAL_RR_A	1
#define VAL_RR_TXT	16
#define VAL_RR_AAAA	28
#define VAL_RR_CAA	257
#define VAL_CLASS_IN	1

struct event;
struct event_base;
struct ub_ctx;
struct val_query;

struct validator {
	/*
	 * A libunbound context per thread that asks (validate_resolver.c),
	 * each on its own libevent base and run by that thread while it
	 * waits for an answer: no resolver thread, no pipes, no hand-over
	 * between threads.  With libunbound's cache capped at 0 s nothing
	 * would be gained by sharing one.  `resolvers` lists them (under
	 * `lock`) for validator_free(); `res_key` finds the calling
	 * thread's.  The settings they are made with follow.
	 */
	pthread_key_t res_key;
	bool res_key_made;
	struct val_resolver *resolvers;
	pthread_mutex_t lock;
	char fwd[80];			/* libunbound's "addr@port"; "":
					   /etc/resolv.conf */
	char *ta_path;			/* trust anchor file; NULL: none */

	SSL_CTX *tls;			/* tls-alpn-01 client, shared */
	bool curl_init;			/* curl_global_init() done */

	uint16_t http01_port;
	uint16_t tlsalpn01_port;
	int64_t timeout_ms;
	int retries;
	char **caa_ids;			/* acme.caa_identities, lower case */
	size_t ncaa_ids;
	struct val_net *deny;		/* validation.deny_addresses */
	size_t ndeny;
};

/* An address to connect to. */
struct val_addr {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char bytes[16];	/* 4 or 16 used */
};

/* --- validate_addr.c ------------------------------------------------ */

/* A network: the address and how many leading bits count. */
struct val_net {
	struct val_addr addr;
	unsigned prefix;
};

/*
 * Parse validation.deny_addresses: comma-separated ADDRESS/PREFIX items
 * (blank: none).  *out (free()) and *n on success; HSMCA_EINVAL
 * ("config") naming the first bad item.
 */
int val_deny_parse(const char *list, struct val_net **out, size_t *n,
    struct hsmca_err *err);

/* Whether `a` is in one of v's denied networks. */
bool val_addr_denied(const struct validator *v, const struct val_addr *a);

/*
 * Drop the denied addresses from addrs[0..*n-1] (order kept).  When
 * none is left: HSMCA_EPOLICY, "connection", naming `name` and the
 * first denied address.
 */
int val_addrs_allowed(const struct validator *v, const char *name,
    struct val_addr *addrs, size_t *n, struct hsmca_err *err);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t val_now_ms(void);

/* A DNS name fit for a query and a URL (see validate.c). */
bool val_name_ok(const char *name);

/* --- validate_resolver.c -------------------------------------------- */

/*
 * One thread's libunbound context.  Owned by its validator (freed by
 * val_resolvers_free()); only the thread it was made for uses it.
 */
struct val_resolver {
	struct event_base *base;
	struct ub_ctx *ub;
	struct event *tick;		/* bounds one wait */
	struct val_query *queries;	/* in flight (validate_dns.c) */
	struct val_resolver *next;	/* the validator's list */
};

/* The calling thread's resolver, made on its first use. */
int val_resolver_get(struct validator *v, struct val_resolver **out,
    struct hsmca_err *err);

/*
 * Run r's event loop on the calling thread until `*done` is true or
 * `deadline` (val_now_ms() time) passes; true when *done.
 */
bool val_resolver_run(struct val_resolver *r, const bool *done,
    int64_t deadline);

/*
 * Free every resolver of `v`, with the queries still in flight (see
 * validate_dns.c).  No thread may be using them.
 */
void val_resolvers_free(struct validator *v);

/* --- validate_dns.c ------------------------------------------------- */

/*
 * One answer: the DNS rcode, and the RDATA (wire form) of the records
 * of the asked type in the answer section.
 */
struct val_answer {
	int rcode;			/* 0 NOERROR, 3 NXDOMAIN, ... */
	bool nxdomain;
	bool havedata;			/* n > 0 */
	size_t n;
	unsigned char **data;
	size_t *len;
};

void val_answer_free(struct val_answer *a);

/*
 * The records of type `rrtype` (class IN) in the answer section of the
 * DNS message `packet` (untrusted: it comes off the wire), taken apart
 * by ldns; their RDATA copied.  NULL when it does not parse (or out of
 * memory).
 */
struct val_answer *val_answer_parse(const void *packet, size_t len,
    int rrtype);

/*
 * Ask for (name, rrtype) and wait until `deadline` (val_now_ms() time).
 * On success *out is the answer (NOERROR with or without data, or
 * NXDOMAIN: look at havedata / nxdomain), which the caller frees with
 * val_answer_free().  SERVFAIL and other rcodes, a bogus DNSSEC answer,
 * an answer that does not parse and the deadline are errors of type
 * "dns".
 */
int val_dns_query(struct validator *v, const char *name, int rrtype,
    int64_t deadline, struct val_answer **out, struct hsmca_err *err);

/*
 * The same in two steps, for several questions in flight at once:
 * val_query_start() sends one; val_query_finish() waits for it until
 * `deadline` and judges the answer as val_dns_query() does;
 * val_query_drop() gives up on one whose answer is no longer wanted.
 * finish and drop each consume `q` (the caller's reference); a query
 * started must meet exactly one of them, on the thread that started
 * it.
 */
int val_query_start(struct validator *v, const char *name, int rrtype,
    struct val_query **q, struct hsmca_err *err);
int val_query_finish(struct validator *v, struct val_query *q,
    const char *name, int rrtype, int64_t deadline,
    struct val_answer **out, struct hsmca_err *err);
void val_query_drop(struct validator *v, struct val_query *q);

/*
 * For val_resolvers_free(): free the queries of `r` still in flight
 * (their answers never came or were not wanted).
 */
void val_queries_free(struct val_resolver *r);

/*
 * The A and AAAA addresses of `name` (both asked at once): up to
 * VAL_MAX_ADDRS into `addrs`, IPv6 first, *n set.  No address at all is
 * a "dns" error.
 */
int val_dns_addrs(struct validator *v, const char *name, int64_t deadline,
    struct val_addr *addrs, size_t *n, struct hsmca_err *err);

/* dns-01: a TXT value at _acme-challenge.<name> equal to the digest. */
int val_dns01(struct validator *v, const struct validate_ident *ident,
    const char *key_authz, int64_t deadline, struct hsmca_err *err);

/* Parse an IP identifier's text into `a`; 0 or HSMCA_EINVAL. */
int val_ip_parse(const char *text, struct val_addr *a);

/* The address as text ("127.0.0.1", "::1") into buf (>= 46 bytes). */
void val_addr_str(const struct val_addr *a, char *buf, size_t len);

/* --- validate_http.c ------------------------------------------------ */

int val_http01(struct validator *v, const struct validate_ident *ident,
    const char *token, const char *key_authz, int64_t deadline,
    struct hsmca_err *err);

/* --- validate_tls.c ------------------------------------------------- */

/*
 * Connect TCP to one of `addrs` on `port` before `deadline`; returns a
 * connected non-blocking socket, or a negative code with type
 * "connection" (refused, unreachable, timed out).
 */
int val_connect(const struct val_addr *addrs, size_t naddrs, uint16_t port,
    int64_t deadline, const char *what, struct hsmca_err *err);

/* RFC 8738 6: the reverse-DNS name of `a` ("1.0.0.127.in-addr.arpa",
 * nibbles then "ip6.arpa"), sent as SNI; `len` >= 74. */
void val_reverse_name(const struct val_addr *a, char *out, size_t len);

int val_tlsalpn01(struct validator *v, const struct validate_ident *ident,
    const char *key_authz, int64_t deadline, struct hsmca_err *err);

/* --- validate_caa_parse.c (untrusted input) ------------------------- */

#define VAL_CAA_CRITICAL	0x80

/* One CAA resource record (RFC 8659 4.1); pointers into the RDATA. */
struct val_caa_rr {
	uint8_t flags;
	char tag[VAL_CAA_MAX_TAG + 1];	/* as sent, NUL-terminated */
	const unsigned char *value;
	size_t value_len;
};

/*
 * Split one CAA RDATA of `len` bytes: flags, tag length (1..15), tag of
 * letters and digits, value (the rest).  0 or HSMCA_EINVAL with type
 * "caa" and a detail naming the defect.
 */
int val_caa_rdata_parse(const unsigned char *rd, size_t len,
    struct val_caa_rr *out, struct hsmca_err *err);

/* What a caller asks of an issue / issuewild property. */
struct val_caa_want {
	const char *const *ids;		/* issuer domain names, lower case */
	size_t nids;
	const char *account_uri;	/* NULL: no account to match */
	const char *method;		/* NULL: no method to match */
};

/*
 * Does the issue/issuewild value (RFC 8659 4.2, RFC 8657) authorize
 * `want`?  Returns true only for a well-formed value whose issuer domain
 * name is one of want->ids (case-insensitive) and whose accounturi and
 * validationmethods parameters, when present (once each), match.  An
 * empty issuer ("issue ;") and a malformed value authorize nobody.
 * `why` (may be NULL, `whylen` bytes) gets a short reason when false.
 */
bool val_caa_value_allows(const unsigned char *value, size_t len,
    const struct val_caa_want *want, char *why, size_t whylen);

/*
 * The decision over one CAA RRset of `n` RDATA items: 0 when issuance is
 * allowed, else HSMCA_EPOLICY with type "caa" and a detail naming the
 * record (`owner` is the name the RRset was found at).
 */
int val_caa_decide(const unsigned char *const *rdata, const size_t *rdlen,
    size_t n, bool wildcard, const struct val_caa_want *want,
    const char *owner, struct hsmca_err *err);

/* Copy `len` bytes of `in` as printable ASCII ('?' for the rest),
 * at most `max` of them, with "..." when cut, into buf of `buflen`. */
void val_sanitize(const unsigned char *in, size_t len, size_t max,
    char *buf, size_t buflen);

#endif
