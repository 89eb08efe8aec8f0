/*
 * tools/hsmcad_tls.c - hsmcad's own TLS certificate, issued at start-up
 * by its own CA for the names in acme.names.
 *
 * The key is a fresh P-256 key made with OpenSSL in memory: a TLS key,
 * not a CA key, so it does not belong in the token, and it is never
 * written to disk (a new one is made at every start).
 */
#include "tools/hsmcad.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define NAMES_MAX 32
#define NAME_LEN 254

static int
ossl_fail(struct hsmca_err *err, const char *what)
{
	char buf[160] = "";

	hsmca_openssl_errstr(buf, sizeof(buf));
	return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
	    "TLS certificate: %s failed%s%s", what, buf[0] ? ": " : "", buf);
}

/*
 * Split acme.names into trimmed entries.  The list must not be empty;
 * each entry must fit a DNS name.  The CA checks the names themselves.
 */
static int
split_names(const struct hsmca_config *cfg, char names[][NAME_LEN],
    size_t *n, struct hsmca_err *err)
{
	const char *v = config_get(cfg, "acme.names"), *p, *e;
	size_t len;

	*n = 0;
	if (v == NULL)
		v = "";
	for (p = v; *p != '\0'; p = *e ? e + 1 : e) {
		if ((e = strchr(p, ',')) == NULL)
			e = p + strlen(p);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		len = (size_t)(e - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		if (len >= NAME_LEN)
			return hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "acme.names: entry \"%.40s...\" longer than 253 "
			    "characters", p);
		if (*n == NAMES_MAX)
			return hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "acme.names: more than %d entries", NAMES_MAX);
		memcpy(names[*n], p, len);
		names[*n][len] = '\0';
		(*n)++;
	}
	if (*n == 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "acme.names is empty: name at least one DNS name or IP "
		    "address for hsmcad's TLS certificate");
	return 0;
}

static bool
is_ip(const char *s, bool *v6)
{
	unsigned char addr[16];

	*v6 = false;
	if (inet_pton(AF_INET, s, addr) == 1)
		return true;
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*v6 = true;
		return true;
	}
	return false;
}

/* The https base URL from the first name and the port. */
int
hsmcad_base_url(const struct hsmca_config *cfg, uint16_t port, char *out,
    size_t len, struct hsmca_err *err)
{
	char names[NAMES_MAX][NAME_LEN];
	size_t n;
	bool v6;
	int rc;

	if ((rc = split_names(cfg, names, &n, err)) != 0)
		return rc;
	is_ip(names[0], &v6);
	if ((size_t)snprintf(out, len, v6 ? "https://[%s]:%u" :
	    "https://%s:%u", names[0], (unsigned)port) >= len)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "acme.names: \"%.40s\" too long for a URL", names[0]);
	return 0;
}

/* The port after the last ':' of a listen value. */
int
hsmcad_listen_port(const char *listen, const char *key, uint16_t *port,
    struct hsmca_err *err)
{
	const char *c;
	char *end;
	long v;

	if (listen == NULL || (c = strrchr(listen, ':')) == NULL ||
	    c[1] < '0' || c[1] > '9')
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "%s \"%s\": expected host:port", key, listen ? listen : "");
	errno = 0;
	v = strtol(c + 1, &end, 10);
	/* Port 0 would leave the URLs that clients are given unknown. */
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "%s \"%s\": the port must be 1..65535 (it appears in the "
		    "URLs hsmcad hands out, so it cannot be 0)", key, listen);
	*port = (uint16_t)v;
	return 0;
}

/* subjectAltName value in v3 config syntax: "DNS:a,IP:127.0.0.1". */
static int
san_value(char names[][NAME_LEN], size_t n, char *out, size_t len,
    struct hsmca_err *err)
{
	size_t used = 0;
	bool v6;
	int w;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		/* v3 config syntax splits on ',' and reads ':' in IPv6 fine. */
		if (strpbrk(names[i], ",:") != NULL && !is_ip(names[i], &v6))
			return hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "acme.names: \"%.64s\" is neither a DNS name nor "
			    "an IP address", names[i]);
		w = snprintf(out + used, len - used, "%s%s:%s", i ? "," : "",
		    is_ip(names[i], &v6) ? "IP" : "DNS", names[i]);
		if (w < 0 || (size_t)w >= len - used)
			return hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "acme.names: too many or too long names");
		used += (size_t)w;
	}
	return 0;
}

/* A CSR for `names` signed with `key`, as DER (caller frees). */
static int
make_csr(EVP_PKEY *key, char names[][NAME_LEN], size_t n,
    unsigned char **der, size_t *der_len, struct hsmca_err *err)
{
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	X509_EXTENSION *ext = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	char san[NAMES_MAX * (NAME_LEN + 5)];
	unsigned char *buf = NULL;
	bool v6;
	int len, rc;

	if ((rc = san_value(names, n, san, sizeof(san), err)) != 0)
		goto out;
	rc = HSMCA_EINTERNAL;
	if ((req = X509_REQ_new()) == NULL || (subj = X509_NAME_new()) ==
	    NULL || (exts = sk_X509_EXTENSION_new_null()) == NULL) {
		ossl_fail(err, "allocation");
		goto out;
	}
	/* A CN is optional; give the first DNS name as one for old tools. */
	if (!is_ip(names[0], &v6) && !X509_NAME_add_entry_by_NID(subj,
	    NID_commonName, MBSTRING_UTF8, (unsigned char *)names[0], -1, -1,
	    0)) {
		ossl_fail(err, "subject");
		goto out;
	}
	if ((ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    san)) == NULL) {
		ERR_clear_error();
		rc = hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "acme.names: cannot encode \"%.128s\" as a subjectAltName",
		    san);
		goto out;
	}
	if (!sk_X509_EXTENSION_push(exts, ext)) {
		ossl_fail(err, "allocation");
		goto out;
	}
	ext = NULL;
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, subj) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    !X509_REQ_add_extensions(req, exts) ||
	    !X509_REQ_sign(req, key, EVP_sha256())) {
		ossl_fail(err, "CSR signing");
		goto out;
	}
	if ((len = i2d_X509_REQ(req, &buf)) <= 0) {
		ossl_fail(err, "CSR encoding");
		goto out;
	}
	*der = buf;
	*der_len = (size_t)len;
	buf = NULL;
	rc = 0;
out:
	OPENSSL_free(buf);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	return rc;
}

/* The private key as PKCS#8 PEM in a NUL-terminated malloc'd string. */
static int
key_pem(EVP_PKEY *key, char **out, struct hsmca_err *err)
{
	BIO *bio = NULL;
	BUF_MEM *mem;
	char *s = NULL;
	int rc = HSMCA_EINTERNAL;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		ossl_fail(err, "key encoding");
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	if ((s = malloc(mem->length + 1)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	memcpy(s, mem->data, mem->length);
	s[mem->length] = '\0';
	*out = s;
	rc = 0;
out:
	/* BIO_s_secmem cleanses its buffer when freed. */
	BIO_free(bio);
	return rc;
}

/* Issue the daemon's TLS certificate; see hsmcad.h. */
int
hsmcad_tls_issue(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmcad_tls *out, struct hsmca_err *err)
{
	char names[NAMES_MAX][NAME_LEN];
	struct ca_issue_req req = { 0 };
	struct ca_issued *issued = NULL;
	EVP_PKEY *key = NULL;
	unsigned char *csr = NULL;
	size_t n, csr_len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = split_names(cfg, names, &n, err)) != 0)
		goto out;
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		rc = ossl_fail(err, "P-256 key generation");
		goto out;
	}
	if ((rc = make_csr(key, names, n, &csr, &csr_len, err)) != 0)
		goto out;
	/*
	 * The default profile, not "shortlived": the certificate cannot be
	 * swapped while the server runs, so it must outlive a long run; the
	 * key dies with the process whatever the certificate says.
	 */
	req.csr_der = csr;
	req.csr_len = csr_len;
	req.profile = NULL;
	if ((rc = ca_issue(ca, &req, &issued, err)) != 0)
		goto out;
	if ((rc = key_pem(key, &out->key_pem, err)) != 0)
		goto out;
	if ((out->cert_pem = strdup(issued->chain_pem)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	out->not_after = issued->not_after;
	rc = 0;
out:
	if (rc != 0)
		hsmcad_tls_clear(out);
	ca_issued_free(issued);
	OPENSSL_free(csr);
	EVP_PKEY_free(key);
	return rc;
}

/* Wipe and free; see hsmcad.h. */
void
hsmcad_tls_clear(struct hsmcad_tls *tls)
{
	if (tls->key_pem != NULL) {
		OPENSSL_cleanse(tls->key_pem, strlen(tls->key_pem));
		free(tls->key_pem);
	}
	free(tls->cert_pem);
	memset(tls, 0, sizeof(*tls));
}
