/*
 * ca/crl_der.c - DER for the parts of a CRL that grow with the revoked
 * list.  A million entries through X509_CRL_add0_revoked, the sort and
 * i2d_X509_CRL cost seconds; the entries come out of the store already
 * in serial order and each is a few fixed-shape fields, so they are
 * written here directly.  The constant parts (names, extensions,
 * algorithm) are still encoded by OpenSSL.
 */
#include "ca/crl_int.h"

#include <stdlib.h>
#include <string.h>

/* Append bytes, growing by doubling.  See crl_int.h. */
void
crl_buf_put(struct crl_buf *b, const void *p, size_t n)
{
	unsigned char *np;
	size_t cap;

	if (b->err != 0 || n == 0)
		return;
	if (b->cap - b->len < n) {
		cap = b->cap ? b->cap : 4096;
		while (cap - b->len < n)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->err = HSMCA_ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* See crl_int.h. */
void
crl_buf_reserve(struct crl_buf *b, size_t n)
{
	unsigned char *np;

	if (b->err != 0 || b->cap - b->len >= n)
		return;
	if ((np = realloc(b->p, b->len + n)) == NULL) {
		b->err = HSMCA_ENOMEM;
		return;
	}
	b->p = np;
	b->cap = b->len + n;
}

void
crl_buf_free(struct crl_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Tag and definite length (X.690 8.1.3).  See crl_int.h. */
size_t
crl_der_hdr(unsigned char out[6], unsigned char tag, size_t len)
{
	size_t n = 0, i;

	out[0] = tag;
	if (len < 0x80) {
		out[1] = (unsigned char)len;
		return 2;
	}
	for (size_t l = len; l > 0; l >>= 8)
		n++;
	out[1] = (unsigned char)(0x80 | n);
	for (i = 0; i < n; i++)
		out[2 + i] = (unsigned char)(len >> (8 * (n - 1 - i)));
	return 2 + n;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void
civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static unsigned char *
two(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)('0' + v / 10);
	p[1] = (unsigned char)('0' + v % 10);
	return p + 2;
}

/* UTCTime or GeneralizedTime, seconds, 'Z'.  See crl_int.h. */
size_t
crl_der_time(unsigned char out[17], int64_t t)
{
	int64_t days = t / 86400, secs = t % 86400, y;
	unsigned m, d;
	unsigned char *p;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return 0;
	p = out + 2;
	if (y >= 1950 && y <= 2049) {
		out[0] = 0x17;		/* UTCTime */
		out[1] = 13;
		p = two(p, (unsigned)(y % 100));
	} else {
		out[0] = 0x18;		/* GeneralizedTime */
		out[1] = 15;
		p = two(p, (unsigned)(y / 100));
		p = two(p, (unsigned)(y % 100));
	}
	p = two(p, m);
	p = two(p, d);
	p = two(p, (unsigned)(secs / 3600));
	p = two(p, (unsigned)(secs / 60 % 60));
	p = two(p, (unsigned)(secs % 60));
	*p++ = 'Z';
	return (size_t)(p - out);
}

/*
 * Extensions { Extension { reasonCode (2.5.29.21), OCTET STRING {
 * ENUMERATED code } } }: fixed but for the last octet.
 */
static const unsigned char reason_ext[] = {
	0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15,
	0x04, 0x03, 0x0a, 0x01, 0x00
};

/* One revokedCertificates entry.  See crl_int.h. */
void
crl_der_entry(struct crl_buf *b, const unsigned char *serial,
    size_t serial_len, int64_t revoked_at, int reason)
{
	unsigned char e[2 + 2 + 21 + 17 + sizeof(reason_ext)];
	size_t n, tl;

	if (serial_len == 0 || serial_len > 21) {
		b->err = HSMCA_EINVAL;
		return;
	}
	n = 2;
	e[n++] = 0x02;			/* userCertificate INTEGER */
	e[n++] = (unsigned char)serial_len;
	memcpy(e + n, serial, serial_len);
	n += serial_len;
	if ((tl = crl_der_time(e + n, revoked_at)) == 0) {
		b->err = HSMCA_EINVAL;
		return;
	}
	n += tl;
	/* RFC 5280 5.3.1: unspecified is written by leaving it out. */
	if (reason != 0) {
		memcpy(e + n, reason_ext, sizeof(reason_ext));
		e[n + sizeof(reason_ext) - 1] = (unsigned char)reason;
		n += sizeof(reason_ext);
	}
	e[0] = 0x30;
	e[1] = (unsigned char)(n - 2);	/* always < 128 */
	crl_buf_put(b, e, n);
}
