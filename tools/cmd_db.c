/*
 * tools/cmd_db.c - `hsmca db check`: verify the store's records and
 * indexes agree.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

static const char usage_line[] =
    "hsmca db check [--state DIR] [--set KEY=VALUE]...";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Walk the certificate store: every record must decode and every\n"
	    "index entry must match its record both ways.  Prints one line per\n"
	    "problem, then \"N records, M problems\".  Exits 0 only when clean,\n"
	    "6 when problems were found.  Needs no token or PIN.\n\n"
	    "  --state DIR        state directory (default $HSMCA_STATE)\n"
	    "  --set KEY=VALUE    override a configuration key\n"
	    "  --help             this text\n\n%s", usage_line, CLI_EXIT_HELP);
}

static int
db_check(struct cli_opts *o)
{
	struct hsmca_err err = { 0 };
	struct store *st = NULL;
	size_t problems = 0, records = 0;
	int rc;

	if ((rc = cli_store_open(o, &st, &err)) != 0)
		goto out;
	if ((rc = store_check(st, stdout, &problems, &records, &err)) != 0)
		goto out;
	printf("%zu records, %zu problems\n", records, problems);
	if (problems > 0) {
		rc = hsmca_err_set(&err, HSMCA_EIO, "store",
		    "%zu problems found in the store", problems);
		goto out;
	}
	rc = 0;
out:
	store_close(st);
	fflush(stdout);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}

/* `hsmca db check`; returns the exit code. */
int
cmd_db(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_COMMON,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { 0 };
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((rc = cli_opt_common(&o, ch, optarg)) < 0)
			return -rc;
		if (rc == 1)
			continue;
		if (ch == CLI_OPT_HELP) {
			help();
			return CLI_EXIT_OK;
		}
		return cli_usage_error(usage_line, "bad option");
	}
	if (argc - optind != 1 || strcmp(argv[optind], "check") != 0)
		return cli_usage_error(usage_line, "expected \"check\"");
	return db_check(&o);
}
