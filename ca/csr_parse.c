/*
 * ca/csr_parse.c - decode a PKCS#10 CertificationRequest (RFC 2986 4)
 * field by field and verify its self-signature.
 *
 * d2i_X509_REQ would do, but OpenSSL 3.0 builds a decoder context for
 * every SubjectPublicKeyInfo it parses (about 200 us, more than a token
 * signature).  Here the key is rebuilt from its parameters with
 * EVP_PKEY_fromdata instead (an EC key on P-256 or P-384 from a copy of
 * the curve's prebuilt parameters), and the signature is checked over
 * the CertificationRequestInfo bytes exactly as received.
 */
#include "ca/ca_int.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

static int
bad(struct hsmca_err *err, const char *what)
{
	ERR_clear_error();
	return hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
	    "RFC 2986 4: %s", what);
}

static int
badkey(struct hsmca_err *err, const char *what)
{
	ERR_clear_error();
	return hsmca_err_set(err, HSMCA_EPOLICY, "badPublicKey", "%s", what);
}

/*
 * One definite-length TLV of the given universal tag (or context tag
 * when `ctx` is set) starting at *p, ending by `end`.  On success
 * cont and clen give its contents and *p moves past it.
 */
static int
tlv(const unsigned char **p, const unsigned char *end, int tag, bool ctx,
    const unsigned char **cont, long *clen)
{
	const unsigned char *q = *p;
	long len;
	int t, cls, r;

	if (q >= end)
		return -1;
	r = ASN1_get_object(&q, &len, &t, &cls, end - q);
	if ((r & 0x80) || (r & 0x01) || !(r & V_ASN1_CONSTRUCTED))
		return -1;
	if (t != tag || cls != (ctx ? V_ASN1_CONTEXT_SPECIFIC :
	    V_ASN1_UNIVERSAL))
		return -1;
	*cont = q;
	*clen = len;
	*p = q + len;
	return 0;
}

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
static EVP_PKEY *
rsa_key(const unsigned char *k, long klen)
{
	const unsigned char *p = k, *c;
	ASN1_INTEGER *n = NULL, *e = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	long clen;

	if (tlv(&p, k + klen, V_ASN1_SEQUENCE, false, &c, &clen) != 0 ||
	    p != k + klen)
		goto out;
	p = c;
	if ((n = d2i_ASN1_INTEGER(NULL, &p, clen)) == NULL ||
	    (e = d2i_ASN1_INTEGER(NULL, &p, c + clen - p)) == NULL ||
	    p != c + clen || ASN1_STRING_type(n) != V_ASN1_INTEGER ||
	    ASN1_STRING_type(e) != V_ASN1_INTEGER)
		goto out;
	if ((bn = ASN1_INTEGER_to_BN(n, NULL)) == NULL ||
	    (be = ASN1_INTEGER_to_BN(e, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	ASN1_INTEGER_free(n);
	ASN1_INTEGER_free(e);
	return pkey;
}

/*
 * Parameters-only keys of the curves the policy allows, built once per
 * process and only read afterwards.  EVP_PKEY_fromdata with a group name
 * rebuilds the curve from its constants for every key (Montgomery
 * contexts of the field and the order, the generator): about four times
 * the cost of copying a ready group.  They are constants, not state, so
 * they live here rather than in struct ca: ca_csr_check() has no CA.
 */
static const struct {
	int nid;
	const char *group;
} curves[] = {
	{ NID_X9_62_prime256v1, "P-256" },
	{ NID_secp384r1, "P-384" },
};
#define NCURVES (sizeof(curves) / sizeof(curves[0]))
static EVP_PKEY *curve_params[NCURVES];
static pthread_once_t curve_once = PTHREAD_ONCE_INIT;

/* A curve left NULL (out of memory) falls back to ec_key_fromdata. */
static void
curve_params_init(void)
{
	for (size_t i = 0; i < NCURVES; i++) {
		OSSL_PARAM params[2];
		EVP_PKEY_CTX *pctx;

		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_PKEY_PARAM_GROUP_NAME, (char *)curves[i].group, 0);
		params[1] = OSSL_PARAM_construct_end();
		if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC",
		    NULL)) == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
		    EVP_PKEY_fromdata(pctx, &curve_params[i],
		    EVP_PKEY_KEY_PARAMETERS, params) != 1)
			curve_params[i] = NULL;
		EVP_PKEY_CTX_free(pctx);
	}
	ERR_clear_error();
}

/* An EC point on a named curve, the curve built from its name. */
static EVP_PKEY *
ec_key_fromdata(const char *group, const unsigned char *k, long klen)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)k, (size_t)klen);
	params[2] = OSSL_PARAM_construct_end();
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(pctx);
	return pkey;
}

/*
 * An EC point on a named curve (RFC 5480 2.1.1: namedCurve only).  The
 * point is decoded and checked to lie on the curve either way
 * (EC_POINT_oct2point under both EVP_PKEY_fromdata and
 * EVP_PKEY_set1_encoded_public_key).
 */
static EVP_PKEY *
ec_key(int nid, const char *group, const unsigned char *k, long klen)
{
	EVP_PKEY *params = NULL, *pkey;

	pthread_once(&curve_once, curve_params_init);
	for (size_t i = 0; i < NCURVES; i++)
		if (curves[i].nid == nid)
			params = curve_params[i];
	if (params == NULL)
		return ec_key_fromdata(group, k, klen);
	if ((pkey = EVP_PKEY_new()) == NULL ||
	    EVP_PKEY_copy_parameters(pkey, params) != 1 ||
	    EVP_PKEY_set1_encoded_public_key(pkey, k, (size_t)klen) != 1) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

/* The EVP_PKEY of the SubjectPublicKeyInfo, for RSA and EC only; the key
 * policy (ca_key_check) then decides sizes and curves. */
static int
spki_key(struct ca_csr *csr, struct hsmca_err *err)
{
	const ASN1_OBJECT *aobj;
	const void *pval;
	const unsigned char *k = ASN1_STRING_get0_data(csr->spki_key);
	long klen = ASN1_STRING_length(csr->spki_key);
	int ptype, nid;

	X509_ALGOR_get0(&aobj, &ptype, &pval, csr->spki_alg);
	nid = OBJ_obj2nid(aobj);
	if (nid == NID_rsaEncryption) {
		if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
			return badkey(err, "RFC 3279 2.3.1: rsaEncryption "
			    "parameters must be NULL");
		if ((csr->pubkey = rsa_key(k, klen)) == NULL)
			return badkey(err, "RFC 3279 2.3.1: RSA public key is "
			    "not a valid RSAPublicKey");
		return 0;
	}
	if (nid == NID_X9_62_id_ecPublicKey) {
		const char *group;

		if (ptype != V_ASN1_OBJECT)
			return badkey(err, "RFC 5480 2.1.1: EC key must name "
			    "its curve (namedCurve); use P-256 or P-384");
		nid = OBJ_obj2nid(pval);
		if ((group = OSSL_EC_curve_nid2name(nid)) == NULL)
			return badkey(err, "CA/B BR 6.1.5: unknown EC curve; use "
			    "P-256 or P-384");
		if ((csr->pubkey = ec_key(nid, group, k, klen)) == NULL)
			return badkey(err, "RFC 5480 2.2: EC public key is not "
			    "a point on its curve");
		return 0;
	}
	ERR_clear_error();
	return hsmca_err_set(err, HSMCA_EPOLICY, "badPublicKey",
	    "CA/B BR 6.1.5: %s keys are not allowed; use RSA (2048-8192 bits) "
	    "or EC P-256/P-384", nid == NID_rsassaPss ? "RSASSA-PSS" :
	    nid != NID_undef ? OBJ_nid2sn(nid) : "unknown");
}

/* The extensionRequest attribute (RFC 2985 5.4.2), at most one. */
static int
attrs_parse(struct ca_csr *csr, const unsigned char *p, long len,
    struct hsmca_err *err)
{
	const unsigned char *end = p + len;

	while (p < end) {
		X509_ATTRIBUTE *a;
		const ASN1_TYPE *t;
		const unsigned char *q;
		int nid;

		if ((a = d2i_X509_ATTRIBUTE(NULL, &p, end - p)) == NULL)
			return bad(err, "CSR attribute is not valid DER");
		nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a));
		if (nid != NID_ext_req) {
			X509_ATTRIBUTE_free(a);
			continue;
		}
		if (csr->exts != NULL || X509_ATTRIBUTE_count(a) != 1 ||
		    (t = X509_ATTRIBUTE_get0_type(a, 0)) == NULL ||
		    t->type != V_ASN1_SEQUENCE) {
			X509_ATTRIBUTE_free(a);
			return bad(err, "CSR must carry at most one "
			    "extensionRequest with one value");
		}
		q = t->value.sequence->data;
		csr->exts = d2i_X509_EXTENSIONS(NULL, &q,
		    t->value.sequence->length);
		if (csr->exts == NULL || q != t->value.sequence->data +
		    t->value.sequence->length) {
			X509_ATTRIBUTE_free(a);
			return bad(err, "CSR extensionRequest is not valid DER");
		}
		X509_ATTRIBUTE_free(a);
	}
	return 0;
}

/* Signature over the CertificationRequestInfo as received. */
static int
sig_verify(struct ca_csr *csr, const X509_ALGOR *alg,
    const ASN1_BIT_STRING *sig, const unsigned char *cri, size_t crilen,
    struct hsmca_err *err)
{
	const ASN1_OBJECT *aobj;
	EVP_MD_CTX *mctx = NULL;
	const EVP_MD *md;
	int md_nid, pk_nid, want, rc = HSMCA_EINVAL;

	X509_ALGOR_get0(&aobj, NULL, NULL, alg);
	if (!OBJ_find_sigid_algs(OBJ_obj2nid(aobj), &md_nid, &pk_nid) ||
	    (md_nid != NID_sha256 && md_nid != NID_sha384 &&
	    md_nid != NID_sha512))
		return bad(err, "CSR signature algorithm is not ECDSA or RSA "
		    "PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512");
	want = csr->rsa ? NID_rsaEncryption : NID_X9_62_id_ecPublicKey;
	if (pk_nid != want)
		return bad(err, "CSR signature algorithm does not match its "
		    "key");
	md = md_nid == NID_sha256 ? EVP_sha256() : md_nid == NID_sha384 ?
	    EVP_sha384() : EVP_sha512();
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	if (EVP_DigestVerifyInit(mctx, NULL, md, NULL, csr->pubkey) != 1 ||
	    EVP_DigestVerify(mctx, ASN1_STRING_get0_data(sig),
	    (size_t)ASN1_STRING_length(sig), cri, crilen) != 1) {
		bad(err, "CSR signature does not verify with its own public "
		    "key");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	return rc;
}

/*
 * Parse `der` (exactly `len` bytes) into `csr`: subject, requested
 * extensions, key.  With `verify`, apply the key policy and check the
 * self-signature too.
 */
int
ca_csr_parse(struct ca_csr *csr, const unsigned char *der, size_t len,
    bool verify, struct hsmca_err *err)
{
	const unsigned char *p = der, *end = der + len, *req, *cri, *c, *spki;
	const unsigned char *criend;
	X509_ALGOR *sigalg = NULL;
	ASN1_BIT_STRING *sig = NULL;
	ASN1_INTEGER *ver = NULL;
	long reqlen, clen, spkilen;
	int rc;

	if (len == 0 || len > LONG_MAX)
		return bad(err, "CSR is empty");
	if (tlv(&p, end, V_ASN1_SEQUENCE, false, &req, &reqlen) != 0)
		return bad(err, "CSR is not a DER CertificationRequest");
	if (p != end)
		return hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
		    "RFC 2986 4: %zu bytes follow the CSR's DER encoding",
		    (size_t)(end - p));
	end = req + reqlen;
	p = req;
	cri = p;
	if (tlv(&p, end, V_ASN1_SEQUENCE, false, &c, &clen) != 0)
		return bad(err, "CertificationRequestInfo is not valid DER");
	criend = p;
	rc = HSMCA_EINVAL;
	if ((sigalg = d2i_X509_ALGOR(NULL, &p, end - p)) == NULL ||
	    (sig = d2i_ASN1_BIT_STRING(NULL, &p, end - p)) == NULL ||
	    p != end) {
		bad(err, "CSR signature fields are not valid DER");
		goto out;
	}
	/* Inside the CertificationRequestInfo. */
	p = c;
	end = c + clen;
	if ((ver = d2i_ASN1_INTEGER(NULL, &p, end - p)) == NULL ||
	    ASN1_INTEGER_get(ver) != 0 ||
	    ASN1_STRING_type(ver) != V_ASN1_INTEGER) {
		bad(err, "CSR version must be 0 (v1)");
		goto out;
	}
	if ((csr->subject = d2i_X509_NAME(NULL, &p, end - p)) == NULL) {
		bad(err, "CSR subject is not a valid Name");
		goto out;
	}
	if (tlv(&p, end, V_ASN1_SEQUENCE, false, &spki, &spkilen) != 0) {
		bad(err, "CSR subjectPKInfo is not valid DER");
		goto out;
	}
	{
		const unsigned char *q = spki;
		if ((csr->spki_alg = d2i_X509_ALGOR(NULL, &q, spkilen)) ==
		    NULL || (csr->spki_key = d2i_ASN1_BIT_STRING(NULL, &q,
		    spki + spkilen - q)) == NULL || q != spki + spkilen ||
		    (csr->spki_key->flags & 0x07) != 0) {
			bad(err, "CSR subjectPKInfo is not valid DER");
			goto out;
		}
	}
	/* attributes [0] IMPLICIT SET OF Attribute; tolerate its absence. */
	if (p < end) {
		const unsigned char *a;
		long alen;

		if (tlv(&p, end, 0, true, &a, &alen) != 0 || p != end) {
			bad(err, "CSR attributes are not valid DER");
			goto out;
		}
		if ((rc = attrs_parse(csr, a, alen, err)) != 0)
			goto out;
	}
	if ((rc = spki_key(csr, err)) != 0)
		goto out;
	csr->rsa = EVP_PKEY_get_base_id(csr->pubkey) == EVP_PKEY_RSA;
	if (verify) {
		/* Key policy first: verifying with a refused key is waste. */
		if ((rc = ca_key_check(csr->pubkey, &csr->rsa, err)) != 0 ||
		    (rc = sig_verify(csr, sigalg, sig, cri,
		    (size_t)(criend - cri), err)) != 0)
			goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_ALGOR_free(sigalg);
	ASN1_BIT_STRING_free(sig);
	ASN1_INTEGER_free(ver);
	return rc;
}
