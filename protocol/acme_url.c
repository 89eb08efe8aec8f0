/*
 * protocol/acme_url.c - the URLs of ACME resources, the random ids and
 * tokens in them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "protocol/acme_int.h"

/* base_url followed by the formatted path. */
void
acme_url(const struct acme *a, char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(out, len, "%s", a->base);
	if (n < 0 || (size_t)n >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, len - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * A decimal id of `len` characters: digits only, no leading zero, not
 * zero, fits 64 bits.  One id has one spelling, so one URL names it.
 */
int
acme_id_parse(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Random ids: unguessable URLs and no shared counter to contend on. */
int
acme_id_new(uint64_t *out, struct hsmca_err *err)
{
	unsigned char b[8];
	uint64_t v;
	size_t i;

	do {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return hsmca_err_set(err, HSMCA_EINTERNAL,
			    "serverInternal", "acme: random generator failed");
		v = 0;
		for (i = 0; i < 8; i++)
			v = (v << 8) | b[i];
		/* 63 bits: ids stay positive wherever they are shown. */
		v &= UINT64_MAX >> 1;
	} while (v == 0);
	*out = v;
	return 0;
}

/* RFC 8555 8.1: at least 128 bits of entropy, base64url. */
int
acme_token_new(char *out, size_t len, struct hsmca_err *err)
{
	unsigned char b[ACME_TOKEN_BYTES];

	if (len < b64url_encoded_len(sizeof(b)) + 1)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "acme: token buffer too small");
	if (RAND_bytes(b, sizeof(b)) != 1)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "acme: random generator failed");
	b64url_encode_buf(b, sizeof(b), out);
	return 0;
}
