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

#include "common/log.h"

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
    const char *state, const struct hsmcad_certs *certs,
    struct hsmcad_publish **out, struct hsmca_err *err)
{
	struct http_server_params hp = { 0 };
	struct hsmcad_publish *p;
	void *carg = (void *)certs;	/* handlers only read it */
	int rc;

	(void)ca;
	(void)state;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	if ((rc = add_route(p, HTTP_GET | HTTP_HEAD, "/ca/issuing.der",
	    hsmcad_certs_issuing_der, carg, err)) != 0 ||
	    (rc = add_route(p, HTTP_GET | HTTP_HEAD, "/ca/root.der",
	    hsmcad_certs_root_der, carg, err)) != 0)
		goto out;
	hp.listen = config_get(cfg, "publish.listen");
	hp.routes = p->routes;
	hp.nroutes = p->nroutes;
	if ((rc = http_server_start(&hp, &p->srv, err)) != 0)
		goto out;
	log_info("publishing on http://%s (CA certificates)", hp.listen);
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
