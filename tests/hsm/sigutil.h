/*
 * tests/hsm/sigutil.h - sign with a token key, verify with its public key.
 */
#ifndef HSMCA_TESTS_HSM_SIGUTIL_H
#define HSMCA_TESTS_HSM_SIGUTIL_H

#include <stddef.h>

#include <openssl/evp.h>

/*
 * EVP_DigestSign SHA-256 of `msg` with `priv`, then EVP_DigestVerify
 * with `pub`.  Returns 1 when the signature verifies, 0 otherwise;
 * with `flip` set the message is altered before verifying (expect 0).
 */
int sign_verify(EVP_PKEY *priv, EVP_PKEY *pub, const unsigned char *msg,
    size_t len, int flip);

#endif
