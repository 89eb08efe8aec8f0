/*
 * protocol/acme_cert.c - certificate download (RFC 8555 7.4.2) and
 * revokeCert (7.6).  The chain is rebuilt from the stored DER and the
 * issuing CA certificate; revocation goes through ca_revoke(), the one
 * revocation core.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/ca_revoke.h"
#include "protocol/acme_int.h"

/*
 * The leaf then the issuing CA, as PEM.  The stored DER is wrapped as it
 * is (PEM_write_bio of the bytes, no decode): it was checked when
 * issued.
 */
static int
chain_pem(struct acme *a, const unsigned char *der, size_t len, char **out,
    size_t *outlen)
{
	BIO *b = NULL;
	char *data;
	long n;
	int rc = HSMCA_ENOMEM;

	*out = NULL;
	if (len == 0 || len > LONG_MAX)
		return HSMCA_EIO;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio(b, PEM_STRING_X509, "", der, (long)len) <= 0)
		goto out;
	n = BIO_get_mem_data(b, &data);
	if (n <= 0 || (*out = malloc((size_t)n + a->issuing_pem_len)) == NULL)
		goto out;
	memcpy(*out, data, (size_t)n);
	memcpy(*out + n, a->issuing_pem, a->issuing_pem_len);
	*outlen = (size_t)n + a->issuing_pem_len;
	rc = 0;
out:
	BIO_free(b);
	return rc;
}

/* POST-as-GET /acme/cert/SERIAL: the PEM chain (7.4.2). */
int
acme_h_cert(struct http_req *req, void *arg)
{
	struct acme *a = arg;
	struct acme_post p;
	struct hsmca_err err = { 0 };
	struct store_cert *c = NULL;
	unsigned char serial[STORE_SERIAL_MAX];
	size_t slen, plen;
	char *pem = NULL;
	int rc, status = 0;

	if ((rc = acme_post_parse(a, req, ACME_SIG_KID, &p, &status,
	    &err)) != 0)
		return acme_reply_err(req, status, &err);
	if (strlen(http_req_subpath(req)) > 2 * STORE_SERIAL_MAX ||
	    strspn(http_req_subpath(req), "0123456789abcdef") !=
	    strlen(http_req_subpath(req)) ||
	    ca_serial_parse(http_req_subpath(req), serial, &slen, NULL) != 0 ||
	    (rc = store_cert_get(a->st, serial, slen, &c, &err)) ==
	    HSMCA_ENOTFOUND) {
		hsmca_err_clear(&err);
		status = 404;
		hsmca_err_set(&err, HSMCA_ENOTFOUND, "malformed",
		    "no such certificate");
		goto fail;
	}
	if (rc != 0)
		goto fail;
	if (c->account_id != p.acct->id) {
		hsmca_err_set(&err, HSMCA_EPOLICY, "unauthorized",
		    "this certificate belongs to another account");
		goto fail;
	}
	if (chain_pem(a, c->der, c->der_len, &pem, &plen) != 0) {
		hsmca_err_set(&err, HSMCA_EIO, "store",
		    "acme: certificate record does not decode");
		goto fail;
	}
	rc = http_reply(req, 200, "application/pem-certificate-chain", pem,
	    plen);
	goto out;
fail:
	rc = acme_reply_err(req, status, &err);
out:
	free(pem);
	store_cert_free(c);
	acme_post_clear(&p);
	return rc;
}

/*
 * 7.6: an account that holds valid authorizations for every name of
 * the certificate may revoke it too.
 */
static bool
holds_authz(struct acme *a, uint64_t account_id, const struct store_cert *c)
{
	struct store_acme_authz *z = NULL;
	int64_t now = ca_now(a->ca);
	char key[300];
	uint64_t zid;
	size_t i;
	bool ip, ok;

	if (c->nnames == 0)
		return false;
	for (i = 0; i < c->nnames; i++) {
		ip = strchr(c->names[i], ':') != NULL ||
		    strspn(c->names[i], "0123456789.") == strlen(c->names[i]);
		acme_ident_key(ip, false, c->names[i], key, sizeof(key));
		if (store_acme_valid_get(a->st, account_id, key, &zid,
		    NULL) != 0 || store_acme_authz_get(a->st, zid, &z,
		    NULL) != 0)
			return false;
		ok = z->account_id == account_id &&
		    acme_authz_status(z, now) == ACME_ST_VALID;
		store_acme_authz_free(z);
		z = NULL;
		if (!ok)
			return false;
	}
	return true;
}

/* POST /acme/revoke-cert (7.6) through ca_revoke(). */
int
acme_h_revoke(struct http_req *req, void *arg)
{
	struct acme *a = arg;
	struct acme_post p;
	struct hsmca_err err = { 0 };
	struct store_cert *c = NULL;
	struct ca_revoke_req rr;
	const unsigned char *q;
	unsigned char *der = NULL;
	const ASN1_INTEGER *sn;
	const json_t *jr;
	const char *b64;
	X509 *x = NULL;
	char who[64];
	size_t len;
	int rc, status = 0, reason = CA_REASON_UNSPECIFIED;

	if ((rc = acme_post_parse(a, req, ACME_SIG_KID | ACME_SIG_JWK, &p,
	    &status, &err)) != 0)
		return acme_reply_err(req, status, &err);
	b64 = json_string_value(json_object_get(p.payload, "certificate"));
	if (b64 == NULL || b64url_decode(b64, strlen(b64), &der, &len,
	    &err) != 0) {
		hsmca_err_clear(&err);
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed", "RFC 8555 7.6: "
		    "\"certificate\" must be the base64url DER certificate");
		goto fail;
	}
	jr = json_object_get(p.payload, "reason");
	if (jr != NULL) {
		if (!json_is_integer(jr) || json_integer_value(jr) < 0 ||
		    json_integer_value(jr) > 10) {
			hsmca_err_set(&err, HSMCA_EINVAL, "badRevocationReason",
			    "RFC 8555 7.6: \"reason\" must be an RFC 5280 "
			    "CRLReason code");
			goto fail;
		}
		reason = (int)json_integer_value(jr);
	}
	q = der;
	if ((x = d2i_X509(NULL, &q, (long)len)) == NULL || q != der + len ||
	    (sn = X509_get0_serialNumber(x)) == NULL || sn->length <= 0 ||
	    sn->length > STORE_SERIAL_MAX) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed", "RFC 8555 7.6: "
		    "\"certificate\" is not a DER certificate");
		goto fail;
	}
	rc = store_cert_get(a->st, sn->data, (size_t)sn->length, &c, &err);
	if (rc == HSMCA_ENOTFOUND || (rc == 0 && (c->der_len != len ||
	    memcmp(c->der, der, len) != 0))) {
		hsmca_err_clear(&err);
		status = 404;
		hsmca_err_set(&err, HSMCA_ENOTFOUND, "malformed",
		    "RFC 8555 7.6: this server did not issue that certificate");
		goto fail;
	}
	if (rc != 0)
		goto fail;
	if (p.acct != NULL) {
		if (c->account_id != p.acct->id &&
		    !holds_authz(a, p.acct->id, c)) {
			hsmca_err_set(&err, HSMCA_EPOLICY, "unauthorized",
			    "RFC 8555 7.6: the account neither ordered this "
			    "certificate nor holds valid authorizations for "
			    "all its names");
			goto fail;
		}
		snprintf(who, sizeof(who), "acme account %llu",
		    (unsigned long long)p.acct->id);
	} else {
		if (EVP_PKEY_eq(jws_jwk(p.jws), X509_get0_pubkey(x)) != 1) {
			hsmca_err_set(&err, HSMCA_EPOLICY, "unauthorized",
			    "RFC 8555 7.6: the request is signed neither by an "
			    "account nor by the certificate's key");
			goto fail;
		}
		snprintf(who, sizeof(who), "acme certificate key");
	}
	memset(&rr, 0, sizeof(rr));
	rr.serial = c->serial;
	rr.serial_len = c->serial_len;
	rr.reason = reason;
	rr.actor = CA_ACTOR_SUBSCRIBER;
	rr.who = who;
	if (ca_revoke(a->ca, &rr, NULL, &err) != 0)
		goto fail;
	rc = http_reply(req, 200, NULL, NULL, 0);
	goto out;
fail:
	rc = acme_reply_err(req, status, &err);
out:
	X509_free(x);
	free(der);
	store_cert_free(c);
	acme_post_clear(&p);
	return rc;
}
