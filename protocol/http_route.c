/*
 * protocol/http_route.c - match a request's method and path against the
 * route table.
 */
#include "protocol/http_int.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	unsigned bit;
} methods[] = {
	{ "GET", HTTP_GET },
	{ "HEAD", HTTP_HEAD },
	{ "POST", HTTP_POST },
	{ "PUT", HTTP_PUT },
	{ "DELETE", HTTP_DELETE },
	{ "PATCH", HTTP_PATCH },
	{ "OPTIONS", HTTP_OPTIONS },
};

/*
 * Map a request method to its bit.  Methods are case-sensitive (RFC 9110
 * 9.1), so "get" is unknown.  Returns 0 for anything not in the table.
 */
unsigned
http_method_parse(const char *method)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(method, methods[i].name) == 0)
			return methods[i].bit;
	return 0;
}

/*
 * Format an Allow header value for `mask`, methods in table order.
 * Returns buf, "" for an empty mask.
 */
char *
http_route_allow(unsigned mask, char *buf, size_t len)
{
	size_t i, off = 0;
	int n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if ((mask & methods[i].bit) == 0)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
		    methods[i].name);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

/*
 * How well `route` matches `path`: 0 for no match, otherwise a score
 * where an exact match beats every prefix and a longer prefix beats a
 * shorter one.
 */
static size_t
match_score(const struct http_route *route, const char *path)
{
	size_t len = strlen(route->path);

	if (len > 0 && route->path[len - 1] == '/') {
		if (strncmp(path, route->path, len) == 0)
			return len;
		return 0;
	}
	if (strcmp(path, route->path) == 0)
		return (size_t)-1;
	return 0;
}

/*
 * Two passes over the (small) table: find the best-matching path, then
 * among the entries with that very path pick the one taking `method`,
 * collecting the union of their methods for a 405's Allow header.
 */
const struct http_route *
http_route_find(const struct http_route *routes, size_t nroutes,
    unsigned method, const char *path, unsigned *allow, const char **subpath)
{
	const struct http_route *best = NULL;
	size_t i, score, best_score = 0;

	*allow = 0;
	*subpath = "";
	for (i = 0; i < nroutes; i++) {
		score = match_score(&routes[i], path);
		if (score > best_score) {
			best_score = score;
			best = &routes[i];
		}
	}
	if (best == NULL)
		return NULL;
	if (best_score != (size_t)-1)
		*subpath = path + best_score;
	for (i = 0; i < nroutes; i++) {
		if (strcmp(routes[i].path, best->path) != 0)
			continue;
		if (routes[i].methods & method)
			return &routes[i];
		*allow |= routes[i].methods;
	}
	return NULL;
}
