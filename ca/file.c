/*
 * ca/file.c - the CA's files on disk: atomic writes and small reads.
 */
#include "ca/ca_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Write atomically: a reader (or a crash) sees either the old file or the
 * complete new one.  The temp file is made with `mode` from the start, so
 * a secret is never readable by others even for a moment.
 */
int
ca_file_write(const char *path, const void *buf, size_t len, mode_t mode,
    struct hsmca_err *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const unsigned char *p = buf;
	int fd = -1, dfd = -1, rc = HSMCA_EIO;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return hsmca_err_set(err, HSMCA_EINVAL, "serverInternal",
		    "path too long: %s", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) < 0) {
		hsmca_err_set(err, HSMCA_EIO, "serverInternal",
		    "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* open() honours the umask; a secret must get exactly `mode`. */
	if (fchmod(fd, mode) != 0)
		goto io;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto io;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto io;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto io;
	/* The rename is durable only once the directory is synced. */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0) {
		hsmca_err_set(err, HSMCA_EIO, "serverInternal",
		    "cannot sync the directory of %s: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
io:
	hsmca_err_set(err, HSMCA_EIO, "serverInternal", "cannot write %s: %s",
	    path, strerror(errno));
	unlink(tmp);
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* 1 when `path` exists (any type), 0 when not. */
int
ca_file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Read a whole small file; refuses one larger than `max` bytes. */
int
ca_file_read(const char *path, size_t max, char **out, size_t *len,
    struct hsmca_err *err)
{
	FILE *fp = NULL;
	char *buf = NULL;
	size_t n;
	int rc = HSMCA_EIO;

	if ((fp = fopen(path, "rb")) == NULL) {
		rc = hsmca_err_set(err, errno == ENOENT ? HSMCA_ENOTFOUND :
		    HSMCA_EIO, "serverInternal", "cannot open %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	n = fread(buf, 1, max + 1, fp);
	if (ferror(fp)) {
		hsmca_err_set(err, HSMCA_EIO, "serverInternal",
		    "cannot read %s", path);
		goto out;
	}
	if (n > max) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, "serverInternal",
		    "%s is larger than %zu bytes", path, max);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	if (len != NULL)
		*len = n;
	rc = 0;
out:
	free(buf);
	if (fp != NULL)
		fclose(fp);
	return rc;
}
