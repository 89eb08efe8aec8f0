/*
 * tools/cmd_show.c - `hsmca show SERIAL`: one certificate record.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "tools/cli.h"

static const char usage_line[] =
    "hsmca show SERIAL [--json] [--state DIR] [--set KEY=VALUE]...";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Show the stored record of the certificate with serial SERIAL\n"
	    "(hex, colons allowed): status, validity (ISO 8601 UTC), names,\n"
	    "profile, CRL shard and revocation.  Needs no token or PIN.\n\n"
	    "  --json             one JSON object instead of text\n"
	    "  --state DIR        state directory (default $HSMCA_STATE)\n"
	    "  --set KEY=VALUE    override a configuration key\n"
	    "  --help             this text\n\n%s", usage_line, CLI_EXIT_HELP);
}

static void
print_text(const struct store_cert *c)
{
	char hex[2 * STORE_SERIAL_MAX + 1], t[32];

	ca_serial_hex(c->serial, c->serial_len, hex);
	printf("serial:      %s\n", hex);
	printf("status:      %s\n", cli_cert_status_name(c->status));
	cli_time_iso(c->not_before, t, sizeof(t));
	printf("not before:  %s\n", t);
	cli_time_iso(c->not_after, t, sizeof(t));
	printf("not after:   %s\n", t);
	cli_time_iso(c->issued_at, t, sizeof(t));
	printf("issued at:   %s\n", t);
	printf("names:      ");
	for (size_t i = 0; i < c->nnames; i++)
		printf(" %s", c->names[i]);
	printf("\nprofile:     %s\n", c->profile);
	printf("crl shard:   %u\n", (unsigned)c->crl_shard);
	if (c->status == STORE_CERT_REVOKED) {
		cli_time_iso(c->revoked_at, t, sizeof(t));
		printf("revoked at:  %s\nreason:      %d\n", t,
		    c->revoke_reason);
	} else
		printf("revocation:  none\n");
}

/* `hsmca show`; returns the exit code. */
int
cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_COMMON,
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { 0 };
	struct hsmca_err err = { 0 };
	struct store *st = NULL;
	struct store_cert *cert = NULL;
	unsigned char serial[STORE_SERIAL_MAX];
	size_t serial_len;
	json_t *obj = NULL;
	bool json = false;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((rc = cli_opt_common(&o, ch, optarg)) < 0)
			return -rc;
		if (rc == 1)
			continue;
		switch (ch) {
		case CLI_OPT_HELP:
			help();
			return CLI_EXIT_OK;
		case 'j':
			json = true;
			break;
		default:
			return cli_usage_error(usage_line, "bad option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(usage_line, "expected one SERIAL");

	if ((rc = ca_serial_parse(argv[optind], serial, &serial_len,
	    &err)) != 0)
		goto out;
	if ((rc = cli_store_open(&o, &st, &err)) != 0)
		goto out;
	if ((rc = store_cert_get(st, serial, serial_len, &cert, &err)) != 0) {
		/* Absence is the operator's answer, not a store failure. */
		if (rc == HSMCA_ENOTFOUND) {
			hsmca_err_clear(&err);
			hsmca_err_set(&err, rc, "notFound", "no certificate "
			    "with serial %s", argv[optind]);
		}
		goto out;
	}
	if (json) {
		if ((obj = cli_cert_json(cert)) == NULL ||
		    json_dumpf(obj, stdout, JSON_INDENT(2)) != 0) {
			rc = hsmca_err_set(&err, HSMCA_ENOMEM,
			    "serverInternal", "cannot encode JSON");
			goto out;
		}
		putchar('\n');
	} else
		print_text(cert);
	rc = 0;
out:
	json_decref(obj);
	store_cert_free(cert);
	store_close(st);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}
