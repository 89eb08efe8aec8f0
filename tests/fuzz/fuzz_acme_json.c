/*
 * tests/fuzz/fuzz_acme_json.c - fuzz what the ACME server reads from a
 * request payload after the JWS layer: the payload as JSON (duplicates
 * refused), newOrder identifiers (name rules, IP text, the registered
 * domain), account contacts, and an externalAccountBinding checked
 * against one known EAB key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "protocol/acme_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct acme A;
static struct acme_eab_key key;
static EVP_PKEY *acct;

static void
init(void)
{
	static unsigned char secret[32] = "fuzz-eab-key-0123456789abcdefgh";

	if (acct != NULL)
		return;
	key.kid = (char *)"kid-1";
	key.key = secret;
	key.key_len = sizeof(secret);
	A.eab = &key;
	A.neab = 1;
	acct = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_profile prof = { "fuzz", 3600, 100, true, true };
	struct acme_ident id;
	struct hsmca_err err;
	json_t *doc, *v;
	char *out = NULL;
	size_t i;

	init();
	doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    NULL);
	if (doc == NULL)
		return 0;
	json_array_foreach(json_object_get(doc, "identifiers"), i, v) {
		hsmca_err_clear(&err);
		if (acme_ident_check(v, &prof, &id, &err) == 0)
			(void)acme_regdomain(id.value);
	}
	hsmca_err_clear(&err);
	if (acme_contacts(json_object_get(doc, "contact"), &out, &err) == 0)
		free(out);
	out = NULL;
	if ((v = json_object_get(doc, "externalAccountBinding")) != NULL &&
	    acct != NULL) {
		hsmca_err_clear(&err);
		if (acme_eab_check(&A, v, acct,
		    "https://localhost:14000/acme/new-account", &out,
		    &err) == 0)
			free(out);
	}
	json_decref(doc);
	return 0;
}
