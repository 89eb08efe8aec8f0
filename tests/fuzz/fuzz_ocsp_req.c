/*
 * tests/fuzz/fuzz_ocsp_req.c - the OCSP request a client controls:
 * ca_ocsp_parse_request() (DER OCSPRequest, one CertID, SHA-1/SHA-256,
 * serial bounds).  No token or store is needed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ca/ca_ocsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsmca_err err = { 0 };
	struct ca_ocsp_req req;

	if (ca_ocsp_parse_request(data, size, &req, &err) == 0 &&
	    (req.serial_len == 0 || req.serial_len > STORE_SERIAL_MAX ||
	    (req.hash_len != 20 && req.hash_len != 32)))
		abort();	/* a success must hold what it promises */
	return 0;
}
