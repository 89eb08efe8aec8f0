/*
 * ca/revoke.c - the revocation core: one subscriber certificate
 * (ca_revoke, every path: CLI, ACME, admin API) or the issuing CA
 * (ca_revoke_issuing), each in one durable commit with its audit entry.
 *
 * LIFECYCLE.md "Revoke" 4 and 5 (a generation's first version revokes
 * its reissues; a reissue alone only for keyCompromise; no revocation
 * while a renewal is pending) need lineages, which the store does not
 * hold yet: records carry lineage_id 0 and nothing cascades.
 * XXX cascade through the lineage once lineages exist.
 */
#include "ca/ca_int.h"
#include "ca/ca_revoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "store/store_revoke.h"

#define META_ISSUING_REVOKED "ca.issuing_revoked"

static const char *const reason_names[] = {
	[CA_REASON_UNSPECIFIED] = "unspecified",
	[CA_REASON_KEY_COMPROMISE] = "keyCompromise",
	[CA_REASON_CA_COMPROMISE] = "cACompromise",
	[CA_REASON_AFFILIATION_CHANGED] = "affiliationChanged",
	[CA_REASON_SUPERSEDED] = "superseded",
	[CA_REASON_CESSATION_OF_OPERATION] = "cessationOfOperation",
	[CA_REASON_CERTIFICATE_HOLD] = "certificateHold",
	[7] = NULL,		/* RFC 5280 5.3.1: value 7 is not used */
	[CA_REASON_REMOVE_FROM_CRL] = "removeFromCRL",
	[CA_REASON_PRIVILEGE_WITHDRAWN] = "privilegeWithdrawn",
	[CA_REASON_AA_COMPROMISE] = "aACompromise",
};

#define NREASONS (sizeof(reason_names) / sizeof(reason_names[0]))

/* The RFC 5280 name of a code, or NULL.  See ca_revoke.h. */
const char *
ca_reason_name(int reason)
{
	if (reason < 0 || (size_t)reason >= NREASONS)
		return NULL;
	return reason_names[reason];
}

/* A reason by name (case-insensitive) or decimal code.  See ca_revoke.h. */
int
ca_reason_parse(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	if (*s >= '0' && *s <= '9') {
		v = strtol(s, &end, 10);
		if (*end != '\0' || v > 10 || ca_reason_name((int)v) == NULL)
			return -1;
		return (int)v;
	}
	for (size_t i = 0; i < NREASONS; i++)
		if (reason_names[i] != NULL &&
		    strcasecmp(s, reason_names[i]) == 0)
			return (int)i;
	return -1;
}

/*
 * LIFECYCLE.md Revoke 3: unspecified, keyCompromise, affiliationChanged,
 * superseded, cessationOfOperation; privilegeWithdrawn by operators
 * only.
 */
static bool
reason_allowed(int reason, enum ca_revoke_actor actor)
{
	switch (reason) {
	case CA_REASON_UNSPECIFIED:
	case CA_REASON_KEY_COMPROMISE:
	case CA_REASON_AFFILIATION_CHANGED:
	case CA_REASON_SUPERSEDED:
	case CA_REASON_CESSATION_OF_OPERATION:
		return true;
	case CA_REASON_PRIVILEGE_WITHDRAWN:
		return actor == CA_ACTOR_OPERATOR;
	default:
		return false;
	}
}

static int
bad_reason(struct hsmca_err *err, int reason, const char *allowed)
{
	const char *name = ca_reason_name(reason);

	if (name != NULL)
		return hsmca_err_set(err, HSMCA_EPOLICY, "badRevocationReason",
		    "LIFECYCLE.md Revoke 3: reason %s (%d) is not allowed here;"
		    " use one of %s", name, reason, allowed);
	return hsmca_err_set(err, HSMCA_EPOLICY, "badRevocationReason",
	    "RFC 5280 5.3.1: %d is not a CRLReason code; use one of %s",
	    reason, allowed);
}

/* The audit record as compact JSON (malloc'd), or NULL on ENOMEM. */
static char *
audit_json(int64_t now, const char *action, const char *serial_hex,
    int reason, const char *actor, const char *who)
{
	json_t *o;
	char *s;

	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "time",
	    (json_int_t)now, "action", action, "serial", serial_hex,
	    "reason", ca_reason_name(reason), "actor", actor, "who",
	    who != NULL ? who : "");
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

struct revoke_arg {
	const struct ca_revoke_req *req;
	int64_t now;
	const char *audit;
	char hex[2 * STORE_SERIAL_MAX + 1];
	struct hsmca_err detail;	/* the refusal, for the caller */
};

/*
 * The write function: refuse an unknown or revoked serial, else mark
 * the record revoked, list it on its shard, mark the shard's CRL
 * dirty and append the audit entry, all in this nested transaction.
 */
static int
revoke_fn(struct store_txn *txn, void *argp)
{
	struct revoke_arg *a = argp;
	struct store_cert *c = NULL;
	struct store_revoked e;
	int rc;

	hsmca_err_clear(&a->detail);
	rc = store_txn_cert_get(txn, a->req->serial, a->req->serial_len, &c);
	if (rc == HSMCA_ENOTFOUND || rc == HSMCA_EINVAL) {
		rc = hsmca_err_set(&a->detail, HSMCA_ENOTFOUND, "malformed",
		    "no certificate with serial %s was issued by this CA",
		    a->hex);
		goto out;
	}
	if (rc != 0) {
		rc = hsmca_err_set(&a->detail, HSMCA_EIO, "store",
		    "certificate %s: stored record unreadable", a->hex);
		goto out;
	}
	if (c->status == STORE_CERT_REVOKED) {
		rc = hsmca_err_set(&a->detail, HSMCA_EPOLICY, "alreadyRevoked",
		    "LIFECYCLE.md Revoke 2: certificate %s was already revoked "
		    "(reason %s); revocation is irreversible", a->hex,
		    ca_reason_name(c->revoke_reason) ?
		    ca_reason_name(c->revoke_reason) : "unknown");
		goto out;
	}
	c->status = STORE_CERT_REVOKED;
	c->revoked_at = a->now;
	c->revoke_reason = a->req->reason;
	memset(&e, 0, sizeof(e));
	memcpy(e.serial, c->serial, c->serial_len);
	e.serial_len = c->serial_len;
	e.revoked_at = a->now;
	e.reason = a->req->reason;
	e.not_after = c->not_after;
	store_cert_update(txn, c);
	store_revoked_put(txn, c->crl_shard, &e);
	store_crl_mark_dirty(txn, c->crl_shard, a->now);
	store_audit_append(txn, a->audit, strlen(a->audit), NULL);
	rc = store_txn_error(txn);
out:
	store_cert_free(c);
	return rc;
}

/* Revoke one subscriber certificate.  See ca_revoke.h. */
int
ca_revoke(struct ca *ca, const struct ca_revoke_req *req,
    int64_t *revoked_at, struct hsmca_err *err)
{
	struct revoke_arg a;
	struct hsmca_err e = { 0 };
	char *audit = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	if (req == NULL || req->serial == NULL || req->serial_len == 0 ||
	    req->serial_len > STORE_SERIAL_MAX)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 5280 4.1.2.2: a serial is 1 to 20 octets");
	if (req->actor != CA_ACTOR_SUBSCRIBER && req->actor != CA_ACTOR_OPERATOR)
		return hsmca_err_set(err, HSMCA_EINVAL, "serverInternal",
		    "revocation without a known actor");
	if (!reason_allowed(req->reason, req->actor))
		return bad_reason(err, req->reason, req->actor ==
		    CA_ACTOR_OPERATOR ? "unspecified, keyCompromise, "
		    "affiliationChanged, superseded, cessationOfOperation, "
		    "privilegeWithdrawn" : "unspecified, keyCompromise, "
		    "affiliationChanged, superseded, cessationOfOperation");
	ca_serial_hex(req->serial, req->serial_len, a.hex);
	a.req = req;
	a.now = ca_now(ca);
	if ((audit = audit_json(a.now, "revoke", a.hex, req->reason,
	    req->actor == CA_ACTOR_OPERATOR ? "operator" : "subscriber",
	    req->who)) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	a.audit = audit;
	rc = store_write(ca->store, revoke_fn, &a, &e);
	/* A refusal from the write function is more precise than the
	 * store's generic "write function failed". */
	if (rc != 0 && a.detail.code != 0)
		hsmca_err_set(err, a.detail.code, a.detail.type, "%s",
		    a.detail.detail);
	else if (rc != 0)
		hsmca_err_set(err, e.code, e.type, "%s", e.detail);
	else if (revoked_at != NULL)
		*revoked_at = a.now;
	free(audit);
	return rc;
}

/* --- the issuing CA --------------------------------------------------- */

/* Stored as revoked_at (8 octets BE) || reason (1 octet). */
#define ISSUING_REC_LEN 9

/* The issuing CA's revocation.  See ca_revoke.h. */
int
ca_issuing_revocation(struct ca *ca, int64_t *revoked_at, int *reason,
    struct hsmca_err *err)
{
	unsigned char *p = NULL;
	size_t len = 0;
	uint64_t t = 0;
	int rc;

	rc = store_meta_get(ca->store, META_ISSUING_REVOKED, (void **)&p, &len);
	if (rc == HSMCA_ENOTFOUND)
		return 0;
	if (rc != 0)
		return hsmca_err_set(err, rc, "store", "cannot read the issuing "
		    "CA's revocation state (%s)", hsmca_code_name(rc));
	if (len != ISSUING_REC_LEN) {
		free(p);
		return hsmca_err_set(err, HSMCA_EIO, "store", "meta %s is %zu "
		    "bytes, not %d; the store is damaged", META_ISSUING_REVOKED,
		    len, ISSUING_REC_LEN);
	}
	for (int i = 0; i < 8; i++)
		t = t << 8 | p[i];
	if (revoked_at != NULL)
		*revoked_at = (int64_t)t;
	if (reason != NULL)
		*reason = p[8];
	free(p);
	return 1;
}

/* 0 while the issuing CA may sign.  See ca_revoke.h. */
int
ca_check_issuing_active(struct ca *ca, struct hsmca_err *err)
{
	int64_t at = 0;
	int reason = 0, rc;

	if ((rc = ca_issuing_revocation(ca, &at, &reason, err)) <= 0)
		return rc;
	return hsmca_err_set(err, HSMCA_EPOLICY, "serverInternal",
	    "the issuing CA was revoked at %lld (reason %s); it signs no "
	    "more certificates", (long long)at, ca_reason_name(reason) ?
	    ca_reason_name(reason) : "unknown");
}

struct issuing_arg {
	int64_t now;
	int reason;
	const char *audit;
	struct hsmca_err detail;
};

static int
revoke_issuing_fn(struct store_txn *txn, void *argp)
{
	struct issuing_arg *a = argp;
	unsigned char rec[ISSUING_REC_LEN];
	uint64_t t = (uint64_t)a->now;

	hsmca_err_clear(&a->detail);
	for (int i = 7; i >= 0; i--) {
		rec[i] = (unsigned char)(t & 0xff);
		t >>= 8;
	}
	rec[8] = (unsigned char)a->reason;
	store_meta_put(txn, META_ISSUING_REVOKED, rec, sizeof(rec));
	store_crl_mark_dirty(txn, STORE_CRL_ROOT, a->now);
	store_audit_append(txn, a->audit, strlen(a->audit), NULL);
	return store_txn_error(txn);
}

/* Revoke the issuing CA.  See ca_revoke.h. */
int
ca_revoke_issuing(struct ca *ca, int reason, const char *who,
    int64_t *revoked_at, struct hsmca_err *err)
{
	struct issuing_arg a;
	char hex[2 * STORE_SERIAL_MAX + 1];
	const ASN1_INTEGER *sn = X509_get0_serialNumber(ca->issuing);
	int64_t at = 0;
	int old = 0, rc;
	char *audit = NULL;

	switch (reason) {
	case CA_REASON_UNSPECIFIED:
	case CA_REASON_KEY_COMPROMISE:
	case CA_REASON_CA_COMPROMISE:
	case CA_REASON_AFFILIATION_CHANGED:
	case CA_REASON_SUPERSEDED:
	case CA_REASON_CESSATION_OF_OPERATION:
	case CA_REASON_PRIVILEGE_WITHDRAWN:
		break;
	default:
		return bad_reason(err, reason, "unspecified, keyCompromise, "
		    "cACompromise, affiliationChanged, superseded, "
		    "cessationOfOperation, privilegeWithdrawn");
	}
	/*
	 * Refuse a second revocation before writing.  Two concurrent
	 * first revocations would both pass; the later one then only
	 * rewrites the time, which no CRL has published yet.
	 */
	if ((rc = ca_issuing_revocation(ca, &at, &old, err)) < 0)
		return rc;
	if (rc == 1)
		return hsmca_err_set(err, HSMCA_EPOLICY, "alreadyRevoked",
		    "the issuing CA was already revoked at %lld (reason %s); "
		    "revocation is irreversible", (long long)at,
		    ca_reason_name(old) ? ca_reason_name(old) : "unknown");
	if (ASN1_STRING_length(sn) <= 0 ||
	    ASN1_STRING_length(sn) > STORE_SERIAL_MAX)
		return hsmca_err_set(err, HSMCA_EINVAL, "serverInternal",
		    "the issuing certificate's serial is not 1 to 20 octets");
	ca_serial_hex(ASN1_STRING_get0_data(sn),
	    (size_t)ASN1_STRING_length(sn), hex);
	memset(&a, 0, sizeof(a));
	a.now = ca_now(ca);
	a.reason = reason;
	if ((audit = audit_json(a.now, "revoke-intermediate", hex, reason,
	    "operator", who)) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	a.audit = audit;
	rc = store_write(ca->store, revoke_issuing_fn, &a, err);
	if (rc == 0 && revoked_at != NULL)
		*revoked_at = a.now;
	free(audit);
	return rc;
}
