/*
 * store/meta.c - small named values in the "meta" database.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define RESERVED_SCHEMA "schema_version"

/* A name must be a non-empty LMDB key. */
static bool
name_ok(struct store *st, const char *name)
{
	size_t n;

	if (name == NULL || (n = strlen(name)) == 0)
		return false;
	return n <= (size_t)mdb_env_get_maxkeysize(st->env);
}

/*
 * Set `name` to a copy of `val`.  "schema_version" belongs to the
 * store itself and is refused.  See store.h.
 */
int
store_meta_put(struct store_txn *txn, const char *name, const void *val,
    size_t len)
{
	MDB_val k, v;
	int mrc;

	if (txn->err != 0)
		return txn->err;
	if (!name_ok(txn->st, name) || (val == NULL && len > 0))
		return store_txn_fail(txn, HSMCA_EINVAL, 0,
		    "store: meta name must be 1 to %d bytes",
		    mdb_env_get_maxkeysize(txn->st->env));
	if (strcmp(name, RESERVED_SCHEMA) == 0)
		return store_txn_fail(txn, HSMCA_EINVAL, 0,
		    "store: meta \"%s\" is set by the store only",
		    RESERVED_SCHEMA);
	k.mv_data = (void *)name;
	k.mv_size = strlen(name);
	v.mv_data = (void *)(len > 0 ? val : "");
	v.mv_size = len;
	if ((mrc = mdb_put(txn->txn, txn->st->dbi[STORE_DB_META], &k, &v,
	    0)) != 0)
		return store_txn_fail(txn, store_mdb_code(mrc), mrc,
		    "store: meta \"%s\": %s", name, mdb_strerror(mrc));
	return 0;
}

/*
 * Read `name` from a fresh snapshot into a malloc'd copy.  See
 * store.h.  A zero-length value gives a non-NULL *out.
 */
int
store_meta_get(struct store *st, const char *name, void **out, size_t *len)
{
	struct store_rtxn r;
	MDB_val k, v;
	void *p = NULL;
	int mrc, rc;

	*out = NULL;
	*len = 0;
	if (!name_ok(st, name))
		return HSMCA_EINVAL;
	if ((rc = store_rtxn_begin(st, &r, NULL)) != 0)
		return rc;
	k.mv_data = (void *)name;
	k.mv_size = strlen(name);
	if ((mrc = mdb_get(r.txn, st->dbi[STORE_DB_META], &k, &v)) != 0) {
		rc = store_mdb_code(mrc);
		goto out;
	}
	if ((p = malloc(v.mv_size > 0 ? v.mv_size : 1)) == NULL) {
		rc = HSMCA_ENOMEM;
		goto out;
	}
	if (v.mv_size > 0)
		memcpy(p, v.mv_data, v.mv_size);
	*out = p;
	*len = v.mv_size;
	rc = 0;
out:
	store_rtxn_end(&r);
	return rc;
}
