/*
 * tests/store/bench_store.c - durable small-record write throughput
 * through store_write(): bench_store [threads] [writes per thread].
 * Prints writes/s, commits and writes per commit.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "store/store.h"
#include "tests/store/helpers.h"

struct worker {
	struct store *st;
	uint32_t first, n;
	int failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char *names[] = { "bench.example" };
	struct store_cert c;
	uint32_t i;

	for (i = 0; i < w->n; i++) {
		th_cert(&c, w->first + i, 2000000000 + i, 1, names, 1);
		if (th_put(w->st, &c) != 0)
			w->failures++;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 1;
	uint32_t per = argc > 2 ? (uint32_t)atoi(argv[2]) : 1000;
	struct worker w[64];
	pthread_t th[64];
	struct store_stats stats;
	struct hsmca_err err = { 0 };
	struct store *st = NULL;
	struct timespec t0, t1;
	char *tmp = th_tmpdir();
	double secs;
	int t, failures = 0;

	if (tmp == NULL || nthreads < 1 || nthreads > 64)
		return 2;
	if (store_open(th_path(tmp, "db"), NULL, &st, &err) != 0) {
		fprintf(stderr, "store_open: %s\n", err.detail);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (t = 0; t < nthreads; t++) {
		w[t] = (struct worker){ st, (uint32_t)t * 10000000, per, 0 };
		pthread_create(&th[t], NULL, worker_main, &w[t]);
	}
	for (t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		failures += w[t].failures;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	store_stats(st, &stats);
	printf("threads %d writes %llu in %.3f s: %.0f writes/s, %llu commits"
	    " (%.1f writes/commit), failures %d\n", nthreads,
	    (unsigned long long)stats.writes, secs,
	    (double)stats.writes / secs, (unsigned long long)stats.commits,
	    (double)stats.writes / (double)stats.commits, failures);
	store_close(st);
	th_rmtree(tmp);
	return failures != 0;
}
