/*
 * protocol/validate_http.c - http-01 (RFC 8555 8.3) with libcurl.
 *
 * libcurl never resolves a name here: every host of the request and of
 * each redirect is looked up through validate_dns.c and pinned with
 * CURLOPT_RESOLVE, so the address checked is the address used.  Hence
 * redirects are followed by hand, one request per hop:
 *  - at most VAL_MAX_REDIRECTS of them;
 *  - only to http: or https: URLs;
 *  - only to port 80 or 443 (as the Baseline Requirements allow), or to
 *    the configured validation.http01_port / tlsalpn01_port - the two
 *    ports the operator already points validation at, which is what
 *    lets tests (and staging setups) run on unprivileged ports.
 * Certificates of https hops are not checked (a site moving to https
 * may still have a broken one; RFC 8555 10.2 does not ask for it).
 *
 * Problem types: a status other than 200 and a refused redirect are
 * "unauthorized" (as Boulder does: the server answered, and said no);
 * a body that is not the key authorization is "incorrectResponse";
 * refused, reset or timed-out connections are "connection" (these alone
 * are retried); failed lookups "dns"; https handshakes "tls".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "protocol/validate_int.h"

struct body {
	unsigned char buf[VAL_MAX_BODY];
	size_t len;
	bool over;		/* more than VAL_MAX_BODY bytes came */
};

/* Keep the first VAL_MAX_BODY bytes; abort the transfer past them. */
static size_t
body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb, room = VAL_MAX_BODY - b->len;

	if (n > room) {
		memcpy(b->buf + b->len, ptr, room);
		b->len += room;
		b->over = true;
		return 0;
	}
	memcpy(b->buf + b->len, ptr, n);
	b->len += n;
	return n;
}

/* Is host (as CURLU gives it: IPv6 in brackets) an IP literal? */
static bool
host_is_ip(const char *host, struct val_addr *a)
{
	char tmp[64];
	size_t l = strlen(host);

	if (host[0] == '[' && l > 2 && l - 2 < sizeof(tmp) &&
	    host[l - 1] == ']') {
		memcpy(tmp, host + 1, l - 2);
		tmp[l - 2] = '\0';
		return val_ip_parse(tmp, a) == 0 && a->family == AF_INET6;
	}
	return val_ip_parse(host, a) == 0 && a->family == AF_INET;
}

/*
 * Resolve `host` and add "host:port:addr,..." to *pins, so libcurl
 * connects only to what we resolved.
 */
static int
pin_host(struct validator *v, const char *host, long port,
    int64_t deadline, struct curl_slist **pins, struct hsmca_err *err)
{
	struct val_addr addrs[VAL_MAX_ADDRS], ip;
	char line[VAL_MAX_NAME + 16 + VAL_MAX_ADDRS * 48], a[48];
	struct curl_slist *l;
	size_t n, i, o;
	int rc;

	if (host_is_ip(host, &ip)) {
		n = 1;
		return val_addrs_allowed(v, host, &ip, &n, err);
	}
	if ((rc = val_dns_addrs(v, host, deadline, addrs, &n, err)) != 0)
		return rc;
	o = (size_t)snprintf(line, sizeof(line), "%s:%ld:", host, port);
	for (i = 0; i < n && o < sizeof(line); i++) {
		val_addr_str(&addrs[i], a, sizeof(a));
		o += (size_t)snprintf(line + o, sizeof(line) - o,
		    addrs[i].family == AF_INET6 ? "%s[%s]" : "%s%s",
		    i > 0 ? "," : "", a);
	}
	if (o >= sizeof(line))
		return hsmca_err_set(err, HSMCA_EINVAL, "dns",
		    "name too long: %s", host);
	if ((l = curl_slist_append(*pins, line)) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	*pins = l;
	return 0;
}

/*
 * Check a URL about to be fetched: scheme and port (see the top of this
 * file).  Fills host (of hostlen bytes) and *port.
 */
static int
check_url(struct validator *v, const char *url, bool redirect, char *host,
    size_t hostlen, long *port, struct hsmca_err *err)
{
	CURLU *u = NULL;
	char *scheme = NULL, *h = NULL, *p = NULL, shown[72];
	int rc = HSMCA_EPOLICY;

	val_sanitize((const unsigned char *)url, strlen(url), 64, shown,
	    sizeof(shown));
	if ((u = curl_url()) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
	    CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) !=
	    CURLUE_OK || curl_url_get(u, CURLUPART_HOST, &h, 0) !=
	    CURLUE_OK) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "redirect to an unparsable URL \"%s\"", shown);
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "redirect to \"%s\" refused: only http and https are "
		    "followed", shown);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "redirect to \"%s\" refused: no port", shown);
		goto out;
	}
	*port = strtol(p, NULL, 10);
	if (redirect && *port != 80 && *port != 443 &&
	    *port != v->http01_port && *port != v->tlsalpn01_port) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "redirect to \"%s\" refused: port %ld is not 80, 443 or "
		    "a validation port", shown, *port);
		goto out;
	}
	if (strlen(h) >= hostlen) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "redirect to \"%s\" refused: host name too long", shown);
		goto out;
	}
	strcpy(host, h);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return rc;
}

/* Map a failed transfer to a problem type and detail. */
static int
transfer_error(CURLcode cc, const struct body *b, const char *ebuf,
    const char *url, struct hsmca_err *err)
{
	const char *why = ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cc);
	char got[80];

	switch (cc) {
	case CURLE_WRITE_ERROR:
		if (b->over) {
			val_sanitize(b->buf, b->len, 48, got, sizeof(got));
			return hsmca_err_set(err, HSMCA_EPOLICY,
			    "incorrectResponse", "response body from %s "
			    "exceeds %d bytes: \"%s\"", url, VAL_MAX_BODY, got);
		}
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		return hsmca_err_set(err, HSMCA_EIO, "dns", "%s: %s", url,
		    why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
		return hsmca_err_set(err, HSMCA_EIO, "tls", "%s: %s", url,
		    why);
	case CURLE_UNSUPPORTED_PROTOCOL:
		return hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "%s: %s", url, why);
	default:
		break;
	}
	return hsmca_err_set(err, HSMCA_EIO, "connection", "%s: %s", url, why);
}

/* Build the first URL: http://<name or IP>:<port>/.well-known/... */
static int
first_url(struct validator *v, const struct validate_ident *ident,
    const char *token, char *url, size_t len, struct hsmca_err *err)
{
	struct val_addr a;
	int n;

	if (ident->ip && val_ip_parse(ident->value, &a) == 0 &&
	    a.family == AF_INET6)
		n = snprintf(url, len, "http://[%s]:%u/.well-known/"
		    "acme-challenge/%s", ident->value, v->http01_port, token);
	else
		n = snprintf(url, len, "http://%s:%u/.well-known/"
		    "acme-challenge/%s", ident->value, v->http01_port, token);
	if (n < 0 || (size_t)n >= len)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "identifier too long: %s", ident->value);
	return 0;
}

/* See protocol/validate_int.h. */
int
val_http01(struct validator *v, const struct validate_ident *ident,
    const char *token, const char *key_authz, int64_t deadline,
    struct hsmca_err *err)
{
	char url[2048], host[VAL_MAX_NAME + 2], ebuf[CURL_ERROR_SIZE];
	char shown[80], got[80];
	struct curl_slist *pins = NULL;
	struct body *b = NULL;
	CURL *c = NULL;
	CURLcode cc;
	char *next;
	long port = 0, status = 0;
	int64_t left;
	size_t len;
	int rc, hop;

	if ((rc = first_url(v, ident, token, url, sizeof(url), err)) != 0)
		return rc;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (c = curl_easy_init()) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hsmca-validator");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);

	for (hop = 0;; hop++) {
		if ((rc = check_url(v, url, hop > 0, host, sizeof(host), &port,
		    err)) != 0)
			goto out;
		if ((rc = pin_host(v, host, port, deadline, &pins, err)) != 0)
			goto out;
		if ((left = deadline - val_now_ms()) <= 0) {
			rc = hsmca_err_set(err, HSMCA_EIO, "connection",
			    "timeout before fetching %s", url);
			goto out;
		}
		curl_easy_setopt(c, CURLOPT_RESOLVE, pins);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
		b->len = 0;
		b->over = false;
		ebuf[0] = '\0';
		val_sanitize((const unsigned char *)url, strlen(url), 72,
		    shown, sizeof(shown));
		if ((cc = curl_easy_perform(c)) != CURLE_OK) {
			rc = transfer_error(cc, b, ebuf, shown, err);
			goto out;
		}
		status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		next = NULL;
		if (status >= 300 && status < 400 &&
		    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next) ==
		    CURLE_OK && next != NULL) {
			if (hop >= VAL_MAX_REDIRECTS) {
				rc = hsmca_err_set(err, HSMCA_EPOLICY,
				    "unauthorized", "too many redirects "
				    "(more than %d) fetching %s",
				    VAL_MAX_REDIRECTS, shown);
				goto out;
			}
			if (strlen(next) >= sizeof(url)) {
				rc = hsmca_err_set(err, HSMCA_EPOLICY,
				    "unauthorized", "redirect URL from %s is "
				    "too long", shown);
				goto out;
			}
			strcpy(url, next);
			continue;
		}
		break;
	}
	if (status != 200) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "invalid response from %s: HTTP %ld", shown, status);
		goto out;
	}
	/* RFC 8555 8.3: trailing whitespace is not significant. */
	len = b->len;
	while (len > 0 && (b->buf[len - 1] == ' ' || b->buf[len - 1] == '\t' ||
	    b->buf[len - 1] == '\r' || b->buf[len - 1] == '\n'))
		len--;
	if (len != strlen(key_authz) || memcmp(b->buf, key_authz, len) != 0) {
		val_sanitize(b->buf, len, 48, got, sizeof(got));
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "incorrectResponse",
		    "the key authorization from %s does not match this "
		    "challenge; got \"%s\"", shown, got);
		goto out;
	}
	rc = 0;
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(pins);
	free(b);
	return rc;
}
