/*
 * ca/ca_int.h - private to ca/: the open CA and helpers shared by its
 * files.  Nothing outside ca/ (except tests) includes this.
 */
#ifndef HSMCA_CA_INT_H
#define HSMCA_CA_INT_H

#include <limits.h>

#include <openssl/x509v3.h>

#include "ca/ca.h"

#define CA_SERIAL_LEN 16	/* random serial octets, top bit clear */
#define CA_MAX_PROFILES 32

/*
 * The open CA.  Everything below is written by ca_open() and only read
 * afterwards, so ca_issue() needs no lock: the precomputed extensions
 * are copied into each certificate (X509_add_ext duplicates them).
 */
struct ca {
	char state_dir[PATH_MAX];
	struct hsm *hsm;
	struct hsm_key *root_key, *issuing_key;
	X509 *root, *issuing;
	struct store *store;
	ca_clock_fn clock;
	void *clock_arg;

	struct ca_profile profiles[CA_MAX_PROFILES];
	size_t nprofiles;
	char default_profile[STORE_PROFILE_MAX];

	/* Precomputed per-issuance material. */
	const EVP_MD *md;		/* digest for the issuing key */
	X509_NAME *issuer_name;		/* copy of the issuing subject */
	ASN1_OCTET_STRING *issuer_ski;
	X509_EXTENSION *ext_aki, *ext_aia, *ext_cp, *ext_bc, *ext_eku;
	X509_EXTENSION *ext_ku_ec, *ext_ku_rsa;
	X509_EXTENSION **ext_crldp;	/* one per CRL shard */
	uint32_t crl_shards;
	char *issuing_pem;		/* NUL-terminated */
	size_t issuing_pem_len;

	/* CRLs (ca/crl*.c): set by ca_crl_configure(); 0: not yet, the
	 * configuration table's defaults apply. */
	int64_t crl_validity_s, crl_interval_s, crl_revoke_delay_s;

	/* The OCSP responder and its delegated signer (ca/ocsp_int.h);
	 * NULL when ocsp.enabled is false. */
	struct ca_ocsp *ocsp;
};

/* ca/ca.c: log in to the token named by the hsm.* keys (paths relative
 * to state_dir). */
int ca_hsm_open(const char *state_dir, const struct hsmca_config *cfg,
    struct hsm **out, struct hsmca_err *err);

/* ca/file.c: write `len` bytes to `path` atomically (temp file, fsync,
 * rename, fsync of the directory) with `mode`. */
int ca_file_write(const char *path, const void *buf, size_t len,
    mode_t mode, struct hsmca_err *err);
/* 1 when `path` exists, 0 when not. */
int ca_file_exists(const char *path);
/* Read a whole file (at most `max` bytes) into *out (malloc'd, NUL
 * terminated; caller frees). */
int ca_file_read(const char *path, size_t max, char **out, size_t *len,
    struct hsmca_err *err);

/* ca/serial.c: a fresh random serial of CA_SERIAL_LEN octets, positive
 * and with a non-zero first octet so its DER INTEGER is exactly that
 * long. */
int ca_serial_new(unsigned char serial[CA_SERIAL_LEN], struct hsmca_err *err);

/* ca/profile.c: read ca.profiles and the profile.NAME.* keys. */
int ca_profiles_load(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmca_err *err);

/* ca/csr_parse.c: decode `der` (exactly `len` bytes) into `csr`
 * (subject, exts, spki_*, pubkey, rsa); with `verify` also the key
 * policy and the self-signature.  badCSR / badPublicKey. */
int ca_csr_parse(struct ca_csr *csr, const unsigned char *der, size_t len,
    bool verify, struct hsmca_err *err);

/* ca/names.c: the identifiers of `req` checked against `profile`;
 * fills csr->names, csr->nnames, csr->ndns. */
int ca_csr_names(struct ca_csr *csr, const struct ca_profile *profile,
    struct hsmca_err *err);

/* ca/ext.c: extension helpers shared by the ceremony and issuance. */
/* RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
ASN1_OCTET_STRING *ca_ski_of(X509_PUBKEY *pub);
/* An extension from OpenSSL's v3 config syntax ("critical,CA:FALSE"). */
X509_EXTENSION *ca_ext_conf(int nid, const char *value);
/* certificatePolicies holding the one dotted `oid`. */
X509_EXTENSION *ca_ext_policy(const char *oid);
/* authorityKeyIdentifier with only keyIdentifier. */
X509_EXTENSION *ca_ext_aki(const ASN1_OCTET_STRING *keyid);
/* The signature digest for a CA key: SHA-384 for P-384, else SHA-256. */
const EVP_MD *ca_md_for(enum hsm_key_type type);
/* Seconds since the epoch of an ASN1_TIME; -1 when unreadable. */
int64_t ca_asn1_time(const ASN1_TIME *t);
/* Text form of an iPAddress GENERAL_NAME's 4 or 16 octets into out
 * (INET6_ADDRSTRLEN bytes); -1 for another length. */
int ca_ip_text(const unsigned char *ip, size_t len, char *out, size_t outlen);

#endif
