/*
 * ca/issue.c - issuance: from a checked CSR to a signed, stored
 * subscriber certificate.  Runs concurrently; it only reads struct ca.
 *
 * ca_issue() waits for the record's commit; ca_issue_submit() does the
 * same work up to the signature in the caller's thread, queues the
 * record with store_write_async() and hands the certificate on from
 * the store's callback, once the record is durable.  A caller that
 * keeps several submissions in flight signs the next certificate while
 * earlier records share one fsync.
 */
#include "ca/ca_int.h"
#include "ca/ca_revoke.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#define SERIAL_TRIES 4

/* A fresh serial not yet in the store (the store's put is the final
 * guard against a race between two issuers drawing the same one). */
static int
serial_pick(struct ca *ca, unsigned char serial[CA_SERIAL_LEN],
    struct hsmca_err *err)
{
	int rc;

	for (int i = 0; i < SERIAL_TRIES; i++) {
		if ((rc = ca_serial_new(serial, err)) != 0)
			return rc;
		if ((rc = store_cert_exists(ca->store, serial,
		    CA_SERIAL_LEN)) == 0)
			return 0;
		if (rc < 0)
			return hsmca_err_set(err, rc, "serverInternal",
			    "store: cannot look up a serial (%s)",
			    hsmca_code_name(rc));
	}
	return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
	    "%d random serials in a row are already stored; the random "
	    "source is broken", SERIAL_TRIES);
}

/*
 * Copy the CSR's SubjectPublicKeyInfo into `x` as it is.  X509_set_pubkey
 * would re-encode the key through OpenSSL 3's encoder lookup, which costs
 * more than the token's signature; the bytes are the same.
 */
static int
spki_copy(X509 *x, const struct ca_csr *csr)
{
	ASN1_OBJECT *obj = NULL;
	const ASN1_OBJECT *aobj;
	const unsigned char *pk = ASN1_STRING_get0_data(csr->spki_key);
	unsigned char *enc = NULL;
	const void *pval;
	void *val = NULL;
	int pklen = ASN1_STRING_length(csr->spki_key), ptype;

	X509_ALGOR_get0(&aobj, &ptype, &pval, csr->spki_alg);
	if ((obj = OBJ_dup(aobj)) == NULL)
		goto fail;
	if (ptype == V_ASN1_OBJECT)
		val = OBJ_dup(pval);
	else if (ptype == V_ASN1_SEQUENCE)
		val = ASN1_STRING_dup(pval);
	else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
		goto fail;
	if ((ptype == V_ASN1_OBJECT || ptype == V_ASN1_SEQUENCE) && val == NULL)
		goto fail;
	if ((enc = OPENSSL_memdup(pk, (size_t)pklen)) == NULL)
		goto fail;
	if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), obj, ptype, val,
	    enc, pklen) != 1)
		goto fail;
	return 0;
fail:
	ASN1_OBJECT_free(obj);
	if (ptype == V_ASN1_OBJECT)
		ASN1_OBJECT_free(val);
	else
		ASN1_STRING_free(val);
	OPENSSL_free(enc);
	return -1;
}

/* subjectAltName: dNSName for names, iPAddress for address literals. */
static GENERAL_NAMES *
san_build(const struct ca_csr *csr)
{
	GENERAL_NAMES *gens;
	unsigned char addr[16];

	if ((gens = GENERAL_NAMES_new()) == NULL)
		return NULL;
	for (size_t i = 0; i < csr->nnames; i++) {
		const char *v = csr->names[i];
		GENERAL_NAME *g;
		ASN1_STRING *s;
		int alen = 0;

		if ((g = GENERAL_NAME_new()) == NULL)
			goto fail;
		if (inet_pton(AF_INET, v, addr) == 1)
			alen = 4;
		else if (inet_pton(AF_INET6, v, addr) == 1)
			alen = 16;
		if (alen != 0) {
			g->type = GEN_IPADD;
			s = g->d.iPAddress = ASN1_OCTET_STRING_new();
			if (s == NULL || ASN1_STRING_set(s, addr, alen) != 1)
				goto fail_g;
		} else {
			g->type = GEN_DNS;
			s = g->d.dNSName = ASN1_IA5STRING_new();
			if (s == NULL || ASN1_STRING_set(s, v, -1) != 1)
				goto fail_g;
		}
		if (sk_GENERAL_NAME_push(gens, g) <= 0)
			goto fail_g;
		continue;
fail_g:
		GENERAL_NAME_free(g);
		goto fail;
	}
	return gens;
fail:
	GENERAL_NAMES_free(gens);
	return NULL;
}

/*
 * The to-be-signed certificate.  CA/B BR 7.1.4.3: the CN, when present,
 * is the first DNS name; a name longer than 64 characters cannot be a CN
 * (RFC 5280 ub-common-name), so then the subject is empty and the SAN
 * critical (RFC 5280 4.2.1.6).
 */
static int
tbs_build(struct ca *ca, const struct ca_csr *csr, const unsigned char *serial,
    uint32_t shard, int64_t nb, int64_t na, X509 **out,
    struct hsmca_err *err)
{
	X509 *x = NULL;
	GENERAL_NAMES *gens = NULL;
	const char *cn = NULL;
	bool empty;
	int rc = HSMCA_ENOMEM;

	for (size_t i = 0; i < csr->nnames && cn == NULL; i++)
		if (strchr(csr->names[i], ':') == NULL &&
		    strspn(csr->names[i], "0123456789.") !=
		    strlen(csr->names[i]))
			cn = csr->names[i];
	if (cn != NULL && strlen(cn) > 64)
		cn = NULL;
	empty = cn == NULL;
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_STRING_set(X509_get_serialNumber(x), serial,
	    CA_SERIAL_LEN) != 1 ||
	    X509_set_issuer_name(x, ca->issuer_name) != 1 ||
	    (cn != NULL && X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	    NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
	    0) != 1) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) == NULL ||
	    spki_copy(x, csr) != 0)
		goto out;
	if ((gens = san_build(csr)) == NULL)
		goto out;
	if (X509_add_ext(x, ca->ext_bc, -1) != 1 ||
	    X509_add_ext(x, csr->rsa ? ca->ext_ku_rsa : ca->ext_ku_ec,
	    -1) != 1 ||
	    X509_add_ext(x, ca->ext_eku, -1) != 1 ||
	    X509_add1_ext_i2d(x, NID_subject_alt_name, gens, empty ? 1 : 0,
	    X509V3_ADD_APPEND) != 1 ||
	    X509_add_ext(x, ca->ext_aki, -1) != 1 ||
	    X509_add_ext(x, ca->ext_aia, -1) != 1 ||
	    X509_add_ext(x, ca->ext_cp, -1) != 1 ||
	    X509_add_ext(x, ca->ext_crldp[shard], -1) != 1)
		goto out;
	*out = x;
	x = NULL;
	rc = 0;
out:
	if (rc != 0) {
		ERR_clear_error();
		hsmca_err_set(err, rc, "serverInternal",
		    "cannot build the certificate");
	}
	GENERAL_NAMES_free(gens);
	X509_free(x);
	return rc;
}

/*
 * PEM armor around DER (RFC 7468 3): base64 in 64-column lines, which
 * is what EVP_EncodeUpdate writes.  Encodes the DER already at hand
 * instead of re-encoding the certificate through a BIO.
 */
#define PEM_BEGIN "-----BEGIN CERTIFICATE-----\n"
#define PEM_END "-----END CERTIFICATE-----\n"

/* Leaf PEM followed by the issuing CA's; NULL when out of memory. */
static char *
chain_pem(struct ca *ca, const unsigned char *der, size_t der_len)
{
	EVP_ENCODE_CTX *ectx = NULL;
	char *s = NULL, *p;
	size_t cap;
	int n, ok = 0;

	if (der_len > INT_MAX / 2)
		return NULL;
	/* 4 characters per 3 octets, a newline per 64 characters. */
	cap = sizeof(PEM_BEGIN) + (der_len + 2) / 3 * 4 + der_len / 48 + 2 +
	    sizeof(PEM_END) + ca->issuing_pem_len + 1;
	if ((s = malloc(cap)) == NULL || (ectx = EVP_ENCODE_CTX_new()) == NULL)
		goto out;
	p = s;
	memcpy(p, PEM_BEGIN, sizeof(PEM_BEGIN) - 1);
	p += sizeof(PEM_BEGIN) - 1;
	EVP_EncodeInit(ectx);
	if (EVP_EncodeUpdate(ectx, (unsigned char *)p, &n, der,
	    (int)der_len) != 1)
		goto out;
	p += n;
	EVP_EncodeFinal(ectx, (unsigned char *)p, &n);
	p += n;
	memcpy(p, PEM_END, sizeof(PEM_END) - 1);
	p += sizeof(PEM_END) - 1;
	memcpy(p, ca->issuing_pem, ca->issuing_pem_len + 1);
	ok = 1;
out:
	EVP_ENCODE_CTX_free(ectx);
	if (!ok) {
		free(s);
		s = NULL;
	}
	return s;
}

/*
 * One issuance between its signature and its durable record: the
 * record to store and the result to hand back once it is stored.
 * rec.names are owned here (taken from the CSR), rec.der belongs to
 * `is`.
 */
struct issue_job {
	struct store_cert rec;
	struct ca_issued *is;
	ca_issue_done_fn done;
	void *arg;
	ca_issue_write_fn also;		/* req->also, req->also_arg */
	void *also_arg;
};

/* The record, then the caller's writes in the same transaction. */
static int
job_put(struct store_txn *txn, void *arg)
{
	struct issue_job *job = arg;

	store_cert_put(txn, &job->rec);
	if (job->also != NULL && store_txn_error(txn) == 0)
		return job->also(txn, job->is, job->also_arg);
	return store_txn_error(txn);
}

static void
job_free(struct issue_job *job)
{
	if (job == NULL)
		return;
	for (size_t i = 0; i < job->rec.nnames; i++)
		free(job->rec.names[i]);
	free(job->rec.names);
	ca_issued_free(job->is);
	free(job);
}

/*
 * The signed certificate's DER and PEM chain into job->is, which also
 * takes the facts already in job->rec.
 */
static int
job_encode(struct ca *ca, X509 *x, struct issue_job *job,
    struct hsmca_err *err)
{
	struct ca_issued *is;
	unsigned char *der = NULL;
	int len;

	if ((is = job->is = calloc(1, sizeof(*is))) == NULL ||
	    (len = i2d_X509(x, &der)) <= 0 ||
	    (is->der = malloc((size_t)len)) == NULL) {
		OPENSSL_free(der);
		ERR_clear_error();
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	}
	memcpy(is->der, der, (size_t)len);
	OPENSSL_free(der);
	is->der_len = (size_t)len;
	if ((is->chain_pem = chain_pem(ca, is->der, is->der_len)) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	memcpy(is->serial, job->rec.serial, job->rec.serial_len);
	is->serial_len = job->rec.serial_len;
	is->not_before = job->rec.not_before;
	is->not_after = job->rec.not_after;
	job->rec.der = is->der;
	job->rec.der_len = is->der_len;
	return 0;
}

/*
 * Everything of an issuance up to its record: the issuing CA still
 * active, profile, CSR checks, serial, TBS, lint, the token's
 * signature.  Fills `job` (rec, is).
 */
static int
issue_prepare(struct ca *ca, const struct ca_issue_req *req,
    struct issue_job *job, struct hsmca_err *err)
{
	struct store_cert *rec = &job->rec;
	struct ca_profile prof;
	struct ca_csr *csr = req->csr;
	struct ca_lint_ctx lc;
	X509 *x = NULL;
	int64_t now;
	int rc;

	/* A revoked issuing CA signs nothing more (ca_revoke_issuing). */
	if ((rc = ca_check_issuing_active(ca, err)) != 0)
		goto out;
	if ((rc = ca_profile_get(ca, req->profile, &prof, err)) != 0)
		goto out;
	now = ca_now(ca);
	if ((rc = ca_profile_check_validity(&prof, now, err)) != 0)
		goto out;
	if (csr == NULL && (rc = ca_csr_check(req->csr_der, req->csr_len,
	    &prof, &csr, err)) != 0)
		goto out;
	if ((rc = serial_pick(ca, rec->serial, err)) != 0)
		goto out;
	rec->serial_len = CA_SERIAL_LEN;
	rec->status = STORE_CERT_ISSUED;
	/* Validity counts notBefore through notAfter inclusive. */
	rec->not_before = now;
	rec->not_after = now + prof.validity_secs - 1;
	rec->issued_at = now;
	rec->revoke_reason = -1;
	rec->account_id = req->account_id;
	rec->lineage_id = req->lineage_id;
	rec->crl_shard = ca_crl_shard(rec->serial, CA_SERIAL_LEN,
	    ca->crl_shards);
	memcpy(rec->profile, prof.name, sizeof(rec->profile));
	if ((rc = tbs_build(ca, csr, rec->serial, rec->crl_shard,
	    rec->not_before, rec->not_after, &x, err)) != 0)
		goto out;
	lc.issuer_name = ca->issuer_name;
	lc.issuer_ski = ca->issuer_ski;
	lc.profile = &prof;
	lc.names = (const char *const *)csr->names;
	lc.nnames = csr->nnames;
	lc.now = now;
	lc.csr = csr;
	if ((rc = ca_lint(x, &lc, err)) != 0)
		goto out;
	if (X509_sign(x, hsm_key_private(ca->issuing_key), ca->md) <= 0) {
		char ossl[160] = "";
		rc = hsmca_err_set(err, HSMCA_EHSM, "serverInternal",
		    "token signing failed: %s",
		    hsmca_openssl_errstr(ossl, sizeof(ossl)));
		goto out;
	}
	if ((rc = job_encode(ca, x, job, err)) != 0)
		goto out;
	/* The names outlive the CSR: the record is written later. */
	rec->names = csr->names;
	rec->nnames = csr->nnames;
	csr->names = NULL;
	csr->nnames = 0;
out:
	X509_free(x);
	ca_csr_free(csr);
	return rc;
}

/* The store's refusal as the issuance's error. */
static int
store_fail(int rc, const struct hsmca_err *e, struct hsmca_err *err)
{
	return hsmca_err_set(err, rc, "serverInternal", "store: %s%s",
	    rc == HSMCA_EEXIST ? "serial already stored; " : "",
	    e != NULL ? e->detail : "write failed");
}

int
ca_issue(struct ca *ca, const struct ca_issue_req *req,
    struct ca_issued **out, struct hsmca_err *err)
{
	struct issue_job *job;
	struct hsmca_err e = { 0 };
	int rc;

	*out = NULL;
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		ca_csr_free(req->csr);
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	}
	job->also = req->also;
	job->also_arg = req->also_arg;
	if ((rc = issue_prepare(ca, req, job, err)) != 0)
		goto out;
	/* Durable before anyone is told: RFC 8555 7.4 finalize, LIFECYCLE. */
	if ((rc = store_write(ca->store, job_put, job, &e)) != 0) {
		store_fail(rc, &e, err);
		goto out;
	}
	*out = job->is;
	job->is = NULL;
out:
	job_free(job);
	return rc;
}

/* The commit carrying the record is over: hand the result on. */
static void
submit_done(int result, const struct hsmca_err *e, void *arg)
{
	struct issue_job *job = arg;
	struct hsmca_err err = { 0 };
	struct ca_issued *is = NULL;

	if (result == 0) {
		is = job->is;
		job->is = NULL;
	} else
		store_fail(result, e, &err);
	job->done(result, is, result == 0 ? NULL : &err, job->arg);
	job_free(job);
}

int
ca_issue_submit(struct ca *ca, const struct ca_issue_req *req,
    ca_issue_done_fn done, void *arg, struct hsmca_err *err)
{
	struct issue_job *job;
	struct hsmca_err e = { 0 };
	int rc;

	if (done == NULL) {
		ca_csr_free(req->csr);
		return hsmca_err_set(err, HSMCA_EINVAL, "serverInternal",
		    "ca_issue_submit needs a callback");
	}
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		ca_csr_free(req->csr);
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
	}
	job->done = done;
	job->arg = arg;
	job->also = req->also;
	job->also_arg = req->also_arg;
	/*
	 * Signing takes a while: a commit that starts meanwhile may wait
	 * for this record (store.commit_delay_us) rather than commit
	 * without it and leave it a commit of its own.
	 */
	store_write_expect(ca->store, 1);
	if ((rc = issue_prepare(ca, req, job, err)) != 0)
		goto fail;
	/* Told only from submit_done, once the record is durable. */
	if ((rc = store_write_async(ca->store, job_put, job, submit_done,
	    job, &e)) != 0) {
		store_fail(rc, &e, err);
		goto fail;
	}
	store_write_expect(ca->store, -1);
	return 0;
fail:
	store_write_expect(ca->store, -1);
	job_free(job);
	return rc;
}

void
ca_issued_free(struct ca_issued *issued)
{
	if (issued == NULL)
		return;
	free(issued->der);
	free(issued->chain_pem);
	free(issued);
}
