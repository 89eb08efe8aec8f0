/*
 * tests/hsm/fixture.c - see fixture.h.
 */
#define _XOPEN_SOURCE 700	/* nftw */

#include "fixture.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
fixture_rmtree(const char *dir)
{
	if (dir != NULL && *dir != '\0')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
fixture_write(const char *path, const char *content, int mode)
{
	int fd;
	size_t n = strlen(content);

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1)
		return -1;
	if (fchmod(fd, (mode_t)mode) != 0 ||
	    write(fd, content, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int
fixture_setup(struct fixture *f, int open_token)
{
	struct hsmca_err err = { 0 };
	const char *tmp = getenv("TMPDIR");

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/hsmca-hsm-XXXXXX",
	    tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	if (hsm_softhsm_setup(f->dir, f->conf, sizeof(f->conf), &err) != 0 ||
	    hsm_token_create(FIX_MODULE, f->conf, FIX_LABEL, FIX_SO_PIN,
	    FIX_PIN, &err) != 0)
		goto fail;
	snprintf(f->pin_file, sizeof(f->pin_file), "%s/pin", f->dir);
	if (fixture_write(f->pin_file, FIX_PIN "\n", 0600) != 0)
		goto fail;
	f->params.module = FIX_MODULE;
	f->params.softhsm_conf = f->conf;
	f->params.token_uri = FIX_URI;
	f->params.pin_env = NULL;
	f->params.pin_file = f->pin_file;
	if (open_token && hsm_open(&f->params, &f->hsm, &err) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "fixture: %s: %s\n", hsmca_code_name(err.code),
	    err.detail);
	fixture_rmtree(f->dir);
	return -1;
}

void
fixture_teardown(struct fixture *f)
{
	hsm_close(f->hsm);
	f->hsm = NULL;
	fixture_rmtree(f->dir);
}
