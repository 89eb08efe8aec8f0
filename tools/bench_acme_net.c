/*
 * tools/bench_acme_net.c - the transport of one `hsmca bench acme`
 * worker: one libcurl easy handle kept alive across requests, TLS always
 * verified against the given CA bundle, JWS requests signed with the
 * worker's account key, and the Replay-Nonce of each answer reused for
 * the next request.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include "tools/bench_acme.h"


/* Per-exchange state the header callback fills. */
struct hdrs {
	struct bacme_client *c;
	char nonce[BACME_MAX_NONCE];	/* Replay-Nonce of this answer */
	int overflow;			/* a header we keep was too long */
};

/* Copy header value `v` of `n` bytes, trimmed, into `dst`; -1 if long. */
static int
copy_value(char *dst, size_t dstsz, const char *v, size_t n)
{
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	if (n >= dstsz)
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/* If `line` is header `name`, point *v at its value. */
static int
header_is(const char *line, size_t n, const char *name, const char **v,
    size_t *vn)
{
	size_t nl = strlen(name);

	if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return 0;
	*v = line + nl + 1;
	*vn = n - nl - 1;
	return 1;
}

static size_t
on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	struct hdrs *h = arg;
	struct bacme_resp *r = &h->c->resp;
	size_t n = size * nitems;
	const char *v;
	size_t vn;
	char tmp[32];

	/* A status line starts a new answer (after a 100 Continue, say):
	 * forget what an earlier one said. */
	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		h->nonce[0] = '\0';
		r->location[0] = '\0';
		r->retry_after = -1;
	} else if (header_is(buf, n, "Replay-Nonce", &v, &vn)) {
		if (copy_value(h->nonce, sizeof(h->nonce), v, vn) != 0)
			h->overflow = 1;
	} else if (header_is(buf, n, "Location", &v, &vn)) {
		if (copy_value(r->location, sizeof(r->location), v, vn) != 0)
			h->overflow = 1;
	} else if (header_is(buf, n, "Retry-After", &v, &vn)) {
		h->c->counts.retry_after++;
		/* Delta-seconds only; an HTTP-date is above our cap anyway. */
		if (copy_value(tmp, sizeof(tmp), v, vn) == 0 &&
		    tmp[0] >= '0' && tmp[0] <= '9')
			r->retry_after = strtol(tmp, NULL, 10);
		else
			r->retry_after = 3600;
	}
	return n;
}

static size_t
on_body(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct bacme_resp *r = arg;
	size_t n = size * nmemb;

	if (r->len + n > BACME_MAX_BODY)
		return 0;	/* curl reports CURLE_WRITE_ERROR */
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *p;

		while (cap < r->len + n + 1)
			cap *= 2;
		if ((p = realloc(r->body, cap)) == NULL)
			return 0;
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, buf, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/*
 * One exchange.  `method` is "GET", "HEAD" or "POST" (then `body` of
 * `len` bytes as application/jose+json).  Fills c->resp and, when the
 * answer carried one, c->nonce.
 */
static int
exchange(struct bacme_client *c, const char *method, const char *url,
    const char *body, size_t len, struct hsmca_err *err)
{
	CURL *curl = c->curl;
	struct hdrs h = { .c = c };
	CURLcode cc;
	long nconn = 0;

	c->resp.status = 0;
	c->resp.len = 0;
	c->resp.location[0] = '\0';
	c->resp.retry_after = -1;
	if (c->resp.body != NULL)
		c->resp.body[0] = '\0';
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &h);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 0L);
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER,
		    (struct curl_slist *)c->jose_hdr);
	} else {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(curl, CURLOPT_NOBODY,
		    strcmp(method, "HEAD") == 0 ? 1L : 0L);
	}
	c->counts.requests++;
	if ((cc = curl_easy_perform(curl)) != CURLE_OK)
		return hsmca_err_set(err, HSMCA_EIO, "io", "%s %s: %s", method,
		    url, cc == CURLE_WRITE_ERROR ? "answer body too large" :
		    curl_easy_strerror(cc));
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &c->resp.status);
	if (curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
		c->counts.connects += (unsigned long)nconn;
	if (h.overflow)
		return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "%s %s: a Replay-Nonce or Location header is too long",
		    method, url);
	/* A nonce is single use: the old one is spent either way. */
	memcpy(c->nonce, h.nonce, sizeof(c->nonce));
	return 0;
}

/* Describe a non-2xx answer: status and the problem document's type and
 * detail when it has them. */
static int
answer_error(const struct bacme_client *c, const char *url,
    struct hsmca_err *err)
{
	json_t *doc = NULL;
	const char *type = NULL, *detail = NULL;
	int rc;

	if (c->resp.body != NULL && c->resp.len > 0 &&
	    (doc = json_loadb(c->resp.body, c->resp.len,
	    JSON_REJECT_DUPLICATES, NULL)) != NULL && json_is_object(doc)) {
		type = json_string_value(json_object_get(doc, "type"));
		detail = json_string_value(json_object_get(doc, "detail"));
	}
	rc = hsmca_err_set(err, HSMCA_EINVAL, "protocol",
	    "POST %s: HTTP %ld %s: %s", url, c->resp.status,
	    type ? type : "(no problem type)", detail ? detail : "");
	json_decref(doc);
	return rc;
}

/* Whether the last answer is a badNonce problem (RFC 8555 6.5). */
static int
is_bad_nonce(const struct bacme_client *c)
{
	json_t *doc;
	const char *type;
	int bad = 0;

	if (c->resp.status != 400 || c->resp.body == NULL)
		return 0;
	doc = json_loadb(c->resp.body, c->resp.len, JSON_REJECT_DUPLICATES,
	    NULL);
	type = json_string_value(json_object_get(doc, "type"));
	bad = type != NULL && strcmp(type, BACME_ERR_PREFIX "badNonce") == 0;
	json_decref(doc);
	return bad;
}

/* Make sure c->nonce holds a nonce: HEAD newNonce when none is at hand. */
static int
need_nonce(struct bacme_client *c, struct hsmca_err *err)
{
	int rc;

	if (c->nonce[0] != '\0')
		return 0;
	c->counts.new_nonce++;
	if ((rc = exchange(c, "HEAD", c->dir.new_nonce, NULL, 0, err)) != 0)
		return rc;
	if (c->resp.status != 200 && c->resp.status != 204)
		return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "HEAD %s: HTTP %ld", c->dir.new_nonce, c->resp.status);
	if (c->nonce[0] == '\0')
		return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "HEAD %s: no Replay-Nonce", c->dir.new_nonce);
	return 0;
}

/* POST a signed request; retry once on badNonce. */
int
bacme_post(struct bacme_client *c, const char *url, const char *payload,
    struct hsmca_err *err)
{
	char *jws = NULL;
	int rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((rc = need_nonce(c, err)) != 0)
			goto out;
		if ((rc = jws_sign(c->key, c->kid[0] ? c->kid : NULL,
		    c->nonce, url, payload, payload ? strlen(payload) : 0,
		    &jws, err)) != 0)
			goto out;
		c->nonce[0] = '\0';
		rc = exchange(c, "POST", url, jws, strlen(jws), err);
		free(jws);
		jws = NULL;
		if (rc != 0)
			goto out;
		if (c->resp.status >= 200 && c->resp.status < 300)
			goto out;
		if (attempt == 0 && is_bad_nonce(c)) {
			c->counts.bad_nonce++;
			continue;
		}
		break;
	}
	rc = answer_error(c, url, err);
out:
	free(jws);
	return rc;
}

/* The last body as a JSON object. */
int
bacme_resp_json(const struct bacme_client *c, const char *what,
    json_t **out, struct hsmca_err *err)
{
	json_error_t je;
	json_t *doc;

	*out = NULL;
	if (c->resp.body == NULL || c->resp.len == 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "%s: empty answer", what);
	if ((doc = json_loadb(c->resp.body, c->resp.len,
	    JSON_REJECT_DUPLICATES, &je)) == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "%s: not JSON: %s", what, je.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "%s: not a JSON object", what);
	}
	*out = doc;
	return 0;
}

/* Sleep before polling again. */
void
bacme_poll_wait(struct bacme_client *c)
{
	long ms = BACME_POLL_MS;
	struct timespec ts;

	if (c->resp.retry_after >= 0)
		ms = c->resp.retry_after >= 1 ? BACME_POLL_CAP_MS : 0;
	if (ms > BACME_POLL_CAP_MS)
		ms = BACME_POLL_CAP_MS;
	if (ms <= 0)
		return;
	c->counts.poll_wait_s += (double)ms / 1e3;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Copy directory member `name` into `dst`. */
static int
dir_url(json_t *doc, const char *name, char *dst, size_t dstsz,
    const char *directory, struct hsmca_err *err)
{
	const char *v = json_string_value(json_object_get(doc, name));

	if (v == NULL || strlen(v) >= dstsz)
		return hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "directory %s: %s missing or over %zu bytes", directory,
		    name, dstsz - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* GET the directory into c->dir. */
static int
fetch_directory(struct bacme_client *c, const char *directory,
    struct hsmca_err *err)
{
	json_t *doc = NULL;
	int rc;

	if ((rc = exchange(c, "GET", directory, NULL, 0, err)) != 0)
		goto out;
	if (c->resp.status != 200) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "protocol",
		    "GET %s: HTTP %ld", directory, c->resp.status);
		goto out;
	}
	if ((rc = bacme_resp_json(c, directory, &doc, err)) != 0 ||
	    (rc = dir_url(doc, "newNonce", c->dir.new_nonce,
	    sizeof(c->dir.new_nonce), directory, err)) != 0 ||
	    (rc = dir_url(doc, "newAccount", c->dir.new_account,
	    sizeof(c->dir.new_account), directory, err)) != 0 ||
	    (rc = dir_url(doc, "newOrder", c->dir.new_order,
	    sizeof(c->dir.new_order), directory, err)) != 0)
		goto out;
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

/* Set up a worker's connection and account key. */
int
bacme_client_init(struct bacme_client *c, const char *directory,
    const char *ca_bundle, struct hsmca_err *err)
{
	CURL *curl;
	struct curl_slist *l;
	char ebuf[160] = "";
	int rc;

	if ((curl = curl_easy_init()) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "io",
		    "curl_easy_init failed");
	c->curl = curl;
	if ((l = curl_slist_append(NULL,
	    "Content-Type: application/jose+json")) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "io", "out of memory");
	c->jose_hdr = l;
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CAINFO, ca_bundle);
	/* Both are libcurl's defaults; set so no build option can change
	 * them: the generator never talks to an unverified server. */
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)BACME_HTTP_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "hsmca-bench-acme");
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &c->resp);
	c->resp.retry_after = -1;
	if ((rc = fetch_directory(c, directory, err)) != 0)
		return rc;
	if ((c->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "io",
		    "P-256 account key generation failed: %s",
		    hsmca_openssl_errstr(ebuf, sizeof(ebuf)));
	if ((c->bare = OSSL_LIB_CTX_new()) == NULL ||
	    (c->bare_null = OSSL_PROVIDER_load(c->bare, "null")) == NULL)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "io",
		    "cannot set up a library context: %s",
		    hsmca_openssl_errstr(ebuf, sizeof(ebuf)));
	return jwk_thumbprint(c->key, c->thumbprint, err);
}

/* Release a worker's connection, key and buffers. */
void
bacme_client_fini(struct bacme_client *c)
{
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->jose_hdr);
	EVP_PKEY_free(c->key);
	if (c->bare_null != NULL)
		OSSL_PROVIDER_unload(c->bare_null);
	OSSL_LIB_CTX_free(c->bare);
	free(c->resp.body);
	c->curl = NULL;
	c->jose_hdr = NULL;
	c->key = NULL;
	c->bare = NULL;
	c->bare_null = NULL;
	c->resp.body = NULL;
}
