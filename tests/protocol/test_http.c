/*
 * tests/protocol/test_http.c - the HTTP(S) server driven by libcurl over
 * loopback: routing, problem documents, body limits, hooks, HEAD, TLS
 * chain serving, draining stop and concurrency.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "protocol/http.h"

#define MAX_BODY	1024

/* Handlers run on server threads where cmocka's asserts must not be used;
 * they count surprises here and teardown fails the test if any. */
static atomic_uint faults;

/* ---- handlers -------------------------------------------------------- */

static int
h_hello(struct http_req *req, void *arg)
{
	return http_reply(req, 200, "text/plain", "hello", 5);
}

static const char static_body[] = "static bytes";

static int
h_static(struct http_req *req, void *arg)
{
	return http_reply_static(req, 200, "application/octet-stream",
	    static_body, sizeof(static_body) - 1);
}

/* Echo the body back, with its length in a header. */
static int
h_echo(struct http_req *req, void *arg)
{
	const unsigned char *body;
	char len[32];
	size_t n;

	body = http_req_body(req, &n);
	if (body[n] != '\0')
		atomic_fetch_add(&faults, 1);
	snprintf(len, sizeof(len), "%zu", n);
	http_reply_header(req, "X-Body-Length", len);
	return http_reply(req, 200, "application/octet-stream", body, n);
}

/* Reply with the route's tag and the subpath: "tag:subpath". */
static int
h_tagged(struct http_req *req, void *arg)
{
	char buf[256];
	int n;

	n = snprintf(buf, sizeof(buf), "%s:%s", (const char *)arg,
	    http_req_subpath(req));
	return http_reply(req, 200, "text/plain", buf, (size_t)n);
}

static int
h_query(struct http_req *req, void *arg)
{
	const char *a = http_req_query(req, "a"), *b = http_req_query(req, "b");
	const char *c = http_req_query(req, "c");
	char buf[256];
	int n;

	n = snprintf(buf, sizeof(buf), "a=%s b=%s c=%s", a ? a : "(null)",
	    b ? b : "(null)", c ? c : "(null)");
	return http_reply(req, 200, "text/plain", buf, (size_t)n);
}

/* Echo request header X-Test as JSON, proving header lookup and
 * http_reply_json. */
static int
h_header(struct http_req *req, void *arg)
{
	const char *v = http_req_header(req, "x-test");

	return http_reply_json(req, 200, json_pack("{s:s?, s:b}", "x-test", v,
	    "client", http_req_client(req) != NULL));
}

/* newNonce's shape: HEAD 200, GET 204, both without a body. */
static int
h_nonce(struct http_req *req, void *arg)
{
	http_reply_header(req, "Cache-Control", "no-store");
	if (http_req_method(req) == HTTP_HEAD)
		return http_reply(req, 200, NULL, NULL, 0);
	return http_reply(req, 204, NULL, NULL, 0);
}

static int
h_slow(struct http_req *req, void *arg)
{
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	return http_reply(req, 200, "text/plain", "slow", 4);
}

/* ?type=<type or empty>&code=<n>&detail=<text> -> that problem. */
static int
h_problem(struct http_req *req, void *arg)
{
	struct hsmca_err err = { 0 };
	const char *type = http_req_query(req, "type");
	const char *code = http_req_query(req, "code");
	const char *detail = http_req_query(req, "detail");
	/* The error type must be static: keep a copy alive in a table. */
	static const char *const types[] = {
		"badNonce", "malformed", "unauthorized", "rateLimited",
		"serverInternal", "accountDoesNotExist", "hsm", "notFound",
		"orderNotReady", "badCSR",
	};
	size_t i;

	for (i = 0; type != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i]) == 0)
			err.type = types[i];
	err.code = code ? atoi(code) : HSMCA_EINVAL;
	snprintf(err.detail, sizeof(err.detail), "%s", detail ? detail : "");
	return http_reply_problem(req, &err);
}

/* A problem with an extra member, through the two-step API. */
static int
h_subproblems(struct http_req *req, void *arg)
{
	struct hsmca_err err = { HSMCA_EINVAL, "rejectedIdentifier", "two" };
	json_t *doc;
	int status;

	doc = http_problem_new(&err, &status);
	json_object_set_new(doc, "subproblems", json_pack("[{s:s}]",
	    "type", "urn:ietf:params:acme:error:caa"));
	return http_reply_problem_doc(req, status, doc);
}

/* Header values with CR/LF and bad names are refused, not sent. */
static int
h_badheader(struct http_req *req, void *arg)
{
	if (http_reply_header(req, "X-Evil", "a\r\nSet-Cookie: x=1") !=
	    HSMCA_EINVAL || http_reply_header(req, "Bad Name", "v") !=
	    HSMCA_EINVAL || http_reply_header(req, "", "v") != HSMCA_EINVAL)
		atomic_fetch_add(&faults, 1);
	return http_reply(req, 200, "text/plain", "ok", 2);
}

static int
h_fail(struct http_req *req, void *arg)
{
	return HSMCA_EIO;
}

static int
h_double(struct http_req *req, void *arg)
{
	if (http_reply(req, 200, "text/plain", "one", 3) != 0 ||
	    http_reply(req, 200, "text/plain", "two", 3) != HSMCA_EINVAL ||
	    http_reply_header(req, "X-Late", "1") != HSMCA_EINVAL)
		atomic_fetch_add(&faults, 1);
	return 0;
}

static const struct http_route routes[] = {
	{ HTTP_GET, "/hello", h_hello, NULL },
	{ HTTP_GET, "/static", h_static, NULL },
	{ HTTP_POST | HTTP_PUT, "/echo", h_echo, NULL },
	{ HTTP_GET, "/files/", h_tagged, "prefix" },
	{ HTTP_GET, "/files/deep/", h_tagged, "deeper" },
	{ HTTP_GET, "/files/special", h_tagged, "exact" },
	{ HTTP_POST, "/files/special", h_tagged, "exact-post" },
	{ HTTP_GET, "/q", h_query, NULL },
	{ HTTP_GET, "/hdr", h_header, NULL },
	{ HTTP_GET | HTTP_HEAD, "/nonce", h_nonce, NULL },
	{ HTTP_GET, "/slow", h_slow, NULL },
	{ HTTP_GET, "/problem", h_problem, NULL },
	{ HTTP_GET, "/subproblems", h_subproblems, NULL },
	{ HTTP_GET, "/fail", h_fail, NULL },
	{ HTTP_GET, "/badheader", h_badheader, NULL },
	{ HTTP_GET, "/double", h_double, NULL },
};

/* ---- server fixture -------------------------------------------------- */

struct fixture {
	struct http_server *srv;
	uint16_t port;
	atomic_uint hook_calls;
	char scheme[8];
};

static void
on_reply(struct http_req *req, int status, void *arg)
{
	struct fixture *fx = arg;
	char v[16];

	atomic_fetch_add(&fx->hook_calls, 1);
	snprintf(v, sizeof(v), "%d", status);
	if (http_reply_header(req, "X-Hook", v) != 0)
		atomic_fetch_add(&faults, 1);
}

static void
params_init(struct http_server_params *p, struct fixture *fx)
{
	memset(p, 0, sizeof(*p));
	p->listen = "127.0.0.1:0";
	p->threads = 4;
	p->max_body = MAX_BODY;
	p->timeout_s = 5;
	p->drain_ms = 3000;
	p->routes = routes;
	p->nroutes = sizeof(routes) / sizeof(routes[0]);
	p->on_reply = on_reply;
	p->on_reply_arg = fx;
}

static int
setup_plain(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct http_server_params p;
	struct hsmca_err err = { 0 };

	atomic_store(&faults, 0);
	params_init(&p, fx);
	if (http_server_start(&p, &fx->srv, &err) != 0) {
		fprintf(stderr, "start: %s\n", err.detail);
		free(fx);
		return -1;
	}
	fx->port = http_server_port(fx->srv);
	strcpy(fx->scheme, "http");
	*state = fx;
	return fx->port != 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx != NULL) {
		http_server_stop(fx->srv);
		free(fx);
	}
	return atomic_load(&faults) == 0 ? 0 : -1;
}

/* ---- client ---------------------------------------------------------- */

struct buf {
	char *p;
	size_t len;
};

struct resp {
	long status;
	struct buf body;
	struct buf headers;
	CURLcode cc;
};

static size_t
buf_write(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *np;

	if ((np = realloc(b->p, b->len + size * n + 1)) == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, data, size * n);
	b->len += size * n;
	b->p[b->len] = '\0';
	return size * n;
}

static void
resp_free(struct resp *r)
{
	free(r->body.p);
	free(r->headers.p);
	memset(r, 0, sizeof(*r));
}

/* The value of header `name` in the raw header block, or NULL. */
static char *
resp_header(const struct resp *r, const char *name, char *out, size_t len)
{
	const char *line = r->headers.p;
	size_t nlen = strlen(name), vlen;

	while (line != NULL && *line != '\0') {
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			line += nlen + 1;
			line += strspn(line, " ");
			vlen = strcspn(line, "\r\n");
			if (vlen >= len)
				vlen = len - 1;
			memcpy(out, line, vlen);
			out[vlen] = '\0';
			return out;
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return NULL;
}

struct reqopt {
	const char *method;	/* NULL: GET, or POST when body is set */
	const void *body;
	size_t body_len;
	bool chunked;
	bool expect;
	const char *header;	/* one extra request header */
};

struct chunk_src {
	const char *p;
	size_t left;
};

static size_t
chunk_read(char *dst, size_t size, size_t n, void *arg)
{
	struct chunk_src *src = arg;
	size_t k = size * n;

	if (k > 100)
		k = 100;	/* several chunks, not one */
	if (k > src->left)
		k = src->left;
	memcpy(dst, src->p, k);
	src->p += k;
	src->left -= k;
	return k;
}

static void
easy_common(CURL *c, struct resp *r)
{
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, buf_write);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
}

/* One request on a fresh handle; r is filled in (free with resp_free). */
static void
do_req_on(CURL *c, const char *url, const struct reqopt *o, struct resp *r)
{
	struct curl_slist *hdrs = NULL;
	struct chunk_src src;

	memset(r, 0, sizeof(*r));
	easy_common(c, r);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (o != NULL && o->header != NULL)
		hdrs = curl_slist_append(hdrs, o->header);
	if (o != NULL && o->method != NULL && strcmp(o->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (o != NULL && o->method != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
	if (o != NULL && o->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		if (o->chunked) {
			src.p = o->body;
			src.left = o->body_len;
			curl_easy_setopt(c, CURLOPT_READFUNCTION, chunk_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &src);
			hdrs = curl_slist_append(hdrs,
			    "Transfer-Encoding: chunked");
		} else {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)o->body_len);
		}
		hdrs = curl_slist_append(hdrs, o->expect ?
		    "Expect: 100-continue" : "Expect:");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	r->cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
}

static void
do_req(const struct fixture *fx, const char *path, const struct reqopt *o,
    struct resp *r)
{
	char url[512];
	CURL *c = curl_easy_init();
	int n = snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", fx->port,
	    path);

	assert_true(n > 0 && (size_t)n < sizeof(url));
	do_req_on(c, url, o, r);
	curl_easy_cleanup(c);
}

/* Check r is a problem document with `status` and `type`; detail must
 * contain `detail_part` when that is not NULL. */
static void
assert_problem(const struct resp *r, long status, const char *type,
    const char *detail_part)
{
	char ct[128];
	json_t *doc;
	json_error_t jerr;

	assert_int_equal(r->cc, CURLE_OK);
	assert_int_equal(r->status, status);
	assert_non_null(resp_header(r, "Content-Type", ct, sizeof(ct)));
	assert_string_equal(ct, "application/problem+json");
	doc = json_loadb(r->body.p, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "type")),
	    type);
	assert_int_equal(json_integer_value(json_object_get(doc, "status")),
	    status);
	if (detail_part != NULL)
		assert_non_null(strstr(json_string_value(json_object_get(doc,
		    "detail")), detail_part));
	json_decref(doc);
}

/* The hook ran for this reply and saw its status. */
static void
assert_hooked(const struct resp *r)
{
	char v[16], want[16];

	assert_non_null(resp_header(r, "X-Hook", v, sizeof(v)));
	snprintf(want, sizeof(want), "%ld", r->status);
	assert_string_equal(v, want);
}

/* ---- tests ----------------------------------------------------------- */

static void
test_get_post(void **state)
{
	struct fixture *fx = *state;
	struct reqopt post = { .body = "ping", .body_len = 4 };
	struct reqopt put = { .method = "PUT", .body = "x", .body_len = 1 };
	struct resp r;
	char v[64];

	do_req(fx, "/hello", NULL, &r);
	assert_int_equal(r.cc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.p, "hello");
	assert_string_equal(resp_header(&r, "Content-Type", v, sizeof(v)),
	    "text/plain");
	assert_hooked(&r);
	resp_free(&r);

	do_req(fx, "/static", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.p, static_body);
	resp_free(&r);

	do_req(fx, "/echo", &post, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.p, "ping");
	assert_string_equal(resp_header(&r, "X-Body-Length", v, sizeof(v)),
	    "4");
	assert_hooked(&r);
	resp_free(&r);

	do_req(fx, "/echo", &put, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.p, "x");
	resp_free(&r);

	/* POST without a body: the handler sees "" and length 0. */
	post.body = "";
	post.body_len = 0;
	do_req(fx, "/echo", &post, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "X-Body-Length", v, sizeof(v)),
	    "0");
	resp_free(&r);
}

static void
test_routes(void **state)
{
	struct fixture *fx = *state;
	struct reqopt post = { .body = "", .body_len = 0 };
	static const struct {
		const char *path;
		long status;
		const char *body;
	} cases[] = {
		{ "/files/a", 200, "prefix:a" },
		{ "/files/a/b.txt", 200, "prefix:a/b.txt" },
		{ "/files/", 200, "prefix:" },
		{ "/files/deep/x", 200, "deeper:x" },	/* longer prefix */
		{ "/files/deep", 200, "prefix:deep" },
		{ "/files/special", 200, "exact:" },	/* exact wins */
		{ "/files/specialx", 200, "prefix:specialx" },
		{ "/files", 404, NULL },	/* prefix needs its '/' */
		{ "/hello/", 404, NULL },	/* exact is exact */
		{ "/hellox", 404, NULL },
		{ "/", 404, NULL },
	};
	struct resp r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		do_req(fx, cases[i].path, NULL, &r);
		assert_int_equal(r.cc, CURLE_OK);
		if (r.status != cases[i].status)
			fail_msg("%s: status %ld", cases[i].path, r.status);
		if (cases[i].body != NULL)
			assert_string_equal(r.body.p, cases[i].body);
		resp_free(&r);
	}
	/* Same path, another method, another handler. */
	do_req(fx, "/files/special", &post, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.p, "exact-post:");
	resp_free(&r);
}

static void
test_404_405(void **state)
{
	struct fixture *fx = *state;
	struct reqopt post = { .body = "x", .body_len = 1 };
	struct reqopt del = { .method = "DELETE" };
	struct reqopt odd = { .method = "BREW" };
	struct resp r;
	char v[64];

	do_req(fx, "/nope", NULL, &r);
	assert_problem(&r, 404, "about:blank", "/nope");
	assert_hooked(&r);
	resp_free(&r);

	do_req(fx, "/hello", &post, &r);
	assert_problem(&r, 405, "about:blank", "/hello");
	assert_string_equal(resp_header(&r, "Allow", v, sizeof(v)), "GET");
	assert_hooked(&r);
	resp_free(&r);

	do_req(fx, "/files/special", &del, &r);
	assert_problem(&r, 405, "about:blank", NULL);
	assert_string_equal(resp_header(&r, "Allow", v, sizeof(v)),
	    "GET, POST");
	resp_free(&r);

	do_req(fx, "/nonce", &odd, &r);
	assert_problem(&r, 405, "about:blank", NULL);
	assert_string_equal(resp_header(&r, "Allow", v, sizeof(v)),
	    "GET, HEAD");
	resp_free(&r);
}

static void
test_body_limit(void **state)
{
	struct fixture *fx = *state;
	char *big = malloc(MAX_BODY + 1);
	struct reqopt o = { .body = big };
	struct resp r;
	char v[64];
	int chunked, expect;

	memset(big, 'a', MAX_BODY + 1);
	/* Far over the limit without a length: read and dropped up to a
	 * bound, then the connection is cut; the server carries on. */
	{
		size_t huge_len = 2 * 1024 * 1024;
		char *huge = calloc(1, huge_len);
		struct reqopt h = { .body = huge, .body_len = huge_len,
		    .chunked = true };

		do_req(fx, "/echo", &h, &r);
		assert_int_not_equal(r.status, 200);
		resp_free(&r);
		free(huge);
	}
	for (chunked = 0; chunked < 2; chunked++) {
		for (expect = 0; expect < 2; expect++) {
			o.chunked = chunked;
			o.expect = expect;
			/* Exactly at the limit: accepted whole. */
			o.body_len = MAX_BODY;
			do_req(fx, "/echo", &o, &r);
			assert_int_equal(r.cc, CURLE_OK);
			assert_int_equal(r.status, 200);
			assert_int_equal(r.body.len, MAX_BODY);
			assert_string_equal(resp_header(&r, "X-Body-Length", v,
			    sizeof(v)), "1024");
			resp_free(&r);
			/* One byte over: 413 problem, handler not run. */
			o.body_len = MAX_BODY + 1;
			do_req(fx, "/echo", &o, &r);
			assert_problem(&r, 413, "about:blank", "1024");
			assert_null(resp_header(&r, "X-Body-Length", v,
			    sizeof(v)));
			assert_hooked(&r);
			resp_free(&r);
		}
	}
	free(big);
}

static void
test_query(void **state)
{
	struct fixture *fx = *state;
	struct resp r;

	do_req(fx, "/q?a=1%202&b", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.p, "a=1 2 b= c=(null)");
	resp_free(&r);

	do_req(fx, "/q", NULL, &r);
	assert_string_equal(r.body.p, "a=(null) b=(null) c=(null)");
	resp_free(&r);
}

static void
test_headers_json(void **state)
{
	struct fixture *fx = *state;
	struct reqopt o = { .header = "X-Test: abc" };
	struct resp r;
	char v[64];
	json_t *doc;

	do_req(fx, "/hdr", &o, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "Content-Type", v, sizeof(v)),
	    "application/json");
	doc = json_loads(r.body.p, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "x-test")),
	    "abc");
	assert_true(json_is_true(json_object_get(doc, "client")));
	json_decref(doc);
	resp_free(&r);
}

static void
test_head(void **state)
{
	struct fixture *fx = *state;
	struct reqopt head = { .method = "HEAD" };
	struct resp r;
	char v[64];

	do_req(fx, "/nonce", &head, &r);
	assert_int_equal(r.cc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	assert_string_equal(resp_header(&r, "Cache-Control", v, sizeof(v)),
	    "no-store");
	assert_hooked(&r);
	resp_free(&r);

	do_req(fx, "/nonce", NULL, &r);
	assert_int_equal(r.cc, CURLE_OK);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body.len, 0);
	assert_hooked(&r);
	resp_free(&r);

	/* A GET-only route does not answer HEAD. */
	do_req(fx, "/hello", &head, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(resp_header(&r, "Allow", v, sizeof(v)), "GET");
	resp_free(&r);
}

static void
test_problem_types(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *query;
		long status;
		const char *type;
		const char *detail;
	} cases[] = {
		{ "type=badNonce&detail=stale", 400,
		    "urn:ietf:params:acme:error:badNonce", "stale" },
		{ "type=badCSR&detail=RFC%208555", 400,
		    "urn:ietf:params:acme:error:badCSR", "RFC 8555" },
		{ "type=malformed", 400,
		    "urn:ietf:params:acme:error:malformed", NULL },
		{ "type=unauthorized&detail=no", 403,
		    "urn:ietf:params:acme:error:unauthorized", "no" },
		{ "type=accountDoesNotExist", 400,
		    "urn:ietf:params:acme:error:accountDoesNotExist", NULL },
		{ "type=orderNotReady", 400,
		    "urn:ietf:params:acme:error:orderNotReady", NULL },
		{ "type=rateLimited", 429,
		    "urn:ietf:params:acme:error:rateLimited", NULL },
		{ "type=serverInternal&detail=db", 500,
		    "urn:ietf:params:acme:error:serverInternal", "db" },
		{ "type=notFound&detail=order", 404, "about:blank", "order" },
		/* Internal types: 500, detail kept out of the reply. */
		{ "type=hsm&detail=secret-slot", 500,
		    "urn:ietf:params:acme:error:serverInternal", "server log" },
		/* No type: the code decides. */
		{ "code=-2", 404, "about:blank", NULL },
		{ "code=-1", 400, "urn:ietf:params:acme:error:malformed", NULL },
		{ "code=-6", 403, "urn:ietf:params:acme:error:unauthorized",
		    NULL },
		{ "code=-4", 500,
		    "urn:ietf:params:acme:error:serverInternal", NULL },
	};
	struct resp r;
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "/problem?%s", cases[i].query);
		do_req(fx, path, NULL, &r);
		assert_problem(&r, cases[i].status, cases[i].type,
		    cases[i].detail);
		assert_null(strstr(r.body.p, "secret-slot"));
		assert_hooked(&r);
		resp_free(&r);
	}

	do_req(fx, "/subproblems", NULL, &r);
	assert_problem(&r, 400, "urn:ietf:params:acme:error:rejectedIdentifier",
	    "two");
	assert_non_null(strstr(r.body.p, "\"subproblems\""));
	resp_free(&r);

	/* A handler failing without a reply still gets an answer. */
	do_req(fx, "/fail", NULL, &r);
	assert_problem(&r, 500, "urn:ietf:params:acme:error:serverInternal",
	    "EIO");
	resp_free(&r);

	do_req(fx, "/badheader", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_null(strstr(r.headers.p, "Set-Cookie"));
	resp_free(&r);

	do_req(fx, "/double", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.p, "one");
	resp_free(&r);
}

/* Keep-alive: one handle, many requests, one connection. */
static void
test_keepalive(void **state)
{
	struct fixture *fx = *state;
	CURL *c = curl_easy_init();
	char url[128];
	struct resp r;
	long conns, total = 0;
	int i;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/static", fx->port);
	for (i = 0; i < 20; i++) {
		do_req_on(c, url, NULL, &r);
		assert_int_equal(r.status, 200);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
		total += conns;
		resp_free(&r);
	}
	assert_int_equal(total, 1);
	curl_easy_cleanup(c);
}

struct worker {
	uint16_t port;
	const char *path;
	int n;
	int ok;
	long last_status;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	CURL *c = curl_easy_init();
	char url[128];
	struct resp r;
	int i;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", w->port, w->path);
	for (i = 0; i < w->n; i++) {
		do_req_on(c, url, NULL, &r);
		w->last_status = r.status;
		if (r.cc == CURLE_OK && r.status == 200)
			w->ok++;
		resp_free(&r);
	}
	curl_easy_cleanup(c);
	return NULL;
}

static void
test_concurrent(void **state)
{
	struct fixture *fx = *state;
	struct worker w[8];
	pthread_t t[8];
	int i;

	for (i = 0; i < 8; i++) {
		w[i] = (struct worker){ fx->port, i % 2 ? "/static" : "/hello",
		    50, 0, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].ok, 50);
	}
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *
stop_run(void *arg)
{
	http_server_stop(arg);
	return NULL;
}

/*
 * A request in flight when stop is called still gets its 200; one
 * that comes in while the stop waits for it gets 503 with Retry-After
 * and the connection closed.
 */
static void
test_drain(void **state)
{
	struct fixture *fx = *state;
	struct worker w = { fx->port, "/slow", 1, 0, 0 };
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	struct resp r;
	pthread_t t, st;
	char v[32];
	double t0;

	assert_int_equal(pthread_create(&t, NULL, worker_run, &w), 0);
	nanosleep(&ts, NULL);	/* the handler is now sleeping */
	t0 = now_ms();
	assert_int_equal(pthread_create(&st, NULL, stop_run, fx->srv), 0);
	fx->srv = NULL;		/* stop_run's now */
	ts.tv_nsec = 50 * 1000 * 1000;
	nanosleep(&ts, NULL);	/* the stop is now waiting */
	do_req(fx, "/hello", NULL, &r);
	assert_problem(&r, 503, "about:blank", "stopping");
	if (resp_header(&r, "Retry-After", v, sizeof(v)) == NULL ||
	    strcmp(v, "1") != 0 ||
	    resp_header(&r, "Connection", v, sizeof(v)) == NULL ||
	    strcasecmp(v, "close") != 0)
		fail_msg("headers:\n%s", r.headers.p);
	resp_free(&r);
	pthread_join(st, NULL);
	/* It waited for the handler, and not for the whole drain bound. */
	assert_true(now_ms() - t0 >= 100);
	assert_true(now_ms() - t0 < 2500);
	pthread_join(t, NULL);
	assert_int_equal(w.ok, 1);
	assert_int_equal(w.last_status, 200);

	/* Nothing listens any more. */
	do_req(fx, "/hello", NULL, &r);
	assert_int_not_equal(r.cc, CURLE_OK);
	resp_free(&r);
}

static void
test_bad_params(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:70000",
		"::1:0", "[::1]0", ":80", "no.such.host.invalid:0", NULL,
	};
	static const struct http_route badroute[] = {
		{ HTTP_GET, "relative", h_hello, NULL },
	};
	struct http_server_params p;
	struct http_server *srv;
	struct hsmca_err err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		params_init(&p, NULL);
		p.listen = bad[i];
		hsmca_err_clear(&err);
		assert_int_equal(http_server_start(&p, &srv, &err),
		    HSMCA_EINVAL);
		assert_null(srv);
		assert_true(err.detail[0] != '\0');
	}
	params_init(&p, NULL);
	p.routes = badroute;
	p.nroutes = 1;
	hsmca_err_clear(&err);
	assert_int_equal(http_server_start(&p, &srv, &err), HSMCA_EINVAL);

	params_init(&p, NULL);
	p.tls_cert_pem = "-----BEGIN CERTIFICATE-----\n";
	hsmca_err_clear(&err);
	assert_int_equal(http_server_start(&p, &srv, &err), HSMCA_EINVAL);

	params_init(&p, NULL);
	p.tls_cert_pem = "not a pem";
	p.tls_key_pem = "not a pem";
	hsmca_err_clear(&err);
	assert_int_equal(http_server_start(&p, &srv, &err), HSMCA_EIO);
	http_server_stop(NULL);
}

/*
 * Stop right after start, many times, with many pool threads: each
 * thread has the listen socket in its epoll set; a stop that took it
 * out from this thread (MHD_quiesce_daemon()) raced the threads, and
 * libmicrohttpd aborted the process on losing ("Failed to remove
 * listen FD from epoll set").
 */
static void
test_start_stop(void **state)
{
	struct http_server_params p;
	struct http_server *srv;
	struct hsmca_err err;
	int i;

	for (i = 0; i < 500; i++) {
		params_init(&p, NULL);
		p.threads = 16;
		hsmca_err_clear(&err);
		srv = NULL;
		if (http_server_start(&p, &srv, &err) != 0)
			fail_msg("start %d: %s", i, err.detail);
		http_server_stop(srv);
	}
}

static void
test_ipv6(void **state)
{
	struct http_server_params p;
	struct http_server *srv = NULL;
	struct hsmca_err err = { 0 };
	struct fixture fx = { 0 };
	char url[128];
	CURL *c;
	struct resp r;

	params_init(&p, &fx);
	p.listen = "[::1]:0";
	if (http_server_start(&p, &srv, &err) != 0) {
		fail_msg("cannot listen on [::1]: %s", err.detail);
	}
	snprintf(url, sizeof(url), "http://[::1]:%u/hello",
	    http_server_port(srv));
	c = curl_easy_init();
	do_req_on(c, url, NULL, &r);
	assert_int_equal(r.cc, CURLE_OK);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	curl_easy_cleanup(c);
	http_server_stop(srv);
}

/* With one connection allowed per address, a second one is refused
 * while the first is kept alive, and the first keeps working. */
static void
test_conn_limit(void **state)
{
	struct http_server_params p;
	struct http_server *srv = NULL;
	struct hsmca_err err = { 0 };
	struct fixture fx = { 0 };
	char url[128];
	CURL *a, *b;
	struct resp r;

	params_init(&p, &fx);
	p.max_conns_per_ip = 1;
	if (http_server_start(&p, &srv, &err) != 0)
		fail_msg("start: %s", err.detail);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hello",
	    http_server_port(srv));
	a = curl_easy_init();
	b = curl_easy_init();
	do_req_on(a, url, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	do_req_on(b, url, NULL, &r);
	assert_int_not_equal(r.cc, CURLE_OK);
	resp_free(&r);
	do_req_on(a, url, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	curl_easy_cleanup(a);
	curl_easy_cleanup(b);
	http_server_stop(srv);
}

/* An idle keep-alive connection is closed after timeout_s. */
static void
test_idle_timeout(void **state)
{
	struct http_server_params p;
	struct http_server *srv = NULL;
	struct hsmca_err err = { 0 };
	struct fixture fx = { 0 };
	struct timespec idle = { 2, 300 * 1000 * 1000 };
	char url[128];
	long conns;
	CURL *c;
	struct resp r;

	params_init(&p, &fx);
	p.timeout_s = 1;
	if (http_server_start(&p, &srv, &err) != 0)
		fail_msg("start: %s", err.detail);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hello",
	    http_server_port(srv));
	c = curl_easy_init();
	do_req_on(c, url, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	nanosleep(&idle, NULL);
	do_req_on(c, url, NULL, &r);
	assert_int_equal(r.status, 200);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
	assert_int_equal(conns, 1);	/* the old one was gone */
	resp_free(&r);
	curl_easy_cleanup(c);
	http_server_stop(srv);
}

/* ---- TLS: a throwaway root -> intermediate -> leaf chain -------------- */

struct issued {
	EVP_PKEY *key;
	X509 *cert;
};

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* Issue a P-256 certificate for `cn`; issuer NULL means self-signed. */
static void
issue(struct issued *out, const char *cn, const struct issued *issuer,
    bool ca, long serial)
{
	X509_NAME *name;
	X509 *cert;

	out->key = EVP_EC_gen("P-256");
	assert_non_null(out->key);
	cert = X509_new();
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	name = X509_NAME_new();
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(cert, name);
	X509_set_issuer_name(cert, issuer ? X509_get_subject_name(
	    issuer->cert) : name);
	X509_NAME_free(name);
	X509_set_pubkey(cert, out->key);
	add_ext(cert, issuer ? issuer->cert : cert, NID_subject_key_identifier,
	    "hash");
	add_ext(cert, issuer ? issuer->cert : cert,
	    NID_authority_key_identifier, "keyid:always");
	if (ca) {
		add_ext(cert, NULL, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(cert, NULL, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	} else {
		add_ext(cert, NULL, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(cert, NULL, NID_key_usage,
		    "critical,digitalSignature");
		add_ext(cert, NULL, NID_ext_key_usage, "serverAuth");
		add_ext(cert, NULL, NID_subject_alt_name,
		    "DNS:localhost,IP:127.0.0.1");
	}
	assert_true(X509_sign(cert, issuer ? issuer->key : out->key,
	    EVP_sha256()) > 0);
	out->cert = cert;
}

static void
issued_free(struct issued *i)
{
	EVP_PKEY_free(i->key);
	X509_free(i->cert);
}

/* PEM text of certificates (and optionally a key) into a malloc'd
 * string. */
static char *
to_pem(X509 *c1, X509 *c2, EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	if (c1 != NULL)
		PEM_write_bio_X509(bio, c1);
	if (c2 != NULL)
		PEM_write_bio_X509(bio, c2);
	if (key != NULL)
		PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)len + 1);
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	BIO_free(bio);
	return out;
}

/* GET /hello over TLS trusting only `ca_pem`; returns the curl code. */
static CURLcode
tls_get(uint16_t port, const char *ca_pem, long max_tls, long *status)
{
	CURL *c = curl_easy_init();
	struct curl_blob blob = { (void *)ca_pem, strlen(ca_pem),
	    CURL_BLOB_COPY };
	struct curl_slist *resolve;
	char url[128], res[64];
	struct resp r;
	CURLcode cc;

	snprintf(url, sizeof(url), "https://localhost:%u/hello", port);
	snprintf(res, sizeof(res), "localhost:%u:127.0.0.1", port);
	resolve = curl_slist_append(NULL, res);
	curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	if (max_tls != 0)
		curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1 |
		    max_tls);
	do_req_on(c, url, NULL, &r);
	*status = r.status;
	if ((cc = r.cc) == CURLE_OK)
		assert_string_equal(r.body.p, "hello");
	resp_free(&r);
	curl_easy_cleanup(c);
	curl_slist_free_all(resolve);
	return cc;
}

static void
test_https(void **state)
{
	struct issued root, inter, leaf, other;
	struct http_server_params p;
	struct http_server *srv = NULL;
	struct hsmca_err err = { 0 };
	struct fixture fx = { 0 };
	char *chain, *key, *root_pem, *other_pem, *leaf_only;
	CURLcode cc;
	long status;

	issue(&root, "hsmca test root", NULL, true, 1);
	issue(&inter, "hsmca test intermediate", &root, true, 2);
	issue(&leaf, "localhost", &inter, false, 3);
	issue(&other, "some other root", NULL, true, 4);
	chain = to_pem(leaf.cert, inter.cert, NULL);
	leaf_only = to_pem(leaf.cert, NULL, NULL);
	key = to_pem(NULL, NULL, leaf.key);
	root_pem = to_pem(root.cert, NULL, NULL);
	other_pem = to_pem(other.cert, NULL, NULL);

	params_init(&p, &fx);
	p.tls_cert_pem = chain;
	p.tls_key_pem = key;
	if (http_server_start(&p, &srv, &err) != 0)
		fail_msg("start: %s", err.detail);

	/* Trusting only the root works: the intermediate was served. */
	cc = tls_get(http_server_port(srv), root_pem, 0, &status);
	assert_int_equal(cc, CURLE_OK);
	assert_int_equal(status, 200);
	/* TLS 1.3 and 1.2 both work; 1.1 is refused. */
	cc = tls_get(http_server_port(srv), root_pem,
	    CURL_SSLVERSION_MAX_TLSv1_2, &status);
	assert_int_equal(cc, CURLE_OK);
	cc = tls_get(http_server_port(srv), root_pem,
	    CURL_SSLVERSION_MAX_TLSv1_1, &status);
	assert_int_not_equal(cc, CURLE_OK);
	/* Trusting another root fails verification. */
	cc = tls_get(http_server_port(srv), other_pem, 0, &status);
	assert_true(cc == CURLE_PEER_FAILED_VERIFICATION ||
	    cc == CURLE_SSL_CACERT);
	assert_int_equal(atomic_load(&fx.hook_calls), 2);
	http_server_stop(srv);

	/* Control: serving the leaf alone, the root-only client fails, so
	 * the success above depends on the chain being sent. */
	p.tls_cert_pem = leaf_only;
	srv = NULL;
	if (http_server_start(&p, &srv, &err) != 0)
		fail_msg("start: %s", err.detail);
	cc = tls_get(http_server_port(srv), root_pem, 0, &status);
	assert_int_not_equal(cc, CURLE_OK);
	http_server_stop(srv);

	free(chain);
	free(leaf_only);
	free(key);
	free(root_pem);
	free(other_pem);
	issued_free(&root);
	issued_free(&inter);
	issued_free(&leaf);
	issued_free(&other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_post, setup_plain,
		    teardown),
		cmocka_unit_test_setup_teardown(test_routes, setup_plain,
		    teardown),
		cmocka_unit_test_setup_teardown(test_404_405, setup_plain,
		    teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, setup_plain,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query, setup_plain,
		    teardown),
		cmocka_unit_test_setup_teardown(test_headers_json, setup_plain,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head, setup_plain,
		    teardown),
		cmocka_unit_test_setup_teardown(test_problem_types,
		    setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive, setup_plain,
		    teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup_plain,
		    teardown),
		cmocka_unit_test_setup_teardown(test_drain, setup_plain,
		    teardown),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_start_stop),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_conn_limit),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_https),
	};
	int rc;

	/* A peer closing mid-write must not kill the test process. */
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
