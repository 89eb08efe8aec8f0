/*
 * hsm/keygen.c - generate a key pair inside the token.
 *
 * C_GenerateKeyPair is called with our own templates because libp11
 * 0.4.12 generates RSA only and cannot set CKA_SENSITIVE or
 * CKA_EXTRACTABLE; the private key must never be readable.
 */
#include "hsm/hsm_int.h"

#include <stdint.h>
#include <string.h>

#include <openssl/rand.h>

static CK_BBOOL ck_true = CK_TRUE;
static CK_BBOOL ck_false = CK_FALSE;

static int
rsa_bits(enum hsm_key_type type, CK_ULONG *bits)
{
	switch (type) {
	case HSM_KEY_RSA_2048: *bits = 2048; return 1;
	case HSM_KEY_RSA_3072: *bits = 3072; return 1;
	case HSM_KEY_RSA_4096: *bits = 4096; return 1;
	default: return 0;
	}
}

/* HSMCA_EEXIST when a private key labelled `label` is in the token. */
static int
label_free(struct hsm *hsm, const char *label, struct hsmca_err *err)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)(uintptr_t)label, strlen(label) },
	};
	CK_OBJECT_HANDLE o;
	CK_ULONG n;
	int rc;

	if ((rc = hsm_find_objects(hsm, t, 2, &o, 1, &n, err)) != 0)
		return rc;
	if (n > 0)
		return hsmca_err_set(err, HSMCA_EEXIST, HSM_ERRTYPE,
		    "the token already holds a private key labelled \"%s\"",
		    label);
	return 0;
}

/* See hsm.h. */
int
hsm_key_generate(struct hsm *hsm, enum hsm_key_type type,
    const char *label, struct hsmca_err *err)
{
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_BYTE exponent[] = { 0x01, 0x00, 0x01 };	/* 65537 */
	CK_BYTE id[HSM_ID_LEN];
	CK_ULONG bits = 0;
	CK_OBJECT_HANDLE pubh, privh;
	const unsigned char *ecp;
	size_t ecplen, lablen;
	CK_RV rv;
	int rc;

	if (label == NULL || (lablen = strlen(label)) == 0)
		return hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "a key needs a non-empty label");
	ecp = hsm_key_type_ec_params(type, &ecplen);
	if (ecp == NULL && !rsa_bits(type, &bits))
		return hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "unknown key type %d", (int)type);
	if ((rc = label_free(hsm, label, err)) != 0)
		return rc;
	if (RAND_bytes(id, sizeof(id)) != 1)
		return hsmca_err_set(err, HSMCA_EINTERNAL, HSM_ERRTYPE,
		    "RAND_bytes failed for a key id");

	CK_ATTRIBUTE priv[] = {
		{ CKA_TOKEN, &ck_true, sizeof(ck_true) },
		{ CKA_PRIVATE, &ck_true, sizeof(ck_true) },
		{ CKA_SENSITIVE, &ck_true, sizeof(ck_true) },
		{ CKA_EXTRACTABLE, &ck_false, sizeof(ck_false) },
		{ CKA_SIGN, &ck_true, sizeof(ck_true) },
		{ CKA_DECRYPT, &ck_false, sizeof(ck_false) },
		{ CKA_UNWRAP, &ck_false, sizeof(ck_false) },
		{ CKA_DERIVE, &ck_false, sizeof(ck_false) },
		{ CKA_LABEL, (void *)(uintptr_t)label, lablen },
		{ CKA_ID, id, sizeof(id) },
	};
	CK_ATTRIBUTE pub[] = {
		{ CKA_TOKEN, &ck_true, sizeof(ck_true) },
		{ CKA_PRIVATE, &ck_false, sizeof(ck_false) },
		{ CKA_VERIFY, &ck_true, sizeof(ck_true) },
		{ CKA_ENCRYPT, &ck_false, sizeof(ck_false) },
		{ CKA_WRAP, &ck_false, sizeof(ck_false) },
		{ CKA_LABEL, (void *)(uintptr_t)label, lablen },
		{ CKA_ID, id, sizeof(id) },
		/* The last two differ between EC and RSA. */
		{ CKA_EC_PARAMS, (void *)(uintptr_t)ecp, ecplen },
		{ 0, NULL, 0 },
	};
	CK_ULONG npub = 8;

	if (ecp == NULL) {
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		pub[7].type = CKA_MODULUS_BITS;
		pub[7].pValue = &bits;
		pub[7].ulValueLen = sizeof(bits);
		pub[8].type = CKA_PUBLIC_EXPONENT;
		pub[8].pValue = exponent;
		pub[8].ulValueLen = sizeof(exponent);
		npub = 9;
	}
	pthread_mutex_lock(&hsm->lock);
	rv = hsm->mod.fl->C_GenerateKeyPair(hsm->session, &mech, pub, npub,
	    priv, sizeof(priv) / sizeof(priv[0]), &pubh, &privh);
	pthread_mutex_unlock(&hsm->lock);
	if (rv != CKR_OK)
		return hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "C_GenerateKeyPair (%s, \"%s\") failed: %s",
		    hsm_key_type_name(type), label, hsm_ckr_name(rv));
	return 0;
}
