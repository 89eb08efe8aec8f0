/*
 * tests/fuzz/fuzz_caa.c - CAA records as a zone owner writes them: the
 * RDATA splitter, the issue-value grammar (RFC 8659 4.2, RFC 8657) and
 * the decision over an RRset (protocol/validate_caa_parse.c).
 *
 * Input: an RRset as a sequence of items, each one length octet then
 * that many RDATA octets (at most 16 items; a short last item is cut to
 * what is left).  Each item is copied into its own buffer of exactly its
 * size so that a read past the end is caught by the sanitizer.  The
 * whole input is also given to the splitter and, as a value, to the
 * grammar.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/validate_int.h"

#define MAX_ITEMS	16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = { "hsmca.test", "ca.example" };
	struct val_caa_want want = { ids, 2, "https://ca.test/acct/1",
	    "http-01" };
	struct val_caa_want bare = { ids, 2, NULL, NULL };
	unsigned char *item[MAX_ITEMS];
	const unsigned char *rd[MAX_ITEMS];
	size_t len[MAX_ITEMS], n = 0, off = 0, l, i;
	struct hsmca_err err = { 0 };
	struct val_caa_rr rr;
	unsigned char *whole = NULL;
	char why[96];

	/* The whole input as one RDATA and as one value. */
	if ((whole = calloc(size > 0 ? size : 1, 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(whole, data, size);
	(void)val_caa_rdata_parse(whole, size, &rr, &err);
	(void)val_caa_value_allows(whole, size, &want, why, sizeof(why));
	(void)val_caa_value_allows(whole, size, &bare, NULL, 0);
	free(whole);

	/* The input as an RRset. */
	while (off < size && n < MAX_ITEMS) {
		l = data[off++];
		if (l > size - off)
			l = size - off;
		if ((item[n] = calloc(l > 0 ? l : 1, 1)) == NULL)
			break;
		if (l > 0)
			memcpy(item[n], data + off, l);
		rd[n] = item[n];
		len[n] = l;
		n++;
		off += l;
	}
	hsmca_err_clear(&err);
	(void)val_caa_decide(rd, len, n, false, &want, "fuzz.test", &err);
	hsmca_err_clear(&err);
	(void)val_caa_decide(rd, len, n, true, &bare, "fuzz.test", &err);
	for (i = 0; i < n; i++)
		free(item[i]);
	return 0;
}
