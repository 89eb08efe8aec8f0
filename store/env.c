/*
 * store/env.c - open and close the LMDB environment.
 *
 * Creates the directory, opens the environment (MDB_NOTLS so a read
 * snapshot is not tied to a thread; the default durable sync flags so
 * a commit is on disk when mdb_txn_commit() returns), opens every named
 * database of store_db_table and checks the schema version in "meta".
 */
#define _GNU_SOURCE	/* pthread_rwlockattr_setkind_np */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_int.h"

#define DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define DEFAULT_MAX_BATCH 256
#define MAX_DBS 32		/* room for the record types still to come */
#define MAX_READERS 512		/* concurrent read snapshots (LMDB: 126) */
#define SCHEMA_KEY "schema_version"

/*
 * Every named database.  A new record type or index is one row here
 * (and its enum value in store_int.h).
 */
const struct store_db_def store_db_table[STORE_DB_COUNT] = {
	[STORE_DB_META] = { "meta", 0 },
	[STORE_DB_CERTS] = { "certs", 0 },
	[STORE_DB_CERTS_BY_EXPIRY] = { "certs_by_expiry", 0 },
	[STORE_DB_CERTS_BY_NAME] = { "certs_by_name", MDB_DUPSORT },
	[STORE_DB_CERTS_BY_ACCOUNT] = { "certs_by_account", MDB_DUPSORT },
	[STORE_DB_ACCOUNTS] = { "accounts", 0 },
	[STORE_DB_ACCOUNTS_BY_THUMB] = { "accounts_by_thumb", 0 },
	[STORE_DB_ORDERS] = { "orders", 0 },
	[STORE_DB_ORDERS_BY_ACCOUNT] = { "orders_by_account", MDB_DUPSORT },
	[STORE_DB_AUTHZS] = { "authzs", 0 },
	[STORE_DB_RATE] = { "rate", 0 },
	[STORE_DB_REVOKED_BY_SHARD] = { "revoked_by_shard", 0 },
	[STORE_DB_CRLS] = { "crls", 0 },
	[STORE_DB_AUDIT] = { "audit", 0 },
	[STORE_DB_OCSP] = { "ocsp", 0 },
};

/* Map an LMDB or errno result to an hsmca code. */
int
store_mdb_code(int mdb_rc)
{
	switch (mdb_rc) {
	case 0:			return 0;
	case MDB_NOTFOUND:	return HSMCA_ENOTFOUND;
	case MDB_KEYEXIST:	return HSMCA_EEXIST;
	case ENOMEM:		return HSMCA_ENOMEM;
	case EINVAL:		return HSMCA_EINVAL;
	default:		return HSMCA_EIO;
	}
}

/*
 * Begin a read snapshot.  Holds the resize lock shared until
 * store_rtxn_end(), so the map is never resized under a reader.
 */
int
store_rtxn_begin(struct store *st, struct store_rtxn *r, struct hsmca_err *err)
{
	int rc;

	r->st = st;
	r->txn = NULL;
	if (pthread_rwlock_rdlock(&st->resize_lock) != 0)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "store",
		    "store: resize lock failed");
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &r->txn)) != 0) {
		pthread_rwlock_unlock(&st->resize_lock);
		r->txn = NULL;
		return hsmca_err_set(err, store_mdb_code(rc), "store",
		    "store: read transaction: %s", mdb_strerror(rc));
	}
	return 0;
}

/* End a snapshot begun by store_rtxn_begin(); safe to call twice. */
void
store_rtxn_end(struct store_rtxn *r)
{
	if (r->txn == NULL)
		return;
	mdb_txn_abort(r->txn);
	r->txn = NULL;
	pthread_rwlock_unlock(&r->st->resize_lock);
}

/*
 * Open every named database in one write transaction.  A store that
 * has no schema_version yet is new (only when it holds no certificate)
 * and gets ours; one with another version is refused before anything
 * else is created in it.
 */
static int
open_dbs(struct store *st, const char *dir, struct hsmca_err *err)
{
	MDB_txn *txn = NULL;
	MDB_val k, v;
	MDB_stat ms;
	unsigned char ver[4];
	uint32_t have;
	size_t i;
	int mrc, rc = HSMCA_EIO;

	if ((mrc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		goto lmdb;
	if ((mrc = mdb_dbi_open(txn, store_db_table[STORE_DB_META].name,
	    MDB_CREATE, &st->dbi[STORE_DB_META])) != 0)
		goto lmdb;
	k.mv_data = SCHEMA_KEY;
	k.mv_size = strlen(SCHEMA_KEY);
	mrc = mdb_get(txn, st->dbi[STORE_DB_META], &k, &v);
	if (mrc == 0) {
		if (v.mv_size != sizeof(ver)) {
			rc = hsmca_err_set(err, HSMCA_EINVAL, "store",
			    "store %s: meta schema_version is %zu bytes, not 4;"
			    " the store is damaged", dir, v.mv_size);
			goto out;
		}
		memcpy(ver, v.mv_data, sizeof(ver));
		have = (uint32_t)ver[0] << 24 | (uint32_t)ver[1] << 16 |
		    (uint32_t)ver[2] << 8 | ver[3];
		if (have != STORE_SCHEMA_VERSION) {
			rc = hsmca_err_set(err, HSMCA_EINVAL, "store",
			    "store %s has schema version %u but this hsmca "
			    "reads version %d; use the hsmca release that wrote "
			    "it or migrate it", dir, have, STORE_SCHEMA_VERSION);
			goto out;
		}
	} else if (mrc != MDB_NOTFOUND)
		goto lmdb;
	for (i = 0; i < STORE_DB_COUNT; i++) {
		if ((mrc = mdb_dbi_open(txn, store_db_table[i].name,
		    store_db_table[i].flags | MDB_CREATE, &st->dbi[i])) != 0)
			goto lmdb;
	}
	k.mv_data = SCHEMA_KEY;
	k.mv_size = strlen(SCHEMA_KEY);
	if ((mrc = mdb_get(txn, st->dbi[STORE_DB_META], &k, &v)) ==
	    MDB_NOTFOUND) {
		if ((mrc = mdb_stat(txn, st->dbi[STORE_DB_CERTS], &ms)) != 0)
			goto lmdb;
		if (ms.ms_entries != 0) {
			rc = hsmca_err_set(err, HSMCA_EINVAL, "store",
			    "store %s holds certificates but no schema_version;"
			    " refusing to guess its format", dir);
			goto out;
		}
		ver[0] = 0;
		ver[1] = 0;
		ver[2] = 0;
		ver[3] = STORE_SCHEMA_VERSION;
		v.mv_data = ver;
		v.mv_size = sizeof(ver);
		if ((mrc = mdb_put(txn, st->dbi[STORE_DB_META], &k, &v, 0)) != 0)
			goto lmdb;
	} else if (mrc != 0)
		goto lmdb;
	mrc = mdb_txn_commit(txn);
	txn = NULL;
	if (mrc != 0)
		goto lmdb;
	rc = 0;
	goto out;
lmdb:
	rc = hsmca_err_set(err, store_mdb_code(mrc), "store",
	    "store %s: opening databases: %s", dir, mdb_strerror(mrc));
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

/*
 * Open (creating when missing) the store in `dir`.  See store.h.
 */
int
store_open(const char *dir, const struct store_opts *opts,
    struct store **out, struct hsmca_err *err)
{
	struct store *st = NULL;
	pthread_rwlockattr_t ra;
	pthread_condattr_t ca;
	MDB_envinfo info;
	size_t map_size = DEFAULT_MAP_SIZE;
	int mrc, dead, rc = HSMCA_EIO;
	bool rw = false, mu = false, cv1 = false, cv2 = false;

	*out = NULL;
	if (opts != NULL && opts->map_size != 0)
		map_size = opts->map_size;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = hsmca_err_set(err, HSMCA_EIO, "store",
		    "store: mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "store",
		    "store: out of memory");
		goto out;
	}
	if (opts != NULL)
		st->commit_delay_us = opts->commit_delay_us;
	st->max_batch = (opts != NULL && opts->max_batch != 0) ?
	    opts->max_batch : DEFAULT_MAX_BATCH;
	/*
	 * Prefer the resizer over new readers, so a steady stream of
	 * reads cannot starve a map resize (and every writer behind it).
	 */
	pthread_rwlockattr_init(&ra);
#ifdef __GLIBC__
	pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	rw = pthread_rwlock_init(&st->resize_lock, &ra) == 0;
	pthread_rwlockattr_destroy(&ra);
	mu = pthread_mutex_init(&st->mu, NULL) == 0;
	/* The writer's commit delay is timed on the monotonic clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	cv1 = pthread_cond_init(&st->work_cv, &ca) == 0;
	pthread_condattr_destroy(&ca);
	cv2 = pthread_cond_init(&st->done_cv, NULL) == 0;
	if (!rw || !mu || !cv1 || !cv2) {
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "store",
		    "store: cannot create locks");
		goto out;
	}
	if ((mrc = mdb_env_create(&st->env)) != 0 ||
	    (mrc = mdb_env_set_maxdbs(st->env, MAX_DBS)) != 0 ||
	    (mrc = mdb_env_set_maxreaders(st->env, MAX_READERS)) != 0 ||
	    (mrc = mdb_env_set_mapsize(st->env, map_size)) != 0 ||
	    (mrc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600)) != 0) {
		rc = hsmca_err_set(err, store_mdb_code(mrc), "store",
		    "store: open %s: %s", dir, mdb_strerror(mrc));
		goto out;
	}
	/* Clear reader slots left by a process that died (kill -9). */
	mdb_reader_check(st->env, &dead);
	if ((rc = open_dbs(st, dir, err)) != 0)
		goto out;
	/* An existing store may already be larger than asked for. */
	if ((mrc = mdb_env_info(st->env, &info)) != 0) {
		rc = hsmca_err_set(err, HSMCA_EIO, "store",
		    "store: env info: %s", mdb_strerror(mrc));
		goto out;
	}
	st->map_size = info.me_mapsize;
	if ((rc = store_writer_start(st, err)) != 0)
		goto out;
	*out = st;
	st = NULL;
	rc = 0;
out:
	if (st != NULL) {
		if (st->env != NULL)
			mdb_env_close(st->env);
		if (rw)
			pthread_rwlock_destroy(&st->resize_lock);
		if (mu)
			pthread_mutex_destroy(&st->mu);
		if (cv1)
			pthread_cond_destroy(&st->work_cv);
		if (cv2)
			pthread_cond_destroy(&st->done_cv);
		free(st);
	}
	return rc;
}

/*
 * Finish every queued write, stop the writer and close.  See store.h.
 */
void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	store_writer_stop(st);
	mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->resize_lock);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->work_cv);
	pthread_cond_destroy(&st->done_cv);
	free(st);
}

/*
 * Counters for tests and the benchmark.  See store.h.
 */
int
store_stats(struct store *st, struct store_stats *out)
{
	pthread_mutex_lock(&st->mu);
	out->commits = st->commits;
	out->writes = st->writes;
	out->map_grows = st->map_grows;
	out->delayed = st->delayed;
	out->map_size = st->map_size;
	pthread_mutex_unlock(&st->mu);
	return 0;
}
