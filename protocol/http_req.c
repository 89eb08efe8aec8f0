/*
 * protocol/http_req.c - what a handler may read from its request.
 */
#include "protocol/http_int.h"

#include <string.h>

/* See http.h for each accessor's contract. */

unsigned
http_req_method(const struct http_req *req)
{
	return req->method;
}

const char *
http_req_path(const struct http_req *req)
{
	return req->path;
}

const char *
http_req_subpath(const struct http_req *req)
{
	return req->subpath;
}

/*
 * MHD keeps "?x" as key x with a NULL value; the header promises "".
 * Telling that apart from an absent argument needs the lookup2 form.
 */
const char *
http_req_query(const struct http_req *req, const char *name)
{
	const char *value = NULL;
	size_t len = 0;

	if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND,
	    name, strlen(name), &value, &len) != MHD_YES)
		return NULL;
	return value != NULL ? value : "";
}

const char *
http_req_header(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const unsigned char *
http_req_body(const struct http_req *req, size_t *len)
{
	*len = req->body_len;
	return req->body;
}

const struct sockaddr *
http_req_client(const struct http_req *req)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(req->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci != NULL ? ci->client_addr : NULL;
}
