/*
 * ca/ocsp_req.c - decode an OCSPRequest (RFC 6960 4.1) down to the one
 * CertID the responder needs.  The request comes from anyone: every
 * field is checked before use, and the DER must be consumed exactly.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>

#include "ca/ca_ocsp.h"

static int
malformed(struct hsmca_err *err, const char *what)
{
	return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
	    "OCSP request: %s", what);
}

/*
 * The serial as DER INTEGER content octets (the store's key): the
 * magnitude with a 0x00 prefix when its top bit is set.  RFC 5280
 * 4.1.2.2: positive, at most 20 octets.
 */
static int
serial_octets(const ASN1_INTEGER *ai, struct ca_ocsp_req *out,
    struct hsmca_err *err)
{
	const unsigned char *p = ASN1_STRING_get0_data(ai);
	size_t n = (size_t)ASN1_STRING_length(ai), pad;

	if (ASN1_STRING_type(ai) != V_ASN1_INTEGER || n == 0 || p == NULL)
		return malformed(err, "RFC 5280 4.1.2.2: serial number must "
		    "be positive");
	pad = (p[0] & 0x80) ? 1 : 0;
	if (n + pad > STORE_SERIAL_MAX)
		return malformed(err, "RFC 5280 4.1.2.2: serial number longer "
		    "than 20 octets");
	out->serial[0] = 0;
	memcpy(out->serial + pad, p, n);
	out->serial_len = n + pad;
	return 0;
}

/*
 * Decode and check.  See ca_ocsp.h.
 */
int
ca_ocsp_parse_request(const unsigned char *der, size_t len,
    struct ca_ocsp_req *out, struct hsmca_err *err)
{
	const unsigned char *p = der;
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *cid;
	ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
	ASN1_OBJECT *alg = NULL;
	ASN1_INTEGER *serial = NULL;
	int nid, rc = HSMCA_EINVAL;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0) {
		rc = malformed(err, "empty");
		goto out;
	}
	if (len > CA_OCSP_REQ_MAX) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "OCSP request: %zu bytes, more than %d", len,
		    CA_OCSP_REQ_MAX);
		goto out;
	}
	if ((req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL) {
		rc = malformed(err, "not a DER OCSPRequest");
		goto out;
	}
	if ((size_t)(p - der) != len) {
		rc = malformed(err, "bytes after the OCSPRequest");
		goto out;
	}
	/* RFC 5019 2.1.1: one Request per OCSPRequest. */
	if (OCSP_request_onereq_count(req) != 1) {
		rc = malformed(err, "RFC 5019 2.1.1: exactly one Request "
		    "per OCSPRequest");
		goto out;
	}
	cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0));
	if (cid == NULL || OCSP_id_get0_info(&nh, &alg, &kh, &serial,
	    cid) != 1 || nh == NULL || alg == NULL || kh == NULL ||
	    serial == NULL) {
		rc = malformed(err, "incomplete CertID");
		goto out;
	}
	nid = OBJ_obj2nid(alg);
	if (nid == NID_sha1) {
		out->hash = CA_OCSP_SHA1;
		hlen = 20;
	} else if (nid == NID_sha256) {
		out->hash = CA_OCSP_SHA256;
		hlen = 32;
	} else {
		rc = malformed(err, "CertID hash algorithm is not SHA-1 or "
		    "SHA-256");
		goto out;
	}
	if ((size_t)ASN1_STRING_length(nh) != hlen ||
	    (size_t)ASN1_STRING_length(kh) != hlen) {
		rc = malformed(err, "RFC 6960 4.1.1: issuer hash length does "
		    "not match the hash algorithm");
		goto out;
	}
	memcpy(out->name_hash, ASN1_STRING_get0_data(nh), hlen);
	memcpy(out->key_hash, ASN1_STRING_get0_data(kh), hlen);
	out->hash_len = hlen;
	if ((rc = serial_octets(serial, out, err)) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	OCSP_REQUEST_free(req);
	return rc;
}
