/*
 * protocol/acme_finalize.c - order finalization (RFC 8555 7.4): the
 * order must be ready, the CSR must name exactly the order's
 * identifiers and carry a key other than the account's; then ca_issue()
 * signs in the token and stores the certificate, and in the same
 * durable commit the order turns valid with its certificate URL and
 * the certificates-per-domain counter grows.  One commit: a crash
 * leaves either both or neither, never a stored certificate beside an
 * order that a client could finalize again.
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/acme_int.h"

struct valid_write {
	uint64_t id;
	int64_t now;
	char **domains;
	size_t ndomains;
};

/* The order valid with certificate `is`: ca_issue()'s own transaction. */
static int
valid_write(struct store_txn *txn, const struct ca_issued *is, void *arg)
{
	struct valid_write *w = arg;
	struct store_acme_order *o = NULL;
	size_t i;
	int rc;

	if ((rc = store_acme_txn_order_get(txn, w->id, &o)) != 0)
		return rc;
	o->status = ACME_ST_VALID;
	memcpy(o->serial, is->serial, is->serial_len);
	o->serial_len = is->serial_len;
	store_acme_order_put(txn, o, false);
	for (i = 0; i < w->ndomains; i++) {
		/* Entries a week old no longer count: drop them. */
		store_acme_issued_prune(txn, w->domains[i],
		    w->now - ACME_DOMAIN_WINDOW + 1);
		store_acme_issued_put(txn, w->domains[i], w->now,
		    is->serial, is->serial_len);
	}
	store_acme_order_free(o);
	return store_txn_error(txn);
}

/* Whether `name` is one of the order's identifiers. */
static bool
in_order(const struct store_acme_order *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->nidents; i++)
		if (strcmp(o->idents[i].value, name) == 0)
			return true;
	return false;
}

/* The CSR's names equal the order's identifiers as sets. */
static int
names_match(const struct store_acme_order *o, const struct ca_csr *csr,
    struct hsmca_err *err)
{
	size_t i, k;

	for (i = 0; i < csr->nnames; i++)
		if (!in_order(o, csr->names[i]))
			return hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
			    "RFC 8555 7.4: the CSR names \"%.80s\", which is "
			    "not an identifier of the order", csr->names[i]);
	for (i = 0; i < o->nidents; i++) {
		for (k = 0; k < csr->nnames; k++)
			if (strcmp(csr->names[k], o->idents[i].value) == 0)
				break;
		if (k == csr->nnames)
			return hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
			    "RFC 8555 7.4: the CSR lacks the order's "
			    "identifier \"%.80s\"", o->idents[i].value);
	}
	return 0;
}

/* Unique registered domains of the order, for the issuance counter. */
static int
domains_of(const struct store_acme_order *o, char ***out, size_t *n)
{
	char **d;
	size_t i, k, cnt = 0;
	const char *rd;

	if ((d = calloc(o->nidents ? o->nidents : 1, sizeof(*d))) == NULL)
		return HSMCA_ENOMEM;
	for (i = 0; i < o->nidents; i++) {
		rd = acme_regdomain(o->idents[i].value);
		for (k = 0; k < cnt; k++)
			if (strcmp(d[k], rd) == 0)
				break;
		if (k < cnt)
			continue;
		if ((d[cnt] = strdup(rd)) == NULL) {
			for (k = 0; k < cnt; k++)
				free(d[k]);
			free(d);
			return HSMCA_ENOMEM;
		}
		cnt++;
	}
	*out = d;
	*n = cnt;
	return 0;
}

/* POST /acme/order/ID/finalize of order `o` (the requester's); replies. */
int
acme_finalize(struct acme *a, struct http_req *req, struct acme_post *p,
    struct store_acme_order *o)
{
	struct hsmca_err err = { 0 };
	struct store_acme_authz **zs = NULL;
	struct store_acme_order *fresh = NULL;
	struct ca_csr *csr = NULL;
	struct ca_profile prof;
	struct ca_issue_req ir;
	struct ca_issued *is = NULL;
	struct valid_write w;
	unsigned char *der = NULL;
	const char *csr64;
	char url[ACME_URL_MAX];
	bool added = false;
	size_t der_len, i;
	int rc, st;

	memset(&w, 0, sizeof(w));
	if ((st = acme_order_status(a, o, ca_now(a->ca), &zs, &err)) < 0)
		goto fail;
	if (st != ACME_ST_READY) {
		hsmca_err_set(&err, HSMCA_EPOLICY, "orderNotReady",
		    "RFC 8555 7.4: the order is %s, not ready",
		    acme_status_name(st));
		goto fail;
	}
	csr64 = json_string_value(json_object_get(p->payload, "csr"));
	if (csr64 == NULL) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed", "RFC 8555 7.4: "
		    "finalize needs {\"csr\": base64url DER}");
		goto fail;
	}
	if (b64url_decode(csr64, strlen(csr64), &der, &der_len, &err) != 0) {
		hsmca_err_clear(&err);
		hsmca_err_set(&err, HSMCA_EINVAL, "badCSR", "RFC 8555 7.4: "
		    "\"csr\" is not base64url");
		goto fail;
	}
	if (ca_profile_get(a->ca, o->profile[0] ? o->profile : NULL, &prof,
	    &err) != 0 ||
	    ca_csr_check(der, der_len, &prof, &csr, &err) != 0 ||
	    names_match(o, csr, &err) != 0)
		goto fail;
	if (EVP_PKEY_eq(csr->pubkey, p->acct_key) == 1) {
		hsmca_err_set(&err, HSMCA_EINVAL, "badCSR", "RFC 8555 11.1: "
		    "the certificate key must differ from the account key");
		goto fail;
	}
	if (!(added = acme_finalizing_add(a, o->id))) {
		hsmca_err_set(&err, HSMCA_EPOLICY, "orderNotReady",
		    "RFC 8555 7.4: the order is already being finalized");
		goto fail;
	}
	/* Another finalize may have completed since the status above. */
	if (store_acme_order_get(a->st, o->id, &fresh, &err) != 0)
		goto fail;
	if (fresh->status != ACME_ST_PENDING) {
		hsmca_err_set(&err, HSMCA_EPOLICY, "orderNotReady",
		    "RFC 8555 7.4: the order is %s, not ready",
		    acme_status_name(fresh->status));
		goto fail;
	}
	w.id = o->id;
	w.now = ca_now(a->ca);
	if (domains_of(o, &w.domains, &w.ndomains) != 0) {
		hsmca_err_set(&err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto fail;
	}
	memset(&ir, 0, sizeof(ir));
	ir.csr_der = der;
	ir.csr_len = der_len;
	/* Checked above against the same profile: not parsed again. */
	ir.csr = csr;
	csr = NULL;
	ir.profile = o->profile[0] ? o->profile : NULL;
	ir.account_id = o->account_id;
	ir.also = valid_write;
	ir.also_arg = &w;
	/* Durable with the order's new state before the reply. */
	if (ca_issue(a->ca, &ir, &is, &err) != 0)
		goto fail;
	o->status = ACME_ST_VALID;
	memcpy(o->serial, is->serial, is->serial_len);
	o->serial_len = is->serial_len;
	acme_url(a, url, sizeof(url), "/acme/order/%llu",
	    (unsigned long long)o->id);
	rc = acme_reply_json(req, 200, url, acme_order_json(a, o,
	    ACME_ST_VALID, zs));
	goto out;
fail:
	rc = acme_reply_err(req, 0, &err);
out:
	if (added)
		acme_finalizing_del(a, o->id);
	for (i = 0; i < w.ndomains; i++)
		free(w.domains[i]);
	free(w.domains);
	acme_authzs_free(zs, o->nauthz);
	store_acme_order_free(fresh);
	ca_issued_free(is);
	ca_csr_free(csr);
	free(der);
	return rc;
}
