/*
 * tools/cli.c - the parts every hsmca subcommand shares.
 */
#include "tools/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A CSR, a certificate or a chain is far below this. */
#define CLI_FILE_MAX (1024 * 1024)

/* Take --state or --set into `o`; see cli.h. */
int
cli_opt_common(struct cli_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case CLI_OPT_STATE:
		o->state = arg;
		return 1;
	case CLI_OPT_SET:
		if (o->nsets == CLI_MAX_SETS) {
			fprintf(stderr, "hsmca: usage: at most %d --set options\n",
			    CLI_MAX_SETS);
			return -CLI_EXIT_USAGE;
		}
		o->sets[o->nsets++] = arg;
		return 1;
	default:
		return 0;
	}
}

/* The documented exit code of an HSMCA_E* code (hsmca.1 EXIT STATUS). */
int
cli_exit_code(int code)
{
	switch (code) {
	case HSMCA_OK:
		return CLI_EXIT_OK;
	case HSMCA_EINVAL:
	case HSMCA_EPOLICY:
	case HSMCA_ELINT:
		return CLI_EXIT_INPUT;
	case HSMCA_ENOTFOUND:
		return CLI_EXIT_NOTFOUND;
	case HSMCA_EHSM:
	case HSMCA_EPIN:
		return CLI_EXIT_HSM;
	case HSMCA_EIO:
		return CLI_EXIT_STORE;
	case HSMCA_EEXIST:
		return CLI_EXIT_EXISTS;
	default:
		return CLI_EXIT_INTERNAL;
	}
}

/* Print the error as "hsmca: <type>: <detail>"; returns its exit code. */
int
cli_fail(const struct hsmca_err *err)
{
	const char *type = err->type != NULL ? err->type : "error";
	const char *detail = err->detail[0] != '\0' ? err->detail :
	    hsmca_code_name(err->code);

	fprintf(stderr, "hsmca: %s: %s\n", type, detail);
	/*
	 * A malformed invocation found after option parsing (no state
	 * directory, --set without '=') is still a usage error.
	 */
	if (err->code == HSMCA_EINVAL && err->type != NULL &&
	    strcmp(err->type, "usage") == 0)
		return CLI_EXIT_USAGE;
	return cli_exit_code(err->code);
}

/* Print a usage mistake and the usage line; returns 2. */
int
cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("hsmca: usage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n", usage);
	return CLI_EXIT_USAGE;
}

/* The state directory from --state, else HSMCA_STATE. */
int
cli_state_dir(const struct cli_opts *o, char *out, struct hsmca_err *err)
{
	const char *dir = o->state;

	if (dir == NULL || *dir == '\0')
		dir = getenv("HSMCA_STATE");
	if (dir == NULL || *dir == '\0')
		return hsmca_err_set(err, HSMCA_EINVAL, "usage",
		    "no state directory: give --state DIR or set HSMCA_STATE");
	if (strlen(dir) >= PATH_MAX)
		return hsmca_err_set(err, HSMCA_EINVAL, "usage",
		    "state directory path too long");
	snprintf(out, PATH_MAX, "%s", dir);
	return 0;
}

/* Defaults, then STATE/hsmca.conf, then the --set overrides in order. */
int
cli_config(const struct cli_opts *o, const char *state, bool need_file,
    struct hsmca_config **out, struct hsmca_err *err)
{
	struct hsmca_config *cfg;
	char path[PATH_MAX];
	int rc = HSMCA_ENOMEM;

	if ((cfg = config_new()) == NULL) {
		hsmca_err_set(err, rc, "serverInternal", "out of memory");
		goto out;
	}
	if (need_file) {
		if (snprintf(path, sizeof(path), "%s/hsmca.conf", state) >=
		    (int)sizeof(path)) {
			rc = hsmca_err_set(err, HSMCA_EINVAL, "usage",
			    "state directory path too long");
			goto out;
		}
		if (access(path, F_OK) != 0) {
			rc = hsmca_err_set(err, HSMCA_ENOTFOUND, "config",
			    "%s: no CA here (run hsmca init --state %s first)",
			    path, state);
			goto out;
		}
		if ((rc = config_load(cfg, path, err)) != 0)
			goto out;
	}
	/* Overrides come last so that they win over the file. */
	for (size_t i = 0; i < o->nsets; i++)
		if ((rc = config_set_arg(cfg, o->sets[i], err)) != 0)
			goto out;
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	config_free(cfg);
	return rc;
}

static int64_t
fixed_clock(void *arg)
{
	return *(const int64_t *)arg;
}

/* The HSMCA_NOW test clock, or NULL for real time. */
int
cli_clock(int64_t *slot, ca_clock_fn *clock, void **arg,
    struct hsmca_err *err)
{
	const char *v = getenv("HSMCA_NOW");
	char *end;
	long long n;

	*clock = NULL;
	*arg = NULL;
	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < 0)
		return hsmca_err_set(err, HSMCA_EINVAL, "usage",
		    "HSMCA_NOW must be Unix seconds, got \"%s\"", v);
	*slot = n;
	*clock = fixed_clock;
	*arg = slot;
	return 0;
}

/* Now in Unix seconds, honouring HSMCA_NOW. */
int64_t
cli_now(void)
{
	const char *v = getenv("HSMCA_NOW");
	char *end;
	long long n;

	if (v != NULL && *v != '\0') {
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno == 0 && end != v && *end == '\0' && n >= 0)
			return n;
	}
	return (int64_t)time(NULL);
}

/* Open the CA with the config and the test clock applied. */
int
cli_ca_open(const struct cli_opts *o, int64_t *now_slot, struct ca **ca,
    struct hsmca_config **cfgp, struct hsmca_err *err)
{
	struct hsmca_config *cfg = NULL;
	char state[PATH_MAX];
	ca_clock_fn clock;
	void *clock_arg;
	int rc;

	if ((rc = cli_state_dir(o, state, err)) != 0)
		goto out;
	if ((rc = cli_clock(now_slot, &clock, &clock_arg, err)) != 0)
		goto out;
	if ((rc = cli_config(o, state, true, &cfg, err)) != 0)
		goto out;
	if ((rc = ca_open(state, cfg, ca, err)) != 0)
		goto out;
	if (clock != NULL)
		ca_set_clock(*ca, clock, clock_arg);
	*cfgp = cfg;
	cfg = NULL;
	rc = 0;
out:
	config_free(cfg);
	return rc;
}

/* Open only the store: the read-only commands need no token. */
int
cli_store_open(const struct cli_opts *o, struct store **st,
    struct hsmca_err *err)
{
	struct hsmca_config *cfg = NULL;
	struct store_opts so = { 0 };
	char state[PATH_MAX], dir[PATH_MAX];
	int rc;

	if ((rc = cli_state_dir(o, state, err)) != 0)
		goto out;
	if ((rc = cli_config(o, state, true, &cfg, err)) != 0)
		goto out;
	if (config_get_path(cfg, "store.path", state, dir, sizeof(dir)) != 0) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "store.path: unset or too long");
		goto out;
	}
	so.map_size = (size_t)config_get_int(cfg, "store.map_size_mb") << 20;
	if ((rc = store_open(dir, &so, st, err)) != 0)
		goto out;
	rc = 0;
out:
	config_free(cfg);
	return rc;
}

/* Unix seconds as ISO 8601 UTC. */
void
cli_time_iso(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%lld", (long long)t);
}

/* Read a whole file or stdin, at most `max` bytes; caller frees. */
int
cli_read_file(const char *path, size_t max, unsigned char **bufp,
    size_t *lenp, struct hsmca_err *err)
{
	FILE *fp = NULL;
	unsigned char *buf = NULL;
	size_t len = 0, n;
	int rc = HSMCA_EIO;

	if (max == 0)
		max = CLI_FILE_MAX;
	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "rb")) == NULL) {
		rc = hsmca_err_set(err, errno == ENOENT ? HSMCA_ENOTFOUND :
		    HSMCA_EIO, "io", "%s: %s", path, strerror(errno));
		goto out;
	}
	/* One byte more than allowed tells "too big" from "exactly max". */
	if ((buf = malloc(max + 1)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	while ((n = fread(buf + len, 1, max + 1 - len, fp)) > 0)
		len += n;
	if (ferror(fp)) {
		rc = hsmca_err_set(err, HSMCA_EIO, "io", "%s: read error",
		    path);
		goto out;
	}
	if (len > max) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "badCSR",
		    "%s: larger than %zu bytes", path, max);
		goto out;
	}
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	rc = 0;
out:
	if (fp != NULL && fp != stdin)
		fclose(fp);
	free(buf);
	return rc;
}

/* Write a file by temp file, fsync and rename. */
int
cli_write_atomic(const char *path, const void *buf, size_t len,
    struct hsmca_err *err)
{
	char tmp[PATH_MAX], dcopy[PATH_MAX];
	const unsigned char *p = buf;
	int fd = -1, dfd = -1, rc = HSMCA_EIO;
	bool made = false;

	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >=
	    (int)sizeof(tmp)) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "usage",
		    "%s: path too long", path);
		goto out;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		hsmca_err_set(err, rc, "io", "%s: %s", tmp, strerror(errno));
		goto out;
	}
	made = true;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			hsmca_err_set(err, rc, "io", "%s: %s", tmp,
			    strerror(errno));
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	/* The certificate is public: readable like any PEM file. */
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		hsmca_err_set(err, rc, "io", "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		hsmca_err_set(err, rc, "io", "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		hsmca_err_set(err, rc, "io", "%s: %s", path, strerror(errno));
		goto out;
	}
	made = false;
	/* The rename itself is durable only once the directory is synced. */
	snprintf(dcopy, sizeof(dcopy), "%s", path);
	if ((dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY)) >= 0)
		(void)fsync(dfd);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (made)
		unlink(tmp);
	return rc;
}
