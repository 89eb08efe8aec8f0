/*
 * protocol/acme_post.c - the JWS pipeline every ACME POST goes through
 * (RFC 8555 6.2-6.5): content type, flattened JWS, nonce, url, kid or
 * jwk, account status, signature, then the payload as JSON.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/acme_int.h"

#define ACCT_PATH "/acme/acct/"

/* Release what acme_post_parse() filled in. */
void
acme_post_clear(struct acme_post *p)
{
	jws_free(p->jws);
	json_decref(p->payload);
	store_acme_account_free(p->acct);
	EVP_PKEY_free(p->acct_key);
	memset(p, 0, sizeof(*p));
}

/* RFC 8555 6.2: "application/jose+json", parameters allowed. */
static bool
jose_type(const char *ct)
{
	static const char want[] = "application/jose+json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/*
 * Resolve "kid" to a valid account (6.2, 7.3.6): the URL of an account
 * of this server, existing, not deactivated.
 */
static int
kid_account(struct acme *a, const char *kid, struct acme_post *p,
    struct hsmca_err *err)
{
	char prefix[ACME_URL_MAX];
	size_t n;
	uint64_t id;
	int rc;

	acme_url(a, prefix, sizeof(prefix), ACCT_PATH);
	n = strlen(prefix);
	if (strncmp(kid, prefix, n) != 0 ||
	    acme_id_parse(kid + n, strlen(kid + n), &id) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "accountDoesNotExist",
		    "RFC 8555 6.2: kid \"%.100s\" is not an account URL of "
		    "this server", kid);
	rc = store_acme_account_get(a->st, id, &p->acct, err);
	if (rc == HSMCA_ENOTFOUND)
		return hsmca_err_set(err, HSMCA_EINVAL, "accountDoesNotExist",
		    "RFC 8555 6.2: no account %llu",
		    (unsigned long long)id);
	if (rc != 0)
		return rc;
	if (p->acct->status != ACME_ACCT_VALID)
		return hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "RFC 8555 7.3.6: account %llu is %s", (unsigned long long)id,
		    p->acct->status == ACME_ACCT_DEACTIVATED ? "deactivated" :
		    "revoked");
	rc = acme_account_key(a, p->acct, &p->acct_key, err);
	if (rc != 0)
		return hsmca_err_set(err, HSMCA_EIO, "store",
		    "acme: stored key of account %llu does not parse",
		    (unsigned long long)id);
	return 0;
}

/* The JWS pipeline; see acme_int.h. */
int
acme_post_parse(struct acme *a, struct http_req *req, unsigned sig,
    struct acme_post *p, int *status, struct hsmca_err *err)
{
	const unsigned char *body, *payload;
	char url[ACME_URL_MAX];
	json_error_t jerr;
	size_t len, plen;
	int rc;

	memset(p, 0, sizeof(*p));
	*status = 0;
	if (!jose_type(http_req_header(req, "Content-Type"))) {
		*status = 415;
		rc = hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 6.2: Content-Type must be "
		    "application/jose+json");
		goto fail;
	}
	body = http_req_body(req, &len);
	if ((rc = jws_parse((const char *)body, len, &p->jws, err)) != 0)
		goto fail;
	/* 6.4: the signed url is the one the request went to. */
	acme_url(a, url, sizeof(url), "%s", http_req_path(req));
	if (strcmp(jws_url(p->jws), url) != 0) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "RFC 8555 6.4: JWS url \"%.100s\" is not the request URL "
		    "\"%.100s\"", jws_url(p->jws), url);
		goto fail;
	}
	/* 6.5: one use per nonce, even when the request fails later. */
	if ((rc = nonce_consume(a->nonces, jws_nonce(p->jws), ca_now(a->ca),
	    err)) != 0)
		goto fail;
	if (jws_kid(p->jws) != NULL) {
		if (!(sig & ACME_SIG_KID)) {
			rc = hsmca_err_set(err, HSMCA_EINVAL, "malformed",
			    "RFC 8555 6.2: this request must carry \"jwk\", "
			    "not \"kid\"");
			goto fail;
		}
		if ((rc = kid_account(a, jws_kid(p->jws), p, err)) != 0)
			goto fail;
	} else if (!(sig & ACME_SIG_JWK)) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 6.2: this request must carry the account URL "
		    "in \"kid\", not \"jwk\"");
		goto fail;
	}
	if ((rc = jws_verify(p->jws, p->acct_key, err)) != 0)
		goto fail;
	payload = jws_payload(p->jws, &plen);
	if (plen > 0) {
		p->payload = json_loadb((const char *)payload, plen,
		    JSON_REJECT_DUPLICATES, &jerr);
		if (p->payload == NULL || !json_is_object(p->payload)) {
			rc = hsmca_err_set(err, HSMCA_EINVAL, "malformed",
			    "RFC 8555 7: the payload must be a JSON object%s%s",
			    p->payload == NULL ? ": " : "",
			    p->payload == NULL ? jerr.text : "");
			goto fail;
		}
	}
	return 0;
fail:
	acme_post_clear(p);
	return rc != 0 ? rc : HSMCA_EINVAL;
}
