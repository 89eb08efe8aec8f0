/*
 * hsm/pin.c - read the token's user PIN from the environment or a file.
 *
 * PINs never come from argv (visible in ps) and never reach a log or an
 * error message; every buffer that held one is cleansed.
 */
#include "hsm/hsm_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* Drop trailing CR/LF (editors and `echo` add them). */
static size_t
trim_newline(char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return n;
}

/* Read a PIN file that only its owner can read. */
static int
read_pin_file(const char *path, const char *env, char *buf, size_t len,
    struct hsmca_err *err)
{
	char tmp[HSM_PIN_MAX + 3];
	struct stat st;
	ssize_t r;
	size_t n = 0;
	int fd = -1, rc = HSMCA_EPIN;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
		    "no PIN: %s%s%scannot open PIN file %s: %s",
		    env ? "environment variable " : "", env ? env : "",
		    env ? " is unset and " : "", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
		    "PIN file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
		    "PIN file %s is accessible by group or others (mode %04o);"
		    " run chmod 600 on it", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	/* One spare byte to tell "too long" from "exactly the limit + LF". */
	while (n < sizeof(tmp) - 1) {
		r = read(fd, tmp + n, sizeof(tmp) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
			    "cannot read PIN file %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	tmp[n] = '\0';
	if (memchr(tmp, '\0', n) != NULL) {
		hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
		    "PIN file %s contains a NUL byte", path);
		goto out;
	}
	n = trim_newline(tmp, n);
	if (n == 0) {
		hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
		    "PIN file %s is empty", path);
		goto out;
	}
	if (n > HSM_PIN_MAX || n >= len) {
		hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
		    "PIN in %s is longer than %d bytes", path, HSM_PIN_MAX);
		goto out;
	}
	memcpy(buf, tmp, n + 1);
	rc = 0;
out:
	OPENSSL_cleanse(tmp, sizeof(tmp));
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * Fill `buf` (of `len` bytes) with the PIN: the variable `pin_env` when
 * it is set (even if a file is also configured), else the contents of
 * `pin_file` less trailing newlines.  An empty PIN, an over-long PIN or
 * a file that group or others may access is refused.  Returns 0 or
 * HSMCA_EPIN.  The caller cleanses `buf`.
 */
int
hsm_pin_read(const char *pin_env, const char *pin_file, char *buf,
    size_t len, struct hsmca_err *err)
{
	const char *v = NULL;
	size_t n;

	if (len == 0)
		return hsmca_err_set(err, HSMCA_EINTERNAL, HSM_ERRTYPE,
		    "PIN buffer of 0 bytes");
	buf[0] = '\0';
	if (pin_env != NULL)
		v = getenv(pin_env);
	if (v != NULL) {
		n = strlen(v);
		if (n == 0)
			return hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
			    "environment variable %s holds an empty PIN",
			    pin_env);
		if (n > HSM_PIN_MAX || n >= len)
			return hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
			    "PIN in %s is longer than %d bytes", pin_env,
			    HSM_PIN_MAX);
		memcpy(buf, v, n + 1);
		return 0;
	}
	if (pin_file == NULL)
		return hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
		    "no PIN: %s%s%s and no PIN file configured",
		    pin_env ? "environment variable " : "no PIN variable",
		    pin_env ? pin_env : " configured",
		    pin_env ? " is unset" : "");
	return read_pin_file(pin_file, pin_env, buf, len, err);
}
