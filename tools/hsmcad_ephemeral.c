/*
 * tools/hsmcad_ephemeral.c - `hsmcad --ephemeral`: a throw-away CA (its
 * own SoftHSM2 token, store and certificates) in a fresh temporary
 * directory, removed again when hsmcad exits.  Test suites of other
 * projects start one per run, as they would start Pebble.
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include "tools/hsmcad.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* Remove the tree; see hsmcad.h. */
int
hsmcad_ephemeral_remove(const char *dir)
{
	if (dir == NULL || dir[0] == '\0')
		return 0;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* Make the directory and run the ceremony in it; see hsmcad.h. */
int
hsmcad_ephemeral_make(const struct cli_opts *o, char *dir,
    struct hsmca_err *err)
{
	struct ca_init_params p = { 0 };
	struct hsmca_config *cfg = NULL;
	const char *parent = getenv("TMPDIR");
	int64_t now_slot;
	int rc;

	if (parent == NULL || parent[0] == '\0')
		parent = "/tmp";
	if (snprintf(dir, PATH_MAX, "%s/hsmcad-XXXXXX", parent) >= PATH_MAX) {
		dir[0] = '\0';
		return hsmca_err_set(err, HSMCA_EINVAL, "usage",
		    "TMPDIR \"%.64s\" too long", parent);
	}
	if (mkdtemp(dir) == NULL) {
		rc = hsmca_err_set(err, HSMCA_EIO, "io",
		    "cannot make a directory under %s: %s", parent,
		    strerror(errno));
		dir[0] = '\0';
		return rc;
	}
	/* The overrides shape the ceremony too (key type, names, URLs). */
	if ((rc = cli_config(o, dir, false, &cfg, err)) != 0)
		goto out;
	if ((rc = cli_clock(&now_slot, &p.clock, &p.clock_arg, err)) != 0)
		goto out;
	p.state_dir = dir;
	p.cfg = cfg;
	p.create_token = true;
	rc = ca_init(&p, err);
out:
	config_free(cfg);
	if (rc != 0) {
		hsmcad_ephemeral_remove(dir);
		dir[0] = '\0';
	}
	return rc;
}
