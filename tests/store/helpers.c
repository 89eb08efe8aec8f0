/* tests/store/helpers.c - see helpers.h. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store_acme.h"
#include "store/store_ocsp.h"
#include "store/store_revoke.h"
#include "tests/store/helpers.h"

/* Directories made by th_tmpdir() and not yet removed. */
#define TH_MAX_DIRS 32
static char *live_dirs[TH_MAX_DIRS];

char *
th_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p;
	size_t i;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if ((p = malloc(strlen(base) + 32)) == NULL)
		return NULL;
	sprintf(p, "%s/hsmca-store-XXXXXX", base);
	if (mkdtemp(p) == NULL) {
		free(p);
		return NULL;
	}
	for (i = 0; i < TH_MAX_DIRS; i++)
		if (live_dirs[i] == NULL) {
			live_dirs[i] = p;
			break;
		}
	return p;
}

static void
rm_r(const char *path)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	char *sub;

	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if ((sub = malloc(strlen(path) + strlen(de->d_name) +
			    2)) == NULL)
				break;
			sprintf(sub, "%s/%s", path, de->d_name);
			rm_r(sub);
			free(sub);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

void
th_rmtree(char *dir)
{
	size_t i;

	if (dir == NULL)
		return;
	for (i = 0; i < TH_MAX_DIRS; i++)
		if (live_dirs[i] == dir)
			live_dirs[i] = NULL;
	rm_r(dir);
	free(dir);
}

int
th_cleanup(void **state)
{
	size_t i;

	for (i = 0; i < TH_MAX_DIRS; i++)
		if (live_dirs[i] != NULL)
			th_rmtree(live_dirs[i]);
	return 0;
}

const char *
th_path(const char *dir, const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

void
th_cert(struct store_cert *c, uint32_t n, int64_t not_after,
    uint64_t account, char **names, size_t nnames)
{
	static unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

	memset(c, 0, sizeof(*c));
	c->serial[0] = 0x01;
	c->serial[1] = (unsigned char)(n >> 24);
	c->serial[2] = (unsigned char)(n >> 16);
	c->serial[3] = (unsigned char)(n >> 8);
	c->serial[4] = (unsigned char)n;
	c->serial_len = 5;
	c->status = STORE_CERT_ISSUED;
	c->not_before = not_after - 90 * 86400;
	c->not_after = not_after;
	c->issued_at = c->not_before;
	c->revoke_reason = -1;
	c->account_id = account;
	snprintf(c->profile, sizeof(c->profile), "tls-server");
	c->names = names;
	c->nnames = nnames;
	c->der = der;
	c->der_len = sizeof(der);
}

int
th_put_fn(struct store_txn *txn, void *arg)
{
	struct store_cert *c = arg;
	struct store_revoked e = { 0 };

	if (c->status == STORE_CERT_REVOKED && c->revoke_reason < 0)
		c->revoke_reason = 0;
	store_cert_put(txn, c);
	if (c->status == STORE_CERT_REVOKED && store_txn_error(txn) == 0) {
		memcpy(e.serial, c->serial, c->serial_len);
		e.serial_len = c->serial_len;
		e.revoked_at = c->revoked_at;
		e.reason = c->revoke_reason;
		e.not_after = c->not_after;
		store_revoked_put(txn, c->crl_shard, &e);
	}
	return store_txn_error(txn);
}

int
th_put(struct store *st, struct store_cert *c)
{
	struct hsmca_err err = { 0 };

	return store_write(st, th_put_fn, c, &err);
}

struct store *
th_open(const char *dir)
{
	struct hsmca_err err = { 0 };
	struct store *st = NULL;
	int rc;

	rc = store_open(dir, NULL, &st, &err);
	if (rc != 0)
		print_error("store_open %s: %s\n", dir, err.detail);
	assert_int_equal(rc, 0);
	assert_non_null(st);
	return st;
}

int
th_store_setup(void **state)
{
	struct th_store *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->tmp = th_tmpdir()) == NULL) {
		free(f);
		return -1;
	}
	f->st = th_open(th_path(f->tmp, "db"));
	*state = f;
	return 0;
}

int
th_store_teardown(void **state)
{
	struct th_store *f = *state;

	store_close(f->st);
	th_rmtree(f->tmp);
	free(f);
	return 0;
}

size_t
th_check_problems(struct store *st)
{
	size_t problems, records;

	assert_int_equal(store_check(st, stderr, &problems, &records, NULL),
	    0);
	return problems;
}

static int
ocsp_have_cb(const struct store_ocsp_cert *cert, const struct store_ocsp *rec,
    void *arg)
{
	(void)cert;
	*(bool *)arg = rec != NULL;
	return 0;
}

bool
th_ocsp_stored(struct store *st, const unsigned char *serial, size_t len)
{
	struct hsmca_err err = { 0 };
	bool have = false;

	assert_int_equal(store_ocsp_view(st, serial, len, ocsp_have_cb, &have,
	    &err), 0);
	return have;
}

struct ocsp_put {
	const unsigned char *serial;
	size_t len;
	int64_t this_update, next_update;
};

static int
ocsp_put_fn(struct store_txn *txn, void *arg)
{
	static const unsigned char der[] = { 0x30, 0x03, 0x0a, 0x01, 0x00 };
	const struct ocsp_put *p = arg;
	struct store_ocsp rec;

	memset(&rec, 0, sizeof(rec));
	rec.status = STORE_CERT_ISSUED;
	rec.revoke_reason = -1;
	rec.this_update = p->this_update;
	rec.next_update = p->next_update;
	rec.der[0] = rec.der[1] = der;
	rec.der_len[0] = rec.der_len[1] = sizeof(der);
	return store_ocsp_put(txn, p->serial, p->len, &rec);
}

/* See helpers.h. */
void
th_ocsp_put(struct store *st, const unsigned char *serial, size_t len,
    int64_t this_update, int64_t next_update)
{
	struct ocsp_put p = { serial, len, this_update, next_update };
	struct hsmca_err err = { 0 };

	assert_int_equal(store_write(st, ocsp_put_fn, &p, &err), 0);
}

static int
acme_account_fn(struct store_txn *txn, void *arg)
{
	return store_acme_account_put(txn, arg, true);
}

/* See helpers.h. */
void
th_acme_account(struct store *st, uint64_t id)
{
	struct store_acme_account a;

	memset(&a, 0, sizeof(a));
	a.id = id;
	a.status = 1;
	memset(a.thumb, 'A', STORE_ACME_THUMB_LEN);
	a.jwk = (char *)"{}";
	a.contact = (char *)"[]";
	assert_int_equal(store_write(st, acme_account_fn, &a, NULL), 0);
}

static int
count_mark(uint64_t authz, unsigned idx, void *arg)
{
	(void)authz;
	(void)idx;
	(*(size_t *)arg)++;
	return 0;
}

/* See helpers.h. */
size_t
th_acme_marks(struct store *st)
{
	size_t n = 0;

	assert_int_equal(store_acme_queue_list(st, count_mark, &n, NULL), 0);
	return n;
}
