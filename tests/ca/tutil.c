/*
 * tests/ca/tutil.c - see tutil.h.
 */
#define _XOPEN_SOURCE 700
#include "tests/ca/tutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

EVP_PKEY *
t_key(const char *spec)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *e = NULL;

	if (strncmp(spec, "ec:", 3) == 0) {
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ==
		    NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_group_name(ctx, spec + 3) != 1)
			goto out;
	} else if (strncmp(spec, "rsa:", 4) == 0) {
		unsigned bits = 0, exp = 65537;
		sscanf(spec + 4, "%u:%u", &bits, &exp);
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ==
		    NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) != 1 ||
		    (e = BN_new()) == NULL || BN_set_word(e, exp) != 1 ||
		    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) != 1)
			goto out;
	} else if (strcmp(spec, "ed25519") == 0) {
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "ED25519",
		    NULL)) == NULL || EVP_PKEY_keygen_init(ctx) != 1)
			goto out;
	} else {
		goto out;
	}
	if (EVP_PKEY_keygen(ctx, &pk) != 1)
		pk = NULL;
out:
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static GENERAL_NAME *
gen(const char *s)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_STRING *v = NULL;
	int type;
	const char *val;

	if (strncmp(s, "DNS:", 4) == 0) {
		type = GEN_DNS;
		val = s + 4;
	} else if (strncmp(s, "email:", 6) == 0) {
		type = GEN_EMAIL;
		val = s + 6;
	} else if (strncmp(s, "URI:", 4) == 0) {
		type = GEN_URI;
		val = s + 4;
	} else if (strncmp(s, "IP:", 3) == 0) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(s + 3);
		if (ip == NULL) {
			GENERAL_NAME_free(g);
			return NULL;
		}
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		return g;
	} else if (strncmp(s, "IPRAW:", 6) == 0) {
		/* Raw octets of any length: "IPRAW:5" gives 5 zero octets. */
		unsigned char z[32] = { 0 };
		ASN1_OCTET_STRING *ip = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(ip, z, atoi(s + 6));
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		return g;
	} else {
		GENERAL_NAME_free(g);
		return NULL;
	}
	v = ASN1_IA5STRING_new();
	ASN1_STRING_set(v, val, (int)strlen(val));
	GENERAL_NAME_set0_value(g, type, v);
	return g;
}

X509_REQ *
t_req(EVP_PKEY *key, const char *cn, const char *const *sans)
{
	X509_REQ *req = X509_REQ_new();
	const EVP_MD *md = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ?
	    NULL : EVP_sha256();

	X509_REQ_set_version(req, X509_REQ_VERSION_1);
	if (cn != NULL)
		X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req),
		    NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn,
		    -1, -1, 0);
	X509_REQ_set_pubkey(req, key);
	if (sans != NULL) {
		GENERAL_NAMES *gens = GENERAL_NAMES_new();
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		X509_EXTENSION *ext;

		for (size_t i = 0; sans[i] != NULL; i++) {
			GENERAL_NAME *g = gen(sans[i]);
			if (g == NULL)
				abort();
			sk_GENERAL_NAME_push(gens, g);
		}
		ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
		sk_X509_EXTENSION_push(exts, ext);
		X509_REQ_add_extensions(req, exts);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		GENERAL_NAMES_free(gens);
	}
	if (X509_REQ_sign(req, key, md) <= 0)
		abort();
	return req;
}

unsigned char *
t_req_der(X509_REQ *req, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(req, &der);
	unsigned char *copy;

	if (n <= 0)
		abort();
	copy = malloc((size_t)n);
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return copy;
}

unsigned char *
t_csr(EVP_PKEY *key, const char *cn, const char *const *sans, size_t *len)
{
	X509_REQ *req = t_req(key, cn, sans);
	unsigned char *der = t_req_der(req, len);

	X509_REQ_free(req);
	return der;
}

void
t_tmpdir(char *out, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(out, len, "%s/hsmca-ca-test.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(out) == NULL)
		abort();
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
t_rmtree(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int
t_ca_init(const char *dir, const char *key_type, ca_clock_fn clock,
    struct hsmca_config *cfg)
{
	struct ca_init_params p = { 0 };
	struct hsmca_err err = { 0 };

	p.state_dir = dir;
	p.cfg = cfg;
	p.create_token = true;
	p.clock = clock;
	if (hsm_key_type_parse(key_type, &p.key_type) != 0) {
		fprintf(stderr, "unknown key type %s\n", key_type);
		return -1;
	}
	if (ca_init(&p, &err) != 0) {
		fprintf(stderr, "ca_init: %s: %s\n", err.type, err.detail);
		return -1;
	}
	return 0;
}

int
t_ca_open(const char *dir, struct hsmca_config **cfg, struct ca **ca)
{
	struct hsmca_err err = { 0 };
	char path[PATH_MAX + 16];

	config_free(*cfg);
	if ((*cfg = config_new()) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/hsmca.conf", dir);
	if (config_load(*cfg, path, &err) != 0 ||
	    ca_open(dir, *cfg, ca, &err) != 0) {
		fprintf(stderr, "open: %s: %s\n", err.type, err.detail);
		return -1;
	}
	return 0;
}
