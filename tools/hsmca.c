/*
 * tools/hsmca.c - the operator CLI: dispatch to one subcommand.
 *
 * Each subcommand lives in its own tools/cmd_*.c and parses its own
 * options; this file only picks it.
 */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

struct subcmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcmd subcmds[] = {
	{ "init", cmd_init, "create a CA: token, keys, certificates, store" },
	{ "issue", cmd_issue, "issue a certificate from a CSR" },
	{ "show", cmd_show, "show one certificate record" },
	{ "list", cmd_list, "list certificate records" },
	{ "export", cmd_export, "print one certificate (PEM or DER)" },
	{ "revoke", cmd_revoke, "revoke one certificate (irreversible)" },
	{ "revoke-intermediate", cmd_revoke_intermediate,
	  "revoke the issuing CA (irreversible)" },
	{ "crl", cmd_crl, "build and sign CRLs now (shards or root)" },
	{ "db", cmd_db, "store maintenance: db check" },
	{ "ocsp", cmd_ocsp, "OCSP signer and pre-signed responses" },
	{ "bench", cmd_bench, "benchmarks: issue, crl, acme, ocsp" },
};

#define NSUBCMDS (sizeof(subcmds) / sizeof(subcmds[0]))

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: hsmca COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < NSUBCMDS; i++)
		fprintf(fp, "  %-8s %s\n", subcmds[i].name, subcmds[i].summary);
	fprintf(fp, "\nEvery command takes --help, --state DIR (or HSMCA_STATE)"
	    " and --set KEY=VALUE.\nHSMCA_NOW (Unix seconds) fixes the clock;"
	    " it is a testing aid.\n\n%s", CLI_EXIT_HELP);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < NSUBCMDS; i++)
		if (strcmp(argv[1], subcmds[i].name) == 0)
			return subcmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "hsmca: usage: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
