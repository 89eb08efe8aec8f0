/*
 * protocol/acme_reply.c - ACME replies: problem documents with the
 * members RFC 8555 asks for, JSON resources with their Location, and
 * the RFC 3339 timestamps they carry.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/acme_int.h"

/*
 * Reply with the problem for `err`.  `status` overrides the type's
 * default (415 for a wrong Content-Type, 404, 409) when not 0.
 */
int
acme_reply_err(struct http_req *req, int status, const struct hsmca_err *err)
{
	json_t *doc, *algs;
	int st = 500;
	size_t i;

	if ((doc = http_problem_new(err, &st)) == NULL)
		return http_reply_problem(req, err);
	/* RFC 8555 6.2: badSignatureAlgorithm lists what is accepted. */
	if (err->type != NULL &&
	    strcmp(err->type, "badSignatureAlgorithm") == 0 &&
	    (algs = json_array()) != NULL) {
		for (i = 0; jws_algorithms[i] != NULL; i++)
			json_array_append_new(algs,
			    json_string(jws_algorithms[i]));
		json_object_set_new(doc, "algorithms", algs);
	}
	if (status != 0) {
		st = status;
		json_object_set_new(doc, "status", json_integer(status));
	}
	return http_reply_problem_doc(req, st, doc);
}

/* Reply `status` with `json` (stolen) and an optional Location. */
int
acme_reply_json(struct http_req *req, int status, const char *location,
    json_t *json)
{
	int rc;

	if (json == NULL) {
		struct hsmca_err e = { HSMCA_ENOMEM, "serverInternal",
		    "out of memory" };
		return http_reply_problem(req, &e);
	}
	if (location != NULL &&
	    (rc = http_reply_header(req, "Location", location)) != 0) {
		json_decref(json);
		return rc;
	}
	return http_reply_json(req, status, json);
}

/* The problem document of `err` as JSON text (malloc'd), for a record. */
char *
acme_problem_text(const struct hsmca_err *err)
{
	json_t *doc;
	char *s;
	int st;

	if ((doc = http_problem_new(err, &st)) == NULL)
		return NULL;
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* RFC 3339 UTC ("2026-01-02T03:04:05Z") of `t` into buf. */
char *
acme_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
	return buf;
}
