/*
 * tools/cmd_ocsp.c - `hsmca ocsp init-signer | renew-signer | refresh`:
 * create the delegated OCSP signer of a CA made without one, certify
 * its key anew, and sign the pre-signed OCSP responses that are missing
 * or due now.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_ocsp.h"
#include "tools/cli.h"

static const char usage_line[] =
    "hsmca ocsp init-signer | renew-signer | refresh [--budget N] "
    "[--state DIR] "
    "[--set KEY=VALUE]...";

#define DEFAULT_BUDGET 100000

static void
help(void)
{
	printf("usage: %s\n\n"
	    "init-signer  create the delegated OCSP signer of a CA that has\n"
	    "             none: a key pair in the token (ocsp.signer_key) and\n"
	    "             its certificate from the issuing CA, written to\n"
	    "             ocsp.signer_cert.  Refused (exit 7) when it exists.\n"
	    "renew-signer a new certificate for the signer key, valid from now\n"
	    "             for a year (or until the issuing CA ends); renew it\n"
	    "             well before ocsp.pem expires: it caps nextUpdate.\n"
	    "refresh      sign the OCSP responses of unexpired certificates\n"
	    "             that have none, whose status changed, or that are\n"
	    "             past half their validity; prints \"signed N\".\n\n"
	    "  --budget N         at most N signatures (default %d)\n"
	    "  --state DIR        state directory (default $HSMCA_STATE)\n"
	    "  --set KEY=VALUE    override a configuration key\n"
	    "  --help             this text\n\n%s", usage_line, DEFAULT_BUDGET,
	    CLI_EXIT_HELP);
}

enum action { ACT_INIT, ACT_RENEW, ACT_REFRESH };

static int
run(struct cli_opts *o, enum action act, size_t budget)
{
	struct hsmca_err err = { 0 };
	struct hsmca_config *cfg = NULL;
	struct ca *ca = NULL;
	int64_t now_slot = 0;
	size_t n = 0;
	int rc;

	if ((rc = cli_ca_open(o, &now_slot, &ca, &cfg, &err)) != 0)
		goto out;
	if (act == ACT_INIT) {
		if ((rc = ca_ocsp_init_signer(ca, cfg, &err)) != 0)
			goto out;
		printf("OCSP signer created\n");
	} else if (act == ACT_RENEW) {
		if ((rc = ca_ocsp_renew_signer(ca, cfg, &err)) != 0)
			goto out;
		printf("OCSP signer certificate renewed\n");
	} else {
		if ((rc = ca_ocsp_tick(ca, ca_now(ca), budget, &n, &err)) != 0)
			goto out;
		printf("signed %zu\n", n);
	}
	rc = 0;
out:
	ca_close(ca);
	config_free(cfg);
	fflush(stdout);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}

/* `hsmca ocsp`; returns the exit code. */
int
cmd_ocsp(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_COMMON,
		{ "budget", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { 0 };
	long long budget = DEFAULT_BUDGET;
	enum action act;
	char *end;
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
		if (ch == 'b') {
			errno = 0;
			budget = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    budget < 1 || budget > 100000000)
				return cli_usage_error(usage_line,
				    "bad number \"%s\"", optarg);
			continue;
		}
		return cli_usage_error(usage_line, "bad option");
	}
	if (argc - optind != 1)
		return cli_usage_error(usage_line,
		    "expected \"init-signer\", \"renew-signer\" or "
		    "\"refresh\"");
	if (strcmp(argv[optind], "init-signer") == 0)
		act = ACT_INIT;
	else if (strcmp(argv[optind], "renew-signer") == 0)
		act = ACT_RENEW;
	else if (strcmp(argv[optind], "refresh") == 0)
		act = ACT_REFRESH;
	else
		return cli_usage_error(usage_line, "unknown action \"%s\"",
		    argv[optind]);
	return run(&o, act, (size_t)budget);
}
