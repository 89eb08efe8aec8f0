/*
 * tests/ca/test_ocsp.c - the OCSP responder below HTTP, with a real
 * SoftHSM2 token and LMDB store and the injectable clock: request
 * parsing, the signer certificate, the signed response, the periodic
 * refresh and its budget, re-signing at half validity, the unknown
 * cache, a CA without a signer and `init-signer`, ocsp.enabled=false;
 * ocsp.keep_expired_days: a long-expired certificate is unauthorized
 * before and after its record is pruned and nothing is signed for it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/ca_ocsp.h"
#include "ca/ocsp_int.h"
#include "store/store_ocsp.h"
#include "tests/ca/tutil.h"
#include "tests/store/helpers.h"

#define NLEAF 3
#define HOUR 3600
#define DAY 86400

struct ca_env {
	char dir[PATH_MAX];
	struct hsmca_config *cfg;
	struct ca *ca;
	int64_t now;
};

static struct ca_env E;
static X509 *leaf[NLEAF];
static int64_t t_start;		/* E.now at setup */

static int64_t
fixed_clock(void *arg)
{
	return *(int64_t *)arg;
}

/* A CA in a fresh temp dir; `enabled` is ocsp.enabled at the ceremony
 * and `open_enabled` at ca_open(); `keep_days` ocsp.keep_expired_days
 * (NULL: the default). */
static int
ca_make_type(struct ca_env *e, bool enabled, bool open_enabled,
    enum hsm_key_type type, const char *keep_days)
{
	struct ca_init_params p = { 0 };
	struct hsmca_err err = { 0 };
	char path[PATH_MAX + 32];

	t_tmpdir(e->dir, sizeof(e->dir));
	e->cfg = config_new();
	p.state_dir = e->dir;
	p.cfg = e->cfg;
	p.create_token = true;
	p.key_type = type;
	if (config_set(e->cfg, "ocsp.enabled", enabled ? "true" : "false",
	    &err) != 0 || ca_init(&p, &err) != 0)
		goto fail;
	config_free(e->cfg);
	e->cfg = config_new();
	snprintf(path, sizeof(path), "%s/hsmca.conf", e->dir);
	if (config_load(e->cfg, path, &err) != 0 ||
	    config_set(e->cfg, "ocsp.enabled", open_enabled ? "true" :
	    "false", &err) != 0 || (keep_days != NULL && config_set(e->cfg,
	    "ocsp.keep_expired_days", keep_days, &err) != 0) ||
	    ca_open(e->dir, e->cfg, &e->ca, &err) != 0)
		goto fail;
	e->now = ca_now(e->ca);
	ca_set_clock(e->ca, fixed_clock, &e->now);
	return 0;
fail:
	fprintf(stderr, "ca_make: %s: %s\n", err.type ? err.type : "-",
	    err.detail);
	return -1;
}

static int
ca_make(struct ca_env *e, bool enabled, bool open_enabled)
{
	return ca_make_type(e, enabled, open_enabled, HSM_KEY_EC_P256, NULL);
}

static void
ca_drop(struct ca_env *e)
{
	ca_close(e->ca);
	config_free(e->cfg);
	t_rmtree(e->dir);
	memset(e, 0, sizeof(*e));
}

static X509 *
issue(struct ca *ca, int i)
{
	struct ca_issue_req req = { 0 };
	struct hsmca_err err = { 0 };
	struct ca_issued *is = NULL;
	EVP_PKEY *key = t_key("ec:P-256");
	char cn[64], san[80];
	const char *sans[] = { san, NULL };
	const unsigned char *d;
	size_t len;
	X509 *x;

	snprintf(cn, sizeof(cn), "t%d.example.com", i);
	snprintf(san, sizeof(san), "DNS:%s", cn);
	req.csr_der = t_csr(key, cn, sans, &len);
	req.csr_len = len;
	if (ca_issue(ca, &req, &is, &err) != 0)
		print_message("issue: %s\n", err.detail);
	assert_non_null(is);
	d = is->der;
	x = d2i_X509(NULL, &d, (long)is->der_len);
	ca_issued_free(is);
	free((void *)req.csr_der);
	EVP_PKEY_free(key);
	return x;
}

static int
setup(void **state)
{
	(void)state;
	if (ca_make(&E, true, true) != 0)
		return -1;
	t_start = E.now;
	for (int i = 0; i < NLEAF; i++)
		leaf[i] = issue(E.ca, i);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NLEAF; i++)
		X509_free(leaf[i]);
	ca_drop(&E);
	return 0;
}

static uint64_t
sigs(struct ca *ca)
{
	struct ca_ocsp_stats s;

	ca_ocsp_stats(ca, &s);
	return s.signatures;
}

/* DER request for `x` with CertID digest `md`. */
static unsigned char *
req_der(X509 *x, X509 *issuer, const EVP_MD *md, size_t *len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL;

	assert_non_null(OCSP_request_add0_id(req, OCSP_cert_to_id(md, x,
	    issuer)));
	*len = (size_t)i2d_OCSP_REQUEST(req, &der);
	OCSP_REQUEST_free(req);
	return der;
}

struct got {
	unsigned char der[8192];
	size_t len;
	struct ca_ocsp_answer ans;
	int calls;
};

static int
capture(const unsigned char *der, size_t len,
    const struct ca_ocsp_answer *ans, void *arg)
{
	struct got *g = arg;

	g->calls++;
	memcpy(g->der, der, len < sizeof(g->der) ? len : sizeof(g->der));
	g->len = len;
	g->ans = *ans;
	return 0;
}

static void
respond(struct ca *ca, X509 *x, const EVP_MD *md, struct got *g)
{
	struct hsmca_err err = { 0 };
	unsigned char *der;
	size_t len;

	memset(g, 0, sizeof(*g));
	der = req_der(x, ca_issuing_cert(ca), md, &len);
	assert_int_equal(ca_ocsp_respond(ca, der, len, capture, g, &err), 0);
	assert_int_equal(g->calls, 1);
	OPENSSL_free(der);
}

/* ---- parsing -------------------------------------------------------- */

static void
test_parse(void **state)
{
	struct hsmca_err err = { 0 };
	struct ca_ocsp_req rq;
	const ASN1_INTEGER *sn = X509_get0_serialNumber(leaf[0]);
	unsigned char *der, buf[64];
	size_t len;

	(void)state;
	der = req_der(leaf[0], ca_issuing_cert(E.ca), EVP_sha1(), &len);
	assert_int_equal(ca_ocsp_parse_request(der, len, &rq, &err), 0);
	assert_int_equal(rq.hash, CA_OCSP_SHA1);
	assert_int_equal(rq.hash_len, 20);
	assert_int_equal(rq.serial_len, (size_t)ASN1_STRING_length(sn));
	assert_memory_equal(rq.serial, ASN1_STRING_get0_data(sn),
	    rq.serial_len);
	/* One byte more or less: refused. */
	assert_int_equal(ca_ocsp_parse_request(der, len - 1, &rq, &err),
	    HSMCA_EINVAL);
	der = OPENSSL_realloc(der, len + 1);
	der[len] = 0;
	hsmca_err_clear(&err);
	assert_int_equal(ca_ocsp_parse_request(der, len + 1, &rq, &err),
	    HSMCA_EINVAL);
	assert_string_equal(err.type, "malformed");
	assert_non_null(strstr(err.detail, "bytes after"));
	OPENSSL_free(der);
	der = req_der(leaf[0], ca_issuing_cert(E.ca), EVP_sha256(), &len);
	assert_int_equal(ca_ocsp_parse_request(der, len, &rq, &err), 0);
	assert_int_equal(rq.hash, CA_OCSP_SHA256);
	assert_int_equal(rq.hash_len, 32);
	OPENSSL_free(der);
	hsmca_err_clear(&err);
	der = req_der(leaf[0], ca_issuing_cert(E.ca), EVP_sha512(), &len);
	assert_int_equal(ca_ocsp_parse_request(der, len, &rq, &err),
	    HSMCA_EINVAL);
	assert_non_null(strstr(err.detail, "SHA-1 or SHA-256"));
	OPENSSL_free(der);
	memset(buf, 0x30, sizeof(buf));
	assert_int_equal(ca_ocsp_parse_request(buf, sizeof(buf), &rq, &err),
	    HSMCA_EINVAL);
	assert_int_equal(ca_ocsp_parse_request(NULL, 0, &rq, &err),
	    HSMCA_EINVAL);
}

/* A serial of 20 octets is taken, 21 is refused (RFC 5280 4.1.2.2). */
static void
test_parse_serial_bounds(void **state)
{
	struct hsmca_err err = { 0 };
	struct ca_ocsp_req rq;
	unsigned char mag[21];

	(void)state;
	memset(mag, 0x7f, sizeof(mag));
	for (size_t n = 19; n <= 21; n++) {
		OCSP_REQUEST *req = OCSP_REQUEST_new();
		ASN1_INTEGER *ai = ASN1_INTEGER_new();
		unsigned char *der = NULL;
		int len, rc;

		ASN1_STRING_set(ai, mag, (int)n);
		assert_non_null(OCSP_request_add0_id(req, OCSP_cert_id_new(
		    EVP_sha1(), X509_get_subject_name(ca_issuing_cert(E.ca)),
		    X509_get0_pubkey_bitstr(ca_issuing_cert(E.ca)), ai)));
		len = i2d_OCSP_REQUEST(req, &der);
		rc = ca_ocsp_parse_request(der, (size_t)len, &rq, &err);
		print_message("  serial of %zu octets: %d\n", n, rc);
		assert_int_equal(rc, n <= 20 ? 0 : HSMCA_EINVAL);
		OPENSSL_free(der);
		ASN1_INTEGER_free(ai);
		OCSP_REQUEST_free(req);
	}
	/* The top bit set gets the DER 0x00 pad: 20 octets + pad is 21. */
	mag[0] = 0x80;
	{
		OCSP_REQUEST *req = OCSP_REQUEST_new();
		ASN1_INTEGER *ai = ASN1_INTEGER_new();
		unsigned char *der = NULL;
		int len;

		ASN1_STRING_set(ai, mag, 19);
		OCSP_request_add0_id(req, OCSP_cert_id_new(EVP_sha1(),
		    X509_get_subject_name(ca_issuing_cert(E.ca)),
		    X509_get0_pubkey_bitstr(ca_issuing_cert(E.ca)), ai));
		len = i2d_OCSP_REQUEST(req, &der);
		assert_int_equal(ca_ocsp_parse_request(der, (size_t)len, &rq,
		    &err), 0);
		assert_int_equal(rq.serial_len, 20);
		assert_int_equal(rq.serial[0], 0);
		assert_int_equal(rq.serial[1], 0x80);
		OPENSSL_free(der);
		ASN1_INTEGER_free(ai);
		OCSP_REQUEST_free(req);
	}
}

/* ---- the signer and the response ------------------------------------ */

static void
test_signer_cert(void **state)
{
	char path[PATH_MAX + 32];
	X509 *x;
	FILE *fp;
	int64_t na;

	(void)state;
	snprintf(path, sizeof(path), "%s/ocsp.pem", E.dir);
	assert_non_null(fp = fopen(path, "r"));
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	assert_true(X509_verify(x, X509_get0_pubkey(
	    ca_issuing_cert(E.ca))) == 1);
	assert_true(X509_get_extended_key_usage(x) & XKU_OCSP_SIGN);
	assert_true(X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1) >= 0);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x,
	    X509_get_ext_by_NID(x, NID_key_usage, -1))), 1);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_non_null(X509_get0_authority_key_id(x));
	assert_memory_equal(ASN1_STRING_get0_data(X509_get0_authority_key_id(x)),
	    ASN1_STRING_get0_data(X509_get0_subject_key_id(
	    ca_issuing_cert(E.ca))), 20);
	{
		int days, secs;
		ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
		    X509_get0_notAfter(x));
		na = (int64_t)days * 86400 + secs;
	}
	assert_int_equal(na, 365 * 86400 - 1);
	/* The leaves point at the responder. */
	{
		AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(leaf[0],
		    NID_info_access, NULL, NULL);
		bool found = false;
		assert_non_null(aia);
		for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
			ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(
			    aia, i);
			if (OBJ_obj2nid(ad->method) == NID_ad_OCSP &&
			    ad->location->type == GEN_URI &&
			    strcmp((const char *)ASN1_STRING_get0_data(
			    ad->location->d.uniformResourceIdentifier),
			    "http://127.0.0.1:14080/ocsp") == 0)
				found = true;
		}
		AUTHORITY_INFO_ACCESS_free(aia);
		assert_true(found);
	}
	X509_free(x);
}

/* Signed by the delegated signer, verified up to the root; byKey;
 * nextUpdate = thisUpdate + ocsp.validity_hours; no nonce. */
static void
test_response(void **state)
{
	struct got g;
	const unsigned char *p;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	OCSP_CERTID *id;
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	const ASN1_OCTET_STRING *byid = NULL;
	const X509_NAME *byname = NULL;
	ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL;
	int status = -1, days, secs;

	(void)state;
	respond(E.ca, leaf[0], EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, 0);
	assert_int_equal(g.ans.cert_status, 0);
	assert_int_equal(g.ans.this_update, E.now);
	assert_int_equal(g.ans.next_update - g.ans.this_update, 96 * HOUR);
	p = g.der;
	assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)g.len));
	assert_non_null(bs = OCSP_response_get1_basic(resp));
	X509_STORE_add_cert(store, ca_root_cert(E.ca));
	sk_X509_push(untrusted, ca_issuing_cert(E.ca));
	assert_int_equal(OCSP_basic_verify(bs, untrusted, store, 0), 1);
	assert_int_equal(sk_X509_num(OCSP_resp_get0_certs(bs)), 1);
	assert_int_equal(OCSP_resp_get0_id(bs, &byid, &byname), 1);
	assert_non_null(byid);
	assert_null(byname);
	assert_true(OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce,
	    -1) < 0);
	id = OCSP_cert_to_id(NULL, leaf[0], ca_issuing_cert(E.ca));
	assert_int_equal(OCSP_resp_find_status(bs, id, &status, NULL, NULL,
	    &tu, &nu), 1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_GOOD);
	ASN1_TIME_diff(&days, &secs, tu, nu);
	assert_int_equal(days * 86400 + secs, 96 * HOUR);
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
}

/* The tick signs missing responses within its budget, then nothing;
 * requests are served without signing; past half the validity the
 * tick (or the first request) re-signs. */
static void
test_tick_and_half_life(void **state)
{
	struct hsmca_err err = { 0 };
	struct got g;
	size_t n = 99;
	uint64_t s0;
	int64_t t0 = E.now;

	(void)state;
	/* test_response signed leaf 0 on demand; 1 and 2 have none. */
	assert_int_equal(ca_ocsp_tick(E.ca, E.now, 1, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ca_ocsp_tick(E.ca, E.now, 10, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ca_ocsp_tick(E.ca, E.now, 10, &n, &err), 0);
	assert_int_equal(n, 0);
	s0 = sigs(E.ca);
	for (int i = 0; i < 50; i++) {
		respond(E.ca, leaf[i % NLEAF], EVP_sha1(), &g);
		assert_int_equal(g.ans.cert_status, 0);
	}
	assert_int_equal(sigs(E.ca), s0);

	/* One second before half of 96 h: still served. */
	E.now = t0 + 48 * HOUR - 1;
	assert_int_equal(ca_ocsp_tick(E.ca, E.now, 10, &n, &err), 0);
	assert_int_equal(n, 0);
	respond(E.ca, leaf[1], EVP_sha1(), &g);
	assert_int_equal(sigs(E.ca), s0);
	/* At half: due.  The request re-signs leaf 1 once. */
	E.now = t0 + 48 * HOUR;
	respond(E.ca, leaf[1], EVP_sha1(), &g);
	assert_int_equal(sigs(E.ca), s0 + 1);
	assert_int_equal(g.ans.this_update, E.now);
	respond(E.ca, leaf[1], EVP_sha1(), &g);
	assert_int_equal(sigs(E.ca), s0 + 1);
	/* The tick does the other two. */
	assert_int_equal(ca_ocsp_tick(E.ca, E.now, 10, &n, &err), 0);
	assert_int_equal(n, 2);
	E.now = t0;
}

/* A SHA-256 CertID gets its own stored variant, refreshed with the
 * SHA-1 one from then on. */
static void
test_sha256_variant(void **state)
{
	struct got g;
	uint64_t s0;

	(void)state;
	E.now += 60 * HOUR;
	respond(E.ca, leaf[2], EVP_sha256(), &g);	/* signs the variant */
	s0 = sigs(E.ca);
	respond(E.ca, leaf[2], EVP_sha256(), &g);
	assert_int_equal(g.ans.hash, CA_OCSP_SHA256);
	assert_int_equal(g.ans.cert_status, 0);
	respond(E.ca, leaf[2], EVP_sha1(), &g);
	assert_int_equal(g.ans.hash, CA_OCSP_SHA1);
	assert_int_equal(sigs(E.ca), s0);
	/* Half a validity later both variants are re-signed at once. */
	E.now += 48 * HOUR;
	respond(E.ca, leaf[2], EVP_sha1(), &g);
	assert_int_equal(sigs(E.ca), s0 + 2);
	respond(E.ca, leaf[2], EVP_sha256(), &g);
	assert_int_equal(sigs(E.ca), s0 + 2);
}

struct racer {
	X509 *x;
	int good;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct hsmca_err err = { 0 };
	struct got g;
	unsigned char *der;
	size_t len;

	memset(&g, 0, sizeof(g));
	der = req_der(r->x, ca_issuing_cert(E.ca), EVP_sha1(), &len);
	if (ca_ocsp_respond(E.ca, der, len, capture, &g, &err) == 0 &&
	    g.calls == 1 && g.ans.rstatus == 0 && g.ans.cert_status == 0)
		r->good = 1;
	OPENSSL_free(der);
	return NULL;
}

/* Eight threads ask at once for a response that is due: it is signed
 * once, and every thread gets it. */
static void
test_concurrent_due(void **state)
{
	struct racer r[8];
	pthread_t t[8];
	uint64_t s0;

	(void)state;
	E.now += 200 * HOUR;	/* everything is past half its validity */
	s0 = sigs(E.ca);
	for (int i = 0; i < 8; i++) {
		r[i].x = leaf[0];
		r[i].good = 0;
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].good, 1);
	}
	assert_int_equal(sigs(E.ca), s0 + 1);
}

/* The signer certificate renewed at a later time: a new serial and
 * validity, on disk and in the next responses. */
static void
test_renew_signer(void **state)
{
	struct hsmca_err err = { 0 };
	char path[PATH_MAX + 32];
	const unsigned char *p;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	X509 *before, *after, *in_resp;
	struct got g;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/ocsp.pem", E.dir);
	assert_non_null(fp = fopen(path, "r"));
	before = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	E.now += 30 * 86400;
	assert_int_equal(ca_ocsp_renew_signer(E.ca, E.cfg, &err), 0);
	assert_non_null(fp = fopen(path, "r"));
	after = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(before);
	assert_non_null(after);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(before),
	    X509_get0_serialNumber(after)), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(before),
	    X509_get0_pubkey(after)), 1);
	assert_true(ASN1_TIME_compare(X509_get0_notAfter(before),
	    X509_get0_notAfter(after)) < 0);
	respond(E.ca, leaf[1], EVP_sha1(), &g);	/* due: re-signed */
	p = g.der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)g.len);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	in_resp = sk_X509_value(OCSP_resp_get0_certs(bs), 0);
	assert_int_equal(X509_cmp(in_resp, after), 0);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	X509_free(before);
	X509_free(after);
}

/* Recently expired certificates (within ocsp.keep_expired_days): the
 * tick leaves them alone; a request still gets an answer, signed on
 * demand. */
static void
test_expired(void **state)
{
	struct hsmca_err err = { 0 };
	struct got g;
	uint64_t s0;
	size_t n = 99;

	(void)state;
	/* Every certificate here is a 90-day dv one issued within 20 days
	 * of the start; the signer certificate was renewed after 30 days.
	 * Leaf 0 expired 10 days ago. */
	E.now = t_start + 100 * DAY;
	assert_int_equal(ca_ocsp_tick(E.ca, E.now, 1000, &n, &err), 0);
	assert_int_equal(n, 0);
	s0 = sigs(E.ca);
	respond(E.ca, leaf[0], EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, 0);
	assert_int_equal(g.ans.cert_status, 0);
	assert_int_equal(sigs(E.ca), s0 + 1);
}

/* The notAfter of `x` as a time_t. */
static int64_t
not_after(X509 *x)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	return (int64_t)timegm(&tm);
}

/* Whether the store holds a response for `x`. */
static bool
stored(struct ca *ca, X509 *x)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);

	return th_ocsp_stored(ca_store(ca), ASN1_STRING_get0_data(sn),
	    (size_t)ASN1_STRING_length(sn));
}

/* Prune as hsmcad does at E.now; the count removed. */
static size_t
prune(struct ca *ca, int64_t now)
{
	struct hsmca_err err = { 0 };
	struct store_ocsp_prune pr = { 0 };
	struct store_ocsp_pruned out;

	pr.before = ca_ocsp_expired_cutoff(ca, now);
	assert_int_equal(store_ocsp_prune(ca_store(ca), &pr, &out, &err), 0);
	return out.removed;
}

/*
 * ocsp.keep_expired_days (30): answered up to notAfter + 30 days,
 * unauthorized one second later, with nothing signed, before and after
 * its record is pruned; the tick and the SHA-256 variant do not bring
 * the record back; a new certificate is answered as before.
 */
static void
test_long_expired(void **state)
{
	struct hsmca_err err = { 0 };
	int64_t end = not_after(leaf[0]) + 30 * DAY;
	struct got g;
	uint64_t s0;
	size_t n;
	X509 *fresh;

	(void)state;
	/* The last second of its answering period: answered, re-signed
	 * (test_expired's response is past half its validity) and kept. */
	E.now = end;
	s0 = sigs(E.ca);
	respond(E.ca, leaf[0], EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, CA_OCSP_SUCCESSFUL);
	assert_int_equal(g.ans.cert_status, 0);
	assert_int_equal(sigs(E.ca), s0 + 1);
	s0++;
	assert_true(stored(E.ca, leaf[0]));
	assert_int_equal(prune(E.ca, E.now), 0);
	assert_true(stored(E.ca, leaf[0]));

	/* One second later: unauthorized though its record is there. */
	E.now = end + 1;
	respond(E.ca, leaf[0], EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, CA_OCSP_UNAUTHORIZED);
	assert_int_equal(g.ans.cert_status, -1);
	assert_int_equal(g.len, 5);
	respond(E.ca, leaf[0], EVP_sha256(), &g);
	assert_int_equal(g.ans.rstatus, CA_OCSP_UNAUTHORIZED);
	assert_int_equal(sigs(E.ca), s0);
	assert_true(stored(E.ca, leaf[0]));

	/* Long after: every leaf of the group is past its period. */
	E.now = t_start + 400 * DAY;
	assert_true(prune(E.ca, E.now) >= NLEAF);
	for (int i = 0; i < NLEAF; i++) {
		assert_false(stored(E.ca, leaf[i]));
		respond(E.ca, leaf[i], EVP_sha1(), &g);
		assert_int_equal(g.ans.rstatus, CA_OCSP_UNAUTHORIZED);
		respond(E.ca, leaf[i], EVP_sha256(), &g);
		assert_int_equal(g.ans.rstatus, CA_OCSP_UNAUTHORIZED);
	}
	assert_int_equal(ca_ocsp_tick(E.ca, E.now, 1000, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sigs(E.ca), s0);
	for (int i = 0; i < NLEAF; i++)
		assert_false(stored(E.ca, leaf[i]));
	assert_int_equal(prune(E.ca, E.now), 0);

	/* A certificate issued now is answered and kept as before. */
	fresh = issue(E.ca, 900);
	respond(E.ca, fresh, EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, CA_OCSP_SUCCESSFUL);
	assert_int_equal(g.ans.cert_status, 0);
	assert_int_equal(sigs(E.ca), s0 + 1);
	assert_int_equal(prune(E.ca, E.now), 0);
	assert_true(stored(E.ca, fresh));
	X509_free(fresh);
}

/*
 * A response signed inside the answering period but stored after it
 * ended (a pruning may have run in between) is dropped by the write
 * itself: no record comes back.
 */
static void
test_signed_then_expired(void **state)
{
	struct hsmca_err err = { 0 };
	const ASN1_INTEGER *sn;
	struct ocsp_signed s;
	struct ocsp_batch b = { &s, 1 };
	X509 *x;

	(void)state;
	x = issue(E.ca, 901);
	sn = X509_get0_serialNumber(x);
	assert_int_equal(ocsp_prepare(E.ca, ASN1_STRING_get0_data(sn),
	    (size_t)ASN1_STRING_length(sn), CA_OCSP_SHA1, E.now, NULL, NULL,
	    NULL, &s, &err), 1);
	E.now = not_after(x) + 30 * DAY + 1;
	assert_int_equal(ocsp_store(E.ca, &b, &err), 0);
	assert_true(s.dropped);
	assert_false(stored(E.ca, x));
	ocsp_signed_free(&s);
	X509_free(x);
}

/*
 * ocsp.keep_expired_days=0: answered through notAfter, unauthorized
 * the second after, with nothing signed; the record goes at the next
 * pruning and nothing signs it back.
 */
static void
test_keep_zero(void **state)
{
	struct ca_env e = { 0 };
	struct got g;
	uint64_t s0;
	X509 *x;

	(void)state;
	assert_int_equal(ca_make_type(&e, true, true, HSM_KEY_EC_P256, "0"),
	    0);
	x = issue(e.ca, 0);
	e.now = not_after(x);
	respond(e.ca, x, EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, CA_OCSP_SUCCESSFUL);
	assert_int_equal(g.ans.cert_status, 0);
	assert_int_equal(prune(e.ca, e.now), 0);
	s0 = sigs(e.ca);
	e.now++;
	respond(e.ca, x, EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, CA_OCSP_UNAUTHORIZED);
	assert_int_equal(prune(e.ca, e.now), 1);
	respond(e.ca, x, EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, CA_OCSP_UNAUTHORIZED);
	assert_int_equal(sigs(e.ca), s0);
	assert_false(stored(e.ca, x));
	X509_free(x);
	ca_drop(&e);
}

/* Many new certificates: the tick keeps to its budget across chunks
 * and stores each chunk in one commit. */
static void
test_tick_many(void **state)
{
	struct hsmca_err err = { 0 };
	struct store_stats st0, st1;
	X509 *x[70];
	size_t n;

	(void)state;
	for (int i = 0; i < 70; i++)
		x[i] = issue(E.ca, 100 + i);
	store_stats(ca_store(E.ca), &st0);
	assert_int_equal(ca_ocsp_tick(E.ca, E.now, 50, &n, &err), 0);
	assert_int_equal(n, 50);
	store_stats(ca_store(E.ca), &st1);
	print_message("  50 signatures in %llu commits\n",
	    (unsigned long long)(st1.commits - st0.commits));
	assert_true(st1.commits - st0.commits <= 2);
	assert_int_equal(ca_ocsp_tick(E.ca, E.now, 1000, &n, &err), 0);
	assert_int_equal(n, 20);
	assert_int_equal(ca_ocsp_tick(E.ca, E.now, 1000, &n, &err), 0);
	assert_int_equal(n, 0);
	for (int i = 0; i < 70; i++)
		X509_free(x[i]);
}

/* Unknown serials: signed on demand, cached, not stored. */
static void
test_unknown_cache(void **state)
{
	struct hsmca_err err = { 0 };
	EVP_PKEY *k = t_key("ec:P-256");
	X509 *stranger = X509_new();
	struct got g;
	uint64_t s0;
	size_t n;

	(void)state;
	/* A certificate with our issuer name but a serial never issued. */
	ASN1_INTEGER_set(X509_get_serialNumber(stranger), 77);
	X509_set_issuer_name(stranger, X509_get_subject_name(
	    ca_issuing_cert(E.ca)));
	X509_set_pubkey(stranger, k);
	s0 = sigs(E.ca);
	respond(E.ca, stranger, EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, 0);
	assert_int_equal(g.ans.cert_status, 2);
	respond(E.ca, stranger, EVP_sha1(), &g);
	assert_int_equal(g.ans.cert_status, 2);
	assert_int_equal(sigs(E.ca), s0 + 1);
	/* Not a stored record: the tick has nothing to do for it. */
	assert_int_equal(ca_ocsp_tick(E.ca, E.now, 10, &n, &err), 0);
	assert_int_equal(store_cert_exists(ca_store(E.ca),
	    (const unsigned char *)"\x4d", 1), 0);
	/* Fifty new unknown serials a second are signed, then tryLater. */
	E.now += 1;
	s0 = sigs(E.ca);
	for (int i = 0; i < 51; i++) {
		ASN1_INTEGER_set(X509_get_serialNumber(stranger), 1000 + i);
		respond(E.ca, stranger, EVP_sha1(), &g);
		assert_int_equal(g.ans.rstatus, i < 50 ? 0 : CA_OCSP_TRY_LATER);
	}
	assert_int_equal(sigs(E.ca), s0 + 50);
	/* The next second they are answered again. */
	E.now += 1;
	respond(E.ca, stranger, EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, 0);
	assert_int_equal(g.ans.cert_status, 2);
	X509_free(stranger);
	EVP_PKEY_free(k);
}

/* A CA made with ocsp.enabled=false has no signer: opening it with OCSP
 * on works, answers unauthorized, the tick says "not set up";
 * init-signer fixes that once, a second time is EEXIST. */
static void
test_no_signer_then_init(void **state)
{
	struct ca_env e = { 0 };
	struct hsmca_err err = { 0 };
	struct got g;
	X509 *x;
	char path[PATH_MAX + 32];
	size_t n;

	(void)state;
	assert_int_equal(ca_make(&e, false, true), 0);
	snprintf(path, sizeof(path), "%s/ocsp.pem", e.dir);
	assert_int_equal(access(path, F_OK), -1);
	assert_true(ca_ocsp_enabled(e.ca));
	assert_false(ca_ocsp_ready(e.ca));
	x = issue(e.ca, 0);
	respond(e.ca, x, EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, CA_OCSP_UNAUTHORIZED);
	assert_int_equal(ca_ocsp_tick(e.ca, e.now, 10, &n, &err),
	    HSMCA_ENOTFOUND);
	assert_non_null(strstr(err.detail, "init-signer"));
	hsmca_err_clear(&err);
	assert_int_equal(ca_ocsp_init_signer(e.ca, e.cfg, &err), 0);
	assert_true(ca_ocsp_ready(e.ca));
	assert_int_equal(access(path, F_OK), 0);
	respond(e.ca, x, EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, 0);
	assert_int_equal(g.ans.cert_status, 0);
	assert_int_equal(ca_ocsp_init_signer(e.ca, e.cfg, &err),
	    HSMCA_EEXIST);
	X509_free(x);
	ca_drop(&e);
}

/* ocsp.enabled=false: no responder, no OCSP URL in new certificates. */
static void
test_disabled(void **state)
{
	struct ca_env e = { 0 };
	struct hsmca_err err = { 0 };
	AUTHORITY_INFO_ACCESS *aia;
	X509 *x;

	(void)state;
	assert_int_equal(ca_make(&e, true, false), 0);
	assert_false(ca_ocsp_enabled(e.ca));
	assert_int_equal(ca_ocsp_init_signer(e.ca, e.cfg, &err),
	    HSMCA_EPOLICY);
	x = issue(e.ca, 0);
	aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	assert_non_null(aia);
	for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++)
		assert_int_not_equal(OBJ_obj2nid(
		    sk_ACCESS_DESCRIPTION_value(aia, i)->method), NID_ad_OCSP);
	assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 1);
	AUTHORITY_INFO_ACCESS_free(aia);
	X509_free(x);
	ca_drop(&e);
}

/* An RSA CA: the signer is RSA too and its responses verify. */
static void
test_rsa_ca(void **state)
{
	struct ca_env e = { 0 };
	struct got g;
	const unsigned char *p;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509 *x;

	(void)state;
	assert_int_equal(ca_make_type(&e, true, true, HSM_KEY_RSA_2048, NULL),
	    0);
	x = issue(e.ca, 0);
	respond(e.ca, x, EVP_sha1(), &g);
	assert_int_equal(g.ans.rstatus, 0);
	assert_int_equal(g.ans.cert_status, 0);
	p = g.der;
	assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)g.len));
	assert_non_null(bs = OCSP_response_get1_basic(resp));
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(sk_X509_value(
	    OCSP_resp_get0_certs(bs), 0))), EVP_PKEY_RSA);
	X509_STORE_add_cert(store, ca_root_cert(e.ca));
	sk_X509_push(untrusted, ca_issuing_cert(e.ca));
	assert_int_equal(OCSP_basic_verify(bs, untrusted, store, 0), 1);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	X509_free(x);
	ca_drop(&e);
}

/*
 * Run one test in a child process of its own: SoftHSM2 reads its
 * configuration once per process, so a second CA (another token
 * directory) needs a process that has not loaded the module yet.
 */
static int
run_alone(const char *name, CMUnitTestFunction fn)
{
	const struct CMUnitTest one[] = { { name, fn, NULL, NULL, NULL } };
	pid_t pid;
	int st;

	fflush(NULL);
	if ((pid = fork()) == 0)
		_exit(_cmocka_run_group_tests(name, one, 1, NULL, NULL) ? 1 : 0);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_serial_bounds),
		cmocka_unit_test(test_signer_cert),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_tick_and_half_life),
		cmocka_unit_test(test_sha256_variant),
		cmocka_unit_test(test_unknown_cache),
		cmocka_unit_test(test_tick_many),
		cmocka_unit_test(test_concurrent_due),
		cmocka_unit_test(test_renew_signer),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_long_expired),
		cmocka_unit_test(test_signed_then_expired),
	};
	int rc = 0;

	rc |= run_alone("no_signer_then_init", test_no_signer_then_init);
	rc |= run_alone("disabled", test_disabled);
	rc |= run_alone("rsa_ca", test_rsa_ca);
	rc |= run_alone("keep_zero", test_keep_zero);
	rc |= cmocka_run_group_tests(tests, setup, teardown);
	return rc;
}
