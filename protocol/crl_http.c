/*
 * protocol/crl_http.c - GET/HEAD /crl/<n>.crl and /crl/root.crl with
 * validators for conditional requests.  See crl_http.h.
 */
#include "protocol/crl_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "ca/ca_revoke.h"

#define MAX_AGE 3600

/* "root" or a decimal shard without leading zeros, then ".crl". */
static int
parse_name(const char *sub, uint32_t *shard)
{
	const char *dot = strchr(sub, '.');
	unsigned long v = 0;
	size_t len;

	if (dot == NULL || strcmp(dot, ".crl") != 0)
		return -1;
	len = (size_t)(dot - sub);
	if (len == 4 && strncmp(sub, "root", 4) == 0) {
		*shard = CA_CRL_ROOT;
		return 0;
	}
	if (len == 0 || len > 4 || (len > 1 && sub[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (sub[i] < '0' || sub[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(sub[i] - '0');
	}
	*shard = (uint32_t)v;
	return 0;
}

/* RFC 9110 5.6.7 IMF-fixdate. */
static void
http_date(int64_t t, char *out, size_t len)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    wd[tm.tm_wday % 7], tm.tm_mday, mo[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Does the If-None-Match list hold `etag` (or "*")?  Weak tags match. */
static bool
none_match(const char *inm, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = inm;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, el) == 0 && (p[el] == '\0' ||
		    p[el] == ',' || p[el] == ' ' || p[el] == '\t'))
			return true;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return false;
}

static int
not_found(struct http_req *req, const char *detail)
{
	struct hsmca_err err = { 0 };

	hsmca_err_set(&err, HSMCA_ENOTFOUND, "notFound", "%s", detail);
	return http_reply_problem(req, &err);
}

/* GET/HEAD /crl/<name>. */
static int
crl_get(struct http_req *req, void *arg)
{
	struct ca *ca = arg;
	struct hsmca_err err = { 0 };
	struct ca_crl_info info;
	unsigned char *der = NULL;
	size_t len = 0;
	const char *inm, *ims;
	char etag[48], date[40], cc[48], msg[96];
	uint32_t shard;
	int64_t age;
	time_t since;
	int rc;

	if (parse_name(http_req_subpath(req), &shard) != 0 ||
	    (shard != CA_CRL_ROOT && shard >= ca_crl_nshards(ca))) {
		snprintf(msg, sizeof(msg), "no CRL named \"%.40s\"; shards are "
		    "0 to %u, and root", http_req_subpath(req),
		    (unsigned)ca_crl_nshards(ca) - 1);
		return not_found(req, msg);
	}
	if ((rc = ca_crl_get(ca, shard, &der, &len, &info, &err)) != 0) {
		if (rc == HSMCA_ENOTFOUND)
			return not_found(req, err.detail);
		return http_reply_problem(req, &err);
	}
	if (shard == CA_CRL_ROOT)
		snprintf(etag, sizeof(etag), "\"root-%llu\"",
		    (unsigned long long)info.number);
	else
		snprintf(etag, sizeof(etag), "\"%u-%llu\"", (unsigned)shard,
		    (unsigned long long)info.number);
	http_reply_header(req, "ETag", etag);
	http_date(info.this_update, date, sizeof(date));
	http_reply_header(req, "Last-Modified", date);
	http_date(info.next_update, date, sizeof(date));
	http_reply_header(req, "Expires", date);
	/* Caches may keep it until an hour before nextUpdate, at most an
	 * hour: a revocation shows up on the next fetch after that. */
	age = info.next_update - (int64_t)time(NULL) - MAX_AGE;
	if (age > MAX_AGE)
		age = MAX_AGE;
	if (age < 0)
		age = 0;
	snprintf(cc, sizeof(cc), "public, max-age=%lld", (long long)age);
	http_reply_header(req, "Cache-Control", cc);
	/* RFC 9110 13.2.2: If-None-Match first; If-Modified-Since only
	 * without it. */
	inm = http_req_header(req, "If-None-Match");
	ims = http_req_header(req, "If-Modified-Since");
	if ((inm != NULL && none_match(inm, etag)) ||
	    (inm == NULL && ims != NULL &&
	    (since = curl_getdate(ims, NULL)) != -1 &&
	    (int64_t)since >= info.this_update)) {
		free(der);
		return http_reply(req, 304, NULL, NULL, 0);
	}
	rc = http_reply(req, 200, "application/pkix-crl", der, len);
	free(der);
	return rc;
}

/* The route table.  See crl_http.h. */
int
crl_http_routes(struct ca *ca, struct http_route *out, size_t max,
    size_t *n)
{
	*n = 0;
	if (max < 1)
		return HSMCA_EINVAL;
	out[0].methods = HTTP_GET | HTTP_HEAD;
	out[0].path = "/crl/";
	out[0].handler = crl_get;
	out[0].arg = ca;
	*n = 1;
	return 0;
}
