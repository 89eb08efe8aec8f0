/*
 * ca/serial.c - certificate serial numbers: generation, hex, CRL shard.
 */
#include "ca/ca_int.h"

#include <ctype.h>
#include <string.h>

#include <openssl/rand.h>

/*
 * CA/B BR 7.1: serials are non-sequential with at least 64 bits from a
 * CSPRNG.  We take 16 octets from RAND_bytes, clear the top bit so the
 * DER INTEGER is positive without a padding octet, and redraw when the
 * first octet is then zero (the encoding would shrink below 16 octets).
 */
int
ca_serial_new(unsigned char serial[CA_SERIAL_LEN], struct hsmca_err *err)
{
	do {
		if (RAND_bytes(serial, CA_SERIAL_LEN) != 1)
			return hsmca_err_set(err, HSMCA_EINTERNAL,
			    "serverInternal", "RAND_bytes failed");
		serial[0] &= 0x7f;
	} while (serial[0] == 0);
	return 0;
}

/* Lower-case hex; `out` holds 2*len+1 bytes. */
void
ca_serial_hex(const unsigned char *serial, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[serial[i] >> 4];
		out[2 * i + 1] = hex[serial[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Parse hex digits, colons allowed between octets ("0a:1b" or "0a1b"),
 * into at most STORE_SERIAL_MAX octets (RFC 5280 4.1.2.2).
 */
int
ca_serial_parse(const char *hex, unsigned char *serial, size_t *len,
    struct hsmca_err *err)
{
	size_t n = 0, digits = 0;
	int hi = -1;

	for (const char *p = hex; *p != '\0'; p++) {
		int v;

		if (*p == ':') {
			if (hi >= 0 || p == hex || p[1] == '\0' || p[1] == ':')
				goto bad;
			continue;
		}
		if ((v = hexval((unsigned char)*p)) < 0)
			goto bad;
		digits++;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == STORE_SERIAL_MAX)
			return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
			    "RFC 5280 4.1.2.2: serial \"%.64s\" is longer than "
			    "20 octets", hex);
		serial[n++] = (unsigned char)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0 || digits == 0)
		goto bad;
	*len = n;
	return 0;
bad:
	return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
	    "serial \"%.64s\" is not an even number of hex digits", hex);
}

/* The serial as an unsigned big-endian number, modulo nshards. */
uint32_t
ca_crl_shard(const unsigned char *serial, size_t len, uint32_t nshards)
{
	uint64_t r = 0;

	if (nshards <= 1)
		return 0;
	for (size_t i = 0; i < len; i++)
		r = (r * 256 + serial[i]) % nshards;
	return (uint32_t)r;
}
