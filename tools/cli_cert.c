/*
 * tools/cli_cert.c - a certificate record as the CLI shows it in JSON
 * (hsmca show --json, hsmca list --json).
 */
#include <jansson.h>

#include "tools/cli.h"

/* The status word shown by show and list. */
const char *
cli_cert_status_name(int status)
{
	switch (status) {
	case STORE_CERT_ISSUED:
		return "issued";
	case STORE_CERT_REVOKED:
		return "revoked";
	default:
		return "unknown";
	}
}

/* Add key = ISO 8601 time to obj; 0 on success. */
static int
set_time(json_t *obj, const char *key, int64_t t)
{
	char iso[32];

	cli_time_iso(t, iso, sizeof(iso));
	return json_object_set_new(obj, key, json_string(iso));
}

/* A record as the JSON object of show --json; caller decrefs. */
struct json_t *
cli_cert_json(const struct store_cert *c)
{
	char hex[2 * STORE_SERIAL_MAX + 1];
	json_t *obj = NULL, *names = NULL, *rev = NULL, *res = NULL;
	int bad = 0;

	if ((obj = json_object()) == NULL || (names = json_array()) == NULL)
		goto out;
	ca_serial_hex(c->serial, c->serial_len, hex);
	bad |= json_object_set_new(obj, "serial", json_string(hex));
	bad |= json_object_set_new(obj, "status",
	    json_string(cli_cert_status_name(c->status)));
	bad |= set_time(obj, "not_before", c->not_before);
	bad |= set_time(obj, "not_after", c->not_after);
	bad |= set_time(obj, "issued_at", c->issued_at);
	for (size_t i = 0; i < c->nnames; i++)
		bad |= json_array_append_new(names, json_string(c->names[i]));
	bad |= json_object_set(obj, "names", names);
	bad |= json_object_set_new(obj, "profile", json_string(c->profile));
	bad |= json_object_set_new(obj, "crl_shard",
	    json_integer((json_int_t)c->crl_shard));
	if (c->status == STORE_CERT_REVOKED) {
		if ((rev = json_object()) == NULL)
			goto out;
		bad |= set_time(rev, "revoked_at", c->revoked_at);
		bad |= json_object_set_new(rev, "reason",
		    json_integer(c->revoke_reason));
		bad |= json_object_set(obj, "revocation", rev);
	} else
		bad |= json_object_set_new(obj, "revocation", json_null());
	if (bad)
		goto out;
	res = obj;
	obj = NULL;
out:
	json_decref(obj);
	json_decref(names);
	json_decref(rev);
	return res;
}
