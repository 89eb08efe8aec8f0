/*
 * hsm/key.c - open a key pair of the token by PKCS#11 URI.
 *
 * The private key is found by our own search (so that the URI's
 * object= and id= are honoured exactly), then matched by CKA_ID to
 * libp11's key list to get an EVP_PKEY that signs in the token.
 *
 * Concurrency: libp11 0.4.12 signs through a per-slot session pool
 * (pkcs11_get_session/pkcs11_put_session under a mutex and condition
 * variable, up to 16 sessions; more concurrent signers wait for one), so
 * one EVP_PKEY signs safely from several threads, each signature on its
 * own session, and no lock or per-thread key is needed here.  No session
 * is opened and no object is searched per signature: the pool keeps its
 * sessions and the key's object handle is found once, here.
 * tests/hsm/test_sign.c checks this under load (4 threads x 500).
 */
#include "hsm/hsm_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>

/* Our search: the one private key the URI names. */
static int
find_private(struct hsm *hsm, P11KitUri *uri, const char *uristr,
    CK_OBJECT_HANDLE *obj, struct hsmca_err *err)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[3] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ATTRIBUTE *a;
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 1, count;
	int rc;

	/* type= (CKA_CLASS), when given, must name the private key. */
	if ((a = p11_kit_uri_get_attribute(uri, CKA_CLASS)) != NULL &&
	    (a->ulValueLen != sizeof(cls) ||
	    memcmp(a->pValue, &cls, sizeof(cls)) != 0))
		return hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "RFC 7512: key URI %s must say type=private or omit type=",
		    uristr);
	if ((a = p11_kit_uri_get_attribute(uri, CKA_LABEL)) != NULL)
		t[n++] = *a;
	if ((a = p11_kit_uri_get_attribute(uri, CKA_ID)) != NULL)
		t[n++] = *a;
	if (n == 1)
		return hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "RFC 7512: key URI %s has neither object= nor id=",
		    uristr);
	if ((rc = hsm_find_objects(hsm, t, n, found, 2, &count, err)) != 0)
		return rc;
	if (count == 0)
		return hsmca_err_set(err, HSMCA_ENOTFOUND, HSM_ERRTYPE,
		    "no private key in the token matches %s", uristr);
	if (count > 1)
		return hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "several private keys match %s; add id= to choose one",
		    uristr);
	*obj = found[0];
	return 0;
}

/* The public half: its object when present, else libp11's view. */
static int
load_public(struct hsm *hsm, struct hsm_key *key, PKCS11_KEY *pk,
    struct hsmca_err *err)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, key->id, key->id_len },
	};
	CK_OBJECT_HANDLE o;
	CK_ULONG n;
	int rc;

	if ((rc = hsm_find_objects(hsm, t, 2, &o, 1, &n, err)) != 0)
		return rc;
	if (n == 1)
		return hsm_pubkey_load(hsm, o, &key->pub, err);
	if ((key->pub = PKCS11_get_public_key(pk)) == NULL)
		return hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "the token has no public key for this private key");
	return 0;
}

static enum hsm_key_type
type_of(EVP_PKEY *pub)
{
	char group[64];
	size_t glen;

	if (EVP_PKEY_is_a(pub, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pub,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    &glen) != 1)
			return HSM_KEY_NONE;
		if (strcmp(group, "prime256v1") == 0)
			return HSM_KEY_EC_P256;
		if (strcmp(group, "secp384r1") == 0)
			return HSM_KEY_EC_P384;
		return HSM_KEY_NONE;
	}
	if (EVP_PKEY_is_a(pub, "RSA")) {
		switch (EVP_PKEY_get_bits(pub)) {
		case 2048: return HSM_KEY_RSA_2048;
		case 3072: return HSM_KEY_RSA_3072;
		case 4096: return HSM_KEY_RSA_4096;
		default: return HSM_KEY_NONE;
		}
	}
	return HSM_KEY_NONE;
}

/* See hsm.h. */
int
hsm_key_open(struct hsm *hsm, const char *uri, struct hsm_key **out,
    struct hsmca_err *err)
{
	struct hsm_key *key = NULL;
	P11KitUri *u = NULL;
	PKCS11_KEY *keys = NULL, *pk = NULL;
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	unsigned char *id = NULL;
	unsigned int i, nkeys = 0;
	char ebuf[160] = "";
	int rc;

	*out = NULL;
	if ((rc = hsm_uri_parse(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &u,
	    err)) != 0)
		goto out;
	if (!hsm_uri_match_token(u, &hsm->tinfo)) {
		rc = hsmca_err_set(err, HSMCA_ENOTFOUND, HSM_ERRTYPE,
		    "key URI %s names a token other than the open one", uri);
		goto out;
	}
	if ((rc = find_private(hsm, u, uri, &obj, err)) != 0)
		goto out;
	if ((key = calloc(1, sizeof(*key))) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, HSM_ERRTYPE,
		    "out of memory");
		goto out;
	}
	if ((rc = hsm_get_attr(hsm, obj, CKA_ID, &id, &key->id_len,
	    err)) != 0)
		goto out;
	rc = HSMCA_EHSM;
	if (key->id_len == 0 || key->id_len > sizeof(key->id)) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "key %s has a CKA_ID of %zu bytes (1..%zu supported)",
		    uri, key->id_len, sizeof(key->id));
		goto out;
	}
	memcpy(key->id, id, key->id_len);
	/* libp11 lists the token's keys afresh on each call. */
	if (PKCS11_enumerate_keys(hsm->slot->token, &keys, &nkeys) != 0) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "libp11 cannot list keys: %s",
		    hsmca_openssl_errstr(ebuf, sizeof(ebuf)));
		goto out;
	}
	for (i = 0; i < nkeys && pk == NULL; i++)
		if (keys[i].id_len == key->id_len &&
		    memcmp(keys[i].id, key->id, key->id_len) == 0)
			pk = &keys[i];
	if (pk == NULL) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "libp11 does not list the key %s", uri);
		goto out;
	}
	if ((key->priv = PKCS11_get_private_key(pk)) == NULL) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "libp11 cannot use the key %s: %s", uri,
		    hsmca_openssl_errstr(ebuf, sizeof(ebuf)));
		goto out;
	}
	if ((rc = load_public(hsm, key, pk, err)) != 0)
		goto out;
	if ((key->type = type_of(key->pub)) == HSM_KEY_NONE) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "key %s is of a type hsmca does not use (%s, %d bits)",
		    uri, EVP_PKEY_get0_type_name(key->pub),
		    EVP_PKEY_get_bits(key->pub));
		goto out;
	}
	*out = key;
	key = NULL;
	rc = 0;
out:
	free(id);
	hsm_key_free(key);
	p11_kit_uri_free(u);
	return rc;
}

/* See hsm.h. */
EVP_PKEY *
hsm_key_private(const struct hsm_key *key)
{
	return key->priv;
}

/* See hsm.h. */
EVP_PKEY *
hsm_key_public(const struct hsm_key *key)
{
	return key->pub;
}

/* See hsm.h. */
enum hsm_key_type
hsm_key_type(const struct hsm_key *key)
{
	return key->type;
}

/* See hsm.h. */
void
hsm_key_free(struct hsm_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->priv);
	EVP_PKEY_free(key->pub);
	free(key);
}
