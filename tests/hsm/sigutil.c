/*
 * tests/hsm/sigutil.c - see sigutil.h.
 */
#include "sigutil.h"

#include <stdlib.h>
#include <string.h>

int
sign_verify(EVP_PKEY *priv, EVP_PKEY *pub, const unsigned char *msg,
    size_t len, int flip)
{
	EVP_MD_CTX *s = NULL, *v = NULL;
	unsigned char sig[1024], *m2 = NULL;
	size_t siglen = sizeof(sig);
	int ok = 0;

	if ((s = EVP_MD_CTX_new()) == NULL || (v = EVP_MD_CTX_new()) == NULL ||
	    (m2 = malloc(len + 1)) == NULL)
		goto out;
	if (EVP_DigestSignInit(s, NULL, EVP_sha256(), NULL, priv) != 1 ||
	    EVP_DigestSign(s, sig, &siglen, msg, len) != 1)
		goto out;
	memcpy(m2, msg, len);
	if (flip && len > 0)
		m2[0] ^= 0x01;
	if (EVP_DigestVerifyInit(v, NULL, EVP_sha256(), NULL, pub) != 1)
		goto out;
	ok = EVP_DigestVerify(v, sig, siglen, m2, len) == 1;
out:
	free(m2);
	EVP_MD_CTX_free(s);
	EVP_MD_CTX_free(v);
	return ok;
}
