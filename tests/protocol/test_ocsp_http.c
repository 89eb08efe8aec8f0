/*
 * tests/protocol/test_ocsp_http.c - the OCSP responder end to end: a CA
 * in a temp dir with a SoftHSM2 token, certificates from ca_issue(), the
 * responder's routes on an in-process server on 127.0.0.1:0, queried by
 * `openssl ocsp` (which verifies the signature up to the root) and by
 * libcurl (GET form, caching headers, bad input, a certificate past
 * ocsp.keep_expired_days).
 */
#define _GNU_SOURCE	/* asprintf; nftw in tutil.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "ca/ca_ocsp.h"
#include "ca/ca_revoke.h"
#include "protocol/ocsp_http.h"
#include "store/store_ocsp.h"
#include "tests/ca/tutil.c"

#define NLEAF 3
#define MAX_BODY 8192

struct env {
	char dir[PATH_MAX];
	struct hsmca_config *cfg;
	struct ca *ca;
	struct http_route routes[OCSP_HTTP_MAX_ROUTES];
	size_t nroutes;
	struct http_server *srv;
	uint16_t port;
	X509 *leaf[NLEAF];
	char leaf_pem[NLEAF][PATH_MAX + 32];
	char issuing_pem[PATH_MAX + 32], root_pem[PATH_MAX + 32];
};

static struct env E;

static int
setup(void **state)
{
	struct ca_init_params p = { 0 };
	struct hsmca_err err = { 0 };
	struct http_server_params hp = { 0 };
	char path[PATH_MAX + 32];
	EVP_PKEY *key;

	(void)state;
	t_tmpdir(E.dir, sizeof(E.dir));
	E.cfg = config_new();
	p.state_dir = E.dir;
	p.cfg = E.cfg;
	p.create_token = true;
	p.key_type = HSM_KEY_EC_P256;
	if (ca_init(&p, &err) != 0)
		goto fail;
	config_free(E.cfg);
	E.cfg = config_new();
	snprintf(path, sizeof(path), "%s/hsmca.conf", E.dir);
	if (config_load(E.cfg, path, &err) != 0 ||
	    ca_open(E.dir, E.cfg, &E.ca, &err) != 0)
		goto fail;
	snprintf(E.issuing_pem, sizeof(E.issuing_pem), "%s/issuing.pem",
	    E.dir);
	snprintf(E.root_pem, sizeof(E.root_pem), "%s/root.pem", E.dir);
	if ((key = t_key("ec:P-256")) == NULL)
		return -1;
	for (int i = 0; i < NLEAF; i++) {
		struct ca_issue_req req = { 0 };
		struct ca_issued *is = NULL;
		char cn[64], san[80];
		const char *sans[] = { san, NULL };
		const unsigned char *d;
		size_t len;
		FILE *fp;

		snprintf(cn, sizeof(cn), "ocsp-%d.example.com", i);
		snprintf(san, sizeof(san), "DNS:%s", cn);
		req.csr_der = t_csr(key, cn, sans, &len);
		req.csr_len = len;
		if (req.csr_der == NULL ||
		    ca_issue(E.ca, &req, &is, &err) != 0)
			goto fail;
		free((void *)req.csr_der);
		d = is->der;
		E.leaf[i] = d2i_X509(NULL, &d, (long)is->der_len);
		snprintf(E.leaf_pem[i], sizeof(E.leaf_pem[i]), "%s/leaf%d.pem",
		    E.dir, i);
		if ((fp = fopen(E.leaf_pem[i], "w")) == NULL)
			return -1;
		PEM_write_X509(fp, E.leaf[i]);
		fclose(fp);
		ca_issued_free(is);
	}
	EVP_PKEY_free(key);
	if (ocsp_http_routes(E.ca, E.routes, OCSP_HTTP_MAX_ROUTES, &E.nroutes,
	    &err) != 0 || E.nroutes != 2)
		goto fail;
	hp.listen = "127.0.0.1:0";
	hp.threads = 2;
	hp.max_body = MAX_BODY;
	hp.timeout_s = 5;
	hp.drain_ms = 2000;
	hp.routes = E.routes;
	hp.nroutes = E.nroutes;
	if (http_server_start(&hp, &E.srv, &err) != 0)
		goto fail;
	E.port = http_server_port(E.srv);
	return 0;
fail:
	fprintf(stderr, "setup: %s: %s\n", err.type ? err.type : "-",
	    err.detail);
	return -1;
}

static int
teardown(void **state)
{
	(void)state;
	http_server_stop(E.srv);
	ca_close(E.ca);
	config_free(E.cfg);
	for (int i = 0; i < NLEAF; i++)
		X509_free(E.leaf[i]);
	t_rmtree(E.dir);
	return 0;
}

static uint64_t
signatures(void)
{
	struct ca_ocsp_stats s;

	ca_ocsp_stats(E.ca, &s);
	return s.signatures;
}

/* Run a shell command; its stdout+stderr (malloc'd) in *out. */
static int
run(const char *cmd, char **out)
{
	char buf[4096];
	size_t len = 0, n;
	FILE *fp = NULL;
	char *full = NULL;

	print_message("  $ %s\n", cmd);
	if (asprintf(&full, "%s 2>&1", cmd) < 0 ||
	    (fp = popen(full, "r")) == NULL)
		fail();
	*out = calloc(1, 1);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		*out = realloc(*out, len + n + 1);
		memcpy(*out + len, buf, n);
		len += n;
		(*out)[len] = '\0';
	}
	free(full);
	return pclose(fp);
}

static void
assert_has(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL) {
		print_message("  \"%s\" not in:\n%s\n", needle, hay);
		fail();
	}
}

/* `openssl ocsp` for `what` ("-cert FILE" or "-serial 0x..."). */
static char *
openssl_ocsp(const char *opts, const char *what)
{
	char cmd[4 * PATH_MAX];
	char *out = NULL;

	snprintf(cmd, sizeof(cmd), "openssl ocsp %s -no_nonce -issuer %s %s "
	    "-url http://127.0.0.1:%u/ocsp -CAfile %s -resp_text", opts,
	    E.issuing_pem, what, E.port, E.root_pem);
	assert_int_equal(run(cmd, &out), 0);
	return out;
}

/* A good certificate, signature verified by openssl up to the root;
 * the response names the signer by key and carries its certificate. */
static void
test_good(void **state)
{
	char what[PATH_MAX + 64], *out;

	(void)state;
	snprintf(what, sizeof(what), "-cert %s", E.leaf_pem[0]);
	out = openssl_ocsp("", what);
	assert_has(out, "Response verify OK");
	assert_has(out, ": good");
	assert_has(out, "Responder Id: ");
	assert_has(out, "OCSP Signing");	/* the included signer cert */
	assert_has(out, "Next Update: ");
	assert_true(strstr(out, "Nonce") == NULL);
	free(out);
	/* SHA-256 CertID. */
	out = openssl_ocsp("-sha256", what);
	assert_has(out, "Response verify OK");
	assert_has(out, "Hash Algorithm: sha256");
	assert_has(out, ": good");
	free(out);
}

static void
test_unknown(void **state)
{
	uint64_t before;
	char *out;

	(void)state;
	out = openssl_ocsp("", "-serial 0x1234567890abcdef");
	assert_has(out, "Response verify OK");
	assert_has(out, ": unknown");
	free(out);
	/* The same unknown serial again: from the memory cache. */
	before = signatures();
	out = openssl_ocsp("", "-serial 0x1234567890abcdef");
	assert_has(out, ": unknown");
	free(out);
	assert_int_equal(signatures(), before);
}

/* ---- libcurl --------------------------------------------------------- */

struct resp {
	long status;
	unsigned char body[16384];
	size_t len;
	char headers[4096];
	size_t hlen;
};

static size_t
body_cb(char *d, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;

	if (size * n > sizeof(r->body) - r->len)
		return 0;
	memcpy(r->body + r->len, d, size * n);
	r->len += size * n;
	return size * n;
}

static size_t
hdr_cb(char *d, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t k = size * n;

	if (k > sizeof(r->headers) - 1 - r->hlen)
		k = sizeof(r->headers) - 1 - r->hlen;
	memcpy(r->headers + r->hlen, d, k);
	r->hlen += k;
	r->headers[r->hlen] = '\0';
	return size * n;
}

/* GET `path` or POST `body` (with `ctype`); `hdr` an extra header. */
static void
http(const char *path, const void *body, size_t blen, const char *ctype,
    const char *hdr, struct resp *r)
{
	struct curl_slist *h = NULL;
	char url[16384], ct[128];
	CURL *c = curl_easy_init();

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", E.port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hdr_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		h = curl_slist_append(h, ct);
	}
	if (hdr != NULL)
		h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static const char *
header(const struct resp *r, const char *name, char *out, size_t len)
{
	const char *p = r->headers;
	size_t n = strlen(name);

	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1 + strspn(p + n + 1, " ");
			snprintf(out, len, "%.*s", (int)strcspn(p, "\r\n"), p);
			return out;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NULL;
}

/* The DER request for leaf i as made by `openssl ocsp -reqout`. */
static unsigned char *
reqout(int i, size_t *len)
{
	char cmd[4 * PATH_MAX], path[PATH_MAX + 16], *out;
	unsigned char *der;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/req%d.der", E.dir, i);
	snprintf(cmd, sizeof(cmd), "openssl ocsp -no_nonce -issuer %s -cert "
	    "%s -reqout %s", E.issuing_pem, E.leaf_pem[i], path);
	assert_int_equal(run(cmd, &out), 0);
	free(out);
	assert_non_null(fp = fopen(path, "rb"));
	der = malloc(CA_OCSP_REQ_MAX);
	*len = fread(der, 1, CA_OCSP_REQ_MAX, fp);
	fclose(fp);
	assert_true(*len > 0);
	return der;
}

/* "/ocsp/" + URL-encoded base64 (RFC 6960 A.1). */
static void
get_path(const unsigned char *der, size_t len, char *out, size_t outlen)
{
	unsigned char b64[2 * CA_OCSP_REQ_MAX];
	int n = EVP_EncodeBlock(b64, der, (int)len);
	size_t o = (size_t)snprintf(out, outlen, "/ocsp/");

	for (int i = 0; i < n && o + 4 < outlen; i++) {
		if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=')
			o += (size_t)snprintf(out + o, outlen - o, "%%%02X",
			    b64[i]);
		else
			out[o++] = (char)b64[i];
	}
	out[o] = '\0';
}

/* Leaf i's request (reqout()), with its GET path in `path`. */
static unsigned char *
leaf_req(int i, size_t *len, char *path, size_t pathlen)
{
	unsigned char *der = reqout(i, len);

	get_path(der, *len, path, pathlen);
	return der;
}

/* The status of leaf i in a successful response body; -1 if none. */
static int
status_of(const struct resp *r, int i, int *reason)
{
	const unsigned char *p = r->body;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)r->len);
	OCSP_BASICRESP *bs = NULL;
	OCSP_CERTID *id = NULL;
	int st = -1;

	*reason = -1;
	if (resp != NULL && OCSP_response_status(resp) ==
	    OCSP_RESPONSE_STATUS_SUCCESSFUL &&
	    (bs = OCSP_response_get1_basic(resp)) != NULL &&
	    (id = OCSP_cert_to_id(NULL, E.leaf[i],
	    ca_issuing_cert(E.ca))) != NULL &&
	    OCSP_resp_find_status(bs, id, &st, reason, NULL, NULL,
	    NULL) != 1)
		st = -1;
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return st;
}

/* The unsigned error response for `rstatus`. */
static void
assert_error_response(const struct resp *r, int rstatus)
{
	const unsigned char want[] = { 0x30, 0x03, 0x0a, 0x01,
	    (unsigned char)rstatus };
	char v[256];

	assert_int_equal(r->status, 200);
	assert_non_null(header(r, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "application/ocsp-response");
	assert_int_equal(r->len, sizeof(want));
	assert_memory_equal(r->body, want, sizeof(want));
}

/* GET form with a request from `openssl ocsp -reqout`; RFC 5019
 * caching headers; 304 on a matching If-None-Match; POST agrees; the
 * stored response is not re-signed per request. */
static void
test_get_and_caching(void **state)
{
	char path[16384], v[256], etag[256], inm[300];
	unsigned char *der;
	struct resp r;
	uint64_t before;
	size_t len;
	int reason;

	(void)state;
	der = leaf_req(1, &len, path, sizeof(path));
	http(path, NULL, 0, NULL, NULL, &r);	/* may sign once */
	assert_int_equal(r.status, 200);
	before = signatures();
	for (int i = 0; i < 20; i++) {
		http(path, NULL, 0, NULL, NULL, &r);
		assert_int_equal(r.status, 200);
		assert_int_equal(status_of(&r, 1, &reason),
		    V_OCSP_CERTSTATUS_GOOD);
	}
	http("/ocsp", der, len, "application/ocsp-request", NULL, &r);
	assert_int_equal(status_of(&r, 1, &reason), V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(signatures(), before);

	assert_non_null(header(&r, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "application/ocsp-response");
	http(path, NULL, 0, NULL, NULL, &r);
	assert_non_null(header(&r, "Cache-Control", v, sizeof(v)));
	print_message("  Cache-Control: %s\n", v);
	assert_true(strncmp(v, "max-age=", 8) == 0 && atol(v + 8) > 3600);
	assert_has(v, "public");
	assert_has(v, "no-transform");
	assert_has(v, "must-revalidate");
	assert_non_null(header(&r, "Last-Modified", v, sizeof(v)));
	assert_has(v, " GMT");
	assert_non_null(header(&r, "Expires", v, sizeof(v)));
	assert_non_null(header(&r, "ETag", etag, sizeof(etag)));
	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	http(path, NULL, 0, NULL, inm, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.len, 0);
	http(path, NULL, 0, NULL, "If-None-Match: \"other\"", &r);
	assert_int_equal(r.status, 200);
	/* Base64 sent without URL-encoding ('+', '/', '=' raw). */
	{
		unsigned char b64[2 * CA_OCSP_REQ_MAX];
		int n = EVP_EncodeBlock(b64, der, (int)len);
		snprintf(path, sizeof(path), "/ocsp/%.*s", n, (char *)b64);
		http(path, NULL, 0, NULL, NULL, &r);
		assert_int_equal(status_of(&r, 1, &reason),
		    V_OCSP_CERTSTATUS_GOOD);
	}
	free(der);
}

/* An OCSPRequest for `serial` with our hashes, or another CA's. */
static unsigned char *
make_req(int ncids, bool other_issuer, const EVP_MD *md, size_t *len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	X509_NAME *name = X509_get_subject_name(ca_issuing_cert(E.ca));
	const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(
	    ca_root_cert(E.ca));
	unsigned char *der = NULL;
	int n;

	for (int i = 0; i < ncids; i++) {
		OCSP_CERTID *id;
		if (other_issuer)
			id = OCSP_cert_id_new(md, name, key,
			    X509_get0_serialNumber(E.leaf[0]));
		else
			id = OCSP_cert_to_id(md, E.leaf[i % NLEAF],
			    ca_issuing_cert(E.ca));
		assert_non_null(OCSP_request_add0_id(req, id));
	}
	n = i2d_OCSP_REQUEST(req, &der);
	assert_true(n > 0);
	OCSP_REQUEST_free(req);
	*len = (size_t)n;
	return der;
}

static void
test_bad_input(void **state)
{
	static const char garbage[] = "this is not DER";
	unsigned char *big, *der;
	char path[16384];
	struct resp r;
	size_t len;

	(void)state;
	http("/ocsp", garbage, sizeof(garbage) - 1,
	    "application/ocsp-request", NULL, &r);
	assert_error_response(&r, 1);
	http("/ocsp/!!!notbase64", NULL, 0, NULL, NULL, &r);
	assert_error_response(&r, 1);
	http("/ocsp/", NULL, 0, NULL, NULL, &r);
	assert_error_response(&r, 1);
	get_path((const unsigned char *)garbage, sizeof(garbage) - 1, path,
	    sizeof(path));
	http(path, NULL, 0, NULL, NULL, &r);
	assert_error_response(&r, 1);
	/* Over the responder's limit but within the server's. */
	big = calloc(1, MAX_BODY + 1);
	http("/ocsp", big, CA_OCSP_REQ_MAX + 1, "application/ocsp-request",
	    NULL, &r);
	assert_error_response(&r, 1);
	/* Over the server's body limit: refused before the handler. */
	http("/ocsp", big, MAX_BODY + 1, "application/ocsp-request", NULL,
	    &r);
	assert_int_equal(r.status, 413);
	free(big);
	/* A valid request with the wrong Content-Type. */
	der = make_req(1, false, EVP_sha1(), &len);
	http("/ocsp", der, len, "application/octet-stream", NULL, &r);
	assert_error_response(&r, 1);
	http("/ocsp", der, len, "application/ocsp-request", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len > 5, 1);
	free(der);
	/* Two CertIDs: RFC 5019 allows one. */
	der = make_req(2, false, EVP_sha1(), &len);
	http("/ocsp", der, len, "application/ocsp-request", NULL, &r);
	assert_error_response(&r, 1);
	free(der);
	/* Another CA's issuerKeyHash: unauthorized. */
	der = make_req(1, true, EVP_sha1(), &len);
	http("/ocsp", der, len, "application/ocsp-request", NULL, &r);
	assert_error_response(&r, 6);
	free(der);
	/* CertID hash SHA-384: not answered. */
	der = make_req(1, false, EVP_sha384(), &len);
	http("/ocsp", der, len, "application/ocsp-request", NULL, &r);
	assert_error_response(&r, 1);
	free(der);
	/* Wrong method on the POST path. */
	http("/ocsp", NULL, 0, NULL, NULL, &r);
	assert_int_equal(r.status, 405);
}

/* ca_revoke() reaches OCSP at once, with time and reason; one new
 * signature, then the revoked response is served from the store. */
static void
test_revoked(void **state)
{
	struct ca_revoke_req rq = { 0 };
	struct hsmca_err err = { 0 };
	unsigned char serial[STORE_SERIAL_MAX];
	char path[16384], what[PATH_MAX + 64], want[64], *out;
	const ASN1_INTEGER *ai = X509_get0_serialNumber(E.leaf[2]);
	unsigned char *der;
	struct resp r;
	struct tm tm;
	uint64_t before;
	int64_t at = 0;
	time_t t;
	size_t len;
	int reason;

	(void)state;
	der = leaf_req(2, &len, path, sizeof(path));
	http(path, NULL, 0, NULL, NULL, &r);
	assert_int_equal(status_of(&r, 2, &reason), V_OCSP_CERTSTATUS_GOOD);

	len = (size_t)ASN1_STRING_length(ai);
	memcpy(serial, ASN1_STRING_get0_data(ai), len);
	rq.serial = serial;
	rq.serial_len = len;
	rq.reason = CA_REASON_KEY_COMPROMISE;
	rq.actor = CA_ACTOR_OPERATOR;
	rq.who = "test";
	if (ca_revoke(E.ca, &rq, &at, &err) != 0)
		print_message("  ca_revoke: %s\n", err.detail);
	assert_int_equal(err.code, 0);

	before = signatures();
	http(path, NULL, 0, NULL, NULL, &r);
	assert_int_equal(status_of(&r, 2, &reason),
	    V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	assert_int_equal(signatures(), before + 1);
	http(path, NULL, 0, NULL, NULL, &r);
	assert_int_equal(status_of(&r, 2, &reason),
	    V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(signatures(), before + 1);

	snprintf(what, sizeof(what), "-cert %s", E.leaf_pem[2]);
	out = openssl_ocsp("", what);
	assert_has(out, "Response verify OK");
	assert_has(out, ": revoked");
	assert_has(out, "Reason: keyCompromise");
	t = (time_t)at;
	gmtime_r(&t, &tm);
	strftime(want, sizeof(want), "Revocation Time: %b %e %H:%M:%S %Y GMT",
	    &tm);
	assert_has(out, want);
	free(out);
	free(der);
	/* The other certificates are still good. */
	snprintf(what, sizeof(what), "-cert %s", E.leaf_pem[0]);
	out = openssl_ocsp("", what);
	assert_has(out, ": good");
	free(out);
}

static int64_t
fixed_clock(void *arg)
{
	return *(int64_t *)arg;
}

/*
 * Long after leaf 1 expired (ocsp.keep_expired_days is 30): the unsigned
 * unauthorized response, not cached, nothing signed, before and after
 * its stored response is pruned; back at the real time it is good.
 */
static void
test_long_expired(void **state)
{
	struct store_ocsp_prune pr = { 0 };
	struct store_ocsp_pruned out;
	struct hsmca_err err = { 0 };
	char path[16384], v[256];
	unsigned char *der;
	struct resp r;
	struct tm tm;
	uint64_t before;
	int64_t now;
	size_t len;
	int reason;

	(void)state;
	der = leaf_req(1, &len, path, sizeof(path));
	http(path, NULL, 0, NULL, NULL, &r);	/* stored at the real time */
	assert_int_equal(status_of(&r, 1, &reason), V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(E.leaf[1]), &tm),
	    1);
	now = (int64_t)timegm(&tm) + 30 * 86400 + 1;
	ca_set_clock(E.ca, fixed_clock, &now);
	before = signatures();
	for (int round = 0; round < 2; round++) {
		http(path, NULL, 0, NULL, NULL, &r);
		assert_error_response(&r, 6);
		assert_non_null(header(&r, "Cache-Control", v, sizeof(v)));
		assert_string_equal(v, "no-store");
		http("/ocsp", der, len, "application/ocsp-request", NULL, &r);
		assert_error_response(&r, 6);
		/* Then prune, as hsmcad does, and ask again. */
		pr.before = ca_ocsp_expired_cutoff(E.ca, now);
		assert_int_equal(store_ocsp_prune(ca_store(E.ca), &pr, &out,
		    &err), 0);
		assert_true(out.removed >= (round == 0 ? 1u : 0u));
	}
	assert_int_equal(signatures(), before);
	ca_set_clock(E.ca, NULL, NULL);
	http(path, NULL, 0, NULL, NULL, &r);
	assert_int_equal(status_of(&r, 1, &reason), V_OCSP_CERTSTATUS_GOOD);
	free(der);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_get_and_caching),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_long_expired),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, setup, teardown);
}
