/*
 * tests/ca/test_crl.c - sharded and root CRLs built from a real store and
 * signed in a real SoftHSM2 token, checked from the outside with
 * OpenSSL: DER helpers against OpenSSL's encoder, every field RFC 5280
 * asks for, each revoked serial exactly once in exactly its shard,
 * reason codes, chain verification with CRL checking, expiry on both
 * sides of notAfter, CRL numbers across a reopen, the tick, large
 * shards and the root CRL.  argv[1] may name the CA key type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/ca_revoke.h"
#include "ca/crl_int.h"
#include "store/store_revoke.h"
#include "tests/ca/tutil.h"

/* The commit step's static write function, for the race test. */
#include "ca/crl.c"

#define NSHARDS 4
#define NCERTS 24
#define NREVOKE 12
#define T0 1800000000		/* 2027-01-15 */
#define HOUR 3600

static const char *key_type_name = "ec-p256";

struct env {
	char dir[PATH_MAX];
	struct hsmca_config *cfg;
	struct ca *ca;
	struct ca_issued *certs[NCERTS];
	struct ca_issued *shortlived;
	int reason[NCERTS];		/* -1: not revoked */
	int64_t revoked_at[NCERTS];
};

static struct env E;
static int64_t now_v = T0;

static int64_t
clk(void *arg)
{
	(void)arg;
	return now_v;
}

static struct ca_issued *
issue(EVP_PKEY *key, const char *profile)
{
	const char *sans[] = { "DNS:crl.example.com", NULL };
	struct ca_issue_req req = { 0 };
	struct ca_issued *out = NULL;
	struct hsmca_err err = { 0 };
	size_t len;
	unsigned char *csr = t_csr(key, "crl.example.com", sans, &len);

	req.csr_der = csr;
	req.csr_len = len;
	req.profile = profile;
	if (csr == NULL || ca_issue(E.ca, &req, &out, &err) != 0)
		fprintf(stderr, "issue: %s\n", err.detail);
	free(csr);
	return out;
}

static int
open_ca(void)
{
	if (t_ca_open(E.dir, &E.cfg, &E.ca) != 0)
		return -1;
	ca_set_clock(E.ca, clk, NULL);
	return 0;
}

static int
setup(void **state)
{
	struct hsmca_err err = { 0 };
	EVP_PKEY *key;

	(void)state;
	t_tmpdir(E.dir, sizeof(E.dir));
	if ((E.cfg = config_new()) == NULL ||
	    config_set(E.cfg, "ca.crl_shards", "4", &err) != 0 ||
	    t_ca_init(E.dir, key_type_name, clk, E.cfg) != 0)
		return -1;
	if (open_ca() != 0 || (key = t_key("ec:P-256")) == NULL)
		return -1;
	for (int i = 0; i < NCERTS; i++) {
		E.reason[i] = -1;
		if ((E.certs[i] = issue(key, NULL)) == NULL)
			return -1;
	}
	E.shortlived = issue(key, "shortlived");
	EVP_PKEY_free(key);
	return E.shortlived != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NCERTS; i++)
		ca_issued_free(E.certs[i]);
	ca_issued_free(E.shortlived);
	ca_close(E.ca);
	config_free(E.cfg);
	t_rmtree(E.dir);
	return 0;
}

static uint32_t
shard_of(const struct ca_issued *c)
{
	return ca_crl_shard(c->serial, c->serial_len, NSHARDS);
}

/* Build `shard` now, parse it (exact length), verify its signature. */
static X509_CRL *
build(uint32_t shard, struct ca_crl_info *info)
{
	struct hsmca_err err = { 0 };
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509_CRL *crl;
	X509 *signer = shard == CA_CRL_ROOT ? ca_root_cert(E.ca) :
	    ca_issuing_cert(E.ca);

	if (ca_crl_build(E.ca, shard, &der, &len, info, &err) != 0)
		fail_msg("ca_crl_build %u: %s: %s", (unsigned)shard, err.type,
		    err.detail);
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_ptr_equal(p, der + len);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(signer)), 1);
	free(der);
	return crl;
}

/* --- DER helpers against OpenSSL ------------------------------------- */

static void
test_der_time(void **state)
{
	static const int64_t times[] = {
		0, -631152001, -631152000, 2524607999, 2524608000, T0,
		951782400 /* 2000-02-29 */, 4102444800 /* 2100-01-01 */,
		-62135596800 /* 0001-01-01 */, 253402300799 /* 9999-12-31 */,
	};
	unsigned char mine[17], *theirs = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)times[i]);
		size_t n = crl_der_time(mine, times[i]);
		int tn;

		print_message("  %lld\n", (long long)times[i]);
		assert_non_null(t);
		tn = i2d_ASN1_TIME(t, &theirs);
		assert_int_equal(n, (size_t)tn);
		assert_memory_equal(mine, theirs, n);
		OPENSSL_free(theirs);
		theirs = NULL;
		ASN1_TIME_free(t);
	}
	assert_int_equal(crl_der_time(mine, 253402300800), 0);
}

static void
test_der_hdr(void **state)
{
	static const struct {
		size_t len;
		size_t n;
		unsigned char want[6];
	} cases[] = {
		{ 0, 2, { 0x30, 0x00 } }, { 127, 2, { 0x30, 0x7f } },
		{ 128, 3, { 0x30, 0x81, 0x80 } },
		{ 255, 3, { 0x30, 0x81, 0xff } },
		{ 256, 4, { 0x30, 0x82, 0x01, 0x00 } },
		{ 65535, 4, { 0x30, 0x82, 0xff, 0xff } },
		{ 65536, 5, { 0x30, 0x83, 0x01, 0x00, 0x00 } },
		{ 16777216, 6, { 0x30, 0x84, 0x01, 0x00, 0x00, 0x00 } },
	};
	unsigned char out[6];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(crl_der_hdr(out, 0x30, cases[i].len),
		    cases[i].n);
		assert_memory_equal(out, cases[i].want, cases[i].n);
	}
}

/* --- shard CRLs -------------------------------------------------------- */

/* The URI of the first distribution point of a CRLDP or IDP name. */
static const char *
dpn_uri(const DIST_POINT_NAME *dpn)
{
	GENERAL_NAME *g;

	assert_non_null(dpn);
	assert_int_equal(dpn->type, 0);
	assert_int_equal(sk_GENERAL_NAME_num(dpn->name.fullname), 1);
	g = sk_GENERAL_NAME_value(dpn->name.fullname, 0);
	assert_int_equal(g->type, GEN_URI);
	return (const char *)ASN1_STRING_get0_data(
	    g->d.uniformResourceIdentifier);
}

/* DER of a DIST_POINT_NAME's full name, for byte comparison. */
static int
dpn_der(const DIST_POINT_NAME *dpn, unsigned char **out)
{
	return i2d_GENERAL_NAMES(dpn->name.fullname, out);
}

/* Every field of a shard CRL but the entries. */
static void
check_fields(X509_CRL *crl, uint32_t shard, int64_t now, uint64_t number)
{
	ISSUING_DIST_POINT *idp;
	AUTHORITY_KEYID *aki;
	ASN1_INTEGER *num;
	X509 *signer = shard == CA_CRL_ROOT ? ca_root_cert(E.ca) :
	    ca_issuing_cert(E.ca);
	int crit = -1, idx;
	char want[300];
	unsigned char *a = NULL, *b = NULL;
	int al, bl;

	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(signer)), 0);
	assert_int_equal(ca_asn1_time(X509_CRL_get0_lastUpdate(crl)), now);
	assert_int_equal(ca_asn1_time(X509_CRL_get0_nextUpdate(crl)),
	    now + 168 * HOUR);
	assert_int_equal(X509_CRL_get_ext_count(crl), 3);
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit,
	    NULL);
	assert_non_null(aki);
	assert_int_equal(crit, 0);
	assert_int_equal(ASN1_OCTET_STRING_cmp(aki->keyid,
	    X509_get0_subject_key_id(signer)), 0);
	AUTHORITY_KEYID_free(aki);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	assert_non_null(num);
	assert_int_equal(crit, 0);
	assert_int_equal(ASN1_INTEGER_get(num), (long)number);
	ASN1_INTEGER_free(num);
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit,
	    NULL);
	assert_non_null(idp);
	assert_int_equal(crit, 1);
	if (shard == CA_CRL_ROOT) {
		CRL_DIST_POINTS *dps;

		assert_int_equal(idp->onlyCA, 1);
		assert_int_equal(idp->onlyuser, 0);
		/* The same bytes as the issuing certificate's CRLDP. */
		dps = X509_get_ext_d2i(ca_issuing_cert(E.ca),
		    NID_crl_distribution_points, NULL, NULL);
		assert_non_null(dps);
		al = dpn_der(sk_DIST_POINT_value(dps, 0)->distpoint, &a);
		bl = dpn_der(idp->distpoint, &b);
		assert_int_equal(al, bl);
		assert_memory_equal(a, b, (size_t)al);
		assert_non_null(strstr(dpn_uri(idp->distpoint),
		    "/crl/root.crl"));
		CRL_DIST_POINTS_free(dps);
	} else {
		assert_int_equal(idp->onlyuser, 1);
		assert_int_equal(idp->onlyCA, 0);
		snprintf(want, sizeof(want), "%s/crl/%u.crl",
		    config_get(E.cfg, "ca.base_url"), (unsigned)shard);
		assert_string_equal(dpn_uri(idp->distpoint), want);
		/* Byte for byte a certificate's CRLDP of that shard. */
		for (int i = 0; i < NCERTS; i++) {
			const unsigned char *p = E.certs[i]->der;
			X509 *x;
			CRL_DIST_POINTS *dps;

			if (shard_of(E.certs[i]) != shard)
				continue;
			x = d2i_X509(NULL, &p, (long)E.certs[i]->der_len);
			dps = X509_get_ext_d2i(x, NID_crl_distribution_points,
			    NULL, NULL);
			assert_non_null(dps);
			al = dpn_der(sk_DIST_POINT_value(dps, 0)->distpoint,
			    &a);
			bl = dpn_der(idp->distpoint, &b);
			assert_int_equal(al, bl);
			assert_memory_equal(a, b, (size_t)al);
			CRL_DIST_POINTS_free(dps);
			X509_free(x);
			break;
		}
	}
	OPENSSL_free(a);
	OPENSSL_free(b);
	ISSUING_DIST_POINT_free(idp);
	idx = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1);
	assert_true(idx < 0);
}

/* Nothing revoked: every shard's first CRL, no revoked list. */
static void
test_empty(void **state)
{
	(void)state;
	now_v = T0 + 10;
	for (uint32_t s = 0; s < NSHARDS; s++) {
		struct ca_crl_info info;
		X509_CRL *crl = build(s, &info);

		assert_int_equal(info.number, 1);
		assert_int_equal(info.entries, 0);
		assert_int_equal(info.this_update, T0 + 10);
		check_fields(crl, s, T0 + 10, 1);
		/* RFC 5280 5.1.2.6: absent, not an empty SEQUENCE. */
		assert_null(X509_CRL_get_REVOKED(crl));
		X509_CRL_free(crl);
	}
}

static int
index_of(const ASN1_INTEGER *sn)
{
	for (int i = 0; i < NCERTS; i++)
		if ((size_t)ASN1_STRING_length(sn) == E.certs[i]->serial_len &&
		    memcmp(ASN1_STRING_get0_data(sn), E.certs[i]->serial,
		    E.certs[i]->serial_len) == 0)
			return i;
	return -1;
}

/*
 * Parse every shard: each revoked serial exactly once, in its own
 * shard, with its time and reason (none for unspecified); nothing else.
 */
static void
check_listing(int64_t now, uint64_t number)
{
	int seen[NCERTS] = { 0 };
	size_t total = 0;

	for (uint32_t s = 0; s < NSHARDS; s++) {
		struct ca_crl_info info;
		X509_CRL *crl = build(s, &info);
		STACK_OF(X509_REVOKED) *rs = X509_CRL_get_REVOKED(crl);

		assert_int_equal(info.number, number);
		check_fields(crl, s, now, number);
		/* A shard nobody was revoked into has no list at all. */
		assert_int_equal(info.entries, rs == NULL ? 0 :
		    (size_t)sk_X509_REVOKED_num(rs));
		for (int k = 0; rs != NULL && k < sk_X509_REVOKED_num(rs);
		    k++) {
			X509_REVOKED *r = sk_X509_REVOKED_value(rs, k);
			ASN1_ENUMERATED *code;
			int i = index_of(X509_REVOKED_get0_serialNumber(r));
			int crit = -1;

			assert_true(i >= 0);
			assert_true(E.reason[i] >= 0);
			assert_int_equal(shard_of(E.certs[i]), s);
			seen[i]++;
			total++;
			assert_int_equal(ca_asn1_time(
			    X509_REVOKED_get0_revocationDate(r)),
			    E.revoked_at[i]);
			code = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit,
			    NULL);
			if (E.reason[i] == 0) {
				assert_null(code);
				assert_int_equal(X509_REVOKED_get_ext_count(r),
				    0);
			} else {
				assert_non_null(code);
				assert_int_equal(crit, 0);
				assert_int_equal(ASN1_ENUMERATED_get(code),
				    E.reason[i]);
				ASN1_ENUMERATED_free(code);
			}
		}
		X509_CRL_free(crl);
	}
	for (int i = 0; i < NCERTS; i++)
		assert_int_equal(seen[i], E.reason[i] >= 0 ? 1 : 0);
	assert_int_equal(total, NREVOKE);
}

static void
test_revoked_listed(void **state)
{
	static const int reasons[] = { 0, 1, 3, 4, 5, 9 };
	struct hsmca_err err = { 0 };

	(void)state;
	for (int i = 0; i < NREVOKE; i++) {
		struct ca_revoke_req req = { E.certs[2 * i]->serial,
		    E.certs[2 * i]->serial_len, reasons[i % 6],
		    CA_ACTOR_OPERATOR, "test" };

		now_v = T0 + 100 + i;
		assert_int_equal(ca_revoke(E.ca, &req, &E.revoked_at[2 * i],
		    &err), 0);
		E.reason[2 * i] = reasons[i % 6];
	}
	now_v = T0 + 200;
	check_listing(T0 + 200, 2);
}

/* A chain check with CRL checking: good passes, revoked is refused. */
static int
verify(const struct ca_issued *c)
{
	const unsigned char *p = c->der;
	X509 *leaf = d2i_X509(NULL, &p, (long)c->der_len);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509_CRL *crl = build(shard_of(c), NULL);
	int rc;

	X509_STORE_add_cert(st, ca_root_cert(E.ca));
	X509_STORE_add_crl(st, crl);
	sk_X509_push(chain, ca_issuing_cert(E.ca));
	assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, chain), 1);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK);
	X509_STORE_CTX_set_time(ctx, 0, (time_t)now_v);
	rc = X509_verify_cert(ctx) == 1 ? X509_V_OK :
	    X509_STORE_CTX_get_error(ctx);
	X509_CRL_free(crl);
	sk_X509_free(chain);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(leaf);
	return rc;
}

static void
test_verify(void **state)
{
	(void)state;
	now_v = T0 + 300;
	assert_int_equal(verify(E.certs[1]), X509_V_OK);
	assert_int_equal(verify(E.certs[0]), X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify(E.certs[2]), X509_V_ERR_CERT_REVOKED);
}

static uint64_t
number_of(uint32_t shard)
{
	struct ca_crl_info info;
	struct hsmca_err err = { 0 };
	unsigned char *der = NULL;
	size_t len;

	assert_int_equal(ca_crl_get(E.ca, shard, &der, &len, &info, &err), 0);
	free(der);
	return info.number;
}

/* Numbers continue after a reopen, as they would after a restart. */
static void
test_numbers_reopen(void **state)
{
	struct ca_crl_info info;
	struct hsmca_err err = { 0 };
	unsigned char *der = NULL;
	size_t len;
	uint64_t before, other;

	(void)state;
	assert_int_equal(ca_crl_get(E.ca, 1, &der, &len, &info, &err), 0);
	free(der);
	before = info.number;
	other = number_of(2);
	ca_close(E.ca);
	E.ca = NULL;
	assert_int_equal(open_ca(), 0);
	X509_CRL_free(build(1, &info));
	assert_int_equal(info.number, before + 1);
	/* Other shards are untouched by shard 1's builds. */
	assert_int_equal(number_of(2), other);
	/* Out of range shards are refused, not built. */
	assert_int_equal(ca_crl_build(E.ca, NSHARDS, &der, &len, NULL, &err),
	    HSMCA_EINVAL);
	assert_int_equal(ca_crl_get(E.ca, NSHARDS, &der, &len, NULL, &err),
	    HSMCA_ENOTFOUND);
}

/* Listed through notAfter; gone from the first CRL after it. */
static void
test_expiry(void **state)
{
	struct ca_issued *c = E.shortlived;
	struct ca_revoke_req req = { c->serial, c->serial_len,
	    CA_REASON_SUPERSEDED, CA_ACTOR_OPERATOR, "test" };
	struct hsmca_err err = { 0 };
	struct ca_crl_info info;
	X509_CRL *crl;
	X509_REVOKED *r = NULL;
	ASN1_INTEGER *sn = ASN1_INTEGER_new();

	(void)state;
	ASN1_STRING_set(sn, c->serial, (int)c->serial_len);
	now_v = T0 + 400;
	assert_int_equal(ca_revoke(E.ca, &req, NULL, &err), 0);
	now_v = c->not_after;
	crl = build(shard_of(c), &info);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &r, sn), 1);
	X509_CRL_free(crl);
	now_v = c->not_after + 1;
	crl = build(shard_of(c), &info);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &r, sn), 0);
	X509_CRL_free(crl);
	ASN1_INTEGER_free(sn);
}

/* --- the tick ---------------------------------------------------------- */

static void
test_tick(void **state)
{
	struct hsmca_err err = { 0 };
	struct hsmca_config *cfg = config_new();
	char pub[PATH_MAX + 16], path[PATH_MAX + 40];
	uint64_t n[NSHARDS + 1];
	uint32_t s = shard_of(E.certs[3]);
	struct ca_revoke_req req = { E.certs[3]->serial,
	    E.certs[3]->serial_len, CA_REASON_KEY_COMPROMISE,
	    CA_ACTOR_OPERATOR, "test" };
	int64_t t;
	struct stat sb;

	(void)state;
	assert_int_equal(config_set(cfg, "crl.interval_s", "600", &err), 0);
	assert_int_equal(config_set(cfg, "crl.revoke_delay_s", "60", &err), 0);
	assert_int_equal(config_set(cfg, "crl.validity_hours", "168", &err),
	    0);
	assert_int_equal(ca_crl_configure(E.ca, cfg, &err), 0);
	config_free(cfg);
	snprintf(pub, sizeof(pub), "%s/publish", E.dir);

	/* First tick: every shard and the root get a CRL and a file. */
	/* Well past every shard's last build: all are due. */
	t = now_v = now_v + 10000;
	assert_int_equal(ca_crl_tick(E.ca, t, pub, &err), 0);
	for (uint32_t i = 0; i <= NSHARDS; i++) {
		uint32_t sh = i < NSHARDS ? i : CA_CRL_ROOT;

		n[i] = number_of(sh);
		if (sh == CA_CRL_ROOT)
			snprintf(path, sizeof(path), "%s/crl/root.crl", pub);
		else
			snprintf(path, sizeof(path), "%s/crl/%u.crl", pub, i);
		assert_int_equal(stat(path, &sb), 0);
		assert_true(sb.st_size > 100);
	}
	assert_int_equal(n[NSHARDS], 1);
	/* Nothing due a second later. */
	assert_int_equal(ca_crl_tick(E.ca, t + 1, pub, &err), 0);
	for (uint32_t i = 0; i < NSHARDS; i++)
		assert_int_equal(number_of(i), n[i]);
	/* A revocation: due after half the delay, not a second before. */
	now_v = t + 10;
	assert_int_equal(ca_revoke(E.ca, &req, NULL, &err), 0);
	E.reason[3] = CA_REASON_KEY_COMPROMISE;
	assert_int_equal(ca_crl_tick(E.ca, t + 10 + 29, pub, &err), 0);
	assert_int_equal(number_of(s), n[s]);
	assert_int_equal(ca_crl_tick(E.ca, t + 10 + 30, pub, &err), 0);
	assert_int_equal(number_of(s), n[s] + 1);
	for (uint32_t i = 0; i < NSHARDS; i++)
		if (i != s)
			assert_int_equal(number_of(i), n[i]);
	/* Clean again: not rebuilt until the interval. */
	assert_int_equal(ca_crl_tick(E.ca, t + 41, pub, &err), 0);
	assert_int_equal(number_of(s), n[s] + 1);
	/* A missing file is published again without a new CRL. */
	snprintf(path, sizeof(path), "%s/crl/%u.crl", pub, (s + 1) % NSHARDS);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(ca_crl_tick(E.ca, t + 42, pub, &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(number_of((s + 1) % NSHARDS), n[(s + 1) % NSHARDS]);
	/* The interval: every shard, 599 s after its thisUpdate not yet. */
	assert_int_equal(ca_crl_tick(E.ca, t + 599, pub, &err), 0);
	assert_int_equal(number_of((s + 1) % NSHARDS), n[(s + 1) % NSHARDS]);
	assert_int_equal(ca_crl_tick(E.ca, t + 600, pub, &err), 0);
	assert_int_equal(number_of((s + 1) % NSHARDS),
	    n[(s + 1) % NSHARDS] + 1);
	assert_int_equal(number_of(CA_CRL_ROOT), 2);
	now_v = t + 600;
}

/* --- large shards ------------------------------------------------------ */

#define NBULK 3000

struct bulk {
	int64_t now;
	size_t per_shard[NSHARDS];
};

/* Revoked records and entries written straight through the store. */
static int
bulk_fn(struct store_txn *txn, void *arg)
{
	struct bulk *b = arg;

	memset(b->per_shard, 0, sizeof(b->per_shard));
	for (uint32_t i = 0; i < NBULK; i++) {
		struct store_cert c;
		struct store_revoked e;

		memset(&c, 0, sizeof(c));
		c.serial[0] = 0x7e;
		c.serial[12] = (unsigned char)(i >> 24);
		c.serial[13] = (unsigned char)(i >> 16);
		c.serial[14] = (unsigned char)(i >> 8);
		c.serial[15] = (unsigned char)i;
		c.serial_len = 16;
		c.status = STORE_CERT_REVOKED;
		c.not_before = b->now - 100;
		c.not_after = b->now + 86400;
		c.revoked_at = b->now - 50;
		c.revoke_reason = (int)(i % 2);
		c.crl_shard = ca_crl_shard(c.serial, 16, NSHARDS);
		snprintf(c.profile, sizeof(c.profile), "dv");
		memcpy(e.serial, c.serial, 16);
		e.serial_len = 16;
		e.revoked_at = c.revoked_at;
		e.reason = c.revoke_reason;
		e.not_after = c.not_after;
		store_cert_put(txn, &c);
		store_revoked_put(txn, c.crl_shard, &e);
		b->per_shard[c.crl_shard]++;
	}
	return store_txn_error(txn);
}

static void
test_large(void **state)
{
	struct bulk b;
	struct hsmca_err err = { 0 };
	size_t problems = 99, records = 0, total = 0;

	(void)state;
	b.now = now_v;
	assert_int_equal(store_write(ca_store(E.ca), bulk_fn, &b, &err), 0);
	for (uint32_t s = 0; s < NSHARDS; s++) {
		struct ca_crl_info info;
		X509_CRL *crl = build(s, &info);
		size_t ours = 0;

		for (int i = 0; i < NCERTS; i++)
			ours += E.reason[i] >= 0 && shard_of(E.certs[i]) == s;
		print_message("  shard %u: %zu entries\n", (unsigned)s,
		    info.entries);
		assert_int_equal(info.entries, b.per_shard[s] + ours);
		assert_int_equal((size_t)sk_X509_REVOKED_num(
		    X509_CRL_get_REVOKED(crl)), info.entries);
		total += info.entries;
		X509_CRL_free(crl);
	}
	assert_int_equal(total, NBULK + NREVOKE + 1);
	assert_int_equal(store_check(ca_store(E.ca), stderr, &problems,
	    &records, NULL), 0);
	assert_int_equal(problems, 0);
}

/* --- the root CRL ------------------------------------------------------ */

static void
test_root(void **state)
{
	struct hsmca_err err = { 0 };
	struct ca_crl_info info;
	X509_CRL *crl;
	X509_REVOKED *r = NULL;
	ASN1_ENUMERATED *code;

	(void)state;
	now_v += 10;
	crl = build(CA_CRL_ROOT, &info);
	check_fields(crl, CA_CRL_ROOT, now_v, info.number);
	assert_null(X509_CRL_get_REVOKED(crl));
	X509_CRL_free(crl);
	assert_int_equal(ca_revoke_issuing(E.ca, CA_REASON_KEY_COMPROMISE,
	    "test", NULL, &err), 0);
	now_v += 10;
	crl = build(CA_CRL_ROOT, &info);
	assert_int_equal(info.entries, 1);
	check_fields(crl, CA_CRL_ROOT, now_v, info.number);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &r,
	    X509_get0_serialNumber(ca_issuing_cert(E.ca))), 1);
	code = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
	assert_non_null(code);
	assert_int_equal(ASN1_ENUMERATED_get(code), 1);
	ASN1_ENUMERATED_free(code);
	X509_CRL_free(crl);
	assert_int_equal(ca_check_issuing_active(E.ca, NULL), HSMCA_EPOLICY);
}

/* --- the commit step under a race ---------------------------------- */

/*
 * What crl_build_at() commits when the store moved under the build: a
 * revocation after its snapshot keeps the shard dirty; another
 * builder's commit (a different stored number) is a conflict that
 * writes nothing.  Runs last: it stores placeholder DER.
 */
static void
test_commit_race(void **state)
{
	static unsigned char der[] = { 0x30, 0x00 };
	struct hsmca_err err = { 0 };
	struct store_crl *rec = NULL;
	struct commit_arg c;
	int victim = -1;
	uint32_t s;

	(void)state;
	for (int i = 0; i < NCERTS && victim < 0; i++)
		if (E.reason[i] < 0)
			victim = i;
	assert_true(victim >= 0);
	s = shard_of(E.certs[victim]);
	assert_int_equal(store_crl_get(ca_store(E.ca), s, false, &rec, &err),
	    0);
	memset(&c, 0, sizeof(c));
	c.expect = rec->number;
	c.seen_gen = rec->gen;
	store_crl_free(rec);
	/* The revocation lands after the build's snapshot. */
	{
		struct ca_revoke_req req = { E.certs[victim]->serial,
		    E.certs[victim]->serial_len, CA_REASON_SUPERSEDED,
		    CA_ACTOR_OPERATOR, "test" };

		now_v += 5;
		assert_int_equal(ca_revoke(E.ca, &req, NULL, &err), 0);
	}
	c.next.shard = s;
	c.next.number = c.expect + 1;
	c.next.this_update = now_v;
	c.next.next_update = now_v + 3600;
	c.next.der = der;
	c.next.der_len = sizeof(der);
	assert_int_equal(store_write(ca_store(E.ca), commit_fn, &c, &err), 0);
	assert_false(c.conflict);
	assert_int_equal(store_crl_get(ca_store(E.ca), s, false, &rec, &err),
	    0);
	assert_int_equal(rec->number, c.expect + 1);
	assert_int_equal(rec->dirty_since, now_v);
	assert_int_equal(rec->gen, c.seen_gen + 1);
	store_crl_free(rec);
	/* A second builder that started from the old number loses. */
	c.next.number = c.expect + 1;
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_write(ca_store(E.ca), commit_fn, &c, &err),
	    HSMCA_EEXIST);
	assert_true(c.conflict);
	/* A build that saw the revocation clears the mark. */
	c.expect += 1;
	c.seen_gen += 1;
	c.next.number = c.expect + 1;
	assert_int_equal(store_write(ca_store(E.ca), commit_fn, &c, &err), 0);
	assert_int_equal(store_crl_get(ca_store(E.ca), s, false, &rec, &err),
	    0);
	assert_int_equal(rec->number, c.expect + 1);
	assert_int_equal(rec->dirty_since, 0);
	store_crl_free(rec);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_der_time),
		cmocka_unit_test(test_der_hdr),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_revoked_listed),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_numbers_reopen),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_tick),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_commit_race),
	};

	if (argc > 1)
		key_type_name = argv[1];
	return cmocka_run_group_tests(tests, setup, teardown);
}
