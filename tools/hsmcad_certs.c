/*
 * tools/hsmcad_certs.c - the CA certificates hsmcad serves: as DER on
 * the publishing server (the AIA caIssuers URL of every certificate
 * points at /ca/issuing.der) and as PEM on the ACME server at the paths
 * Pebble uses (/roots/0, /intermediates/0), so test suites written for
 * Pebble find the trust anchor unchanged.
 */
#include "tools/hsmcad.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/pem.h>

static int
enc_pem(X509 *x, char **out, size_t *len, struct hsmca_err *err)
{
	BIO *bio = NULL;
	BUF_MEM *mem;
	int rc = HSMCA_ENOMEM;

	if ((bio = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(bio,
	    x)) {
		hsmca_err_set(err, rc, "serverInternal",
		    "cannot encode a CA certificate as PEM");
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	if ((*out = malloc(mem->length)) == NULL) {
		hsmca_err_set(err, rc, "serverInternal", "out of memory");
		goto out;
	}
	memcpy(*out, mem->data, mem->length);
	*len = mem->length;
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

static int
enc_der(X509 *x, unsigned char **out, size_t *len, struct hsmca_err *err)
{
	int n;

	*out = NULL;
	if ((n = i2d_X509(x, out)) <= 0)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "cannot encode a CA certificate as DER");
	*len = (size_t)n;
	return 0;
}

/* Encode both CA certificates both ways; see hsmcad.h. */
int
hsmcad_certs_load(const struct ca *ca, struct hsmcad_certs *out,
    struct hsmca_err *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = enc_pem(ca_root_cert(ca), &out->root_pem,
	    &out->root_pem_len, err)) != 0 ||
	    (rc = enc_pem(ca_issuing_cert(ca), &out->issuing_pem,
	    &out->issuing_pem_len, err)) != 0 ||
	    (rc = enc_der(ca_root_cert(ca), &out->root_der,
	    &out->root_der_len, err)) != 0 ||
	    (rc = enc_der(ca_issuing_cert(ca), &out->issuing_der,
	    &out->issuing_der_len, err)) != 0)
		hsmcad_certs_clear(out);
	return rc;
}

/* Free the encodings; see hsmcad.h. */
void
hsmcad_certs_clear(struct hsmcad_certs *certs)
{
	free(certs->root_pem);
	free(certs->issuing_pem);
	OPENSSL_free(certs->root_der);
	OPENSSL_free(certs->issuing_der);
	memset(certs, 0, sizeof(*certs));
}

/* Pebble's content type for its /roots and /intermediates. */
#define PEM_TYPE "application/pem-certificate-chain"
#define DER_TYPE "application/pkix-cert"

/* GET /roots/0 on the ACME server. */
int
hsmcad_certs_root_pem(struct http_req *req, void *arg)
{
	const struct hsmcad_certs *c = arg;

	return http_reply_static(req, 200, PEM_TYPE, c->root_pem,
	    c->root_pem_len);
}

/* GET /intermediates/0 on the ACME server. */
int
hsmcad_certs_issuing_pem(struct http_req *req, void *arg)
{
	const struct hsmcad_certs *c = arg;

	return http_reply_static(req, 200, PEM_TYPE, c->issuing_pem,
	    c->issuing_pem_len);
}

/* GET /ca/root.der on the publishing server. */
int
hsmcad_certs_root_der(struct http_req *req, void *arg)
{
	const struct hsmcad_certs *c = arg;

	return http_reply_static(req, 200, DER_TYPE, c->root_der,
	    c->root_der_len);
}

/* GET /ca/issuing.der on the publishing server (AIA caIssuers). */
int
hsmcad_certs_issuing_der(struct http_req *req, void *arg)
{
	const struct hsmcad_certs *c = arg;

	return http_reply_static(req, 200, DER_TYPE, c->issuing_der,
	    c->issuing_der_len);
}
