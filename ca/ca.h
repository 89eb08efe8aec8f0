/*
 * ca/ca.h - the certificate authority: the CA ceremony, profiles and
 * issuance from a CSR, signed inside the token and recorded durably.
 *
 * A struct ca owns its struct hsm (token session, CA keys), its struct
 * store and its CA certificates.  ca_issue() and ca_issue_submit() are
 * safe from several threads at once.
 */
#ifndef HSMCA_CA_H
#define HSMCA_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/config.h"
#include "common/err.h"
#include "hsm/hsm.h"
#include "store/store.h"

struct ca;

/* Seconds since the epoch; the clock is injectable for tests. */
typedef int64_t (*ca_clock_fn)(void *arg);

/* --- ceremony -------------------------------------------------------- */

struct ca_init_params {
	const char *state_dir;		/* created when missing */
	struct hsmca_config *cfg;	/* defaults plus --set values */
	enum hsm_key_type key_type;	/* HSM_KEY_NONE: cfg ca.key_type */
	bool create_token;		/* make a SoftHSM2 token in state_dir */
	ca_clock_fn clock;		/* NULL: real time */
	void *clock_arg;
};

/*
 * The CA ceremony.  When create_token is set: writes
 * STATE/softhsm2.conf and STATE/tokens/, creates a token, writes its
 * random user and SO PINs to STATE/token.pin and STATE/so.pin (0600) and
 * points the config at them.  Then generates the root and issuing keys in
 * the token, self-signs the root, signs the issuing certificate with it,
 * writes both as PEM, writes the documented STATE/hsmca.conf and creates
 * the store.  Refuses (HSMCA_EEXIST) when STATE already holds a CA or the
 * token already holds the keys; nothing is overwritten.
 */
int ca_init(const struct ca_init_params *params, struct hsmca_err *err);

/* --- the open CA ------------------------------------------------------ */

/*
 * Open the CA whose state is in `state_dir`, configured by `cfg` (loaded
 * from STATE/hsmca.conf plus overrides): log in to the token, open the
 * CA keys and certificates and the store, check that each certificate
 * matches its key.  On success *out belongs to the caller (ca_close()).
 */
int ca_open(const char *state_dir, const struct hsmca_config *cfg,
    struct ca **out, struct hsmca_err *err);

void ca_close(struct ca *ca);

/* Replace the clock (tests).  NULL restores real time. */
void ca_set_clock(struct ca *ca, ca_clock_fn clock, void *arg);
int64_t ca_now(const struct ca *ca);

/* Borrowed pointers, valid until ca_close(). */
struct store *ca_store(struct ca *ca);
X509 *ca_root_cert(const struct ca *ca);
X509 *ca_issuing_cert(const struct ca *ca);
struct hsm_key *ca_issuing_key(const struct ca *ca);

/* --- profiles -------------------------------------------------------- */

struct ca_profile {
	char name[STORE_PROFILE_MAX];
	int64_t validity_secs;	/* notAfter - notBefore + 1 */
	int max_names;
	bool wildcard;
	bool ip;
};

/* Look up a profile by name (NULL: the default).  HSMCA_ENOTFOUND. */
int ca_profile_get(const struct ca *ca, const char *name,
    struct ca_profile *out, struct hsmca_err *err);

/*
 * The CA/B Forum maximum subscriber validity in force at `at`, in
 * seconds, counted notBefore through notAfter inclusive: 398 days before
 * 2026-03-15, 200 days from then, 100 days from 2027-03-15, 47 days from
 * 2029-03-15.
 */
int64_t ca_max_validity(int64_t at);

/*
 * Refuse (HSMCA_EPOLICY, "malformed") a profile whose validity exceeds
 * ca_max_validity(at); the detail names the profile and the limit.
 */
int ca_profile_check_validity(const struct ca_profile *profile, int64_t at,
    struct hsmca_err *err);

/* --- issuance -------------------------------------------------------- */

/*
 * Read a CSR in PEM or DER.  On success *der (malloc'd, caller frees)
 * holds its DER.  HSMCA_EINVAL ("badCSR") with a precise detail.
 */
int ca_csr_read(const unsigned char *buf, size_t len, unsigned char **der,
    size_t *der_len, struct hsmca_err *err);

struct ca_issued {
	unsigned char serial[STORE_SERIAL_MAX];
	size_t serial_len;
	int64_t not_before, not_after;
	unsigned char *der;	/* leaf certificate */
	size_t der_len;
	char *chain_pem;	/* leaf then issuing CA, PEM */
};

/*
 * The caller's own writes, made in the transaction that stores the
 * certificate record (after it, with the signed certificate in `is`),
 * so that the record and those writes are committed together or not
 * at all.  Returns 0 or a negative code; a failure, or a put failing
 * in `txn`, stores neither and fails the issuance ("serverInternal").
 * It may run more than once for one issuance (the store reruns a batch
 * after growing its map) and must not call store_write().
 */
typedef int (*ca_issue_write_fn)(struct store_txn *txn,
    const struct ca_issued *is, void *arg);

struct ca_issue_req {
	const unsigned char *csr_der;
	size_t csr_len;
	/*
	 * NULL, or what ca_csr_check() made of csr_der against the same
	 * profile: then the CSR is not parsed and verified again.  Taken
	 * by ca_issue()/ca_issue_submit() whatever they return (the
	 * caller must not free it).
	 */
	struct ca_csr *csr;
	const char *profile;	/* NULL: ca.default_profile */
	uint64_t account_id;	/* 0: none */
	uint64_t lineage_id;	/* 0: none */
	ca_issue_write_fn also;	/* NULL: the record alone */
	void *also_arg;		/* for `also`; must stay valid until the
				   issuance is over (ca_issue_submit: until
				   its callback ran) */
};

/*
 * Issue a certificate for the CSR: verify its signature, apply the key
 * and name policy and the profile, build the certificate with a fresh
 * random serial, lint it against the profile and the CA/B Forum baseline
 * (a failure is HSMCA_ELINT and nothing is signed), sign it in the
 * token, and store the record durably before returning.  Errors carry
 * an ACME problem type: badCSR, badPublicKey, rejectedIdentifier,
 * unsupportedIdentifier, serverInternal.  On success *out belongs to the
 * caller (ca_issued_free()).
 */
int ca_issue(struct ca *ca, const struct ca_issue_req *req,
    struct ca_issued **out, struct hsmca_err *err);

void ca_issued_free(struct ca_issued *issued);

/*
 * Told the outcome of a ca_issue_submit(), on the store's writer
 * thread, once the record's commit is durable (rc 0: `issued` belongs
 * to the callback, free with ca_issued_free()) or has failed (rc
 * negative, `issued` NULL, nothing stored; `err` valid during the call
 * only, type "serverInternal").  Runs in submission order; it holds up
 * the next commit, so it should only hand the result on.  It must not
 * call ca_issue() or ca_close().
 */
typedef void (*ca_issue_done_fn)(int rc, struct ca_issued *issued,
    const struct hsmca_err *err, void *arg);

/*
 * ca_issue() without waiting for the commit: every check, the lint and
 * the token's signature happen in the caller's thread as in ca_issue()
 * and their refusals are returned here (then `done` is never called);
 * on 0 the record is queued and `done` runs exactly once, after the
 * commit carrying it, at the latest during ca_close().  A certificate
 * reaches its requester only through `done`, so only once its record is
 * durable.  `req` and its CSR are not needed after the call; `arg` must
 * stay valid until `done` ran.  The store sets no bound on the writes
 * in flight: callers keep their own window.
 */
int ca_issue_submit(struct ca *ca, const struct ca_issue_req *req,
    ca_issue_done_fn done, void *arg, struct hsmca_err *err);

/* --- CSR checks (no token needed; also the fuzz target's entry) ------ */

/*
 * A parsed, verified CSR and the identifiers it asks for.  The CSR is
 * decoded field by field rather than with d2i_X509_REQ: OpenSSL 3.0
 * looks up its decoders for every SubjectPublicKeyInfo it parses, which
 * costs more than the token's signature.
 */
struct ca_csr {
	X509_NAME *subject;		/* owned */
	STACK_OF(X509_EXTENSION) *exts;	/* owned; requested extensions,
					   NULL when none */
	X509_ALGOR *spki_alg;		/* owned: SubjectPublicKeyInfo */
	ASN1_BIT_STRING *spki_key;	/* owned: its subjectPublicKey */
	EVP_PKEY *pubkey;		/* owned: the same key */
	bool rsa;		/* RSA key (else EC P-256/P-384) */
	char **names;		/* nnames lower-case, deduplicated: the CN
				   first when present, then the SAN entries
				   in CSR order; IP addresses in inet_ntop
				   text form */
	size_t nnames;
	size_t ndns;		/* how many of names are DNS names */
};

/*
 * Parse the DER CSR (exact length), verify its self-signature, apply the
 * key policy (ca_key_check) and the name rules of `profile` (NULL: any
 * profile feature allowed, 100 names).  Errors carry the ACME type:
 * badCSR, badPublicKey, rejectedIdentifier, unsupportedIdentifier.  On
 * success *out belongs to the caller (ca_csr_free()).
 */
int ca_csr_check(const unsigned char *der, size_t len,
    const struct ca_profile *profile, struct ca_csr **out,
    struct hsmca_err *err);

void ca_csr_free(struct ca_csr *csr);

/*
 * The subscriber key policy: RSA 2048..8192 bits with e = 65537, or EC
 * on P-256 or P-384.  *rsa tells which (may be NULL).  HSMCA_EPOLICY
 * ("badPublicKey") naming the rule otherwise.
 */
int ca_key_check(EVP_PKEY *pkey, bool *rsa, struct hsmca_err *err);

/* --- lint ------------------------------------------------------------ */

/* What a to-be-signed subscriber certificate must agree with. */
struct ca_lint_ctx {
	const X509_NAME *issuer_name;		/* issuing CA subject */
	const ASN1_OCTET_STRING *issuer_ski;	/* issuing CA SKI */
	const struct ca_profile *profile;
	const char *const *names;	/* validated names, SAN order */
	size_t nnames;
	int64_t now;			/* signing time */
	const struct ca_csr *csr;	/* NULL, or the checked CSR: the
					   certificate must carry its key
					   byte for byte (saves decoding
					   the certificate's copy) */
};

/*
 * Check the finished, unsigned certificate `x` against RFC 5280, the
 * CA/B Forum baseline requirements and `ctx`.  HSMCA_ELINT naming the
 * first failed rule.  `x` is not modified.
 */
int ca_lint(X509 *x, const struct ca_lint_ctx *ctx, struct hsmca_err *err);

/* --- serials --------------------------------------------------------- */

/*
 * The CRL shard of a serial: the serial (an unsigned big-endian number)
 * modulo `nshards`.  Stable: CRL building uses the same function.
 */
uint32_t ca_crl_shard(const unsigned char *serial, size_t len,
    uint32_t nshards);

/* Serial as lower-case hex (2*len+1 bytes in out). */
void ca_serial_hex(const unsigned char *serial, size_t len, char *out);
/* Parse hex (colons allowed) into serial; HSMCA_EINVAL when malformed. */
int ca_serial_parse(const char *hex, unsigned char *serial, size_t *len,
    struct hsmca_err *err);

#endif
