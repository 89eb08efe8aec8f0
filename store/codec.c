/*
 * store/codec.c - the binary encoding of stored records.
 *
 * A record starts with a type byte and a version byte; the fields
 * follow as fixed-width big-endian integers and length-prefixed byte
 * strings.  Decoding is bounds-checked and must consume exactly the
 * bytes it was given: a short, long or malformed value is refused
 * rather than half-read.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define CODEC_MAX (1u << 30)	/* no record is near a GiB */
#define NAME_LEN_MAX 0xffffu

/* Make room for `n` more bytes, doubling; sticky on failure. */
static int
w_grow(struct store_codec_w *w, size_t n)
{
	unsigned char *nb;
	size_t cap;

	if (w->err != 0)
		return w->err;
	if (n > CODEC_MAX - w->len)
		return w->err = HSMCA_EINVAL;
	if (w->len + n <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 128;
	while (cap < w->len + n)
		cap *= 2;
	if ((nb = realloc(w->buf, cap)) == NULL)
		return w->err = HSMCA_ENOMEM;
	w->buf = nb;
	w->cap = cap;
	return 0;
}

/* Write `v` as 8 big-endian bytes (index keys, fixed fields). */
void
store_codec_put_be64(unsigned char out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* Read 8 big-endian bytes. */
uint64_t
store_codec_get_be64(const unsigned char in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

/* Append one unsigned integer of `n` bytes, big-endian. */
static void
w_uint(struct store_codec_w *w, uint64_t v, size_t n)
{
	unsigned char b[8];

	store_codec_put_be64(b, v);
	store_codec_w_bytes(w, b + 8 - n, n);
}

/* Append one byte. */
void
store_codec_w_u8(struct store_codec_w *w, uint8_t v)
{
	w_uint(w, v, 1);
}

/* Append a 16-bit value, big-endian. */
void
store_codec_w_u16(struct store_codec_w *w, uint16_t v)
{
	w_uint(w, v, 2);
}

/* Append a 32-bit value, big-endian. */
void
store_codec_w_u32(struct store_codec_w *w, uint32_t v)
{
	w_uint(w, v, 4);
}

/* Append a 64-bit value, big-endian. */
void
store_codec_w_u64(struct store_codec_w *w, uint64_t v)
{
	w_uint(w, v, 8);
}

/* Append `n` raw bytes (n may be 0, p then may be NULL). */
void
store_codec_w_bytes(struct store_codec_w *w, const void *p, size_t n)
{
	if (w_grow(w, n) != 0 || n == 0)
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/*
 * Take the next `n` bytes; NULL (and sticky HSMCA_EINVAL) when fewer
 * remain.  The pointer is into the input.
 */
const unsigned char *
store_codec_r_bytes(struct store_codec_r *r, size_t n)
{
	const unsigned char *p;

	if (r->err != 0)
		return NULL;
	if (n > r->len - r->pos) {
		r->err = HSMCA_EINVAL;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos += n;
	return p;
}

/* Read one big-endian unsigned integer of `n` bytes; 0 on error. */
static uint64_t
r_uint(struct store_codec_r *r, size_t n)
{
	const unsigned char *p;
	uint64_t v = 0;
	size_t i;

	if ((p = store_codec_r_bytes(r, n)) == NULL)
		return 0;
	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Read one byte; 0 (and sticky HSMCA_EINVAL) when none is left. */
uint8_t
store_codec_r_u8(struct store_codec_r *r)
{
	return (uint8_t)r_uint(r, 1);
}

/* Read a big-endian 16-bit value; 0 and sticky error when short. */
uint16_t
store_codec_r_u16(struct store_codec_r *r)
{
	return (uint16_t)r_uint(r, 2);
}

/* Read a big-endian 32-bit value; 0 and sticky error when short. */
uint32_t
store_codec_r_u32(struct store_codec_r *r)
{
	return (uint32_t)r_uint(r, 4);
}

/* Read a big-endian 64-bit value; 0 and sticky error when short. */
uint64_t
store_codec_r_u64(struct store_codec_r *r)
{
	return r_uint(r, 8);
}

/*
 * Encode a certificate record, version 1:
 *   u8 'C', u8 1, u8 serial_len, serial, u8 status,
 *   u64 not_before, not_after, issued_at, revoked_at (two's complement),
 *   u32 revoke_reason (two's complement), u64 account_id, lineage_id,
 *   u8 pred_serial_len, pred_serial, u32 crl_shard,
 *   u8 profile_len, profile, u32 nnames, { u16 len, name } * nnames,
 *   u32 der_len, der.
 * Returns 0, HSMCA_EINVAL for a field out of range, or HSMCA_ENOMEM.
 */
int
store_cert_encode(const struct store_cert *c, unsigned char **out,
    size_t *outlen)
{
	struct store_codec_w w = { NULL, 0, 0, 0 };
	size_t i, plen, nlen;
	int rc = HSMCA_EINVAL;

	*out = NULL;
	*outlen = 0;
	plen = strnlen(c->profile, sizeof(c->profile));
	if (c->serial_len == 0 || c->serial_len > STORE_SERIAL_MAX ||
	    c->pred_serial_len > STORE_SERIAL_MAX ||
	    plen == sizeof(c->profile) ||
	    c->nnames > UINT32_MAX || c->der_len > UINT32_MAX ||
	    (c->nnames > 0 && c->names == NULL) ||
	    (c->der_len > 0 && c->der == NULL) ||
	    c->status < 0 || c->status > 0xff)
		goto out;
	store_codec_w_u8(&w, STORE_REC_CERT);
	store_codec_w_u8(&w, STORE_REC_CERT_V1);
	store_codec_w_u8(&w, (uint8_t)c->serial_len);
	store_codec_w_bytes(&w, c->serial, c->serial_len);
	store_codec_w_u8(&w, (uint8_t)c->status);
	store_codec_w_u64(&w, (uint64_t)c->not_before);
	store_codec_w_u64(&w, (uint64_t)c->not_after);
	store_codec_w_u64(&w, (uint64_t)c->issued_at);
	store_codec_w_u64(&w, (uint64_t)c->revoked_at);
	store_codec_w_u32(&w, (uint32_t)c->revoke_reason);
	store_codec_w_u64(&w, c->account_id);
	store_codec_w_u64(&w, c->lineage_id);
	store_codec_w_u8(&w, (uint8_t)c->pred_serial_len);
	store_codec_w_bytes(&w, c->pred_serial, c->pred_serial_len);
	store_codec_w_u32(&w, c->crl_shard);
	store_codec_w_u8(&w, (uint8_t)plen);
	store_codec_w_bytes(&w, c->profile, plen);
	store_codec_w_u32(&w, (uint32_t)c->nnames);
	for (i = 0; i < c->nnames; i++) {
		if (c->names[i] == NULL ||
		    (nlen = strlen(c->names[i])) == 0 || nlen > NAME_LEN_MAX) {
			rc = HSMCA_EINVAL;
			goto out;
		}
		store_codec_w_u16(&w, (uint16_t)nlen);
		store_codec_w_bytes(&w, c->names[i], nlen);
	}
	store_codec_w_u32(&w, (uint32_t)c->der_len);
	store_codec_w_bytes(&w, c->der, c->der_len);
	if ((rc = w.err) != 0)
		goto out;
	*out = w.buf;
	*outlen = w.len;
	w.buf = NULL;
	rc = 0;
out:
	free(w.buf);
	return rc;
}

/*
 * Decode a version 1 certificate record, refusing anything that the
 * encoder could not have written: wrong type or version, lengths out
 * of range, empty names or names holding a NUL, bytes short or left
 * over.
 */
int
store_cert_decode(const unsigned char *p, size_t len, struct store_cert **out)
{
	struct store_codec_r r = { p, len, 0, 0 };
	struct store_cert *c = NULL;
	const unsigned char *b;
	uint32_t n32;
	size_t i, n;
	int rc = HSMCA_EINVAL;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		rc = HSMCA_ENOMEM;
		goto out;
	}
	if (store_codec_r_u8(&r) != STORE_REC_CERT ||
	    store_codec_r_u8(&r) != STORE_REC_CERT_V1)
		goto out;
	n = store_codec_r_u8(&r);
	if (n == 0 || n > STORE_SERIAL_MAX ||
	    (b = store_codec_r_bytes(&r, n)) == NULL)
		goto out;
	memcpy(c->serial, b, n);
	c->serial_len = n;
	c->status = store_codec_r_u8(&r);
	c->not_before = (int64_t)store_codec_r_u64(&r);
	c->not_after = (int64_t)store_codec_r_u64(&r);
	c->issued_at = (int64_t)store_codec_r_u64(&r);
	c->revoked_at = (int64_t)store_codec_r_u64(&r);
	c->revoke_reason = (int32_t)store_codec_r_u32(&r);
	c->account_id = store_codec_r_u64(&r);
	c->lineage_id = store_codec_r_u64(&r);
	n = store_codec_r_u8(&r);
	if (n > STORE_SERIAL_MAX || (b = store_codec_r_bytes(&r, n)) == NULL)
		goto out;
	if (n > 0)
		memcpy(c->pred_serial, b, n);
	c->pred_serial_len = n;
	c->crl_shard = store_codec_r_u32(&r);
	n = store_codec_r_u8(&r);
	if (n >= sizeof(c->profile) ||
	    (b = store_codec_r_bytes(&r, n)) == NULL ||
	    (n > 0 && memchr(b, '\0', n) != NULL))
		goto out;
	if (n > 0)
		memcpy(c->profile, b, n);
	n32 = store_codec_r_u32(&r);
	/* Each name takes at least 3 bytes: bound the allocation by input. */
	if (r.err != 0 || n32 > (r.len - r.pos) / 3)
		goto out;
	if (n32 > 0 && (c->names = calloc(n32, sizeof(char *))) == NULL) {
		rc = HSMCA_ENOMEM;
		goto out;
	}
	for (i = 0; i < n32; i++) {
		n = store_codec_r_u16(&r);
		if (n == 0 || (b = store_codec_r_bytes(&r, n)) == NULL ||
		    memchr(b, '\0', n) != NULL)
			goto out;
		if ((c->names[i] = malloc(n + 1)) == NULL) {
			rc = HSMCA_ENOMEM;
			goto out;
		}
		memcpy(c->names[i], b, n);
		c->names[i][n] = '\0';
		c->nnames = i + 1;
	}
	n32 = store_codec_r_u32(&r);
	if ((b = store_codec_r_bytes(&r, n32)) == NULL)
		goto out;
	if (n32 > 0) {
		if ((c->der = malloc(n32)) == NULL) {
			rc = HSMCA_ENOMEM;
			goto out;
		}
		memcpy(c->der, b, n32);
	}
	c->der_len = n32;
	if (r.err != 0 || r.pos != r.len)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	store_cert_free(c);
	return rc;
}

/*
 * Hex for messages (serials in error details and check reports).  See
 * store_int.h.
 */
char *
store_hex(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (outlen == 0)
		return out;
	for (i = 0; i < len && 2 * i + 2 < outlen; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * i] = '\0';
	return out;
}
