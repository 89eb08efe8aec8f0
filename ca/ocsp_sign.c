/*
 * ca/ocsp_sign.c - sign one OCSP response (RFC 6960 4.2, RFC 5019 2.2)
 * with the delegated signer in the token: a BasicOCSPResponse with one
 * SingleResponse, responderID byKey, the signer certificate included,
 * no nonce and no extensions.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>

#include "ca/ocsp_int.h"

/* The serial's DER INTEGER content octets as an ASN1_INTEGER. */
static ASN1_INTEGER *
serial_int(const unsigned char *serial, size_t len)
{
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn;

	if ((bn = BN_bin2bn(serial, (int)len, NULL)) != NULL)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

/*
 * Sign one response.  See ocsp_int.h.
 */
int
ocsp_sign(struct ca *ca, const unsigned char *serial, size_t serial_len,
    enum ca_ocsp_hash hash, const struct store_ocsp_cert *cert, int64_t now,
    unsigned char **der, size_t *der_len, int64_t *this_update,
    int64_t *next_update, struct hsmca_err *err)
{
	struct ca_ocsp *o = ca->ocsp;
	ASN1_INTEGER *ai = NULL;
	OCSP_CERTID *cid = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *tu = NULL, *nu = NULL, *rt = NULL;
	unsigned char *buf = NULL;
	int64_t next;
	int status, reason = OCSP_REVOKED_STATUS_NOSTATUS, n;
	int rc = HSMCA_EINTERNAL;

	*der = NULL;
	if (o == NULL || o->key == NULL)
		return hsmca_err_set(err, HSMCA_ENOTFOUND, "ocsp",
		    "OCSP is not set up: no signer; run `hsmca ocsp "
		    "init-signer`");
	next = now + o->validity;
	/* A response must not outlive the certificate that verifies it. */
	if (next > o->cert_not_after)
		next = o->cert_not_after;
	if (next <= now)
		return hsmca_err_set(err, HSMCA_EPOLICY, "ocsp",
		    "the OCSP signer certificate has expired; renew it");
	if (cert == NULL)
		status = V_OCSP_CERTSTATUS_UNKNOWN;
	else if (cert->status == STORE_CERT_REVOKED) {
		status = V_OCSP_CERTSTATUS_REVOKED;
		/* As on the CRL: unspecified is written by leaving it out. */
		if (cert->revoke_reason > 0)
			reason = cert->revoke_reason;
	} else
		status = V_OCSP_CERTSTATUS_GOOD;
	if ((ai = serial_int(serial, serial_len)) == NULL ||
	    (cid = OCSP_cert_id_new(ocsp_hash_md(hash), ca->issuer_name,
	    X509_get0_pubkey_bitstr(ca->issuing), ai)) == NULL ||
	    (bs = OCSP_BASICRESP_new()) == NULL ||
	    (tu = ASN1_TIME_set(NULL, (time_t)now)) == NULL ||
	    (nu = ASN1_TIME_set(NULL, (time_t)next)) == NULL)
		goto fail;
	if (status == V_OCSP_CERTSTATUS_REVOKED &&
	    (rt = ASN1_TIME_set(NULL, (time_t)cert->revoked_at)) == NULL)
		goto fail;
	if (OCSP_basic_add1_status(bs, cid, status, reason, rt, tu,
	    nu) == NULL)
		goto fail;
	if (OCSP_basic_sign(bs, o->cert, hsm_key_private(o->key), o->md, NULL,
	    OCSP_RESPID_KEY) != 1) {
		char ossl[160] = "";
		rc = hsmca_err_set(err, HSMCA_EHSM, "hsm",
		    "token signing of an OCSP response failed: %s",
		    hsmca_openssl_errstr(ossl, sizeof(ossl)));
		goto out;
	}
	atomic_fetch_add(&o->signatures, 1);
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    bs)) == NULL || (n = i2d_OCSP_RESPONSE(resp, &buf)) <= 0)
		goto fail;
	*der = buf;
	*der_len = (size_t)n;
	*this_update = now;
	*next_update = next;
	buf = NULL;
	rc = 0;
	goto out;
fail:
	ERR_clear_error();
	rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
	    "cannot build an OCSP response");
out:
	OPENSSL_free(buf);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(cid);
	ASN1_INTEGER_free(ai);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	ASN1_TIME_free(rt);
	return rc;
}
