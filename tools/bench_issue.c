/*
 * tools/bench_issue.c - `hsmca bench issue`: issuance throughput against
 * the raw signing speed of the same token key.
 *
 * A throwaway CA is built in a temporary directory, a pool of CSRs is
 * made before the clock starts, then N threads call ca_issue() for a
 * round's duration, each keeping up to --window issuances in flight
 * through ca_issue_submit() (0: one at a time through ca_issue()); then N
 * threads sign a TBS-sized buffer with the same issuing key for as long
 * as that issuing phase took.  An issuance counts when its callback
 * reports the record durable; an issuing phase ends when the last one
 * has.  The run is --rounds such pairs, so that load from other processes
 * that comes and goes falls on both phases alike; the figures sum the
 * rounds.  The ratio says how much of the token's signing speed issuance
 * keeps (CSR checks, TBS building, linting and the durable store write
 * are the rest).
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tools/cli.h"

static const char usage_line[] =
    "hsmca bench issue [--threads N] [--key-type TYPE] "
    "[--window N] [--rounds N] [--seconds S | --count N] [--dir PARENT]";

#define POOL 64			/* CSRs reused round-robin */
#define TBS_LEN 600		/* about a DV certificate's TBS */
#define MAX_THREADS 256
#define MAX_WINDOW 4096
/*
 * Enough in flight that a thread does not stall while the writer
 * commits a batch: at 32, EC P-256 issuing left about a fifth of the
 * CPU idle waiting for commits.
 */
#define DEFAULT_WINDOW 128
#define DEFAULT_ROUNDS 5
#define MAX_ROUNDS 1000

/* Set by SIGINT/SIGTERM so the workers stop and the temp dir goes. */
static volatile sig_atomic_t stop_signal;

struct csr_der {
	unsigned char *der;
	size_t len;
};

struct bench {
	struct ca *ca;
	EVP_PKEY *key;			/* issuing key, signs in the token */
	struct csr_der pool[POOL];
	int window;			/* issuances in flight per thread; 0:
					   synchronous ca_issue() */
	int rounds;			/* issue/sign phase pairs */
	double seconds;			/* time bound of a phase, 0: count */
	long long count;		/* operations bound, 0: time */
	struct timespec start;
	atomic_llong next;		/* operations started */
	atomic_llong done;		/* operations completed */
	atomic_int failed;
	pthread_mutex_t err_lock;
	struct hsmca_err err;		/* first failure of a worker */
};

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Build a throwaway CA (new SoftHSM2 token) in a temporary directory,\n"
	    "then measure: N threads issuing certificates from a pool of %d\n"
	    "pre-made CSRs (EC P-256, names bench-N.example.com), then N threads\n"
	    "signing %d-byte buffers with the same issuing key in the token for\n"
	    "as long; the two phases alternate for a number of rounds so that\n"
	    "other load on the machine falls on both alike.\n"
	    "Prints \"issue: X certs/s\", \"raw sign: Y signs/s\" and last\n"
	    "\"ratio: Z%%\"; each phase's process CPU time per operation\n"
	    "and their ratio (\"cpu ratio\", what issuing keeps of the token's\n"
	    "speed when both phases are CPU-bound) come before it.  The\n"
	    "directory is removed at exit.\n\n"
	    "  --threads N        worker threads (default 2)\n"
	    "  --key-type TYPE    CA key type (default ec-p256)\n"
	    "  --window N         issuances in flight per thread, each handed\n"
	    "                     back once its record is durable (default %d);\n"
	    "                     0: one at a time with ca_issue()\n"
	    "  --rounds N         issue/sign phase pairs (default %d)\n"
	    "  --seconds S        issuing time over all rounds (default 5)\n"
	    "  --count N          issue N certificates over all rounds instead\n"
	    "  --dir PARENT       where the temporary CA goes (default $TMPDIR\n"
	    "                     or /tmp); its file system's fsync is timed\n"
	    "  --help             this text\n\n%s", usage_line, POOL, TBS_LEN,
	    DEFAULT_WINDOW, DEFAULT_ROUNDS, CLI_EXIT_HELP);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_signal = 1;
}

static double
elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* Claim the next operation; false when the phase is over. */
static bool
claim(struct bench *b, long long *idx)
{
	if (stop_signal || atomic_load(&b->failed))
		return false;
	*idx = atomic_fetch_add(&b->next, 1);
	if (b->count > 0)
		return *idx < b->count;
	return elapsed(&b->start) < b->seconds;
}

static void
worker_fail(struct bench *b, const struct hsmca_err *e)
{
	pthread_mutex_lock(&b->err_lock);
	hsmca_err_set(&b->err, e->code, e->type, "%s", e->detail);
	pthread_mutex_unlock(&b->err_lock);
	atomic_store(&b->failed, 1);
}

/* One issuing thread's window of submissions in flight. */
struct window {
	struct bench *b;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inflight;
};

/* A submission's record is durable (or failed): free its slot. */
static void
issue_done(int rc, struct ca_issued *issued, const struct hsmca_err *e,
    void *arg)
{
	struct window *w = arg;

	if (rc == 0)
		atomic_fetch_add(&w->b->done, 1);
	else
		worker_fail(w->b, e);
	ca_issued_free(issued);
	pthread_mutex_lock(&w->mu);
	w->inflight--;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Wait until at most `max` submissions of `w` are in flight. */
static void
window_wait(struct window *w, int max)
{
	pthread_mutex_lock(&w->mu);
	while (w->inflight > max)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

static void *
issue_worker(void *arg)
{
	struct bench *b = arg;
	struct window w;
	long long i;

	w.b = b;
	w.inflight = 0;
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	while (claim(b, &i)) {
		struct hsmca_err e = { 0 };
		struct ca_issue_req req = { 0 };
		struct ca_issued *out = NULL;

		req.csr_der = b->pool[i % POOL].der;
		req.csr_len = b->pool[i % POOL].len;
		if (b->window == 0) {
			if (ca_issue(b->ca, &req, &out, &e) != 0) {
				worker_fail(b, &e);
				break;
			}
			ca_issued_free(out);
			atomic_fetch_add(&b->done, 1);
			continue;
		}
		window_wait(&w, b->window - 1);
		pthread_mutex_lock(&w.mu);
		w.inflight++;
		pthread_mutex_unlock(&w.mu);
		if (ca_issue_submit(b->ca, &req, issue_done, &w, &e) != 0) {
			pthread_mutex_lock(&w.mu);
			w.inflight--;
			pthread_mutex_unlock(&w.mu);
			worker_fail(b, &e);
			break;
		}
	}
	/* The phase ends when every record is durable. */
	window_wait(&w, 0);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return NULL;
}

static void *
sign_worker(void *arg)
{
	struct bench *b = arg;
	unsigned char tbs[TBS_LEN], sig[1024];
	long long i;

	/* Content does not matter to the token; vary it anyway. */
	memset(tbs, 0x5a, sizeof(tbs));
	while (claim(b, &i)) {
		struct hsmca_err e = { 0 };
		EVP_MD_CTX *md;
		size_t siglen = sizeof(sig);
		int ok;

		memcpy(tbs, &i, sizeof(i));
		if ((md = EVP_MD_CTX_new()) == NULL) {
			hsmca_err_set(&e, HSMCA_ENOMEM, "serverInternal",
			    "out of memory");
			worker_fail(b, &e);
			break;
		}
		ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
		    b->key) == 1 &&
		    EVP_DigestSign(md, sig, &siglen, tbs, sizeof(tbs)) == 1;
		EVP_MD_CTX_free(md);
		if (!ok) {
			hsmca_err_set(&e, HSMCA_EHSM, "hsm", "raw sign failed: ");
			hsmca_openssl_errstr(e.detail, sizeof(e.detail));
			worker_fail(b, &e);
			break;
		}
		atomic_fetch_add(&b->done, 1);
	}
	return NULL;
}

/* CPU seconds used by the whole process (every thread, user+system). */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One kind of phase summed over the rounds. */
struct phase_sum {
	long long n;			/* operations completed */
	double secs;			/* wall time */
	double cpu;			/* process CPU seconds */
};

/*
 * Run one phase with `nthreads` workers and add its operations, wall
 * time and process CPU time to *sum; *secs is this phase's wall time.
 * The CPU figures do not depend on how much CPU other processes leave
 * us, so their ratio is the issuance's share of the token's speed
 * whenever both phases are CPU-bound.
 */
static int
run_phase(struct bench *b, void *(*fn)(void *), int nthreads,
    struct phase_sum *sum, double *secs)
{
	pthread_t tid[MAX_THREADS];
	int started = 0;
	double cpu0 = cpu_now();

	atomic_store(&b->next, 0);
	atomic_store(&b->done, 0);
	clock_gettime(CLOCK_MONOTONIC, &b->start);
	for (; started < nthreads; started++)
		if (pthread_create(&tid[started], NULL, fn, b) != 0)
			break;
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	*secs = elapsed(&b->start);
	sum->n += atomic_load(&b->done);
	sum->secs += *secs;
	sum->cpu += cpu_now() - cpu0;
	if (started < nthreads)
		return hsmca_err_set(&b->err, HSMCA_EINTERNAL,
		    "serverInternal", "cannot start thread %d", started);
	if (stop_signal)
		return hsmca_err_set(&b->err, HSMCA_EINTERNAL,
		    "serverInternal", "interrupted");
	return atomic_load(&b->failed) ? b->err.code : 0;
}

/* One software EC P-256 CSR for bench-N.example.com, DER-encoded. */
static int
make_csr(int n, struct csr_der *out, struct hsmca_err *err)
{
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	char cn[64], san[80];
	int len, rc = HSMCA_EINTERNAL;

	snprintf(cn, sizeof(cn), "bench-%d.example.com", n);
	snprintf(san, sizeof(san), "DNS:%s", cn);
	if ((key = EVP_EC_gen("P-256")) == NULL ||
	    (req = X509_REQ_new()) == NULL ||
	    (subj = X509_NAME_new()) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL)
		goto out;
	if (X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, subj) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    (ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    san)) == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) == 0)
		goto out;
	ext = NULL;	/* now owned by exts */
	if (X509_REQ_add_extensions(req, exts) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (len = i2d_X509_REQ(req, &der)) <= 0)
		goto out;
	out->der = der;
	out->len = (size_t)len;
	der = NULL;
	rc = 0;
out:
	if (rc != 0) {
		hsmca_err_set(err, rc, "serverInternal", "making CSR %d: ", n);
		hsmca_openssl_errstr(err->detail, sizeof(err->detail));
	}
	OPENSSL_free(der);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return rc;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* Build the CA, make the pool, run both phases, print the figures. */
static int
bench_run(const char *dir, enum hsm_key_type type, int nthreads,
    struct bench *b, struct hsmca_err *err)
{
	struct ca_init_params p = { 0 };
	struct hsmca_config *cfg = NULL, *ocfg = NULL;
	char conf[PATH_MAX];
	struct store_stats st0, st1;
	struct phase_sum is = { 0 }, sg = { 0 };
	double seconds = b->seconds, issue_rate, sign_rate, secs;
	long long count = b->count;
	int rc;

	if ((cfg = config_new()) == NULL || (ocfg = config_new()) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	p.state_dir = dir;
	p.cfg = cfg;
	p.key_type = type;
	p.create_token = true;
	if ((rc = ca_init(&p, err)) != 0)
		goto out;
	/* Open it the way the CLI does: from the hsmca.conf init wrote. */
	snprintf(conf, sizeof(conf), "%s/hsmca.conf", dir);
	if ((rc = config_load(ocfg, conf, err)) != 0)
		goto out;
	if ((rc = ca_open(dir, ocfg, &b->ca, err)) != 0)
		goto out;
	b->key = hsm_key_private(ca_issuing_key(b->ca));
	for (int i = 0; i < POOL; i++)
		if ((rc = make_csr(i, &b->pool[i], err)) != 0)
			goto out;

	printf("key type: %s, threads: %d, window: %d%s, rounds: %d\n",
	    hsm_key_type_name(type), nthreads, b->window,
	    b->window == 0 ? " (synchronous ca_issue)" : "", b->rounds);
	fflush(stdout);
	store_stats(ca_store(b->ca), &st0);
	for (int r = 0; r < b->rounds; r++) {
		/* This round's share of the issuing bound. */
		b->seconds = seconds / b->rounds;
		b->count = count / b->rounds +
		    (r == b->rounds - 1 ? count % b->rounds : 0);
		if (count > 0 && b->count == 0)
			continue;
		if ((rc = run_phase(b, issue_worker, nthreads, &is,
		    &secs)) != 0)
			goto fail;
		/* The signing phase runs as long as this issuing one did. */
		b->count = 0;
		b->seconds = secs;
		if ((rc = run_phase(b, sign_worker, nthreads, &sg,
		    &secs)) != 0)
			goto fail;
	}
	store_stats(ca_store(b->ca), &st1);
	issue_rate = is.secs > 0 ? (double)is.n / is.secs : 0;
	sign_rate = sg.secs > 0 ? (double)sg.n / sg.secs : 0;
	printf("issue: %.1f certs/s (%lld in %.2f s; %llu commits, %.1f "
	    "records each)\n", issue_rate, is.n, is.secs,
	    (unsigned long long)(st1.commits - st0.commits),
	    st1.commits > st0.commits ? (double)(st1.writes - st0.writes) /
	    (double)(st1.commits - st0.commits) : 0.0);
	printf("issue cpu: %.1f us/cert\n", is.n > 0 ? is.cpu * 1e6 /
	    (double)is.n : 0.0);
	printf("raw sign: %.1f signs/s (%lld in %.2f s)\n", sign_rate, sg.n,
	    sg.secs);
	printf("raw sign cpu: %.1f us/sign\n", sg.n > 0 ? sg.cpu * 1e6 /
	    (double)sg.n : 0.0);
	/* CPU per sign over CPU per certificate. */
	printf("cpu ratio: %.1f%%\n", is.n > 0 && sg.n > 0 && is.cpu > 0 ?
	    100.0 * (sg.cpu / (double)sg.n) / (is.cpu / (double)is.n) : 0.0);
	printf("ratio: %.1f%%\n", sign_rate > 0 ? 100.0 * issue_rate /
	    sign_rate : 0.0);
	rc = 0;
	goto out;
fail:
	hsmca_err_set(err, b->err.code, b->err.type, "%s", b->err.detail);
out:
	config_free(cfg);
	config_free(ocfg);
	return rc;
}

/* `hsmca bench issue`: argv[0] is "issue"; returns the exit code. */
int
bench_issue_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, CLI_OPT_HELP },
		{ "threads", required_argument, NULL, 't' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "seconds", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "window", required_argument, NULL, 'w' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { 0 };
	struct hsmca_err err = { 0 };
	enum hsm_key_type type = HSM_KEY_EC_P256;
	struct sigaction sa;
	const char *parent = getenv("TMPDIR");
	char dir[PATH_MAX] = "", *end;
	long long n;
	int nthreads = 2, ch, rc;
	bool have_secs = false;

	b.seconds = 5;
	b.window = DEFAULT_WINDOW;
	b.rounds = DEFAULT_ROUNDS;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case CLI_OPT_HELP:
			help();
			return CLI_EXIT_OK;
		case 't':
		case 's':
		case 'c':
		case 'w':
		case 'r':
			errno = 0;
			n = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    n < (ch == 'w' ? 0 : 1) ||
			    (ch == 'w' && n > MAX_WINDOW) ||
			    (ch == 't' && n > MAX_THREADS) ||
			    (ch == 'r' && n > MAX_ROUNDS) ||
			    (ch == 's' && n > 3600))
				return cli_usage_error(usage_line,
				    "bad number \"%s\"", optarg);
			if (ch == 't')
				nthreads = (int)n;
			else if (ch == 'w')
				b.window = (int)n;
			else if (ch == 'r')
				b.rounds = (int)n;
			else if (ch == 's') {
				b.seconds = (double)n;
				have_secs = true;
			} else
				b.count = n;
			break;
		case 'k':
			if (hsm_key_type_parse(optarg, &type) != 0)
				return cli_usage_error(usage_line,
				    "unknown key type \"%s\"", optarg);
			break;
		case 'd':
			parent = optarg;
			break;
		default:
			return cli_usage_error(usage_line, "bad option");
		}
	}
	if (argc - optind != 0)
		return cli_usage_error(usage_line, "unexpected argument \"%s\"",
		    argv[optind]);
	if (have_secs && b.count > 0)
		return cli_usage_error(usage_line,
		    "--seconds and --count exclude each other");
	if (b.count > 0)
		b.seconds = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pthread_mutex_init(&b.err_lock, NULL);
	if (parent == NULL || *parent == '\0')
		parent = "/tmp";
	if (snprintf(dir, sizeof(dir), "%s/hsmca-bench-XXXXXX", parent) >=
	    (int)sizeof(dir) || mkdtemp(dir) == NULL) {
		rc = hsmca_err_set(&err, HSMCA_EIO, "io",
		    "cannot make a directory under %s: %s", parent,
		    strerror(errno));
		dir[0] = '\0';
		goto out;
	}
	rc = bench_run(dir, type, nthreads, &b, &err);
out:
	if (b.ca != NULL)
		ca_close(b.ca);
	for (int i = 0; i < POOL; i++)
		OPENSSL_free(b.pool[i].der);
	if (dir[0] != '\0')
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	pthread_mutex_destroy(&b.err_lock);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}
