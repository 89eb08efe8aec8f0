/*
 * protocol/crl_http.h - the CRL publishing routes of the daemon's plain
 * HTTP server.
 *
 * GET and HEAD /crl/<n>.crl (shard n) and /crl/root.crl serve the
 * current stored CRL (never signing on a request) as
 * application/pkix-crl with ETag "<n>-<crlnumber>" (root:
 * "root-<crlnumber>"), Last-Modified (its thisUpdate), Expires (its
 * nextUpdate) and Cache-Control max-age up to an hour before
 * nextUpdate.  If-None-Match (a matching tag, or *) and, without it,
 * If-Modified-Since not before thisUpdate answer 304.  An unknown
 * shard, a malformed name or a shard without a CRL yet is a 404
 * problem document.
 */
#ifndef HSMCA_PROTOCOL_CRL_HTTP_H
#define HSMCA_PROTOCOL_CRL_HTTP_H

#include <stddef.h>

#include "ca/ca.h"
#include "protocol/http.h"

/*
 * Write the CRL routes into out[0..max-1] and their count into *n
 * (currently one prefix route, "/crl/").  The routes borrow `ca`, which
 * must outlive the server.  Returns 0, or HSMCA_EINVAL when `max` is
 * too small (nothing written).
 */
int crl_http_routes(struct ca *ca, struct http_route *out, size_t max,
    size_t *n);

#endif
