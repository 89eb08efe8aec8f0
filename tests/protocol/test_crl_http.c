/*
 * tests/protocol/test_crl_http.c - the CRL publishing routes on a real
 * http_server (127.0.0.1, ephemeral port) over a real CA (SoftHSM2
 * token, LMDB store), fetched with libcurl: bodies, headers, HEAD,
 * conditional requests and every kind of unknown name.
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "ca/ca_revoke.h"
#include "protocol/crl_http.h"

struct env {
	char dir[PATH_MAX];
	struct hsmca_config *cfg;
	struct ca *ca;
	struct http_server *srv;
	struct http_route routes[4];
	uint16_t port;
	struct ca_crl_info info0;
};

static struct env E;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

static int
build(uint32_t shard, struct ca_crl_info *info)
{
	struct hsmca_err err = { 0 };
	unsigned char *der = NULL;
	size_t len;
	int rc = ca_crl_build(E.ca, shard, &der, &len, info, &err);

	if (rc != 0)
		fprintf(stderr, "build %u: %s\n", (unsigned)shard, err.detail);
	free(der);
	return rc;
}

static int
setup(void **state)
{
	struct ca_init_params p = { 0 };
	struct http_server_params hp = { 0 };
	struct hsmca_err err = { 0 };
	struct ca_crl_info info;
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX + 16];
	size_t n = 99;

	(void)state;
	snprintf(E.dir, sizeof(E.dir), "%s/hsmca-crlhttp-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(E.dir) == NULL)
		return -1;
	setenv("SOFTHSM2_CONF", "/nonexistent/softhsm2.conf", 1);
	if ((E.cfg = config_new()) == NULL ||
	    config_set(E.cfg, "ca.crl_shards", "2", &err) != 0)
		return -1;
	p.state_dir = E.dir;
	p.cfg = E.cfg;
	p.create_token = true;
	p.key_type = HSM_KEY_EC_P256;
	if (ca_init(&p, &err) != 0) {
		fprintf(stderr, "ca_init: %s\n", err.detail);
		return -1;
	}
	config_free(E.cfg);
	E.cfg = config_new();
	snprintf(path, sizeof(path), "%s/hsmca.conf", E.dir);
	if (config_load(E.cfg, path, &err) != 0 ||
	    ca_open(E.dir, E.cfg, &E.ca, &err) != 0) {
		fprintf(stderr, "open: %s\n", err.detail);
		return -1;
	}
	/* Shard 0 and the root have a CRL; shard 1 has none yet. */
	if (build(0, &E.info0) != 0 || build(CA_CRL_ROOT, &info) != 0)
		return -1;
	if (crl_http_routes(E.ca, E.routes, 0, &n) != HSMCA_EINVAL || n != 0)
		return -1;
	if (crl_http_routes(E.ca, E.routes, 4, &n) != 0 || n != 1)
		return -1;
	hp.listen = "127.0.0.1:0";
	hp.threads = 2;
	hp.routes = E.routes;
	hp.nroutes = n;
	hp.drain_ms = 1000;
	if (http_server_start(&hp, &E.srv, &err) != 0) {
		fprintf(stderr, "start: %s\n", err.detail);
		return -1;
	}
	E.port = http_server_port(E.srv);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	http_server_stop(E.srv);
	ca_close(E.ca);
	config_free(E.cfg);
	nftw(E.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	curl_global_cleanup();
	return 0;
}

struct resp {
	long status;
	char *body;
	size_t len;
	char headers[4096];
	size_t hlen;
};

static size_t
body_cb(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	char *nb = realloc(r->body, r->len + size * n + 1);

	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, p, size * n);
	r->body = nb;
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

static size_t
header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t k = size * n;

	if (r->hlen + k < sizeof(r->headers)) {
		memcpy(r->headers + r->hlen, p, k);
		r->hlen += k;
		r->headers[r->hlen] = '\0';
	}
	return k;
}

/* One request; `hdr` is an extra request header or NULL. */
static void
req(const char *method, const char *path, const char *hdr,
    struct resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256];

	memset(r, 0, sizeof(*r));
	assert_non_null(c);
	assert_true(snprintf(url, sizeof(url), "http://127.0.0.1:%u%s",
	    (unsigned)E.port, path) < (int)sizeof(url));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (hdr != NULL) {
		h = curl_slist_append(NULL, hdr);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

/* The value of response header `name` (copied into out), or NULL. */
static const char *
header(const struct resp *r, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	const char *p = r->headers;

	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e;

			while (*v == ' ')
				v++;
			e = strpbrk(v, "\r\n");
			snprintf(out, len, "%.*s", (int)(e ? e - v : (long)strlen(v)),
			    v);
			return out;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return NULL;
}

static void
test_get(void **state)
{
	struct hsmca_err err = { 0 };
	struct ca_crl_info info;
	unsigned char *der = NULL;
	size_t len;
	struct resp r;
	char v[128];

	(void)state;
	req("GET", "/crl/0.crl", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type", v, sizeof(v)),
	    "application/pkix-crl");
	assert_string_equal(header(&r, "ETag", v, sizeof(v)), "\"0-1\"");
	assert_non_null(header(&r, "Last-Modified", v, sizeof(v)));
	assert_int_equal((int64_t)curl_getdate(v, NULL), E.info0.this_update);
	assert_non_null(header(&r, "Expires", v, sizeof(v)));
	assert_int_equal((int64_t)curl_getdate(v, NULL), E.info0.next_update);
	assert_non_null(header(&r, "Cache-Control", v, sizeof(v)));
	assert_int_equal(ca_crl_get(E.ca, 0, &der, &len, &info, &err), 0);
	assert_int_equal(r.len, len);
	assert_memory_equal(r.body, der, len);
	free(der);
	free(r.body);

	req("HEAD", "/crl/0.crl", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	assert_string_equal(header(&r, "ETag", v, sizeof(v)), "\"0-1\"");
	free(r.body);

	req("GET", "/crl/root.crl", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "ETag", v, sizeof(v)), "\"root-1\"");
	assert_true(r.len > 100);
	free(r.body);
}

static void
test_conditional(void **state)
{
	static const struct { const char *hdr; long want; } cases[] = {
		{ "If-None-Match: \"0-1\"", 304 },
		{ "If-None-Match: W/\"0-1\"", 304 },
		{ "If-None-Match: \"x\", \"0-1\"", 304 },
		{ "If-None-Match: *", 304 },
		{ "If-None-Match: \"0-0\"", 200 },
		{ "If-None-Match: \"0-11\"", 200 },
		{ "If-None-Match: \"1-1\"", 200 },
	};
	struct resp r;
	char h[128], v[128];
	time_t t;
	struct tm tm;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("  %s\n", cases[i].hdr);
		req("GET", "/crl/0.crl", cases[i].hdr, &r);
		assert_int_equal(r.status, cases[i].want);
		if (cases[i].want == 304) {
			assert_int_equal(r.len, 0);
			assert_string_equal(header(&r, "ETag", v, sizeof(v)),
			    "\"0-1\"");
		}
		free(r.body);
	}
	/* If-Modified-Since: thisUpdate itself, one second before. */
	for (int d = 0; d >= -1; d--) {
		t = (time_t)(E.info0.this_update + d);
		gmtime_r(&t, &tm);
		strftime(h, sizeof(h), "If-Modified-Since: %a, %d %b %Y "
		    "%H:%M:%S GMT", &tm);
		req("GET", "/crl/0.crl", h, &r);
		assert_int_equal(r.status, d == 0 ? 304 : 200);
		free(r.body);
	}
	req("GET", "/crl/0.crl", "If-Modified-Since: not a date", &r);
	assert_int_equal(r.status, 200);
	free(r.body);
}

static void
test_not_found(void **state)
{
	static const char *const paths[] = {
		"/crl/1.crl",		/* exists, no CRL yet */
		"/crl/2.crl", "/crl/01.crl", "/crl/abc.crl", "/crl/0.pem",
		"/crl/", "/crl/99999.crl", "/crl/0.crl.crl", "/crl/-1.crl",
		"/crl/root.crlx", "/crl/ROOT.crl",
	};
	struct resp r;
	char v[128];

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		print_message("  %s\n", paths[i]);
		req("GET", paths[i], NULL, &r);
		assert_int_equal(r.status, 404);
		assert_string_equal(header(&r, "Content-Type", v, sizeof(v)),
		    "application/problem+json");
		free(r.body);
	}
	req("POST", "/crl/0.crl", NULL, &r);
	assert_int_equal(r.status, 405);
	free(r.body);
}

/* A new CRL: a new tag; the old one no longer matches. */
static void
test_new_crl(void **state)
{
	struct ca_crl_info info;
	struct resp r;
	char v[128];

	(void)state;
	assert_int_equal(build(1, &info), 0);
	req("GET", "/crl/1.crl", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "ETag", v, sizeof(v)), "\"1-1\"");
	free(r.body);
	assert_int_equal(build(0, &info), 0);
	req("GET", "/crl/0.crl", "If-None-Match: \"0-1\"", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "ETag", v, sizeof(v)), "\"0-2\"");
	free(r.body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_conditional),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_new_crl),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
