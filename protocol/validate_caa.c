/*
 * protocol/validate_caa.c - the CAA check (RFC 8659 3): find the
 * relevant RRset by climbing from the name toward the root, then let
 * val_caa_decide() (validate_caa_parse.c) judge it.
 *
 * The climb asks for several levels at once and reads the answers in
 * order, from the FQDN up: the outcome is the one a climb of one query
 * at a time gives (the first level with data, or the first error),
 * without waiting a round trip per level.  Most names have no CAA at
 * any level, so every level is asked anyway.
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/validate_int.h"

/* A name of at most 253 octets has at most 127 labels. */
#define CAA_MAX_LEVELS	127
/* Levels in flight at once. */
#define CAA_WINDOW	8

/* See protocol/validate.h. */
int
validate_caa(struct validator *v, const struct validate_ident *ident,
    const char *account_uri, const char *method, struct hsmca_err *err)
{
	struct val_query *q[CAA_MAX_LEVELS];
	const char *lev[CAA_MAX_LEVELS];
	struct val_caa_want want;
	struct val_answer *res = NULL;
	const unsigned char **rd = NULL;
	size_t *rdlen = NULL, n, i, nlev, started;
	char name[VAL_MAX_NAME];
	const char *p, *dot;
	int64_t deadline;
	size_t len;
	int rc = 0;

	if (v == NULL || ident == NULL || ident->value == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "validate_caa: missing argument");
	/* RFC 8738 4: CAA does not apply to IP identifiers. */
	if (ident->ip)
		return 0;
	len = strlen(ident->value);
	if (len > 0 && ident->value[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(name))
		return hsmca_err_set(err, HSMCA_EINVAL, "rejectedIdentifier",
		    "\"%.64s\" is not a valid DNS name", ident->value);
	memcpy(name, ident->value, len);
	name[len] = '\0';
	if (!val_name_ok(name))
		return hsmca_err_set(err, HSMCA_EINVAL, "rejectedIdentifier",
		    "\"%.64s\" is not a valid DNS name", ident->value);
	want.ids = (const char *const *)v->caa_ids;
	want.nids = v->ncaa_ids;
	want.account_uri = account_uri;
	want.method = method;
	deadline = val_now_ms() + v->timeout_ms;

	/*
	 * RFC 8659 3: the first name, from the FQDN up, with a CAA RRset
	 * is the relevant one.  The climb ends at the TLD: the root zone
	 * holds no CAA.
	 */
	nlev = 0;
	for (p = name; nlev < CAA_MAX_LEVELS; p = dot + 1) {
		lev[nlev++] = p;
		if ((dot = strchr(p, '.')) == NULL || dot[1] == '\0')
			break;
	}
	memset(q, 0, sizeof(q));
	for (i = 0, started = 0; i < nlev; i++) {
		for (; started < nlev && started < i + CAA_WINDOW; started++)
			if ((rc = val_query_start(v, lev[started],
			    VAL_RR_CAA, &q[started], err)) != 0)
				break;
		if (rc != 0)
			break;
		rc = val_query_finish(v, q[i], lev[i], VAL_RR_CAA, deadline,
		    &res, err);
		q[i] = NULL;
		if (rc != 0 || res->havedata)
			break;
		val_answer_free(res);
		res = NULL;
	}
	/* Levels above the deciding one: their answers do not count. */
	for (n = 0; n < started; n++)
		val_query_drop(v, q[n]);
	if (rc != 0 || res == NULL)
		return rc;
	p = lev[i];
	n = res->n;
	rd = calloc(n, sizeof(*rd));
	rdlen = calloc(n, sizeof(*rdlen));
	if (rd == NULL || rdlen == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		rd[i] = res->data[i];
		rdlen[i] = res->len[i];
	}
	rc = val_caa_decide(rd, rdlen, n, ident->wildcard, &want, p, err);
out:
	free(rd);
	free(rdlen);
	val_answer_free(res);
	return rc;
}
