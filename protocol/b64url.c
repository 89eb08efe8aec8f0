/*
 * protocol/b64url.c - base64url without padding (RFC 4648 5, as RFC 7515
 * 2 uses it).  Decoding is strict: JWS signing input is compared byte for
 * byte, so only the canonical encoding of a value is accepted.
 */
#include "protocol/jws.h"

#include <stdlib.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of `c`, or -1 outside the URL-safe alphabet. */
static int
sextet(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decoded size of `len` characters, or (size_t)-1 for a length of 4k+1. */
static size_t
decoded_len(size_t len)
{
	if (len % 4 == 1)
		return (size_t)-1;
	return len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
}

/*
 * Length of the encoding of `n` bytes: four characters per three bytes,
 * two for a trailing byte, three for two.
 */
size_t
b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

/* Encode into a buffer of b64url_encoded_len(len) + 1 bytes. */
void
b64url_encode_buf(const unsigned char *in, size_t len, char *out)
{
	size_t i, o = 0;
	unsigned long v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
		out[o++] = alphabet[v & 0x3f];
	}
	if (len - i == 1) {
		v = (unsigned long)in[i] << 16;
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
	} else if (len - i == 2) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
	}
	out[o] = '\0';
}

/* Encode into a new string; free() it. */
char *
b64url_encode(const unsigned char *in, size_t len)
{
	char *out;

	if ((out = malloc(b64url_encoded_len(len) + 1)) == NULL)
		return NULL;
	b64url_encode_buf(in, len, out);
	return out;
}

/* Decode into a buffer that is known to be large enough. */
static int
decode(const char *in, size_t len, unsigned char *out, struct hsmca_err *err)
{
	size_t i, o = 0, rest;
	unsigned long v = 0;
	int s;

	for (i = 0; i < len; i++) {
		if ((s = sextet((unsigned char)in[i])) < 0)
			return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
			    "RFC 7515 2: character 0x%02x at offset %zu is "
			    "not base64url without padding",
			    (unsigned char)in[i], i);
		v = v << 6 | (unsigned long)s;
		if (i % 4 == 3) {
			out[o++] = v >> 16 & 0xff;
			out[o++] = v >> 8 & 0xff;
			out[o++] = v & 0xff;
			v = 0;
		}
	}
	/* A partial group carries 1 or 2 bytes; its spare bits must be 0. */
	rest = len % 4;
	if (rest == 2) {
		if (v & 0xf)
			goto noncanonical;
		out[o++] = v >> 4 & 0xff;
	} else if (rest == 3) {
		if (v & 0x3)
			goto noncanonical;
		out[o++] = v >> 10 & 0xff;
		out[o++] = v >> 2 & 0xff;
	}
	return 0;
noncanonical:
	return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
	    "RFC 4648 3.5: base64url value ends in non-zero pad bits");
}

/* Strict decode into a new buffer (plus NUL); free() it. */
int
b64url_decode(const char *in, size_t len, unsigned char **out,
    size_t *outlen, struct hsmca_err *err)
{
	unsigned char *buf = NULL;
	size_t n;
	int rc;

	*out = NULL;
	*outlen = 0;
	if ((n = decoded_len(len)) == (size_t)-1)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 4648 5: base64url length %zu is impossible "
		    "(4k+1 characters)", len);
	if ((buf = malloc(n + 1)) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory decoding base64url");
	if ((rc = decode(in, len, buf, err)) != 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}

/* Strict decode into the caller's buffer. */
int
b64url_decode_buf(const char *in, size_t len, unsigned char *out,
    size_t outsz, size_t *outlen, struct hsmca_err *err)
{
	size_t n;
	int rc;

	*outlen = 0;
	if ((n = decoded_len(len)) == (size_t)-1)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 4648 5: base64url length %zu is impossible "
		    "(4k+1 characters)", len);
	if (n > outsz)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "base64url value of %zu bytes exceeds %zu", n, outsz);
	if ((rc = decode(in, len, out, err)) != 0)
		return rc;
	*outlen = n;
	return 0;
}
