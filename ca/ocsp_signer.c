/*
 * ca/ocsp_signer.c - the delegated OCSP signer (RFC 6960 4.2.2.2): a key
 * pair in the token and a certificate from the issuing CA that
 * authorises it to sign OCSP responses for that CA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "ca/ocsp_int.h"

#define DAY 86400
#define SIGNER_DAYS 365
#define PEM_MAX (64 * 1024)

/*
 * The object= attribute of a PKCS#11 URI, percent-decoded: the label
 * the key is generated under.  (The same rule as the ceremony's CA
 * keys.)
 */
static int
uri_label(const char *uri, char *out, size_t len)
{
	const char *p = uri ? strstr(uri, "object=") : NULL;
	size_t n = 0;

	if (p == NULL || (p != uri && p[-1] != ';' && p[-1] != ':'))
		return -1;
	for (p += 7; *p != '\0' && *p != ';' && *p != '?'; p++) {
		unsigned int c = (unsigned char)*p;
		if (c == '%') {
			if (sscanf(p + 1, "%2x", &c) != 1)
				return -1;
			p += 2;
		}
		if (n + 1 >= len)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* Add one extension in v3 config syntax. */
static int
add_conf(X509 *x, int nid, const char *value)
{
	X509_EXTENSION *ext;
	int ok;

	if ((ext = ca_ext_conf(nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/*
 * The signer certificate: subject "O=<ca.name>, CN=<ca.name> OCSP
 * Responder", keyUsage digitalSignature (critical), extKeyUsage
 * id-kp-OCSPSigning, id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1: clients
 * need not check the signer's own revocation), SKI and AKI.
 */
static int
signer_cert_make(const struct hsmca_config *cfg, EVP_PKEY *pub,
    struct hsm_key *issuing_key, X509 *issuing, int64_t now, X509 **out,
    struct hsmca_err *err)
{
	const char *name = config_get(cfg, "ca.name");
	unsigned char serial[CA_SERIAL_LEN];
	ASN1_OCTET_STRING *ski = NULL, *aki_id = NULL;
	X509_EXTENSION *aki = NULL;
	X509 *x = NULL;
	char cn[256];
	int64_t na, limit;
	int rc;

	if ((rc = ca_serial_new(serial, err)) != 0)
		return rc;
	snprintf(cn, sizeof(cn), "%s OCSP Responder", name ? name : "hsmca");
	na = now + (int64_t)SIGNER_DAYS * DAY - 1;
	limit = ca_asn1_time(X509_get0_notAfter(issuing));
	if (limit > 0 && na > limit)
		na = limit;
	if (na <= now)
		return hsmca_err_set(err, HSMCA_EPOLICY, "ocsp",
		    "the issuing CA certificate has expired; no OCSP signer "
		    "can be certified");
	rc = HSMCA_EINTERNAL;
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_STRING_set(X509_get_serialNumber(x), serial,
	    sizeof(serial)) != 1 ||
	    X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	    NID_organizationName, MBSTRING_UTF8,
	    (const unsigned char *)(name ? name : "hsmca"), -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	    NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
	    0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(issuing)) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)now) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) == NULL ||
	    X509_set_pubkey(x, pub) != 1)
		goto fail;
	if ((ski = ca_ski_of(X509_get_X509_PUBKEY(x))) == NULL ||
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, 0) != 1)
		goto fail;
	if (X509_get0_subject_key_id(issuing) != NULL)
		aki_id = ASN1_OCTET_STRING_dup(
		    X509_get0_subject_key_id(issuing));
	else
		aki_id = ca_ski_of(X509_get_X509_PUBKEY(issuing));
	if (aki_id == NULL || (aki = ca_ext_aki(aki_id)) == NULL ||
	    X509_add_ext(x, aki, -1) != 1)
		goto fail;
	if (add_conf(x, NID_key_usage, "critical,digitalSignature") != 0 ||
	    add_conf(x, NID_ext_key_usage, "OCSPSigning") != 0 ||
	    add_conf(x, NID_id_pkix_OCSP_noCheck, "ignored") != 0)
		goto fail;
	if (X509_sign(x, hsm_key_private(issuing_key),
	    ca_md_for(hsm_key_type(issuing_key))) <= 0) {
		char ossl[160] = "";
		rc = hsmca_err_set(err, HSMCA_EHSM, "hsm",
		    "token signing of the OCSP signer certificate failed: %s",
		    hsmca_openssl_errstr(ossl, sizeof(ossl)));
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
	goto out;
fail:
	ERR_clear_error();
	rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
	    "cannot build the OCSP signer certificate");
out:
	X509_EXTENSION_free(aki);
	ASN1_OCTET_STRING_free(aki_id);
	ASN1_OCTET_STRING_free(ski);
	X509_free(x);
	return rc;
}

static int
pem_of(X509 *x, char **out, size_t *len, struct hsmca_err *err)
{
	BIO *bio;
	BUF_MEM *mem;
	int rc = 0;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, x) != 1) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	if ((*out = malloc(mem->length)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	memcpy(*out, mem->data, mem->length);
	*len = mem->length;
out:
	BIO_free(bio);
	return rc;
}

/* Certify `key` with the issuing key and write the PEM to `path`. */
static int
certify_write(const struct hsmca_config *cfg, const char *path,
    struct hsm_key *key, struct hsm_key *issuing_key, X509 *issuing,
    int64_t now, struct hsmca_err *err)
{
	X509 *x = NULL;
	char *pem = NULL;
	size_t pemlen = 0;
	int rc;

	if ((rc = signer_cert_make(cfg, hsm_key_public(key), issuing_key,
	    issuing, now, &x, err)) == 0 &&
	    (rc = pem_of(x, &pem, &pemlen, err)) == 0)
		rc = ca_file_write(path, pem, pemlen, 0644, err);
	free(pem);
	X509_free(x);
	return rc;
}

/*
 * Generate the key (or take the one an interrupted run left), certify
 * it, write the PEM.  See ocsp_int.h.
 */
int
ca_ocsp_signer_make(struct hsm *hsm, const struct hsmca_config *cfg,
    const char *state_dir, struct hsm_key *issuing_key, X509 *issuing,
    int64_t now, struct hsmca_err *err)
{
	const char *uri = config_get(cfg, "ocsp.signer_key");
	struct hsmca_err kerr = { 0 };
	struct hsm_key *key = NULL;
	char label[128], path[PATH_MAX];
	int rc;

	if (uri_label(uri, label, sizeof(label)) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "ocsp.signer_key \"%.100s\" names no object= label to "
		    "generate", uri ? uri : "");
	if (config_get_path(cfg, "ocsp.signer_cert", state_dir, path,
	    sizeof(path)) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "ocsp.signer_cert is not set or too long");
	if (ca_file_exists(path))
		return hsmca_err_set(err, HSMCA_EEXIST, "ocsp",
		    "%s exists (ocsp.signer_cert): the CA has an OCSP signer; "
		    "refusing to overwrite", path);
	/* A key without its certificate is an interrupted run: certify it. */
	rc = hsm_key_open(hsm, uri, &key, &kerr);
	if (rc == HSMCA_ENOTFOUND) {
		if ((rc = hsm_key_generate(hsm, hsm_key_type(issuing_key),
		    label, err)) != 0 ||
		    (rc = hsm_key_open(hsm, uri, &key, err)) != 0)
			goto out;
	} else if (rc != 0) {
		rc = hsmca_err_set(err, kerr.code, kerr.type, "%s",
		    kerr.detail);
		goto out;
	} else if (hsm_key_type(key) != hsm_key_type(issuing_key)) {
		rc = hsmca_err_set(err, HSMCA_EEXIST, "ocsp",
		    "the token already holds a %s key \"%s\", not of the "
		    "issuing key's type; remove it or set ocsp.signer_key",
		    hsm_key_type_name(hsm_key_type(key)), label);
		goto out;
	}
	rc = certify_write(cfg, path, key, issuing_key, issuing, now, err);
out:
	hsm_key_free(key);
	return rc;
}

/* Load one PEM certificate file (small). */
static int
cert_load(const char *path, X509 **out, struct hsmca_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	int rc;

	if ((rc = ca_file_read(path, PEM_MAX, &buf, &len, err)) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (*out = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		rc = hsmca_err_set(err, HSMCA_EINVAL, "ocsp",
		    "%s holds no PEM certificate", path);
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	free(buf);
	return rc;
}

/*
 * Open the signer into `o` when the CA has one.  See ocsp_int.h.
 */
int
ocsp_signer_open(struct ca *ca, struct ca_ocsp *o,
    const struct hsmca_config *cfg, struct hsmca_err *err)
{
	struct hsmca_err kerr = { 0 };
	struct hsm_key *key = NULL;
	X509 *x = NULL;
	char path[PATH_MAX];
	int rc;

	if (config_get_path(cfg, "ocsp.signer_cert", ca->state_dir, path,
	    sizeof(path)) != 0 || !ca_file_exists(path))
		return 0;
	rc = hsm_key_open(ca->hsm, config_get(cfg, "ocsp.signer_key"), &key,
	    &kerr);
	if (rc == HSMCA_ENOTFOUND)
		return 0;
	if (rc != 0)
		return hsmca_err_set(err, kerr.code, kerr.type, "%s",
		    kerr.detail);
	if ((rc = cert_load(path, &x, err)) != 0)
		goto out;
	rc = HSMCA_EINVAL;
	if (EVP_PKEY_eq(X509_get0_pubkey(x), hsm_key_public(key)) != 1) {
		hsmca_err_set(err, rc, "ocsp", "the OCSP signer certificate's "
		    "public key differs from its token key; check "
		    "ocsp.signer_cert and ocsp.signer_key");
		goto out;
	}
	if (X509_verify(x, X509_get0_pubkey(ca->issuing)) != 1 ||
	    (X509_get_extended_key_usage(x) & XKU_OCSP_SIGN) == 0) {
		hsmca_err_set(err, rc, "ocsp", "%s is not an OCSP signing "
		    "certificate from the issuing CA", path);
		goto out;
	}
	o->key = key;
	o->cert = x;
	o->cert_not_after = ca_asn1_time(X509_get0_notAfter(x));
	o->md = ca_md_for(hsm_key_type(key));
	key = NULL;
	x = NULL;
	rc = 0;
out:
	ERR_clear_error();
	X509_free(x);
	hsm_key_free(key);
	return rc;
}

/*
 * A new certificate for the signer key in use.  See ocsp_int.h.
 */
int
ocsp_signer_renew(struct ca *ca, const struct hsmca_config *cfg,
    int64_t now, struct hsmca_err *err)
{
	struct ca_ocsp *o = ca->ocsp;
	X509 *x = NULL, *old;
	char path[PATH_MAX];
	int rc;

	if (config_get_path(cfg, "ocsp.signer_cert", ca->state_dir, path,
	    sizeof(path)) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "ocsp.signer_cert is not set or too long");
	if ((rc = certify_write(cfg, path, o->key, ca->issuing_key,
	    ca->issuing, now, err)) != 0 ||
	    (rc = cert_load(path, &x, err)) != 0)
		return rc;
	/* Every signature is made under one of these two locks. */
	pthread_mutex_lock(&o->sign_mu);
	pthread_mutex_lock(&o->unknown_mu);
	old = o->cert;
	o->cert = x;
	o->cert_not_after = ca_asn1_time(X509_get0_notAfter(x));
	pthread_mutex_unlock(&o->unknown_mu);
	pthread_mutex_unlock(&o->sign_mu);
	X509_free(old);
	return 0;
}
