/*
 * protocol/acme_account.c - newAccount (RFC 8555 7.3), the account
 * resource (7.3.2 update, 7.3.6 deactivation) and its orders list
 * (7.1.2.1).
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/acme_int.h"

struct acct_write {
	struct store_acme_account *acct;
	bool create;
};

static int
acct_write(struct store_txn *txn, void *arg)
{
	struct acct_write *w = arg;

	return store_acme_account_put(txn, w->acct, w->create);
}

/* 200 with the existing account (7.3.1). */
static int
reply_existing(struct acme *a, struct http_req *req, uint64_t id)
{
	struct store_acme_account *acct = NULL;
	struct hsmca_err err = { 0 };
	char url[ACME_URL_MAX];
	int rc;

	if ((rc = store_acme_account_get(a->st, id, &acct, &err)) != 0)
		return acme_reply_err(req, 0, &err);
	if (acct->status != ACME_ACCT_VALID) {
		hsmca_err_set(&err, HSMCA_EPOLICY, "unauthorized",
		    "RFC 8555 7.3.6: the account of this key is deactivated");
		store_acme_account_free(acct);
		return acme_reply_err(req, 0, &err);
	}
	acme_url(a, url, sizeof(url), "/acme/acct/%llu",
	    (unsigned long long)id);
	rc = acme_reply_json(req, 200, url, acme_account_json(a, acct));
	store_acme_account_free(acct);
	return rc;
}

/* POST /acme/new-account (RFC 8555 7.3, 7.3.1, 7.3.4). */
int
acme_h_new_account(struct http_req *req, void *arg)
{
	struct acme *a = arg;
	struct acme_post p;
	struct hsmca_err err = { 0 };
	struct store_acme_account acct;
	struct acct_write w = { &acct, true };
	char url[ACME_URL_MAX], *contact = NULL, *jwk = NULL, *kid = NULL;
	const json_t *eab;
	json_t *jwkj = NULL;
	uint64_t id;
	int rc, status = 0;

	memset(&acct, 0, sizeof(acct));
	if ((rc = acme_post_parse(a, req, ACME_SIG_JWK, &p, &status,
	    &err)) != 0)
		return acme_reply_err(req, status, &err);
	if (p.payload == NULL) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 7.3: newAccount needs a JSON object payload");
		goto fail;
	}
	if (jwk_thumbprint(jws_jwk(p.jws), acct.thumb, &err) != 0)
		goto fail;
	rc = store_acme_account_by_thumb(a->st, acct.thumb, &id, &err);
	if (rc == 0) {
		rc = reply_existing(a, req, id);
		goto out;
	}
	if (rc != HSMCA_ENOTFOUND)
		goto fail;
	hsmca_err_clear(&err);
	if (json_is_true(json_object_get(p.payload, "onlyReturnExisting"))) {
		hsmca_err_set(&err, HSMCA_EINVAL, "accountDoesNotExist",
		    "RFC 8555 7.3.1: no account holds this key");
		goto fail;
	}
	if (a->tos != NULL && !json_is_true(json_object_get(p.payload,
	    "termsOfServiceAgreed"))) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 7.3: agree to the terms of service (%.100s) with "
		    "\"termsOfServiceAgreed\": true", a->tos);
		goto fail;
	}
	if (acme_contacts(json_object_get(p.payload, "contact"), &contact,
	    &err) != 0)
		goto fail;
	acme_url(a, url, sizeof(url), "/acme/new-account");
	eab = json_object_get(p.payload, "externalAccountBinding");
	if (eab == NULL && a->eab_required) {
		hsmca_err_set(&err, HSMCA_EINVAL, "externalAccountRequired",
		    "RFC 8555 7.3.4: this server requires an external account "
		    "binding");
		goto fail;
	}
	if (eab != NULL &&
	    acme_eab_check(a, eab, jws_jwk(p.jws), url, &kid, &err) != 0)
		goto fail;
	if (jwk_from_pkey(jws_jwk(p.jws), &jwkj, &err) != 0)
		goto fail;
	if ((jwk = json_dumps(jwkj, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
	    acme_id_new(&acct.id, &err) != 0) {
		hsmca_err_set(&err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto fail;
	}
	acct.status = ACME_ACCT_VALID;
	acct.jwk = jwk;
	acct.contact = contact;
	acct.eab_kid = kid;
	acct.created_at = ca_now(a->ca);
	rc = store_write(a->st, acct_write, &w, &err);
	if (rc == HSMCA_EEXIST &&
	    store_acme_account_by_thumb(a->st, acct.thumb, &id, NULL) == 0) {
		/* Another request registered this key meanwhile. */
		rc = reply_existing(a, req, id);
		goto out;
	}
	if (rc != 0)
		goto fail;
	acme_url(a, url, sizeof(url), "/acme/acct/%llu",
	    (unsigned long long)acct.id);
	rc = acme_reply_json(req, 201, url, acme_account_json(a, &acct));
	goto out;
fail:
	rc = acme_reply_err(req, 0, &err);
out:
	json_decref(jwkj);
	free(jwk);
	free(contact);
	free(kid);
	acme_post_clear(&p);
	return rc;
}

/* POST-as-GET of /acme/acct/ID/orders: the orders still alive. */
struct orders_ctx {
	struct acme *a;
	json_t *list;
	int64_t now;
};

static int
orders_add(uint64_t id, void *arg)
{
	struct orders_ctx *c = arg;
	struct store_acme_order *o = NULL;
	char url[ACME_URL_MAX];
	int st;

	if (store_acme_order_get(c->a->st, id, &o, NULL) != 0)
		return 0;
	st = acme_order_status(c->a, o, c->now, NULL, NULL);
	if (st == ACME_ST_PENDING || st == ACME_ST_READY ||
	    st == ACME_ST_PROCESSING || st == ACME_ST_VALID) {
		acme_url(c->a, url, sizeof(url), "/acme/order/%llu",
		    (unsigned long long)id);
		json_array_append_new(c->list, json_string(url));
	}
	store_acme_order_free(o);
	return 0;
}

static int
account_orders(struct acme *a, struct http_req *req, struct acme_post *p)
{
	struct orders_ctx c = { a, json_array(), ca_now(a->ca) };
	struct hsmca_err err = { 0 };

	if (store_acme_order_list(a->st, p->acct->id, c.now - a->order_lifetime,
	    orders_add, &c, &err) != 0) {
		json_decref(c.list);
		return acme_reply_err(req, 0, &err);
	}
	return acme_reply_json(req, 200, NULL, json_pack("{s:o}", "orders",
	    c.list));
}

/* Update contact and/or status (7.3.2, 7.3.6). */
static int
account_update(struct acme *a, struct acme_post *p, struct hsmca_err *err)
{
	struct store_acme_account *acct = p->acct;
	struct acct_write w = { acct, false };
	const json_t *st = json_object_get(p->payload, "status");
	const json_t *ct = json_object_get(p->payload, "contact");
	char *contact = NULL;
	int rc;

	if (st != NULL && (!json_is_string(st) ||
	    (strcmp(json_string_value(st), "deactivated") != 0 &&
	    strcmp(json_string_value(st), "valid") != 0)))
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 7.3.6: the only status a client may set is "
		    "\"deactivated\"");
	if (ct != NULL) {
		if ((rc = acme_contacts(ct, &contact, err)) != 0)
			return rc;
		free(acct->contact);
		acct->contact = contact;
	}
	if (st != NULL && strcmp(json_string_value(st), "deactivated") == 0)
		acct->status = ACME_ACCT_DEACTIVATED;
	if (st == NULL && ct == NULL)
		return 0;
	return store_write(a->st, acct_write, &w, err);
}

/* POST /acme/acct/ID and /acme/acct/ID/orders (7.3.2, 7.3.6, 7.1.2.1). */
int
acme_h_account(struct http_req *req, void *arg)
{
	struct acme *a = arg;
	struct acme_post p;
	struct hsmca_err err = { 0 };
	const char *sub = http_req_subpath(req);
	const char *slash = strchr(sub, '/');
	char url[ACME_URL_MAX];
	uint64_t id;
	int rc, status = 0;

	if ((rc = acme_post_parse(a, req, ACME_SIG_KID, &p, &status,
	    &err)) != 0)
		return acme_reply_err(req, status, &err);
	if (acme_id_parse(sub, slash ? (size_t)(slash - sub) : strlen(sub),
	    &id) != 0 || (slash != NULL && strcmp(slash, "/orders") != 0)) {
		status = 404;
		hsmca_err_set(&err, HSMCA_ENOTFOUND, "malformed",
		    "no such account resource");
		goto fail;
	}
	if (id != p.acct->id) {
		hsmca_err_set(&err, HSMCA_EPOLICY, "unauthorized",
		    "RFC 8555 7.3.2: an account can only be read or changed "
		    "by requests signed by its own key");
		goto fail;
	}
	if (slash != NULL) {
		rc = account_orders(a, req, &p);
		goto out;
	}
	if (p.payload != NULL && account_update(a, &p, &err) != 0)
		goto fail;
	acme_url(a, url, sizeof(url), "/acme/acct/%llu",
	    (unsigned long long)id);
	rc = acme_reply_json(req, 200, url, acme_account_json(a, p.acct));
	goto out;
fail:
	rc = acme_reply_err(req, status, &err);
out:
	acme_post_clear(&p);
	return rc;
}
