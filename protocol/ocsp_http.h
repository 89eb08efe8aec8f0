/*
 * protocol/ocsp_http.h - the OCSP responder over HTTP (RFC 6960
 * appendix A, RFC 5019 5 and 6).
 *
 *   GET  /ocsp/<base64 of the DER request, URL-encoded>
 *   POST /ocsp   with Content-Type: application/ocsp-request
 *
 * Every answer that reaches the handler is an OCSPResponse with HTTP
 * 200 and Content-Type application/ocsp-response: a request that does
 * not decode (bad base64, bad DER, more than CA_OCSP_REQ_MAX bytes, a
 * POST with another Content-Type) gets the unsigned malformedRequest
 * response.  A body beyond the server's max_body is refused by the
 * HTTP server (413) before the handler runs.
 *
 * Successful responses carry RFC 5019 6.2 caching headers:
 * Cache-Control "max-age=N, public, no-transform, must-revalidate"
 * where N runs to the point where the responder itself would re-sign
 * (half the validity: a cache never holds a response longer than the
 * responder does), Last-Modified (thisUpdate), Expires (nextUpdate)
 * and an ETag; a GET with a matching If-None-Match gets 304.  Error
 * responses carry Cache-Control: no-store.
 */
#ifndef HSMCA_PROTOCOL_OCSP_HTTP_H
#define HSMCA_PROTOCOL_OCSP_HTTP_H

#include <stddef.h>

#include "ca/ca_ocsp.h"
#include "protocol/http.h"

/* Entries ocsp_http_routes() may write. */
#define OCSP_HTTP_MAX_ROUTES 2

/*
 * Write the responder's routes for `ca` into out[0..max) and their
 * number into *n: none when ocsp.enabled is false (the paths then
 * answer 404), else the GET/HEAD prefix route "/ocsp/" and the POST
 * route "/ocsp".  The routes borrow `ca`, which must outlive the
 * server.  HSMCA_EINVAL when `max` is below OCSP_HTTP_MAX_ROUTES.
 */
int ocsp_http_routes(struct ca *ca, struct http_route *out, size_t max,
    size_t *n, struct hsmca_err *err);

#endif
