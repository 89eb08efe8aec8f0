/*
 * hsm/uri.c - PKCS#11 URIs (RFC 7512) through p11-kit's parser.
 */
#include "hsm/hsm_int.h"

/*
 * Parse `uri` for `kind` (P11_KIT_URI_FOR_TOKEN or ..._OBJECT_ON_TOKEN).
 * An attribute p11-kit does not recognise is an error too: a misspelt
 * "tokn=" would otherwise select every token.  Returns 0 with *out
 * owned by the caller (p11_kit_uri_free), or HSMCA_EINVAL/ENOMEM.
 */
int
hsm_uri_parse(const char *uri, int kind, P11KitUri **out,
    struct hsmca_err *err)
{
	P11KitUri *u = NULL;
	int r, rc = HSMCA_EINVAL;

	*out = NULL;
	if (uri == NULL || *uri == '\0') {
		hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "RFC 7512: empty PKCS#11 URI");
		goto out;
	}
	if ((u = p11_kit_uri_new()) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, HSM_ERRTYPE,
		    "out of memory");
		goto out;
	}
	if ((r = p11_kit_uri_parse(uri, (P11KitUriType)kind, u)) !=
	    P11_KIT_URI_OK) {
		hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "RFC 7512: malformed PKCS#11 URI \"%s\": %s", uri,
		    p11_kit_uri_message(r));
		goto out;
	}
	if (p11_kit_uri_any_unrecognized(u)) {
		hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "RFC 7512: PKCS#11 URI \"%s\" has an unrecognised "
		    "attribute", uri);
		goto out;
	}
	*out = u;
	u = NULL;
	rc = 0;
out:
	p11_kit_uri_free(u);
	return rc;
}

/* 1 when the token attributes of `uri` (if any) match `info`. */
int
hsm_uri_match_token(P11KitUri *uri, const CK_TOKEN_INFO *info)
{
	/* p11-kit takes a non-const pointer but only reads it. */
	CK_TOKEN_INFO copy = *info;

	return p11_kit_uri_match_token_info(uri, &copy) == 1;
}
