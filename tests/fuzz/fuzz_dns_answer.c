/*
 * tests/fuzz/fuzz_dns_answer.c - DNS messages as a resolver hands them
 * to the validators: val_answer_parse() (protocol/validate_dns.c, ldns
 * underneath) for each type they ask, and each RDATA it returns read
 * to its last octet, so that a length that overstates a copy is caught
 * by the sanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/validate_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { VAL_RR_A, VAL_RR_AAAA, VAL_RR_TXT,
	    VAL_RR_CAA };
	struct val_answer *a;
	unsigned char *copy;
	unsigned sum = 0;
	size_t t, i, j;

	/* An exact-size copy: a read past the end is caught. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		if ((a = val_answer_parse(copy, size, types[t])) == NULL)
			continue;
		if (a->havedata != (a->n > 0))
			abort();
		for (i = 0; i < a->n; i++)
			for (j = 0; j < a->len[i]; j++)
				sum += a->data[i][j];
		val_answer_free(a);
	}
	free(copy);
	/* Used, so the reads above are not optimized away. */
	return sum == 0x7fffffffu ? -1 : 0;
}
