/*
 * tests/store/fuzz_store_codec.c - the record decoder over arbitrary
 * bytes.  Stored records are trusted less than code: a damaged or
 * hostile data.mdb must never make the decoder read out of bounds.
 * Whatever decodes must encode back to exactly the same bytes (the
 * encoding is canonical, so nothing is lost or invented).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_cert *c = NULL;
	unsigned char *buf = NULL;
	size_t len;

	if (store_cert_decode(data, size, &c) != 0)
		return 0;
	if (store_cert_encode(c, &buf, &len) != 0 || len != size ||
	    memcmp(buf, data, size) != 0)
		abort();
	free(buf);
	store_cert_free(c);
	return 0;
}
