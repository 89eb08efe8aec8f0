/*
 * protocol/http_int.h - internals shared by the http_*.c files only.
 * Nothing outside protocol/http_*.c and its test includes this.
 */
#ifndef HSMCA_PROTOCOL_HTTP_INT_H
#define HSMCA_PROTOCOL_HTTP_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "protocol/http.h"

#define HTTP_MAX_PENDING_HEADERS	16
#define HTTP_PENDING_HEADER_BYTES	1024

struct http_server {
	struct MHD_Daemon *mhd;
	const struct http_route *routes;
	size_t nroutes;
	size_t max_body;
	unsigned drain_ms;
	http_on_reply_fn on_reply;
	void *on_reply_arg;
	uint16_t port;
	/* Requests whose handler has been entered and whose reply is not yet
	 * fully sent; http_server_stop() waits for this to reach 0. */
	atomic_uint inflight;
	/* Set by http_server_stop(): replies then close their connection. */
	atomic_bool draining;
	/* Our copies of the TLS material, kept for the daemon's lifetime. */
	char *cert;
	char *key;
};

/*
 * One request being answered.  Lives on the worker's stack for the
 * duration of the handler call, so the hot GET path allocates nothing of
 * its own.
 */
struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	unsigned method;
	const char *path;
	const char *subpath;
	const unsigned char *body;
	size_t body_len;
	/* Non-NULL only while the on_reply hook runs. */
	struct MHD_Response *resp;
	bool replied;		/* a reply function was called */
	bool queued;		/* and MHD accepted the response */
	/* Headers added before the reply: offsets into hbuf. */
	size_t nhdr;
	size_t hlen;
	uint16_t hname[HTTP_MAX_PENDING_HEADERS];
	uint16_t hvalue[HTTP_MAX_PENDING_HEADERS];
	char hbuf[HTTP_PENDING_HEADER_BYTES];
};

/*
 * Find the route for (method, path).  Returns the route, or NULL with
 * *allow set to the mask of methods the path accepts (0: no route has
 * this path at all, so 404; else 405).  *subpath points into `path`.
 */
const struct http_route *http_route_find(const struct http_route *routes,
    size_t nroutes, unsigned method, const char *path, unsigned *allow,
    const char **subpath);

/* "GET, HEAD, POST" for `mask` into buf; returns buf. */
char *http_route_allow(unsigned mask, char *buf, size_t len);

/* The enum http_method bit for a method string, 0 if unknown. */
unsigned http_method_parse(const char *method);

/* Reply with a problem document of `type` (a static string), `status`
 * decided by the type table, and printf-style detail. */
int http_reply_error(struct http_req *req, int code, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
