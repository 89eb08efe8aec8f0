/*
 * ca/names.c - the identifiers a CSR asks for: its subject CN and its
 * subjectAltName dNSName and iPAddress entries, lower-cased,
 * deduplicated and checked against the name rules and the profile.
 */
#include "ca/ca_int.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>
#include <openssl/err.h>

#define NAME_MAX_LEN 253	/* RFC 1035 2.3.4, without the final dot */
#define LABEL_MAX_LEN 63

static int
reject(struct hsmca_err *err, const char *name, const char *why)
{
	return hsmca_err_set(err, HSMCA_EPOLICY, "rejectedIdentifier",
	    "\"%.80s\": %s", name, why);
}

/* One label (between dots, not the wildcard), lower case already. */
static int
label_check(const char *name, const char *l, size_t n, struct hsmca_err *err)
{
	if (n == 0)
		return reject(err, name, "RFC 1035 2.3.1: empty label");
	if (n > LABEL_MAX_LEN)
		return reject(err, name,
		    "RFC 1035 2.3.4: label longer than 63 characters");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if (c == '_')
			return reject(err, name, "CA/B BR 7.1.2.7.12: "
			    "underscore is not allowed in a dNSName");
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
	/* RFC 5891 4.2.3.1: "??--" is reserved for A-labels ("xn--"). */
	if (n >= 4 && l[2] == '-' && l[3] == '-' &&
	    !(l[0] == 'x' && l[1] == 'n'))
		return reject(err, name, "RFC 5891 4.2.3.1: hyphens in the "
		    "third and fourth positions are reserved for \"xn--\" "
		    "A-labels");
	if (n == 4 && l[0] == 'x' && l[1] == 'n' && l[2] == '-' && l[3] == '-')
		return reject(err, name, "RFC 5890 2.3.2.1: empty A-label");
	return 0;
}

/*
 * A DNS name, lower case already.  Raw UTF-8 is refused: an IDN must
 * arrive as A-labels, the form that goes into a certificate (RFC 5280
 * 7.2).
 */
static int
dns_check(const char *name, const struct ca_profile *profile,
    struct hsmca_err *err)
{
	size_t len = strlen(name), nlabels = 0;
	const char *p = name, *last = name;
	bool wild = false;
	int rc;

	if (len == 0)
		return reject(err, name, "empty name");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x80)
			return reject(err, name, "RFC 5890 2.3.2.1: raw UTF-8; "
			    "send an internationalized name as A-labels "
			    "(\"xn--...\")");
		if (c <= 0x20 || c == 0x7f)
			return reject(err, name, "RFC 1035 2.3.1: control "
			    "character or space in a name");
	}
	if (len > NAME_MAX_LEN)
		return reject(err, name, "RFC 1035 2.3.4: name longer than "
		    "253 characters");
	if (name[len - 1] == '.')
		return reject(err, name, "CA/B BR 7.1.2.7.12: no trailing dot "
		    "(write the name without the root label)");
	if (name[0] == '*' && (name[1] == '.' || name[1] == '\0')) {
		if (name[1] == '\0')
			return reject(err, name, "CA/B BR 3.2.2.6: a wildcard "
			    "alone names nothing");
		if (!profile->wildcard)
			return hsmca_err_set(err, HSMCA_EPOLICY,
			    "rejectedIdentifier", "\"%.80s\": profile \"%s\" "
			    "does not allow wildcard names", name,
			    profile->name);
		wild = true;
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
		    "all-numeric; an IP address goes in an iPAddress entry");
	if (wild && nlabels < 2)
		return reject(err, name, "CA/B BR 3.2.2.6: a wildcard directly "
		    "over a top-level domain is not allowed");
	if (wild && psl_is_public_suffix(psl_builtin(), name + 2))
		return reject(err, name, "CA/B BR 3.2.2.6: a wildcard directly "
		    "over a public suffix is not allowed");
	return 0;
}

/*
 * Add `value` (lower-cased here) when new.  IP addresses go in their
 * inet_ntop form so one address written two ways is one name.
 */
static int
name_add(struct ca_csr *csr, const char *value, bool ip,
    const struct ca_profile *profile, struct hsmca_err *err)
{
	char *v = NULL, **nv;
	int rc;

	if ((v = strdup(value)) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	for (char *q = v; *q != '\0'; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	if (ip && !profile->ip) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "unsupportedIdentifier",
		    "\"%.64s\": profile \"%s\" does not allow IP address "
		    "identifiers", v, profile->name);
		goto out;
	}
	if (!ip && (rc = dns_check(v, profile, err)) != 0)
		goto out;
	for (size_t i = 0; i < csr->nnames; i++) {
		if (strcmp(csr->names[i], v) == 0) {
			rc = 0;
			goto out;
		}
	}
	if (csr->nnames >= (size_t)profile->max_names) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "rejectedIdentifier",
		    "too many names: more than %d (profile \"%s\" max_names)",
		    profile->max_names, profile->name);
		goto out;
	}
	if ((nv = realloc(csr->names, (csr->nnames + 1) * sizeof(*nv))) ==
	    NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	csr->names = nv;
	csr->names[csr->nnames++] = v;
	v = NULL;
	if (!ip)
		csr->ndns++;
	rc = 0;
out:
	free(v);
	return rc;
}

/* The subject CN: at most one; a DNS name or an IP address literal. */
static int
cn_add(struct ca_csr *csr, const struct ca_profile *profile,
    struct hsmca_err *err)
{
	const X509_NAME *subj = csr->subject;
	X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL, addr[16];
	char text[INET6_ADDRSTRLEN];
	int idx, n, rc;

	if ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1)) < 0)
		return 0;
	if (X509_NAME_get_index_by_NID(subj, NID_commonName, idx) >= 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
		    "CA/B BR 7.1.4.3: CSR subject has more than one commonName");
	e = X509_NAME_get_entry(subj, idx);
	if ((n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e))) < 0) {
		ERR_clear_error();
		return hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
		    "CSR commonName is not a readable string");
	}
	if (n == 0 || memchr(utf8, '\0', (size_t)n) != NULL) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "rejectedIdentifier",
		    "CSR commonName is empty or holds a NUL character");
		goto out;
	}
	if (inet_pton(AF_INET, (char *)utf8, addr) == 1)
		rc = name_add(csr, inet_ntop(AF_INET, addr, text,
		    sizeof(text)), true, profile, err);
	else if (inet_pton(AF_INET6, (char *)utf8, addr) == 1)
		rc = name_add(csr, inet_ntop(AF_INET6, addr, text,
		    sizeof(text)), true, profile, err);
	else
		rc = name_add(csr, (char *)utf8, false, profile, err);
out:
	OPENSSL_free(utf8);
	return rc;
}

static const char *
gen_type_name(int type)
{
	switch (type) {
	case GEN_OTHERNAME:	return "otherName";
	case GEN_EMAIL:		return "rfc822Name";
	case GEN_X400:		return "x400Address";
	case GEN_DIRNAME:	return "directoryName";
	case GEN_EDIPARTY:	return "ediPartyName";
	case GEN_URI:		return "uniformResourceIdentifier";
	case GEN_RID:		return "registeredID";
	default:		return "unknown";
	}
}

/* The subjectAltName of the extensionRequest attribute, if any. */
static int
san_add(struct ca_csr *csr, const struct ca_profile *profile,
    struct hsmca_err *err)
{
	const STACK_OF(X509_EXTENSION) *exts = csr->exts;
	GENERAL_NAMES *gens = NULL;
	char text[INET6_ADDRSTRLEN];
	int crit = -1, rc = 0;

	if (exts == NULL)
		return 0;
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		ERR_clear_error();
		if (crit == -1)
			goto out;
		rc = hsmca_err_set(err, HSMCA_EINVAL, "badCSR", crit == -2 ?
		    "RFC 5280 4.2: CSR requests subjectAltName twice" :
		    "RFC 5280 4.2.1.6: CSR subjectAltName is not valid DER");
		goto out;
	}
	for (int i = 0; i < sk_GENERAL_NAME_num(gens) && rc == 0; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;

		switch (g->type) {
		case GEN_DNS:
			s = g->d.dNSName;
			if (s->length == 0 || memchr(s->data, '\0',
			    (size_t)s->length) != NULL) {
				rc = hsmca_err_set(err, HSMCA_EPOLICY,
				    "rejectedIdentifier", "RFC 5280 4.2.1.6: "
				    "empty dNSName or one holding a NUL");
				break;
			}
			{
				char *v = OPENSSL_strndup((const char *)s->data,
				    (size_t)s->length);
				if (v == NULL) {
					rc = hsmca_err_set(err, HSMCA_ENOMEM,
					    "serverInternal", "out of memory");
					break;
				}
				rc = name_add(csr, v, false, profile, err);
				OPENSSL_free(v);
			}
			break;
		case GEN_IPADD:
			s = g->d.iPAddress;
			if (ca_ip_text(s->data, (size_t)s->length, text,
			    sizeof(text)) != 0) {
				rc = hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
				    "RFC 5280 4.2.1.6: iPAddress of %d octets; "
				    "expected 4 or 16", s->length);
				break;
			}
			rc = name_add(csr, text, true, profile, err);
			break;
		default:
			rc = hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
			    "CA/B BR 7.1.2.7.12: subjectAltName %s is not "
			    "allowed; only dNSName and iPAddress",
			    gen_type_name(g->type));
			break;
		}
	}
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

int
ca_csr_names(struct ca_csr *csr, const struct ca_profile *profile,
    struct hsmca_err *err)
{
	int rc;

	if ((rc = cn_add(csr, profile, err)) != 0)
		return rc;
	if ((rc = san_add(csr, profile, err)) != 0)
		return rc;
	if (csr->nnames == 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
		    "RFC 8555 7.4: CSR names no identifier (no commonName, no "
		    "dNSName or iPAddress subjectAltName)");
	return 0;
}
