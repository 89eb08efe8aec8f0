/*
 * protocol/acme_keycache.c - parsed account keys by account id, so that
 * a request signed with "kid" does not rebuild its EVP_PKEY from the
 * stored JWK every time (that cost as much as verifying the signature).
 * The account record is still read on every request: its status rules.
 * A slot matches only the same id with the same thumbprint, so a key
 * rollover can never be answered with the old key.  Direct-mapped and
 * bounded; the EVP_PKEYs are shared read-only (reference counted).
 */
#include <string.h>

#include "protocol/acme_int.h"

/* Drop every cached key. */
void
acme_keycache_free(struct acme *a)
{
	size_t i;

	for (i = 0; i < ACME_KEYCACHE; i++) {
		EVP_PKEY_free(a->keycache[i].key);
		a->keycache[i].key = NULL;
	}
}

/*
 * The key of `acct`: a new reference to the cached key or a freshly
 * parsed one (then cached).  The caller frees it with EVP_PKEY_free().
 */
int
acme_account_key(struct acme *a, const struct store_acme_account *acct,
    EVP_PKEY **out, struct hsmca_err *err)
{
	struct acme_keyslot *s = &a->keycache[acct->id % ACME_KEYCACHE];
	EVP_PKEY *k = NULL, *old = NULL;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&a->kc_mu);
	if (s->key != NULL && s->id == acct->id &&
	    strcmp(s->thumb, acct->thumb) == 0 && EVP_PKEY_up_ref(s->key) == 1)
		k = s->key;
	pthread_mutex_unlock(&a->kc_mu);
	if (k != NULL) {
		*out = k;
		return 0;
	}
	if ((rc = jwk_parse_text(acct->jwk, strlen(acct->jwk), &k, err)) != 0)
		return rc;
	pthread_mutex_lock(&a->kc_mu);
	if (EVP_PKEY_up_ref(k) == 1) {
		old = s->key;
		s->key = k;
		s->id = acct->id;
		memcpy(s->thumb, acct->thumb, sizeof(s->thumb));
	}
	pthread_mutex_unlock(&a->kc_mu);
	EVP_PKEY_free(old);
	*out = k;
	return 0;
}
