/*
 * tests/ca/tutil.h - test keys, CSRs and temp dirs for the ca tests.
 */
#ifndef HSMCA_TESTS_CA_TUTIL_H
#define HSMCA_TESTS_CA_TUTIL_H

#include <limits.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "common/config.h"

/*
 * A fresh key: "ec:P-256", "ec:P-384", "ec:P-521", "ec:secp256k1",
 * "rsa:BITS" or "rsa:BITS:E", "ed25519".  NULL on failure.
 */
EVP_PKEY *t_key(const char *spec);

/*
 * A CSR signed by `key`: subject CN `cn` (NULL: none) and a SAN holding
 * `sans` (NULL-terminated; "DNS:x", "IP:1.2.3.4", "email:x", "URI:x";
 * NULL array: no SAN).  DNS values go in raw, unchecked.  Returns the
 * DER (malloc'd) and its length in *len, or NULL.
 */
unsigned char *t_csr(EVP_PKEY *key, const char *cn, const char *const *sans,
    size_t *len);

/* The same as an X509_REQ (caller frees). */
X509_REQ *t_req(EVP_PKEY *key, const char *cn, const char *const *sans);

/* DER of `req` (malloc'd). */
unsigned char *t_req_der(X509_REQ *req, size_t *len);

/*
 * The ceremony in `dir` on a new SoftHSM2 token, with a CA key of
 * `key_type` ("ec-p256", ...) and `clock` (NULL: the system clock).
 * `cfg` carries any settings made beforehand.  Prints why on failure;
 * returns 0 or -1.
 */
int t_ca_init(const char *dir, const char *key_type, ca_clock_fn clock,
    struct hsmca_config *cfg);

/*
 * Open the CA in `dir` from its written hsmca.conf, as the daemon does:
 * *cfg (freed first if set) gets the loaded config, *ca the CA.  Prints
 * why on failure; returns 0 or -1.
 */
int t_ca_open(const char *dir, struct hsmca_config **cfg, struct ca **ca);

/* mkdtemp under TMPDIR; aborts on failure. */
void t_tmpdir(char *out, size_t len);
/* rm -rf dir. */
void t_rmtree(const char *dir);

#endif
