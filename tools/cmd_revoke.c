/*
 * tools/cmd_revoke.c - `hsmca revoke SERIAL --reason R` (one subscriber
 * certificate) and `hsmca revoke-intermediate --reason R` (the issuing
 * CA): operator revocations through the one revocation core.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_revoke.h"
#include "tools/cli.h"

static const char revoke_usage[] =
    "hsmca revoke SERIAL --reason R [--state DIR] [--set KEY=VALUE]...";
static const char inter_usage[] =
    "hsmca revoke-intermediate --reason R [--state DIR] [--set KEY=VALUE]...";

static void
revoke_help(void)
{
	printf("usage: %s\n\n"
	    "Revoke the certificate with serial SERIAL (hex, colons allowed).\n"
	    "Irreversible.  R is an RFC 5280 reason name or code: unspecified\n"
	    "(0), keyCompromise (1), affiliationChanged (3), superseded (4),\n"
	    "cessationOfOperation (5), privilegeWithdrawn (9); any other is\n"
	    "refused (badRevocationReason).  The record, its CRL shard entry\n"
	    "and an audit entry are durable before \"revoked serial HEX\" is\n"
	    "printed; the shard's next CRL lists it.  A second revocation\n"
	    "exits 3 (alreadyRevoked), an unknown serial 4.\n\n"
	    "  --reason R         revocation reason (required)\n"
	    "  --state DIR        state directory (default $HSMCA_STATE)\n"
	    "  --set KEY=VALUE    override a configuration key\n"
	    "  --help             this text\n\n%s", revoke_usage, CLI_EXIT_HELP);
}

static void
inter_help(void)
{
	printf("usage: %s\n\n"
	    "Revoke the issuing (intermediate) CA certificate.  Irreversible:\n"
	    "afterwards the CA issues nothing more, and the root CRL (hsmca crl\n"
	    "--root) lists the issuing certificate.  R: unspecified,\n"
	    "keyCompromise, cACompromise, affiliationChanged, superseded,\n"
	    "cessationOfOperation or privilegeWithdrawn (name or code).\n"
	    "A second revocation exits 3 (alreadyRevoked).\n\n"
	    "  --reason R         revocation reason (required)\n"
	    "  --state DIR        state directory (default $HSMCA_STATE)\n"
	    "  --set KEY=VALUE    override a configuration key\n"
	    "  --help             this text\n\n%s", inter_usage, CLI_EXIT_HELP);
}

/* Parse the options of both commands; *reason_s gets --reason. */
static int
parse(int argc, char **argv, struct cli_opts *o, const char **reason_s,
    const char *usage, void (*help)(void))
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_COMMON,
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((rc = cli_opt_common(o, ch, optarg)) < 0)
			return -rc;
		if (rc == 1)
			continue;
		switch (ch) {
		case CLI_OPT_HELP:
			help();
			return -1;
		case 'r':
			*reason_s = optarg;
			break;
		default:
			return cli_usage_error(usage, "bad option");
		}
	}
	if (*reason_s == NULL)
		return cli_usage_error(usage, "--reason R is required");
	return 0;
}

/* The reason code, or a badRevocationReason error. */
static int
reason_of(const char *s, int *reason, struct hsmca_err *err)
{
	if ((*reason = ca_reason_parse(s)) < 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "badRevocationReason",
		    "RFC 5280 5.3.1: \"%.40s\" is not a CRLReason name or code",
		    s);
	return 0;
}

/* `hsmca revoke`; returns the exit code. */
int
cmd_revoke(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	struct hsmca_err err = { 0 };
	struct hsmca_config *cfg = NULL;
	struct ca *ca = NULL;
	struct ca_revoke_req req = { 0 };
	const char *reason_s = NULL;
	unsigned char serial[STORE_SERIAL_MAX];
	char hex[2 * STORE_SERIAL_MAX + 1], t[32];
	int64_t now_slot = 0, at = 0;
	int rc;

	if ((rc = parse(argc, argv, &o, &reason_s, revoke_usage,
	    revoke_help)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (argc - optind != 1)
		return cli_usage_error(revoke_usage, "expected one SERIAL");
	/* Bad input fails before the token is opened. */
	if ((rc = ca_serial_parse(argv[optind], serial, &req.serial_len,
	    &err)) != 0 ||
	    (rc = reason_of(reason_s, &req.reason, &err)) != 0)
		goto out;
	if ((rc = cli_ca_open(&o, &now_slot, &ca, &cfg, &err)) != 0)
		goto out;
	req.serial = serial;
	req.actor = CA_ACTOR_OPERATOR;
	req.who = "cli";
	if ((rc = ca_revoke(ca, &req, &at, &err)) != 0)
		goto out;
	ca_serial_hex(serial, req.serial_len, hex);
	cli_time_iso(at, t, sizeof(t));
	printf("revoked serial %s at %s reason %s\n", hex, t,
	    ca_reason_name(req.reason));
	rc = 0;
out:
	if (ca != NULL)
		ca_close(ca);
	config_free(cfg);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}

/* `hsmca revoke-intermediate`; returns the exit code. */
int
cmd_revoke_intermediate(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	struct hsmca_err err = { 0 };
	struct hsmca_config *cfg = NULL;
	struct ca *ca = NULL;
	const char *reason_s = NULL;
	char t[32];
	int64_t now_slot = 0, at = 0;
	int reason = 0, rc;

	if ((rc = parse(argc, argv, &o, &reason_s, inter_usage,
	    inter_help)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (argc != optind)
		return cli_usage_error(inter_usage, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((rc = reason_of(reason_s, &reason, &err)) != 0)
		goto out;
	if ((rc = cli_ca_open(&o, &now_slot, &ca, &cfg, &err)) != 0)
		goto out;
	if ((rc = ca_revoke_issuing(ca, reason, "cli", &at, &err)) != 0)
		goto out;
	cli_time_iso(at, t, sizeof(t));
	printf("revoked the issuing CA at %s reason %s\n", t,
	    ca_reason_name(reason));
	rc = 0;
out:
	if (ca != NULL)
		ca_close(ca);
	config_free(cfg);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}
