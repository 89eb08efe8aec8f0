/*
 * tools/bench_crl.c - `hsmca bench crl`: time building and signing every
 * CRL shard over N revoked certificates.
 *
 * A throwaway CA (new SoftHSM2 token) is built in a temporary
 * directory, N revoked certificate records and their shard entries are
 * written straight through the store in large batches, then every
 * shard's CRL is built, signed in the token and stored durably, timed
 * as a whole.  --index writes the same entries as an `openssl ca`
 * index.txt, so scripts/bench-crl.sh can time `openssl ca -gencrl` over
 * exactly these revocations.
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca_revoke.h"
#include "store/store_revoke.h"
#include "tools/cli.h"

static const char usage_line[] =
    "hsmca bench crl [--revoked N] [--shards S] [--key-type TYPE] "
    "[--index FILE] [--dir PARENT]";

#define BATCH 20000		/* records per store_write */
#define SERIAL_LEN 16
#define DAY 86400

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Build a throwaway CA (new SoftHSM2 token) in a temporary directory,\n"
	    "write N revoked certificate records and their CRL shard entries\n"
	    "through the store in batches of %d, then build, sign (in the\n"
	    "token) and durably store the CRL of every shard.  Prints the time\n"
	    "of that last step (\"crl: X s\"), the entries listed, and the peak\n"
	    "resident set size of the build phase and of the whole process.\n"
	    "The directory is removed at exit.\n\n"
	    "  --revoked N        revoked certificates (default 100000)\n"
	    "  --shards S         CRL shards (default 16)\n"
	    "  --key-type TYPE    CA key type (default ec-p256)\n"
	    "  --index FILE       also write the entries as an openssl ca\n"
	    "                     index.txt (for scripts/bench-crl.sh)\n"
	    "  --dir PARENT       where the temporary CA goes (default $TMPDIR\n"
	    "                     or /tmp)\n"
	    "  --help             this text\n\n%s", usage_line, BATCH,
	    CLI_EXIT_HELP);
}

static double
elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* The reasons a subscriber may give, in turn (openssl ca knows no
 * privilegeWithdrawn, so it is left out for the comparison). */
static const int reasons[] = { 0, 1, 3, 4, 5 };

/* Record i: a 16-octet serial (first octet 0x10..0x7f), times, reason. */
static void
record_of(uint64_t i, int64_t now, uint32_t nshards, struct store_cert *c)
{
	uint64_t h = i * 0x9e3779b97f4a7c15ull;

	memset(c, 0, sizeof(*c));
	c->serial[0] = (unsigned char)(0x10 + (h >> 57) % 0x70);
	for (int k = 1; k < 8; k++)
		c->serial[k] = (unsigned char)(h >> (8 * (k - 1)));
	for (int k = 8; k < SERIAL_LEN; k++)
		c->serial[k] = (unsigned char)(i >> (8 * (SERIAL_LEN - 1 - k)));
	c->serial_len = SERIAL_LEN;
	c->status = STORE_CERT_REVOKED;
	c->not_before = now - 10 * DAY;
	c->not_after = now + 80 * DAY - (int64_t)(i % DAY);
	c->issued_at = c->not_before;
	c->revoked_at = now - 1 - (int64_t)(h % (9 * DAY));
	c->revoke_reason = reasons[i % (sizeof(reasons) / sizeof(reasons[0]))];
	c->crl_shard = ca_crl_shard(c->serial, SERIAL_LEN, nshards);
	snprintf(c->profile, sizeof(c->profile), "dv");
}

struct fill {
	uint64_t from, to;
	int64_t now;
	uint32_t nshards;
};

/* One batch: records from..to-1 and their shard entries. */
static int
fill_fn(struct store_txn *txn, void *arg)
{
	const struct fill *f = arg;
	struct store_cert c;
	struct store_revoked e;

	for (uint64_t i = f->from; i < f->to; i++) {
		record_of(i, f->now, f->nshards, &c);
		memcpy(e.serial, c.serial, SERIAL_LEN);
		e.serial_len = SERIAL_LEN;
		e.revoked_at = c.revoked_at;
		e.reason = c.revoke_reason;
		e.not_after = c.not_after;
		store_cert_put(txn, &c);
		store_revoked_put(txn, c.crl_shard, &e);
	}
	for (uint32_t s = 0; s < f->nshards && f->from == 0; s++)
		store_crl_mark_dirty(txn, s, f->now);
	return store_txn_error(txn);
}

/* openssl ca's reason names (crypto/x509/v3_enum.c spelling). */
static const char *
ossl_reason(int r)
{
	switch (r) {
	case 1: return "keyCompromise";
	case 3: return "affiliationChanged";
	case 4: return "superseded";
	case 5: return "cessationOfOperation";
	default: return NULL;
	}
}

/* YYMMDDHHMMSSZ, as index.txt holds times. */
static void
utc(int64_t t, char *out, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	/* index.txt holds UTCTime: two-digit years are the format. */
	snprintf(out, len, "%02u%02u%02u%02u%02u%02uZ",
	    (unsigned)tm.tm_year % 100, (unsigned)tm.tm_mon % 12 + 1,
	    (unsigned)tm.tm_mday % 32, (unsigned)tm.tm_hour % 24,
	    (unsigned)tm.tm_min % 60, (unsigned)tm.tm_sec % 61);
}

/* The same N entries as an openssl ca index.txt. */
static int
write_index(const char *path, uint64_t n, int64_t now, uint32_t nshards,
    struct hsmca_err *err)
{
	struct store_cert c;
	char exp[32], rev[32], hex[2 * SERIAL_LEN + 1];
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL)
		return hsmca_err_set(err, HSMCA_EIO, "io", "cannot create %s: %s",
		    path, strerror(errno));
	for (uint64_t i = 0; i < n; i++) {
		const char *r;

		record_of(i, now, nshards, &c);
		utc(c.not_after, exp, sizeof(exp));
		utc(c.revoked_at, rev, sizeof(rev));
		for (int k = 0; k < SERIAL_LEN; k++)
			snprintf(hex + 2 * k, 3, "%02X", c.serial[k]);
		r = ossl_reason(c.revoke_reason);
		fprintf(fp, "R\t%s\t%s%s%s\t%s\tunknown\t/CN=bench-%llu\n", exp,
		    rev, r ? "," : "", r ? r : "", hex, (unsigned long long)i);
	}
	if (fclose(fp) != 0)
		return hsmca_err_set(err, HSMCA_EIO, "io", "cannot write %s: %s",
		    path, strerror(errno));
	return 0;
}

/* The "NAME: N kB" line of /proc/self/status, in KiB, or -1. */
static long
vm_status(const char *name)
{
	char line[128];
	size_t n = strlen(name);
	long kb = -1;
	FILE *fp;

	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(fp);
	return kb;
}

/* Reset the peak RSS counter so the next reading covers one phase. */
static void
reset_hwm(void)
{
	FILE *fp;

	if ((fp = fopen("/proc/self/clear_refs", "w")) != NULL) {
		fputs("5", fp);
		fclose(fp);
	}
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

struct opts {
	uint64_t n;
	uint32_t shards;
	enum hsm_key_type type;
	const char *index;
};

static int
bench_run(const char *dir, const struct opts *op, struct hsmca_err *err)
{
	struct ca_init_params p = { 0 };
	struct hsmca_config *cfg = NULL, *ocfg = NULL;
	struct ca *ca = NULL;
	struct timespec t0;
	char conf[PATH_MAX], num[16];
	size_t entries = 0, bytes = 0;
	double secs;
	long rss0;
	int64_t now;
	int rc;

	if ((cfg = config_new()) == NULL || (ocfg = config_new()) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	snprintf(num, sizeof(num), "%u", (unsigned)op->shards);
	p.state_dir = dir;
	p.cfg = cfg;
	p.key_type = op->type;
	p.create_token = true;
	if ((rc = config_set(cfg, "ca.crl_shards", num, err)) != 0 ||
	    (rc = ca_init(&p, err)) != 0)
		goto out;
	snprintf(conf, sizeof(conf), "%s/hsmca.conf", dir);
	if ((rc = config_load(ocfg, conf, err)) != 0 ||
	    (rc = ca_open(dir, ocfg, &ca, err)) != 0 ||
	    (rc = ca_crl_configure(ca, ocfg, err)) != 0)
		goto out;
	now = ca_now(ca);
	printf("key type: %s, revoked: %llu, shards: %u\n",
	    hsm_key_type_name(op->type), (unsigned long long)op->n,
	    (unsigned)op->shards);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < op->n || i == 0; i += BATCH) {
		struct fill f = { i, i + BATCH < op->n ? i + BATCH : op->n,
		    now, op->shards };
		if ((rc = store_write(ca_store(ca), fill_fn, &f, err)) != 0)
			goto out;
	}
	printf("populate: %.2f s\n", elapsed(&t0));
	if (op->index != NULL) {
		if ((rc = write_index(op->index, op->n, now, op->shards,
		    err)) != 0)
			goto out;
		printf("index: %s\n", op->index);
	}
	fflush(stdout);

	/*
	 * Reopen, as a restarted daemon would: the map pages the populate
	 * phase touched leave the resident set, so the peak below is the
	 * CRL phase's own.
	 */
	ca_close(ca);
	ca = NULL;
	if ((rc = ca_open(dir, ocfg, &ca, err)) != 0 ||
	    (rc = ca_crl_configure(ca, ocfg, err)) != 0)
		goto out;
	reset_hwm();
	rss0 = vm_status("VmRSS");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t s = 0; s < op->shards; s++) {
		struct ca_crl_info info;
		unsigned char *der = NULL;
		size_t len = 0;

		if ((rc = ca_crl_build(ca, s, &der, &len, &info, err)) != 0)
			goto out;
		entries += info.entries;
		bytes += len;
		free(der);
	}
	secs = elapsed(&t0);
	printf("crl: %.3f s (%u shards, %zu entries, %zu bytes)\n", secs,
	    (unsigned)op->shards, entries, bytes);
	/*
	 * The store's pages the walk maps count as resident too, and the
	 * kernel maps neighbouring page-cache pages with each fault (fault
	 * around), so RssFile overstates what the walk read; those pages
	 * are clean and shared.  RssAnon is what the build allocated.
	 */
	printf("peak RSS: %.1f MiB (crl phase); at its end RssAnon %.1f MiB, "
	    "RssFile %.1f MiB (store pages mapped); %.1f MiB resident when "
	    "it began\n", (double)vm_status("VmHWM") / 1024,
	    (double)vm_status("RssAnon") / 1024,
	    (double)vm_status("RssFile") / 1024, (double)rss0 / 1024);
	if (entries != op->n) {
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "the CRLs list %zu entries, not %llu", entries,
		    (unsigned long long)op->n);
		goto out;
	}
	rc = 0;
out:
	ca_close(ca);
	config_free(cfg);
	config_free(ocfg);
	return rc;
}

/* `hsmca bench crl`: argv[0] is "crl"; returns the exit code. */
int
bench_crl_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, CLI_OPT_HELP },
		{ "revoked", required_argument, NULL, 'n' },
		{ "shards", required_argument, NULL, 's' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "index", required_argument, NULL, 'i' },
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts op = { 100000, 16, HSM_KEY_EC_P256, NULL };
	struct hsmca_err err = { 0 };
	const char *parent = getenv("TMPDIR");
	char dir[PATH_MAX] = "", *end;
	long long n;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case CLI_OPT_HELP:
			help();
			return CLI_EXIT_OK;
		case 'n':
		case 's':
			errno = 0;
			n = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    n < (ch == 'n' ? 0 : 1) ||
			    n > (ch == 'n' ? 100000000 : 4096))
				return cli_usage_error(usage_line,
				    "bad number \"%s\"", optarg);
			if (ch == 'n')
				op.n = (uint64_t)n;
			else
				op.shards = (uint32_t)n;
			break;
		case 'k':
			if (hsm_key_type_parse(optarg, &op.type) != 0)
				return cli_usage_error(usage_line,
				    "unknown key type \"%s\"", optarg);
			break;
		case 'i':
			op.index = optarg;
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
	rc = bench_run(dir, &op, &err);
out:
	if (dir[0] != '\0')
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}
