/*
 * tools/cmd_list.c - `hsmca list`: certificate records, filtered.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tools/cli.h"

static const char usage_line[] =
    "hsmca list [--status issued|revoked] [--expiring-within DAYS] "
    "[--name NAME] [--json] [--state DIR] [--set KEY=VALUE]...";

/* Longest horizon for --expiring-within: a century. */
#define MAX_DAYS 36500

static void
help(void)
{
	printf("usage: %s\n\n"
	    "List stored certificates, one line each: serial, status,\n"
	    "notAfter (ISO 8601 UTC), profile, names.  Needs no token or PIN.\n\n"
	    "  --status S             only issued or only revoked ones\n"
	    "  --expiring-within DAYS only those not yet expired whose notAfter\n"
	    "                         is less than DAYS days away\n"
	    "  --name NAME            only those with this subjectAltName\n"
	    "  --json                 a JSON array of objects as hsmca show --json\n"
	    "  --state DIR            state directory (default $HSMCA_STATE)\n"
	    "  --set KEY=VALUE        override a configuration key\n"
	    "  --help                 this text\n\n%s", usage_line,
	    CLI_EXIT_HELP);
}

struct list_ctx {
	json_t *arr;	/* NULL: text output */
};

static int
list_cb(const struct store_cert *c, void *arg)
{
	struct list_ctx *lc = arg;
	char hex[2 * STORE_SERIAL_MAX + 1], t[32];
	json_t *obj;

	if (lc->arr != NULL) {
		if ((obj = cli_cert_json(c)) == NULL ||
		    json_array_append_new(lc->arr, obj) != 0)
			return HSMCA_ENOMEM;
		return 0;
	}
	ca_serial_hex(c->serial, c->serial_len, hex);
	cli_time_iso(c->not_after, t, sizeof(t));
	printf("%s %s %s %s", hex, cli_cert_status_name(c->status), t,
	    c->profile[0] != '\0' ? c->profile : "-");
	for (size_t i = 0; i < c->nnames; i++)
		printf("%s%s", i == 0 ? " " : ",", c->names[i]);
	putchar('\n');
	return 0;
}

/* `hsmca list`; returns the exit code. */
int
cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_COMMON,
		{ "status", required_argument, NULL, 's' },
		{ "expiring-within", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { 0 };
	struct hsmca_err err = { 0 };
	struct store_cert_filter f = { 0 };
	struct list_ctx lc = { 0 };
	struct store *st = NULL;
	bool json = false;
	long long days = -1;
	char *end;
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
		case 's':
			if (strcmp(optarg, "issued") == 0)
				f.status = STORE_CERT_ISSUED;
			else if (strcmp(optarg, "revoked") == 0)
				f.status = STORE_CERT_REVOKED;
			else
				return cli_usage_error(usage_line,
				    "--status is issued or revoked, not \"%s\"",
				    optarg);
			break;
		case 'e':
			errno = 0;
			days = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    days < 0 || days > MAX_DAYS)
				return cli_usage_error(usage_line,
				    "--expiring-within takes 0..%d days, not "
				    "\"%s\"", MAX_DAYS, optarg);
			break;
		case 'n':
			f.name = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			return cli_usage_error(usage_line, "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error(usage_line, "unexpected argument \"%s\"",
		    argv[optind]);
	if (days >= 0) {
		int64_t now = cli_now();

		f.expires_after = now;
		f.expires_before = now + days * 86400;
	}

	if ((rc = cli_store_open(&o, &st, &err)) != 0)
		goto out;
	if (json && (lc.arr = json_array()) == NULL) {
		rc = hsmca_err_set(&err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	if ((rc = store_cert_list(st, &f, list_cb, &lc, &err)) != 0) {
		hsmca_err_set(&err, rc, "store", "listing failed");
		goto out;
	}
	if (json) {
		if (json_dumpf(lc.arr, stdout, JSON_INDENT(2)) != 0) {
			rc = hsmca_err_set(&err, HSMCA_EIO, "io",
			    "cannot write to stdout");
			goto out;
		}
		putchar('\n');
	}
	if (fflush(stdout) != 0) {
		rc = hsmca_err_set(&err, HSMCA_EIO, "io",
		    "cannot write to stdout");
		goto out;
	}
	rc = 0;
out:
	json_decref(lc.arr);
	store_close(st);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}
