/*
 * tests/store/helpers.h - temp directories and sample records for the
 * store tests.
 */
#ifndef HSMCA_TESTS_STORE_HELPERS_H
#define HSMCA_TESTS_STORE_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* A fresh empty directory under $TMPDIR (or /tmp); malloc'd path. */
char *th_tmpdir(void);

/* Remove `dir` and everything below it, then free(dir). */
void th_rmtree(char *dir);

/*
 * cmocka teardown: remove every th_tmpdir() not yet removed, so a
 * failed assertion (which skips the test's own cleanup) leaves nothing
 * behind.  Returns 0.
 */
int th_cleanup(void **state);

/* `dir`/`name` in a static buffer (valid until the next call). */
const char *th_path(const char *dir, const char *name);

/*
 * Fill `c` with a valid record: serial = 4 big-endian bytes of `n`
 * (plus a leading 0x01 so it is never all zero), the given not_after,
 * account and names (borrowed, not copied), a small DER blob.
 */
void th_cert(struct store_cert *c, uint32_t n, int64_t not_after,
    uint64_t account, char **names, size_t nnames);

/*
 * Write function: store_cert_put(txn, arg); a revoked record is also
 * listed on its CRL shard, as ca_revoke() does (a reason of -1 becomes
 * 0 in the record first).
 */
int th_put_fn(struct store_txn *txn, void *arg);

/* store_write(th_put_fn, c); returns its result. */
int th_put(struct store *st, struct store_cert *c);

/* Open `dir` with default options, failing the test on error. */
struct store *th_open(const char *dir);

/*
 * cmocka setup and teardown of a store in a fresh temp directory:
 * *state gets a struct th_store, which the teardown closes and frees.
 */
struct th_store {
	char *tmp;
	struct store *st;
};

int th_store_setup(void **state);
int th_store_teardown(void **state);

/* Whether the "ocsp" database holds a record for `serial`. */
bool th_ocsp_stored(struct store *st, const unsigned char *serial,
    size_t len);

/*
 * Write an OCSP record for `serial`: status good, the given times, a
 * small DER blob for both variants.  Fails the test on error.
 */
void th_ocsp_put(struct store *st, const unsigned char *serial, size_t len,
    int64_t this_update, int64_t next_update);

/* Write ACME account `id`: valid, a fixed thumbprint, no contact. */
void th_acme_account(struct store *st, uint64_t id);

/* The number of validation marks ('V' entries) in the store. */
size_t th_acme_marks(struct store *st);

/*
 * The number of problems store_check() (`hsmca db check`) finds, each
 * written to stderr; a walk that fails fails the test.
 */
size_t th_check_problems(struct store *st);

#endif
