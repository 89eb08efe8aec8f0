/*
 * protocol/http_reply.c - build a response, add headers, queue it on the
 * request's connection.
 */
#include "protocol/http_int.h"

#include <string.h>

#include "common/log.h"

/* Copy one string into the request's header space; returns its offset. */
static int
hbuf_put(struct http_req *req, const char *s, uint16_t *off)
{
	size_t len = strlen(s) + 1;

	if (len > sizeof(req->hbuf) - req->hlen)
		return HSMCA_ENOMEM;
	memcpy(req->hbuf + req->hlen, s, len);
	*off = (uint16_t)req->hlen;
	req->hlen += len;
	return 0;
}

/*
 * Before the reply: hold the header in the request.  From the on_reply
 * hook: add it to the response being sent.
 */
int
http_reply_header(struct http_req *req, const char *name, const char *value)
{
	size_t save = req->hlen;

	/* A CR or LF would let a value smuggle in headers of its own; a
	 * name must be a non-empty token without ':' or blanks. */
	if (name[0] == '\0' || strpbrk(name, ":\r\n \t") != NULL ||
	    strpbrk(value, "\r\n") != NULL)
		return HSMCA_EINVAL;

	if (req->resp != NULL) {
		if (MHD_add_response_header(req->resp, name, value) != MHD_YES)
			return HSMCA_EINVAL;
		return 0;
	}
	if (req->replied)
		return HSMCA_EINVAL;
	if (req->nhdr == HTTP_MAX_PENDING_HEADERS)
		return HSMCA_ENOMEM;
	if (hbuf_put(req, name, &req->hname[req->nhdr]) != 0 ||
	    hbuf_put(req, value, &req->hvalue[req->nhdr]) != 0) {
		req->hlen = save;
		return HSMCA_ENOMEM;
	}
	req->nhdr++;
	return 0;
}

/*
 * Add the content type, held headers and the hook's headers to `resp`,
 * queue it, and drop our reference (MHD keeps its own until sent).
 * Consumes `resp` in every case.
 */
static int
send_response(struct http_req *req, int status, const char *content_type,
    struct MHD_Response *resp)
{
	struct http_server *srv = req->srv;
	int rc = HSMCA_ENOMEM;
	size_t i;

	if (resp == NULL)
		goto out;
	rc = HSMCA_EINVAL;
	if (content_type != NULL && MHD_add_response_header(resp,
	    MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES)
		goto out;
	for (i = 0; i < req->nhdr; i++)
		if (MHD_add_response_header(resp, req->hbuf + req->hname[i],
		    req->hbuf + req->hvalue[i]) != MHD_YES)
			goto out;
	/* While draining, close each connection after its reply so keep-alive
	 * clients move on instead of being cut mid-request. */
	if (atomic_load_explicit(&srv->draining, memory_order_relaxed) &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
	    "close") != MHD_YES)
		goto out;
	if (srv->on_reply != NULL) {
		req->resp = resp;
		srv->on_reply(req, status, srv->on_reply_arg);
		req->resp = NULL;
	}
	rc = HSMCA_EIO;
	if (MHD_queue_response(req->conn, (unsigned)status, resp) != MHD_YES) {
		log_warn("http: cannot queue %d reply for %s", status,
		    req->path);
		goto out;
	}
	req->queued = true;
	rc = 0;
out:
	if (resp != NULL)
		MHD_destroy_response(resp);
	return rc;
}

/* Common checks of every reply function: at most one reply, sane status. */
static int
reply_begin(struct http_req *req, int status)
{
	if (req->replied || req->resp != NULL)
		return HSMCA_EINVAL;
	if (status < 100 || status > 599)
		return HSMCA_EINVAL;
	req->replied = true;
	return 0;
}

/*
 * Reply with a copy of `body`.
 */
int
http_reply(struct http_req *req, int status, const char *content_type,
    const void *body, size_t len)
{
	int rc;

	if ((rc = reply_begin(req, status)) != 0)
		return rc;
	return send_response(req, status, content_type,
	    MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_MUST_COPY));
}

/*
 * Reply with `body` in place: MHD sends straight from the caller's
 * buffer, which must outlive the server.
 */
int
http_reply_static(struct http_req *req, int status, const char *content_type,
    const void *body, size_t len)
{
	int rc;

	if ((rc = reply_begin(req, status)) != 0)
		return rc;
	return send_response(req, status, content_type,
	    MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_PERSISTENT));
}

/* Serialize `json` (stolen) and send it with `content_type`; the
 * serialized text is handed to MHD, which frees it once sent. */
static int
reply_json_as(struct http_req *req, int status, const char *content_type,
    json_t *json)
{
	struct MHD_Response *resp;
	json_free_t jfree;
	char *text = NULL;
	int rc;

	if ((rc = reply_begin(req, status)) != 0)
		goto out;
	if (json != NULL)
		text = json_dumps(json, JSON_COMPACT);
	if (text == NULL) {
		/* Nothing to send: still answer, so the client isn't left
		 * waiting for a reply that never comes. */
		static const char fallback[] =
		    "{\"type\":\"urn:ietf:params:acme:error:serverInternal\","
		    "\"status\":500}";

		log_error("http: no JSON to send for %s", req->path);
		rc = send_response(req, 500, "application/problem+json",
		    MHD_create_response_from_buffer(sizeof(fallback) - 1,
		    (void *)fallback, MHD_RESPMEM_PERSISTENT));
		if (rc == 0)
			rc = HSMCA_ENOMEM;
		goto out;
	}
	/* Free with jansson's deallocator, whatever the process set. */
	json_get_alloc_funcs(NULL, &jfree);
	resp = MHD_create_response_from_buffer_with_free_callback(strlen(text),
	    text, jfree);
	if (resp == NULL)
		jfree(text);
	rc = send_response(req, status, content_type, resp);
out:
	json_decref(json);
	return rc;
}

/*
 * Reply with `json` as application/json; steals the reference.
 */
int
http_reply_json(struct http_req *req, int status, json_t *json)
{
	return reply_json_as(req, status, "application/json", json);
}

/*
 * Reply with a problem document; steals `doc`.
 */
int
http_reply_problem_doc(struct http_req *req, int status, json_t *doc)
{
	return reply_json_as(req, status, "application/problem+json", doc);
}
