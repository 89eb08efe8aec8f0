/*
 * ca/crl_tick.c - the daemon's CRL job: decide which CRLs are due,
 * rebuild them and publish them as static files.
 */
#include "ca/crl_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_revoke.h"

/*
 * Due when there is no CRL yet, when it is older than the interval (or
 * half its validity, so a long interval never lets a CRL expire), or
 * when a revocation has waited half the allowed delay: the other half
 * is left for the tick period.
 */
static bool
due(const struct store_crl *rec, const struct crl_settings *set,
    int64_t now)
{
	int64_t refresh = set->interval_s;

	if (rec == NULL || rec->number == 0)
		return true;
	if (refresh > set->validity_s / 2)
		refresh = set->validity_s / 2;
	if (now >= rec->this_update + refresh || now < rec->this_update)
		return true;
	return rec->dirty_since != 0 &&
	    now >= rec->dirty_since + set->revoke_delay_s / 2;
}

/* publish_dir/crl/<n>.crl or root.crl into out. */
static int
file_of(const char *dir, uint32_t shard, char *out, size_t len,
    struct hsmca_err *err)
{
	int n;

	if (shard == CA_CRL_ROOT)
		n = snprintf(out, len, "%s/crl/root.crl", dir);
	else
		n = snprintf(out, len, "%s/crl/%u.crl", dir, (unsigned)shard);
	if (n < 0 || (size_t)n >= len)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "publish.dir \"%.64s\" is too long", dir);
	return 0;
}

static int
mkdir_p2(const char *dir, struct hsmca_err *err)
{
	char sub[PATH_MAX];

	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return hsmca_err_set(err, HSMCA_EIO, "io", "cannot create %s: %s",
		    dir, strerror(errno));
	if (snprintf(sub, sizeof(sub), "%s/crl", dir) >= (int)sizeof(sub))
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "publish.dir \"%.64s\" is too long", dir);
	if (mkdir(sub, 0755) != 0 && errno != EEXIST)
		return hsmca_err_set(err, HSMCA_EIO, "io", "cannot create %s: %s",
		    sub, strerror(errno));
	return 0;
}

/* One shard: rebuild when due; publish when new or missing. */
static int
tick_one(struct ca *ca, uint32_t shard, int64_t now, const char *dir,
    const struct crl_settings *set, struct hsmca_err *err)
{
	struct store_crl *rec = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	char path[PATH_MAX];
	int rc;

	rc = store_crl_get(ca->store, shard, false, &rec, NULL);
	if (rc != 0 && rc != HSMCA_ENOTFOUND) {
		rc = hsmca_err_set(err, rc, "store", "CRL record of %u: %s",
		    (unsigned)shard, hsmca_code_name(rc));
		goto out;
	}
	if (due(rec, set, now)) {
		if ((rc = crl_build_at(ca, shard, now, &der, &len, NULL,
		    err)) != 0)
			goto out;
	}
	if (dir == NULL) {
		rc = 0;
		goto out;
	}
	if ((rc = file_of(dir, shard, path, sizeof(path), err)) != 0)
		goto out;
	if (der == NULL) {
		/* Not rebuilt: publish the stored one if the file is gone. */
		if (ca_file_exists(path)) {
			rc = 0;
			goto out;
		}
		if ((rc = ca_crl_get(ca, shard, &der, &len, NULL, err)) != 0)
			goto out;
	}
	rc = ca_file_write(path, der, len, 0644, err);
out:
	free(der);
	store_crl_free(rec);
	return rc;
}

/* The daemon's CRL job.  See ca_revoke.h. */
int
ca_crl_tick(struct ca *ca, int64_t now, const char *publish_dir,
    struct hsmca_err *err)
{
	struct crl_settings set;
	int first = 0, rc;

	crl_settings_get(ca, &set);
	if (publish_dir != NULL && (rc = mkdir_p2(publish_dir, err)) != 0)
		return rc;
	/* Every shard, then the root CRL; one failure stops none. */
	for (uint64_t i = 0; i <= ca->crl_shards; i++) {
		uint32_t shard = i < ca->crl_shards ? (uint32_t)i : CA_CRL_ROOT;
		struct hsmca_err e = { 0 };

		if ((rc = tick_one(ca, shard, now, publish_dir, &set,
		    &e)) != 0 && first == 0) {
			first = rc;
			hsmca_err_set(err, e.code, e.type, "%s", e.detail);
		}
	}
	return first;
}
