/*
 * protocol/validate.c - the validator: configuration and one challenge
 * attempt with its retries.
 *
 * Threads: every validate_* call may run on any thread, several at
 * once.  Each thread asks DNS questions through a libunbound context
 * of its own (validate_resolver.c) in event mode: the thread runs the
 * context's event loop itself while it waits, with its own deadline (a
 * blocking ub_resolve() has no time limit, and validation.timeout_s
 * must bound every call).  The OpenSSL client context is shared
 * (SSL_new() on one SSL_CTX is thread-safe; the SSL_CTX is not changed
 * after setup).
 *
 * Caching: libunbound's cache is capped at 0 s (cache-max-ttl and
 * cache-max-negative-ttl) so every attempt sees the zone as it is now -
 * a TXT record added a moment ago, or a CAA record just removed.
 */
#include "protocol/validate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>

#include "protocol/validate_int.h"

/* See protocol/validate_int.h. */
int64_t
val_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Split acme.caa_identities into lower-case names without a final dot. */
static int
load_caa_ids(struct validator *v, const char *list, struct hsmca_err *err)
{
	const char *p = list, *end;
	size_t n = 1, i, len;
	char *s;

	for (i = 0; list[i] != '\0'; i++)
		if (list[i] == ',')
			n++;
	if ((v->caa_ids = calloc(n, sizeof(*v->caa_ids))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		end = p;
		while (*end != '\0' && *end != ',' && *end != ' ' &&
		    *end != '\t')
			end++;
		len = (size_t)(end - p);
		if (len > 0 && p[len - 1] == '.')
			len--;
		if (len > 0) {
			if ((s = strndup(p, len)) == NULL)
				return hsmca_err_set(err, HSMCA_ENOMEM,
				    "serverInternal", "out of memory");
			for (i = 0; i < len; i++)
				s[i] = (char)tolower((unsigned char)s[i]);
			v->caa_ids[v->ncaa_ids++] = s;
		}
		p = end;
	}
	return 0;
}

/*
 * Turn validation.dns_resolver ("127.0.0.1:5353", "[::1]:53", "10.0.0.1")
 * into libunbound's "addr@port".
 */
static int
resolver_addr(const char *hp, char *out, size_t len, struct hsmca_err *err)
{
	char host[INET6_ADDRSTRLEN + 1];
	unsigned char buf[16];
	const char *port = "53", *h = hp, *colon;
	size_t hl;
	long pn;
	char *endp;

	if (hp[0] == '[') {
		if ((colon = strchr(hp, ']')) == NULL)
			goto bad;
		h = hp + 1;
		hl = (size_t)(colon - h);
		if (colon[1] == ':')
			port = colon + 2;
		else if (colon[1] != '\0')
			goto bad;
	} else if ((colon = strchr(hp, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		hl = (size_t)(colon - hp);
		port = colon + 1;
	} else
		hl = strlen(hp);
	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, buf) != 1 &&
	    inet_pton(AF_INET6, host, buf) != 1)
		goto bad;
	errno = 0;
	pn = strtol(port, &endp, 10);
	if (*port == '\0' || *endp != '\0' || errno != 0 || pn < 1 ||
	    pn > 65535)
		goto bad;
	snprintf(out, len, "%s@%ld", host, pn);
	return 0;
bad:
	return hsmca_err_set(err, HSMCA_EINVAL, "config",
	    "validation.dns_resolver \"%s\": expected IP:port or [IPv6]:port",
	    hp);
}

/*
 * Keep the DNS settings for the per-thread contexts and check them now
 * by making the calling thread's: a bad resolver address or trust
 * anchor fails validator_new(), not the first validation.
 */
static int
setup_dns(struct validator *v, const struct hsmca_config *cfg,
    const char *state_dir, struct hsmca_err *err)
{
	const char *fwd = config_get(cfg, "validation.dns_resolver");
	const char *ta = config_get(cfg, "validation.trust_anchor");
	struct val_resolver *r;
	char path[4096];
	int rc;

	if (fwd != NULL && fwd[0] != '\0' &&
	    (rc = resolver_addr(fwd, v->fwd, sizeof(v->fwd), err)) != 0)
		return rc;
	if (ta != NULL && ta[0] != '\0') {
		if (ta[0] == '/' || state_dir == NULL)
			rc = snprintf(path, sizeof(path), "%s", ta);
		else
			rc = snprintf(path, sizeof(path), "%s/%s", state_dir,
			    ta);
		if (rc < 0 || (size_t)rc >= sizeof(path))
			return hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "validation.trust_anchor: path too long");
		if (access(path, R_OK) != 0)
			return hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "validation.trust_anchor %s: %s", path,
			    strerror(errno));
		if ((v->ta_path = strdup(path)) == NULL)
			return hsmca_err_set(err, HSMCA_ENOMEM,
			    "serverInternal", "out of memory");
	}
	if (pthread_key_create(&v->res_key, NULL) != 0)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "pthread_key_create failed");
	v->res_key_made = true;
	return val_resolver_get(v, &r, err);
}

/* The shared TLS client context of tls-alpn-01. */
static int
setup_tls(struct validator *v, struct hsmca_err *err)
{
	static const unsigned char alpn[] = "\x0a" "acme-tls/1";

	if ((v->tls = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(v->tls, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(v->tls, alpn, sizeof(alpn) - 1) != 0)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "TLS client setup failed");
	/* RFC 8737 3: the certificate is self-signed; its chain is not
	 * checked, only the extension and the name. */
	SSL_CTX_set_verify(v->tls, SSL_VERIFY_NONE, NULL);
	return 0;
}

/* See protocol/validate.h. */
int
validator_new(const struct hsmca_config *cfg, const char *state_dir,
    struct validator **out, struct hsmca_err *err)
{
	struct validator *v;
	const char *ids;
	int rc = HSMCA_ENOMEM;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	/* Reference-counted and thread-safe in libcurl >= 7.84. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(v);
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "curl_global_init failed");
	}
	v->curl_init = true;
	pthread_mutex_init(&v->lock, NULL);

	v->http01_port = (uint16_t)config_get_int(cfg,
	    "validation.http01_port");
	v->tlsalpn01_port = (uint16_t)config_get_int(cfg,
	    "validation.tlsalpn01_port");
	v->timeout_ms = config_get_int(cfg, "validation.timeout_s") * 1000;
	v->retries = (int)config_get_int(cfg, "validation.retries");
	ids = config_get(cfg, "acme.caa_identities");
	if ((rc = load_caa_ids(v, ids != NULL ? ids : "", err)) != 0)
		goto out;
	ids = config_get(cfg, "validation.deny_addresses");
	if ((rc = val_deny_parse(ids != NULL ? ids : "", &v->deny, &v->ndeny,
	    err)) != 0)
		goto out;
	if ((rc = setup_dns(v, cfg, state_dir, err)) != 0)
		goto out;
	if ((rc = setup_tls(v, err)) != 0)
		goto out;
	*out = v;
	v = NULL;
	rc = 0;
out:
	validator_free(v);
	return rc;
}

/* See protocol/validate.h. */
void
validator_free(struct validator *v)
{
	size_t i;

	if (v == NULL)
		return;
	val_resolvers_free(v);
	if (v->res_key_made)
		(void)pthread_key_delete(v->res_key);
	free(v->ta_path);
	SSL_CTX_free(v->tls);
	for (i = 0; i < v->ncaa_ids; i++)
		free(v->caa_ids[i]);
	free(v->caa_ids);
	free(v->deny);
	pthread_mutex_destroy(&v->lock);
	if (v->curl_init)
		curl_global_cleanup();
	free(v);
}

/* Is the token safe to put in a URL path (RFC 8555 8.3: base64url)? */
static bool
token_ok(const char *t)
{
	size_t i;

	for (i = 0; t[i] != '\0'; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '_')
			return false;
	return i > 0 && i <= 256;
}

/*
 * Is `name` a host name we may put into a DNS query and a URL: labels of
 * letters, digits and hyphens (and "_" inside, as some zones use), 1 to
 * 63 octets, at most 253 in all, no final dot?  The ACME layer checks
 * identifiers first; this keeps a bad one from reaching a URL here.
 */
bool
val_name_ok(const char *name)
{
	size_t i, lab = 0;

	for (i = 0; name[i] != '\0'; i++) {
		if (name[i] == '.') {
			if (lab == 0)
				return false;
			lab = 0;
			continue;
		}
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_')
			return false;
		if (++lab > 63)
			return false;
	}
	return i > 0 && i <= 253 && lab > 0;
}

/* One attempt of the chosen challenge. */
static int
attempt(struct validator *v, enum validate_type type,
    const struct validate_ident *ident, const char *token,
    const char *key_authz, int64_t deadline, struct hsmca_err *err)
{
	switch (type) {
	case VALIDATE_HTTP01:
		return val_http01(v, ident, token, key_authz, deadline, err);
	case VALIDATE_DNS01:
		return val_dns01(v, ident, key_authz, deadline, err);
	case VALIDATE_TLSALPN01:
		return val_tlsalpn01(v, ident, key_authz, deadline, err);
	}
	return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
	    "unknown challenge type %d", (int)type);
}

/* See protocol/validate.h. */
int
validate_challenge(struct validator *v, enum validate_type type,
    const struct validate_ident *ident, const char *token,
    const char *key_authz, struct hsmca_err *err)
{
	struct hsmca_err e;
	struct val_addr a;
	int64_t deadline;
	int rc, i;

	if (v == NULL || ident == NULL || ident->value == NULL ||
	    token == NULL || key_authz == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "validate_challenge: missing argument");
	if (!token_ok(token))
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 8.3: the token must be 1 to 256 base64url "
		    "characters");
	if (ident->ip && val_ip_parse(ident->value, &a) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "rejectedIdentifier",
		    "\"%s\" is not an IP address", ident->value);
	if (!ident->ip && !val_name_ok(ident->value))
		return hsmca_err_set(err, HSMCA_EINVAL, "rejectedIdentifier",
		    "\"%.64s\" is not a valid DNS name", ident->value);
	if (ident->wildcard && type != VALIDATE_DNS01)
		return hsmca_err_set(err, HSMCA_EINVAL, "rejectedIdentifier",
		    "RFC 8555 7.1.3: a wildcard identifier can only be "
		    "validated with dns-01");
	if (ident->ip && type == VALIDATE_DNS01)
		return hsmca_err_set(err, HSMCA_EINVAL, "rejectedIdentifier",
		    "RFC 8738 7: dns-01 cannot validate an IP identifier");
	/*
	 * One deadline covers the whole call, retries included, so a
	 * worker is never held longer than validation.timeout_s.  Only
	 * connection failures (refused, reset, timed out) are retried:
	 * a wrong answer will be as wrong a moment later.
	 */
	deadline = val_now_ms() + v->timeout_ms;
	for (i = 0;; i++) {
		hsmca_err_clear(&e);
		rc = attempt(v, type, ident, token, key_authz, deadline, &e);
		if (rc == 0)
			return 0;
		if (e.type == NULL || strcmp(e.type, "connection") != 0 ||
		    i >= v->retries || val_now_ms() >= deadline)
			break;
	}
	return hsmca_err_set(err, rc, e.type != NULL ? e.type :
	    "serverInternal", "%s", e.detail);
}
