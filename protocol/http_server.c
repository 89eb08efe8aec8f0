/*
 * protocol/http_server.c - run libmicrohttpd: bind, TLS, thread pool,
 * request limits, body accumulation, dispatch to routes, draining stop.
 */
#include "protocol/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/*
 * TLS 1.2 and 1.3 only, AEAD ciphers only, forward-secret key exchange
 * only; the server's order wins.
 */
#define DEFAULT_TLS_PRIORITIES \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:" \
	"-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

/*
 * Per-connection memory for headers and MHD's buffers (bodies are
 * copied out into struct upload as they arrive).  Not above 32 KiB:
 * libmicrohttpd mmaps a larger pool for every connection and munmaps it
 * at close, and each munmap costs a TLB shootdown on every CPU; that
 * was a tenth of the CPU of a server taking a new connection per
 * request (the http-01 responder of bench acme).
 */
#define CONN_MEMORY_LIMIT	(32 * 1024)
#define LISTEN_BACKLOG		511
/* A chunked body that overruns the limit is read and dropped so the
 * client gets its 413; past this many dropped bytes we just hang up. */
#define DISCARD_LIMIT		(1024 * 1024)

/* A request with a body, accumulated across access-handler calls. */
struct upload {
	unsigned char *buf;
	size_t len;
	size_t cap;
	size_t discarded;
	bool too_big;
};

/* Marks a request without a body between the first and second call of
 * the access handler, so that path allocates nothing. */
static const struct upload no_body;

__attribute__((format(printf, 2, 0)))
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t len;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* MHD ends its messages with a newline; log_msg adds its own. */
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	log_warn("http: %s", buf);
}

/*
 * Parse "host:port" or "[v6]:port" into `ss`.  The host may be a name
 * (resolved once, first address wins).
 */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss,
    socklen_t *sslen, struct hsmca_err *err)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon, *port;
	size_t hlen;
	int gai, rc = HSMCA_EINVAL;

	if (listen == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "http: no listen address");
	if (listen[0] == '[') {
		if ((colon = strstr(listen, "]:")) == NULL)
			goto bad;
		hlen = (size_t)(colon - listen - 1);
		memcpy(host, listen + 1, hlen < sizeof(host) ? hlen : 0);
		port = colon + 2;
	} else {
		if ((colon = strrchr(listen, ':')) == NULL ||
		    memchr(listen, ':', (size_t)(colon - listen)) != NULL)
			goto bad;
		hlen = (size_t)(colon - listen);
		memcpy(host, listen, hlen < sizeof(host) ? hlen : 0);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || *port == '\0' ||
	    strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    atoi(port) > 65535)
		goto bad;
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "http: listen address \"%s\": %s", listen,
		    gai_strerror(gai));
		goto out;
	}
	if (res->ai_addrlen > sizeof(*ss))
		goto bad;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	rc = 0;
	goto out;
bad:
	rc = hsmca_err_set(err, HSMCA_EINVAL, "config",
	    "http: listen address \"%s\" is not host:port or [v6]:port",
	    listen);
out:
	if (res != NULL)
		freeaddrinfo(res);
	return rc;
}

/*
 * Run the route's handler for a fully received request.  The request
 * lives on this stack frame; only the response outlives it.
 */
static enum MHD_Result
dispatch(struct http_server *srv, struct MHD_Connection *conn,
    const char *url, unsigned method, const unsigned char *body,
    size_t body_len)
{
	struct http_req req;
	const struct http_route *route;
	unsigned allow;
	char allowbuf[64];
	int rc;

	req.srv = srv;
	req.conn = conn;
	req.method = method;
	req.path = url;
	req.body = body != NULL ? body : (const unsigned char *)"";
	req.body_len = body_len;
	req.resp = NULL;
	req.replied = false;
	req.queued = false;
	req.nhdr = 0;
	req.hlen = 0;

	route = http_route_find(srv->routes, srv->nroutes, method, url,
	    &allow, &req.subpath);
	if (route == NULL && allow == 0) {
		http_reply_error(&req, HSMCA_ENOTFOUND, "notFound",
		    "no resource at %s", url);
	} else if (route == NULL) {
		http_reply_header(&req, MHD_HTTP_HEADER_ALLOW,
		    http_route_allow(allow, allowbuf, sizeof(allowbuf)));
		http_reply_error(&req, HSMCA_EINVAL, "methodNotAllowed",
		    "%s accepts %s", url, allowbuf);
	} else {
		rc = route->handler(&req, route->arg);
		if (!req.replied) {
			if (rc == 0)
				log_error("http: handler for %s sent no reply",
				    url);
			http_reply_error(&req, HSMCA_EINTERNAL,
			    "serverInternal", "the request failed (%s)",
			    hsmca_code_name(rc));
		}
	}
	/* Without a queued response MHD would call us again for the same
	 * request; drop the connection instead.  A handler's own error
	 * was already sent as a problem document. */
	return req.queued ? MHD_YES : MHD_NO;
}

/*
 * A request answered without entering any handler: 413 for a body
 * over the limit, 503 (with Retry-After: 1) while the server drains
 * for a stop.  MHD closes the connection after either.
 */
static enum MHD_Result
reply_early(struct http_server *srv, struct MHD_Connection *conn,
    const char *url, unsigned method, bool stopping)
{
	struct http_req req;

	memset(&req, 0, sizeof(req));
	req.srv = srv;
	req.conn = conn;
	req.method = method;
	req.path = url;
	req.subpath = "";
	req.body = (const unsigned char *)"";
	if (stopping) {
		(void)http_reply_header(&req, "Retry-After", "1");
		http_reply_error(&req, HSMCA_EIO, "serviceUnavailable",
		    "the server is stopping");
	} else
		http_reply_error(&req, HSMCA_EINVAL, "payloadTooLarge",
		    "request body exceeds %zu bytes", srv->max_body);
	return req.queued ? MHD_YES : MHD_NO;
}

/*
 * Decide on the first call for a request: -1 if the Content-Length is
 * malformed, 0 with *len set if the length is known (0 for no body),
 * 1 if the body is chunked.
 */
static int
body_length(struct MHD_Connection *conn, size_t *len)
{
	const char *cl, *te;
	char *end;
	unsigned long long v;

	*len = 0;
	te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (te != NULL)
		return 1;
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl == NULL)
		return 0;
	errno = 0;
	v = strtoull(cl, &end, 10);
	if (errno != 0 || end == cl || *end != '\0' || cl[0] == '-' ||
	    v > SIZE_MAX / 2)
		return -1;
	*len = (size_t)v;
	return 0;
}

/* Append upload data, growing the buffer up to the body limit; beyond
 * it, remember the overrun and drop the bytes. */
static int
upload_add(struct upload *up, size_t max, const char *data, size_t n)
{
	size_t ncap;
	unsigned char *nbuf;

	if (up->too_big || n > max - up->len) {
		up->too_big = true;
		up->discarded += n;
		return up->discarded > DISCARD_LIMIT ? -1 : 0;
	}
	if (up->len + n + 1 > up->cap) {
		ncap = up->cap ? up->cap : 4096;
		while (ncap < up->len + n + 1)
			ncap *= 2;
		if (ncap > max + 1)
			ncap = max + 1;
		if ((nbuf = realloc(up->buf, ncap)) == NULL)
			return -1;
		up->buf = nbuf;
		up->cap = ncap;
	}
	memcpy(up->buf + up->len, data, n);
	up->len += n;
	up->buf[up->len] = '\0';
	return 0;
}

/*
 * MHD's access handler, called once when the headers are in, then for
 * each piece of body, then once more with *upload_data_size 0 when the
 * body is complete.  Requests without a body are answered on the second
 * call and never allocate here.
 */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method_str, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct upload *up = *con_cls;
	unsigned method = http_method_parse(method_str);
	size_t len;
	int kind;

	if (up == NULL) {
		/* First call: the request now counts as in flight until
		 * on_completed(). */
		atomic_fetch_add(&srv->inflight, 1);
		/* Stopping: a new request is answered at once, not run. */
		if (atomic_load(&srv->draining))
			return reply_early(srv, conn, url, method, true);
		if ((kind = body_length(conn, &len)) < 0)
			return MHD_NO;
		/* No body: answer on the next call.  Queuing a reply now,
		 * before MHD has finished the request, would make MHD treat
		 * it as an early reply and close the connection, losing
		 * keep-alive. */
		if (kind == 0 && len == 0) {
			*con_cls = (void *)(uintptr_t)&no_body;
			return MHD_YES;
		}
		/* Refuse before the body is read: MHD then skips it and
		 * closes the connection after the reply. */
		if (kind == 0 && len > srv->max_body)
			return reply_early(srv, conn, url, method, false);
		if ((up = calloc(1, sizeof(*up))) == NULL)
			return MHD_NO;
		if (kind == 0) {
			if ((up->buf = malloc(len + 1)) == NULL) {
				free(up);
				return MHD_NO;
			}
			up->cap = len + 1;
		}
		*con_cls = up;
		return MHD_YES;
	}
	if (up == &no_body)
		return dispatch(srv, conn, url, method, NULL, 0);
	if (*upload_data_size != 0) {
		if (upload_add(up, srv->max_body, upload_data,
		    *upload_data_size) != 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (up->too_big)
		return reply_early(srv, conn, url, method, false);
	return dispatch(srv, conn, url, method, up->buf, up->len);
}

/* MHD is done with a request (reply sent, or the connection failed). */
static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct upload *up = *con_cls;

	if (up != NULL && up != &no_body) {
		free(up->buf);
		free(up);
		*con_cls = NULL;
	}
	atomic_fetch_sub(&srv->inflight, 1);
}

/*
 * Handlers block: on a durable commit (an fsync, several ms) and, for an
 * ACME challenge, on its validation (up to 100 ms).  A pool thread runs
 * one handler at a time and every connection it holds waits behind it,
 * so the pool is sized for the requests that can be waiting at once,
 * not for the CPUs: with two threads per CPU (4 on 2 CPUs) each thread
 * held four of 16 benchmark clients and queued their requests.
 */
static unsigned
default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > 16)
		n = 16;
	return (unsigned)(16 * n);
}

static int
check_routes(const struct http_server_params *p, struct hsmca_err *err)
{
	size_t i;

	if (p->routes == NULL && p->nroutes != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "http: route table missing");
	for (i = 0; i < p->nroutes; i++)
		if (p->routes[i].path == NULL || p->routes[i].path[0] != '/' ||
		    p->routes[i].handler == NULL || p->routes[i].methods == 0)
			return hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "http: route %zu needs a path starting with '/', "
			    "methods and a handler", i);
	return 0;
}

static void
server_free(struct http_server *srv)
{
	if (srv == NULL)
		return;
	free(srv->cert);
	free(srv->key);
	free(srv);
}

/*
 * Start the daemon: one epoll loop per pool thread, all on one listen
 * socket bound from params->listen.
 */
int
http_server_start(const struct http_server_params *p,
    struct http_server **out, struct hsmca_err *err)
{
	struct http_server *srv = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct MHD_OptionItem opts[16];
	const union MHD_DaemonInfo *di;
	unsigned flags, n = 0;
	int rc;

	*out = NULL;
	if ((rc = check_routes(p, err)) != 0 ||
	    (rc = parse_listen(p->listen, &ss, &sslen, err)) != 0)
		goto out;
	if ((p->tls_cert_pem == NULL) != (p->tls_key_pem == NULL)) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "http: TLS needs both a certificate chain and a key");
		goto out;
	}
	rc = HSMCA_ENOMEM;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		goto out;
	srv->routes = p->routes;
	srv->nroutes = p->nroutes;
	srv->max_body = p->max_body ? p->max_body : HTTP_DEFAULT_MAX_BODY;
	srv->drain_ms = p->drain_ms ? p->drain_ms : HTTP_DEFAULT_DRAIN_MS;
	srv->on_reply = p->on_reply;
	srv->on_reply_arg = p->on_reply_arg;
	atomic_init(&srv->inflight, 0);
	atomic_init(&srv->draining, false);

	/* MHD_USE_ITC: MHD_stop_daemon() wakes the pool threads. */
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER,
	    (intptr_t)mhd_log, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
	    p->threads ? p->threads : default_threads(), NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
	    p->timeout_s ? p->timeout_s : HTTP_DEFAULT_TIMEOUT_S, NULL };
	opts[n++] = (struct MHD_OptionItem){
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY_LIMIT, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_BACKLOG_SIZE,
	    LISTEN_BACKLOG, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
	    (intptr_t)on_completed, srv };
	if (p->max_conns != 0)
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_CONNECTION_LIMIT, p->max_conns, NULL };
	if (p->max_conns_per_ip != 0)
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, p->max_conns_per_ip,
		    NULL };
	if (p->tls_cert_pem != NULL) {
		if ((srv->cert = strdup(p->tls_cert_pem)) == NULL ||
		    (srv->key = strdup(p->tls_key_pem)) == NULL)
			goto out;
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert };
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key };
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_PRIORITIES, 0,
		    (void *)(p->tls_priorities ? p->tls_priorities :
		    DEFAULT_TLS_PRIORITIES) };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (srv->mhd == NULL) {
		rc = hsmca_err_set(err, HSMCA_EIO, "config",
		    "http: cannot serve on %s (address in use, bad TLS "
		    "certificate/key, or bad TLS priorities; see log)",
		    p->listen);
		goto out;
	}
	di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di != NULL ? di->port : 0;
	*out = srv;
	srv = NULL;
	rc = 0;
out:
	if (rc == HSMCA_ENOMEM)
		hsmca_err_set(err, rc, "serverInternal", "http: out of memory");
	server_free(srv);
	return rc;
}

uint16_t
http_server_port(const struct http_server *srv)
{
	return srv->port;
}

/*
 * Drain, wait for requests in flight (bounded), then stop.  Idle
 * keep-alive connections are not waited for: MHD_stop_daemon() closes
 * them.
 *
 * The listen socket stays open until MHD_stop_daemon(); requests that
 * come in meanwhile get 503 at once (on_request()).
 * MHD_quiesce_daemon() is not used: with epoll and a thread pool it
 * takes the socket out of every thread's epoll set from this thread
 * while each thread may be doing the same, and libmicrohttpd 0.9.75
 * aborts the process when it loses that race ("Failed to remove
 * listen FD from epoll set").
 */
void
http_server_stop(struct http_server *srv)
{
	struct timespec tick = { 0, 5 * 1000 * 1000 };
	unsigned waited = 0;

	if (srv == NULL)
		return;
	atomic_store(&srv->draining, true);
	while (atomic_load(&srv->inflight) != 0 && waited < srv->drain_ms) {
		nanosleep(&tick, NULL);
		waited += 5;
	}
	if (atomic_load(&srv->inflight) != 0)
		log_warn("http: stopping with %u request(s) unfinished after "
		    "%u ms", atomic_load(&srv->inflight), srv->drain_ms);
	MHD_stop_daemon(srv->mhd);
	server_free(srv);
}
