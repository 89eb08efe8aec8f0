/*
 * protocol/validate.c - the validator object: configuration read once
 * from validation.* and acme.caa_identities.
 *
 * XXX the challenge and CAA checks are not wired yet: they refuse with
 * serverInternal so that callers link and fail closed.
 */
#include "protocol/validate.h"

#include <stdlib.h>

struct validator {
	int unused;
};

/* See protocol/validate.h. */
int
validator_new(const struct hsmca_config *cfg, const char *state_dir,
    struct validator **out, struct hsmca_err *err)
{
	struct validator *v;

	(void)cfg;
	(void)state_dir;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	*out = v;
	return 0;
}

/* See protocol/validate.h. */
void
validator_free(struct validator *v)
{
	free(v);
}

/* See protocol/validate.h. */
int
validate_challenge(struct validator *v, enum validate_type type,
    const struct validate_ident *ident, const char *token,
    const char *key_authz, struct hsmca_err *err)
{
	(void)v; (void)type; (void)ident; (void)token; (void)key_authz;
	return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
	    "validation not available");
}

/* See protocol/validate.h. */
int
validate_caa(struct validator *v, const struct validate_ident *ident,
    const char *account_uri, const char *method, struct hsmca_err *err)
{
	(void)v; (void)ident; (void)account_uri; (void)method;
	return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
	    "validation not available");
}
