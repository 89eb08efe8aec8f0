/*
 * tools/cli.h - what the hsmca subcommands share: the state directory,
 * the configuration with --set overrides, opening the CA or its store,
 * the injectable clock, error printing and the exit codes.
 */
#ifndef HSMCA_TOOLS_CLI_H
#define HSMCA_TOOLS_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"
#include "common/config.h"
#include "common/err.h"
#include "store/store.h"

/* Documented exit codes (hsmca.1 EXIT STATUS). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_INTERNAL = 1,
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_INPUT = 3,	/* EINVAL, EPOLICY, ELINT */
	CLI_EXIT_NOTFOUND = 4,
	CLI_EXIT_HSM = 5,	/* EHSM, EPIN */
	CLI_EXIT_STORE = 6,	/* EIO, store problems */
	CLI_EXIT_EXISTS = 7,
};

/* The exit-code table as printed at the end of every --help. */
#define CLI_EXIT_HELP \
	"Exit status: 0 ok, 1 internal error, 2 usage, 3 bad input or refused\n" \
	"by policy, 4 not found, 5 token/HSM or PIN error, 6 store or I/O\n" \
	"error, 7 already exists.\n"

#define CLI_MAX_SETS 64

/* Options every subcommand accepts: --state DIR and --set KEY=VALUE. */
struct cli_opts {
	const char *state;		/* NULL: $HSMCA_STATE */
	const char *sets[CLI_MAX_SETS];
	size_t nsets;
};

/* getopt_long values of the shared options (outside the char range). */
enum { CLI_OPT_STATE = 0x100, CLI_OPT_SET, CLI_OPT_HELP };

#define CLI_LONGOPTS_COMMON \
	{ "state", required_argument, NULL, CLI_OPT_STATE }, \
	{ "set", required_argument, NULL, CLI_OPT_SET }, \
	{ "help", no_argument, NULL, CLI_OPT_HELP }

/*
 * Handle a shared option `ch` with argument `arg`.  Returns 1 when it was
 * one, 0 when it was not, CLI_EXIT_USAGE (negated) on a usage error.
 */
int cli_opt_common(struct cli_opts *o, int ch, const char *arg);

/* Map an HSMCA_E* code to its exit code. */
int cli_exit_code(int code);

/*
 * Print "hsmca: <type>: <detail>" to stderr and return the exit code for
 * err->code.
 */
int cli_fail(const struct hsmca_err *err);

/* Print "hsmca: usage: <msg>" and the usage line; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Resolve the state directory: --state, else $HSMCA_STATE.  Writes it
 * into out (PATH_MAX bytes).  HSMCA_EINVAL ("usage") when neither is set.
 */
int cli_state_dir(const struct cli_opts *o, char *out, struct hsmca_err *err);

/*
 * A config of the table defaults, then STATE/hsmca.conf when
 * `need_file` (a missing file is ENOTFOUND: no CA here), then the --set
 * overrides in order.  On success *out belongs to the caller
 * (config_free()).
 */
int cli_config(const struct cli_opts *o, const char *state, bool need_file,
    struct hsmca_config **out, struct hsmca_err *err);

/*
 * The clock for tests: when HSMCA_NOW is set it must be Unix seconds and
 * `clock` and `arg` are set to return it; otherwise they are NULL (real
 * time).  `slot` holds the value and must outlive the clock's use.
 */
int cli_clock(int64_t *slot, ca_clock_fn *clock, void **arg,
    struct hsmca_err *err);

/* Now, honouring HSMCA_NOW. */
int64_t cli_now(void);

/*
 * Open the CA of the state directory (config loaded as cli_config does)
 * with the HSMCA_NOW clock applied; the clock reads *now_slot, which
 * must outlive the CA.  On success *ca and *cfg belong to the caller:
 * ca_close() then config_free().
 */
int cli_ca_open(const struct cli_opts *o, int64_t *now_slot, struct ca **ca,
    struct hsmca_config **cfg, struct hsmca_err *err);

/*
 * Open only the store of the state directory: the read-only commands
 * (show, list, export, db check) need no token or PIN.  On success *st
 * belongs to the caller (store_close()).
 */
int cli_store_open(const struct cli_opts *o, struct store **st,
    struct hsmca_err *err);

/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" in out (21 bytes). */
void cli_time_iso(int64_t t, char *out, size_t len);

/*
 * Read a whole file ("-" is stdin), at most `max` bytes.  On success
 * *buf (malloc'd) belongs to the caller.
 */
int cli_read_file(const char *path, size_t max, unsigned char **buf,
    size_t *len, struct hsmca_err *err);

/*
 * Write `len` bytes to `path` atomically: a temporary file in the same
 * directory, fsync, rename, fsync of the directory.
 */
int cli_write_atomic(const char *path, const void *buf, size_t len,
    struct hsmca_err *err);

/* "issued", "revoked" or "unknown". */
const char *cli_cert_status_name(int status);

/*
 * A certificate record as a JSON object (serial, status, not_before,
 * not_after, issued_at, names, profile, crl_shard, revocation).  NULL on
 * ENOMEM; the caller owns the reference (json_decref()).
 */
struct json_t;
struct json_t *cli_cert_json(const struct store_cert *cert);

/* The subcommands; argv[0] is the subcommand name. */
int cmd_init(int argc, char **argv);
int cmd_issue(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_ocsp(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_revoke_intermediate(int argc, char **argv);
int cmd_crl(int argc, char **argv);

/* The benchmarks under `hsmca bench` (tools/cmd_bench.c dispatches);
 * argv[0] is the benchmark's name.  Each returns the exit code. */
int bench_issue_main(int argc, char **argv);
int bench_crl_main(int argc, char **argv);
int bench_acme_main(int argc, char **argv);
int bench_ocsp_main(int argc, char **argv);

#endif
