/*
 * protocol/http.h - the HTTP(S) server every hsmca endpoint sits on.
 *
 * A thin layer over libmicrohttpd: a route table maps (method, path) to a
 * handler; the server enforces request limits (body size, connection
 * timeout, connection count), receives the whole bounded body before the
 * handler runs, and turns errors into RFC 7807 problem documents.  ACME
 * resources, CRL/OCSP publishing and the admin API build on this header
 * and never see libmicrohttpd.
 *
 * Threads: handlers and the on_reply hook run on the server's worker
 * threads, several at once; a handler must only touch shared state that
 * is safe for that.  The server starts its threads with the signal mask of
 * the thread calling http_server_start(), so a daemon that blocks signals
 * before starting the server receives them only where it waits for them.
 */
#ifndef HSMCA_PROTOCOL_HTTP_H
#define HSMCA_PROTOCOL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

struct sockaddr;
struct http_req;
struct http_server;

/* Methods, as bits so a route can accept several. */
enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_HEAD = 1 << 1,
	HTTP_POST = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_DELETE = 1 << 4,
	HTTP_PATCH = 1 << 5,
	HTTP_OPTIONS = 1 << 6,
};

/*
 * A handler answers one request by calling exactly one of the http_reply*
 * functions below, then returns 0.  If it returns a negative HSMCA_E*
 * code without having replied, the server answers 500 serverInternal;
 * if it returns 0 without replying, that is a bug and also gets a 500.
 */
typedef int (*http_handler_fn)(struct http_req *req, void *arg);

/*
 * Called for every reply, error replies included, after the handler chose
 * status and body and before the headers go out.  It may add headers with
 * http_reply_header() (the ACME layer adds Replay-Nonce and Link
 * rel="index") and must not call any other http_reply* function.
 */
typedef void (*http_on_reply_fn)(struct http_req *req, int status, void *arg);

/*
 * One entry of the route table.
 *
 * `methods` is a mask of enum http_method.  A route answers HEAD only if
 * it lists HTTP_HEAD; its handler then sees http_req_method() ==
 * HTTP_HEAD and replies as for GET (the server sends the headers and
 * drops the body).  `path` is matched exactly, or as a prefix when it
 * ends in '/' ("/crl/" matches "/crl/1.crl"; see http_req_subpath()).
 * An exact route beats a prefix route, and a longer prefix a shorter
 * one.  Several entries may share a path with different methods.
 */
struct http_route {
	unsigned methods;
	const char *path;
	http_handler_fn handler;
	void *arg;
};

/* Defaults used when a field of struct http_server_params is 0. */
#define HTTP_DEFAULT_MAX_BODY	(64 * 1024)
#define HTTP_DEFAULT_TIMEOUT_S	10
#define HTTP_DEFAULT_DRAIN_MS	10000

/*
 * Everything http_server_start() needs.  Zero means "default" for every
 * numeric field.
 */
struct http_server_params {
	/* "host:port": "127.0.0.1:8443", "[::1]:0", "0.0.0.0:80", "[::]:443".
	 * Port 0 binds an ephemeral port; see http_server_port(). */
	const char *listen;
	/* PEM, in memory.  NULL cert and key: plain HTTP.  tls_cert_pem is
	 * the chain to serve, leaf first, then the intermediate(s), so a
	 * client that trusts only the root can connect. */
	const char *tls_cert_pem;
	const char *tls_key_pem;
	/* GnuTLS priority string; NULL: TLS 1.2 and 1.3, AEAD ciphers only. */
	const char *tls_priorities;
	unsigned threads;	/* worker threads; 0: 16 per online CPU,
				   at most 256 */
	size_t max_body;	/* bytes; larger bodies get 413 */
	unsigned timeout_s;	/* idle connection timeout, seconds */
	unsigned max_conns;	/* 0: libmicrohttpd's default (~1000) */
	unsigned max_conns_per_ip;	/* 0: no per-address limit */
	unsigned drain_ms;	/* how long http_server_stop() waits */
	/* Borrowed: the table and its strings must outlive the server. */
	const struct http_route *routes;
	size_t nroutes;
	http_on_reply_fn on_reply;	/* may be NULL */
	void *on_reply_arg;
};

/*
 * Bind, start the worker threads and serve.  On success *out is a
 * running server the caller stops with http_server_stop().  Returns 0, or
 * HSMCA_EINVAL (bad address, route table or TLS material: detail says
 * which) or HSMCA_EIO (bind or start failed) with `err` filled in.
 */
int http_server_start(const struct http_server_params *params,
    struct http_server **out, struct hsmca_err *err);

/* The port the server is bound to (useful after binding port 0). */
uint16_t http_server_port(const struct http_server *srv);

/*
 * Drain and free: stop accepting connections, let requests in flight
 * finish (up to drain_ms; replies sent meanwhile carry Connection:
 * close), then close every connection, join the threads and free `srv`.
 * Call it from the thread that started the server, never from a
 * handler.  NULL is a no-op.
 */
void http_server_stop(struct http_server *srv);

/*
 * Request accessors.  Strings returned are owned by the server and valid
 * until the handler returns.
 */

/* One enum http_method bit. */
unsigned http_req_method(const struct http_req *req);

/* The decoded path, without the query string: "/acme/order/123". */
const char *http_req_path(const struct http_req *req);

/* The part of the path after a prefix route's path ("1.crl" for "/crl/"
 * matching "/crl/1.crl"); "" for an exact route. */
const char *http_req_subpath(const struct http_req *req);

/* The decoded value of query argument `name`, or NULL if absent.  An
 * argument without '=' ("?x") has the value "". */
const char *http_req_query(const struct http_req *req, const char *name);

/* A request header by case-insensitive name, or NULL if absent. */
const char *http_req_header(const struct http_req *req, const char *name);

/*
 * The request body, received in full and at most max_body bytes: *len is
 * set to its length and the bytes are followed by a NUL that *len does
 * not count.  Never NULL ("" with *len 0 when there is no body).
 */
const unsigned char *http_req_body(const struct http_req *req, size_t *len);

/* The peer's address (sockaddr_in or sockaddr_in6), or NULL if unknown. */
const struct sockaddr *http_req_client(const struct http_req *req);

/*
 * Replies.  Each returns 0, or a negative HSMCA_E* code if the reply
 * could not be queued (a second reply for the same request is
 * HSMCA_EINVAL); the handler should then just return that code.
 */

/*
 * Add a response header.  Before a reply, up to 16 headers (1 KiB of
 * names and values together) are held and sent with it; from the
 * on_reply hook, they are added to the reply being sent.  Copies both
 * strings.  Returns HSMCA_ENOMEM when the space is used up, HSMCA_EINVAL
 * after the reply has gone.
 */
int http_reply_header(struct http_req *req, const char *name,
    const char *value);

/* Reply with a copy of `body` (`len` bytes; NULL when len is 0).
 * `content_type` may be NULL (no Content-Type header). */
int http_reply(struct http_req *req, int status, const char *content_type,
    const void *body, size_t len);

/* As http_reply() without the copy: `body` must stay valid and unchanged
 * until the server is stopped (a pre-built CRL, directory, OCSP blob).
 * The cheap path for hot GET endpoints. */
int http_reply_static(struct http_req *req, int status,
    const char *content_type, const void *body, size_t len);

/* Reply with `json` serialized compactly as application/json.  Steals the
 * reference (like json_object_set_new), even on failure; NULL json gives
 * a 500 problem. */
int http_reply_json(struct http_req *req, int status, json_t *json);

/*
 * Problem documents (RFC 7807, application/problem+json).  The HTTP status
 * follows err->type: ACME types (RFC 8555 6.7) are sent as
 * "urn:ietf:params:acme:error:<type>" with 400, except unauthorized 403,
 * rateLimited 429, serverInternal 500; "notFound" (404),
 * "methodNotAllowed" (405) and "payloadTooLarge" (413) are sent as
 * "about:blank" with a title.  Internal types ("hsm", "store", ...) and
 * unknown ones become a 500 serverInternal whose detail is logged, not
 * sent.  With type NULL, the code decides: HSMCA_EINVAL malformed,
 * HSMCA_ENOTFOUND notFound, HSMCA_EPOLICY unauthorized, else
 * serverInternal.
 */
int http_reply_problem(struct http_req *req, const struct hsmca_err *err);

/*
 * The two halves of http_reply_problem(), for callers that add members
 * before sending (RFC 8555 6.7.1 "subproblems", "identifier"):
 * http_problem_new() builds the document and sets *status; the caller
 * owns the result (NULL on allocation failure).  http_reply_problem_doc()
 * sends it with `status` and steals `doc`, even on failure.
 */
json_t *http_problem_new(const struct hsmca_err *err, int *status);
int http_reply_problem_doc(struct http_req *req, int status, json_t *doc);

#endif
