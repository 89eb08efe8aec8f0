/*
 * protocol/validate.h - proving control of an identifier: the ACME
 * challenges http-01 (libcurl), dns-01 (libunbound) and tls-alpn-01
 * (OpenSSL, RFC 8737), and the CAA check (RFC 8659 with RFC 8657
 * accounturi and validationmethods).
 *
 * Every function here is synchronous and blocking, bounded by
 * validation.timeout_s; the ACME layer calls them from its own worker
 * threads.  A struct validator is safe to use from several threads at
 * once.  Names are resolved through validation.dns_resolver (host:port)
 * or the system resolver, with DNSSEC validation when
 * validation.trust_anchor is set.
 *
 * The files behind this header (protocol/validate*.c) give each
 * calling thread a libunbound context of its own in event mode, which
 * the thread drives while it waits, so that every lookup has a
 * deadline; its cache is disabled (each attempt sees the zone as it
 * is).  libcurl and OpenSSL never resolve names: they connect to the
 * addresses validate_dns.c found.
 */
#ifndef HSMCA_PROTOCOL_VALIDATE_H
#define HSMCA_PROTOCOL_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"

struct validator;

enum validate_type {
	VALIDATE_HTTP01 = 1,
	VALIDATE_DNS01 = 2,
	VALIDATE_TLSALPN01 = 3,
};

/* One identifier of an order, as ACME names it. */
struct validate_ident {
	bool ip;		/* "ip" (RFC 8738), else "dns" */
	const char *value;	/* lower-case name without "*." / IP text */
	bool wildcard;		/* the order asked for "*.value" */
};

/*
 * Build a validator from cfg (validation.* and acme.caa_identities);
 * `state_dir` resolves relative paths.  On success *out belongs to the
 * caller (validator_free()).
 */
int validator_new(const struct hsmca_config *cfg, const char *state_dir,
    struct validator **out, struct hsmca_err *err);
/* Free `v` with every thread's DNS context (NULL is a no-op); no
 * validate_* call may be running on it. */
void validator_free(struct validator *v);

/*
 * Run one challenge attempt for `ident`.  `token` is the challenge
 * token, `key_authz` the key authorization (token "." JWK thumbprint,
 * RFC 8555 8.1).  Returns 0 when the response is correct; otherwise a
 * negative code with err->type the ACME problem type ("connection",
 * "dns", "tls", "incorrectResponse", "unauthorized",
 * "rejectedIdentifier") and a detail a client's user can act on.
 * Connection failures are retried validation.retries times inside.
 */
int validate_challenge(struct validator *v, enum validate_type type,
    const struct validate_ident *ident, const char *token,
    const char *key_authz, struct hsmca_err *err);

/*
 * Check CAA for `ident` (skipped for IP identifiers): walk from the name
 * up to the first CAA RRset; allow when none exists or when an "issue"
 * ("issuewild" for wildcards) property names one of acme.caa_identities
 * and its accounturi / validationmethods parameters, when present,
 * match `account_uri` and `method` ("http-01", ...).  An unknown
 * property with the critical flag blocks.  Refusal: err->type "caa";
 * lookup failure: "dns".
 */
int validate_caa(struct validator *v, const struct validate_ident *ident,
    const char *account_uri, const char *method, struct hsmca_err *err);

#endif
