/*
 * store/check.c - verify records and indexes agree, both ways.
 *
 * Forward: every record decodes, has the serial it is stored under,
 * and has each index entry it implies.  Backward: every index entry is
 * well formed and points at a record that implies it.  One snapshot
 * covers the whole walk, so concurrent writes cannot show up as
 * problems.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "store/store_acme.h"
#include "store/store_int.h"
#include "store/store_ocsp.h"
#include "store/store_revoke.h"

struct check {
	struct store *st;
	MDB_txn *txn;
	FILE *report;
	size_t problems;
};

/* Count one problem and write it as one line. */
static void problem(struct check *ck, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct check *ck, const char *fmt, ...)
{
	va_list ap;

	ck->problems++;
	if (ck->report == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(ck->report, fmt, ap);
	va_end(ap);
	fputc('\n', ck->report);
}

/*
 * Is (key, val) present in `db` (val NULL: the key alone)?  1 or 0, or
 * a negative hsmca code.
 */
static int
has_entry(struct check *ck, enum store_db db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_cursor *cur = NULL;
	MDB_val k = { klen, (void *)key };
	MDB_val v = { vlen, (void *)val };
	int mrc;

	if ((mrc = mdb_cursor_open(ck->txn, ck->st->dbi[db], &cur)) != 0)
		return store_mdb_code(mrc);
	mrc = mdb_cursor_get(cur, &k, &v, val != NULL ? MDB_GET_BOTH : MDB_SET);
	mdb_cursor_close(cur);
	if (mrc == 0)
		return 1;
	return mrc == MDB_NOTFOUND ? 0 : store_mdb_code(mrc);
}

/* Forward check of one record stored under key `k`. */
static int
check_record(struct check *ck, const MDB_val *k, const MDB_val *v)
{
	struct store_cert *c = NULL;
	unsigned char ekey[STORE_EXPIRY_KEY_MAX], akey[8];
	unsigned char rkey[STORE_REVOKED_KEY_MAX];
	char hex[STORE_HEX_MAX];
	size_t i, elen, rlen;
	int rc;

	store_hex(k->mv_data, k->mv_size <= STORE_SERIAL_MAX ? k->mv_size :
	    STORE_SERIAL_MAX, hex, sizeof(hex));
	if (store_cert_decode(v->mv_data, v->mv_size, &c) != 0) {
		problem(ck, "certs %s: record does not decode", hex);
		return 0;
	}
	if (c->serial_len != k->mv_size ||
	    memcmp(c->serial, k->mv_data, k->mv_size) != 0) {
		problem(ck, "certs %s: record holds another serial", hex);
		goto done;
	}
	elen = store_expiry_key(c->not_after, c->serial, c->serial_len, ekey);
	if ((rc = has_entry(ck, STORE_DB_CERTS_BY_EXPIRY, ekey, elen, NULL,
	    0)) < 0)
		goto fail;
	if (rc == 0)
		problem(ck, "certs %s: no certs_by_expiry entry for not_after "
		    "%" PRId64, hex, c->not_after);
	for (i = 0; i < c->nnames; i++) {
		if ((rc = has_entry(ck, STORE_DB_CERTS_BY_NAME, c->names[i],
		    strlen(c->names[i]), c->serial, c->serial_len)) < 0)
			goto fail;
		if (rc == 0)
			problem(ck, "certs %s: no certs_by_name entry for "
			    "\"%s\"", hex, c->names[i]);
	}
	if (c->status == STORE_CERT_REVOKED) {
		rlen = store_revoked_key(c->crl_shard, c->serial,
		    c->serial_len, rkey);
		if ((rc = has_entry(ck, STORE_DB_REVOKED_BY_SHARD, rkey, rlen,
		    NULL, 0)) < 0)
			goto fail;
		if (rc == 0)
			problem(ck, "certs %s: revoked but not listed in "
			    "revoked_by_shard shard %u", hex,
			    (unsigned)c->crl_shard);
	}
	if (c->account_id != 0) {
		store_account_key(c->account_id, akey);
		if ((rc = has_entry(ck, STORE_DB_CERTS_BY_ACCOUNT, akey,
		    sizeof(akey), c->serial, c->serial_len)) < 0)
			goto fail;
		if (rc == 0)
			problem(ck, "certs %s: no certs_by_account entry for "
			    "account %" PRIu64, hex, c->account_id);
	}
done:
	store_cert_free(c);
	return 0;
fail:
	store_cert_free(c);
	return rc;
}

/*
 * The record an index entry names, or NULL after reporting why there
 * is none.  Returns 0 or a negative hsmca code.
 */
static int
entry_record(struct check *ck, enum store_db db, const unsigned char *serial,
    size_t slen, const char *what, struct store_cert **out)
{
	char hex[STORE_HEX_MAX];
	int rc;

	*out = NULL;
	store_hex(serial, slen <= STORE_SERIAL_MAX ? slen : STORE_SERIAL_MAX,
	    hex, sizeof(hex));
	rc = store_cert_read(ck->st, ck->txn, serial, slen, out);
	if (rc == HSMCA_ENOTFOUND || rc == HSMCA_EINVAL)
		problem(ck, "%s %s: points at serial %s, which is not stored",
		    store_db_table[db].name, what, hex);
	else if (rc == HSMCA_EIO)
		problem(ck, "%s %s: points at serial %s, whose record does "
		    "not decode", store_db_table[db].name, what, hex);
	else if (rc != 0)
		return rc;
	return 0;
}

/* Backward check of one certs_by_expiry entry. */
static int
check_expiry(struct check *ck, const MDB_val *k, const MDB_val *v)
{
	struct store_cert *c = NULL;
	char what[48];
	int64_t t;
	int rc;

	if (k->mv_size <= 8 || k->mv_size > STORE_EXPIRY_KEY_MAX ||
	    v->mv_size != 0) {
		problem(ck, "certs_by_expiry: malformed entry (%zu-byte key, "
		    "%zu-byte value)", k->mv_size, v->mv_size);
		return 0;
	}
	t = store_expiry_key_time(k->mv_data);
	snprintf(what, sizeof(what), "not_after %" PRId64, t);
	if ((rc = entry_record(ck, STORE_DB_CERTS_BY_EXPIRY,
	    (const unsigned char *)k->mv_data + 8, k->mv_size - 8, what,
	    &c)) != 0 || c == NULL)
		return rc;
	if (c->not_after != t)
		problem(ck, "certs_by_expiry %s: record says not_after %"
		    PRId64, what, c->not_after);
	store_cert_free(c);
	return 0;
}

/* Backward check of one certs_by_name entry. */
static int
check_name(struct check *ck, const MDB_val *k, const MDB_val *v)
{
	struct store_cert *c = NULL;
	char what[300];
	size_t i;
	int rc;

	snprintf(what, sizeof(what), "\"%.*s\"",
	    k->mv_size > 256 ? 256 : (int)k->mv_size, (const char *)k->mv_data);
	if ((rc = entry_record(ck, STORE_DB_CERTS_BY_NAME, v->mv_data,
	    v->mv_size, what, &c)) != 0 || c == NULL)
		return rc;
	for (i = 0; i < c->nnames; i++)
		if (strlen(c->names[i]) == k->mv_size &&
		    memcmp(c->names[i], k->mv_data, k->mv_size) == 0)
			break;
	if (i == c->nnames)
		problem(ck, "certs_by_name %s: record does not list that name",
		    what);
	store_cert_free(c);
	return 0;
}

/* Backward check of one certs_by_account entry. */
static int
check_account(struct check *ck, const MDB_val *k, const MDB_val *v)
{
	struct store_cert *c = NULL;
	char what[48];
	uint64_t id;
	int rc;

	if (k->mv_size != 8) {
		problem(ck, "certs_by_account: malformed %zu-byte key",
		    k->mv_size);
		return 0;
	}
	id = store_codec_get_be64(k->mv_data);
	snprintf(what, sizeof(what), "account %" PRIu64, id);
	if ((rc = entry_record(ck, STORE_DB_CERTS_BY_ACCOUNT, v->mv_data,
	    v->mv_size, what, &c)) != 0 || c == NULL)
		return rc;
	if (id == 0 || c->account_id != id)
		problem(ck, "certs_by_account %s: record says account %" PRIu64,
		    what, c->account_id);
	store_cert_free(c);
	return 0;
}

/*
 * Backward check of one revoked_by_shard entry: the record it names
 * exists, is revoked, belongs to that shard and agrees on the
 * revocation time, reason and notAfter the CRL lists.
 */
static int
check_revoked(struct check *ck, const MDB_val *k, const MDB_val *v)
{
	struct store_cert *c = NULL;
	struct store_revoked e;
	uint32_t shard;
	char what[80], hex[STORE_HEX_MAX];
	int rc;

	if (store_revoked_decode(k->mv_data, k->mv_size, v->mv_data,
	    v->mv_size, &shard, &e) != 0) {
		problem(ck, "revoked_by_shard: malformed entry (%zu-byte key, "
		    "%zu-byte value)", k->mv_size, v->mv_size);
		return 0;
	}
	store_hex(e.serial, e.serial_len, hex, sizeof(hex));
	snprintf(what, sizeof(what), "shard %u serial %s", (unsigned)shard,
	    hex);
	if ((rc = entry_record(ck, STORE_DB_REVOKED_BY_SHARD, e.serial,
	    e.serial_len, what, &c)) != 0 || c == NULL)
		return rc;
	if (c->status != STORE_CERT_REVOKED)
		problem(ck, "revoked_by_shard %s: record is not revoked", what);
	else if (c->crl_shard != shard)
		problem(ck, "revoked_by_shard %s: record says shard %u", what,
		    (unsigned)c->crl_shard);
	else if (c->revoked_at != e.revoked_at ||
	    c->revoke_reason != e.reason || c->not_after != e.not_after)
		problem(ck, "revoked_by_shard %s: revocation time, reason or "
		    "not_after differ from the record", what);
	store_cert_free(c);
	return 0;
}

/* Run `fn` on every entry of `db`; stops on an I/O error. */
static int
walk(struct check *ck, enum store_db db,
    int (*fn)(struct check *, const MDB_val *, const MDB_val *),
    size_t *count)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int mrc, rc = 0;

	if ((mrc = mdb_cursor_open(ck->txn, ck->st->dbi[db], &cur)) != 0)
		return store_mdb_code(mrc);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (count != NULL)
			(*count)++;
		if ((rc = fn(ck, &k, &v)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != 0)
		return rc;
	return mrc == MDB_NOTFOUND ? 0 : store_mdb_code(mrc);
}

/*
 * Verify every record and index entry.  See store.h.
 */
int
store_check(struct store *st, FILE *report, size_t *problems,
    size_t *records, struct hsmca_err *err)
{
	struct store_rtxn r;
	struct check ck;
	size_t nrec = 0;
	int rc;

	*problems = 0;
	*records = 0;
	if ((rc = store_rtxn_begin(st, &r, err)) != 0)
		return rc;
	memset(&ck, 0, sizeof(ck));
	ck.st = st;
	ck.txn = r.txn;
	ck.report = report;
	if ((rc = walk(&ck, STORE_DB_CERTS, check_record, &nrec)) != 0 ||
	    (rc = walk(&ck, STORE_DB_CERTS_BY_EXPIRY, check_expiry,
	    NULL)) != 0 ||
	    (rc = walk(&ck, STORE_DB_CERTS_BY_NAME, check_name, NULL)) != 0 ||
	    (rc = walk(&ck, STORE_DB_CERTS_BY_ACCOUNT, check_account,
	    NULL)) != 0 ||
	    (rc = walk(&ck, STORE_DB_REVOKED_BY_SHARD, check_revoked,
	    NULL)) != 0 ||
	    (rc = store_acme_check(st, r.txn, report, &ck.problems)) != 0 ||
	    (rc = store_ocsp_check(st, r.txn, report, &ck.problems)) != 0) {
		rc = hsmca_err_set(err, rc, "store", "store check: stopped "
		    "by %s after %zu records", hsmca_code_name(rc), nrec);
		goto out;
	}
	rc = 0;
out:
	store_rtxn_end(&r);
	*problems = ck.problems;
	*records = nrec;
	return rc;
}
