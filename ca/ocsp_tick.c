/*
 * ca/ocsp_tick.c - keep pre-signed OCSP responses ahead of demand: sign
 * them for new certificates and re-sign those whose status changed or
 * that passed half their validity.
 */
#include <stdlib.h>
#include <string.h>

#include "ca/ocsp_int.h"

/* Serials collected per snapshot; signing happens outside it. */
#define TICK_CHUNK 128

struct due {
	unsigned char serial[STORE_SERIAL_MAX];
	size_t len;
};

struct collect {
	int64_t now;
	struct due *due;
	size_t n, max;
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
	return ++c->n == c->max ? 1 : 0;
}

/*
 * The periodic job.  See ca_ocsp.h.  Each pass re-walks from `now`:
 * the certificates signed by the previous pass are fresh by then and
 * cost one read each.
 */
int
ca_ocsp_tick(struct ca *ca, int64_t now, size_t budget, size_t *signed_n,
    struct hsmca_err *err)
{
	struct due due[TICK_CHUNK];
	struct collect c;
	uint64_t before;
	size_t done = 0, i;
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
		rc = store_ocsp_walk(ca->store, now, collect_cb, &c, err);
		if (rc < 0)
			break;
		rc = 0;
		if (c.n == 0)
			break;
		for (i = 0; i < c.n && done < budget; i++) {
			if ((rc = ocsp_refresh(ca, due[i].serial, due[i].len,
			    CA_OCSP_SHA1, now, NULL, NULL, NULL, err)) != 0)
				goto out;
			done = (size_t)(atomic_load(&ca->ocsp->signatures) -
			    before);
		}
	}
out:
	if (signed_n != NULL)
		*signed_n = (size_t)(atomic_load(&ca->ocsp->signatures) -
		    before);
	return rc;
}
