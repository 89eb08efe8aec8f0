/*
 * tests/fuzz/fuzz_jws.c - fuzz the JWS parser (protocol/jws.c) and, through
 * it, base64url and the JWK parser: arbitrary bytes as an ACME request
 * body and as a keyChange inner JWS; when a body parses with an embedded
 * jwk, verify it too and take the key's thumbprint.
 */
#include <stddef.h>
#include <stdint.h>

#include "protocol/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const uint8_t *data, size_t size, unsigned int flags)
{
	char tp[JWK_THUMBPRINT_LEN + 1];
	struct hsmca_err err;
	struct jws *jws = NULL;
	size_t len;

	hsmca_err_clear(&err);
	if (jws_parse_flags((const char *)data, size, flags, &jws, &err) != 0)
		return;
	(void)jws_alg(jws);
	(void)jws_nonce(jws);
	(void)jws_url(jws);
	(void)jws_kid(jws);
	(void)jws_payload(jws, &len);
	if (jws_jwk(jws) != NULL) {
		(void)jws_verify(jws, NULL, &err);
		(void)jwk_thumbprint(jws_jwk(jws), tp, NULL);
	}
	jws_free(jws);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, 0);
	one(data, size, JWS_INNER);
	return 0;
}
