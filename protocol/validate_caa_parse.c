/*
 * protocol/validate_caa_parse.c - CAA records as they come off the wire
 * (RFC 8659 4.1), the issue / issuewild value grammar (RFC 8659 4.2)
 * with the accounturi and validationmethods parameters (RFC 8657), and
 * the decision over one RRset.
 *
 * Everything here reads bytes chosen by whoever runs the DNS zone: every
 * read is bounded by the RDATA length, nothing is copied unbounded, and
 * anything that does not parse authorizes nobody.  tests/fuzz/fuzz_caa.c
 * drives these functions.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "protocol/validate_int.h"

/* See protocol/validate_int.h. */
void
val_sanitize(const unsigned char *in, size_t len, size_t max, char *buf,
    size_t buflen)
{
	size_t i, o = 0;

	if (buflen == 0)
		return;
	for (i = 0; i < len && i < max && o + 1 < buflen; i++)
		buf[o++] = (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"' &&
		    in[i] != '\\') ? (char)in[i] : '?';
	if (i < len && o + 4 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

/* See protocol/validate_int.h. */
int
val_caa_rdata_parse(const unsigned char *rd, size_t len,
    struct val_caa_rr *out, struct hsmca_err *err)
{
	size_t tl, i;

	memset(out, 0, sizeof(*out));
	if (len < 2)
		return hsmca_err_set(err, HSMCA_EINVAL, "caa",
		    "RFC 8659 4.1: CAA RDATA of %zu byte(s) is truncated", len);
	tl = rd[1];
	if (tl < 1 || tl > VAL_CAA_MAX_TAG)
		return hsmca_err_set(err, HSMCA_EINVAL, "caa",
		    "RFC 8659 4.1: CAA tag length %zu is not 1 to %d", tl,
		    VAL_CAA_MAX_TAG);
	if (tl > len - 2)
		return hsmca_err_set(err, HSMCA_EINVAL, "caa",
		    "RFC 8659 4.1: CAA tag length %zu exceeds the RDATA", tl);
	for (i = 0; i < tl; i++) {
		if (!isalnum(rd[2 + i]) || rd[2 + i] > 0x7f)
			return hsmca_err_set(err, HSMCA_EINVAL, "caa",
			    "RFC 8659 4.1: CAA tag holds a character other "
			    "than a letter or digit");
		out->tag[i] = (char)rd[2 + i];
	}
	out->tag[tl] = '\0';
	out->flags = rd[0];
	out->value = rd + 2 + tl;
	out->value_len = len - 2 - tl;
	return 0;
}

/* A cursor over one value. */
struct cur {
	const unsigned char *p;
	const unsigned char *end;
};

static void
skip_wsp(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/*
 * label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)) - the grammar of
 * issuer-domain-name labels, parameter tags and method names.  Moves the
 * cursor past it; returns its length (0: none there).
 */
static size_t
take_label(struct cur *c)
{
	const unsigned char *s = c->p, *q = c->p, *last = NULL;

	while (q < c->end && (isalnum(*q) || *q == '-') && *q < 0x80) {
		if (*q != '-')
			last = q;
		else if (q == s)
			return 0;
		q++;
	}
	if (last == NULL)
		return 0;
	/* A label ends on a letter or digit: give back trailing hyphens. */
	c->p = last + 1;
	return (size_t)(c->p - s);
}

/* issuer-domain-name = label *("." label); 0-length when absent. */
static size_t
take_domain(struct cur *c, bool *bad)
{
	const unsigned char *s = c->p;

	*bad = false;
	if (take_label(c) == 0)
		return 0;
	while (c->p < c->end && *c->p == '.') {
		c->p++;
		if (take_label(c) == 0) {
			*bad = true;
			return 0;
		}
	}
	return (size_t)(c->p - s);
}

/* Is `m` in the comma-separated list of method labels [v, v+len)? */
static bool
methods_include(const unsigned char *v, size_t len, const char *m,
    bool *bad)
{
	struct cur c = { v, v + len };
	const unsigned char *s;
	size_t l;
	bool found = false;

	*bad = false;
	for (;;) {
		s = c.p;
		/* Method names use "-" and digits ("http-01"), as labels. */
		if ((l = take_label(&c)) == 0) {
			*bad = true;
			return false;
		}
		if (strlen(m) == l && strncasecmp((const char *)s, m, l) == 0)
			found = true;
		if (c.p == c.end)
			return found;
		if (*c.p != ',') {
			*bad = true;
			return false;
		}
		c.p++;
	}
}

/* See protocol/validate_int.h. */
bool
val_caa_value_allows(const unsigned char *value, size_t len,
    const struct val_caa_want *want, char *why, size_t whylen)
{
	struct cur c = { value, value + len };
	const unsigned char *dom, *ptag, *pval;
	size_t dlen, tlen, vlen, i;
	bool bad, have_acct = false, have_meth = false, acct_ok = false;
	bool meth_ok = false, id_ok = false;
	char dummy[1];

	if (why == NULL) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	why[0] = '\0';
	skip_wsp(&c);
	dom = c.p;
	dlen = take_domain(&c, &bad);
	if (bad)
		goto malformed;
	skip_wsp(&c);
	if (c.p < c.end) {
		if (*c.p != ';')
			goto malformed;
		c.p++;
		skip_wsp(&c);
	}
	/* parameters: tag *WSP "=" *WSP value, separated by ";". */
	while (c.p < c.end) {
		ptag = c.p;
		if ((tlen = take_label(&c)) == 0)
			goto malformed;
		skip_wsp(&c);
		if (c.p == c.end || *c.p != '=')
			goto malformed;
		c.p++;
		skip_wsp(&c);
		pval = c.p;
		while (c.p < c.end && *c.p >= 0x21 && *c.p <= 0x7e &&
		    *c.p != ';')
			c.p++;
		vlen = (size_t)(c.p - pval);
		skip_wsp(&c);
		if (c.p < c.end) {
			if (*c.p != ';')
				goto malformed;
			c.p++;
			skip_wsp(&c);
		}
		/* Parameter tags compared without case: reading a
		 * restriction too widely only refuses more. */
		if (tlen == 10 && strncasecmp((const char *)ptag,
		    "accounturi", 10) == 0) {
			/* RFC 8657 3: more than one is unsatisfiable. */
			if (have_acct) {
				snprintf(why, whylen, "accounturi repeated");
				return false;
			}
			have_acct = true;
			acct_ok = want->account_uri != NULL &&
			    strlen(want->account_uri) == vlen &&
			    memcmp(want->account_uri, pval, vlen) == 0;
		} else if (tlen == 17 && strncasecmp((const char *)ptag,
		    "validationmethods", 17) == 0) {
			if (have_meth) {
				snprintf(why, whylen,
				    "validationmethods repeated");
				return false;
			}
			have_meth = true;
			meth_ok = want->method != NULL &&
			    methods_include(pval, vlen, want->method, &bad);
			if (bad)
				goto malformed;
		}
		/* Other parameters do not concern us (RFC 8659 4.2). */
	}
	if (dlen == 0) {
		snprintf(why, whylen, "no issuer is authorized");
		return false;
	}
	for (i = 0; i < want->nids; i++)
		if (strlen(want->ids[i]) == dlen &&
		    strncasecmp(want->ids[i], (const char *)dom, dlen) == 0)
			id_ok = true;
	if (!id_ok) {
		snprintf(why, whylen, "issuer is not this CA");
		return false;
	}
	if (have_acct && !acct_ok) {
		snprintf(why, whylen, "RFC 8657 3: accounturi does not match "
		    "the requesting account");
		return false;
	}
	if (have_meth && !meth_ok) {
		snprintf(why, whylen, "RFC 8657 4: validationmethods does "
		    "not include %s", want->method != NULL ? want->method :
		    "the method used");
		return false;
	}
	return true;
malformed:
	snprintf(why, whylen, "RFC 8659 4.2: malformed value");
	return false;
}

/* Tags this CA understands; a critical one outside the list blocks. */
static bool
tag_known(const char *t)
{
	static const char *const known[] = {
		"issue", "issuewild", "iodef", "contactemail",
		"contactphone", "issuemail", "issuevmc",
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcasecmp(t, known[i]) == 0)
			return true;
	return false;
}

/* See protocol/validate_int.h. */
int
val_caa_decide(const unsigned char *const *rdata, const size_t *rdlen,
    size_t n, bool wildcard, const struct val_caa_want *want,
    const char *owner, struct hsmca_err *err)
{
	struct val_caa_rr rr;
	struct hsmca_err pe;
	char val[64], why[96] = "", firstval[64] = "";
	const char *tag;
	size_t i, nrel = 0;
	bool have_wild = false;

	for (i = 0; i < n; i++) {
		hsmca_err_clear(&pe);
		if (val_caa_rdata_parse(rdata[i], rdlen[i], &rr, &pe) != 0)
			return hsmca_err_set(err, HSMCA_EPOLICY, "caa",
			    "CAA record at %s is malformed (%s): issuance "
			    "refused", owner, pe.detail);
		if ((rr.flags & VAL_CAA_CRITICAL) && !tag_known(rr.tag))
			return hsmca_err_set(err, HSMCA_EPOLICY, "caa",
			    "RFC 8659 4.1: CAA record at %s has the unknown "
			    "critical tag \"%s\": issuance refused", owner,
			    rr.tag);
		if (strcasecmp(rr.tag, "issuewild") == 0)
			have_wild = true;
	}
	/* RFC 8659 4.3: issuewild governs wildcards when present. */
	tag = wildcard && have_wild ? "issuewild" : "issue";
	for (i = 0; i < n; i++) {
		(void)val_caa_rdata_parse(rdata[i], rdlen[i], &rr, NULL);
		if (strcasecmp(rr.tag, tag) != 0)
			continue;
		if (val_caa_value_allows(rr.value, rr.value_len, want,
		    nrel == 0 ? why : NULL, sizeof(why)))
			return 0;
		if (nrel++ == 0)
			val_sanitize(rr.value, rr.value_len, 48, firstval,
			    sizeof(firstval));
	}
	if (nrel == 0)
		return 0;
	val_sanitize((const unsigned char *)firstval, strlen(firstval), 48,
	    val, sizeof(val));
	return hsmca_err_set(err, HSMCA_EPOLICY, "caa",
	    "CAA record for %s prevents issuance: %s \"%s\"%s (%s)", owner,
	    tag, val, nrel > 1 ? " and others" : "", why);
}
