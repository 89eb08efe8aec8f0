/*
 * tools/cmd_issue.c - `hsmca issue`: issue one certificate from a CSR.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

static const char usage_line[] =
    "hsmca issue --csr FILE [--profile NAME] [--out FILE] [--state DIR] "
    "[--set KEY=VALUE]...";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Issue a certificate for the CSR in FILE (PEM or DER; \"-\" reads\n"
	    "stdin).  The chain (leaf, then issuing CA) is printed as PEM, or\n"
	    "written atomically to --out FILE.  \"issued serial HEX\" goes to\n"
	    "stderr once the record is durable.\n\n"
	    "  --csr FILE         the certificate signing request\n"
	    "  --profile NAME     issuance profile (default ca.default_profile)\n"
	    "  --out FILE         write the PEM chain here instead of stdout\n"
	    "  --state DIR        state directory (default $HSMCA_STATE)\n"
	    "  --set KEY=VALUE    override a configuration key\n"
	    "  --help             this text\n\n%s", usage_line, CLI_EXIT_HELP);
}

/* `hsmca issue`; returns the exit code. */
int
cmd_issue(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_COMMON,
		{ "csr", required_argument, NULL, 'c' },
		{ "profile", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { 0 };
	struct hsmca_err err = { 0 };
	struct hsmca_config *cfg = NULL;
	struct ca *ca = NULL;
	struct ca_issued *issued = NULL;
	struct ca_issue_req req = { 0 };
	const char *csr_path = NULL, *out_path = NULL;
	unsigned char *raw = NULL, *der = NULL;
	size_t raw_len, der_len;
	char hex[2 * STORE_SERIAL_MAX + 1];
	int64_t now_slot = 0;
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
		case 'c':
			csr_path = optarg;
			break;
		case 'p':
			req.profile = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		default:
			return cli_usage_error(usage_line, "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error(usage_line, "unexpected argument \"%s\"",
		    argv[optind]);
	if (csr_path == NULL)
		return cli_usage_error(usage_line, "--csr FILE is required");

	/* Decode the CSR before touching the token: bad input fails fast. */
	if ((rc = cli_read_file(csr_path, 0, &raw, &raw_len, &err)) != 0)
		goto out;
	if ((rc = ca_csr_read(raw, raw_len, &der, &der_len, &err)) != 0)
		goto out;
	if ((rc = cli_ca_open(&o, &now_slot, &ca, &cfg, &err)) != 0)
		goto out;
	req.csr_der = der;
	req.csr_len = der_len;
	if ((rc = ca_issue(ca, &req, &issued, &err)) != 0)
		goto out;
	ca_serial_hex(issued->serial, issued->serial_len, hex);
	if (out_path != NULL) {
		if ((rc = cli_write_atomic(out_path, issued->chain_pem,
		    strlen(issued->chain_pem), &err)) != 0) {
			/* The certificate exists; say which one it was. */
			fprintf(stderr, "issued serial %s (not written)\n", hex);
			goto out;
		}
	} else if (fputs(issued->chain_pem, stdout) == EOF ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "issued serial %s (not printed)\n", hex);
		rc = hsmca_err_set(&err, HSMCA_EIO, "io",
		    "cannot write to stdout");
		goto out;
	}
	fprintf(stderr, "issued serial %s\n", hex);
	rc = 0;
out:
	if (issued != NULL)
		ca_issued_free(issued);
	if (ca != NULL)
		ca_close(ca);
	config_free(cfg);
	free(raw);
	free(der);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}
