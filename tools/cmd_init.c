/*
 * tools/cmd_init.c - `hsmca init`: the CA ceremony from the command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

static const char usage_line[] =
    "hsmca init --state DIR [--key-type TYPE] [--module PATH "
    "[--token-uri URI]] [--set KEY=VALUE]...";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Create a CA in DIR: PKCS#11 token keys (root and issuing), the\n"
	    "self-signed root and the issuing certificate, the documented\n"
	    "DIR/hsmca.conf and the certificate store.  Refuses (exit 7) when\n"
	    "DIR already holds a CA; nothing is overwritten.\n\n"
	    "  --state DIR        state directory (default $HSMCA_STATE)\n"
	    "  --key-type TYPE    ec-p256 (default), ec-p384, rsa-2048,\n"
	    "                     rsa-3072, rsa-4096\n"
	    "  --module PATH      use an existing token in this PKCS#11 module\n"
	    "                     instead of creating a SoftHSM2 token in DIR;\n"
	    "                     its PIN comes from HSMCA_PIN or\n"
	    "                     --set hsm.pin_file=FILE\n"
	    "  --token-uri URI    PKCS#11 URI of that token\n"
	    "  --set KEY=VALUE    override a configuration key\n"
	    "  --help             this text\n\n%s", usage_line, CLI_EXIT_HELP);
}

/* Tell the operator where the CA's files are. */
static void
print_paths(const struct hsmca_config *cfg, const char *state, bool token)
{
	static const struct {
		const char *key, *what;
	} rows[] = {
		{ "ca.root_cert", "root certificate" },
		{ "ca.issuing_cert", "issuing certificate" },
		{ "store.path", "certificate store" },
		{ "hsm.softhsm_conf", "SoftHSM2 config" },
		{ "hsm.pin_file", "token PIN file" },
	};
	char path[PATH_MAX];

	printf("CA created in %s\n", state);
	printf("  %-20s %s/hsmca.conf\n", "configuration", state);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (!token && (strcmp(rows[i].key, "hsm.pin_file") == 0 ||
		    strcmp(rows[i].key, "hsm.softhsm_conf") == 0))
			continue;
		if (config_get_path(cfg, rows[i].key, state, path,
		    sizeof(path)) == 0)
			printf("  %-20s %s\n", rows[i].what, path);
	}
}

/* Whether `key` was given with --set. */
static bool
was_set(const struct cli_opts *o, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; i < o->nsets; i++)
		if (strncmp(o->sets[i], key, n) == 0 && o->sets[i][n] == '=')
			return true;
	return false;
}

/*
 * With an existing token the default key URIs (token=hsmca) would name
 * another token; name the keys by object only, within the token that
 * hsm.token_uri selects, unless the operator chose the URIs.
 */
static int
key_uris_for_token(struct hsmca_config *cfg, const struct cli_opts *o,
    struct hsmca_err *err)
{
	static const char *const keys[][2] = {
		{ "ca.root_key", "pkcs11:object=hsmca-root" },
		{ "ca.issuing_key", "pkcs11:object=hsmca-issuing" },
	};
	int rc;

	for (size_t i = 0; i < 2; i++)
		if (!was_set(o, keys[i][0]) &&
		    (rc = config_set(cfg, keys[i][0], keys[i][1], err)) != 0)
			return rc;
	return 0;
}

/* `hsmca init`; returns the exit code. */
int
cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_COMMON,
		{ "key-type", required_argument, NULL, 'k' },
		{ "module", required_argument, NULL, 'm' },
		{ "token-uri", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { 0 };
	struct ca_init_params p = { 0 };
	struct hsmca_config *cfg = NULL;
	struct hsmca_err err = { 0 };
	const char *key_type = NULL, *module = NULL, *token_uri = NULL;
	char state[PATH_MAX];
	int64_t now_slot;
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
		case 'k':
			key_type = optarg;
			break;
		case 'm':
			module = optarg;
			break;
		case 't':
			token_uri = optarg;
			break;
		default:
			return cli_usage_error(usage_line, "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error(usage_line, "unexpected argument \"%s\"",
		    argv[optind]);
	if (token_uri != NULL && module == NULL)
		return cli_usage_error(usage_line,
		    "--token-uri needs --module (an existing token)");
	if (key_type != NULL && hsm_key_type_parse(key_type, &p.key_type) != 0)
		return cli_usage_error(usage_line, "unknown key type \"%s\"",
		    key_type);

	if ((rc = cli_state_dir(&o, state, &err)) != 0)
		goto out;
	if ((rc = cli_config(&o, state, false, &cfg, &err)) != 0)
		goto out;
	/* Record the choices in the config so hsmca.conf keeps them. */
	if (key_type != NULL &&
	    (rc = config_set(cfg, "ca.key_type", key_type, &err)) != 0)
		goto out;
	if (module != NULL &&
	    (rc = config_set(cfg, "hsm.module", module, &err)) != 0)
		goto out;
	if (token_uri != NULL &&
	    (rc = config_set(cfg, "hsm.token_uri", token_uri, &err)) != 0)
		goto out;
	if (module != NULL && (rc = key_uris_for_token(cfg, &o, &err)) != 0)
		goto out;
	if ((rc = cli_clock(&now_slot, &p.clock, &p.clock_arg, &err)) != 0)
		goto out;
	p.state_dir = state;
	p.cfg = cfg;
	p.create_token = module == NULL;
	if ((rc = ca_init(&p, &err)) != 0)
		goto out;
	print_paths(cfg, state, p.create_token);
	rc = 0;
out:
	config_free(cfg);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}
