/*
 * tools/cmd_bench.c - `hsmca bench NAME [OPTIONS]`: pick one benchmark.
 *
 * Each benchmark lives in its own tools/bench_*.c and parses its own
 * options; a new one is one row in the table below.
 */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

struct bench_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct bench_cmd benches[] = {
	{ "issue", bench_issue_main,
	  "issuance rate against the token's raw signing rate" },
	{ "crl", bench_crl_main,
	  "building and signing every CRL shard over N revoked entries" },
	{ "acme", bench_acme_main,
	  "complete ACME issuances per second against an RFC 8555 server" },
	{ "ocsp", bench_ocsp_main,
	  "pre-signed OCSP responses over HTTP against openssl ocsp" },
};

#define NBENCHES (sizeof(benches) / sizeof(benches[0]))

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: hsmca bench NAME [OPTIONS]\n\nBenchmarks:\n");
	for (size_t i = 0; i < NBENCHES; i++)
		fprintf(fp, "  %-8s %s\n", benches[i].name, benches[i].summary);
	fprintf(fp, "\n`hsmca bench NAME --help` describes each.\n\n%s",
	    CLI_EXIT_HELP);
}

/* `hsmca bench`; returns the exit code. */
int
cmd_bench(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < NBENCHES; i++)
		if (strcmp(argv[1], benches[i].name) == 0)
			return benches[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "hsmca bench: usage: unknown benchmark \"%s\"\n",
	    argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
