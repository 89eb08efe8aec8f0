/*
 * ca/ca_ocsp.h - the OCSP responder (RFC 6960, RFC 5019 profile).
 *
 * Responses are signed by a delegated OCSP signer: a key pair in the
 * token ("hsmca-ocsp", ocsp.signer_key) of the issuing key's type, with
 * a certificate (ocsp.signer_cert) signed by the issuing key that
 * carries id-kp-OCSPSigning and id-pkix-ocsp-nocheck.  `hsmca init`
 * makes it; ca_ocsp_init_signer() makes it for a CA created without it.
 *
 * Responses are pre-signed and stored (serial -> response), so serving
 * one costs an LMDB read and no signature.  A stored response is served
 * only while it agrees with the certificate record's current status and
 * is younger than half its validity; otherwise one is signed on demand
 * and stored first, which is how a revocation reaches OCSP at once.
 * ca_ocsp_tick() keeps responses fresh ahead of demand.
 *
 * Choices, each documented in hsmca.1:
 *  - one Request per OCSPRequest (RFC 5019 2.1.1); more is
 *    malformedRequest;
 *  - CertID hash SHA-1 or SHA-256 (another is malformedRequest); the
 *    response echoes it with NULL parameters, as OpenSSL sends them;
 *  - issuerNameHash/issuerKeyHash of another CA: unauthorized;
 *  - a serial that cannot be an RFC 5280 serial (not positive, over 20
 *    octets): malformedRequest;
 *  - a certificate that expired more than ocsp.keep_expired_days ago:
 *    unauthorized (RFC 6960 2.3), unsigned, and nothing is signed or
 *    stored for it any more, so old serials cannot make the token sign;
 *    its stored responses are removed by store_ocsp_prune() (hsmcad
 *    runs it hourly with ca_ocsp_expired_cutoff());
 *  - a serial this CA never issued: "unknown", signed on demand and
 *    cached in memory (not stored); beyond 50 new ones a second the
 *    answer is tryLater, so random serials cannot keep the token busy;
 *  - no nonce (pre-signed); request signatures are ignored;
 *  - revoked with reason unspecified carries no revocationReason (as
 *    the CRL leaves out reasonCode);
 *  - producedAt is the signing host's real time (OpenSSL sets it);
 *    thisUpdate is the CA clock (ca_now()).
 *
 * Thread safety: ca_ocsp_respond() may run on many threads at once and
 * alongside ca_ocsp_tick(); ca_ocsp_init_signer() must run alone.
 */
#ifndef HSMCA_CA_OCSP_H
#define HSMCA_CA_OCSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"

/* Largest DER request the responder reads; a larger one is
 * malformedRequest. */
#define CA_OCSP_REQ_MAX 4096

/* OCSPResponseStatus (RFC 6960 4.2.1). */
enum ca_ocsp_rstatus {
	CA_OCSP_SUCCESSFUL = 0,
	CA_OCSP_MALFORMED = 1,
	CA_OCSP_INTERNAL = 2,
	CA_OCSP_TRY_LATER = 3,
	CA_OCSP_SIG_REQUIRED = 5,
	CA_OCSP_UNAUTHORIZED = 6,
};

/* The CertID hash algorithms answered; an index into stored variants. */
enum ca_ocsp_hash {
	CA_OCSP_SHA1 = 0,
	CA_OCSP_SHA256 = 1,
};
#define CA_OCSP_NHASH 2

/* One decoded request: the single CertID it asks about. */
struct ca_ocsp_req {
	enum ca_ocsp_hash hash;
	unsigned char name_hash[32];	/* issuerNameHash */
	unsigned char key_hash[32];	/* issuerKeyHash */
	size_t hash_len;		/* 20 (SHA-1) or 32 (SHA-256) */
	unsigned char serial[STORE_SERIAL_MAX];	/* DER INTEGER content */
	size_t serial_len;
};

/*
 * Decode a DER OCSPRequest of `len` bytes (at most CA_OCSP_REQ_MAX,
 * consumed exactly) holding one Request.  Returns 0, or HSMCA_EINVAL
 * ("malformed") with the rule that failed: the answer is then
 * malformedRequest.  No token or store needed (the fuzz target's entry).
 */
int ca_ocsp_parse_request(const unsigned char *der, size_t len,
    struct ca_ocsp_req *out, struct hsmca_err *err);

/* What the caller needs to send a response with RFC 5019 caching. */
struct ca_ocsp_answer {
	int rstatus;			/* enum ca_ocsp_rstatus */
	int cert_status;		/* 0 good, 1 revoked, 2 unknown;
					   -1 when rstatus is not 0 */
	int64_t this_update;		/* 0 when rstatus is not 0 */
	int64_t next_update;
	unsigned char serial[STORE_SERIAL_MAX];
	size_t serial_len;		/* 0 when the request did not parse */
	enum ca_ocsp_hash hash;
};

/*
 * Called once by ca_ocsp_respond() with the DER OCSPResponse.  `der` is
 * valid only during the call (it may point into a store snapshot):
 * copy it.  Must not call into the store or the CA.  Its return value
 * is returned by ca_ocsp_respond().
 */
typedef int (*ca_ocsp_emit_fn)(const unsigned char *der, size_t len,
    const struct ca_ocsp_answer *ans, void *arg);

/*
 * Answer one DER request: parse it, check the issuer, find or sign the
 * response for its serial, and pass it to `emit`.  Every request gets a
 * response: a failure becomes an unsigned malformedRequest,
 * unauthorized or internalError response (its cause is in `err`, for
 * logs only; it never holds a secret).  Returns emit's result.
 */
int ca_ocsp_respond(struct ca *ca, const unsigned char *der, size_t len,
    ca_ocsp_emit_fn emit, void *arg, struct hsmca_err *err);

/*
 * The end of the answering period at `now`: a certificate whose notAfter
 * is before it expired more than ocsp.keep_expired_days ago, is
 * answered unauthorized, and its stored responses may be removed
 * (store_ocsp_prune()'s `before`).  INT64_MIN when OCSP is disabled.
 */
int64_t ca_ocsp_expired_cutoff(const struct ca *ca, int64_t now);

/* true when ocsp.enabled was set at ca_open(). */
bool ca_ocsp_enabled(const struct ca *ca);

/* true when the CA has an OCSP signer open. */
bool ca_ocsp_ready(const struct ca *ca);

/*
 * The daemon's periodic job: sign responses for certificates that have
 * none (new issuances), re-sign those whose status changed or that are
 * past half their validity, at most `budget` signatures (one more when
 * the last certificate has both CertID variants stored).  Unexpired
 * certificates only, walked in expiry order.  *signed_n (may be NULL)
 * gets the count.  HSMCA_ENOTFOUND ("ocsp") when OCSP is disabled or
 * has no signer.
 */
int ca_ocsp_tick(struct ca *ca, int64_t now, size_t budget,
    size_t *signed_n, struct hsmca_err *err);

/*
 * Create the delegated signer of a CA that has none: the key pair in
 * the token (object from ocsp.signer_key), its certificate signed by the
 * issuing key, written to ocsp.signer_cert; then open it in `ca`.
 * HSMCA_EEXIST when the key or the certificate file already exists.
 */
int ca_ocsp_init_signer(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmca_err *err);

/*
 * A new certificate for the signer key in use, valid from now for a
 * year or until the issuing certificate ends (the signer certificate's
 * notAfter caps every nextUpdate, so renew it well before it ends).
 * Responses signed before keep the old certificate and are re-signed
 * at half their validity as usual.  HSMCA_ENOTFOUND when there is no
 * signer.
 */
int ca_ocsp_renew_signer(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmca_err *err);

/* Counters since ca_open(), for tests and benchmarks. */
struct ca_ocsp_stats {
	uint64_t signatures;	/* responses signed in the token */
	uint64_t served_stored;	/* answered from a stored response */
	uint64_t served_unknown_cache;	/* unknown, from the memory cache */
};
void ca_ocsp_stats(const struct ca *ca, struct ca_ocsp_stats *out);

#endif
