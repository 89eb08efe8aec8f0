/*
 * protocol/acme.c - the ACME server object: configuration, the route
 * table, the directory, newNonce and the reply hook that puts a fresh
 * Replay-Nonce and the index link on every response.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include "common/log.h"
#include "protocol/acme_int.h"

/* Build the directory (RFC 8555 7.1.1) once; it never changes. */
static int
directory_build(struct acme *a, const struct hsmca_config *cfg,
    struct hsmca_err *err)
{
	const char *caa = config_get(cfg, "acme.caa_identities");
	const char *web = config_get(cfg, "acme.website");
	const char *plist = config_get(cfg, "ca.profiles");
	json_t *dir = NULL, *meta, *caas, *profiles;
	char url[ACME_URL_MAX], name[STORE_PROFILE_MAX], desc[128];
	struct ca_profile prof;
	const char *p, *e;
	int rc = HSMCA_ENOMEM;

	if ((dir = json_object()) == NULL || (meta = json_object()) == NULL ||
	    json_object_set_new(dir, "meta", meta) != 0)
		goto out;
#define SETURL(k, path) do {						\
		acme_url(a, url, sizeof(url), "%s", path);		\
		if (json_object_set_new(dir, k, json_string(url)) != 0)	\
			goto out;					\
	} while (0)
	SETURL("newNonce", "/acme/new-nonce");
	SETURL("newAccount", "/acme/new-account");
	SETURL("newOrder", "/acme/new-order");
	SETURL("revokeCert", "/acme/revoke-cert");
	SETURL("keyChange", "/acme/key-change");
#undef SETURL
	if (a->tos != NULL &&
	    json_object_set_new(meta, "termsOfService", json_string(a->tos)))
		goto out;
	if (web != NULL && *web != '\0' &&
	    json_object_set_new(meta, "website", json_string(web)) != 0)
		goto out;
	if ((caas = json_array()) == NULL ||
	    json_object_set_new(meta, "caaIdentities", caas) != 0)
		goto out;
	for (p = caa != NULL ? caa : ""; *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if (e > p && json_array_append_new(caas,
		    json_stringn(p, (size_t)(e - p))) != 0)
			goto out;
	}
	if (json_object_set_new(meta, "externalAccountRequired",
	    json_boolean(a->eab_required)) != 0)
		goto out;
	/* The ACME profiles extension: name -> description. */
	if ((profiles = json_object()) == NULL ||
	    json_object_set_new(meta, "profiles", profiles) != 0)
		goto out;
	for (p = plist != NULL ? plist : ""; *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if (e == p || (size_t)(e - p) >= sizeof(name))
			continue;
		memcpy(name, p, (size_t)(e - p));
		name[e - p] = '\0';
		if (ca_profile_get(a->ca, name, &prof, NULL) != 0)
			continue;
		snprintf(desc, sizeof(desc), "%lld-hour certificates, up to "
		    "%d names%s%s", (long long)(prof.validity_secs / 3600),
		    prof.max_names, prof.wildcard ? ", wildcards" : "",
		    prof.ip ? ", IP addresses" : "");
		if (json_object_set_new(profiles, name, json_string(desc)))
			goto out;
	}
	if ((a->directory = json_dumps(dir, JSON_COMPACT)) == NULL)
		goto out;
	a->directory_len = strlen(a->directory);
	rc = 0;
out:
	json_decref(dir);
	if (rc != 0)
		hsmca_err_set(err, rc, "serverInternal",
		    "acme: cannot build the directory");
	return rc;
}

/* The issuing CA certificate as PEM, the tail of every chain served. */
static int
issuing_pem(struct acme *a, struct hsmca_err *err)
{
	BIO *b;
	char *data;
	long n;
	int rc = HSMCA_ENOMEM;

	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(b, ca_issuing_cert(a->ca)) != 1 ||
	    (n = BIO_get_mem_data(b, &data)) <= 0 ||
	    (a->issuing_pem = malloc((size_t)n)) == NULL)
		goto out;
	memcpy(a->issuing_pem, data, (size_t)n);
	a->issuing_pem_len = (size_t)n;
	rc = 0;
out:
	BIO_free(b);
	if (rc != 0)
		hsmca_err_set(err, rc, "serverInternal",
		    "acme: cannot encode the issuing CA certificate");
	return rc;
}

static void
routes_fill(struct acme *a)
{
	static const struct {
		unsigned methods;
		const char *path;
		http_handler_fn fn;
	} tab[ACME_ROUTES] = {
		{ HTTP_GET | HTTP_HEAD, "/directory", acme_h_directory },
		{ HTTP_GET | HTTP_HEAD, "/acme/new-nonce", acme_h_nonce },
		{ HTTP_POST, "/acme/new-account", acme_h_new_account },
		{ HTTP_POST, "/acme/new-order", acme_h_new_order },
		{ HTTP_POST, "/acme/revoke-cert", acme_h_revoke },
		{ HTTP_POST, "/acme/key-change", acme_h_key_change },
		{ HTTP_POST, "/acme/acct/", acme_h_account },
		{ HTTP_POST, "/acme/order/", acme_h_order },
		{ HTTP_POST, "/acme/authz/", acme_h_authz },
		{ HTTP_POST, "/acme/chall/", acme_h_chall },
		{ HTTP_POST, "/acme/cert/", acme_h_cert },
	};
	size_t i;

	for (i = 0; i < ACME_ROUTES; i++) {
		a->routes[i].methods = tab[i].methods;
		a->routes[i].path = tab[i].path;
		a->routes[i].handler = tab[i].fn;
		a->routes[i].arg = a;
	}
}

/*
 * Build the server.  See acme.h.
 */
int
acme_new(struct ca *ca, const struct hsmca_config *cfg, const char *state_dir,
    const char *base_url, struct acme **out, struct hsmca_err *err)
{
	struct acme *a;
	const char *tos;
	char path[4096];
	size_t n;
	int rc;

	*out = NULL;
	n = base_url != NULL ? strlen(base_url) : 0;
	while (n > 0 && base_url[n - 1] == '/')
		n--;
	if (n == 0 || n >= ACME_URL_MAX - 64 ||
	    (strncmp(base_url, "https://", 8) != 0 &&
	    strncmp(base_url, "http://", 7) != 0))
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "acme: base URL \"%.100s\" is not an http(s) URL",
		    base_url != NULL ? base_url : "");
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->kc_mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->ca = ca;
	a->st = ca_store(ca);
	memcpy(a->base, base_url, n);
	a->base[n] = '\0';
	tos = config_get(cfg, "acme.terms_of_service");
	if (tos != NULL && *tos != '\0' && (a->tos = strdup(tos)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto fail;
	}
	a->eab_required = config_get_bool(cfg, "acme.eab_required");
	a->order_lifetime = config_get_int(cfg, "acme.order_lifetime_s");
	a->authz_reuse = config_get_int(cfg, "acme.authz_reuse_s");
	a->nworkers = (unsigned)config_get_int(cfg, "validation.workers");
	a->rl_orders = config_get_int(cfg, "ratelimit.orders_per_window");
	a->rl_window = config_get_int(cfg, "ratelimit.window_s");
	a->rl_certs_week = config_get_int(cfg,
	    "ratelimit.certs_per_domain_week");
	a->rl_pending = config_get_int(cfg, "ratelimit.pending_authz");
	if ((a->nonces = nonce_store_new(ACME_NONCES_MAX,
	    config_get_int(cfg, "acme.nonce_lifetime_s"))) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "acme: cannot create the nonce store");
		goto fail;
	}
	/* EAB keys: required when EAB is; used when present otherwise. */
	if (config_get_path(cfg, "acme.eab_keys", state_dir, path,
	    sizeof(path)) == 0) {
		rc = acme_eab_load(a, path, err);
		if (rc == HSMCA_ENOTFOUND && !a->eab_required) {
			hsmca_err_clear(err);
		} else if (rc != 0) {
			goto fail;
		}
	}
	if ((rc = validator_new(cfg, state_dir, &a->validator, err)) != 0)
		goto fail;
	if ((rc = directory_build(a, cfg, err)) != 0 ||
	    (rc = issuing_pem(a, err)) != 0)
		goto fail;
	routes_fill(a);
	*out = a;
	return 0;
fail:
	acme_free(a);
	return rc;
}

/* The route table; see acme.h. */
const struct http_route *
acme_routes(struct acme *a, size_t *n)
{
	*n = ACME_ROUTES;
	return a->routes;
}

/*
 * Every reply: a fresh nonce (RFC 8555 6.5) and the directory link
 * (7.1).  A nonce failure only costs the client a badNonce retry.
 */
void
acme_on_reply(struct http_req *req, int status, void *arg)
{
	struct acme *a = arg;
	char nonce[NONCE_LEN + 1], link[ACME_URL_MAX + 32];

	if (nonce_issue(a->nonces, ca_now(a->ca), nonce) == 0)
		http_reply_header(req, "Replay-Nonce", nonce);
	snprintf(link, sizeof(link), "<%s/directory>;rel=\"index\"", a->base);
	http_reply_header(req, "Link", link);
}

/* GET/HEAD /directory: the prebuilt directory (RFC 8555 7.1.1). */
int
acme_h_directory(struct http_req *req, void *arg)
{
	struct acme *a = arg;

	return http_reply(req, 200, "application/json", a->directory,
	    a->directory_len);
}

/* newNonce (RFC 8555 7.2): HEAD 200, GET 204, never cached. */
int
acme_h_nonce(struct http_req *req, void *arg)
{
	int rc;

	if ((rc = http_reply_header(req, "Cache-Control", "no-store")) != 0)
		return rc;
	return http_reply(req, http_req_method(req) == HTTP_HEAD ? 200 : 204,
	    NULL, NULL, 0);
}

/* Requeue what a previous process left being validated. */
static int
requeue(uint64_t authz_id, unsigned idx, void *arg)
{
	acme_job_push(arg, authz_id, idx, false);
	return 0;
}

/* Start the workers and requeue unfinished validations; see acme.h. */
int
acme_start(struct acme *a, struct hsmca_err *err)
{
	int rc;

	if ((rc = acme_workers_start(a, err)) != 0)
		return rc;
	return store_acme_queue_list(a->st, requeue, a, err);
}

/* Stop the workers and free everything; see acme.h. */
void
acme_free(struct acme *a)
{
	if (a == NULL)
		return;
	acme_workers_stop(a);
	validator_free(a->validator);
	nonce_store_free(a->nonces);
	acme_eab_free(a);
	free(a->directory);
	free(a->tos);
	free(a->finalizing);
	free(a->issuing_pem);
	acme_keycache_free(a);
	pthread_mutex_destroy(&a->kc_mu);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}
