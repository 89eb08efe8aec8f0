/*
 * tests/fuzz/fuzz_csr.c - the CSR path a client controls: ca_csr_read()
 * (PEM or DER) and, on success, ca_csr_check() (signature, key policy,
 * name rules) under two profiles.  No token is needed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ca/ca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ca_profile strict = { .name = "strict",
	    .validity_secs = 86400, .max_names = 3, .wildcard = false,
	    .ip = false };
	struct hsmca_err err = { 0 };
	struct ca_csr *csr = NULL;
	unsigned char *der = NULL;
	size_t len = 0;

	if (ca_csr_read(data, size, &der, &len, &err) != 0)
		return 0;
	hsmca_err_clear(&err);
	if (ca_csr_check(der, len, NULL, &csr, &err) == 0)
		ca_csr_free(csr);
	csr = NULL;
	hsmca_err_clear(&err);
	if (ca_csr_check(der, len, &strict, &csr, &err) == 0)
		ca_csr_free(csr);
	free(der);
	return 0;
}
