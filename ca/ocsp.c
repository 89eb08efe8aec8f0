/*
 * ca/ocsp.c - answer OCSP requests: serve the stored response when it
 * still agrees with the certificate record, else sign one and store it
 * first.  See ca/ca_ocsp.h for the choices made.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "ca/ocsp_int.h"

/* Unsigned OCSPResponse { responseStatus } for the error statuses. */
static const unsigned char err_der[7][5] = {
	{ 0x30, 0x03, 0x0a, 0x01, 0x00 },
	{ 0x30, 0x03, 0x0a, 0x01, 0x01 },
	{ 0x30, 0x03, 0x0a, 0x01, 0x02 },
	{ 0x30, 0x03, 0x0a, 0x01, 0x03 },
	{ 0x30, 0x03, 0x0a, 0x01, 0x04 },
	{ 0x30, 0x03, 0x0a, 0x01, 0x05 },
	{ 0x30, 0x03, 0x0a, 0x01, 0x06 },
};

/* The digest of a CertID hash variant.  See ocsp_int.h. */
const EVP_MD *
ocsp_hash_md(enum ca_ocsp_hash hash)
{
	return hash == CA_OCSP_SHA256 ? EVP_sha256() : EVP_sha1();
}

/* issuerNameHash and issuerKeyHash of the issuing CA for each hash. */
static int
issuer_hashes(struct ca *ca, struct ca_ocsp *o, struct hsmca_err *err)
{
	const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(ca->issuing);
	unsigned char *name = NULL;
	unsigned int n;
	int len, i, rc = 0;

	if (key == NULL || (len = i2d_X509_NAME(ca->issuer_name,
	    &name)) <= 0)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "cannot encode the issuing CA's name and key");
	for (i = 0; i < CA_OCSP_NHASH; i++) {
		const EVP_MD *md = ocsp_hash_md((enum ca_ocsp_hash)i);
		if (EVP_Digest(name, (size_t)len, o->name_hash[i], &n, md,
		    NULL) != 1 || EVP_Digest(key->data, (size_t)key->length,
		    o->key_hash[i], &n, md, NULL) != 1) {
			rc = hsmca_err_set(err, HSMCA_EINTERNAL,
			    "serverInternal", "cannot hash the issuer");
			break;
		}
	}
	OPENSSL_free(name);
	return rc;
}

/*
 * Set up the responder at ca_open().  See ocsp_int.h.
 */
int
ca_ocsp_open(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmca_err *err)
{
	struct ca_ocsp *o;
	int rc;

	if (!config_get_bool(cfg, "ocsp.enabled"))
		return 0;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	pthread_mutex_init(&o->sign_mu, NULL);
	pthread_mutex_init(&o->unknown_mu, NULL);
	o->enabled = true;
	o->validity = config_get_int(cfg, "ocsp.validity_hours") * 3600;
	o->keep_expired = config_get_int(cfg, "ocsp.keep_expired_days") *
	    86400;
	ca->ocsp = o;
	if ((rc = issuer_hashes(ca, o, err)) != 0)
		return rc;
	return ocsp_signer_open(ca, o, cfg, err);
}

/* Free the responder and its signer.  See ocsp_int.h. */
void
ca_ocsp_close(struct ca *ca)
{
	struct ca_ocsp *o = ca->ocsp;
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < OCSP_UNKNOWN_SLOTS; i++)
		OPENSSL_free(o->unknown[i].der);
	hsm_key_free(o->key);
	X509_free(o->cert);
	pthread_mutex_destroy(&o->sign_mu);
	pthread_mutex_destroy(&o->unknown_mu);
	free(o);
	ca->ocsp = NULL;
}

/* See ca_ocsp.h. */
int64_t
ca_ocsp_expired_cutoff(const struct ca *ca, int64_t now)
{
	if (ca->ocsp == NULL || now < INT64_MIN + ca->ocsp->keep_expired)
		return INT64_MIN;
	return now - ca->ocsp->keep_expired;
}

/*
 * The refusal of a certificate past its answering period, in `err`
 * (the answer is unauthorized).  Returns OCSP_EXPIRED.
 */
static int
expired_err(const struct ca *ca, const unsigned char *serial,
    size_t serial_len, struct hsmca_err *err)
{
	char hex[2 * STORE_SERIAL_MAX + 1];

	ca_serial_hex(serial, serial_len, hex);
	hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
	    "OCSP: certificate %s expired more than %lld days ago "
	    "(ocsp.keep_expired_days); answered unauthorized (RFC 6960 2.3)",
	    hex, (long long)(ca->ocsp->keep_expired / 86400));
	return OCSP_EXPIRED;
}

/* See ca_ocsp.h. */
bool
ca_ocsp_enabled(const struct ca *ca)
{
	return ca->ocsp != NULL;
}

/* See ca_ocsp.h. */
bool
ca_ocsp_ready(const struct ca *ca)
{
	return ca->ocsp != NULL && ca->ocsp->key != NULL;
}

/* See ca_ocsp.h. */
void
ca_ocsp_stats(const struct ca *ca, struct ca_ocsp_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (ca->ocsp == NULL)
		return;
	out->signatures = atomic_load(&ca->ocsp->signatures);
	out->served_stored = atomic_load(&ca->ocsp->served_stored);
	out->served_unknown_cache = atomic_load(&ca->ocsp->served_unknown);
}

/*
 * Stored responses are served while they state the record's status and
 * are younger than half their validity (RFC 5019 6: refresh well
 * before nextUpdate).  See ocsp_int.h.
 */
bool
ocsp_rec_fresh(const struct store_ocsp *rec,
    const struct store_ocsp_cert *cert, int64_t now)
{
	if (rec->status != cert->status)
		return false;
	if (cert->status == STORE_CERT_REVOKED &&
	    (rec->revoked_at != cert->revoked_at ||
	    rec->revoke_reason != cert->revoke_reason))
		return false;
	if (now < rec->this_update)
		return false;
	return now - rec->this_update < (rec->next_update - rec->this_update)
	    / 2;
}

/* What a lookup found; filled in a store snapshot. */
struct look {
	enum ca_ocsp_hash hash;
	int64_t now;
	int64_t cutoff;			/* ca_ocsp_expired_cutoff(now) */
	ca_ocsp_emit_fn emit;		/* NULL: only look */
	void *arg;
	struct ca_ocsp_answer *ans;
	bool known, expired, fresh, served;
	int emit_rc;
	struct store_ocsp_cert cert;	/* when known */
	unsigned have_vars;		/* bit per stored variant */
};

static void
answer_fill(struct ca_ocsp_answer *ans, int cert_status,
    int64_t this_update, int64_t next_update)
{
	ans->rstatus = CA_OCSP_SUCCESSFUL;
	ans->cert_status = cert_status;
	ans->this_update = this_update;
	ans->next_update = next_update;
}

static int
cert_status_of(const struct store_ocsp_cert *cert)
{
	if (cert == NULL)
		return 2;
	return cert->status == STORE_CERT_REVOKED ? 1 : 0;
}

/* In the snapshot: serve the stored variant when fresh. */
static int
look_cb(const struct store_ocsp_cert *cert, const struct store_ocsp *rec,
    void *arg)
{
	struct look *l = arg;
	size_t i;

	if (cert == NULL)
		return 0;
	l->known = true;
	l->cert = *cert;
	l->have_vars = 0;
	/* Past its answering period: not even a stored response. */
	if (cert->not_after < l->cutoff) {
		l->expired = true;
		return 0;
	}
	if (rec == NULL)
		return 0;
	for (i = 0; i < STORE_OCSP_NVAR; i++)
		if (rec->der[i] != NULL)
			l->have_vars |= 1u << i;
	if (rec->der[l->hash] == NULL || !ocsp_rec_fresh(rec, cert, l->now))
		return 0;
	l->fresh = true;
	if (l->emit == NULL)
		return 0;
	answer_fill(l->ans, cert_status_of(cert), rec->this_update,
	    rec->next_update);
	l->emit_rc = l->emit(rec->der[l->hash], rec->der_len[l->hash], l->ans,
	    l->arg);
	l->served = true;
	return 0;
}

struct put {
	struct ca *ca;
	struct ocsp_batch *b;
};

/*
 * Write every signed record of `arg` (struct put) but those past the
 * answering period now.  The time is read inside the write transaction:
 * a pruning that removed such a record committed before it, with a
 * cutoff no later than this one (the CA clock does not go back), so a
 * record signed before that pruning cannot come back after it.  May
 * run again (map growth): it sets, never adds.
 */
static int
put_fn(struct store_txn *txn, void *arg)
{
	struct put *p = arg;
	struct ocsp_signed *s;
	int64_t cutoff = ca_ocsp_expired_cutoff(p->ca, ca_now(p->ca));

	for (size_t i = 0; i < p->b->n; i++) {
		s = &p->b->item[i];
		if ((s->dropped = s->not_after < cutoff))
			continue;
		store_ocsp_put(txn, s->serial, s->serial_len, &s->rec);
	}
	return store_txn_error(txn);
}

/*
 * Sign, not yet stored, the responses of one known serial.  See
 * ocsp_int.h.
 */
int
ocsp_prepare(struct ca *ca, const unsigned char *serial, size_t serial_len,
    enum ca_ocsp_hash hash, int64_t now, ca_ocsp_emit_fn emit, void *arg,
    int *emit_rc, struct ocsp_signed *out, struct hsmca_err *err)
{
	struct ca_ocsp_answer ans;
	struct look l;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&l, 0, sizeof(l));
	memset(&ans, 0, sizeof(ans));
	memcpy(ans.serial, serial, serial_len);
	ans.serial_len = serial_len;
	ans.hash = hash;
	l.hash = hash;
	l.now = now;
	l.cutoff = ca_ocsp_expired_cutoff(ca, now);
	l.emit = emit;
	l.arg = arg;
	l.ans = &ans;
	/* Another thread may have signed it while this one waited. */
	if ((rc = store_ocsp_view(ca->store, serial, serial_len, look_cb, &l,
	    err)) != 0)
		return rc;
	if (!l.known)
		return hsmca_err_set(err, HSMCA_ENOTFOUND, "ocsp",
		    "certificate not found");
	if (l.expired)
		return expired_err(ca, serial, serial_len, err);
	if (l.fresh) {
		if (emit_rc != NULL)
			*emit_rc = l.emit_rc;
		return 0;
	}
	memcpy(out->serial, serial, serial_len);
	out->serial_len = serial_len;
	out->cert_status = cert_status_of(&l.cert);
	out->not_after = l.cert.not_after;
	out->rec.status = l.cert.status;
	out->rec.revoked_at = l.cert.status == STORE_CERT_REVOKED ?
	    l.cert.revoked_at : 0;
	out->rec.revoke_reason = l.cert.status == STORE_CERT_REVOKED ?
	    l.cert.revoke_reason : -1;
	/* Keep every variant clients have asked for fresh together. */
	l.have_vars |= 1u << hash;
	for (i = 0; i < STORE_OCSP_NVAR; i++) {
		if (!(l.have_vars & (1u << i)))
			continue;
		if ((rc = ocsp_sign(ca, serial, serial_len,
		    (enum ca_ocsp_hash)i, &l.cert, now, &out->der[i],
		    &out->rec.der_len[i], &out->rec.this_update,
		    &out->rec.next_update, err)) != 0) {
			ocsp_signed_free(out);
			return rc;
		}
		out->rec.der[i] = out->der[i];
	}
	return 1;
}

/* Free what ocsp_prepare() signed.  See ocsp_int.h. */
void
ocsp_signed_free(struct ocsp_signed *s)
{
	for (size_t i = 0; i < STORE_OCSP_NVAR; i++)
		OPENSSL_free(s->der[i]);
	memset(s, 0, sizeof(*s));
}

/* Store a batch in one durable commit.  See ocsp_int.h. */
int
ocsp_store(struct ca *ca, struct ocsp_batch *b, struct hsmca_err *err)
{
	struct put p = { ca, b };

	if (b->n == 0)
		return 0;
	return store_write(ca->store, put_fn, &p, err);
}

/*
 * Sign and store the responses of one known serial, then emit.  Returns
 * 0, OCSP_EXPIRED (nothing emitted; the answer is unauthorized) or a
 * negative code.
 */
static int
refresh_one(struct ca *ca, const unsigned char *serial, size_t serial_len,
    enum ca_ocsp_hash hash, int64_t now, ca_ocsp_emit_fn emit, void *arg,
    int *emit_rc, struct hsmca_err *err)
{
	struct ca_ocsp *o = ca->ocsp;
	struct ca_ocsp_answer ans;
	struct ocsp_signed s;
	struct ocsp_batch b = { &s, 1 };
	int rc;

	pthread_mutex_lock(&o->sign_mu);
	if ((rc = ocsp_prepare(ca, serial, serial_len, hash, now, emit, arg,
	    emit_rc, &s, err)) != 1)
		goto out;
	/* Durable before it is served. */
	if ((rc = ocsp_store(ca, &b, err)) != 0)
		goto out;
	/* Its period ended while it was signed: as if it had before. */
	if (s.dropped) {
		rc = expired_err(ca, serial, serial_len, err);
		goto out;
	}
	memset(&ans, 0, sizeof(ans));
	memcpy(ans.serial, serial, serial_len);
	ans.serial_len = serial_len;
	ans.hash = hash;
	answer_fill(&ans, s.cert_status, s.rec.this_update, s.rec.next_update);
	*emit_rc = emit(s.der[hash], s.rec.der_len[hash], &ans, arg);
	rc = 0;
out:
	pthread_mutex_unlock(&o->sign_mu);
	ocsp_signed_free(&s);
	return rc;
}

static size_t
unknown_slot(const unsigned char *serial, size_t len, enum ca_ocsp_hash h)
{
	uint32_t x = 2166136261u;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		x = (x ^ serial[i]) * 16777619u;
	x = (x ^ (uint32_t)h) * 16777619u;
	return x % OCSP_UNKNOWN_SLOTS;
}

/*
 * A serial this CA never issued: "unknown", signed on demand.  Such
 * answers are not stored (the store holds only what the CA issued), but
 * kept in a small direct-mapped memory cache so that a client polling
 * one unknown serial costs one signature per half validity; a flood of
 * random serials can evict entries, never grow memory, and gets at most
 * OCSP_UNKNOWN_PER_SEC signatures a second: beyond that, returns 1
 * (answer tryLater) without signing.
 */
static int
respond_unknown(struct ca *ca, const struct ca_ocsp_req *rq, int64_t now,
    struct ca_ocsp_answer *ans, ca_ocsp_emit_fn emit, void *arg,
    int *emit_rc, struct hsmca_err *err)
{
	struct ca_ocsp *o = ca->ocsp;
	struct ocsp_unknown *u;
	unsigned char *der = NULL;
	size_t len = 0;
	int64_t tu, nu;
	int rc;

	u = &o->unknown[unknown_slot(rq->serial, rq->serial_len, rq->hash)];
	pthread_mutex_lock(&o->unknown_mu);
	if (u->serial_len == rq->serial_len && u->hash == rq->hash &&
	    memcmp(u->serial, rq->serial, rq->serial_len) == 0 &&
	    now >= u->this_update &&
	    now - u->this_update < (u->next_update - u->this_update) / 2) {
		atomic_fetch_add(&o->served_unknown, 1);
		answer_fill(ans, 2, u->this_update, u->next_update);
		*emit_rc = emit(u->der, u->der_len, ans, arg);
		rc = 0;
		goto out;
	}
	if (o->unknown_sec != now) {
		o->unknown_sec = now;
		o->unknown_signed = 0;
	}
	if (o->unknown_signed >= OCSP_UNKNOWN_PER_SEC) {
		hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "OCSP: more than %d unknown serials this second; "
		    "answered tryLater", OCSP_UNKNOWN_PER_SEC);
		rc = 1;
		goto out;
	}
	o->unknown_signed++;
	if ((rc = ocsp_sign(ca, rq->serial, rq->serial_len, rq->hash, NULL,
	    now, &der, &len, &tu, &nu, err)) != 0)
		goto out;
	OPENSSL_free(u->der);
	memcpy(u->serial, rq->serial, rq->serial_len);
	u->serial_len = rq->serial_len;
	u->hash = rq->hash;
	u->der = der;
	u->der_len = len;
	u->this_update = tu;
	u->next_update = nu;
	answer_fill(ans, 2, tu, nu);
	*emit_rc = emit(der, len, ans, arg);
out:
	pthread_mutex_unlock(&o->unknown_mu);
	return rc;
}

static int
emit_error(int rstatus, struct ca_ocsp_answer *ans, ca_ocsp_emit_fn emit,
    void *arg)
{
	ans->rstatus = rstatus;
	ans->cert_status = -1;
	ans->this_update = 0;
	ans->next_update = 0;
	return emit(err_der[rstatus], sizeof(err_der[rstatus]), ans, arg);
}

/*
 * Answer one request.  See ca_ocsp.h.
 */
int
ca_ocsp_respond(struct ca *ca, const unsigned char *der, size_t len,
    ca_ocsp_emit_fn emit, void *arg, struct hsmca_err *err)
{
	struct ca_ocsp *o = ca->ocsp;
	struct ca_ocsp_answer ans;
	struct ca_ocsp_req rq;
	struct look l;
	int64_t now;
	int rc, emit_rc = 0;

	memset(&ans, 0, sizeof(ans));
	if (ca_ocsp_parse_request(der, len, &rq, err) != 0)
		return emit_error(CA_OCSP_MALFORMED, &ans, emit, arg);
	memcpy(ans.serial, rq.serial, rq.serial_len);
	ans.serial_len = rq.serial_len;
	ans.hash = rq.hash;
	if (o == NULL || o->key == NULL) {
		hsmca_err_set(err, HSMCA_ENOTFOUND, "ocsp", "OCSP is not set "
		    "up: %s", o == NULL ? "ocsp.enabled is false" :
		    "no signer; run `hsmca ocsp init-signer`");
		return emit_error(CA_OCSP_UNAUTHORIZED, &ans, emit, arg);
	}
	/* RFC 6960 2.3: a CA this responder does not answer for. */
	if (memcmp(rq.name_hash, o->name_hash[rq.hash], rq.hash_len) != 0 ||
	    memcmp(rq.key_hash, o->key_hash[rq.hash], rq.hash_len) != 0) {
		hsmca_err_set(err, HSMCA_EPOLICY, "unauthorized",
		    "OCSP request: issuerNameHash/issuerKeyHash are not this "
		    "CA's");
		return emit_error(CA_OCSP_UNAUTHORIZED, &ans, emit, arg);
	}
	now = ca_now(ca);
	memset(&l, 0, sizeof(l));
	l.hash = rq.hash;
	l.now = now;
	l.cutoff = ca_ocsp_expired_cutoff(ca, now);
	l.emit = emit;
	l.arg = arg;
	l.ans = &ans;
	if ((rc = store_ocsp_view(ca->store, rq.serial, rq.serial_len,
	    look_cb, &l, err)) != 0)
		return emit_error(CA_OCSP_INTERNAL, &ans, emit, arg);
	if (l.served) {
		atomic_fetch_add(&o->served_stored, 1);
		return l.emit_rc;
	}
	/* Whether or not its record was pruned yet, so that the answer
	 * does not depend on when the pruning runs. */
	if (l.expired) {
		expired_err(ca, rq.serial, rq.serial_len, err);
		return emit_error(CA_OCSP_UNAUTHORIZED, &ans, emit, arg);
	}
	if (!l.known) {
		rc = respond_unknown(ca, &rq, now, &ans, emit, arg, &emit_rc,
		    err);
		if (rc == 1)
			return emit_error(CA_OCSP_TRY_LATER, &ans, emit, arg);
	} else
		rc = refresh_one(ca, rq.serial, rq.serial_len, rq.hash, now,
		    emit, arg, &emit_rc, err);
	if (rc == OCSP_EXPIRED)
		return emit_error(CA_OCSP_UNAUTHORIZED, &ans, emit, arg);
	/* A certificate stored between the two lookups is answered next
	 * time; this once it is internalError rather than a wrong status. */
	if (rc != 0)
		return emit_error(CA_OCSP_INTERNAL, &ans, emit, arg);
	return emit_rc;
}

/*
 * Create the signer of a CA that has none.  See ca_ocsp.h.
 */
int
ca_ocsp_init_signer(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmca_err *err)
{
	int rc;

	if (ca->ocsp == NULL)
		return hsmca_err_set(err, HSMCA_EPOLICY, "ocsp",
		    "ocsp.enabled is false; set it to true first");
	if (ca->ocsp->key != NULL)
		return hsmca_err_set(err, HSMCA_EEXIST, "ocsp",
		    "the CA already has an OCSP signer");
	if ((rc = ca_ocsp_signer_make(ca->hsm, cfg, ca->state_dir,
	    ca->issuing_key, ca->issuing, ca_now(ca), err)) != 0)
		return rc;
	if ((rc = ocsp_signer_open(ca, ca->ocsp, cfg, err)) != 0)
		return rc;
	if (ca->ocsp->key == NULL)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "ocsp",
		    "the OCSP signer was made but cannot be opened");
	return 0;
}

/*
 * Certify the signer key anew.  See ca_ocsp.h.
 */
int
ca_ocsp_renew_signer(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmca_err *err)
{
	if (!ca_ocsp_ready(ca))
		return hsmca_err_set(err, HSMCA_ENOTFOUND, "ocsp",
		    "OCSP is not set up: %s", ca->ocsp == NULL ?
		    "ocsp.enabled is false" : "no signer; run `hsmca ocsp "
		    "init-signer`");
	return ocsp_signer_renew(ca, cfg, ca_now(ca), err);
}
