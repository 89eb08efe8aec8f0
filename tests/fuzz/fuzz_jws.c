/*
 * tests/fuzz/fuzz_jws.c - fuzz the JWS parser (protocol/jws.c) and, through
 * it, base64url and the JWK parser: arbitrary bytes as an ACME request
 * body and as a keyChange inner JWS; when a body parses with an embedded
 * jwk, verify it too and take the key's thumbprint.  The bytes are also
 * tried as the decoded protected header of an otherwise valid body, so
 * mutations reach the header and JWK rules without first having to
 * survive base64url.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Wrap `data` as the protected header of a body with a 64-byte signature. */
static void
as_header(const uint8_t *data, size_t size)
{
	static const unsigned char sig[64];
	char *hdr = NULL, *body = NULL;
	char sigenc[128];
	size_t len;

	if (size == 0 || data[0] != '{' || size > JWS_MAX_BODY / 2)
		return;
	if ((hdr = b64url_encode(data, size)) == NULL)
		goto out;
	b64url_encode_buf(sig, sizeof(sig), sigenc);
	len = strlen(hdr) + strlen(sigenc) + 64;
	if ((body = malloc(len)) == NULL)
		goto out;
	snprintf(body, len, "{\"protected\":\"%s\",\"payload\":\"e30\","
	    "\"signature\":\"%s\"}", hdr, sigenc);
	one((const uint8_t *)body, strlen(body), 0);
	one((const uint8_t *)body, strlen(body), JWS_INNER);
out:
	free(hdr);
	free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, 0);
	one(data, size, JWS_INNER);
	as_header(data, size);
	return 0;
}
