/*
 * ca/ocsp_tick.c - keep pre-signed OCSP responses ahead of demand: sign
 * them for new certificates and re-sign those whose status changed or
 * that passed half their validity.
 */
#include <stdlib.h>
#include <string.h>

#include "ca/ocsp_int.h"

/*
 * Serials collected per snapshot (signing happens outside it) and
 * stored per commit.  sign_mu is held for a chunk, so a request that
 * must sign on demand waits for at most this many signatures.
 */
#define TICK_CHUNK 32

struct due {
	unsigned char serial[STORE_SERIAL_MAX];
	size_t len;
};

struct collect {
	int64_t now;
	struct due *due;
	size_t n, max;
	struct store_ocsp_pos pos;	/* the last serial collected */
	bool have_pos;
};

/* In the snapshot: note each certificate whose responses need work. */
static int
collect_cb(const unsigned char *serial, size_t serial_len,
    const struct store_ocsp_cert *cert, const struct store_ocsp *rec,
    void *arg)
{
	struct collect *c = arg;

	if (rec != NULL && rec->der[CA_OCSP_SHA1] != NULL &&
	    ocsp_rec_fresh(rec, cert, c->now))
		return 0;
	memcpy(c->due[c->n].serial, serial, serial_len);
	c->due[c->n].len = serial_len;
	c->pos.not_after = cert->not_after;
	memcpy(c->pos.serial, serial, serial_len);
	c->pos.serial_len = serial_len;
	c->have_pos = true;
	return ++c->n == c->max ? 1 : 0;
}

/*
 * Sign the due serials of one chunk with sign_mu held, stopping once
 * `limit` signatures are made, and store them in one commit.
 */
static int
do_chunk(struct ca *ca, const struct due *due, size_t n, int64_t now,
    uint64_t limit, struct hsmca_err *err)
{
	uint64_t start = atomic_load(&ca->ocsp->signatures);
	struct ocsp_signed s[TICK_CHUNK];
	struct ocsp_batch b = { s, 0 };
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&ca->ocsp->sign_mu);
	for (i = 0; i < n && atomic_load(&ca->ocsp->signatures) - start <
	    limit; i++) {
		rc = ocsp_prepare(ca, due[i].serial, due[i].len, CA_OCSP_SHA1,
		    now, NULL, NULL, NULL, &s[b.n], err);
		if (rc < 0)
			break;
		if (rc == 1)
			b.n++;
		rc = 0;
	}
	/* What was signed before a failure is still worth keeping. */
	if (ocsp_store(ca, &b, err) != 0 && rc == 0)
		rc = err->code;
	pthread_mutex_unlock(&ca->ocsp->sign_mu);
	for (i = 0; i < b.n; i++)
		ocsp_signed_free(&s[i]);
	return rc;
}

/*
 * The periodic job.  See ca_ocsp.h.  Each pass resumes the walk just
 * after the last serial the previous pass collected, so one tick reads
 * each certificate once.
 */
int
ca_ocsp_tick(struct ca *ca, int64_t now, size_t budget, size_t *signed_n,
    struct hsmca_err *err)
{
	struct due due[TICK_CHUNK];
	struct collect c;
	struct store_ocsp_pos pos;
	bool have_pos = false;
	uint64_t before, done = 0;
	int rc = 0;

	if (signed_n != NULL)
		*signed_n = 0;
	if (!ca_ocsp_ready(ca))
		return hsmca_err_set(err, HSMCA_ENOTFOUND, "ocsp",
		    "OCSP is not set up: %s", ca->ocsp == NULL ?
		    "ocsp.enabled is false" : "no signer; run `hsmca ocsp "
		    "init-signer`");
	before = atomic_load(&ca->ocsp->signatures);
	while (done < budget) {
		memset(&c, 0, sizeof(c));
		c.now = now;
		c.due = due;
		c.max = budget - done < TICK_CHUNK ? budget - done :
		    TICK_CHUNK;
		if ((rc = store_ocsp_walk(ca->store, now, have_pos ? &pos :
		    NULL, collect_cb, &c, err)) < 0)
			break;
		rc = 0;
		if (c.n == 0)
			break;
		pos = c.pos;
		have_pos = true;
		if ((rc = do_chunk(ca, due, c.n, now, budget - done,
		    err)) != 0)
			break;
		done = atomic_load(&ca->ocsp->signatures) - before;
	}
	if (signed_n != NULL)
		*signed_n = (size_t)(atomic_load(&ca->ocsp->signatures) -
		    before);
	return rc;
}
