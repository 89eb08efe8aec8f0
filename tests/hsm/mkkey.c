/*
 * tests/hsm/mkkey.c - for the pkcs11-tool test: make a SoftHSM2 token
 * in DIR (labelled FIX_LABEL, user PIN FIX_PIN) and generate keys there
 * with hsm_key_generate().
 *
 * usage: hsm_test_mkkey DIR LABEL:TYPE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

int
main(int argc, char **argv)
{
	struct hsmca_err err = { 0 };
	struct hsm_params p = { 0 };
	struct hsm *hsm = NULL;
	enum hsm_key_type type;
	char conf[PATH_MAX], label[64], *colon;
	int i, rc = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DIR LABEL:TYPE...\n", argv[0]);
		return 2;
	}
	if (hsm_softhsm_setup(argv[1], conf, sizeof(conf), &err) != 0 ||
	    hsm_token_create(FIX_MODULE, conf, FIX_LABEL, FIX_SO_PIN, FIX_PIN,
	    &err) != 0)
		goto out;
	setenv("HSMCA_MKKEY_PIN", FIX_PIN, 1);
	p.module = FIX_MODULE;
	p.softhsm_conf = conf;
	p.token_uri = FIX_URI;
	p.pin_env = "HSMCA_MKKEY_PIN";
	if (hsm_open(&p, &hsm, &err) != 0)
		goto out;
	for (i = 2; i < argc; i++) {
		snprintf(label, sizeof(label), "%s", argv[i]);
		if ((colon = strchr(label, ':')) == NULL)
			goto out;
		*colon = '\0';
		if (hsm_key_type_parse(colon + 1, &type) != 0 ||
		    hsm_key_generate(hsm, type, label, &err) != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "mkkey: %s: %s\n", hsmca_code_name(err.code),
		    err.detail);
	hsm_close(hsm);
	return rc;
}
