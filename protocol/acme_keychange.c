/*
 * protocol/acme_keychange.c - account key rollover (RFC 8555 7.3.5):
 * the outer JWS is signed by the account's current key, its payload is
 * an inner JWS signed by the new key whose payload names the account
 * and the old key.
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/acme_int.h"

struct kc_write {
	struct store_acme_account *acct;
};

static int
kc_write(struct store_txn *txn, void *arg)
{
	struct kc_write *w = arg;

	return store_acme_account_put(txn, w->acct, false);
}

/* 409 with the Location of the account that holds the new key. */
static int
reply_conflict(struct acme *a, struct http_req *req, const char *thumb)
{
	struct hsmca_err err = { 0 };
	char url[ACME_URL_MAX];
	uint64_t id;

	if (store_acme_account_by_thumb(a->st, thumb, &id, NULL) == 0) {
		acme_url(a, url, sizeof(url), "/acme/acct/%llu",
		    (unsigned long long)id);
		http_reply_header(req, "Location", url);
	}
	hsmca_err_set(&err, HSMCA_EEXIST, "malformed", "RFC 8555 7.3.5: the "
	    "new key already belongs to an account");
	return acme_reply_err(req, 409, &err);
}

/* POST /acme/key-change (RFC 8555 7.3.5). */
int
acme_h_key_change(struct http_req *req, void *arg)
{
	struct acme *a = arg;
	struct acme_post p;
	struct hsmca_err err = { 0 };
	struct jws *inner = NULL;
	char *text = NULL, *jwk = NULL, acct_url[ACME_URL_MAX];
	char newthumb[JWK_THUMBPRINT_LEN + 1], oldthumb[JWK_THUMBPRINT_LEN + 1];
	const unsigned char *ip;
	json_t *ipl = NULL, *jwkj = NULL;
	const char *account;
	EVP_PKEY *old = NULL;
	struct kc_write w;
	uint64_t other;
	size_t iplen;
	int rc, status = 0;

	if ((rc = acme_post_parse(a, req, ACME_SIG_KID, &p, &status,
	    &err)) != 0)
		return acme_reply_err(req, status, &err);
	if (p.payload == NULL ||
	    (text = json_dumps(p.payload, JSON_COMPACT)) == NULL) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed", "RFC 8555 "
		    "7.3.5: the payload must be the inner JWS");
		goto fail;
	}
	if (jws_parse_flags(text, strlen(text), JWS_INNER, &inner, &err) != 0 ||
	    jws_verify(inner, NULL, &err) != 0)
		goto fail;
	if (strcmp(jws_url(inner), jws_url(p.jws)) != 0) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed", "RFC 8555 "
		    "7.3.5: the inner JWS url must equal the outer one");
		goto fail;
	}
	ip = jws_payload(inner, &iplen);
	ipl = json_loadb((const char *)ip, iplen, JSON_REJECT_DUPLICATES, NULL);
	account = json_string_value(json_object_get(ipl, "account"));
	acme_url(a, acct_url, sizeof(acct_url), "/acme/acct/%llu",
	    (unsigned long long)p.acct->id);
	if (account == NULL || strcmp(account, acct_url) != 0) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed", "RFC 8555 "
		    "7.3.5: the inner payload's \"account\" must be %.100s",
		    acct_url);
		goto fail;
	}
	if (json_object_get(ipl, "oldKey") == NULL ||
	    jwk_parse(json_object_get(ipl, "oldKey"), &old, &err) != 0 ||
	    jwk_thumbprint(old, oldthumb, &err) != 0 ||
	    strcmp(oldthumb, p.acct->thumb) != 0) {
		hsmca_err_set(&err, HSMCA_EINVAL, "malformed", "RFC 8555 "
		    "7.3.5: the inner payload's \"oldKey\" must be the "
		    "account's current key");
		goto fail;
	}
	if (jwk_thumbprint(jws_jwk(inner), newthumb, &err) != 0)
		goto fail;
	if (store_acme_account_by_thumb(a->st, newthumb, &other, NULL) == 0) {
		rc = reply_conflict(a, req, newthumb);
		goto out;
	}
	if (jwk_from_pkey(jws_jwk(inner), &jwkj, &err) != 0 ||
	    (jwk = json_dumps(jwkj, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto fail;
	free(p.acct->jwk);
	p.acct->jwk = jwk;
	jwk = NULL;
	memcpy(p.acct->thumb, newthumb, sizeof(newthumb));
	w.acct = p.acct;
	rc = store_write(a->st, kc_write, &w, &err);
	if (rc == HSMCA_EEXIST) {
		/* The index refused it: someone took the key meanwhile. */
		rc = reply_conflict(a, req, newthumb);
		goto out;
	}
	if (rc != 0)
		goto fail;
	rc = acme_reply_json(req, 200, acct_url, acme_account_json(a, p.acct));
	goto out;
fail:
	if (err.code == 0)
		hsmca_err_set(&err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	rc = acme_reply_err(req, 0, &err);
out:
	free(text);
	free(jwk);
	json_decref(ipl);
	json_decref(jwkj);
	jws_free(inner);
	EVP_PKEY_free(old);
	acme_post_clear(&p);
	return rc;
}
