/*
 * ca/ocsp_int.h - private to the ca/ocsp*.c files (and ca.c, ceremony.c
 * which open and create the signer): the responder's state.
 */
#ifndef HSMCA_CA_OCSP_INT_H
#define HSMCA_CA_OCSP_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <openssl/ocsp.h>

#include "ca/ca_int.h"
#include "ca/ca_ocsp.h"
#include "store/store_ocsp.h"

/* Unknown serials: a direct-mapped cache of signed "unknown" answers,
 * and at most this many new ones signed per second (then tryLater), so
 * a flood of random serials cannot keep the token busy. */
#define OCSP_UNKNOWN_SLOTS 256
#define OCSP_UNKNOWN_PER_SEC 50

struct ocsp_unknown {
	unsigned char serial[STORE_SERIAL_MAX];
	size_t serial_len;		/* 0: empty slot */
	enum ca_ocsp_hash hash;
	int64_t this_update, next_update;
	unsigned char *der;
	size_t der_len;
};

/*
 * The responder.  Written by ca_ocsp_open() / ca_ocsp_init_signer()
 * and read-only afterwards, except the counters (atomic), the unknown
 * cache (under unknown_mu) and signing (under sign_mu, which makes
 * concurrent requests for one stale serial sign it once).
 */
struct ca_ocsp {
	bool enabled;
	int64_t validity;		/* seconds, ocsp.validity_hours */
	int64_t keep_expired;		/* seconds, ocsp.keep_expired_days */
	struct hsm_key *key;		/* NULL: no signer yet */
	X509 *cert;
	int64_t cert_not_after;		/* nextUpdate never passes it */
	const EVP_MD *md;		/* signature digest */
	/* issuerNameHash / issuerKeyHash of the issuing CA per hash. */
	unsigned char name_hash[CA_OCSP_NHASH][32];
	unsigned char key_hash[CA_OCSP_NHASH][32];
	pthread_mutex_t sign_mu;
	pthread_mutex_t unknown_mu;
	struct ocsp_unknown unknown[OCSP_UNKNOWN_SLOTS];
	int64_t unknown_sec;		/* the second unknown_signed counts */
	unsigned unknown_signed;
	atomic_ullong signatures, served_stored, served_unknown;
};

/* ca/ocsp.c: called by ca_open() after the store is open, and by
 * ca_close(). */
int ca_ocsp_open(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmca_err *err);
void ca_ocsp_close(struct ca *ca);

/* The digest of a CertID hash variant. */
const EVP_MD *ocsp_hash_md(enum ca_ocsp_hash hash);

/*
 * ca/ocsp_signer.c: generate the signer key (object of the URI at
 * ocsp.signer_key) of `type` in the token, sign its certificate with
 * the issuing key (valid from `now` for a year or until the issuing
 * certificate ends) and write it as PEM to ocsp.signer_cert under
 * `state_dir`.  HSMCA_EEXIST when the key or the file exists.
 */
int ca_ocsp_signer_make(struct hsm *hsm, const struct hsmca_config *cfg,
    const char *state_dir, struct hsm_key *issuing_key, X509 *issuing,
    int64_t now, struct hsmca_err *err);

/* ca/ocsp_signer.c: certify the open signer key anew from `now` and
 * replace ocsp.signer_cert and the certificate in use. */
int ocsp_signer_renew(struct ca *ca, const struct hsmca_config *cfg,
    int64_t now, struct hsmca_err *err);

/* ca/ocsp_signer.c: open the signer named by the config into `o`; a
 * missing key or certificate file is not an error (no signer). */
int ocsp_signer_open(struct ca *ca, struct ca_ocsp *o,
    const struct hsmca_config *cfg, struct hsmca_err *err);

/*
 * ca/ocsp_sign.c: sign one response for `serial` with CertID hash
 * `hash`: the status of `cert` (NULL: unknown) at `now`.  On success
 * *der (OPENSSL_malloc'd; OPENSSL_free) and the validity are set.
 */
int ocsp_sign(struct ca *ca, const unsigned char *serial, size_t serial_len,
    enum ca_ocsp_hash hash, const struct store_ocsp_cert *cert, int64_t now,
    unsigned char **der, size_t *der_len, int64_t *this_update,
    int64_t *next_update, struct hsmca_err *err);

/*
 * ca/ocsp.c: does stored record `rec` still say what `cert` says, and
 * is it younger than half its validity at `now`?
 */
bool ocsp_rec_fresh(const struct store_ocsp *rec,
    const struct store_ocsp_cert *cert, int64_t now);

/* Responses signed for one serial, not yet stored. */
struct ocsp_signed {
	unsigned char serial[STORE_SERIAL_MAX];
	size_t serial_len;
	int cert_status;		/* 0 good, 1 revoked */
	int64_t not_after;		/* of the certificate */
	bool dropped;			/* not stored: past keep_expired by
					   then (set by ocsp_store()) */
	struct store_ocsp rec;		/* der[] point into der below */
	unsigned char *der[STORE_OCSP_NVAR];	/* OPENSSL_malloc'd */
};

struct ocsp_batch {
	struct ocsp_signed *item;
	size_t n;
};

/*
 * ca/ocsp.c: with sign_mu held, look at one known serial again (another
 * thread may have signed it meanwhile): when its stored record holds
 * the `hash` variant and is fresh, pass that to `emit` (may be NULL)
 * and return 0; otherwise sign the `hash` variant and every variant the
 * record holds into *out and return 1 (free with ocsp_signed_free()).
 * HSMCA_ENOTFOUND when the certificate is not stored.  OCSP_EXPIRED,
 * with `err` saying why, when it expired before ca_ocsp_expired_cutoff()
 * at `now`: nothing is signed for it.
 */
#define OCSP_EXPIRED 2
int ocsp_prepare(struct ca *ca, const unsigned char *serial,
    size_t serial_len, enum ca_ocsp_hash hash, int64_t now,
    ca_ocsp_emit_fn emit, void *arg, int *emit_rc, struct ocsp_signed *out,
    struct hsmca_err *err);
void ocsp_signed_free(struct ocsp_signed *s);

/*
 * ca/ocsp.c: store every record of `b` in one durable commit, except
 * those whose certificate is past ca_ocsp_expired_cutoff() at the CA
 * time of the commit (marked `dropped`): the pruning may have removed
 * its record since it was signed, and must not find it back.
 */
int ocsp_store(struct ca *ca, struct ocsp_batch *b, struct hsmca_err *err);

#endif
