/*
 * tests/protocol/acmeclient.c - see acmeclient.h.
 */
#include "tests/protocol/acmeclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "protocol/jws.h"

struct buf {
	char *p;
	size_t len;
};

static size_t
buf_write(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t k = size * n;
	char *np;

	if ((np = realloc(b->p, b->len + k + 1)) == NULL)
		return 0;
	memcpy(np + b->len, data, k);
	b->len += k;
	np[b->len] = '\0';
	b->p = np;
	return k;
}

void
ac_init(struct ac *c, const char *base)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->base, sizeof(c->base), "%s", base);
}

char *
ac_header(const struct ac_resp *r, const char *name)
{
	size_t n = strlen(name);
	const char *p = r->headers, *e;

	while (p != NULL && *p != '\0') {
		e = strstr(p, "\r\n");
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) > n + 1 && strncasecmp(p, name, n) == 0 &&
		    p[n] == ':') {
			const char *v = p + n + 1;

			while (*v == ' ')
				v++;
			return strndup(v, (size_t)(e - v));
		}
		p = *e ? e + 2 : e;
	}
	return NULL;
}

const char *
ac_problem(const struct ac_resp *r)
{
	static const char urn[] = "urn:ietf:params:acme:error:";
	const char *t = json_string_value(json_object_get(r->json, "type"));

	if (t == NULL || strncmp(t, urn, sizeof(urn) - 1) != 0)
		return "";
	return t + sizeof(urn) - 1;
}

void
ac_resp_free(struct ac_resp *r)
{
	free(r->body);
	free(r->headers);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* One request; keeps the Replay-Nonce of the answer. */
static int
perform(struct ac *c, const char *url, const char *method, const char *ctype,
    const char *body, struct ac_resp *r)
{
	struct buf bb = { NULL, 0 }, hb = { NULL, 0 };
	struct curl_slist *h = NULL;
	char ct[128], *nonce;
	CURL *cu;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	if ((cu = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &bb);
	curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, buf_write);
	curl_easy_setopt(cu, CURLOPT_HEADERDATA, &hb);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_NOPROXY, "*");
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(cu, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(cu, CURLOPT_POST, 1L);
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
		snprintf(ct, sizeof(ct), "Content-Type: %s",
		    ctype != NULL ? ctype : "");
		h = curl_slist_append(h, ctype != NULL ? ct : "Content-Type:");
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	}
	cc = curl_easy_perform(cu);
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(cu);
	curl_slist_free_all(h);
	r->body = bb.p != NULL ? bb.p : strdup("");
	r->len = bb.len;
	r->headers = hb.p != NULL ? hb.p : strdup("");
	if (r->len > 0)
		r->json = json_loadb(r->body, r->len, 0, NULL);
	if ((nonce = ac_header(r, "Replay-Nonce")) != NULL) {
		snprintf(c->nonce, sizeof(c->nonce), "%s", nonce);
		free(nonce);
	}
	return cc == CURLE_OK ? 0 : -1;
}

int
ac_get(struct ac *c, const char *url, bool head, struct ac_resp *r)
{
	return perform(c, url, head ? "HEAD" : "GET", NULL, NULL, r);
}

int
ac_post_raw(struct ac *c, const char *url, const char *ctype,
    const char *body, struct ac_resp *r)
{
	return perform(c, url, "POST", ctype, body, r);
}

char *
ac_sign(struct ac *c, EVP_PKEY *key, const char *kid, const char *url,
    const char *payload)
{
	char nurl[300], *out = NULL;
	struct ac_resp r;

	if (c->nonce[0] == '\0') {
		snprintf(nurl, sizeof(nurl), "%s/acme/new-nonce", c->base);
		ac_get(c, nurl, true, &r);
		ac_resp_free(&r);
	}
	if (jws_sign(key, kid, c->nonce, url, payload,
	    payload != NULL ? strlen(payload) : 0, &out, NULL) != 0)
		return NULL;
	c->nonce[0] = '\0';
	return out;
}

int
ac_post(struct ac *c, EVP_PKEY *key, const char *kid, const char *url,
    const char *payload, struct ac_resp *r)
{
	char *body = ac_sign(c, key, kid, url, payload);
	int rc;

	if (body == NULL) {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	rc = ac_post_raw(c, url, "application/jose+json", body, r);
	free(body);
	return rc;
}

char *
ac_b64(const unsigned char *p, size_t len)
{
	return b64url_encode(p, len);
}
