/*
 * common/err.h - the error carried through every layer of hsmca.
 *
 * Functions return 0 on success or a negative HSMCA_E* code.  The detail
 * of a failure (which rule, which input, what to do instead) is written
 * into a caller-owned struct hsmca_err at the point of failure.  `type`
 * is a stable identifier: the ACME problem type (RFC 8555 6.7, e.g.
 * "badCSR") for errors a client can cause, or an internal one
 * ("serverInternal", "hsm", "store", "config", "usage").
 */
#ifndef HSMCA_COMMON_ERR_H
#define HSMCA_COMMON_ERR_H

#include <stddef.h>

#define HSMCA_ERR_DETAIL 256

enum hsmca_code {
	HSMCA_OK = 0,
	HSMCA_EINVAL = -1,	/* bad input: CSR, name, PEM, config value */
	HSMCA_ENOTFOUND = -2,	/* no such record, key, token, profile */
	HSMCA_EEXIST = -3,	/* already exists (CA, serial, record) */
	HSMCA_EIO = -4,		/* file or storage I/O failure */
	HSMCA_ENOMEM = -5,
	HSMCA_EPOLICY = -6,	/* well-formed input refused by policy */
	HSMCA_EHSM = -7,	/* PKCS#11 module / token failure */
	HSMCA_EPIN = -8,	/* PIN missing or refused by the token */
	HSMCA_ELINT = -9,	/* to-be-signed certificate failed lint */
	HSMCA_EINTERNAL = -10,
};

struct hsmca_err {
	int code;		/* one of enum hsmca_code */
	const char *type;	/* static string, see above; NULL when clear */
	char detail[HSMCA_ERR_DETAIL];
};

/*
 * Record the first failure in `err` (a later call does not overwrite an
 * error already set, so the innermost cause survives) and return `code`.
 * `err` may be NULL.  `type` must be a string with static storage.
 */
int hsmca_err_set(struct hsmca_err *err, int code, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Forget any recorded error. */
void hsmca_err_clear(struct hsmca_err *err);

/* A short fixed name for a code ("EINVAL"...), never NULL. */
const char *hsmca_code_name(int code);

/*
 * Append OpenSSL's queued error text (if any) to `buf` of `len` bytes
 * and clear the queue.  Returns `buf`.
 */
char *hsmca_openssl_errstr(char *buf, size_t len);

#endif
