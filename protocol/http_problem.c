/*
 * protocol/http_problem.c - turn a struct hsmca_err into an RFC 7807
 * problem document.  The only place that maps error types to HTTP status.
 */
#include "protocol/http_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

#define ACME_URN "urn:ietf:params:acme:error:"

/*
 * Error types a reply may carry.  `acme` types are sent as ACME URNs
 * (RFC 8555 6.7); the others are plain HTTP conditions sent as
 * "about:blank" with the status phrase as title (RFC 7807 4.2).
 */
static const struct problem_type {
	const char *type;
	int status;
	bool acme;
	const char *title;
} problem_types[] = {
	{ "accountDoesNotExist", 400, true, NULL },
	{ "alreadyRevoked", 400, true, NULL },
	{ "badCSR", 400, true, NULL },
	{ "badNonce", 400, true, NULL },
	{ "badPublicKey", 400, true, NULL },
	{ "badRevocationReason", 400, true, NULL },
	{ "badSignatureAlgorithm", 400, true, NULL },
	{ "caa", 400, true, NULL },
	{ "compound", 400, true, NULL },
	{ "connection", 400, true, NULL },
	{ "dns", 400, true, NULL },
	{ "externalAccountRequired", 400, true, NULL },
	{ "incorrectResponse", 400, true, NULL },
	{ "invalidContact", 400, true, NULL },
	{ "malformed", 400, true, NULL },
	{ "orderNotReady", 400, true, NULL },
	{ "rateLimited", 429, true, NULL },
	{ "rejectedIdentifier", 400, true, NULL },
	{ "serverInternal", 500, true, NULL },
	{ "tls", 400, true, NULL },
	{ "unauthorized", 403, true, NULL },
	{ "unsupportedContact", 400, true, NULL },
	{ "unsupportedIdentifier", 400, true, NULL },
	{ "userActionRequired", 403, true, NULL },
	{ "notFound", 404, false, "Not Found" },
	{ "methodNotAllowed", 405, false, "Method Not Allowed" },
	{ "payloadTooLarge", 413, false, "Content Too Large" },
	{ "serviceUnavailable", 503, false, "Service Unavailable" },
};

static const struct problem_type internal_type =
	{ "serverInternal", 500, true, NULL };

static const struct problem_type *
type_lookup(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(problem_types) / sizeof(problem_types[0]); i++)
		if (strcmp(problem_types[i].type, type) == 0)
			return &problem_types[i];
	return NULL;
}

/* The type a bare code stands for when the failing layer set none. */
static const char *
type_from_code(int code)
{
	switch (code) {
	case HSMCA_EINVAL:
		return "malformed";
	case HSMCA_ENOTFOUND:
		return "notFound";
	case HSMCA_EPOLICY:
		return "unauthorized";
	default:
		return "serverInternal";
	}
}

/*
 * Build the document for `err`.  An internal or unknown type becomes a
 * 500 whose detail stays in the log: an HSM or storage message is for the
 * operator, not the client.  Caller owns the result; NULL when out of
 * memory.
 */
json_t *
http_problem_new(const struct hsmca_err *err, int *status)
{
	const struct problem_type *pt;
	const char *type, *detail;
	char urn[96];
	json_t *doc;

	type = err->type != NULL ? err->type : type_from_code(err->code);
	detail = err->detail;
	if ((pt = type_lookup(type)) == NULL) {
		log_error("internal error (%s, %s): %s", type,
		    hsmca_code_name(err->code), err->detail);
		pt = &internal_type;
		detail = "internal error; the server log has the details";
	}
	*status = pt->status;
	if (pt->acme)
		snprintf(urn, sizeof(urn), ACME_URN "%s", pt->type);
	else
		snprintf(urn, sizeof(urn), "about:blank");
	doc = json_pack("{s:s, s:i}", "type", urn, "status", pt->status);
	if (doc == NULL)
		return NULL;
	if (pt->title != NULL &&
	    json_object_set_new(doc, "title", json_string(pt->title)) != 0)
		goto fail;
	/* json_string() refuses invalid UTF-8: fall back to a fixed text
	 * rather than dropping the whole document. */
	if (detail[0] != '\0' &&
	    json_object_set_new(doc, "detail", json_string(detail)) != 0 &&
	    json_object_set_new(doc, "detail",
	    json_string("(detail not valid UTF-8)")) != 0)
		goto fail;
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

/*
 * Send `err` as a problem document; see http.h for the status mapping.
 */
int
http_reply_problem(struct http_req *req, const struct hsmca_err *err)
{
	int status = 500;
	json_t *doc;

	doc = http_problem_new(err, &status);
	return http_reply_problem_doc(req, status, doc);
}

/*
 * Server-side failures (404, 405, 413, handler without a reply) are
 * reported through the same path as handler errors.
 */
int
http_reply_error(struct http_req *req, int code, const char *type,
    const char *fmt, ...)
{
	struct hsmca_err err = { 0 };
	va_list ap;

	err.code = code;
	err.type = type;
	va_start(ap, fmt);
	vsnprintf(err.detail, sizeof(err.detail), fmt, ap);
	va_end(ap);
	return http_reply_problem(req, &err);
}
