/*
 * tests/store/test_env.c - opening stores: creation, reopen, the
 * schema version check, bad directories, meta values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "store/store_int.h"
#include "tests/store/helpers.h"

/* Raw LMDB: set (val != NULL) or delete meta `key` in closed store `dir`. */
static void
raw_meta(const char *dir, const char *key, const void *val, size_t len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { strlen(key), (void *)key };
	MDB_val v = { len, (void *)val };

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	if (val != NULL)
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	else
		assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
test_create_and_reopen(void **state)
{
	char *tmp = th_tmpdir();
	char *names[] = { "a.example" };
	struct store_cert c, *got = NULL;
	struct store *st;
	void *val;
	size_t len;

	assert_non_null(tmp);
	/* A directory that does not exist yet is created. */
	st = th_open(th_path(tmp, "db"));
	th_cert(&c, 1, 2000000000, 0, names, 1);
	assert_int_equal(th_put(st, &c), 0);
	store_close(st);
	st = th_open(th_path(tmp, "db"));
	assert_int_equal(store_cert_get(st, c.serial, c.serial_len, &got,
	    NULL), 0);
	assert_string_equal(got->names[0], "a.example");
	store_cert_free(got);
	/* schema_version was written as 4 big-endian bytes. */
	assert_int_equal(store_meta_get(st, "schema_version", &val, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(val, "\0\0\0\1", 4);
	free(val);
	store_close(st);
	th_rmtree(tmp);
}

struct version_case {
	const char *desc;
	const void *val;	/* NULL: delete the key */
	size_t len;
	int expect;
};

static const struct version_case version_cases[] = {
	{ "version 1 (ours)", "\0\0\0\1", 4, 0 },
	{ "version 0", "\0\0\0\0", 4, HSMCA_EINVAL },
	{ "version 2", "\0\0\0\2", 4, HSMCA_EINVAL },
	{ "version 2^32-1", "\xff\xff\xff\xff", 4, HSMCA_EINVAL },
	{ "3-byte value", "\0\0\1", 3, HSMCA_EINVAL },
	{ "5-byte value", "\0\0\0\0\1", 5, HSMCA_EINVAL },
	{ "missing, certificates present", NULL, 0, HSMCA_EINVAL },
};

static void
test_schema_version(void **state)
{
	struct hsmca_err err = { 0 };
	struct store_cert c;
	struct store *st;
	char *tmp, *dir;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(version_cases) / sizeof(version_cases[0]);
	    i++) {
		assert_non_null(tmp = th_tmpdir());
		dir = strdup(th_path(tmp, "db"));
		st = th_open(dir);
		th_cert(&c, 1, 2000000000, 0, NULL, 0);
		assert_int_equal(th_put(st, &c), 0);
		store_close(st);
		raw_meta(dir, "schema_version", version_cases[i].val,
		    version_cases[i].len);
		hsmca_err_clear(&err);
		st = NULL;
		rc = store_open(dir, NULL, &st, &err);
		if (rc != version_cases[i].expect)
			fail_msg("%s: got %d", version_cases[i].desc, rc);
		if (rc == 0) {
			assert_non_null(st);
			store_close(st);
		} else {
			assert_null(st);
			assert_string_equal(err.type, "store");
			assert_non_null(strstr(err.detail, "schema"));
		}
		free(dir);
		th_rmtree(tmp);
	}
	/* The message names both versions. */
	assert_non_null(tmp = th_tmpdir());
	dir = strdup(th_path(tmp, "db"));
	store_close(th_open(dir));
	raw_meta(dir, "schema_version", "\0\0\0\2", 4);
	hsmca_err_clear(&err);
	assert_int_equal(store_open(dir, NULL, &st, &err), HSMCA_EINVAL);
	assert_non_null(strstr(err.detail, "schema version 2"));
	assert_non_null(strstr(err.detail, "version 1"));
	free(dir);
	th_rmtree(tmp);
}

static void
test_bad_dir(void **state)
{
	struct hsmca_err err = { 0 };
	struct store *st = NULL;
	char *tmp = th_tmpdir();

	assert_non_null(tmp);
	assert_int_equal(store_open(th_path(tmp, "no/such/parent"), NULL, &st,
	    &err), HSMCA_EIO);
	assert_null(st);
	assert_string_equal(err.type, "store");
	store_close(NULL);
	th_rmtree(tmp);
}

struct meta_arg {
	const char *name;
	const void *val;
	size_t len;
};

static int
meta_fn(struct store_txn *txn, void *arg)
{
	struct meta_arg *m = arg;

	store_meta_put(txn, m->name, m->val, m->len);
	return store_txn_error(txn);
}

static void
test_meta(void **state)
{
	char *tmp = th_tmpdir();
	struct hsmca_err err = { 0 };
	struct store *st;
	struct meta_arg m;
	void *val;
	size_t len;

	assert_non_null(tmp);
	st = th_open(th_path(tmp, "db"));
	assert_int_equal(store_meta_get(st, "ca_id", &val, &len),
	    HSMCA_ENOTFOUND);
	assert_null(val);
	m = (struct meta_arg){ "ca_id", "abc", 3 };
	assert_int_equal(store_write(st, meta_fn, &m, &err), 0);
	assert_int_equal(store_meta_get(st, "ca_id", &val, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(val, "abc", 3);
	free(val);
	/* Overwrite with an empty value. */
	m = (struct meta_arg){ "ca_id", NULL, 0 };
	assert_int_equal(store_write(st, meta_fn, &m, &err), 0);
	assert_int_equal(store_meta_get(st, "ca_id", &val, &len), 0);
	assert_int_equal(len, 0);
	assert_non_null(val);
	free(val);
	/* Refused: empty name, the store's own key. */
	m = (struct meta_arg){ "", "x", 1 };
	assert_int_equal(store_write(st, meta_fn, &m, &err), HSMCA_EINVAL);
	hsmca_err_clear(&err);
	m = (struct meta_arg){ "schema_version", "\0\0\0\2", 4 };
	assert_int_equal(store_write(st, meta_fn, &m, &err), HSMCA_EINVAL);
	assert_non_null(strstr(err.detail, "schema_version"));
	store_close(st);
	/* Survives reopen. */
	st = th_open(th_path(tmp, "db"));
	assert_int_equal(store_meta_get(st, "ca_id", &val, &len), 0);
	assert_int_equal(len, 0);
	free(val);
	store_close(st);
	th_rmtree(tmp);
}

/*
 * A reply must never precede a durable commit: the environment keeps
 * LMDB's full sync (none of the flags that trade it away) and MDB_NOTLS.
 */
static void
test_durable_flags(void **state)
{
	char *tmp = th_tmpdir();
	struct store *st;
	unsigned int flags = 0;

	assert_non_null(tmp);
	st = th_open(th_path(tmp, "db"));
	assert_int_equal(mdb_env_get_flags(st->env, &flags), 0);
	assert_int_equal(flags & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_MAPASYNC |
	    MDB_WRITEMAP | MDB_RDONLY), 0);
	assert_true(flags & MDB_NOTLS);
	store_close(st);
	th_rmtree(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_and_reopen, th_cleanup),
		cmocka_unit_test_teardown(test_schema_version, th_cleanup),
		cmocka_unit_test_teardown(test_bad_dir, th_cleanup),
		cmocka_unit_test_teardown(test_meta, th_cleanup),
		cmocka_unit_test_teardown(test_durable_flags, th_cleanup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
