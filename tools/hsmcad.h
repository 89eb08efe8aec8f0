/*
 * tools/hsmcad.h - the parts of the daemon hsmcad, one file each:
 * hsmcad.c (options, start-up order, signals, shutdown),
 * hsmcad_tls.c (the daemon's own TLS certificate from its CA),
 * hsmcad_certs.c (the CA certificates it serves), hsmcad_publish.c (the
 * plain-HTTP publishing server), hsmcad_sched.c (the periodic jobs and
 * the sweep of expired ACME orders) and
 * hsmcad_ephemeral.c (a throw-away CA for --ephemeral).
 *
 * Private to hsmcad; nothing outside tools/hsmcad*.c includes it.
 */
#ifndef HSMCA_TOOLS_HSMCAD_H
#define HSMCA_TOOLS_HSMCAD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"
#include "common/config.h"
#include "common/err.h"
#include "protocol/http.h"
#include "tools/cli.h"

/* --- the daemon's TLS certificate (hsmcad_tls.c) ----------------------- */

/*
 * The TLS certificate and key the ACME server presents.  cert_pem is the
 * chain (leaf, then the issuing CA); key_pem is PKCS#8 PEM of a P-256
 * key made in memory for this run.  It is a TLS key, not a CA key: it
 * never touches the token and is never written to disk.
 */
struct hsmcad_tls {
	char *cert_pem;		/* owned */
	char *key_pem;		/* owned; cleansed by hsmcad_tls_clear() */
	int64_t not_after;
};

/*
 * Issue the daemon's certificate from `ca` for the names in acme.names
 * (DNS names and IP addresses, comma-separated), with the default
 * profile.  The certificate is recorded in the store like any other.  On success `out`
 * holds memory the caller releases with hsmcad_tls_clear().
 */
int hsmcad_tls_issue(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmcad_tls *out, struct hsmca_err *err);

/* Wipe the key and free both strings.  A zeroed struct is fine. */
void hsmcad_tls_clear(struct hsmcad_tls *tls);

/*
 * "https://HOST:PORT" into `out` (`len` bytes): HOST is the first entry
 * of acme.names, in brackets when it is an IPv6 address.
 */
int hsmcad_base_url(const struct hsmca_config *cfg, uint16_t port,
    char *out, size_t len, struct hsmca_err *err);

/*
 * The port of a "host:port" or "[v6]:port" listen value; HSMCA_EINVAL
 * ("config", naming `key`) when it has none or it is not 1..65535.
 */
int hsmcad_listen_port(const char *listen, const char *key, uint16_t *port,
    struct hsmca_err *err);

/* --- the CA certificates (hsmcad_certs.c) ------------------------------ */

/* The root and issuing certificates as PEM and DER, built once. */
struct hsmcad_certs {
	char *root_pem, *issuing_pem;
	size_t root_pem_len, issuing_pem_len;
	unsigned char *root_der, *issuing_der;
	size_t root_der_len, issuing_der_len;
};

/* Encode the CA's certificates.  Free with hsmcad_certs_clear(). */
int hsmcad_certs_load(const struct ca *ca, struct hsmcad_certs *out,
    struct hsmca_err *err);
void hsmcad_certs_clear(struct hsmcad_certs *certs);

/*
 * Route handlers; `arg` is a struct hsmcad_certs that must outlive the
 * server.  The PEM ones answer as Pebble's /roots/0 and
 * /intermediates/0 do; the DER ones are the AIA caIssuers targets
 * (/ca/issuing.der, /ca/root.der), application/pkix-cert.
 */
int hsmcad_certs_root_pem(struct http_req *req, void *arg);
int hsmcad_certs_issuing_pem(struct http_req *req, void *arg);
int hsmcad_certs_root_der(struct http_req *req, void *arg);
int hsmcad_certs_issuing_der(struct http_req *req, void *arg);

/* --- the publishing server (hsmcad_publish.c) -------------------------- */

struct hsmcad_publish;

/*
 * Serve the CA certificates, the CRLs and OCSP over plain HTTP on
 * publish.listen.  `certs` is borrowed and must outlive the server.  On
 * success *out belongs to the caller (hsmcad_publish_stop()).
 */
int hsmcad_publish_start(struct ca *ca, const struct hsmca_config *cfg,
    const struct hsmcad_certs *certs,
    struct hsmcad_publish **out, struct hsmca_err *err);

/* Drain and stop the server, free everything.  NULL is fine. */
void hsmcad_publish_stop(struct hsmcad_publish *pub);

/* --- the scheduler (hsmcad_sched.c) ------------------------------------ */

struct hsmcad_sched;

/* One periodic job: refresh what is due at `now` into `publish_dir`. */
struct hsmcad_job {
	const char *name;	/* for the log */
	int (*fn)(struct ca *ca, int64_t now, const char *publish_dir,
	    struct hsmca_err *err);
};

/*
 * Start the thread that runs `jobs` (borrowed; must outlive the thread)
 * once at start and then every `interval_s` seconds.  A failing job is
 * logged and tried again at the next round.  The same thread sweeps
 * expired ACME orders (acme.retention_days, read from `cfg` now) at
 * start and hourly.  Signals must be blocked in the calling thread
 * already: the new thread inherits the mask.  On success *out belongs
 * to the caller (hsmcad_sched_stop()).
 */
int hsmcad_sched_start(struct ca *ca, const struct hsmca_config *cfg,
    const char *publish_dir, const struct hsmcad_job *jobs, size_t njobs,
    unsigned interval_s, struct hsmcad_sched **out, struct hsmca_err *err);

/*
 * Wake the thread, let the job in progress finish, join, free.  Also
 * frees a scheduler made by hsmcad_sched_new().  NULL is fine.
 */
void hsmcad_sched_stop(struct hsmcad_sched *s);

/*
 * The same scheduler without its thread, for tests: each
 * hsmcad_sched_round() call runs one round (the jobs, the sweep, the
 * pruning) on the caller's thread at the CA clock's now.
 */
int hsmcad_sched_new(struct ca *ca, const struct hsmca_config *cfg,
    const char *publish_dir, const struct hsmcad_job *jobs, size_t njobs,
    unsigned interval_s, struct hsmcad_sched **out, struct hsmca_err *err);
void hsmcad_sched_round(struct hsmcad_sched *s);

/* --- --ephemeral (hsmcad_ephemeral.c) ---------------------------------- */

/*
 * Make a fresh directory under $TMPDIR (or /tmp) and run the CA ceremony
 * in it with a new SoftHSM2 token, applying the --set overrides in `o`.
 * Writes its path to `dir` (PATH_MAX bytes).  On failure the directory,
 * if made, is removed again and dir[0] is '\0'.
 */
int hsmcad_ephemeral_make(const struct cli_opts *o, char *dir,
    struct hsmca_err *err);

/* Remove the directory tree made by hsmcad_ephemeral_make().  Returns 0
 * or -1 when something could not be removed. */
int hsmcad_ephemeral_remove(const char *dir);

#endif
