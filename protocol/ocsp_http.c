/*
 * protocol/ocsp_http.c - OCSP over HTTP: decode the GET path or the POST
 * body, let ca_ocsp_respond() find the response, send it with RFC 5019
 * caching headers.  The hot path (a stored response) allocates nothing
 * here: the request is decoded into a stack buffer and the response is
 * copied once, into the HTTP reply.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "protocol/ocsp_http.h"

#define CT_REQUEST "application/ocsp-request"
#define CT_RESPONSE "application/ocsp-response"
/* base64 of CA_OCSP_REQ_MAX bytes. */
#define B64_MAX (4 * ((CA_OCSP_REQ_MAX + 2) / 3))

struct emit_ctx {
	struct http_req *req;
	struct ca *ca;
	bool conditional;		/* a GET that may get 304 */
};

/* RFC 7231 7.1.1.1 IMF-fixdate. */
static void
http_date(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* The reply: headers first, then the DER (copied). */
static int
emit(const unsigned char *der, size_t len, const struct ca_ocsp_answer *ans,
    void *arg)
{
	struct emit_ctx *e = arg;
	char v[128], etag[96], hex[2 * STORE_SERIAL_MAX + 1];
	const char *inm;
	int64_t now, age;

	if (ans->rstatus != CA_OCSP_SUCCESSFUL) {
		http_reply_header(e->req, "Cache-Control", "no-store");
		return http_reply(e->req, 200, CT_RESPONSE, der, len);
	}
	ca_serial_hex(ans->serial, ans->serial_len, hex);
	snprintf(etag, sizeof(etag), "\"%s-%llx-%d%d\"", hex,
	    (unsigned long long)ans->this_update, (int)ans->hash,
	    ans->cert_status);
	/* Cache no longer than the responder keeps it: until re-signing. */
	now = ca_now(e->ca);
	age = ans->this_update + (ans->next_update - ans->this_update) / 2 -
	    now;
	if (age < 0)
		age = 0;
	snprintf(v, sizeof(v), "max-age=%lld, public, no-transform, "
	    "must-revalidate", (long long)age);
	http_reply_header(e->req, "Cache-Control", v);
	http_reply_header(e->req, "ETag", etag);
	http_date(ans->this_update, v, sizeof(v));
	http_reply_header(e->req, "Last-Modified", v);
	http_date(ans->next_update, v, sizeof(v));
	http_reply_header(e->req, "Expires", v);
	if (e->conditional &&
	    (inm = http_req_header(e->req, "If-None-Match")) != NULL &&
	    strcmp(inm, etag) == 0)
		return http_reply(e->req, 304, NULL, NULL, 0);
	return http_reply(e->req, 200, CT_RESPONSE, der, len);
}

/* Answer `der` (NULL: it did not decode) and log why a request failed. */
static int
answer(struct http_req *req, struct ca *ca, const unsigned char *der,
    size_t len, bool conditional)
{
	struct emit_ctx e = { req, ca, conditional };
	struct hsmca_err err = { 0 };
	int rc;

	rc = ca_ocsp_respond(ca, der, len, emit, &e, &err);
	/*
	 * Client mistakes and "not set up" would flood the log at request
	 * rate: debug.  Token and store failures: error.
	 */
	if (err.code != 0 && err.type != NULL &&
	    (strcmp(err.type, "malformed") == 0 ||
	    strcmp(err.type, "unauthorized") == 0 ||
	    (strcmp(err.type, "ocsp") == 0 && err.code == HSMCA_ENOTFOUND)))
		log_debug("ocsp: %s", err.detail);
	else if (err.code != 0)
		log_error("ocsp: %s: %s", err.type ? err.type : "error",
		    err.detail);
	return rc;
}

/*
 * GET /ocsp/<base64>: RFC 6960 A.1.  The server has already
 * percent-decoded the path.
 */
static int
h_get(struct http_req *req, void *arg)
{
	const char *path = http_req_subpath(req);
	unsigned char der[B64_MAX], b64[B64_MAX];
	size_t n, pad = 0;
	int len;

	/* Some clients put a slash before the base64; skip it. */
	while (*path == '/')
		path++;
	if ((n = strlen(path)) == 0 || n > B64_MAX || n % 4 != 0)
		return answer(req, arg, NULL, 0, false);
	/* A client that did not URL-encode its '+' may have it decoded to a
	 * space on the way. */
	for (size_t i = 0; i < n; i++)
		b64[i] = path[i] == ' ' ? '+' : (unsigned char)path[i];
	if (b64[n - 1] == '=')
		pad++;
	if (b64[n - 2] == '=')
		pad++;
	if ((len = EVP_DecodeBlock(der, b64, (int)n)) < 0 || (size_t)len < pad)
		return answer(req, arg, NULL, 0, false);
	return answer(req, arg, der, (size_t)len - pad, true);
}

/* POST /ocsp: RFC 6960 A.1, the DER request as the body. */
static int
h_post(struct http_req *req, void *arg)
{
	const char *ct = http_req_header(req, "Content-Type");
	const unsigned char *body;
	size_t len, ctlen = strlen(CT_REQUEST);

	body = http_req_body(req, &len);
	if (ct == NULL || strncasecmp(ct, CT_REQUEST, ctlen) != 0 ||
	    (ct[ctlen] != '\0' && ct[ctlen] != ';' && ct[ctlen] != ' '))
		return answer(req, arg, NULL, 0, false);
	return answer(req, arg, body, len, false);
}

/*
 * The route table.  See ocsp_http.h.
 */
int
ocsp_http_routes(struct ca *ca, struct http_route *out, size_t max,
    size_t *n, struct hsmca_err *err)
{
	*n = 0;
	if (!ca_ocsp_enabled(ca))
		return 0;
	if (max < OCSP_HTTP_MAX_ROUTES)
		return hsmca_err_set(err, HSMCA_EINVAL, "serverInternal",
		    "OCSP routes need %d table entries",
		    OCSP_HTTP_MAX_ROUTES);
	out[0] = (struct http_route){ HTTP_GET | HTTP_HEAD, "/ocsp/", h_get,
	    ca };
	out[1] = (struct http_route){ HTTP_POST, "/ocsp", h_post, ca };
	*n = 2;
	return 0;
}
