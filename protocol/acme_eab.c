/*
 * protocol/acme_eab.c - External Account Binding (RFC 8555 7.3.4): the
 * key file (acme.eab_keys: "kid base64url-key" per line) and the check
 * of the inner JWS: HS256 over the account's JWK, with the key the CA
 * gave out under that kid, and the newAccount URL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "protocol/acme_int.h"

#define EAB_MAX_KEYS 10000

/* Forget (and wipe) the EAB keys. */
void
acme_eab_free(struct acme *a)
{
	size_t i;

	for (i = 0; i < a->neab; i++) {
		free(a->eab[i].kid);
		if (a->eab[i].key != NULL)
			OPENSSL_clear_free(a->eab[i].key, a->eab[i].key_len);
	}
	free(a->eab);
	a->eab = NULL;
	a->neab = 0;
}

/*
 * Load the key file.  HSMCA_ENOTFOUND when it does not exist.  The keys
 * are secrets: no message quotes a line.
 */
int
acme_eab_load(struct acme *a, const char *path, struct hsmca_err *err)
{
	FILE *fp;
	char line[1024], *kid, *key, *save;
	struct acme_eab_key *n;
	unsigned lineno = 0;
	int rc = 0;

	if ((fp = fopen(path, "r")) == NULL)
		return hsmca_err_set(err, HSMCA_ENOTFOUND, "config",
		    "acme.eab_keys: cannot open %s", path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		kid = strtok_r(line, " \t\r\n", &save);
		if (kid == NULL || kid[0] == '#')
			continue;
		key = strtok_r(NULL, " \t\r\n", &save);
		if (key == NULL || strtok_r(NULL, " \t\r\n", &save) != NULL ||
		    a->neab == EAB_MAX_KEYS) {
			rc = hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "%s:%u: expected \"kid key\"", path, lineno);
			break;
		}
		if ((n = realloc(a->eab, (a->neab + 1) * sizeof(*n))) == NULL) {
			rc = hsmca_err_set(err, HSMCA_ENOMEM, "config",
			    "out of memory");
			break;
		}
		a->eab = n;
		n = &a->eab[a->neab];
		memset(n, 0, sizeof(*n));
		if ((n->kid = strdup(kid)) == NULL ||
		    b64url_decode(key, strlen(key), &n->key, &n->key_len,
		    NULL) != 0 || n->key_len < 16) {
			a->neab++;
			rc = hsmca_err_set(err, HSMCA_EINVAL, "config",
			    "%s:%u: the key must be base64url of at least 16 "
			    "bytes", path, lineno);
			break;
		}
		a->neab++;
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(fp);
	return rc;
}

static const struct acme_eab_key *
eab_find(const struct acme *a, const char *kid)
{
	size_t i;

	for (i = 0; i < a->neab; i++)
		if (strcmp(a->eab[i].kid, kid) == 0)
			return &a->eab[i];
	return NULL;
}

static int
hmac_sha256(const unsigned char *key, size_t klen, const char *data,
    size_t dlen, unsigned char out[32])
{
	OSSL_PARAM params[2];
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	size_t olen = 0;
	int rc = -1;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(ctx, key, klen, params) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)data, dlen) != 1 ||
	    EVP_MAC_final(ctx, out, &olen, 32) != 1 || olen != 32)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

/*
 * Check the externalAccountBinding object `eab` of a newAccount signed
 * by `acct_key` and sent to `url`.  malformed for a bad structure,
 * unauthorized for an unknown kid or a wrong MAC.  On success *kid_out
 * is the kid (malloc'd).
 */
int
acme_eab_check(struct acme *a, const json_t *eab, EVP_PKEY *acct_key,
    const char *url, char **kid_out, struct hsmca_err *err)
{
	const char *prot, *payload, *sig, *alg, *kid, *hurl;
	unsigned char *hdr = NULL, *pl = NULL, *sigb = NULL, mac[32];
	size_t hlen, plen, slen, n;
	json_t *h = NULL, *jwk = NULL;
	char *signing = NULL, t1[JWK_THUMBPRINT_LEN + 1];
	char t2[JWK_THUMBPRINT_LEN + 1];
	EVP_PKEY *k = NULL;
	const struct acme_eab_key *ek;
	int rc = HSMCA_EINVAL;

	*kid_out = NULL;
	prot = json_string_value(json_object_get(eab, "protected"));
	payload = json_string_value(json_object_get(eab, "payload"));
	sig = json_string_value(json_object_get(eab, "signature"));
	if (!json_is_object(eab) || json_object_size(eab) != 3 ||
	    prot == NULL || payload == NULL || sig == NULL) {
		hsmca_err_set(err, rc, "malformed", "RFC 8555 7.3.4: "
		    "externalAccountBinding is a flattened JWS with "
		    "protected, payload and signature");
		goto out;
	}
	if (b64url_decode(prot, strlen(prot), &hdr, &hlen, err) != 0 ||
	    b64url_decode(payload, strlen(payload), &pl, &plen, err) != 0 ||
	    b64url_decode(sig, strlen(sig), &sigb, &slen, err) != 0)
		goto out;
	h = json_loadb((const char *)hdr, hlen, JSON_REJECT_DUPLICATES, NULL);
	alg = json_string_value(json_object_get(h, "alg"));
	kid = json_string_value(json_object_get(h, "kid"));
	hurl = json_string_value(json_object_get(h, "url"));
	if (alg == NULL || kid == NULL || hurl == NULL ||
	    json_object_get(h, "nonce") != NULL) {
		hsmca_err_set(err, rc, "malformed", "RFC 8555 7.3.4: the "
		    "binding's header needs alg, kid and url, and no nonce");
		goto out;
	}
	if (strcmp(alg, "HS256") != 0) {
		hsmca_err_set(err, rc, "badSignatureAlgorithm",
		    "RFC 8555 7.3.4: the binding must be signed with HS256");
		goto out;
	}
	if (strcmp(hurl, url) != 0) {
		hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "RFC 8555 7.3.4: the binding's url must be %.100s", url);
		goto out;
	}
	/* The payload is the account key: the same key as the outer JWS. */
	jwk = json_loadb((const char *)pl, plen, JSON_REJECT_DUPLICATES, NULL);
	if (jwk == NULL || jwk_parse(jwk, &k, err) != 0 ||
	    jwk_thumbprint(k, t1, err) != 0 ||
	    jwk_thumbprint(acct_key, t2, err) != 0 || strcmp(t1, t2) != 0) {
		hsmca_err_set(err, rc, "malformed", "RFC 8555 7.3.4: the "
		    "binding's payload must be the account's JWK");
		goto out;
	}
	if ((ek = eab_find(a, kid)) == NULL) {
		hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "RFC 8555 7.3.4: unknown external account key id");
		goto out;
	}
	n = strlen(prot) + 1 + strlen(payload);
	if ((signing = malloc(n + 1)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	snprintf(signing, n + 1, "%s.%s", prot, payload);
	if (hmac_sha256(ek->key, ek->key_len, signing, n, mac) != 0 ||
	    slen != sizeof(mac) || CRYPTO_memcmp(mac, sigb, sizeof(mac)) != 0) {
		hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "RFC 8555 7.3.4: the binding's MAC does not verify with "
		    "the key of its kid");
		goto out;
	}
	if ((*kid_out = strdup(kid)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(hdr);
	free(pl);
	free(sigb);
	free(signing);
	json_decref(h);
	json_decref(jwk);
	EVP_PKEY_free(k);
	return rc;
}
