/*
 * protocol/validate_addr.c - addresses the validators may not connect
 * to (validation.deny_addresses).  A challenge makes the CA connect to
 * wherever the requester's DNS points; the default list keeps it off
 * link-local addresses (cloud metadata services live at
 * 169.254.169.254), multicast and the unspecified and reserved ranges.
 * Loopback and private ranges stay allowed by default: a private PKI
 * validates hosts on its own networks.
 */
#include "protocol/validate_int.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* Longest list item: an IPv6 address, "/" and a prefix length. */
#define NET_TEXT_MAX 64

static int
bad_item(const char *item, struct hsmca_err *err)
{
	return hsmca_err_set(err, HSMCA_EINVAL, "config",
	    "validation.deny_addresses: \"%.60s\" is not ADDRESS/PREFIX "
	    "(e.g. 169.254.0.0/16, fe80::/10)", item);
}

/* One "address/prefix" item into *net. */
static int
net_parse(const char *item, size_t len, struct val_net *net,
    struct hsmca_err *err)
{
	char text[NET_TEXT_MAX], *slash, *end;
	struct val_addr a;
	unsigned long prefix;

	if (len == 0)
		return bad_item("", err);
	if (len >= sizeof(text))
		return bad_item(item, err);
	memcpy(text, item, len);
	text[len] = '\0';
	if ((slash = strchr(text, '/')) == NULL)
		return bad_item(text, err);
	*slash = '\0';
	prefix = strtoul(slash + 1, &end, 10);
	if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
	    val_ip_parse(text, &a) != 0 ||
	    prefix > (a.family == AF_INET ? 32u : 128u)) {
		*slash = '/';
		return bad_item(text, err);
	}
	net->addr = a;
	net->prefix = (unsigned)prefix;
	return 0;
}

/* See protocol/validate_int.h. */
int
val_deny_parse(const char *list, struct val_net **out, size_t *n,
    struct hsmca_err *err)
{
	struct val_net *nets = NULL;
	const char *p, *e;
	size_t count = 0, max = 1, len;
	int rc;

	*out = NULL;
	*n = 0;
	/* A blank value denies nothing. */
	if (list[strspn(list, " \t")] == '\0')
		return 0;
	for (p = list; *p != '\0'; p++)
		max += *p == ',';
	if ((nets = calloc(max, sizeof(*nets))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	for (p = list;; p = e + 1) {
		p += strspn(p, " \t");
		e = p + strcspn(p, ",");
		len = (size_t)(e - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if ((rc = net_parse(p, len, &nets[count], err)) != 0) {
			free(nets);
			return rc;
		}
		count++;
		if (*e == '\0')
			break;
	}
	*out = nets;
	*n = count;
	return 0;
}

/* Whether `a` lies in `net`. */
static bool
net_has(const struct val_net *net, const struct val_addr *a)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;

	if (a->family != net->addr.family)
		return false;
	if (memcmp(a->bytes, net->addr.bytes, full) != 0)
		return false;
	return rest == 0 || ((a->bytes[full] ^ net->addr.bytes[full]) &
	    (0xff00u >> rest) & 0xff) == 0;
}

/* See protocol/validate_int.h. */
bool
val_addr_denied(const struct validator *v, const struct val_addr *a)
{
	for (size_t i = 0; i < v->ndeny; i++)
		if (net_has(&v->deny[i], a))
			return true;
	return false;
}

/* See protocol/validate_int.h. */
int
val_addrs_allowed(const struct validator *v, const char *name,
    struct val_addr *addrs, size_t *n, struct hsmca_err *err)
{
	char shown[48] = "";
	size_t i, kept = 0;

	for (i = 0; i < *n; i++) {
		if (val_addr_denied(v, &addrs[i])) {
			if (shown[0] == '\0')
				val_addr_str(&addrs[i], shown, sizeof(shown));
			continue;
		}
		addrs[kept++] = addrs[i];
	}
	*n = kept;
	if (kept > 0)
		return 0;
	return hsmca_err_set(err, HSMCA_EPOLICY, "connection",
	    "%s: %s is in validation.deny_addresses; the validator does not "
	    "connect there", name, shown);
}
