/*
 * tests/store/test_check.c - store_check finds exactly the damage done
 * to a store behind its back with raw LMDB calls (or, for OCSP records
 * the store writes without looking at the certificate, through its
 * own API).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "store/store_int.h"
#include "store/store_ocsp.h"
#include "tests/store/helpers.h"

#define NRECS 20
/* Records 0..NOCSP-1 have a stored OCSP response. */
#define NOCSP 5

static char *names_of[NRECS][2];
static char name_buf[NRECS][2][32];

/* Record i: serial i+1, not_after 1000+i, names n<i>.example and
 * shared.example, account i % 3 (0: none). */
static void
rec(struct store_cert *c, uint32_t i)
{
	snprintf(name_buf[i][0], 32, "n%u.example", i);
	snprintf(name_buf[i][1], 32, "shared.example");
	names_of[i][0] = name_buf[i][0];
	names_of[i][1] = name_buf[i][1];
	th_cert(c, i + 1, 1000 + i, i % 3, names_of[i], 2);
}

/* A "good" response for record i (both variants, 5 bytes each). */
static void
ocsp_rec(struct store_ocsp *o)
{
	static const unsigned char der[] = { 0x30, 0x03, 0x0a, 0x01, 0x00 };

	memset(o, 0, sizeof(*o));
	o->status = STORE_CERT_ISSUED;
	o->revoke_reason = -1;
	o->this_update = 500;
	o->next_update = 900;
	o->der[0] = o->der[1] = der;
	o->der_len[0] = o->der_len[1] = sizeof(der);
}

static int
fill_fn(struct store_txn *txn, void *arg)
{
	struct store_cert c;
	struct store_ocsp o;
	uint32_t i;

	for (i = 0; i < NRECS; i++) {
		rec(&c, i);
		store_cert_put(txn, &c);
		if (i < NOCSP) {
			ocsp_rec(&o);
			store_ocsp_put(txn, c.serial, c.serial_len, &o);
		}
	}
	return store_txn_error(txn);
}

/* Run store_check, returning the report text (malloc'd). */
static char *
check(const char *dir, size_t *problems, size_t *records)
{
	struct hsmca_err err = { 0 };
	struct store *st = th_open(dir);
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	assert_non_null(fp = open_memstream(&text, &len));
	assert_int_equal(store_check(st, fp, problems, records, &err), 0);
	fclose(fp);
	store_close(st);
	return text;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

struct raw {
	MDB_env *env;
	MDB_txn *txn;
};

static MDB_dbi
raw_open(struct raw *r, const char *dir, const char *db)
{
	MDB_dbi dbi;

	if (r->env == NULL) {
		assert_int_equal(mdb_env_create(&r->env), 0);
		assert_int_equal(mdb_env_set_maxdbs(r->env, 32), 0);
		assert_int_equal(mdb_env_open(r->env, dir, 0, 0600), 0);
		assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
	}
	assert_int_equal(mdb_dbi_open(r->txn, db, 0, &dbi), 0);
	return dbi;
}

static void
raw_close(struct raw *r)
{
	assert_int_equal(mdb_txn_commit(r->txn), 0);
	mdb_env_close(r->env);
	memset(r, 0, sizeof(*r));
}

static void
raw_put(struct raw *r, const char *dir, const char *db, const void *k,
    size_t klen, const void *v, size_t vlen)
{
	MDB_dbi dbi = raw_open(r, dir, db);
	MDB_val kv = { klen, (void *)k }, vv = { vlen, (void *)v };

	assert_int_equal(mdb_put(r->txn, dbi, &kv, &vv, 0), 0);
}

static void
raw_del(struct raw *r, const char *dir, const char *db, const void *k,
    size_t klen, const void *v, size_t vlen)
{
	MDB_dbi dbi = raw_open(r, dir, db);
	MDB_val kv = { klen, (void *)k }, vv = { vlen, (void *)v };

	assert_int_equal(mdb_del(r->txn, dbi, &kv, v != NULL ? &vv : NULL),
	    0);
}

static char *
make_store(void)
{
	char *tmp = th_tmpdir();
	struct store *st;

	assert_non_null(tmp);
	st = th_open(th_path(tmp, "db"));
	assert_int_equal(store_write(st, fill_fn, NULL, NULL), 0);
	store_close(st);
	return tmp;
}

static void
test_clean(void **state)
{
	char *tmp = make_store();
	size_t problems = 99, records = 0;
	char *text;

	text = check(th_path(tmp, "db"), &problems, &records);
	assert_int_equal(problems, 0);
	assert_int_equal(records, NRECS);
	assert_string_equal(text, "");
	free(text);
	th_rmtree(tmp);
}

/* The brief's case: one by_name entry deleted, one dangling by_expiry. */
static void
test_two_problems(void **state)
{
	char *tmp = make_store();
	char dir[4096];
	struct store_cert c;
	struct raw r = { 0 };
	unsigned char key[STORE_EXPIRY_KEY_MAX], ghost[] = { 0x01, 0x99 };
	size_t klen, problems, records;
	char *text, *nl;

	snprintf(dir, sizeof(dir), "%s", th_path(tmp, "db"));
	rec(&c, 3);
	raw_del(&r, dir, "certs_by_name", "n3.example", 10, c.serial,
	    c.serial_len);
	klen = store_expiry_key(12345, ghost, sizeof(ghost), key);
	raw_put(&r, dir, "certs_by_expiry", key, klen, "", 0);
	raw_close(&r);

	text = check(dir, &problems, &records);
	assert_int_equal(problems, 2);
	assert_int_equal(records, NRECS);
	assert_int_equal(count_lines(text), 2);
	nl = strchr(text, '\n');
	*nl = '\0';
	assert_non_null(strstr(text, "no certs_by_name entry"));
	assert_non_null(strstr(text, "\"n3.example\""));
	assert_non_null(strstr(text, "0100000004"));	/* its serial */
	assert_non_null(strstr(nl + 1, "certs_by_expiry"));
	assert_non_null(strstr(nl + 1, "0199"));
	assert_non_null(strstr(nl + 1, "not stored"));
	assert_non_null(strstr(nl + 1, "12345"));
	free(text);
	th_rmtree(tmp);
}

enum damage {
	D_GARBAGE_RECORD,	/* record 4 (account 1) no longer decodes */
	D_WRONG_ACCOUNT,	/* record 5's account entry under 999 */
	D_WRONG_EXPIRY,		/* extra expiry entry, wrong time */
	D_NAME_NOT_LISTED,	/* by_name entry for a name it lacks */
	D_MALFORMED_EXPIRY,	/* expiry key too short */
	D_RECORD_DELETED,	/* record 7 gone, its 4 entries dangle */
	D_OCSP_GARBAGE,		/* record 1's response no longer decodes */
	D_OCSP_ORPHAN,		/* a response for a serial never issued */
	D_OCSP_REVOKED,		/* "revoked" for record 2, which is not */
	D_OCSP_TIMES,		/* record 3's thisUpdate after nextUpdate */
	D_OCSP_EMPTY,		/* record 4's response holds no DER */
};

struct damage_case {
	const char *desc;
	enum damage d;
	size_t problems;
	size_t records;
	const char *text;	/* in the report */
};

static const struct damage_case damage_cases[] = {
	{ "garbage record", D_GARBAGE_RECORD, 5, NRECS, "does not decode" },
	{ "account moved", D_WRONG_ACCOUNT, 2, NRECS, "account 999" },
	{ "extra expiry entry", D_WRONG_EXPIRY, 1, NRECS,
	    "record says not_after 1006" },
	{ "name not listed", D_NAME_NOT_LISTED, 1, NRECS,
	    "does not list that name" },
	{ "malformed expiry key", D_MALFORMED_EXPIRY, 1, NRECS, "malformed" },
	{ "record deleted", D_RECORD_DELETED, 4, NRECS - 1, "not stored" },
	{ "ocsp garbage", D_OCSP_GARBAGE, 1, NRECS,
	    "ocsp 0100000002: record does not decode" },
	{ "ocsp orphan", D_OCSP_ORPHAN, 1, NRECS,
	    "ocsp 0199: no certificate record" },
	{ "ocsp revoked", D_OCSP_REVOKED, 1, NRECS,
	    "ocsp 0100000003: response says revoked" },
	{ "ocsp times", D_OCSP_TIMES, 1, NRECS,
	    "ocsp 0100000004: thisUpdate is after nextUpdate" },
	{ "ocsp empty", D_OCSP_EMPTY, 1, NRECS,
	    "ocsp 0100000005: record holds no response" },
};

struct ocsp_damage {
	const unsigned char *serial;
	size_t len;
	struct store_ocsp o;
};

static int
ocsp_damage_fn(struct store_txn *txn, void *arg)
{
	struct ocsp_damage *d = arg;

	return store_ocsp_put(txn, d->serial, d->len, &d->o);
}

/* Write a response for `serial` through the store's own API. */
static void
ocsp_put(const char *dir, struct ocsp_damage *d)
{
	struct store *st = th_open(dir);

	assert_int_equal(store_write(st, ocsp_damage_fn, d, NULL), 0);
	store_close(st);
}

/*
 * Record 4's response with both DER lengths made 0, through raw LMDB:
 * the store's own API refuses to write such a record.  The encoding
 * ends with the two variants, each a 32-bit length and the 5 bytes.
 */
static void
ocsp_empty(struct raw *r, const char *dir)
{
	MDB_dbi dbi = raw_open(r, dir, "ocsp");
	struct store_cert c;
	unsigned char buf[256];
	MDB_val k, v;

	rec(&c, 4);
	k.mv_data = c.serial;
	k.mv_size = c.serial_len;
	assert_int_equal(mdb_get(r->txn, dbi, &k, &v), 0);
	assert_true(v.mv_size >= 18 && v.mv_size <= sizeof(buf));
	memcpy(buf, v.mv_data, v.mv_size);
	memset(buf + v.mv_size - 18, 0, 8);
	v.mv_data = buf;
	v.mv_size -= 10;
	assert_int_equal(mdb_put(r->txn, dbi, &k, &v, 0), 0);
}

static void
damage(const char *dir, enum damage d)
{
	static const unsigned char ghost[] = { 0x01, 0x99 };
	struct raw r = { 0 };
	struct store_cert c;
	struct ocsp_damage od;
	unsigned char key[STORE_EXPIRY_KEY_MAX], acct[8];
	size_t klen;

	switch (d) {
	case D_GARBAGE_RECORD:
		rec(&c, 4);
		raw_put(&r, dir, "certs", c.serial, c.serial_len, "junk", 4);
		break;
	case D_WRONG_ACCOUNT:
		rec(&c, 5);
		store_account_key(c.account_id, acct);
		raw_del(&r, dir, "certs_by_account", acct, 8, c.serial,
		    c.serial_len);
		store_account_key(999, acct);
		raw_put(&r, dir, "certs_by_account", acct, 8, c.serial,
		    c.serial_len);
		break;
	case D_WRONG_EXPIRY:
		rec(&c, 6);
		klen = store_expiry_key(1, c.serial, c.serial_len, key);
		raw_put(&r, dir, "certs_by_expiry", key, klen, "", 0);
		break;
	case D_NAME_NOT_LISTED:
		rec(&c, 2);
		raw_put(&r, dir, "certs_by_name", "other.example", 13,
		    c.serial, c.serial_len);
		break;
	case D_MALFORMED_EXPIRY:
		raw_put(&r, dir, "certs_by_expiry", "short", 5, "", 0);
		break;
	case D_RECORD_DELETED:
		rec(&c, 7);	/* account 1: expiry, 2 names, account */
		raw_del(&r, dir, "certs", c.serial, c.serial_len, NULL, 0);
		break;
	case D_OCSP_GARBAGE:
		rec(&c, 1);
		raw_put(&r, dir, "ocsp", c.serial, c.serial_len, "junk", 4);
		break;
	case D_OCSP_ORPHAN:
		od.serial = ghost;
		od.len = sizeof(ghost);
		ocsp_rec(&od.o);
		ocsp_put(dir, &od);
		return;
	case D_OCSP_REVOKED:
	case D_OCSP_TIMES:
		rec(&c, d == D_OCSP_REVOKED ? 2 : 3);
		od.serial = c.serial;
		od.len = c.serial_len;
		ocsp_rec(&od.o);
		if (d == D_OCSP_REVOKED) {
			od.o.status = STORE_CERT_REVOKED;
			od.o.revoked_at = 700;
			od.o.revoke_reason = 1;
		} else
			od.o.this_update = od.o.next_update + 1;
		ocsp_put(dir, &od);
		return;
	case D_OCSP_EMPTY:
		ocsp_empty(&r, dir);
		break;
	}
	raw_close(&r);
}

static void
test_damage(void **state)
{
	size_t i, problems, records;
	char dir[4096];
	char *tmp, *text;

	for (i = 0; i < sizeof(damage_cases) / sizeof(damage_cases[0]); i++) {
		tmp = make_store();
		snprintf(dir, sizeof(dir), "%s", th_path(tmp, "db"));
		damage(dir, damage_cases[i].d);
		text = check(dir, &problems, &records);
		if (problems != damage_cases[i].problems ||
		    records != damage_cases[i].records ||
		    count_lines(text) != problems ||
		    strstr(text, damage_cases[i].text) == NULL)
			fail_msg("%s: %zu problems, %zu records:\n%s",
			    damage_cases[i].desc, problems, records, text);
		free(text);
		th_rmtree(tmp);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_clean, th_cleanup),
		cmocka_unit_test_teardown(test_two_problems, th_cleanup),
		cmocka_unit_test_teardown(test_damage, th_cleanup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
