/*
 * ca/ext.c - X.509 helpers shared by the ceremony, issuance and lint:
 * key identifiers, extensions from config syntax, times, IP text.
 */
#include "ca/ca_int.h"

#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

/* RFC 5280 4.2.1.2 method 1: SHA-1 of the BIT STRING subjectPublicKey. */
ASN1_OCTET_STRING *
ca_ski_of(X509_PUBKEY *pub)
{
	const unsigned char *pk;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	int pklen;
	ASN1_OCTET_STRING *ski = NULL;

	if (X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, pub) != 1)
		return NULL;
	if (EVP_Digest(pk, (size_t)pklen, md, &mdlen, EVP_sha1(), NULL) != 1)
		return NULL;
	if ((ski = ASN1_OCTET_STRING_new()) == NULL)
		return NULL;
	if (ASN1_OCTET_STRING_set(ski, md, (int)mdlen) != 1) {
		ASN1_OCTET_STRING_free(ski);
		return NULL;
	}
	return ski;
}

/* One extension from OpenSSL's v3 config syntax; NULL on failure. */
X509_EXTENSION *
ca_ext_conf(int nid, const char *value)
{
	X509V3_CTX ctx;

	X509V3_set_ctx(&ctx, NULL, NULL, NULL, NULL, 0);
	return X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
}

/* authorityKeyIdentifier holding only the keyIdentifier (RFC 5280
 * 4.2.1.1); not critical. */
X509_EXTENSION *
ca_ext_aki(const ASN1_OCTET_STRING *keyid)
{
	AUTHORITY_KEYID *akid = NULL;
	X509_EXTENSION *ext = NULL;

	if ((akid = AUTHORITY_KEYID_new()) == NULL)
		goto out;
	if ((akid->keyid = ASN1_OCTET_STRING_dup(keyid)) == NULL)
		goto out;
	ext = X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid);
out:
	AUTHORITY_KEYID_free(akid);
	return ext;
}

/* CA/B BR 7.1.3.2: SHA-384 goes with P-384, SHA-256 with P-256 and RSA. */
const EVP_MD *
ca_md_for(enum hsm_key_type type)
{
	return type == HSM_KEY_EC_P384 ? EVP_sha384() : EVP_sha256();
}

/* Seconds since the epoch of an ASN1_TIME, or -1. */
int64_t
ca_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

/* Text of an iPAddress entry: 4 octets IPv4, 16 octets IPv6. */
int
ca_ip_text(const unsigned char *ip, size_t len, char *out, size_t outlen)
{
	if (len == 4)
		return inet_ntop(AF_INET, ip, out, (socklen_t)outlen) ? 0 : -1;
	if (len == 16)
		return inet_ntop(AF_INET6, ip, out, (socklen_t)outlen) ? 0 : -1;
	return -1;
}

/* certificatePolicies with one policy OID and no qualifiers (CA/B BR
 * 7.1.2.7.9); the v3 config syntax would need a config database. */
X509_EXTENSION *
ca_ext_policy(const char *oid)
{
	CERTIFICATEPOLICIES *pols = NULL;
	POLICYINFO *pi = NULL;
	X509_EXTENSION *ext = NULL;

	if ((pols = CERTIFICATEPOLICIES_new()) == NULL ||
	    (pi = POLICYINFO_new()) == NULL)
		goto out;
	ASN1_OBJECT_free(pi->policyid);
	if ((pi->policyid = OBJ_txt2obj(oid, 1)) == NULL)
		goto out;
	if (sk_POLICYINFO_push(pols, pi) <= 0)
		goto out;
	pi = NULL;
	ext = X509V3_EXT_i2d(NID_certificate_policies, 0, pols);
out:
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(pols);
	return ext;
}
