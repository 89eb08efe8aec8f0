/*
 * hsm/keytype.c - the key types hsmca generates: names and parameters.
 */
#include "hsm/hsm_int.h"

#include <string.h>

/* DER OBJECT IDENTIFIERs for CKA_EC_PARAMS (RFC 5480 2.1.1.1). */
static const unsigned char oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const unsigned char oid_p384[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22
};

static const struct {
	enum hsm_key_type type;
	const char *name;
} key_types[] = {
	{ HSM_KEY_EC_P256, "ec-p256" },
	{ HSM_KEY_EC_P384, "ec-p384" },
	{ HSM_KEY_RSA_2048, "rsa-2048" },
	{ HSM_KEY_RSA_3072, "rsa-3072" },
	{ HSM_KEY_RSA_4096, "rsa-4096" },
};

/* Map "ec-p256"... to its type.  Returns 0 or HSMCA_EINVAL. */
int
hsm_key_type_parse(const char *name, enum hsm_key_type *out)
{
	size_t i;

	*out = HSM_KEY_NONE;
	if (name == NULL)
		return HSMCA_EINVAL;
	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (strcmp(name, key_types[i].name) == 0) {
			*out = key_types[i].type;
			return 0;
		}
	}
	return HSMCA_EINVAL;
}

/* The name of `type`; "none" for HSM_KEY_NONE or an unknown value. */
const char *
hsm_key_type_name(enum hsm_key_type type)
{
	size_t i;

	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (key_types[i].type == type)
			return key_types[i].name;
	return "none";
}

/* The CKA_EC_PARAMS of an EC type (static), NULL for others. */
const unsigned char *
hsm_key_type_ec_params(enum hsm_key_type type, size_t *len)
{
	switch (type) {
	case HSM_KEY_EC_P256:
		*len = sizeof(oid_p256);
		return oid_p256;
	case HSM_KEY_EC_P384:
		*len = sizeof(oid_p384);
		return oid_p384;
	default:
		*len = 0;
		return NULL;
	}
}
