/*
 * ca/ca.c - opening and closing the CA: token, keys, certificates,
 * store, profiles, and the per-issuance material computed once.
 */
#include "ca/ca_int.h"
#include "ca/ocsp_int.h"
#include "common/proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#define CA_PEM_MAX (64 * 1024)

/* Load one PEM certificate. */
static int
cert_load(const char *path, X509 **out, struct hsmca_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	int rc;

	if ((rc = ca_file_read(path, CA_PEM_MAX, &buf, &len, err)) != 0)
		goto out;
	rc = HSMCA_EINVAL;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (*out = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		hsmca_err_set(err, HSMCA_EINVAL, "serverInternal",
		    "%s holds no PEM certificate", path);
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	free(buf);
	return rc;
}

/* The certificate must carry exactly the token key's public half. */
static int
cert_matches_key(X509 *cert, const struct hsm_key *key, const char *what,
    struct hsmca_err *err)
{
	if (EVP_PKEY_eq(X509_get0_pubkey(cert), hsm_key_public(key)) != 1) {
		ERR_clear_error();
		return hsmca_err_set(err, HSMCA_EINVAL, "serverInternal",
		    "the %s certificate's public key differs from its token "
		    "key; check ca.%s_cert and ca.%s_key", what, what, what);
	}
	return 0;
}

static int
oom(struct hsmca_err *err)
{
	return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
	    "out of memory");
}

/*
 * Everything ca_issue() copies into each certificate, built once: the
 * issuer name, AKI, AIA, CRL distribution points per shard, policies,
 * and the fixed basicConstraints/keyUsage/EKU extensions.
 */
static int
precompute(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmca_err *err)
{
	const char *base = config_get(cfg, "ca.base_url");
	const char *oid = config_get(cfg, "ca.policy_oid");
	const ASN1_OCTET_STRING *ski;
	char val[1024];
	BIO *bio = NULL;
	BUF_MEM *mem;
	int rc = HSMCA_EINVAL;

	/* The URL goes into v3 config syntax, where ',' separates values. */
	if (base == NULL || *base == '\0' || strpbrk(base, ", \t") != NULL ||
	    strlen(base) > 512)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "ca.base_url \"%.64s\" must be a URL without commas or "
		    "blanks", base ? base : "");
	if (oid == NULL || *oid == '\0')
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "ca.policy_oid is not set");
	ca->md = ca_md_for(hsm_key_type(ca->issuing_key));
	if ((ca->issuer_name = X509_NAME_dup(
	    X509_get_subject_name(ca->issuing))) == NULL)
		return oom(err);
	/* Settle the cached encoding now so later readers never re-encode. */
	if (i2d_X509_NAME(ca->issuer_name, NULL) <= 0)
		return oom(err);
	if ((ski = X509_get0_subject_key_id(ca->issuing)) != NULL)
		ca->issuer_ski = ASN1_OCTET_STRING_dup(ski);
	else
		ca->issuer_ski = ca_ski_of(X509_get_X509_PUBKEY(ca->issuing));
	if (ca->issuer_ski == NULL)
		return oom(err);
	/* RFC 5019 3: the OCSP URL only while the responder is on. */
	if (config_get_bool(cfg, "ocsp.enabled"))
		snprintf(val, sizeof(val), "OCSP;URI:%s/ocsp,"
		    "caIssuers;URI:%s/ca/issuing.der", base, base);
	else
		snprintf(val, sizeof(val), "caIssuers;URI:%s/ca/issuing.der",
		    base);
	if ((ca->ext_aki = ca_ext_aki(ca->issuer_ski)) == NULL ||
	    (ca->ext_aia = ca_ext_conf(NID_info_access, val)) == NULL ||
	    (ca->ext_cp = ca_ext_policy(oid)) == NULL ||
	    (ca->ext_bc = ca_ext_conf(NID_basic_constraints,
	    "critical,CA:FALSE")) == NULL ||
	    (ca->ext_eku = ca_ext_conf(NID_ext_key_usage,
	    "serverAuth")) == NULL ||
	    (ca->ext_ku_ec = ca_ext_conf(NID_key_usage,
	    "critical,digitalSignature")) == NULL ||
	    (ca->ext_ku_rsa = ca_ext_conf(NID_key_usage,
	    "critical,digitalSignature,keyEncipherment")) == NULL) {
		ERR_clear_error();
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "cannot build the subscriber extensions; check "
		    "ca.policy_oid \"%.64s\" (a dotted OID) and ca.base_url",
		    oid);
	}
	ca->crl_shards = (uint32_t)config_get_int(cfg, "ca.crl_shards");
	if (ca->crl_shards == 0)
		ca->crl_shards = 1;
	if ((ca->ext_crldp = calloc(ca->crl_shards,
	    sizeof(*ca->ext_crldp))) == NULL)
		return oom(err);
	for (uint32_t i = 0; i < ca->crl_shards; i++) {
		snprintf(val, sizeof(val), "URI:%s/crl/%u.crl", base, i);
		if ((ca->ext_crldp[i] = ca_ext_conf(NID_crl_distribution_points,
		    val)) == NULL) {
			ERR_clear_error();
			return hsmca_err_set(err, HSMCA_EINTERNAL,
			    "serverInternal", "cannot build the CRL "
			    "distribution point extension");
		}
	}
	/* The chain's second half, appended to every leaf PEM. */
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, ca->issuing) != 1) {
		rc = oom(err);
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	if ((ca->issuing_pem = malloc(mem->length + 1)) == NULL) {
		rc = oom(err);
		goto out;
	}
	memcpy(ca->issuing_pem, mem->data, mem->length);
	ca->issuing_pem[mem->length] = '\0';
	ca->issuing_pem_len = mem->length;
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

/* Open the token from the hsm.* keys; paths relative to state_dir. */
int
ca_hsm_open(const char *state_dir, const struct hsmca_config *cfg,
    struct hsm **out, struct hsmca_err *err)
{
	char module[PATH_MAX], conf[PATH_MAX], pin_file[PATH_MAX];
	struct hsm_params hp = { 0 };
	int rc;

	/* The PIN is about to enter this process's memory. */
	if ((rc = proc_no_dump(err)) != 0)
		return rc;
	if (config_get_path(cfg, "hsm.module", state_dir, module,
	    sizeof(module)) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "hsm.module is not set");
	hp.module = module;
	if (config_get_path(cfg, "hsm.softhsm_conf", state_dir, conf,
	    sizeof(conf)) == 0)
		hp.softhsm_conf = conf;
	if (config_get_path(cfg, "hsm.pin_file", state_dir, pin_file,
	    sizeof(pin_file)) == 0)
		hp.pin_file = pin_file;
	hp.pin_env = config_get(cfg, "hsm.pin_env");
	if (hp.pin_env != NULL && *hp.pin_env == '\0')
		hp.pin_env = NULL;
	hp.token_uri = config_get(cfg, "hsm.token_uri");
	return hsm_open(&hp, out, err);
}

int
ca_open(const char *state_dir, const struct hsmca_config *cfg,
    struct ca **out, struct hsmca_err *err)
{
	struct ca *ca = NULL;
	struct store_opts so = { 0 };
	char path[PATH_MAX];
	int rc;

	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		rc = oom(err);
		goto out;
	}
	if (snprintf(ca->state_dir, sizeof(ca->state_dir), "%s", state_dir) >=
	    (int)sizeof(ca->state_dir)) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "state directory path too long");
		goto out;
	}
	if ((rc = ca_profiles_load(ca, cfg, err)) != 0)
		goto out;
	if ((rc = ca_hsm_open(state_dir, cfg, &ca->hsm, err)) != 0)
		goto out;
	if ((rc = hsm_key_open(ca->hsm, config_get(cfg, "ca.root_key"),
	    &ca->root_key, err)) != 0 ||
	    (rc = hsm_key_open(ca->hsm, config_get(cfg, "ca.issuing_key"),
	    &ca->issuing_key, err)) != 0)
		goto out;
	rc = HSMCA_EINVAL;
	if (config_get_path(cfg, "ca.root_cert", state_dir, path,
	    sizeof(path)) != 0 ||
	    (rc = cert_load(path, &ca->root, err)) != 0)
		goto out;
	rc = HSMCA_EINVAL;
	if (config_get_path(cfg, "ca.issuing_cert", state_dir, path,
	    sizeof(path)) != 0 ||
	    (rc = cert_load(path, &ca->issuing, err)) != 0)
		goto out;
	if ((rc = cert_matches_key(ca->root, ca->root_key, "root", err)) != 0 ||
	    (rc = cert_matches_key(ca->issuing, ca->issuing_key, "issuing",
	    err)) != 0)
		goto out;
	if (X509_verify(ca->issuing, X509_get0_pubkey(ca->root)) != 1) {
		ERR_clear_error();
		rc = hsmca_err_set(err, HSMCA_EINVAL, "serverInternal",
		    "the issuing certificate is not signed by the root key");
		goto out;
	}
	if ((rc = precompute(ca, cfg, err)) != 0)
		goto out;
	if (config_get_path(cfg, "store.path", state_dir, path,
	    sizeof(path)) != 0) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "store.path is not set");
		goto out;
	}
	so.map_size = (size_t)config_get_int(cfg, "store.map_size_mb") << 20;
	so.commit_delay_us = (unsigned)config_get_int(cfg,
	    "store.commit_delay_us");
	if ((rc = store_open(path, &so, &ca->store, err)) != 0)
		goto out;
	if ((rc = ca_ocsp_open(ca, cfg, err)) != 0)
		goto out;
	*out = ca;
	ca = NULL;
	rc = 0;
out:
	ca_close(ca);
	return rc;
}

void
ca_close(struct ca *ca)
{
	if (ca == NULL)
		return;
	ca_ocsp_close(ca);
	store_close(ca->store);
	X509_EXTENSION_free(ca->ext_aki);
	X509_EXTENSION_free(ca->ext_aia);
	X509_EXTENSION_free(ca->ext_cp);
	X509_EXTENSION_free(ca->ext_bc);
	X509_EXTENSION_free(ca->ext_eku);
	X509_EXTENSION_free(ca->ext_ku_ec);
	X509_EXTENSION_free(ca->ext_ku_rsa);
	if (ca->ext_crldp != NULL)
		for (uint32_t i = 0; i < ca->crl_shards; i++)
			X509_EXTENSION_free(ca->ext_crldp[i]);
	free(ca->ext_crldp);
	free(ca->issuing_pem);
	ASN1_OCTET_STRING_free(ca->issuer_ski);
	X509_NAME_free(ca->issuer_name);
	X509_free(ca->root);
	X509_free(ca->issuing);
	hsm_key_free(ca->root_key);
	hsm_key_free(ca->issuing_key);
	hsm_close(ca->hsm);
	free(ca);
}

void
ca_set_clock(struct ca *ca, ca_clock_fn clock, void *arg)
{
	ca->clock = clock;
	ca->clock_arg = arg;
}

int64_t
ca_now(const struct ca *ca)
{
	if (ca->clock != NULL)
		return ca->clock(ca->clock_arg);
	return (int64_t)time(NULL);
}

struct store *
ca_store(struct ca *ca)
{
	return ca->store;
}

X509 *
ca_root_cert(const struct ca *ca)
{
	return ca->root;
}

X509 *
ca_issuing_cert(const struct ca *ca)
{
	return ca->issuing;
}

struct hsm_key *
ca_issuing_key(const struct ca *ca)
{
	return ca->issuing_key;
}
