/*
 * ca/crl.c - build, sign and store one CRL: a shard's (signed by the
 * issuing key) or the root CRL (signed by the root key).
 *
 * The TBSCertList is assembled as DER: the revoked entries are written
 * by crl_der.c straight from the store's walk (already in serial
 * order), the constant parts are encoded by OpenSSL.  The bytes are
 * signed with EVP_DigestSign on the token key.  The CRL number is the
 * stored number plus one, and the new DER and number are committed
 * together only if the stored number is still the one the build
 * started from (another process may build the same shard), so numbers
 * never repeat and never go down, even across kill -9: a number is
 * returned or published only after its commit.
 */
#include "ca/crl_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "store/store_revoke.h"

#define HOUR 3600
#define BUILD_ATTEMPTS 3

/* The settings in force.  See crl_int.h. */
void
crl_settings_get(const struct ca *ca, struct crl_settings *out)
{
	struct hsmca_config *def;

	if (ca->crl_validity_s != 0) {
		out->validity_s = ca->crl_validity_s;
		out->interval_s = ca->crl_interval_s;
		out->revoke_delay_s = ca->crl_revoke_delay_s;
		return;
	}
	/* Not configured: the table's own defaults, not a copy of them. */
	out->validity_s = 168 * HOUR;
	out->interval_s = 21600;
	out->revoke_delay_s = 60;
	if ((def = config_new()) == NULL)
		return;
	out->validity_s = config_get_int(def, "crl.validity_hours") * HOUR;
	out->interval_s = config_get_int(def, "crl.interval_s");
	out->revoke_delay_s = config_get_int(def, "crl.revoke_delay_s");
	config_free(def);
}

/* Take the crl.* keys.  See ca_revoke.h. */
int
ca_crl_configure(struct ca *ca, const struct hsmca_config *cfg,
    struct hsmca_err *err)
{
	int64_t v = config_get_int(cfg, "crl.validity_hours");

	/* RFC 5280 leaves it open; the CA/B Forum BR 4.9.7 says 10 days. */
	if (v < 1 || v > 240)
		return hsmca_err_set(err, HSMCA_EINVAL, "config",
		    "crl.validity_hours %lld is outside 1..240 (10 days)",
		    (long long)v);
	ca->crl_validity_s = v * HOUR;
	ca->crl_interval_s = config_get_int(cfg, "crl.interval_s");
	ca->crl_revoke_delay_s = config_get_int(cfg, "crl.revoke_delay_s");
	return 0;
}

uint32_t
ca_crl_nshards(const struct ca *ca)
{
	return ca->crl_shards;
}

static int
oom(struct hsmca_err *err)
{
	ERR_clear_error();
	return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
	    "out of memory");
}

/* A GENERAL_NAMES of one URI (for the root CRL's IDP). */
static GENERAL_NAMES *
uri_names(const char *uri)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *s = NULL;

	if ((gens = GENERAL_NAMES_new()) == NULL ||
	    (gen = GENERAL_NAME_new()) == NULL ||
	    (s = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(s, uri, -1) != 1)
		goto fail;
	GENERAL_NAME_set0_value(gen, GEN_URI, s);
	s = NULL;
	if (sk_GENERAL_NAME_push(gens, gen) == 0)
		goto fail;
	return gens;
fail:
	ASN1_IA5STRING_free(s);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return NULL;
}

/*
 * The first distribution point name of a CRL distribution points
 * extension (owned by the caller), or NULL.
 */
static DIST_POINT_NAME *
dp_name_of(const X509_EXTENSION *ext)
{
	CRL_DIST_POINTS *dps;
	DIST_POINT *dp;
	DIST_POINT_NAME *name = NULL;

	if (ext == NULL || (dps = X509V3_EXT_d2i((X509_EXTENSION *)ext)) ==
	    NULL)
		return NULL;
	if (sk_DIST_POINT_num(dps) > 0 &&
	    (dp = sk_DIST_POINT_value(dps, 0))->distpoint != NULL) {
		name = dp->distpoint;
		dp->distpoint = NULL;
	}
	CRL_DIST_POINTS_free(dps);
	return name;
}

/*
 * The root CRL's URL: the issuing certificate's CRL distribution point
 * when it has one, so the bytes match; else <ca.base_url>/crl/root.crl
 * with the base taken from shard 0's distribution point.
 */
static DIST_POINT_NAME *
root_dp_name(const struct ca *ca)
{
	DIST_POINT_NAME *name = NULL;
	X509_EXTENSION *ext;
	GENERAL_NAME *gen;
	const ASN1_IA5STRING *uri;
	char url[1024];
	int idx, n;

	idx = X509_get_ext_by_NID(ca->issuing, NID_crl_distribution_points, -1);
	ext = idx >= 0 ? X509_get_ext(ca->issuing, idx) : NULL;
	if (ext != NULL && (name = dp_name_of(ext)) != NULL)
		return name;
	if ((name = dp_name_of(ca->ext_crldp[0])) == NULL)
		return NULL;
	if (name->type != 0 || sk_GENERAL_NAME_num(name->name.fullname) < 1 ||
	    (gen = sk_GENERAL_NAME_value(name->name.fullname, 0))->type !=
	    GEN_URI)
		goto fail;
	uri = gen->d.uniformResourceIdentifier;
	n = ASN1_STRING_length(uri) - (int)strlen("/crl/0.crl");
	if (n <= 0 || n > 900)
		goto fail;
	snprintf(url, sizeof(url), "%.*s/crl/root.crl", n,
	    (const char *)ASN1_STRING_get0_data(uri));
	GENERAL_NAMES_free(name->name.fullname);
	if ((name->name.fullname = uri_names(url)) == NULL)
		goto fail;
	return name;
fail:
	DIST_POINT_NAME_free(name);
	return NULL;
}

/*
 * The critical IssuingDistributionPoint (RFC 5280 5.2.5): the shard's
 * URL, byte for byte the certificates' CRL distribution point, with
 * onlyContainsUserCerts; the root CRL's with onlyContainsCACerts.
 */
static X509_EXTENSION *
idp_ext(const struct ca *ca, uint32_t shard)
{
	ISSUING_DIST_POINT *idp;
	X509_EXTENSION *ext = NULL;

	if ((idp = ISSUING_DIST_POINT_new()) == NULL)
		return NULL;
	if (shard == CA_CRL_ROOT) {
		idp->distpoint = root_dp_name(ca);
		idp->onlyCA = 1;
	} else {
		idp->distpoint = dp_name_of(ca->ext_crldp[shard]);
		idp->onlyuser = 1;
	}
	if (idp->distpoint != NULL)
		ext = X509V3_EXT_i2d(NID_issuing_distribution_point, 1, idp);
	ISSUING_DIST_POINT_free(idp);
	return ext;
}

/* What differs between a shard CRL and the root CRL. */
struct crl_signer {
	EVP_PKEY *key;			/* signs in the token */
	EVP_PKEY *pub;
	const EVP_MD *md;
	const X509_NAME *issuer;
	X509 *cert;			/* the signer's certificate */
};

static void
signer_of(const struct ca *ca, uint32_t shard, struct crl_signer *s)
{
	struct hsm_key *k = shard == CA_CRL_ROOT ? ca->root_key :
	    ca->issuing_key;

	s->key = hsm_key_private(k);
	s->pub = hsm_key_public(k);
	s->md = ca_md_for(hsm_key_type(k));
	s->cert = shard == CA_CRL_ROOT ? ca->root : ca->issuing;
	s->issuer = X509_get_subject_name(s->cert);
}

/* i2d into a crl_buf. */
#define PUT_I2D(b, fn, obj) do {					\
	unsigned char *der_ = NULL;					\
	int n_ = fn((obj), &der_);					\
	if (n_ <= 0) {							\
		(b)->err = HSMCA_ENOMEM;				\
	} else {							\
		crl_buf_put((b), der_, (size_t)n_);			\
		OPENSSL_free(der_);					\
	}								\
} while (0)

/* The signature AlgorithmIdentifier for the signer's key and digest. */
static X509_ALGOR *
sig_alg(const struct crl_signer *s)
{
	X509_ALGOR *alg;
	int nid;

	if (OBJ_find_sigid_by_algs(&nid, EVP_MD_get_type(s->md),
	    EVP_PKEY_get_base_id(s->pub)) != 1 || (alg = X509_ALGOR_new()) ==
	    NULL)
		return NULL;
	/* RFC 4055 2.1: NULL parameters for RSA; RFC 5758 3.2: absent
	 * for ECDSA. */
	if (X509_ALGOR_set0(alg, OBJ_nid2obj(nid),
	    EVP_PKEY_get_base_id(s->pub) == EVP_PKEY_RSA ? V_ASN1_NULL :
	    V_ASN1_UNDEF, NULL) != 1) {
		X509_ALGOR_free(alg);
		return NULL;
	}
	return alg;
}

/* crlExtensions: AKI, cRLNumber, IDP. */
static STACK_OF(X509_EXTENSION) *
crl_exts(const struct ca *ca, uint32_t shard, uint64_t number)
{
	STACK_OF(X509_EXTENSION) *exts;
	X509_EXTENSION *ext = NULL;
	ASN1_INTEGER *num = NULL;
	ASN1_OCTET_STRING *ski = NULL;

	if ((exts = sk_X509_EXTENSION_new_null()) == NULL)
		return NULL;
	if (shard == CA_CRL_ROOT) {
		const ASN1_OCTET_STRING *rs = X509_get0_subject_key_id(ca->root);
		if (rs == NULL)
			rs = ski = ca_ski_of(X509_get_X509_PUBKEY(ca->root));
		ext = rs != NULL ? ca_ext_aki(rs) : NULL;
	} else
		ext = X509_EXTENSION_dup(ca->ext_aki);
	if (ext == NULL || sk_X509_EXTENSION_push(exts, ext) == 0)
		goto fail;
	if ((num = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set_uint64(num, number) != 1 ||
	    (ext = X509V3_EXT_i2d(NID_crl_number, 0, num)) == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) == 0)
		goto fail;
	if ((ext = idp_ext(ca, shard)) == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) == 0)
		goto fail;
	ASN1_INTEGER_free(num);
	ASN1_OCTET_STRING_free(ski);
	return exts;
fail:
	X509_EXTENSION_free(ext);
	ASN1_INTEGER_free(num);
	ASN1_OCTET_STRING_free(ski);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return NULL;
}

/* The walk's callback: one entry into the buffer. */
static int
entry_cb(const struct store_revoked *e, void *arg)
{
	struct crl_buf *b = arg;

	crl_der_entry(b, e->serial, e->serial_len, e->revoked_at, e->reason);
	return b->err;
}

/* Wrap `body` (len bytes) as one TLV appended to `out`. */
static void
put_tlv(struct crl_buf *out, unsigned char tag, const unsigned char *body,
    size_t len)
{
	unsigned char h[6];

	crl_buf_put(out, h, crl_der_hdr(h, tag, len));
	crl_buf_put(out, body, len);
}

struct crl_parts {
	struct crl_buf ents;		/* revokedCertificates content */
	size_t nents;
	struct store_crl *rec;		/* stored record when read; NULL */
};

/*
 * The revoked entries and the stored record.  A shard's come from one
 * snapshot; the root CRL's record is read before the issuing CA's
 * state, so a revocation racing the build leaves the shard dirty.
 */
static int
collect(struct ca *ca, uint32_t shard, int64_t now, struct crl_parts *p,
    struct hsmca_err *err)
{
	const ASN1_INTEGER *sn;
	int64_t at = 0;
	int reason = 0, rc;

	if (shard != CA_CRL_ROOT) {
		struct crl_buf *b = &p->ents;
		if ((rc = store_revoked_walk(ca->store, shard, now, &p->rec,
		    entry_cb, b, err)) != 0) {
			if (b->err != 0)
				hsmca_err_set(err, b->err, "serverInternal",
				    "shard %u: cannot encode an entry",
				    (unsigned)shard);
			return rc;
		}
		/* Entries are fixed-shape; count them by walking the DER. */
		for (size_t off = 0; off < b->len; off += 2 + b->p[off + 1])
			p->nents++;
		return 0;
	}
	rc = store_crl_get(ca->store, STORE_CRL_ROOT, false, &p->rec, NULL);
	if (rc != 0 && rc != HSMCA_ENOTFOUND)
		return hsmca_err_set(err, rc, "store", "cannot read the root "
		    "CRL record (%s)", hsmca_code_name(rc));
	if ((rc = ca_issuing_revocation(ca, &at, &reason, err)) < 0)
		return rc;
	if (rc == 1 && ca_asn1_time(X509_get0_notAfter(ca->issuing)) >= now) {
		sn = X509_get0_serialNumber(ca->issuing);
		crl_der_entry(&p->ents, ASN1_STRING_get0_data(sn),
		    (size_t)ASN1_STRING_length(sn), at, reason);
		if (p->ents.err != 0)
			return oom(err);
		p->nents = 1;
	}
	return 0;
}

/* Length of a TLV holding `len` bytes. */
static size_t
tlv_len(size_t len)
{
	unsigned char h[6];

	return crl_der_hdr(h, 0x30, len) + len;
}

/*
 * TBSCertList (RFC 5280 5.1.2), signed, as a CertificateList in *out.
 * The revoked list is most of the bytes (megabytes for a big shard), so
 * every size is computed first and it is copied twice only: into the
 * TBS, which must be contiguous to be signed, and into *out.  Growing
 * buffers and intermediate copies cost more in page faults than in
 * copying.
 */
static int
assemble(struct ca *ca, uint32_t shard, int64_t now, int64_t next,
    uint64_t number, const struct crl_buf *ents, struct crl_buf *out,
    struct hsmca_err *err)
{
	static const unsigned char version[] = { 0x02, 0x01, 0x01 };
	struct crl_signer s;
	struct crl_buf tbs = { 0 }, exts = { 0 }, alg = { 0 }, iss = { 0 };
	STACK_OF(X509_EXTENSION) *xs = NULL;
	X509_ALGOR *a = NULL;
	EVP_MD_CTX *mctx = NULL;
	unsigned char t1[17], t2[17], h[6], *sig = NULL;
	size_t t1l, t2l, body, siglen, total;
	int rc = HSMCA_ENOMEM;

	signer_of(ca, shard, &s);
	if ((a = sig_alg(&s)) == NULL ||
	    (xs = crl_exts(ca, shard, number)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "cannot build the CRL extensions of shard %u",
		    (unsigned)shard);
		goto out;
	}
	PUT_I2D(&alg, i2d_X509_ALGOR, a);
	PUT_I2D(&exts, i2d_X509_EXTENSIONS, xs);
	PUT_I2D(&iss, i2d_X509_NAME, (X509_NAME *)s.issuer);
	if (alg.err != 0 || exts.err != 0 || iss.err != 0) {
		rc = oom(err);
		goto out;
	}
	if ((t1l = crl_der_time(t1, now)) == 0 ||
	    (t2l = crl_der_time(t2, next)) == 0)
		goto badtime;
	/* RFC 5280 5.1.2.6: the list is absent, not empty, when nothing
	 * is revoked. */
	body = sizeof(version) + alg.len + iss.len + t1l + t2l +
	    (ents->len > 0 ? tlv_len(ents->len) : 0) + tlv_len(exts.len);
	crl_buf_reserve(&tbs, tlv_len(body));
	crl_buf_put(&tbs, h, crl_der_hdr(h, 0x30, body));
	crl_buf_put(&tbs, version, sizeof(version));
	crl_buf_put(&tbs, alg.p, alg.len);
	crl_buf_put(&tbs, iss.p, iss.len);
	crl_buf_put(&tbs, t1, t1l);
	crl_buf_put(&tbs, t2, t2l);
	if (ents->len > 0)
		put_tlv(&tbs, 0x30, ents->p, ents->len);
	put_tlv(&tbs, 0xa0, exts.p, exts.len);
	if (tbs.err != 0) {
		rc = oom(err);
		goto out;
	}
	/* Sign inside the token. */
	siglen = (size_t)EVP_PKEY_get_size(s.pub);
	if ((sig = malloc(siglen + 1)) == NULL ||
	    (mctx = EVP_MD_CTX_new()) == NULL) {
		rc = oom(err);
		goto out;
	}
	sig[0] = 0;			/* BIT STRING: no unused bits */
	if (EVP_DigestSignInit(mctx, NULL, s.md, NULL, s.key) != 1 ||
	    EVP_DigestSign(mctx, sig + 1, &siglen, tbs.p, tbs.len) != 1) {
		char ossl[160] = "";
		rc = hsmca_err_set(err, HSMCA_EHSM, "hsm", "token signing of "
		    "CRL shard %u failed: %s", (unsigned)shard,
		    hsmca_openssl_errstr(ossl, sizeof(ossl)));
		goto out;
	}
	total = tbs.len + alg.len + tlv_len(siglen + 1);
	crl_buf_reserve(out, tlv_len(total));
	crl_buf_put(out, h, crl_der_hdr(h, 0x30, total));
	crl_buf_put(out, tbs.p, tbs.len);
	crl_buf_put(out, alg.p, alg.len);
	put_tlv(out, 0x03, sig, siglen + 1);
	if (out->err != 0) {
		rc = oom(err);
		goto out;
	}
	rc = 0;
	goto out;
badtime:
	rc = hsmca_err_set(err, HSMCA_EINVAL, "serverInternal",
	    "thisUpdate %lld or nextUpdate %lld is outside years 0..9999",
	    (long long)now, (long long)next);
out:
	EVP_MD_CTX_free(mctx);
	free(sig);
	crl_buf_free(&tbs);
	crl_buf_free(&exts);
	crl_buf_free(&alg);
	crl_buf_free(&iss);
	X509_ALGOR_free(a);
	sk_X509_EXTENSION_pop_free(xs, X509_EXTENSION_free);
	return rc;
}

struct commit_arg {
	uint64_t expect;		/* stored number the build began from */
	uint64_t seen_gen;		/* revocations the build saw */
	struct store_crl next;		/* the new record (der borrowed) */
	bool conflict;
};

/*
 * Store the new CRL only if nobody stored another since the build
 * began; stay dirty when a revocation came in after the build's
 * snapshot.
 */
static int
commit_fn(struct store_txn *txn, void *argp)
{
	struct commit_arg *a = argp;
	struct store_crl *cur = NULL;
	int rc;

	a->conflict = false;
	rc = store_txn_crl_get(txn, a->next.shard, false, &cur);
	if (rc != 0 && rc != HSMCA_ENOTFOUND)
		return rc;
	if ((cur != NULL ? cur->number : 0) != a->expect) {
		a->conflict = true;
		store_crl_free(cur);
		return HSMCA_EEXIST;
	}
	a->next.gen = cur != NULL ? cur->gen : 0;
	a->next.dirty_since = (cur != NULL && cur->gen != a->seen_gen) ?
	    cur->dirty_since : 0;
	store_crl_free(cur);
	store_crl_put(txn, &a->next);
	return store_txn_error(txn);
}

/* Build, sign, store.  See crl_int.h. */
int
crl_build_at(struct ca *ca, uint32_t shard, int64_t now,
    unsigned char **der, size_t *der_len, struct ca_crl_info *info,
    struct hsmca_err *err)
{
	struct crl_settings set;
	struct crl_parts p;
	struct crl_buf out = { 0 };
	struct commit_arg c;
	struct hsmca_err e;
	int rc = HSMCA_EINTERNAL;

	*der = NULL;
	*der_len = 0;
	if (shard != CA_CRL_ROOT && shard >= ca->crl_shards)
		return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
		    "CRL shard %u does not exist; ca.crl_shards is %u",
		    (unsigned)shard, (unsigned)ca->crl_shards);
	crl_settings_get(ca, &set);
	for (int attempt = 0; attempt < BUILD_ATTEMPTS; attempt++) {
		memset(&p, 0, sizeof(p));
		memset(&c, 0, sizeof(c));
		memset(&e, 0, sizeof(e));
		if ((rc = collect(ca, shard, now, &p, err)) != 0)
			goto out;
		c.expect = p.rec != NULL ? p.rec->number : 0;
		c.seen_gen = p.rec != NULL ? p.rec->gen : 0;
		c.next.shard = shard;
		c.next.number = c.expect + 1;
		c.next.this_update = now;
		c.next.next_update = now + set.validity_s;
		if ((rc = assemble(ca, shard, now, c.next.next_update,
		    c.next.number, &p.ents, &out, err)) != 0)
			goto out;
		c.next.der = out.p;
		c.next.der_len = out.len;
		rc = store_write(ca->store, commit_fn, &c, &e);
		if (rc == 0)
			break;
		if (!c.conflict) {
			hsmca_err_set(err, e.code, e.type, "%s", e.detail);
			goto out;
		}
		/* Another builder won; start over from its number. */
		crl_buf_free(&out);
		crl_buf_free(&p.ents);
		store_crl_free(p.rec);
	}
	if (rc != 0) {
		rc = hsmca_err_set(err, HSMCA_EEXIST, "serverInternal",
		    "CRL shard %u: %d concurrent builds won the race; try "
		    "again", (unsigned)shard, BUILD_ATTEMPTS);
		memset(&p, 0, sizeof(p));
		goto out;
	}
	if (info != NULL) {
		info->shard = shard;
		info->number = c.next.number;
		info->this_update = now;
		info->next_update = c.next.next_update;
		info->entries = p.nents;
	}
	*der = out.p;
	*der_len = out.len;
	out.p = NULL;
	rc = 0;
out:
	crl_buf_free(&out);
	crl_buf_free(&p.ents);
	store_crl_free(p.rec);
	return rc;
}

/* Build now.  See ca_revoke.h. */
int
ca_crl_build(struct ca *ca, uint32_t shard, unsigned char **der,
    size_t *der_len, struct ca_crl_info *info, struct hsmca_err *err)
{
	return crl_build_at(ca, shard, ca_now(ca), der, der_len, info, err);
}

/* The stored CRL.  See ca_revoke.h. */
int
ca_crl_get(struct ca *ca, uint32_t shard, unsigned char **der,
    size_t *der_len, struct ca_crl_info *info, struct hsmca_err *err)
{
	struct store_crl *rec = NULL;
	int rc;

	*der = NULL;
	*der_len = 0;
	if (shard != CA_CRL_ROOT && shard >= ca->crl_shards)
		return hsmca_err_set(err, HSMCA_ENOTFOUND, "notFound",
		    "CRL shard %u does not exist; ca.crl_shards is %u",
		    (unsigned)shard, (unsigned)ca->crl_shards);
	rc = store_crl_get(ca->store, shard, true, &rec, NULL);
	if (rc == 0 && (rec->number == 0 || rec->der == NULL))
		rc = HSMCA_ENOTFOUND;
	if (rc == HSMCA_ENOTFOUND) {
		store_crl_free(rec);
		if (shard == CA_CRL_ROOT)
			return hsmca_err_set(err, rc, "notFound", "no root CRL "
			    "has been issued yet");
		return hsmca_err_set(err, rc, "notFound", "no CRL has been "
		    "issued for shard %u yet", (unsigned)shard);
	}
	if (rc != 0)
		return hsmca_err_set(err, rc, "store", "cannot read the CRL "
		    "record (%s)", hsmca_code_name(rc));
	if (info != NULL) {
		info->shard = shard;
		info->number = rec->number;
		info->this_update = rec->this_update;
		info->next_update = rec->next_update;
		info->entries = 0;	/* not counted without parsing */
	}
	*der = rec->der;
	*der_len = rec->der_len;
	rec->der = NULL;
	store_crl_free(rec);
	return 0;
}
