/*
 * ca/crl_int.h - private to ca/crl*.c: the DER writer the CRL builder
 * uses for the parts that grow with the revoked list, and the CRL
 * settings.
 */
#ifndef HSMCA_CA_CRL_INT_H
#define HSMCA_CA_CRL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ca/ca_int.h"
#include "ca/ca_revoke.h"

/* A growing byte buffer; `err` is sticky (HSMCA_ENOMEM). */
struct crl_buf {
	unsigned char *p;
	size_t len, cap;
	int err;
};

/* Append `n` bytes (doubling the buffer as needed). */
void crl_buf_put(struct crl_buf *b, const void *p, size_t n);
/* Make room for `n` more bytes at once (exactly, no doubling). */
void crl_buf_reserve(struct crl_buf *b, size_t n);
/* Free the bytes; the buffer is empty and usable again. */
void crl_buf_free(struct crl_buf *b);

/* Tag and DER length octets of a value of `len` bytes into `out`
 * (at most 6 bytes); returns how many were written. */
size_t crl_der_hdr(unsigned char out[6], unsigned char tag, size_t len);

/* RFC 5280 4.1.2.5 Time as a whole TLV into `out`: UTCTime for 1950
 * through 2049, GeneralizedTime otherwise.  Returns its length (15 or
 * 17), or 0 for a year outside 0..9999. */
size_t crl_der_time(unsigned char out[17], int64_t t);

/* Append one revokedCertificates entry: userCertificate,
 * revocationDate and, unless the reason is unspecified (0), a
 * reasonCode entry extension.  Sets b->err to HSMCA_EINVAL for a time
 * crl_der_time() cannot write. */
void crl_der_entry(struct crl_buf *b, const unsigned char *serial,
    size_t serial_len, int64_t revoked_at, int reason);

/* The CRL settings in force (ca_crl_configure() or the defaults). */
struct crl_settings {
	int64_t validity_s, interval_s, revoke_delay_s;
};
void crl_settings_get(const struct ca *ca, struct crl_settings *out);

/* Build, sign and durably store `shard`'s next CRL with thisUpdate
 * `now`.  See ca_crl_build() in ca_revoke.h. */
int crl_build_at(struct ca *ca, uint32_t shard, int64_t now,
    unsigned char **der, size_t *der_len, struct ca_crl_info *info,
    struct hsmca_err *err);

#endif
