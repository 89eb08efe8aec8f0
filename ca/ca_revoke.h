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

#endif
