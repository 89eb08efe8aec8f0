/*
 * tests/protocol/acmefix.c - see acmefix.h.
 */
#include "tests/protocol/acmefix.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "protocol/jws.h"
#include "tests/ca/tutil.h"

#define CHALL_PREFIX "/.well-known/acme-challenge/"
#define POLLS 1000
#define POLL_NS (10 * 1000 * 1000)

static int64_t
afx_clock(void *arg)
{
	struct afx *f = arg;

	return f->now != 0 ? f->now : (int64_t)time(NULL);
}

static int
h_chall(struct http_req *req, void *arg)
{
	struct afx *f = arg;
	const char *tok = http_req_subpath(req);
	char ka[160] = "";
	size_t i;

	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->ntokens; i++)
		if (strcmp(f->tokens[i], tok) == 0)
			memcpy(ka, f->kas[i], sizeof(ka));
	pthread_mutex_unlock(&f->mu);
	if (ka[0] == '\0')
		return http_reply(req, 404, "text/plain", "no", 2);
	return http_reply(req, 200, "application/octet-stream", ka,
	    strlen(ka));
}

static struct http_route responder_routes[] = {
	{ HTTP_GET, CHALL_PREFIX, h_chall, NULL },
};

void
afx_serve(struct afx *f, const char *token, const char *ka)
{
	pthread_mutex_lock(&f->mu);
	if (f->ntokens < AFX_TOKENS) {
		snprintf(f->tokens[f->ntokens], sizeof(f->tokens[0]), "%s",
		    token);
		snprintf(f->kas[f->ntokens], sizeof(f->kas[0]), "%s", ka);
		f->ntokens++;
	}
	pthread_mutex_unlock(&f->mu);
}

/* A free loopback port: the ACME base URL must be known before the
 * server that serves it starts, and stay the same across restarts. */
static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int s, port = -1;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(s, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(s);
	return port;
}

int
afx_setup(struct afx *f, const char *const *sets)
{
	struct ca_init_params p = { 0 };
	struct http_server_params hp = { 0 };
	struct hsmca_err err = { 0 };
	char path[PATH_MAX + 16], val[32];
	int port;

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	t_tmpdir(f->dir, sizeof(f->dir));
	if ((f->cfg = config_new()) == NULL)
		return -1;
	p.state_dir = f->dir;
	p.cfg = f->cfg;
	p.create_token = true;
	if (ca_init(&p, &err) != 0) {
		fprintf(stderr, "ca_init: %s: %s\n", err.type, err.detail);
		return -1;
	}
	config_free(f->cfg);
	f->cfg = config_new();
	snprintf(path, sizeof(path), "%s/hsmca.conf", f->dir);
	if (config_load(f->cfg, path, &err) != 0) {
		fprintf(stderr, "config: %s\n", err.detail);
		return -1;
	}
	responder_routes[0].arg = f;
	hp.listen = "127.0.0.1:0";
	hp.routes = responder_routes;
	hp.nroutes = 1;
	hp.threads = 4;
	if (http_server_start(&hp, &f->responder, &err) != 0) {
		fprintf(stderr, "responder: %s\n", err.detail);
		return -1;
	}
	snprintf(val, sizeof(val), "%u", http_server_port(f->responder));
	if (config_set(f->cfg, "validation.http01_port", val, &err) != 0 ||
	    config_set(f->cfg, "validation.timeout_s", "5", &err) != 0 ||
	    config_set(f->cfg, "validation.retries", "0", &err) != 0 ||
	    config_set(f->cfg, "validation.workers", "2", &err) != 0)
		return -1;
	for (; sets != NULL && *sets != NULL; sets++) {
		if (config_set_arg(f->cfg, *sets, &err) != 0) {
			fprintf(stderr, "%s: %s\n", *sets, err.detail);
			return -1;
		}
	}
	if ((port = free_port()) < 0)
		return -1;
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", port);
	ac_init(&f->c, f->base);
	return afx_start(f);
}

int
afx_start(struct afx *f)
{
	struct http_server_params hp = { 0 };
	struct hsmca_err err = { 0 };
	char listen[64];

	if (ca_open(f->dir, f->cfg, &f->ca, &err) != 0) {
		fprintf(stderr, "ca_open: %s: %s\n", err.type, err.detail);
		return -1;
	}
	ca_set_clock(f->ca, afx_clock, f);
	if (acme_new(f->ca, f->cfg, f->dir, f->base, &f->acme, &err) != 0) {
		fprintf(stderr, "acme_new: %s: %s\n", err.type, err.detail);
		return -1;
	}
	snprintf(listen, sizeof(listen), "%s", f->base + 7);
	hp.listen = listen;
	hp.routes = acme_routes(f->acme, &hp.nroutes);
	hp.on_reply = acme_on_reply;
	hp.on_reply_arg = f->acme;
	hp.threads = 4;
	if (http_server_start(&hp, &f->srv, &err) != 0) {
		fprintf(stderr, "server: %s\n", err.detail);
		return -1;
	}
	if (!f->no_workers && acme_start(f->acme, &err) != 0) {
		fprintf(stderr, "acme_start: %s\n", err.detail);
		return -1;
	}
	f->c.nonce[0] = '\0';
	return 0;
}

void
afx_stop(struct afx *f)
{
	http_server_stop(f->srv);
	f->srv = NULL;
	acme_free(f->acme);
	f->acme = NULL;
	ca_close(f->ca);
	f->ca = NULL;
}

void
afx_teardown(struct afx *f)
{
	afx_stop(f);
	http_server_stop(f->responder);
	config_free(f->cfg);
	if (f->dir[0] != '\0')
		t_rmtree(f->dir);
	pthread_mutex_destroy(&f->mu);
}

void
afx_url(const struct afx *f, char *out, size_t len, const char *path)
{
	snprintf(out, len, "%s%s", f->base, path);
}

int
afx_account(struct afx *f, EVP_PKEY *key, char **kid)
{
	char url[256];
	struct ac_resp r;
	int rc = -1;

	*kid = NULL;
	afx_url(f, url, sizeof(url), "/acme/new-account");
	if (ac_post(&f->c, key, NULL, url, "{\"termsOfServiceAgreed\":true,"
	    "\"contact\":[\"mailto:admin@example.com\"]}", &r) == 0 &&
	    (r.status == 201 || r.status == 200) &&
	    (*kid = ac_header(&r, "Location")) != NULL)
		rc = 0;
	else
		fprintf(stderr, "newAccount: %ld %s\n", r.status, r.body);
	ac_resp_free(&r);
	return rc;
}

long
afx_order(struct afx *f, EVP_PKEY *key, const char *kid, const char *idents,
    char **order_url, json_t **order)
{
	char url[256], *payload;
	struct ac_resp r;
	long st;

	*order_url = NULL;
	*order = NULL;
	afx_url(f, url, sizeof(url), "/acme/new-order");
	if ((payload = malloc(strlen(idents) + 32)) == NULL)
		return -1;
	sprintf(payload, "{\"identifiers\":%s}", idents);
	if (ac_post(&f->c, key, kid, url, payload, &r) != 0) {
		free(payload);
		return -1;
	}
	free(payload);
	st = r.status;
	if (st == 201) {
		*order_url = ac_header(&r, "Location");
		*order = json_incref(r.json);
	} else {
		fprintf(stderr, "newOrder: %ld %s\n", r.status, r.body);
	}
	ac_resp_free(&r);
	return st;
}

json_t *
afx_poll(struct afx *f, EVP_PKEY *key, const char *kid, const char *url)
{
	struct timespec ts = { 0, POLL_NS };
	struct ac_resp r;
	const char *st;
	json_t *out = NULL;
	int i;

	for (i = 0; i < POLLS; i++) {
		if (ac_post(&f->c, key, kid, url, NULL, &r) != 0 ||
		    r.status != 200) {
			fprintf(stderr, "poll %s: %ld %s\n", url, r.status,
			    r.body);
			ac_resp_free(&r);
			return NULL;
		}
		st = json_string_value(json_object_get(r.json, "status"));
		if (st == NULL || (strcmp(st, "pending") != 0 &&
		    strcmp(st, "processing") != 0)) {
			out = json_incref(r.json);
			ac_resp_free(&r);
			return out;
		}
		ac_resp_free(&r);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int
afx_authorize(struct afx *f, EVP_PKEY *key, const char *kid, json_t *order,
    bool wrong)
{
	char thumb[JWK_THUMBPRINT_LEN + 1], ka[160];
	json_t *authzs = json_object_get(order, "authorizations"), *az, *ch;
	json_t *done;
	struct ac_resp r;
	const char *token, *curl = NULL;
	size_t i, k;
	int rc = 0;

	if (jwk_thumbprint(key, thumb, NULL) != 0)
		return -1;
	for (i = 0; i < json_array_size(authzs); i++) {
		const char *aurl = json_string_value(json_array_get(authzs, i));

		if (ac_post(&f->c, key, kid, aurl, NULL, &r) != 0 ||
		    r.status != 200) {
			ac_resp_free(&r);
			return -1;
		}
		az = r.json;
		if (strcmp(json_string_value(json_object_get(az, "status")),
		    "valid") == 0) {
			ac_resp_free(&r);
			continue;
		}
		token = NULL;
		json_array_foreach(json_object_get(az, "challenges"), k, ch) {
			if (strcmp(json_string_value(json_object_get(ch,
			    "type")), "http-01") == 0) {
				token = json_string_value(json_object_get(ch,
				    "token"));
				curl = json_string_value(json_object_get(ch,
				    "url"));
			}
		}
		if (token == NULL) {
			ac_resp_free(&r);
			return -1;
		}
		snprintf(ka, sizeof(ka), "%s.%s", token, wrong ? "x" : thumb);
		afx_serve(f, token, ka);
		{
			char *u = strdup(curl);
			struct ac_resp r2;

			ac_resp_free(&r);
			if (ac_post(&f->c, key, kid, u, "{}", &r2) != 0 ||
			    r2.status != 200) {
				fprintf(stderr, "challenge: %ld %s\n",
				    r2.status, r2.body);
				rc = -1;
			}
			ac_resp_free(&r2);
			free(u);
		}
		if ((done = afx_poll(f, key, kid, aurl)) == NULL)
			return -1;
		if (strcmp(json_string_value(json_object_get(done, "status")),
		    "valid") != 0)
			rc = -1;
		json_decref(done);
	}
	return rc;
}

long
afx_finalize(struct afx *f, EVP_PKEY *key, const char *kid, json_t *order,
    EVP_PKEY *cert_key, const char *const *sans, struct ac_resp *resp)
{
	unsigned char *der;
	char *b64, *payload;
	size_t len;
	long st = -1;

	memset(resp, 0, sizeof(*resp));
	if ((der = t_csr(cert_key, NULL, sans, &len)) == NULL)
		return -1;
	b64 = ac_b64(der, len);
	free(der);
	if (b64 == NULL || (payload = malloc(strlen(b64) + 16)) == NULL) {
		free(b64);
		return -1;
	}
	sprintf(payload, "{\"csr\":\"%s\"}", b64);
	free(b64);
	if (ac_post(&f->c, key, kid, json_string_value(json_object_get(order,
	    "finalize")), payload, resp) == 0)
		st = resp->status;
	free(payload);
	return st;
}
