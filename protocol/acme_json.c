/*
 * protocol/acme_json.c - the JSON representations of accounts, orders,
 * authorizations and challenges (RFC 8555 7.1.2-7.1.5).
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/acme_int.h"

/* The account object (7.1.2); a new reference or NULL. */
json_t *
acme_account_json(struct acme *a, const struct store_acme_account *acct)
{
	char url[ACME_URL_MAX];
	json_t *o, *contact;

	if ((contact = json_loads(acct->contact, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		contact = json_array();
	acme_url(a, url, sizeof(url), "/acme/acct/%llu/orders",
	    (unsigned long long)acct->id);
	o = json_pack("{s:s, s:o, s:s}", "status",
	    acct->status == ACME_ACCT_VALID ? "valid" :
	    acct->status == ACME_ACCT_DEACTIVATED ? "deactivated" : "revoked",
	    "contact", contact, "orders", url);
	if (o != NULL && a->tos != NULL)
		json_object_set_new(o, "termsOfServiceAgreed", json_true());
	return o;
}

static json_t *
ident_json(bool ip, const char *value)
{
	return json_pack("{s:s, s:s}", "type", ip ? "ip" : "dns", "value",
	    value);
}

/*
 * The order.  `zs` are its authorizations (for the error of an
 * invalid order: the first failed challenge's problem).
 */
json_t *
acme_order_json(struct acme *a, const struct store_acme_order *o, int status,
    struct store_acme_authz **zs)
{
	char url[ACME_URL_MAX], t[40], hex[2 * STORE_SERIAL_MAX + 1];
	json_t *j, *ids, *authz, *err = NULL;
	size_t i, k;

	if ((j = json_object()) == NULL)
		return NULL;
	ids = json_array();
	authz = json_array();
	json_object_set_new(j, "status", json_string(acme_status_name(status)));
	json_object_set_new(j, "expires", json_string(acme_time(o->expires, t,
	    sizeof(t))));
	json_object_set_new(j, "identifiers", ids);
	for (i = 0; i < o->nidents; i++)
		json_array_append_new(ids, ident_json(o->idents[i].ip,
		    o->idents[i].value));
	if (o->profile[0] != '\0')
		json_object_set_new(j, "profile", json_string(o->profile));
	json_object_set_new(j, "authorizations", authz);
	for (i = 0; i < o->nauthz; i++) {
		acme_url(a, url, sizeof(url), "/acme/authz/%llu",
		    (unsigned long long)o->authz[i]);
		json_array_append_new(authz, json_string(url));
	}
	acme_url(a, url, sizeof(url), "/acme/order/%llu/finalize",
	    (unsigned long long)o->id);
	json_object_set_new(j, "finalize", json_string(url));
	if (status == ACME_ST_VALID && o->serial_len > 0) {
		ca_serial_hex(o->serial, o->serial_len, hex);
		acme_url(a, url, sizeof(url), "/acme/cert/%s", hex);
		json_object_set_new(j, "certificate", json_string(url));
	}
	if (status == ACME_ST_INVALID) {
		if (o->error != NULL)
			err = json_loads(o->error, 0, NULL);
		for (i = 0; err == NULL && zs != NULL && i < o->nauthz; i++)
			for (k = 0; zs[i] != NULL && err == NULL &&
			    k < zs[i]->nchall; k++)
				if (zs[i]->chall[k].error != NULL)
					err = json_loads(zs[i]->chall[k].error,
					    0, NULL);
		if (err != NULL)
			json_object_set_new(j, "error", err);
	}
	return j;
}

/* The challenge object (7.1.5) of challenge `idx` of `z`. */
json_t *
acme_chall_json(struct acme *a, const struct store_acme_authz *z, size_t idx)
{
	const struct store_acme_chall *c = &z->chall[idx];
	char url[ACME_URL_MAX], t[40];
	json_t *j, *err;

	acme_url(a, url, sizeof(url), "/acme/chall/%llu/%zu",
	    (unsigned long long)z->id, idx);
	j = json_pack("{s:s, s:s, s:s, s:s}", "type", acme_chall_name(c->type),
	    "url", url, "status", acme_status_name(c->status), "token",
	    c->token);
	if (j == NULL)
		return NULL;
	if (c->validated_at != 0 && c->status == ACME_ST_VALID)
		json_object_set_new(j, "validated", json_string(acme_time(
		    c->validated_at, t, sizeof(t))));
	if (c->error != NULL && (err = json_loads(c->error, 0, NULL)) != NULL)
		json_object_set_new(j, "error", err);
	return j;
}

/* The authorization object (7.1.4) as of `now`. */
json_t *
acme_authz_json(struct acme *a, const struct store_acme_authz *z, int64_t now)
{
	char t[40];
	json_t *j, *ch;
	size_t i;
	int st = acme_authz_status(z, now);

	if ((j = json_object()) == NULL)
		return NULL;
	json_object_set_new(j, "identifier", ident_json(z->ip, z->value));
	json_object_set_new(j, "status", json_string(acme_status_name(st)));
	json_object_set_new(j, "expires", json_string(acme_time(z->expires, t,
	    sizeof(t))));
	if (z->wildcard)
		json_object_set_new(j, "wildcard", json_true());
	ch = json_array();
	json_object_set_new(j, "challenges", ch);
	/* 7.1.4: a valid authorization lists only the challenge that
	 * made it so; the others stay as offered. */
	for (i = 0; i < z->nchall; i++) {
		if (st == ACME_ST_VALID && z->chall[i].status != ACME_ST_VALID)
			continue;
		json_array_append_new(ch, acme_chall_json(a, z, i));
	}
	return j;
}
