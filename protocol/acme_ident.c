/*
 * protocol/acme_ident.c - the identifiers of a newOrder: DNS names
 * (RFC 8555 7.1.4) and IP addresses (RFC 8738), checked with the same
 * rules the CA applies to a CSR (ca/names.c) so that an order the
 * server accepts can be finalized; and the registered domain (eTLD+1,
 * libpsl) the certificates-per-domain limit counts under.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <libpsl.h>

#include "protocol/acme_int.h"

#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63

static int
reject(struct hsmca_err *err, const char *name, const char *why)
{
	return hsmca_err_set(err, HSMCA_EPOLICY, "rejectedIdentifier",
	    "\"%.80s\": %s", name, why);
}

static int
label_check(const char *name, const char *l, size_t n, struct hsmca_err *err)
{
	size_t i;

	if (n == 0)
		return reject(err, name, "RFC 1035 2.3.1: empty label");
	if (n > LABEL_MAX_LEN)
		return reject(err, name,
		    "RFC 1035 2.3.4: label longer than 63 characters");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if (c == '*')
			return reject(err, name, "CA/B BR 7.1.2.7.12: a "
			    "wildcard must be the entire left-most label");
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-'))
			return reject(err, name, "RFC 1035 2.3.1: only "
			    "letters, digits and hyphens are allowed");
	}
	if (l[0] == '-' || l[n - 1] == '-')
		return reject(err, name, "RFC 1035 2.3.1: a label must not "
		    "start or end with a hyphen");
	if (n >= 4 && l[2] == '-' && l[3] == '-' &&
	    !(l[0] == 'x' && l[1] == 'n'))
		return reject(err, name, "RFC 5891 4.2.3.1: hyphens in the "
		    "third and fourth positions are reserved for \"xn--\"");
	return 0;
}

/* A DNS identifier; RFC 8555 7.1.4 wants it already lower case. */
static int
dns_check(const char *name, const struct ca_profile *profile,
    struct acme_ident *out, struct hsmca_err *err)
{
	size_t len = strlen(name), nlabels = 0, i;
	const char *p = name, *last = name;
	int rc;

	if (len == 0)
		return reject(err, name, "empty name");
	if (len > NAME_MAX_LEN)
		return reject(err, name, "RFC 1035 2.3.4: name longer than "
		    "253 characters");
	for (i = 0; i < len; i++) {
		if (isupper((unsigned char)name[i]))
			return reject(err, name, "RFC 8555 7.1.4: identifier "
			    "values must be lower case");
		if ((unsigned char)name[i] >= 0x80)
			return reject(err, name, "RFC 5890 2.3.2.1: send an "
			    "internationalized name as A-labels (\"xn--\")");
	}
	if (name[len - 1] == '.')
		return reject(err, name, "no trailing dot");
	out->wildcard = false;
	if (name[0] == '*' && name[1] == '.') {
		if (!profile->wildcard)
			return reject(err, name, "the profile does not allow "
			    "wildcard names");
		out->wildcard = true;
		p = name + 2;
	}
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if ((rc = label_check(name, p, n, err)) != 0)
			return rc;
		nlabels++;
		last = p;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	if (strspn(last, "0123456789") == strlen(last))
		return reject(err, name, "RFC 3696 2: the top-level label is "
		    "all-numeric; send an IP address as type \"ip\"");
	if (out->wildcard && nlabels < 2)
		return reject(err, name, "CA/B BR 3.2.2.6: a wildcard directly "
		    "over a top-level domain is not allowed");
	if (out->wildcard && psl_is_public_suffix(psl_builtin(), name + 2))
		return reject(err, name, "CA/B BR 3.2.2.6: a wildcard directly "
		    "over a public suffix is not allowed");
	out->ip = false;
	snprintf(out->value, sizeof(out->value), "%s", name);
	return 0;
}

/* RFC 8738 3: an IPv4 or IPv6 address in its text form; stored in
 * the inet_ntop form the CA writes into certificates. */
static int
ip_check(const char *value, const struct ca_profile *profile,
    struct acme_ident *out, struct hsmca_err *err)
{
	unsigned char buf[16];
	char text[INET6_ADDRSTRLEN];
	int af = strchr(value, ':') != NULL ? AF_INET6 : AF_INET;

	if (inet_pton(af, value, buf) != 1 ||
	    inet_ntop(af, buf, text, sizeof(text)) == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8738 3: \"%.80s\" is not an IP address", value);
	if (!profile->ip)
		return reject(err, value, "the profile does not allow IP "
		    "addresses");
	out->ip = true;
	out->wildcard = false;
	snprintf(out->value, sizeof(out->value), "%s", text);
	return 0;
}

/* Check one newOrder identifier; see acme_int.h. */
int
acme_ident_check(const json_t *ident, const struct ca_profile *profile,
    struct acme_ident *out, struct hsmca_err *err)
{
	const char *type, *value;

	memset(out, 0, sizeof(*out));
	type = json_string_value(json_object_get(ident, "type"));
	value = json_string_value(json_object_get(ident, "value"));
	if (!json_is_object(ident) || type == NULL || value == NULL)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "RFC 8555 7.1.4: an identifier is an object with string "
		    "\"type\" and \"value\"");
	snprintf(out->value, sizeof(out->value), "%.80s", value);
	if (strcmp(type, "dns") == 0)
		return dns_check(value, profile, out, err);
	if (strcmp(type, "ip") == 0)
		return ip_check(value, profile, out, err);
	return hsmca_err_set(err, HSMCA_EPOLICY, "unsupportedIdentifier",
	    "identifier type \"%.40s\" is not supported; use \"dns\" or "
	    "\"ip\"", type);
}

/*
 * The name the certificates-per-domain limit counts under: the
 * registrable domain, or the name itself when it has none (a public
 * suffix, a single label, an IP address).
 */
const char *
acme_regdomain(const char *value)
{
	const char *name = value, *rd;

	if (name[0] == '*' && name[1] == '.')
		name += 2;
	if (strchr(name, ':') != NULL || strspn(name, "0123456789.") ==
	    strlen(name))
		return name;
	rd = psl_registrable_domain(psl_builtin(), name);
	return rd != NULL ? rd : name;
}

/* The valid-authorization index key of an identifier: "dns:x", "ip:x". */
void
acme_ident_key(bool ip, bool wildcard, const char *value, char *out,
    size_t len)
{
	snprintf(out, len, "%s:%s%s", ip ? "ip" : "dns", wildcard ? "*." : "",
	    value);
}
