/*
 * tools/cmd_crl.c - `hsmca crl`: build and sign CRLs now, one shard,
 * every shard or the root CRL, and print or write them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/ca_revoke.h"
#include "tools/cli.h"

static const char usage_line[] =
    "hsmca crl [--shard N | --all | --root] [--out DIR] [--state DIR] "
    "[--set KEY=VALUE]...";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Build and sign CRLs now: shard N (signed by the issuing key), every\n"
	    "shard (--all, the default), or the root CRL (--root, signed by the\n"
	    "root key; lists the issuing CA once revoked).  Each new CRL and its\n"
	    "number are durable before \"crl SHARD number N entries E\" goes to\n"
	    "stderr.  Without --out the CRLs are printed as PEM; with --out each\n"
	    "is written atomically as DER to DIR/<N>.crl (DIR/root.crl).\n\n"
	    "  --shard N          one shard, 0 to ca.crl_shards - 1\n"
	    "  --all              every shard\n"
	    "  --root             the root CRL\n"
	    "  --out DIR          write DER files into DIR (created if missing)\n"
	    "  --state DIR        state directory (default $HSMCA_STATE)\n"
	    "  --set KEY=VALUE    override a configuration key\n"
	    "  --help             this text\n\n%s", usage_line, CLI_EXIT_HELP);
}

/* Print one CRL as PEM on stdout. */
static int
print_pem(const unsigned char *der, size_t len, struct hsmca_err *err)
{
	const unsigned char *p = der;
	X509_CRL *crl;
	int ok;

	if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "the new CRL does not decode");
	ok = PEM_write_X509_CRL(stdout, crl) == 1 && fflush(stdout) == 0;
	X509_CRL_free(crl);
	if (!ok)
		return hsmca_err_set(err, HSMCA_EIO, "io",
		    "cannot write to stdout");
	return 0;
}

/* Build one CRL and print or write it. */
static int
one(struct ca *ca, uint32_t shard, const char *out_dir,
    struct hsmca_err *err)
{
	struct ca_crl_info info;
	unsigned char *der = NULL;
	size_t len = 0;
	char path[PATH_MAX], name[16];
	int rc;

	if ((rc = ca_crl_build(ca, shard, &der, &len, &info, err)) != 0)
		goto out;
	if (shard == CA_CRL_ROOT)
		snprintf(name, sizeof(name), "root");
	else
		snprintf(name, sizeof(name), "%u", (unsigned)shard);
	fprintf(stderr, "crl %s number %llu entries %zu\n", name,
	    (unsigned long long)info.number, info.entries);
	if (out_dir == NULL) {
		rc = print_pem(der, len, err);
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/%s.crl", out_dir, name) >=
	    (int)sizeof(path)) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "usage",
		    "--out DIR is too long");
		goto out;
	}
	rc = cli_write_atomic(path, der, len, err);
out:
	free(der);
	return rc;
}

/* `hsmca crl`; returns the exit code. */
int
cmd_crl(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_COMMON,
		{ "shard", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ "root", no_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { 0 };
	struct hsmca_err err = { 0 };
	struct hsmca_config *cfg = NULL;
	struct ca *ca = NULL;
	const char *out_dir = NULL;
	unsigned long shard = 0;
	int64_t now_slot = 0;
	int ch, rc, modes = 0;
	bool root = false, one_shard = false;
	char *end;

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
			errno = 0;
			shard = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    optarg[0] == '-' || shard >= UINT32_MAX)
				return cli_usage_error(usage_line,
				    "bad shard number \"%s\"", optarg);
			one_shard = true;
			modes++;
			break;
		case 'a':
			modes++;
			break;
		case 'r':
			root = true;
			modes++;
			break;
		case 'o':
			out_dir = optarg;
			break;
		default:
			return cli_usage_error(usage_line, "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error(usage_line, "unexpected argument \"%s\"",
		    argv[optind]);
	if (modes > 1)
		return cli_usage_error(usage_line,
		    "--shard, --all and --root exclude each other");
	if (out_dir != NULL && mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
		rc = hsmca_err_set(&err, HSMCA_EIO, "io", "cannot create %s: %s",
		    out_dir, strerror(errno));
		goto out;
	}
	if ((rc = cli_ca_open(&o, &now_slot, &ca, &cfg, &err)) != 0 ||
	    (rc = ca_crl_configure(ca, cfg, &err)) != 0)
		goto out;
	/* No mode given: every shard, as --all. */
	if (root)
		rc = one(ca, CA_CRL_ROOT, out_dir, &err);
	else if (one_shard)
		rc = one(ca, (uint32_t)shard, out_dir, &err);
	else
		for (uint32_t i = 0; i < ca_crl_nshards(ca) && rc == 0; i++)
			rc = one(ca, i, out_dir, &err);
out:
	if (ca != NULL)
		ca_close(ca);
	config_free(cfg);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}
