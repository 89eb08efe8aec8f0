/*
 * protocol/acme.h - the ACME server (RFC 8555, with RFC 8738 IP
 * identifiers and the ACME profiles extension): its resources as a
 * route table for protocol/http.h, its validation workers, and its
 * state kept durably in the CA's store.
 *
 * Resources (paths under base_url):
 *   /directory              GET, HEAD   the directory
 *   /acme/new-nonce         GET (204), HEAD (200)
 *   /acme/new-account       POST        newAccount (jwk)
 *   /acme/new-order         POST        newOrder
 *   /acme/revoke-cert       POST        revokeCert (kid or certificate jwk)
 *   /acme/key-change        POST        keyChange
 *   /acme/acct/ID           POST        account: read, update, deactivate
 *   /acme/acct/ID/orders    POST-as-GET the account's recent orders
 *   /acme/order/ID          POST-as-GET the order
 *   /acme/order/ID/finalize POST        finalize with a CSR
 *   /acme/authz/ID          POST        authorization: read, deactivate
 *   /acme/chall/ID/N        POST        start a challenge / read it
 *   /acme/cert/SERIAL       POST-as-GET PEM chain (leaf, issuing CA)
 *
 * Choices where RFC 8555 leaves room:
 *  - a resource that exists but belongs to another account is refused
 *    with 403 unauthorized; one that does not exist is 404 malformed;
 *  - an unknown newOrder "profile" is 400 malformed;
 *  - an order becomes "ready" as soon as all its authorizations are
 *    valid; its "pending"/"ready"/"invalid" status is derived from its
 *    authorizations on every read, so one validation result updates
 *    every order that shares the authorization.
 */
#ifndef HSMCA_PROTOCOL_ACME_H
#define HSMCA_PROTOCOL_ACME_H

#include <stddef.h>

#include "ca/ca.h"
#include "common/config.h"
#include "common/err.h"
#include "protocol/http.h"

struct acme;

/*
 * Build the ACME server over the open `ca` (borrowed; it must outlive
 * the acme), reading the acme.*, validation.* and ratelimit.* keys of
 * `cfg` (read now, not kept).  `state_dir` resolves relative paths
 * (acme.eab_keys).  `base_url` is the scheme, host and port the clients
 * use ("https://localhost:14000"); every URL the server hands out and
 * every JWS "url" it accepts starts with it.  On success *out belongs to
 * the caller (acme_free()); no thread runs until acme_start().
 */
int acme_new(struct ca *ca, const struct hsmca_config *cfg,
    const char *state_dir, const char *base_url, struct acme **out,
    struct hsmca_err *err);

/*
 * The route table (see above) for http_server_params.routes; *n gets
 * its length.  Valid until acme_free().
 */
const struct http_route *acme_routes(struct acme *a, size_t *n);

/*
 * The http_on_reply_fn of the ACME server (pass the struct acme as its
 * argument): adds a fresh Replay-Nonce and Link <directory>;rel="index"
 * to every response.
 */
void acme_on_reply(struct http_req *req, int status, void *acme);

/*
 * Start the validation.workers validation threads and requeue the
 * challenges that were being validated when the process stopped.
 * Returns 0 or a negative code with `err` set.
 */
int acme_start(struct acme *a, struct hsmca_err *err);

/*
 * Stop the workers (a validation in progress finishes first) and free.
 * Call after the HTTP server using the routes has stopped.  NULL is ok.
 */
void acme_free(struct acme *a);

#endif
