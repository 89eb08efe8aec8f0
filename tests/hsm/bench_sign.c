/*
 * tests/hsm/bench_sign.c - raw signing rate of a token key through
 * hsm_key_private(): EVP_DigestSign of SHA-256 over 1 KB, N threads,
 * for a fixed time.  The ceiling any issuance rate is compared to.
 *
 * usage: hsm_bench_sign ec-p256|ec-p384|rsa-2048|... THREADS SECONDS
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"

static atomic_int stop;

struct worker {
	EVP_PKEY *priv;
	long n;
	long failed;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	unsigned char msg[1024], sig[1024];
	EVP_MD_CTX *ctx;
	size_t siglen;

	memset(msg, 'b', sizeof(msg));
	while (!atomic_load(&stop)) {
		siglen = sizeof(sig);
		msg[0]++;
		if ((ctx = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
		    w->priv) != 1 ||
		    EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg)) != 1)
			w->failed++;
		else
			w->n++;
		EVP_MD_CTX_free(ctx);
	}
	return NULL;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct hsmca_err err = { 0 };
	struct fixture fix;
	struct hsm_key *key = NULL;
	struct worker w[64];
	pthread_t th[64];
	enum hsm_key_type type;
	int i, nth, rc = 1;
	long total = 0, failed = 0;
	double secs, t0, t1;

	if (argc != 4 || hsm_key_type_parse(argv[1], &type) != 0 ||
	    (nth = atoi(argv[2])) < 1 || nth > 64 ||
	    (secs = atof(argv[3])) <= 0) {
		fprintf(stderr, "usage: %s TYPE THREADS SECONDS\n", argv[0]);
		return 2;
	}
	if (fixture_setup(&fix, 1) != 0)
		return 1;
	if (hsm_key_generate(fix.hsm, type, "bench", &err) != 0 ||
	    hsm_key_open(fix.hsm, "pkcs11:object=bench", &key, &err) != 0) {
		fprintf(stderr, "%s\n", err.detail);
		goto out;
	}
	memset(w, 0, sizeof(w));
	t0 = now();
	for (i = 0; i < nth; i++) {
		w[i].priv = hsm_key_private(key);
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	while (now() - t0 < secs) {
		struct timespec d = { 0, 20 * 1000 * 1000 };
		nanosleep(&d, NULL);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < nth; i++) {
		pthread_join(th[i], NULL);
		total += w[i].n;
		failed += w[i].failed;
	}
	t1 = now();
	printf("%s threads=%d signatures=%ld failed=%ld seconds=%.2f "
	    "rate=%.0f/s\n", argv[1], nth, total, failed, t1 - t0,
	    (double)total / (t1 - t0));
	rc = failed != 0;
out:
	hsm_key_free(key);
	fixture_teardown(&fix);
	return rc;
}
