/*
 * protocol/acme_order.c - newOrder (RFC 8555 7.4) and the order
 * resource: POST-as-GET and, under /finalize, finalization
 * (acme_finalize.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/acme_int.h"

/* Everything one newOrder writes, in one durable commit. */
struct order_write {
	struct store_acme_order *o;
	struct store_acme_authz **zs;	/* NULL entries: reused authzs */
	size_t nz;
};

static int
order_write(struct store_txn *txn, void *arg)
{
	struct order_write *w = arg;
	size_t i;

	for (i = 0; i < w->nz; i++)
		if (w->zs[i] != NULL)
			store_acme_authz_put(txn, w->zs[i]);
	store_acme_order_put(txn, w->o, true);
	return store_txn_error(txn);
}

/*
 * RFC 8555 6.7.1: one subproblem per refused identifier; the top-level
 * type is theirs when they share one, else "compound".
 */
static int
reply_subproblems(struct http_req *req, struct hsmca_err *errs,
    const bool *bad, const json_t *idents, size_t n)
{
	struct hsmca_err top = { 0 };
	json_t *doc, *subs, *sp;
	const char *type = NULL;
	size_t i, nbad = 0;
	int st = 400, sst;

	for (i = 0; i < n; i++) {
		if (!bad[i])
			continue;
		if (nbad++ == 0)
			type = errs[i].type;
		else if (type != NULL && strcmp(type, errs[i].type) != 0)
			type = "compound";
	}
	if (nbad == 1) {
		for (i = 0; !bad[i]; i++)
			;
		top = errs[i];
	} else {
		hsmca_err_set(&top, HSMCA_EPOLICY, type, "%zu of the order's "
		    "identifiers are refused; see subproblems", nbad);
	}
	if ((doc = http_problem_new(&top, &st)) == NULL ||
	    (subs = json_array()) == NULL) {
		json_decref(doc);
		return http_reply_problem(req, &top);
	}
	json_object_set_new(doc, "subproblems", subs);
	for (i = 0; i < n; i++) {
		if (!bad[i])
			continue;
		if ((sp = http_problem_new(&errs[i], &sst)) == NULL)
			continue;
		json_object_del(sp, "status");
		json_object_set(sp, "identifier",
		    json_array_get(idents, i));
		json_array_append_new(subs, sp);
	}
	return http_reply_problem_doc(req, st, doc);
}

/* A new authorization for one identifier with its challenges. */
static int
authz_new(struct acme *a, uint64_t account_id, const struct acme_ident *id,
    int64_t expires, struct store_acme_authz **out, struct hsmca_err *err)
{
	struct store_acme_authz *z;
	int types[STORE_ACME_MAX_CHALL];
	size_t n = 0, i;
	int rc;

	*out = NULL;
	/* 8.3-8.4, RFC 8737 3, RFC 8738 7: what each identifier allows. */
	if (id->wildcard) {
		types[n++] = VALIDATE_DNS01;
	} else if (id->ip) {
		types[n++] = VALIDATE_HTTP01;
		types[n++] = VALIDATE_TLSALPN01;
	} else {
		types[n++] = VALIDATE_HTTP01;
		types[n++] = VALIDATE_DNS01;
		types[n++] = VALIDATE_TLSALPN01;
	}
	if ((z = calloc(1, sizeof(*z))) == NULL ||
	    (z->value = strdup(id->wildcard ? id->value + 2 : id->value)) ==
	    NULL) {
		store_acme_authz_free(z);
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	}
	z->account_id = account_id;
	z->status = ACME_ST_PENDING;
	z->ip = id->ip;
	z->wildcard = id->wildcard;
	z->expires = expires;
	z->nchall = n;
	if ((rc = acme_id_new(&z->id, err)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		z->chall[i].type = types[i];
		z->chall[i].status = ACME_ST_PENDING;
		if ((rc = acme_token_new(z->chall[i].token,
		    sizeof(z->chall[i].token), err)) != 0)
			goto fail;
	}
	*out = z;
	return 0;
fail:
	store_acme_authz_free(z);
	return rc;
}

/* A still-valid authorization of the account for `id` (authz reuse). */
static uint64_t
authz_reuse(struct acme *a, uint64_t account_id, const struct acme_ident *id,
    int64_t now)
{
	struct store_acme_authz *z = NULL;
	char key[300];
	uint64_t zid = 0;

	if (a->authz_reuse <= 0)
		return 0;
	acme_ident_key(id->ip, false, id->value, key, sizeof(key));
	if (store_acme_valid_get(a->st, account_id, key, &zid, NULL) != 0 ||
	    store_acme_authz_get(a->st, zid, &z, NULL) != 0)
		return 0;
	if (z->account_id != account_id ||
	    acme_authz_status(z, now) != ACME_ST_VALID)
		zid = 0;
	store_acme_authz_free(z);
	return zid;
}

/* Retry-After, then the rateLimited problem. */
static int
reply_limited(struct http_req *req, int64_t retry, struct hsmca_err *err)
{
	char v[32];

	if (retry < 1)
		retry = 1;
	snprintf(v, sizeof(v), "%lld", (long long)retry);
	http_reply_header(req, "Retry-After", v);
	return acme_reply_err(req, 0, err);
}

/* POST /acme/new-order (RFC 8555 7.4). */
int
acme_h_new_order(struct http_req *req, void *arg)
{
	struct acme *a = arg;
	struct acme_post p;
	struct hsmca_err err = { 0 }, *errs = NULL;
	struct store_acme_order o;
	struct order_write w = { &o, NULL, 0 };
	struct acme_ident *ids = NULL;
	struct ca_profile prof;
	const json_t *idents, *jprof;
	char url[ACME_URL_MAX];
	bool *bad = NULL, anybad = false;
	int64_t now = ca_now(a->ca), retry = 0;
	size_t n, i, k, nnew = 0;
	int rc, status = 0, st;

	memset(&o, 0, sizeof(o));
	if ((rc = acme_post_parse(a, req, ACME_SIG_KID, &p, &status,
	    &err)) != 0)
		return acme_reply_err(req, status, &err);
	if (p.payload == NULL) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 7.4: newOrder needs a JSON object payload");
		goto fail;
	}
	if (json_object_get(p.payload, "notBefore") != NULL ||
	    json_object_get(p.payload, "notAfter") != NULL) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed", "RFC 8555 7.4: "
		    "this server does not accept notBefore/notAfter; the "
		    "profile sets the validity");
		goto fail;
	}
	jprof = json_object_get(p.payload, "profile");
	if (jprof != NULL && (!json_is_string(jprof) ||
	    json_string_length(jprof) >= sizeof(o.profile))) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed",
		    "\"profile\" must be the name of a profile in the "
		    "directory's meta.profiles");
		goto fail;
	}
	if (ca_profile_get(a->ca, jprof ? json_string_value(jprof) : NULL,
	    &prof, &err) != 0) {
		hsmca_err_clear(&err);
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed", "unknown "
		    "profile \"%.40s\"; the directory's meta.profiles lists "
		    "the profiles", json_string_value(jprof));
		goto fail;
	}
	if (jprof != NULL)
		snprintf(o.profile, sizeof(o.profile), "%s", prof.name);
	idents = json_object_get(p.payload, "identifiers");
	n = json_array_size(idents);
	if (!json_is_array(idents) || n == 0) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed", "RFC 8555 7.4: "
		    "\"identifiers\" must be a non-empty array");
		goto fail;
	}
	if (n > (size_t)prof.max_names || n > STORE_ACME_MAX_IDENTS) {
		hsmca_err_set(&err, HSMCA_EPOLICY, "rejectedIdentifier",
		    "%zu identifiers; profile \"%s\" allows at most %d", n,
		    prof.name, prof.max_names);
		goto fail;
	}
	if ((ids = calloc(n, sizeof(*ids))) == NULL ||
	    (errs = calloc(n, sizeof(*errs))) == NULL ||
	    (bad = calloc(n, sizeof(*bad))) == NULL) {
		hsmca_err_set(&err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (acme_ident_check(json_array_get(idents, i), &prof, &ids[i],
		    &errs[i]) != 0) {
			if (strcmp(errs[i].type, "malformed") == 0) {
				err = errs[i];
				goto fail;
			}
			bad[i] = anybad = true;
		}
	}
	if (anybad) {
		rc = reply_subproblems(req, errs, bad, idents, n);
		goto out;
	}
	/* Duplicates name one identifier (7.4 leaves it to the server). */
	for (i = 0, k = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < k; j++)
			if (ids[j].ip == ids[i].ip &&
			    strcmp(ids[j].value, ids[i].value) == 0)
				break;
		if (j == k)
			ids[k++] = ids[i];
	}
	n = k;
	if (acme_rate_orders(a, p.acct->id, now, &retry, &err) != 0 ||
	    acme_rate_domains(a, ids, n, now, &retry, &err) != 0) {
		rc = strcmp(err.type, "rateLimited") == 0 ?
		    reply_limited(req, retry, &err) : acme_reply_err(req, 0,
		    &err);
		goto out;
	}
	o.account_id = p.acct->id;
	o.status = ACME_ST_PENDING;
	o.created_at = now;
	o.expires = now + a->order_lifetime;
	if ((o.idents = calloc(n, sizeof(*o.idents))) == NULL ||
	    (o.authz = calloc(n, sizeof(*o.authz))) == NULL ||
	    (w.zs = calloc(n, sizeof(*w.zs))) == NULL) {
		hsmca_err_set(&err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto fail;
	}
	o.nidents = o.nauthz = w.nz = n;
	for (i = 0; i < n; i++) {
		o.idents[i].ip = ids[i].ip;
		o.idents[i].value = ids[i].value;
		if ((o.authz[i] = authz_reuse(a, p.acct->id, &ids[i], now)))
			continue;
		if (authz_new(a, p.acct->id, &ids[i], o.expires, &w.zs[i],
		    &err) != 0)
			goto fail;
		o.authz[i] = w.zs[i]->id;
		nnew++;
	}
	if (acme_rate_pending(a, p.acct->id, nnew, now, &retry, &err) != 0) {
		rc = strcmp(err.type, "rateLimited") == 0 ?
		    reply_limited(req, retry, &err) : acme_reply_err(req, 0,
		    &err);
		goto out;
	}
	if (acme_id_new(&o.id, &err) != 0 ||
	    store_write(a->st, order_write, &w, &err) != 0)
		goto fail;
	acme_url(a, url, sizeof(url), "/acme/order/%llu",
	    (unsigned long long)o.id);
	/* Ready at once when every authorization was reused. */
	st = nnew > 0 ? ACME_ST_PENDING : acme_order_status(a, &o, now, NULL,
	    &err);
	if (st < 0)
		goto fail;
	if (st == ACME_ST_PENDING)
		http_reply_header(req, "Retry-After", ACME_RETRY_AFTER);
	rc = acme_reply_json(req, 201, url, acme_order_json(a, &o, st, NULL));
	goto out;
fail:
	rc = acme_reply_err(req, 0, &err);
out:
	/* o.idents point into ids: free only the arrays. */
	free(o.idents);
	free(o.authz);
	acme_authzs_free(w.zs, w.nz);
	free(ids);
	free(errs);
	free(bad);
	acme_post_clear(&p);
	return rc;
}

/* POST-as-GET /acme/order/ID, and /acme/order/ID/finalize. */
int
acme_h_order(struct http_req *req, void *arg)
{
	struct acme *a = arg;
	struct acme_post p;
	struct hsmca_err err = { 0 };
	struct store_acme_order *o = NULL;
	struct store_acme_authz **zs = NULL;
	const char *sub = http_req_subpath(req);
	const char *slash = strchr(sub, '/');
	uint64_t id;
	int rc, status = 0, st;

	if ((rc = acme_post_parse(a, req, ACME_SIG_KID, &p, &status,
	    &err)) != 0)
		return acme_reply_err(req, status, &err);
	if (acme_id_parse(sub, slash ? (size_t)(slash - sub) : strlen(sub),
	    &id) != 0 || (slash != NULL && strcmp(slash, "/finalize") != 0) ||
	    (rc = store_acme_order_get(a->st, id, &o, &err)) ==
	    HSMCA_ENOTFOUND) {
		hsmca_err_clear(&err);
		status = 404;
		hsmca_err_set(&err, HSMCA_ENOTFOUND, "malformed",
		    "no such order");
		goto fail;
	}
	if (rc != 0)
		goto fail;
	if (o->account_id != p.acct->id) {
		hsmca_err_set(&err, HSMCA_EPOLICY, "unauthorized",
		    "this order belongs to another account");
		goto fail;
	}
	if (slash != NULL) {
		rc = acme_finalize(a, req, &p, o);
		goto out;
	}
	if ((st = acme_order_status(a, o, ca_now(a->ca), &zs, &err)) < 0)
		goto fail;
	if (st == ACME_ST_PENDING || st == ACME_ST_PROCESSING)
		http_reply_header(req, "Retry-After", ACME_RETRY_AFTER);
	rc = acme_reply_json(req, 200, NULL, acme_order_json(a, o, st, zs));
	goto out;
fail:
	rc = acme_reply_err(req, status, &err);
out:
	if (o != NULL)
		acme_authzs_free(zs, o->nauthz);
	store_acme_order_free(o);
	acme_post_clear(&p);
	return rc;
}
