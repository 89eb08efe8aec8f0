/*
 * ca/ca_revoke.h - revocation of subscriber certificates and of the
 * issuing CA, and the CRLs that publish it.
 *
 * One revocation core serves every path (CLI, ACME revokeCert, admin
 * API): ca_revoke() checks the reason, refuses a second revocation, and
 * in one durable store commit marks the record revoked, adds it to its
 * CRL shard's revoked list and appends an audit entry.  It returns only
 * after that commit is durable.  Revocation is irreversible.
 */
#ifndef HSMCA_CA_REVOKE_H
#define HSMCA_CA_REVOKE_H

#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"

/* RFC 5280 5.3.1 CRLReason codes. */
enum ca_reason {
	CA_REASON_UNSPECIFIED = 0,
	CA_REASON_KEY_COMPROMISE = 1,
	CA_REASON_CA_COMPROMISE = 2,
	CA_REASON_AFFILIATION_CHANGED = 3,
	CA_REASON_SUPERSEDED = 4,
	CA_REASON_CESSATION_OF_OPERATION = 5,
	CA_REASON_CERTIFICATE_HOLD = 6,
	CA_REASON_REMOVE_FROM_CRL = 8,
	CA_REASON_PRIVILEGE_WITHDRAWN = 9,
	CA_REASON_AA_COMPROMISE = 10,
};

/* Who asks: subscribers (ACME) may give fewer reasons than operators. */
enum ca_revoke_actor {
	CA_ACTOR_SUBSCRIBER = 1,	/* ACME account or certificate key */
	CA_ACTOR_OPERATOR = 2,		/* CLI, admin API */
};

struct ca_revoke_req {
	const unsigned char *serial;
	size_t serial_len;
	int reason;			/* enum ca_reason */
	enum ca_revoke_actor actor;
	const char *who;		/* for the audit log: "cli", "acme
					   account 42", ...; not NULL */
};

/*
 * Revoke one subscriber certificate.  Errors carry an ACME problem type:
 * HSMCA_ENOTFOUND ("malformed", unknown serial), HSMCA_EPOLICY
 * ("badRevocationReason" for a reason the actor may not give,
 * "alreadyRevoked"), HSMCA_EIO ("store").  On success the record,
 * its shard entry and an audit entry are durable; the shard's CRL is
 * due for reissue.  *revoked_at (may be NULL) gets the revocation time.
 */
int ca_revoke(struct ca *ca, const struct ca_revoke_req *req,
    int64_t *revoked_at, struct hsmca_err *err);

/* Parse a reason name ("keyCompromise", "unspecified", ...) or its
 * decimal code.  Returns the code, or -1. */
int ca_reason_parse(const char *s);
/* The RFC 5280 name of a reason code, or NULL. */
const char *ca_reason_name(int reason);

/* --- the issuing CA --------------------------------------------------- */

/*
 * Revoke the issuing CA certificate (operator only): reasons
 * unspecified, keyCompromise, cACompromise, affiliationChanged,
 * superseded, cessationOfOperation, privilegeWithdrawn; anything else
 * is HSMCA_EPOLICY "badRevocationReason"; a second call is
 * HSMCA_EPOLICY "alreadyRevoked".  One durable commit records the
 * revocation (store meta "ca.issuing_revoked"), appends an audit entry
 * and marks the root CRL dirty.  Afterwards ca_check_issuing_active()
 * refuses and the root CRL lists the issuing certificate.
 */
int ca_revoke_issuing(struct ca *ca, int reason, const char *who,
    int64_t *revoked_at, struct hsmca_err *err);

/*
 * 0 while the issuing CA may sign; HSMCA_EPOLICY ("serverInternal",
 * detail naming the revocation) once it was revoked; HSMCA_EIO on a
 * store failure.  Reads the store each call (another process may have
 * revoked it), so issuance should call it just before signing.
 */
int ca_check_issuing_active(struct ca *ca, struct hsmca_err *err);

/*
 * The issuing CA's revocation: 1 and *revoked_at, *reason filled (each
 * may be NULL) when revoked, 0 when not, negative on error.
 */
int ca_issuing_revocation(struct ca *ca, int64_t *revoked_at, int *reason,
    struct hsmca_err *err);

/* --- CRLs ------------------------------------------------------------- */

/*
 * Every subscriber certificate names CRL shard ca_crl_shard(serial) in
 * its CRL distribution point <ca.base_url>/crl/<n>.crl.  Each shard has
 * its own RFC 5280 v2 CRL signed by the issuing key in the token; the
 * root CRL (<ca.base_url>/crl/root.crl, shard CA_CRL_ROOT) is signed by
 * the root key and lists the issuing CA once revoked.
 */
#define CA_CRL_ROOT UINT32_MAX

struct hsmca_config;

/*
 * Take crl.validity_hours, crl.interval_s and crl.revoke_delay_s from
 * `cfg`.  Until called, the CRL functions use the configuration table's
 * defaults.  Call it once after ca_open(), before other threads use the
 * CA.
 */
int ca_crl_configure(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmca_err *err);

/* Number of CRL shards (ca.crl_shards). */
uint32_t ca_crl_nshards(const struct ca *ca);

struct ca_crl_info {
	uint32_t shard;			/* or CA_CRL_ROOT */
	uint64_t number;		/* CRL number */
	int64_t this_update, next_update;
	size_t entries;			/* revoked certificates listed */
};

/*
 * Build and sign a new CRL for `shard` (0..nshards-1 or CA_CRL_ROOT)
 * now (ca_now): entries of every certificate revoked into the shard
 * whose notAfter is not before thisUpdate, CRL number one more than the
 * stored one.  The new DER and its number are stored in one durable
 * commit before this returns, so a number once returned is never
 * reused.  Memory is bounded by one shard's CRL.  On success *der
 * (malloc'd) belongs to the caller; *info (may be NULL) describes it.
 * HSMCA_EINVAL for a shard out of range, HSMCA_EHSM when the token
 * does not sign.
 */
int ca_crl_build(struct ca *ca, uint32_t shard, unsigned char **der,
    size_t *der_len, struct ca_crl_info *info, struct hsmca_err *err);

/*
 * The current stored CRL of `shard`, without signing anything.
 * HSMCA_ENOTFOUND ("notFound") when none was built yet.  On success
 * *der (malloc'd) belongs to the caller.
 */
int ca_crl_get(struct ca *ca, uint32_t shard, unsigned char **der,
    size_t *der_len, struct ca_crl_info *info, struct hsmca_err *err);

/*
 * The daemon's CRL job, to be called every few seconds (at most every
 * crl.revoke_delay_s / 2).  Reissues every shard and the root CRL that
 * has no CRL yet, whose thisUpdate is crl.interval_s old (or half the
 * validity, when that is sooner), or that is dirty and has been for
 * crl.revoke_delay_s / 2; so a revocation is on a CRL within
 * crl.revoke_delay_s of the tick period.  When `publish_dir` is not
 * NULL, each new CRL (and any whose file is missing) is written
 * atomically to publish_dir/crl/<n>.crl or root.crl as DER.  Every
 * shard is tried; the first failure is returned.
 */
int ca_crl_tick(struct ca *ca, int64_t now, const char *publish_dir,
    struct hsmca_err *err);

#endif
