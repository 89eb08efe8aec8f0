/*
 * protocol/acme_contact.c - the "contact" member of an account (RFC 8555
 * 7.3): mailto: URLs only, one plain address each (RFC 6068 without
 * hfields), syntactically an addr-spec with a DNS domain.
 */
#include <stdlib.h>
#include <string.h>

#include "protocol/acme_int.h"

/* One "mailto:" address (RFC 6068) without hfields, one addr-spec. */
static int
contact_check(const char *c, struct hsmca_err *err)
{
	const char *addr, *at, *p;

	if (strncmp(c, "mailto:", 7) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "unsupportedContact",
		    "contact \"%.80s\": only mailto: URLs are supported", c);
	addr = c + 7;
	if (strchr(addr, '?') != NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "invalidContact",
		    "contact \"%.80s\": RFC 6068 hfields (\"?\") are not "
		    "accepted", c);
	if (strchr(addr, ',') != NULL || strchr(addr, '%') != NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "invalidContact",
		    "contact \"%.80s\": one plain address per mailto: URL", c);
	at = strchr(addr, '@');
	if (at == NULL || at == addr || strchr(at + 1, '@') != NULL ||
	    strlen(addr) > 254)
		return hsmca_err_set(err, HSMCA_EINVAL, "invalidContact",
		    "contact \"%.80s\": not an address local@domain", c);
	for (p = addr; p < at; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(".!#$&'*+/=^_`{|}~-",
		    *p) != NULL))
			return hsmca_err_set(err, HSMCA_EINVAL,
			    "invalidContact", "contact \"%.80s\": character "
			    "not allowed in the local part (RFC 5321 4.1.2)",
			    c);
	/* The domain: dot-separated labels of letters, digits, hyphens. */
	p = at + 1;
	if (*p == '\0' || *p == '.' || *p == '-' || strchr(p, '.') == NULL ||
	    p[strlen(p) - 1] == '.' || strstr(p, "..") != NULL ||
	    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-") != strlen(p))
		return hsmca_err_set(err, HSMCA_EINVAL, "invalidContact",
		    "contact \"%.80s\": the domain is not a DNS name", c);
	return 0;
}

/*
 * Check a "contact" member and return it as compact JSON text (caller
 * frees).  Absent: "[]".
 */
int
acme_contacts(const json_t *c, char **out, struct hsmca_err *err)
{
	size_t i;
	json_t *v;
	int rc;

	*out = NULL;
	if (c == NULL) {
		*out = strdup("[]");
		goto done;
	}
	if (!json_is_array(c) || json_array_size(c) > 10)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 7.1.2: contact must be an array of at most 10 "
		    "URLs");
	json_array_foreach(c, i, v) {
		if (!json_is_string(v))
			return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
			    "RFC 8555 7.1.2: contact entries are strings");
		if (json_string_length(v) != strlen(json_string_value(v)))
			return hsmca_err_set(err, HSMCA_EINVAL,
			    "invalidContact", "a contact holds a NUL "
			    "character");
		if ((rc = contact_check(json_string_value(v), err)) != 0)
			return rc;
	}
	*out = json_dumps(c, JSON_COMPACT);
done:
	if (*out == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	return 0;
}
