/*
 * hsm/softhsm.c - a private SoftHSM2 configuration under a state
 * directory, so that hsmca never touches the system token directory.
 */
#include "hsm/hsm_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* See hsm.h. */
int
hsm_softhsm_setup(const char *dir, char *conf_path, size_t conf_len,
    struct hsmca_err *err)
{
	char absdir[PATH_MAX], tokdir[PATH_MAX + 16];
	struct stat st;
	FILE *fp = NULL;
	int fd = -1, n, rc = HSMCA_EIO;

	if (dir == NULL || *dir == '\0') {
		rc = hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "no SoftHSM2 directory given");
		goto out;
	}
	/* SoftHSM2 resolves a relative tokendir against its cwd: pin it. */
	if (*dir != '/') {
		if (realpath(dir, absdir) == NULL) {
			hsmca_err_set(err, HSMCA_EIO, HSM_ERRTYPE,
			    "cannot resolve %s: %s", dir, strerror(errno));
			goto out;
		}
		dir = absdir;
	}
	n = snprintf(tokdir, sizeof(tokdir), "%s/tokens", dir);
	if (n < 0 || (size_t)n >= sizeof(tokdir) ||
	    (n = snprintf(conf_path, conf_len, "%s/softhsm2.conf", dir)) < 0 ||
	    (size_t)n >= conf_len) {
		rc = hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "SoftHSM2 directory path too long: %s", dir);
		goto out;
	}
	if (mkdir(tokdir, 0700) != 0 && errno != EEXIST) {
		hsmca_err_set(err, HSMCA_EIO, HSM_ERRTYPE,
		    "cannot create %s: %s", tokdir, strerror(errno));
		goto out;
	}
	/* An existing directory must be ours alone too: it holds keys. */
	if (stat(tokdir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    chmod(tokdir, 0700) != 0) {
		hsmca_err_set(err, HSMCA_EIO, HSM_ERRTYPE,
		    "%s is not a usable directory", tokdir);
		goto out;
	}
	if ((fd = open(conf_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		hsmca_err_set(err, HSMCA_EIO, HSM_ERRTYPE,
		    "cannot write %s: %s", conf_path, strerror(errno));
		goto out;
	}
	fd = -1;
	fprintf(fp, "# SoftHSM2 configuration written by hsmca\n"
	    "directories.tokendir = %s\n"
	    "objectstore.backend = file\n"
	    "log.level = ERROR\n"
	    "slots.removable = false\n", tokdir);
	if (fflush(fp) != 0 || ferror(fp)) {
		hsmca_err_set(err, HSMCA_EIO, HSM_ERRTYPE,
		    "cannot write %s: %s", conf_path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fp != NULL && fclose(fp) != 0 && rc == 0)
		rc = hsmca_err_set(err, HSMCA_EIO, HSM_ERRTYPE,
		    "cannot write %s: %s", conf_path, strerror(errno));
	if (fd != -1)
		close(fd);
	return rc;
}
