/*
 * ca/csr.c - reading and verifying a PKCS#10 CSR, and the subscriber
 * key policy.  The name rules live in ca/names.c.
 */
#include "ca/ca_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#define CSR_MAX_LEN (64 * 1024)	/* an 8192-bit RSA CSR with 100 names
				   fits many times over */

/* Decode PEM "CERTIFICATE REQUEST" (or the legacy "NEW ...") to DER. */
static int
pem_to_der(const unsigned char *buf, size_t len, unsigned char **der,
    size_t *der_len, struct hsmca_err *err)
{
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	int rc = HSMCA_EINVAL;

	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1 ||
	    dlen <= 0) {
		ERR_clear_error();
		hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
		    "RFC 7468: CSR PEM is garbled (bad armor or base64)");
		goto out;
	}
	if (strcmp(name, "CERTIFICATE REQUEST") != 0 &&
	    strcmp(name, "NEW CERTIFICATE REQUEST") != 0) {
		hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
		    "RFC 7468 7: expected a \"CERTIFICATE REQUEST\" PEM block, "
		    "got \"%.40s\"", name);
		goto out;
	}
	if ((*der = malloc((size_t)dlen)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	memcpy(*der, data, (size_t)dlen);
	*der_len = (size_t)dlen;
	rc = 0;
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return rc;
}

/*
 * Accept PEM (by its armor) or DER.  The DER is parsed once here so a
 * garbled CSR is refused at the door with the same errors as later.
 */
int
ca_csr_read(const unsigned char *buf, size_t len, unsigned char **der,
    size_t *der_len, struct hsmca_err *err)
{
	unsigned char *d = NULL;
	size_t dlen = 0, i = 0;
	struct ca_csr tmp;
	int rc;

	*der = NULL;
	*der_len = 0;
	if (len > 4 * CSR_MAX_LEN)
		return hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
		    "CSR input of %zu bytes is too large", len);
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
	    buf[i] == '\n'))
		i++;
	if (len - i >= 10 && memcmp(buf + i, "-----BEGIN", 10) == 0) {
		if ((rc = pem_to_der(buf, len, &d, &dlen, err)) != 0)
			goto out;
	} else {
		if (len == 0) {
			rc = hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
			    "CSR is empty");
			goto out;
		}
		if ((d = malloc(len)) == NULL) {
			rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
			    "out of memory");
			goto out;
		}
		memcpy(d, buf, len);
		dlen = len;
	}
	if (dlen > CSR_MAX_LEN) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
		    "CSR is %zu bytes; at most %d", dlen, CSR_MAX_LEN);
		goto out;
	}
	memset(&tmp, 0, sizeof(tmp));
	rc = ca_csr_parse(&tmp, d, dlen, false, err);
	X509_NAME_free(tmp.subject);
	sk_X509_EXTENSION_pop_free(tmp.exts, X509_EXTENSION_free);
	X509_ALGOR_free(tmp.spki_alg);
	ASN1_BIT_STRING_free(tmp.spki_key);
	EVP_PKEY_free(tmp.pubkey);
	/* A refused key is still a readable CSR; ca_csr_check decides. */
	if (rc != 0 && rc != HSMCA_EPOLICY)
		goto out;
	*der = d;
	*der_len = dlen;
	d = NULL;
	rc = 0;
out:
	free(d);
	return rc;
}

/* RSA: modulus bits and the public exponent. */
static int
rsa_check(EVP_PKEY *pkey, struct hsmca_err *err)
{
	BIGNUM *e = NULL;
	int bits = EVP_PKEY_get_bits(pkey), rc;

	if (bits < 2048 || bits > 8192)
		return hsmca_err_set(err, HSMCA_EPOLICY, "badPublicKey",
		    "CA/B BR 6.1.5: RSA modulus of %d bits; use 2048 to 8192 "
		    "bits", bits);
	if (bits % 8 != 0)
		return hsmca_err_set(err, HSMCA_EPOLICY, "badPublicKey",
		    "CA/B BR 6.1.5: RSA modulus of %d bits is not a multiple "
		    "of 8", bits);
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
		ERR_clear_error();
		return hsmca_err_set(err, HSMCA_EPOLICY, "badPublicKey",
		    "RSA public exponent is unreadable");
	}
	rc = BN_is_word(e, 65537) ? 0 : hsmca_err_set(err, HSMCA_EPOLICY,
	    "badPublicKey", "CA/B BR 6.1.6: RSA public exponent must be "
	    "65537");
	BN_free(e);
	return rc;
}

/* EC: a named curve, P-256 or P-384 (CA/B BR 6.1.5). */
static int
ec_check(EVP_PKEY *pkey, struct hsmca_err *err)
{
	char group[64];
	size_t glen = 0;

	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &glen) != 1) {
		ERR_clear_error();
		return hsmca_err_set(err, HSMCA_EPOLICY, "badPublicKey",
		    "CA/B BR 6.1.5: EC key without a named curve; use P-256 or "
		    "P-384");
	}
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0 ||
	    strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		return 0;
	return hsmca_err_set(err, HSMCA_EPOLICY, "badPublicKey",
	    "CA/B BR 6.1.5: EC curve %s is not allowed; use P-256 or P-384",
	    group);
}

int
ca_key_check(EVP_PKEY *pkey, bool *rsa, struct hsmca_err *err)
{
	int id;

	if (pkey == NULL)
		return hsmca_err_set(err, HSMCA_EPOLICY, "badPublicKey",
		    "public key is missing or unreadable");
	id = EVP_PKEY_get_base_id(pkey);
	if (rsa != NULL)
		*rsa = id == EVP_PKEY_RSA;
	if (id == EVP_PKEY_RSA)
		return rsa_check(pkey, err);
	if (id == EVP_PKEY_EC)
		return ec_check(pkey, err);
	return hsmca_err_set(err, HSMCA_EPOLICY, "badPublicKey",
	    "CA/B BR 6.1.5: %s keys are not allowed; use RSA (2048-8192 bits) "
	    "or EC P-256/P-384", id == EVP_PKEY_RSA_PSS ? "RSASSA-PSS" :
	    OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "unknown");
}

int
ca_csr_check(const unsigned char *der, size_t len,
    const struct ca_profile *profile, struct ca_csr **out,
    struct hsmca_err *err)
{
	static const struct ca_profile any = {
		.name = "any", .max_names = 100, .wildcard = true, .ip = true,
	};
	struct ca_csr *csr = NULL;
	int rc;

	*out = NULL;
	if (len > CSR_MAX_LEN)
		return hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
		    "CSR is %zu bytes; at most %d", len, CSR_MAX_LEN);
	if ((csr = calloc(1, sizeof(*csr))) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	if ((rc = ca_csr_parse(csr, der, len, true, err)) != 0)
		goto out;
	if ((rc = ca_csr_names(csr, profile ? profile : &any, err)) != 0)
		goto out;
	*out = csr;
	csr = NULL;
	rc = 0;
out:
	ca_csr_free(csr);
	return rc;
}

void
ca_csr_free(struct ca_csr *csr)
{
	if (csr == NULL)
		return;
	for (size_t i = 0; i < csr->nnames; i++)
		free(csr->names[i]);
	free(csr->names);
	X509_NAME_free(csr->subject);
	sk_X509_EXTENSION_pop_free(csr->exts, X509_EXTENSION_free);
	X509_ALGOR_free(csr->spki_alg);
	ASN1_BIT_STRING_free(csr->spki_key);
	EVP_PKEY_free(csr->pubkey);
	free(csr);
}
