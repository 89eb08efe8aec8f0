/*
 * hsm/pubkey.c - turn a public key object into an ordinary EVP_PKEY.
 *
 * Built from the object's attributes with EVP_PKEY_fromdata so that the
 * result is a plain provider key (verify, i2d_PUBKEY, X509_set_pubkey)
 * with no tie to libp11 or the token's lifetime.
 */
#include "hsm/hsm_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

static int
fromdata(const char *alg, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	EVP_PKEY_CTX *pctx = NULL;
	OSSL_PARAM *params = NULL;
	int ok = 0;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	ok = 1;
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	return ok;
}

static int
load_rsa(struct hsm *hsm, CK_OBJECT_HANDLE obj, OSSL_PARAM_BLD *bld,
    EVP_PKEY **out, struct hsmca_err *err)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nlen, elen;
	BIGNUM *bn = NULL, *be = NULL;
	int rc;

	if ((rc = hsm_get_attr(hsm, obj, CKA_MODULUS, &n, &nlen, err)) != 0 ||
	    (rc = hsm_get_attr(hsm, obj, CKA_PUBLIC_EXPONENT, &e, &elen,
	    err)) != 0)
		goto out;
	rc = HSMCA_EHSM;
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    !fromdata("RSA", bld, out)) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "cannot build an RSA public key from the token's object");
		goto out;
	}
	rc = 0;
out:
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return rc;
}

static int
load_ec(struct hsm *hsm, CK_OBJECT_HANDLE obj, OSSL_PARAM_BLD *bld,
    EVP_PKEY **out, struct hsmca_err *err)
{
	unsigned char *par = NULL, *pt = NULL;
	const unsigned char *p;
	size_t parlen, ptlen;
	ASN1_OBJECT *oid = NULL;
	ASN1_OCTET_STRING *os = NULL;
	const char *group;
	int rc;

	if ((rc = hsm_get_attr(hsm, obj, CKA_EC_PARAMS, &par, &parlen,
	    err)) != 0 ||
	    (rc = hsm_get_attr(hsm, obj, CKA_EC_POINT, &pt, &ptlen, err)) != 0)
		goto out;
	rc = HSMCA_EHSM;
	p = par;
	if ((oid = d2i_ASN1_OBJECT(NULL, &p, (long)parlen)) == NULL ||
	    p != par + parlen ||
	    (group = OBJ_nid2sn(OBJ_obj2nid(oid))) == NULL) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "EC key with CKA_EC_PARAMS that is not a named curve");
		goto out;
	}
	/* PKCS#11 2.40 wraps CKA_EC_POINT in a DER OCTET STRING. */
	p = pt;
	if ((os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)ptlen)) == NULL ||
	    p != pt + ptlen) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "EC key with a CKA_EC_POINT that is not DER");
		goto out;
	}
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os)) ||
	    !fromdata("EC", bld, out)) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "cannot build an EC public key from the token's object");
		goto out;
	}
	rc = 0;
out:
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
	free(par);
	free(pt);
	return rc;
}

/*
 * The public key object `obj` as an EVP_PKEY in *out (the caller's).
 * Returns 0, HSMCA_EINVAL for key types other than RSA and EC, or the
 * error of an attribute read.
 */
int
hsm_pubkey_load(struct hsm *hsm, CK_OBJECT_HANDLE obj, EVP_PKEY **out,
    struct hsmca_err *err)
{
	OSSL_PARAM_BLD *bld = NULL;
	unsigned char *kt = NULL;
	CK_KEY_TYPE type;
	size_t ktlen;
	int rc;

	*out = NULL;
	if ((rc = hsm_get_attr(hsm, obj, CKA_KEY_TYPE, &kt, &ktlen, err)) != 0)
		goto out;
	rc = HSMCA_EINVAL;
	if (ktlen != sizeof(type)) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "CKA_KEY_TYPE of %zu bytes", ktlen);
		goto out;
	}
	memcpy(&type, kt, sizeof(type));
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, HSM_ERRTYPE,
		    "out of memory");
		goto out;
	}
	if (type == CKK_RSA)
		rc = load_rsa(hsm, obj, bld, out, err);
	else if (type == CKK_EC)
		rc = load_ec(hsm, obj, bld, out, err);
	else
		hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "key type 0x%lx is neither RSA nor EC",
		    (unsigned long)type);
out:
	OSSL_PARAM_BLD_free(bld);
	free(kt);
	return rc;
}
