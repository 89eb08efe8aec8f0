/*
 * hsm/hsm.h - the CA's keys in a PKCS#11 token.
 *
 * Nothing outside hsm/ speaks PKCS#11.  A struct hsm is one loaded module
 * with one logged-in token; a struct hsm_key is one key pair in it whose
 * private half signs inside the token through an OpenSSL EVP_PKEY
 * (libp11).  Private keys are generated with CKA_TOKEN, CKA_SENSITIVE and
 * CKA_EXTRACTABLE false and never leave the token.  PINs are read from a
 * file or an environment variable, never from argv, and never written to
 * a log or an error message.
 *
 * Thread safety: hsm_open/hsm_close and key generation are not to be run
 * concurrently with other calls on the same struct hsm.  The EVP_PKEY
 * returned by hsm_key_private() may sign from several threads at once.
 */
#ifndef HSMCA_HSM_H
#define HSMCA_HSM_H

#include <stddef.h>

#include <openssl/evp.h>

#include "common/err.h"

struct hsm;
struct hsm_key;

enum hsm_key_type {
	HSM_KEY_NONE = 0,
	HSM_KEY_EC_P256,
	HSM_KEY_EC_P384,
	HSM_KEY_RSA_2048,
	HSM_KEY_RSA_3072,
	HSM_KEY_RSA_4096,
};

/* "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096". */
int hsm_key_type_parse(const char *name, enum hsm_key_type *out);
const char *hsm_key_type_name(enum hsm_key_type type);

struct hsm_params {
	const char *module;	  /* path of the PKCS#11 module */
	const char *softhsm_conf; /* NULL, or SOFTHSM2_CONF to set before
				     the module is loaded */
	const char *token_uri;	  /* RFC 7512 URI selecting one token */
	const char *pin_env;	  /* NULL, or variable holding the PIN,
				     consulted first */
	const char *pin_file;	  /* NULL, or file holding the PIN */
};

/*
 * Prepare a private SoftHSM2 configuration under the existing directory
 * `dir` (a relative path is made absolute first): create DIR/tokens
 * (mode 0700) and write DIR/softhsm2.conf (directories.tokendir =
 * DIR/tokens, objectstore.backend = file, log.level = ERROR,
 * slots.removable = false), and copy that file's absolute path into
 * `conf_path` (`conf_len` bytes).  Pass it as softhsm_conf to
 * hsm_token_create() and hsm_open().  Returns 0, HSMCA_EINVAL (empty or
 * too long path) or HSMCA_EIO.
 */
int hsm_softhsm_setup(const char *dir, char *conf_path, size_t conf_len,
    struct hsmca_err *err);

/*
 * Initialise a new token labelled `label` in the module's first free
 * slot, with the given SO and user PINs (used for SoftHSM2 tokens made by
 * `hsmca init`).  HSMCA_EEXIST when a token with that label exists.
 */
int hsm_token_create(const char *module, const char *softhsm_conf,
    const char *label, const char *so_pin, const char *user_pin,
    struct hsmca_err *err);

/*
 * Load the module, find the one token matching params->token_uri, and log
 * in with the PIN.  Errors: HSMCA_EHSM (module cannot be loaded or
 * fails), HSMCA_ENOTFOUND (no token matches), HSMCA_EPIN (no PIN
 * available, or the token refused it).  On success *out belongs to the
 * caller; free with hsm_close().
 */
int hsm_open(const struct hsm_params *params, struct hsm **out,
    struct hsmca_err *err);

/* Log out, unload the module.  Keys must be freed first.  NULL is ok. */
void hsm_close(struct hsm *hsm);

/*
 * Generate a key pair of `type` in the token with CKA_LABEL `label`, a
 * fresh random CKA_ID, CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not
 * CKA_EXTRACTABLE, CKA_SIGN only.  HSMCA_EEXIST when a private key with
 * that label exists.
 */
int hsm_key_generate(struct hsm *hsm, enum hsm_key_type type,
    const char *label, struct hsmca_err *err);

/*
 * Destroy the private key labelled `label` and the objects sharing its
 * label and CKA_ID (its public key).  For undoing a generation that a
 * later step failed; never for keys in service.  HSMCA_ENOTFOUND when
 * no such private key exists.  Keys opened on it must be freed first.
 */
int hsm_key_destroy(struct hsm *hsm, const char *label,
    struct hsmca_err *err);

/*
 * Find the key pair named by `uri` (a PKCS#11 URI with object= and/or
 * id=; its token attributes, when present, must match the open token).
 * HSMCA_ENOTFOUND when the token has no such private key.  On success
 * *out belongs to the caller; free with hsm_key_free() before
 * hsm_close().
 */
int hsm_key_open(struct hsm *hsm, const char *uri, struct hsm_key **out,
    struct hsmca_err *err);

/*
 * The private key as an EVP_PKEY that signs inside the token (use with
 * EVP_DigestSign*, X509_sign, X509_CRL_sign, OCSP_basic_sign).  Owned by
 * `key`; valid until hsm_key_free().  Safe for concurrent signing.
 */
EVP_PKEY *hsm_key_private(const struct hsm_key *key);

/* The public key, an ordinary EVP_PKEY owned by `key`. */
EVP_PKEY *hsm_key_public(const struct hsm_key *key);

enum hsm_key_type hsm_key_type(const struct hsm_key *key);

void hsm_key_free(struct hsm_key *key);

#endif
