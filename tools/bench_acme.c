/*
 * tools/bench_acme.c - `hsmca bench acme`: complete ACME issuances per
 * second against any RFC 8555 server.
 *
 * C workers each create an account, wait for each other, then take
 * orders from a shared counter until N have been attempted; each order
 * is timed from newOrder to the downloaded certificate.  The http-01
 * challenges are answered by a responder inside this process.  The
 * figures cover the order phase only (accounts are made before the
 * clock starts); the last line is "orders/s: X" for scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>

#include "tools/bench_acme.h"
#include "tools/cli.h"

static const char usage_line[] =
    "hsmca bench acme --directory URL --ca-bundle FILE [--orders N] "
    "[--concurrency C] [--http01-port P] [--domain SUFFIX]";

#define DEFAULT_ORDERS		100
#define DEFAULT_CONCURRENCY	4
#define DEFAULT_HTTP01_PORT	5002
#define DEFAULT_DOMAIN		"bench.test"
#define MAX_ORDERS		1000000L	/* 64 MB of timings */
#define MAX_SUFFIX		200
#define ERRORS_SHOWN		20	/* print this many, count all */
#define GIVE_UP_ERRORS		10	/* then stop taking orders */

struct run;

struct worker {
	struct run *r;
	unsigned id;
	pthread_t tid;
	int started;
	struct bacme_client c;
};

struct run {
	const char *directory;
	const char *ca_bundle;
	const char *domain;
	long orders;
	unsigned conc;
	struct bacme_http01 *h01;
	pthread_mutex_t go_lock;	/* guards ready and go */
	pthread_cond_t go_cond;
	unsigned ready;			/* workers done with their account */
	int go;				/* set when the clock starts */
	atomic_long next;		/* orders claimed */
	atomic_long done;		/* orders completed */
	atomic_long errors;		/* orders and accounts failed */
	atomic_int give_up;
	double *lat;			/* per order, seconds; <0: not done */
	double *steps;			/* per order, BACME_NSTEPS seconds */
	pthread_mutex_t print_lock;
	struct worker w[BACME_MAX_WORKERS];
};

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Drive complete ACME issuances (RFC 8555) against the server whose\n"
	    "directory is URL and print the rate.  Each of C workers (one\n"
	    "connection each, kept alive) creates an account with a new P-256\n"
	    "key; then, with the clock running, the workers share N orders, each\n"
	    "for one dns name o<N>-w<W>.<SUFFIX>: newOrder, the authorization,\n"
	    "its http-01 challenge (answered by a responder in this process on\n"
	    "127.0.0.1:P, which the server must reach for those names),\n"
	    "finalize with a new P-256 key's CSR, and the certificate\n"
	    "downloaded and checked against the name and key.  Polls wait for\n"
	    "the Retry-After the server sends but at most %d ms (%d ms without\n"
	    "one), so a server's slow Retry-After does not set the rate.\n"
	    "A badNonce answer is retried once with its new nonce and counted.\n"
	    "TLS is verified against FILE, always.\n\n"
	    "  --directory URL    the server's directory\n"
	    "  --ca-bundle FILE   PEM CA certificate(s) the server's TLS chains to\n"
	    "  --orders N         orders to run (default %d)\n"
	    "  --concurrency C    workers, 1..%d (default %d)\n"
	    "  --http01-port P    port of the http-01 responder (default %d)\n"
	    "  --domain SUFFIX    name suffix (default %s)\n"
	    "  --help             this text\n\n"
	    "Prints orders completed, errors, elapsed time, p50/p99 latency of a\n"
	    "complete order and, last, \"orders/s: X\".  Exits 1 when any order\n"
	    "or account failed (each failure is printed on stderr, up to %d);\n"
	    "after %d failures no new order is started.\n\n%s",
	    usage_line, BACME_POLL_CAP_MS, BACME_POLL_MS, DEFAULT_ORDERS,
	    BACME_MAX_WORKERS, DEFAULT_CONCURRENCY, DEFAULT_HTTP01_PORT,
	    DEFAULT_DOMAIN, ERRORS_SHOWN, GIVE_UP_ERRORS, CLI_EXIT_HELP);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse a decimal in [lo, hi]. */
static int
parse_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* A suffix of dns labels: [a-z0-9-], no empty label, no edge hyphen. */
static int
suffix_ok(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > MAX_SUFFIX)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char ch = s[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-'))
			return 0;
		if (ch == '-' && label == 0)
			return 0;
		label++;
	}
	return 1;
}

/* Count a failure; print it unless ERRORS_SHOWN have been. */
static void
report(struct run *r, const char *what, const struct hsmca_err *e)
{
	long n = atomic_fetch_add(&r->errors, 1) + 1;

	/* Past this many the figures mean nothing; a wedged server would
	 * otherwise cost a timeout per remaining order. */
	if (n >= GIVE_UP_ERRORS)
		atomic_store(&r->give_up, 1);
	pthread_mutex_lock(&r->print_lock);
	if (n <= ERRORS_SHOWN)
		fprintf(stderr, "hsmca bench acme: error: %s: %s: %s\n", what,
		    e->type ? e->type : "?", e->detail);
	else if (n == ERRORS_SHOWN + 1)
		fprintf(stderr, "hsmca bench acme: further errors are counted, "
		    "not printed\n");
	pthread_mutex_unlock(&r->print_lock);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	struct hsmca_err e = { 0 };
	char what[128], name[MAX_SUFFIX + 64];
	int ready;
	long i;

	ready = bacme_client_init(&w->c, r->directory, r->ca_bundle, &e) == 0
	    && bacme_account_new(&w->c, &e) == 0;
	if (!ready) {
		snprintf(what, sizeof(what), "worker %u account", w->id);
		report(r, what, &e);
	}
	/* Wait for the others: accounts are not part of the figures. */
	pthread_mutex_lock(&r->go_lock);
	r->ready++;
	pthread_cond_broadcast(&r->go_cond);
	while (!r->go)
		pthread_cond_wait(&r->go_cond, &r->go_lock);
	pthread_mutex_unlock(&r->go_lock);
	while (ready && !atomic_load(&r->give_up) &&
	    (i = atomic_fetch_add(&r->next, 1)) < r->orders) {
		double t0 = now_s();

		hsmca_err_clear(&e);
		snprintf(name, sizeof(name), "o%ld-w%u.%s", i, w->id,
		    r->domain);
		if (bacme_order_run(&w->c, r->h01, w->id, name,
		    &r->steps[(size_t)i * BACME_NSTEPS], &e) != 0) {
			snprintf(what, sizeof(what), "order %ld (%.40s)", i,
			    name);
			report(r, what, &e);
			continue;
		}
		r->lat[i] = now_s() - t0;
		atomic_fetch_add(&r->done, 1);
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile `p` (0..1) of `n` sorted values. */
static double
percentile(const double *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(p * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	return v[(k > n ? n : k) - 1];
}

/* The median of each step over the completed orders, on one line;
 * `tmp` holds r->orders doubles. */
static void
print_steps(const struct run *r, double *tmp)
{
	printf("step p50 ms:");
	for (int s = 0; s < BACME_NSTEPS; s++) {
		size_t n = 0;

		for (long i = 0; i < r->orders; i++)
			if (r->lat[i] >= 0)
				tmp[n++] = r->steps[(size_t)i * BACME_NSTEPS + s];
		qsort(tmp, n, sizeof(*tmp), cmp_double);
		printf(" %s %.1f", bacme_step_names[s],
		    percentile(tmp, n, 0.50) * 1e3);
	}
	printf("\n");
}

/* CPU seconds this process has used (all threads). */
static double
cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Print the figures of a finished run; returns the exit code.  `cpu` is
 * the generator's own CPU time during the order phase: on a small
 * machine it competes with the server for the same cores. */
static int
print_figures(struct run *r, double accounts_s, double elapsed, double cpu)
{
	struct bacme_counts sum = { 0 };
	double *sorted;
	size_t n = 0;
	long done = atomic_load(&r->done), errors = atomic_load(&r->errors);

	if ((sorted = calloc((size_t)r->orders, sizeof(*sorted))) == NULL) {
		fprintf(stderr, "hsmca bench acme: out of memory\n");
		return CLI_EXIT_INTERNAL;
	}
	for (long i = 0; i < r->orders; i++)
		if (r->lat[i] >= 0)
			sorted[n++] = r->lat[i];
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	for (unsigned i = 0; i < r->conc; i++) {
		sum.requests += r->w[i].c.counts.requests;
		sum.connects += r->w[i].c.counts.connects;
		sum.new_nonce += r->w[i].c.counts.new_nonce;
		sum.bad_nonce += r->w[i].c.counts.bad_nonce;
		sum.polls += r->w[i].c.counts.polls;
		sum.retry_after += r->w[i].c.counts.retry_after;
		sum.poll_wait_s += r->w[i].c.counts.poll_wait_s;
	}
	printf("directory: %s\n", r->directory);
	printf("concurrency: %u\n", r->conc);
	printf("accounts: %.3f s\n", accounts_s);
	printf("orders completed: %ld of %ld\n", done, r->orders);
	printf("errors: %ld\n", errors);
	printf("requests: %lu (newNonce %lu, badNonce retried %lu, "
	    "polls %lu)\n", sum.requests, sum.new_nonce, sum.bad_nonce,
	    sum.polls);
	printf("connections: %lu\n", sum.connects);
	printf("poll wait: %.1f ms/order (Retry-After on %lu answers)\n",
	    done > 0 ? sum.poll_wait_s * 1e3 / (double)done : 0,
	    sum.retry_after);
	printf("http-01 answered: %lu (404: %lu)\n",
	    bacme_http01_hits(r->h01), bacme_http01_misses(r->h01));

	printf("elapsed: %.3f s\n", elapsed);
	printf("generator cpu: %.3f s (%.2f ms/order)\n", cpu,
	    done > 0 ? cpu * 1e3 / (double)done : 0);
	printf("latency p50: %.1f ms\n", percentile(sorted, n, 0.50) * 1e3);
	printf("latency p99: %.1f ms\n", percentile(sorted, n, 0.99) * 1e3);
	print_steps(r, sorted);
	printf("orders/s: %.1f\n", elapsed > 0 ? (double)done / elapsed : 0);
	free(sorted);
	if (errors == 0 && done == r->orders)
		return CLI_EXIT_OK;
	fprintf(stderr, "hsmca bench acme: run had %ld error(s)%s; %ld of %ld "
	    "orders completed\n", errors,
	    atomic_load(&r->give_up) ? " and gave up early" : "", done,
	    r->orders);
	return CLI_EXIT_INTERNAL;
}

/* `hsmca bench acme`; returns the exit code. */
int
bench_acme_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "directory", required_argument, NULL, 'd' },
		{ "ca-bundle", required_argument, NULL, 'b' },
		{ "orders", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "http01-port", required_argument, NULL, 'p' },
		{ "domain", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run *r = NULL;
	struct hsmca_err e = { 0 };
	char listen[32];
	long orders = DEFAULT_ORDERS, conc = DEFAULT_CONCURRENCY;
	long port = DEFAULT_HTTP01_PORT;
	const char *directory = NULL, *bundle = NULL, *domain = DEFAULT_DOMAIN;
	double t0, accounts_s, elapsed, cpu0;
	int ch, rc = CLI_EXIT_INTERNAL, curl_up = 0;
	unsigned started = 0;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			directory = optarg;
			break;
		case 'b':
			bundle = optarg;
			break;
		case 'n':
			if (parse_num(optarg, 1, MAX_ORDERS, &orders) != 0)
				return cli_usage_error(usage_line, "--orders: "
				    "want 1..%ld, not \"%s\"", MAX_ORDERS,
				    optarg);
			break;
		case 'c':
			if (parse_num(optarg, 1, BACME_MAX_WORKERS, &conc) != 0)
				return cli_usage_error(usage_line,
				    "--concurrency: want 1..%d, not \"%s\"",
				    BACME_MAX_WORKERS, optarg);
			break;
		case 'p':
			if (parse_num(optarg, 1, 65535, &port) != 0)
				return cli_usage_error(usage_line,
				    "--http01-port: want 1..65535, not \"%s\"",
				    optarg);
			break;
		case 's':
			domain = optarg;
			break;
		case 'h':
			help();
			return CLI_EXIT_OK;
		default:
			return cli_usage_error(usage_line, "unknown option "
			    "or missing argument: %s", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error(usage_line, "unexpected argument \"%s\"",
		    argv[optind]);
	if (directory == NULL || bundle == NULL)
		return cli_usage_error(usage_line, "--directory and "
		    "--ca-bundle are required");
	if (strncmp(directory, "https://", 8) != 0 &&
	    strncmp(directory, "http://", 7) != 0)
		return cli_usage_error(usage_line, "--directory: want an "
		    "http:// or https:// URL, not \"%s\"", directory);
	if (!suffix_ok(domain))
		return cli_usage_error(usage_line, "--domain: want lower-case "
		    "dns labels (a-z, 0-9, inner '-'), at most %d bytes, not "
		    "\"%s\"", MAX_SUFFIX, domain);

	/* Neither libcurl (told not to use signals) nor the responder may
	 * be killed by a peer closing its end. */
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "hsmca bench acme: curl_global_init failed\n");
		goto out;
	}
	curl_up = 1;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		fprintf(stderr, "hsmca bench acme: out of memory\n");
		goto out;
	}
	pthread_mutex_init(&r->print_lock, NULL);
	pthread_mutex_init(&r->go_lock, NULL);
	pthread_cond_init(&r->go_cond, NULL);
	if ((r->lat = malloc((size_t)orders * sizeof(*r->lat))) == NULL ||
	    (r->steps = calloc((size_t)orders * BACME_NSTEPS,
	    sizeof(*r->steps))) == NULL) {
		fprintf(stderr, "hsmca bench acme: out of memory\n");
		goto out;
	}
	for (long i = 0; i < orders; i++)
		r->lat[i] = -1;
	r->directory = directory;
	r->ca_bundle = bundle;
	r->domain = domain;
	r->orders = orders;
	r->conc = (unsigned)conc;
	snprintf(listen, sizeof(listen), "127.0.0.1:%ld", port);
	if (bacme_http01_start(listen, r->conc, &r->h01, &e) != 0) {
		rc = cli_fail(&e);
		goto out;
	}

	t0 = now_s();
	for (; started < r->conc; started++) {
		struct worker *w = &r->w[started];

		w->r = r;
		w->id = started;
		if (pthread_create(&w->tid, NULL, worker_main, w) != 0)
			break;
		w->started = 1;
	}
	if (started < r->conc) {
		fprintf(stderr, "hsmca bench acme: cannot start worker %u\n",
		    started);
		atomic_store(&r->give_up, 1);
		atomic_fetch_add(&r->errors, 1);
	}
	/* Start the clock when every account is made. */
	pthread_mutex_lock(&r->go_lock);
	while (r->ready < started)
		pthread_cond_wait(&r->go_cond, &r->go_lock);
	accounts_s = now_s() - t0;
	cpu0 = cpu_s();
	t0 = now_s();
	r->go = 1;
	pthread_cond_broadcast(&r->go_cond);
	pthread_mutex_unlock(&r->go_lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(r->w[i].tid, NULL);
	elapsed = now_s() - t0;
	rc = print_figures(r, accounts_s, elapsed, cpu_s() - cpu0);
out:
	if (r != NULL) {
		for (unsigned i = 0; i < r->conc; i++)
			bacme_client_fini(&r->w[i].c);
		bacme_http01_stop(r->h01);
		pthread_cond_destroy(&r->go_cond);
		pthread_mutex_destroy(&r->go_lock);
		pthread_mutex_destroy(&r->print_lock);
		free(r->lat);
		free(r->steps);
		free(r);
	}
	if (curl_up)
		curl_global_cleanup();
	return rc;
}
