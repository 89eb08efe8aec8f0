/*
 * tools/hsmcad_publish.c - the plain-HTTP publishing server on
 * publish.listen (the host of ca.base_url): the CA certificates named in
 * every certificate's AIA, the CRLs and OCSP.  Plain HTTP on purpose:
 * relying parties fetch these while checking a chain, before they can
 * trust any TLS (RFC 5280 4.2.1.13, RFC 6960 A.1).
 */
#include "tools/hsmcad.h"

#include <stdlib.h>
#include <string.h>

#include "ca/ca_ocsp.h"
#include "common/log.h"
#include "protocol/crl_http.h"
#include "protocol/ocsp_http.h"

#define PUB_ROUTES_MAX 16

struct hsmcad_publish {
	struct http_server *srv;
	struct http_route routes[PUB_ROUTES_MAX];
	size_t nroutes;
};

static int
add_route(struct hsmcad_publish *p, unsigned methods, const char *path,
    http_handler_fn fn, void *arg, struct hsmca_err *err)
{
	if (p->nroutes == PUB_ROUTES_MAX)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "publishing server: route table full");
	p->routes[p->nroutes++] = (struct http_route){ methods, path, fn,
	    arg };
	return 0;
}

/* Start the publishing server; see hsmcad.h. */
int
hsmcad_publish_start(struct ca *ca, const struct hsmca_config *cfg,
    const struct hsmcad_certs *certs,
    struct hsmcad_publish **out, struct hsmca_err *err)
{
	struct http_server_params hp = { 0 };
	struct hsmcad_publish *p;
	void *carg = (void *)certs;	/* handlers only read it */
	size_t n;
	int rc;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	if ((rc = add_route(p, HTTP_GET | HTTP_HEAD, "/ca/issuing.der",
	    hsmcad_certs_issuing_der, carg, err)) != 0 ||
	    (rc = add_route(p, HTTP_GET | HTTP_HEAD, "/ca/root.der",
	    hsmcad_certs_root_der, carg, err)) != 0)
		goto out;
	if (crl_http_routes(ca, p->routes + p->nroutes,
	    PUB_ROUTES_MAX - p->nroutes, &n) != 0) {
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "publishing server: no room for the CRL routes");
		goto out;
	}
	p->nroutes += n;
	if ((rc = ocsp_http_routes(ca, p->routes + p->nroutes,
	    PUB_ROUTES_MAX - p->nroutes, &n, err)) != 0)
		goto out;
	p->nroutes += n;
	hp.listen = config_get(cfg, "publish.listen");
	hp.routes = p->routes;
	hp.nroutes = p->nroutes;
	if ((rc = http_server_start(&hp, &p->srv, err)) != 0)
		goto out;
	log_info("publishing on http://%s: /ca/, /crl/%s", hp.listen,
	    ca_ocsp_enabled(ca) ? ", /ocsp" : "");
	*out = p;
	p = NULL;
	rc = 0;
out:
	free(p);
	return rc;
}

/* Stop the publishing server; see hsmcad.h. */
void
hsmcad_publish_stop(struct hsmcad_publish *pub)
{
	if (pub == NULL)
		return;
	http_server_stop(pub->srv);
	free(pub);
}
