/*
 * ca/lint.c - the last check before signing: the to-be-signed subscriber
 * certificate against RFC 5280, the CA/B Forum baseline requirements and
 * what was validated.  It reads only the certificate, never the code
 * that built it, so a builder bug is caught here.
 */
#include "ca/ca_int.h"

#include <arpa/inet.h>
#include <string.h>

#include <openssl/err.h>

#define LINT_SKEW (48 * 3600)	/* CA/B BR 7.1.2.7: notBefore +-48 h */

static int
fail(struct hsmca_err *err, const char *rule)
{
	return hsmca_err_set(err, HSMCA_ELINT, "serverInternal", "lint: %s",
	    rule);
}

/* RFC 5280 4.1.2.2 and CA/B BR 7.1: positive, <= 20 octets, >= 64 bits. */
static int
serial_lint(X509 *x, struct hsmca_err *err)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(x);
	int len;

	if (s == NULL || ASN1_STRING_type(s) != V_ASN1_INTEGER ||
	    ASN1_STRING_length(s) == 0 || ASN1_STRING_get0_data(s)[0] == 0)
		return fail(err, "RFC 5280 4.1.2.2: serial must be a positive "
		    "integer");
	/* DER content length: a set top bit needs a leading zero octet. */
	len = ASN1_STRING_length(s) + (ASN1_STRING_get0_data(s)[0] & 0x80 ?
	    1 : 0);
	if (len > 20)
		return fail(err, "RFC 5280 4.1.2.2: serial longer than 20 "
		    "octets");
	if (len < 9)
		return fail(err, "CA/B BR 7.1: serial shorter than 9 octets "
		    "cannot hold 64 random bits");
	return 0;
}

/* The SAN entries, in order, must equal the validated names. */
static int
san_lint(X509 *x, const struct ca_lint_ctx *ctx, bool empty_subject,
    struct hsmca_err *err)
{
	GENERAL_NAMES *gens = NULL;
	char text[INET6_ADDRSTRLEN];
	int crit = -1, n, rc = HSMCA_ELINT;

	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit,
	    NULL)) == NULL) {
		ERR_clear_error();
		return fail(err, "CA/B BR 7.1.2.7.12: subjectAltName missing");
	}
	n = sk_GENERAL_NAME_num(gens);
	if (n <= 0) {
		fail(err, "RFC 5280 4.2.1.6: subjectAltName is empty");
		goto out;
	}
	if (empty_subject && crit != 1) {
		fail(err, "RFC 5280 4.2.1.6: subjectAltName must be critical "
		    "when the subject is empty");
		goto out;
	}
	if ((size_t)n != ctx->nnames) {
		fail(err, "subjectAltName differs from the validated names "
		    "(count)");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;
		const char *want = ctx->names[i];

		if (g->type == GEN_DNS) {
			s = g->d.dNSName;
			if ((size_t)s->length != strlen(want) ||
			    memcmp(s->data, want, (size_t)s->length) != 0) {
				fail(err, "subjectAltName dNSName differs from "
				    "the validated names");
				goto out;
			}
		} else if (g->type == GEN_IPADD) {
			s = g->d.iPAddress;
			if (ca_ip_text(s->data, (size_t)s->length, text,
			    sizeof(text)) != 0 || strcmp(text, want) != 0) {
				fail(err, "subjectAltName iPAddress differs "
				    "from the validated names");
				goto out;
			}
		} else {
			fail(err, "CA/B BR 7.1.2.7.12: subjectAltName holds a "
			    "type other than dNSName or iPAddress");
			goto out;
		}
	}
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* CA/B BR 7.1.4.3: a CN, if present, is one of the SAN values. */
static int
subject_lint(X509 *x, const struct ca_lint_ctx *ctx, bool *empty,
    struct hsmca_err *err)
{
	const X509_NAME *subj = X509_get_subject_name(x);
	const ASN1_STRING *cn;
	int idx;

	*empty = X509_NAME_entry_count(subj) == 0;
	if ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1)) < 0)
		return 0;
	if (X509_NAME_get_index_by_NID(subj, NID_commonName, idx) >= 0)
		return fail(err, "CA/B BR 7.1.4.3: more than one commonName");
	cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
	if (cn->length > 64)
		return fail(err, "RFC 5280 A.1: commonName longer than 64");
	for (size_t i = 0; i < ctx->nnames; i++)
		if (strlen(ctx->names[i]) == (size_t)cn->length &&
		    memcmp(ctx->names[i], cn->data, (size_t)cn->length) == 0)
			return 0;
	return fail(err, "CA/B BR 7.1.4.3: commonName is not one of the "
	    "subjectAltName values");
}

/* Validity inside the profile, the schedule and the 48 h window. */
static int
validity_lint(X509 *x, const struct ca_lint_ctx *ctx, struct hsmca_err *err)
{
	int64_t nb = ca_asn1_time(X509_get0_notBefore(x));
	int64_t na = ca_asn1_time(X509_get0_notAfter(x));
	int64_t span;

	if (nb < 0 || na < 0 || na < nb)
		return fail(err, "RFC 5280 4.1.2.5: validity is unreadable or "
		    "ends before it starts");
	span = na - nb + 1;
	if (span > ctx->profile->validity_secs)
		return fail(err, "validity exceeds the profile's");
	if (span > ca_max_validity(ctx->now))
		return fail(err, "CA/B BR 6.3.2: validity exceeds the maximum "
		    "in force");
	if (nb > ctx->now + LINT_SKEW || nb < ctx->now - LINT_SKEW)
		return fail(err, "CA/B BR 7.1.2.7: notBefore more than 48 "
		    "hours from the signing time");
	return 0;
}

/* basicConstraints critical CA:FALSE, no pathLen (BR 7.1.2.7.8). */
static int
bc_lint(X509 *x, struct hsmca_err *err)
{
	BASIC_CONSTRAINTS *bc;
	int crit = -1, rc = 0;

	if ((bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit,
	    NULL)) == NULL) {
		ERR_clear_error();
		return fail(err, "CA/B BR 7.1.2.7.8: basicConstraints missing");
	}
	if (bc->ca || bc->pathlen != NULL)
		rc = fail(err, "CA/B BR 7.1.2.7.8: basicConstraints must be "
		    "CA:FALSE without pathLen");
	else if (crit != 1)
		rc = fail(err, "CA/B BR 7.1.2.7.8: basicConstraints must be "
		    "critical");
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

/* keyUsage per key type (CA/B BR 7.1.2.7.11). */
static int
ku_lint(X509 *x, bool rsa, struct hsmca_err *err)
{
	ASN1_BIT_STRING *ku;
	int crit = -1, rc = 0;

	if ((ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL)) == NULL) {
		ERR_clear_error();
		return fail(err, "CA/B BR 7.1.2.7.11: keyUsage missing");
	}
	/* Bits: 0 digitalSignature, 2 keyEncipherment, 5 keyCertSign, 6 cRLSign. */
	if (crit != 1)
		rc = fail(err, "CA/B BR 7.1.2.7.11: keyUsage must be critical");
	else if (!ASN1_BIT_STRING_get_bit(ku, 0))
		rc = fail(err, "CA/B BR 7.1.2.7.11: keyUsage lacks "
		    "digitalSignature");
	else if (!rsa && ASN1_BIT_STRING_get_bit(ku, 2))
		rc = fail(err, "CA/B BR 7.1.2.7.11: keyEncipherment on an EC "
		    "key");
	else if (ASN1_BIT_STRING_get_bit(ku, 5) ||
	    ASN1_BIT_STRING_get_bit(ku, 6))
		rc = fail(err, "CA/B BR 7.1.2.7.11: keyCertSign or cRLSign "
		    "in a subscriber certificate");
	else if (ASN1_BIT_STRING_get_bit(ku, 1) ||
	    ASN1_BIT_STRING_get_bit(ku, 3) || ASN1_BIT_STRING_get_bit(ku, 4) ||
	    ASN1_BIT_STRING_get_bit(ku, 7) || ASN1_BIT_STRING_get_bit(ku, 8))
		rc = fail(err, "CA/B BR 7.1.2.7.11: keyUsage bit other than "
		    "digitalSignature/keyEncipherment");
	ASN1_BIT_STRING_free(ku);
	return rc;
}

/* EKU: serverAuth, never anyExtendedKeyUsage (BR 7.1.2.7.10). */
static int
eku_lint(X509 *x, struct hsmca_err *err)
{
	EXTENDED_KEY_USAGE *eku;
	bool server = false, any = false;

	if ((eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL)) ==
	    NULL) {
		ERR_clear_error();
		return fail(err, "CA/B BR 7.1.2.7.10: extKeyUsage missing");
	}
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		server |= nid == NID_server_auth;
		any |= nid == NID_anyExtendedKeyUsage;
	}
	EXTENDED_KEY_USAGE_free(eku);
	if (any)
		return fail(err, "CA/B BR 7.1.2.7.10: anyExtendedKeyUsage is "
		    "not allowed");
	if (!server)
		return fail(err, "CA/B BR 7.1.2.7.10: extKeyUsage lacks "
		    "serverAuth");
	return 0;
}

/* AKI keyIdentifier equals the issuer's SKI (RFC 5280 4.2.1.1). */
static int
aki_lint(X509 *x, const struct ca_lint_ctx *ctx, struct hsmca_err *err)
{
	AUTHORITY_KEYID *akid;
	int rc = 0;

	if ((akid = X509_get_ext_d2i(x, NID_authority_key_identifier, NULL,
	    NULL)) == NULL) {
		ERR_clear_error();
		return fail(err, "RFC 5280 4.2.1.1: authorityKeyIdentifier "
		    "missing");
	}
	if (akid->keyid == NULL || ctx->issuer_ski == NULL ||
	    ASN1_OCTET_STRING_cmp(akid->keyid, ctx->issuer_ski) != 0)
		rc = fail(err, "RFC 5280 4.2.1.1: authorityKeyIdentifier does "
		    "not match the issuing CA's subjectKeyIdentifier");
	AUTHORITY_KEYID_free(akid);
	return rc;
}

/* Only the extensions we mark critical may be critical. */
static int
critical_lint(X509 *x, struct hsmca_err *err)
{
	for (int i = 0; i < X509_get_ext_count(x); i++) {
		X509_EXTENSION *e = X509_get_ext(x, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));

		if (X509_EXTENSION_get_critical(e) &&
		    nid != NID_basic_constraints && nid != NID_key_usage &&
		    nid != NID_subject_alt_name)
			return fail(err, "CA/B BR 7.1.2.7.6: unexpected "
			    "critical extension");
	}
	return 0;
}

/* The certificate carries exactly the key that passed the policy. */
static int
spki_lint(X509 *x, const struct ca_csr *csr, struct hsmca_err *err)
{
	ASN1_OBJECT *o1;
	const unsigned char *k1;
	X509_ALGOR *a1;
	int l1;

	if (X509_PUBKEY_get0_param(&o1, &k1, &l1, &a1,
	    X509_get_X509_PUBKEY(x)) != 1 ||
	    X509_ALGOR_cmp(a1, csr->spki_alg) != 0 ||
	    l1 != ASN1_STRING_length(csr->spki_key) ||
	    memcmp(k1, ASN1_STRING_get0_data(csr->spki_key), (size_t)l1) != 0)
		return fail(err, "RFC 5280 4.1.2.7: subjectPublicKeyInfo "
		    "differs from the requested key");
	return 0;
}

int
ca_lint(X509 *x, const struct ca_lint_ctx *ctx, struct hsmca_err *err)
{
	struct hsmca_err kerr = { 0 };
	bool empty = false, rsa = false;
	int rc;

	if (X509_get_version(x) != X509_VERSION_3)
		return fail(err, "RFC 5280 4.1.2.1: version must be 3");
	if ((rc = serial_lint(x, err)) != 0)
		return rc;
	if (ctx->issuer_name == NULL ||
	    X509_NAME_cmp(X509_get_issuer_name(x), ctx->issuer_name) != 0)
		return fail(err, "RFC 5280 4.1.2.4: issuer differs from the "
		    "issuing CA's subject");
	if ((rc = subject_lint(x, ctx, &empty, err)) != 0 ||
	    (rc = san_lint(x, ctx, empty, err)) != 0 ||
	    (rc = validity_lint(x, ctx, err)) != 0 ||
	    (rc = bc_lint(x, err)) != 0)
		return rc;
	if (ctx->csr != NULL && (rc = spki_lint(x, ctx->csr, err)) != 0)
		return rc;
	if (ca_key_check(ctx->csr != NULL ? ctx->csr->pubkey :
	    X509_get0_pubkey(x), &rsa, &kerr) != 0)
		return hsmca_err_set(err, HSMCA_ELINT, "serverInternal",
		    "lint: %s", kerr.detail);
	if ((rc = ku_lint(x, rsa, err)) != 0 ||
	    (rc = eku_lint(x, err)) != 0 ||
	    (rc = aki_lint(x, ctx, err)) != 0 ||
	    (rc = critical_lint(x, err)) != 0)
		return rc;
	return 0;
}
