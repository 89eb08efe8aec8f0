/*
 * tools/hsmcad.c - the daemon: open the CA, serve ACME over HTTPS and the
 * CA certificates, CRLs and OCSP over plain HTTP, run the periodic jobs,
 * and stop cleanly on SIGTERM or SIGINT.
 *
 * Start-up order matters: signals are blocked before any thread exists
 * (the store writer, the HTTP workers, the scheduler), so they are
 * delivered only to sigwait() in main; the two "directory:" and
 * "ca-bundle:" lines go to stdout only once both servers accept
 * connections, so whoever reads them may connect at once.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ca/ca_ocsp.h"
#include "ca/ca_revoke.h"
#include "common/log.h"
#include "protocol/acme.h"
#include "tools/hsmcad.h"

/* How often, at most, the scheduler looks for due CRLs and OCSP
 * responses (ca_crl_tick wants at least every crl.revoke_delay_s / 2). */
#define SCHED_INTERVAL_S 5
/* OCSP signatures per round: new issuances get theirs within seconds,
 * and a large backlog does not hold the token for long. */
#define OCSP_BUDGET 256

static const char usage_line[] =
    "hsmcad --state DIR [--set KEY=VALUE]... | hsmcad --ephemeral "
    "[--set KEY=VALUE]...";

struct daemon {
	struct cli_opts opts;
	bool ephemeral;
	char state[PATH_MAX];
	char eph_dir[PATH_MAX];		/* non-empty: remove at exit */
	struct hsmca_config *cfg;
	int64_t now_slot;		/* HSMCA_NOW, read by the CA clock */
	struct ca *ca;
	struct hsmcad_certs certs;
	struct hsmcad_tls tls;
	struct acme *acme;
	int64_t tls_not_after;
	struct http_route *routes;	/* the HTTPS server's table */
	size_t nroutes;
	struct http_server *https;
	struct hsmcad_publish *publish;
	struct hsmcad_sched *sched;
	char base_url[512];
	char bundle[PATH_MAX];		/* absolute path of the root PEM */
	char publish_dir[PATH_MAX];
};

/*
 * ca_ocsp_tick as a scheduler job.  Nothing to do while OCSP is off or
 * the CA has no signer (start() warned once; no error every round).
 */
static int
ocsp_job(struct ca *ca, int64_t now, const char *publish_dir,
    struct hsmca_err *err)
{
	size_t n = 0;
	int rc;

	(void)publish_dir;
	if (!ca_ocsp_enabled(ca) || !ca_ocsp_ready(ca))
		return 0;
	if ((rc = ca_ocsp_tick(ca, now, OCSP_BUDGET, &n, err)) == 0 && n > 0)
		log_debug("scheduler: signed %zu OCSP responses", n);
	return rc;
}

static const struct hsmcad_job jobs[] = {
	{ "CRL", ca_crl_tick },
	{ "OCSP", ocsp_job },
};

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Serve the CA in DIR (made by hsmca init): ACME over HTTPS on\n"
	    "acme.listen, CA certificates, CRLs and OCSP over HTTP on\n"
	    "publish.listen.  Runs in the foreground and logs to stderr;\n"
	    "once serving it prints \"directory: URL\" and \"ca-bundle: PATH\"\n"
	    "on stdout.  SIGTERM or SIGINT stops it.\n\n"
	    "  --state DIR        state directory (default $HSMCA_STATE)\n"
	    "  --ephemeral        make a throw-away CA in a new temporary\n"
	    "                     directory, removed at exit\n"
	    "  --set KEY=VALUE    override a configuration key\n"
	    "  --verbose          log debug messages too\n"
	    "  --help             this text\n\n%s", usage_line, CLI_EXIT_HELP);
}

static int
fail(const struct hsmca_err *err)
{
	fprintf(stderr, "hsmcad: %s: %s\n", err->type ? err->type : "error",
	    err->detail[0] ? err->detail : hsmca_code_name(err->code));
	if (err->code == HSMCA_EINVAL && err->type != NULL &&
	    strcmp(err->type, "usage") == 0)
		return CLI_EXIT_USAGE;
	return cli_exit_code(err->code);
}

static int
usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "hsmcad: usage: %s%s%s\nusage: %s\n", msg,
	    arg ? " " : "", arg ? arg : "", usage_line);
	return CLI_EXIT_USAGE;
}

/* Parse argv into d->opts; returns -1 to go on, else an exit code. */
static int
parse_args(struct daemon *d, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_LONGOPTS_COMMON,
		{ "ephemeral", no_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((rc = cli_opt_common(&d->opts, ch, optarg)) < 0)
			return -rc;
		if (rc == 1)
			continue;
		switch (ch) {
		case CLI_OPT_HELP:
			help();
			return CLI_EXIT_OK;
		case 'e':
			d->ephemeral = true;
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		default:
			return usage_error("bad option", NULL);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument", argv[optind]);
	if (d->ephemeral && d->opts.state != NULL)
		return usage_error("--ephemeral makes its own state directory; "
		    "drop --state", NULL);
	return -1;
}

/* The state directory, the config, the paths derived from it. */
static int
load_config(struct daemon *d, struct hsmca_err *err)
{
	char path[PATH_MAX];
	uint16_t port;
	int rc;

	if (d->ephemeral) {
		if ((rc = hsmcad_ephemeral_make(&d->opts, d->eph_dir,
		    err)) != 0)
			return rc;
		snprintf(d->state, sizeof(d->state), "%s", d->eph_dir);
		log_info("ephemeral CA in %s", d->state);
	} else if ((rc = cli_state_dir(&d->opts, d->state, err)) != 0) {
		return rc;
	}
	if ((rc = cli_config(&d->opts, d->state, true, &d->cfg, err)) != 0)
		return rc;
	/* Both ports appear in URLs given out, so refuse bad ones first. */
	if ((rc = hsmcad_listen_port(config_get(d->cfg, "acme.listen"),
	    "acme.listen", &port, err)) != 0 ||
	    (rc = hsmcad_listen_port(config_get(d->cfg, "publish.listen"),
	    "publish.listen", &port, err)) != 0)
		return rc;
	if (config_get_path(d->cfg, "ca.root_cert", d->state, path,
	    sizeof(path)) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "ca.root_cert: unset or too long");
	/* Clients get an absolute path: they run from anywhere. */
	if (realpath(path, d->bundle) == NULL)
		return hsmca_err_set(err, HSMCA_EIO, "io", "%s: %s", path,
		    strerror(errno));
	if (config_get_path(d->cfg, "publish.dir", d->state, d->publish_dir,
	    sizeof(d->publish_dir)) != 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "publish.dir: unset or too long");
	if (mkdir(d->publish_dir, 0755) != 0 && errno != EEXIST)
		return hsmca_err_set(err, HSMCA_EIO, "io", "%s: %s",
		    d->publish_dir, strerror(errno));
	return 0;
}

/* The ACME server's port, from acme.listen (checked in load_config). */
static uint16_t
acme_port(const struct daemon *d)
{
	uint16_t port = 0;

	hsmcad_listen_port(config_get(d->cfg, "acme.listen"), "acme.listen",
	    &port, NULL);
	return port;
}

/* Append the Pebble-style trust anchor routes to the HTTPS table. */
static int
build_routes(struct daemon *d, const struct http_route *extra, size_t nextra,
    struct hsmca_err *err)
{
	const struct http_route own[] = {
		{ HTTP_GET | HTTP_HEAD, "/roots/0", hsmcad_certs_root_pem,
		    &d->certs },
		{ HTTP_GET | HTTP_HEAD, "/intermediates/0",
		    hsmcad_certs_issuing_pem, &d->certs },
	};
	size_t nown = sizeof(own) / sizeof(own[0]);

	if ((d->routes = calloc(nextra + nown, sizeof(*d->routes))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	if (nextra > 0)
		memcpy(d->routes, extra, nextra * sizeof(*extra));
	memcpy(d->routes + nextra, own, sizeof(own));
	d->nroutes = nextra + nown;
	return 0;
}

/* Open the CA, get the TLS certificate, start both servers and jobs. */
static int
start(struct daemon *d, struct hsmca_err *err)
{
	struct http_server_params hp = { 0 };
	const struct http_route *acme_table;
	size_t nacme;
	int64_t delay;
	unsigned interval;
	char when[32];
	ca_clock_fn clock;
	void *clock_arg;
	int rc;

	if ((rc = load_config(d, err)) != 0)
		return rc;
	if ((rc = cli_clock(&d->now_slot, &clock, &clock_arg, err)) != 0)
		return rc;
	if ((rc = ca_open(d->state, d->cfg, &d->ca, err)) != 0)
		return rc;
	if (clock != NULL)
		ca_set_clock(d->ca, clock, clock_arg);
	/* Before any other thread uses the CA (ca_revoke.h). */
	if ((rc = ca_crl_configure(d->ca, d->cfg, err)) != 0)
		return rc;
	if (ca_ocsp_enabled(d->ca) && !ca_ocsp_ready(d->ca))
		log_warn("ocsp.enabled is set but the CA has no OCSP signer; "
		    "OCSP requests cannot be answered until one is made");
	if ((rc = hsmcad_certs_load(d->ca, &d->certs, err)) != 0)
		return rc;
	if ((rc = hsmcad_tls_issue(d->ca, d->cfg, &d->tls, err)) != 0)
		return rc;
	if ((rc = hsmcad_base_url(d->cfg, acme_port(d), d->base_url,
	    sizeof(d->base_url), err)) != 0)
		return rc;
	if ((rc = acme_new(d->ca, d->cfg, d->state, d->base_url, &d->acme,
	    err)) != 0)
		return rc;
	acme_table = acme_routes(d->acme, &nacme);
	if ((rc = build_routes(d, acme_table, nacme, err)) != 0)
		return rc;
	if ((rc = acme_start(d->acme, err)) != 0)
		return rc;

	hp.listen = config_get(d->cfg, "acme.listen");
	hp.tls_cert_pem = d->tls.cert_pem;
	hp.tls_key_pem = d->tls.key_pem;
	d->tls_not_after = d->tls.not_after;
	hp.threads = (unsigned)config_get_int(d->cfg, "acme.threads");
	hp.routes = d->routes;
	hp.nroutes = d->nroutes;
	hp.on_reply = acme_on_reply;
	hp.on_reply_arg = d->acme;
	rc = http_server_start(&hp, &d->https, err);
	/* The server holds its own copy; ours goes now. */
	hsmcad_tls_clear(&d->tls);
	if (rc != 0)
		return rc;
	if ((rc = hsmcad_publish_start(d->ca, d->cfg, &d->certs,
	    &d->publish, err)) != 0)
		return rc;
	delay = config_get_int(d->cfg, "crl.revoke_delay_s") / 2;
	interval = delay < 1 ? 1 : delay > SCHED_INTERVAL_S ?
	    SCHED_INTERVAL_S : (unsigned)delay;
	if ((rc = hsmcad_sched_start(d->ca, d->cfg, d->publish_dir, jobs,
	    sizeof(jobs) / sizeof(jobs[0]), interval, &d->sched, err)) != 0)
		return rc;
	cli_time_iso(d->tls_not_after, when, sizeof(when));
	log_info("serving ACME on %s; its TLS certificate is valid until %s "
	    "(restart before then)", d->base_url, when);
	/* The stable interface of scripts and tests: two lines, flushed. */
	printf("directory: %s/directory\n", d->base_url);
	printf("ca-bundle: %s\n", d->bundle);
	fflush(stdout);
	return 0;
}

/* Stop in reverse order; safe after a partial start. */
static void
stop(struct daemon *d)
{
	hsmcad_sched_stop(d->sched);
	d->sched = NULL;
	/* Drain both servers before what their handlers use goes away. */
	http_server_stop(d->https);
	d->https = NULL;
	hsmcad_publish_stop(d->publish);
	d->publish = NULL;
	/* After the server: its handlers use the acme until then. */
	acme_free(d->acme);
	d->acme = NULL;
	free(d->routes);
	d->routes = NULL;
	hsmcad_tls_clear(&d->tls);
	hsmcad_certs_clear(&d->certs);
	if (d->ca != NULL)
		ca_close(d->ca);
	d->ca = NULL;
	config_free(d->cfg);
	d->cfg = NULL;
	if (d->eph_dir[0] != '\0') {
		if (hsmcad_ephemeral_remove(d->eph_dir) != 0)
			log_warn("could not remove all of %s", d->eph_dir);
		d->eph_dir[0] = '\0';
	}
}

/* Wait for SIGTERM or SIGINT; SIGHUP is logged and ignored. */
static void
wait_for_stop(const sigset_t *set)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: nothing is reloaded; restart hsmcad "
			    "to apply configuration changes");
			continue;
		}
		log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" :
		    "SIGINT");
		return;
	}
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct hsmca_err err = { 0 };
	sigset_t set;
	int rc;

	memset(&d, 0, sizeof(d));
	/* Before any thread exists, so that every thread inherits it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A client that hangs up must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);

	if ((rc = parse_args(&d, argc, argv)) >= 0)
		return rc;
	if ((rc = start(&d, &err)) != 0) {
		rc = fail(&err);
		stop(&d);
		return rc;
	}
	wait_for_stop(&set);
	stop(&d);
	log_info("stopped");
	return CLI_EXIT_OK;
}
