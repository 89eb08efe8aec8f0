/*
 * ca/ceremony.c - `hsmca init`: token, CA keys, root and issuing
 * certificates, store and configuration file, in an order that lets a
 * crash be detected and never overwrites an existing CA.
 */
/* nftw() */
#define _XOPEN_SOURCE 700

#include "ca/ca_int.h"
#include "ca/ocsp_int.h"
#include "common/log.h"
#include "common/proc.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#define PIN_BYTES 16		/* 128 bits, written as 32 hex digits */
#define DAY 86400

struct ceremony {
	const struct ca_init_params *p;
	char state[PATH_MAX];	/* absolute */
	struct hsm *hsm;
	struct hsm_key *root_key, *issuing_key;
	X509 *root, *issuing;
	int64_t now;
	/*
	 * What this run made, undone if a later step fails: the token (its
	 * directory did not exist before), key pairs in a token it did not
	 * make (by config key), and the files it wrote.
	 */
	bool token_made;
	const char *keys_made[2];
	size_t nkeys_made;
	char files_made[6][PATH_MAX];
	size_t nfiles_made;
};

/* Note a file this run wrote, for rollback(). */
static void
made_file(struct ceremony *c, const char *path)
{
	if (c->nfiles_made < sizeof(c->files_made) / sizeof(c->files_made[0]))
		snprintf(c->files_made[c->nfiles_made++], PATH_MAX, "%s",
		    path);
}

/* The object= attribute of a PKCS#11 URI, percent-decoded. */
static int
uri_object(const char *uri, char *out, size_t len)
{
	const char *p = uri ? strstr(uri, "object=") : NULL;
	size_t n = 0;

	if (p == NULL || (p != uri && p[-1] != ';' && p[-1] != ':'))
		return -1;
	for (p += 7; *p != '\0' && *p != ';' && *p != '?'; p++) {
		unsigned int c = (unsigned char)*p;
		if (c == '%') {
			if (sscanf(p + 1, "%2x", &c) != 1)
				return -1;
			p += 2;
		}
		if (n + 1 >= len)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* Random hex PIN, NUL-terminated, 2*PIN_BYTES+1 bytes. */
static int
pin_new(char *out, struct hsmca_err *err)
{
	unsigned char r[PIN_BYTES];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "RAND_bytes failed");
	ca_serial_hex(r, sizeof(r), out);
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

static int
path_of(const struct ceremony *c, const char *key, char *out, size_t len,
    struct hsmca_err *err)
{
	if (config_get_path(c->p->cfg, key, c->state, out, len) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "%s is not set or too long", key);
	return 0;
}

/*
 * A fresh SoftHSM2 token in STATE/tokens with random PINs kept in 0600
 * files; the config is pointed at them.
 */
static int
token_create(struct ceremony *c, struct hsmca_err *err)
{
	char conf[PATH_MAX], path[PATH_MAX], module[PATH_MAX];
	char user_pin[2 * PIN_BYTES + 1] = "", so_pin[2 * PIN_BYTES + 1] = "";
	int rc;

	if ((rc = hsm_softhsm_setup(c->state, conf, sizeof(conf), err)) != 0)
		goto out;
	if ((rc = pin_new(user_pin, err)) != 0 ||
	    (rc = pin_new(so_pin, err)) != 0)
		goto out;
	made_file(c, conf);
	if ((rc = path_of(c, "hsm.pin_file", path, sizeof(path), err)) != 0 ||
	    (rc = ca_file_write(path, user_pin, strlen(user_pin), 0600,
	    err)) != 0)
		goto out;
	made_file(c, path);
	if (snprintf(path, sizeof(path), "%s/so.pin", c->state) >=
	    (int)sizeof(path) ||
	    (rc = ca_file_write(path, so_pin, strlen(so_pin), 0600, err)) != 0)
		goto out;
	made_file(c, path);
	if ((rc = path_of(c, "hsm.module", module, sizeof(module), err)) != 0)
		goto out;
	if ((rc = hsm_token_create(module, conf, "hsmca", so_pin, user_pin,
	    err)) != 0)
		goto out;
	rc = config_set(c->p->cfg, "hsm.softhsm_conf", conf, err);
out:
	OPENSSL_cleanse(user_pin, sizeof(user_pin));
	OPENSSL_cleanse(so_pin, sizeof(so_pin));
	return rc;
}

/* Generate the key pair named by the URI at cfg `key` and open it. */
static int
key_make(struct ceremony *c, const char *key, enum hsm_key_type type,
    struct hsm_key **out, struct hsmca_err *err)
{
	const char *uri = config_get(c->p->cfg, key);
	char label[128];
	int rc;

	if (uri_object(uri, label, sizeof(label)) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "%s \"%.100s\" names no object= label to generate", key,
		    uri ? uri : "");
	if ((rc = hsm_key_generate(c->hsm, type, label, err)) != 0)
		return rc;
	c->keys_made[c->nkeys_made++] = key;
	return hsm_key_open(c->hsm, uri, out, err);
}

/*
 * One CA certificate.  RFC 5280 4.2.1.9/4.2.1.3 and CA/B BR 7.1.2.1
 * (root) / 7.1.2.10 (subordinate): basicConstraints and keyUsage
 * critical, SKI by method 1, AKI naming the signer's key.
 */
static int
ca_cert_make(struct ceremony *c, const char *cn_suffix, EVP_PKEY *pub,
    X509 *signer_cert, struct hsm_key *signer, int64_t days, X509 **out,
    struct hsmca_err *err)
{
	const char *name = config_get(c->p->cfg, "ca.name");
	unsigned char serial[CA_SERIAL_LEN];
	ASN1_OCTET_STRING *ski = NULL;
	X509_EXTENSION *ext = NULL;
	X509 *x = NULL;
	char cn[256];
	int64_t na;
	bool root = signer_cert == NULL;
	int rc;

	if ((rc = ca_serial_new(serial, err)) != 0)
		goto out;
	snprintf(cn, sizeof(cn), "%s %s", name, cn_suffix);
	na = c->now + days * DAY - 1;
	/* RFC 5280 6.1: a subordinate must not outlive its issuer. */
	if (!root) {
		int64_t limit = ca_asn1_time(X509_get0_notAfter(signer_cert));
		if (limit > 0 && na > limit)
			na = limit;
	}
	rc = HSMCA_EINTERNAL;
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_STRING_set(X509_get_serialNumber(x), serial,
	    sizeof(serial)) != 1 ||
	    X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	    NID_organizationName, MBSTRING_UTF8, (const unsigned char *)name,
	    -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	    NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
	    0) != 1 ||
	    X509_set_issuer_name(x, root ? X509_get_subject_name(x) :
	    X509_get_subject_name(signer_cert)) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)c->now) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) == NULL ||
	    X509_set_pubkey(x, pub) != 1)
		goto fail;
	if ((ski = ca_ski_of(X509_get_X509_PUBKEY(x))) == NULL ||
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, 0) != 1)
		goto fail;
	if ((ext = ca_ext_aki(root ? ski :
	    X509_get0_subject_key_id(signer_cert))) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		goto fail;
	X509_EXTENSION_free(ext);
	if ((ext = ca_ext_conf(NID_basic_constraints, root ? "critical,CA:TRUE" :
	    "critical,CA:TRUE,pathlen:0")) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		goto fail;
	X509_EXTENSION_free(ext);
	if ((ext = ca_ext_conf(NID_key_usage, root ?
	    "critical,keyCertSign,cRLSign" :
	    "critical,digitalSignature,keyCertSign,cRLSign")) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		goto fail;
	X509_EXTENSION_free(ext);
	ext = NULL;
	if (!root && ((ext = ca_ext_conf(NID_ext_key_usage,
	    "serverAuth")) == NULL || X509_add_ext(x, ext, -1) != 1))
		goto fail;
	/* RFC 5280 4.2.1.13: the root CRL that would list this CA. */
	if (!root) {
		char dp[600];

		X509_EXTENSION_free(ext);
		ext = NULL;
		if (snprintf(dp, sizeof(dp), "URI:%s/crl/root.crl",
		    config_get(c->p->cfg, "ca.base_url")) >= (int)sizeof(dp) ||
		    (ext = ca_ext_conf(NID_crl_distribution_points, dp)) ==
		    NULL || X509_add_ext(x, ext, -1) != 1)
			goto fail;
	}
	if (X509_sign(x, hsm_key_private(signer),
	    ca_md_for(hsm_key_type(signer))) <= 0) {
		char ossl[160] = "";
		rc = hsmca_err_set(err, HSMCA_EHSM, "hsm",
		    "token signing of the %s certificate failed: %s",
		    cn_suffix, hsmca_openssl_errstr(ossl, sizeof(ossl)));
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
	goto out;
fail:
	ERR_clear_error();
	hsmca_err_set(err, rc, "serverInternal",
	    "cannot build the %s certificate", cn_suffix);
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(ski);
	X509_free(x);
	return rc;
}

static int
pem_write(struct ceremony *c, const char *path, X509 *x,
    struct hsmca_err *err)
{
	BIO *bio = NULL;
	BUF_MEM *mem;
	int rc;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, x) != 1) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	if ((rc = ca_file_write(path, mem->data, mem->length, 0644,
	    err)) == 0)
		made_file(c, path);
out:
	BIO_free(bio);
	return rc;
}

struct meta_arg {
	const ASN1_OCTET_STRING *root_ski, *issuing_ski;
};

static int
meta_put(struct store_txn *txn, void *arg)
{
	const struct meta_arg *m = arg;
	int64_t version = STORE_SCHEMA_VERSION;

	store_meta_put(txn, "ca.root_ski", ASN1_STRING_get0_data(m->root_ski),
	    (size_t)ASN1_STRING_length(m->root_ski));
	store_meta_put(txn, "ca.issuing_ski",
	    ASN1_STRING_get0_data(m->issuing_ski),
	    (size_t)ASN1_STRING_length(m->issuing_ski));
	store_meta_put(txn, "ca.schema", &version, sizeof(version));
	return store_txn_error(txn);
}

/* Create the store and record the CA's key ids in it. */
static int
db_create(struct ceremony *c, struct hsmca_err *err)
{
	struct store *st = NULL;
	struct store_opts so = { 0 };
	struct meta_arg m;
	char path[PATH_MAX];
	int rc;

	if ((rc = path_of(c, "store.path", path, sizeof(path), err)) != 0)
		return rc;
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return hsmca_err_set(err, HSMCA_EIO, "serverInternal",
		    "cannot create %s: %s", path, strerror(errno));
	so.map_size = (size_t)config_get_int(c->p->cfg,
	    "store.map_size_mb") << 20;
	if ((rc = store_open(path, &so, &st, err)) != 0)
		return rc;
	m.root_ski = X509_get0_subject_key_id(c->root);
	m.issuing_ski = X509_get0_subject_key_id(c->issuing);
	rc = store_write(st, meta_put, &m, err);
	store_close(st);
	return rc;
}

/* The documented config file, written last: its presence means done. */
static int
conf_write(struct ceremony *c, const char *path, struct hsmca_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int rc;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	rc = config_dump(c->p->cfg, fp);
	if (fclose(fp) != 0 || rc != 0) {
		free(buf);
		return hsmca_err_set(err, HSMCA_EIO, "serverInternal",
		    "cannot render the configuration");
	}
	rc = ca_file_write(path, buf, len, 0600, err);
	free(buf);
	return rc;
}

/* nftw() callback: remove one entry of the token directory. */
static int
remove_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		log_warn("init: cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/*
 * Undo what a failed ceremony made, so that running it again starts
 * from where the operator was: keys generated in a token the run did
 * not make are destroyed (a token it made goes as a whole, after the
 * session is closed), and the files it wrote are removed.  The OCSP
 * signer key is left: a later run certifies it (ca_ocsp_signer_make).
 * Failures are logged; the ceremony's own error is what the caller
 * reports.
 */
static void
rollback(struct ceremony *c)
{
	struct hsmca_err kerr = { 0 };
	char label[128], tokdir[PATH_MAX];
	size_t i;

	for (i = 0; !c->token_made && i < c->nkeys_made; i++) {
		if (uri_object(config_get(c->p->cfg, c->keys_made[i]), label,
		    sizeof(label)) != 0)
			continue;
		if (hsm_key_destroy(c->hsm, label, &kerr) != 0)
			log_warn("init: key \"%s\" stays in the token: %s",
			    label, kerr.detail);
	}
	hsm_close(c->hsm);
	c->hsm = NULL;
	if (c->token_made && snprintf(tokdir, sizeof(tokdir), "%s/tokens",
	    c->state) < (int)sizeof(tokdir))
		nftw(tokdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < c->nfiles_made; i++)
		if (unlink(c->files_made[i]) != 0 && errno != ENOENT)
			log_warn("init: cannot remove %s: %s",
			    c->files_made[i], strerror(errno));
}

/* Whether `path` is absent or an empty directory. */
static bool
dir_empty(const char *path)
{
	struct dirent *e;
	DIR *d;
	bool empty = true;

	if ((d = opendir(path)) == NULL)
		return errno == ENOENT;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* STATE must not hold a CA, finished or interrupted. */
static int
refuse_existing(struct ceremony *c, char *conf, size_t conflen,
    struct hsmca_err *err)
{
	static const char *const keys[] = { "ca.root_cert", "ca.issuing_cert" };
	char path[PATH_MAX];
	int rc;

	if (snprintf(conf, conflen, "%s/hsmca.conf", c->state) >= (int)conflen)
		return hsmca_err_set(err, HSMCA_EINVAL, "usage",
		    "state directory path too long");
	if (ca_file_exists(conf))
		return hsmca_err_set(err, HSMCA_EEXIST, "usage",
		    "%s already holds a CA (hsmca.conf exists); refusing to "
		    "overwrite", c->state);
	for (size_t i = 0; i < 2; i++) {
		if ((rc = path_of(c, keys[i], path, sizeof(path), err)) != 0)
			return rc;
		if (ca_file_exists(path))
			return hsmca_err_set(err, HSMCA_EEXIST, "usage",
			    "%s exists (%s) from an interrupted or other "
			    "ceremony; refusing to overwrite; remove the state "
			    "directory to start over", path, keys[i]);
	}
	return 0;
}

int
ca_init(const struct ca_init_params *params, struct hsmca_err *err)
{
	struct ceremony c;
	enum hsm_key_type type = params->key_type;
	char conf[PATH_MAX], path[PATH_MAX];
	int rc;

	memset(&c, 0, sizeof(c));
	c.p = params;
	if (params->state_dir == NULL || params->cfg == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "usage",
		    "ca_init needs a state directory and a config");
	if (mkdir(params->state_dir, 0700) != 0 && errno != EEXIST)
		return hsmca_err_set(err, HSMCA_EIO, "usage",
		    "cannot create %s: %s", params->state_dir, strerror(errno));
	if (realpath(params->state_dir, c.state) == NULL)
		return hsmca_err_set(err, HSMCA_EIO, "usage",
		    "cannot resolve %s: %s", params->state_dir,
		    strerror(errno));
	if ((rc = refuse_existing(&c, conf, sizeof(conf), err)) != 0)
		goto out;
	if (type == HSM_KEY_NONE && hsm_key_type_parse(config_get(params->cfg,
	    "ca.key_type"), &type) != 0) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "ca.key_type \"%.40s\" is not one of ec-p256, ec-p384, "
		    "rsa-2048, rsa-3072, rsa-4096",
		    config_get(params->cfg, "ca.key_type"));
		goto out;
	}
	if ((rc = config_set(params->cfg, "ca.key_type",
	    hsm_key_type_name(type), err)) != 0)
		goto out;
	c.now = params->clock ? params->clock(params->clock_arg) :
	    (int64_t)time(NULL);
	/* PINs are made or read from here on. */
	if ((rc = proc_no_dump(err)) != 0)
		goto out;
	if (params->create_token) {
		/* A token left by a crashed run is not this run's to undo. */
		if (snprintf(path, sizeof(path), "%s/tokens", c.state) >=
		    (int)sizeof(path)) {
			rc = hsmca_err_set(err, HSMCA_EINVAL, "usage",
			    "state directory path too long");
			goto out;
		}
		if (!dir_empty(path)) {
			rc = hsmca_err_set(err, HSMCA_EEXIST, "usage",
			    "%s holds a token from an interrupted ceremony; "
			    "refusing to overwrite; remove the state directory "
			    "to start over", path);
			goto out;
		}
		c.token_made = true;
		if ((rc = token_create(&c, err)) != 0)
			goto out;
	}
	if ((rc = ca_hsm_open(c.state, params->cfg, &c.hsm, err)) != 0)
		goto out;
	if ((rc = key_make(&c, "ca.root_key", type, &c.root_key, err)) != 0 ||
	    (rc = key_make(&c, "ca.issuing_key", type, &c.issuing_key,
	    err)) != 0)
		goto out;
	if ((rc = ca_cert_make(&c, "Root CA", hsm_key_public(c.root_key), NULL,
	    c.root_key, config_get_int(params->cfg, "ca.root_validity_days"),
	    &c.root, err)) != 0)
		goto out;
	if ((rc = ca_cert_make(&c, "Issuing CA 1",
	    hsm_key_public(c.issuing_key), c.root, c.root_key,
	    config_get_int(params->cfg, "ca.issuing_validity_days"),
	    &c.issuing, err)) != 0)
		goto out;
	if ((rc = path_of(&c, "ca.root_cert", path, sizeof(path), err)) != 0 ||
	    (rc = pem_write(&c, path, c.root, err)) != 0 ||
	    (rc = path_of(&c, "ca.issuing_cert", path, sizeof(path),
	    err)) != 0 ||
	    (rc = pem_write(&c, path, c.issuing, err)) != 0)
		goto out;
	/* The delegated OCSP signer, certified by the issuing key. */
	if (config_get_bool(params->cfg, "ocsp.enabled") &&
	    (rc = ca_ocsp_signer_make(c.hsm, params->cfg, c.state,
	    c.issuing_key, c.issuing, c.now, err)) != 0)
		goto out;
	if (config_get_bool(params->cfg, "ocsp.enabled") &&
	    config_get_path(params->cfg, "ocsp.signer_cert", c.state, path,
	    sizeof(path)) == 0)
		made_file(&c, path);
	if ((rc = db_create(&c, err)) != 0)
		goto out;
	rc = conf_write(&c, conf, err);
out:
	X509_free(c.root);
	X509_free(c.issuing);
	hsm_key_free(c.root_key);
	hsm_key_free(c.issuing_key);
	if (rc != 0)
		rollback(&c);
	hsm_close(c.hsm);
	return rc;
}
