/*
 * tests/hsm/fixture.h - a throw-away SoftHSM2 token for the hsm tests.
 *
 * fixture_setup() makes a temp dir with its own softhsm2.conf and token
 * dir (never the system one), initialises a token, writes an owner-only
 * PIN file and opens the token; fixture_teardown() closes it and removes
 * the whole directory.
 */
#ifndef HSMCA_TESTS_HSM_FIXTURE_H
#define HSMCA_TESTS_HSM_FIXTURE_H

#include <limits.h>

#include "hsm/hsm.h"

#define FIX_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define FIX_LABEL "hsmca-test"
#define FIX_SO_PIN "so-pin-8462"
#define FIX_PIN "user-pin-31337"
#define FIX_URI "pkcs11:token=" FIX_LABEL

struct fixture {
	char dir[PATH_MAX / 2];
	char conf[PATH_MAX];
	char pin_file[PATH_MAX];
	struct hsm_params params;
	struct hsm *hsm;
};

/* 0 or -1; prints the hsmca_err detail on failure. */
int fixture_setup(struct fixture *f, int open_token);
void fixture_teardown(struct fixture *f);

/* Write `content` to `path` with `mode`; 0 or -1. */
int fixture_write(const char *path, const char *content, int mode);

/* Remove `dir` and everything under it. */
void fixture_rmtree(const char *dir);

#endif
