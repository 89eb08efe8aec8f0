/*
 * tools/cmd_export.c - `hsmca export SERIAL`: print one certificate.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tools/cli.h"

static const char usage_line[] =
    "hsmca export SERIAL [--der] [--state DIR] [--set KEY=VALUE]...";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Print the certificate with serial SERIAL (hex) as PEM, or as DER\n"
	    "with --der.  Needs no token or PIN.\n\n"
	    "  --der              raw DER on stdout\n"
	    "  --state DIR        state directory (default $HSMCA_STATE)\n"
	    "  --set KEY=VALUE    override a configuration key\n"
	    "  --help             this text\n\n%s", usage_line, CLI_EXIT_HELP);
}

/* `hsmca export`; returns the exit code. */
int
cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_COMMON,
		{ "der", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { 0 };
	struct hsmca_err err = { 0 };
	struct store *st = NULL;
	struct store_cert *cert = NULL;
	unsigned char serial[STORE_SERIAL_MAX];
	const unsigned char *p;
	size_t serial_len;
	X509 *x = NULL;
	bool der = false;
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
		case 'd':
			der = true;
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
	if (der) {
		if (fwrite(cert->der, 1, cert->der_len, stdout) !=
		    cert->der_len || fflush(stdout) != 0) {
			rc = hsmca_err_set(&err, HSMCA_EIO, "io",
			    "cannot write to stdout");
			goto out;
		}
	} else {
		/* Decoding also checks that the stored bytes are a certificate. */
		p = cert->der;
		if ((x = d2i_X509(NULL, &p, (long)cert->der_len)) == NULL ||
		    p != cert->der + cert->der_len) {
			rc = hsmca_err_set(&err, HSMCA_EIO, "store",
			    "stored certificate %s does not decode",
			    argv[optind]);
			goto out;
		}
		if (PEM_write_X509(stdout, x) != 1 || fflush(stdout) != 0) {
			rc = hsmca_err_set(&err, HSMCA_EIO, "io",
			    "cannot write to stdout");
			goto out;
		}
	}
	rc = 0;
out:
	X509_free(x);
	store_cert_free(cert);
	store_close(st);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}
