/*
 * tests/ca/test_revoke.c - the revocation core against a real SoftHSM2
 * token and a real LMDB store: reason names, the reasons each actor may
 * give, one durable commit (record, shard entry, dirty CRL, audit),
 * refusals that change nothing, and the issuing CA's revocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ca/ca.h"
#include "ca/ca_revoke.h"
#include "store/store_revoke.h"
#include "tests/ca/tutil.h"

#define NCERTS 4
#define T0 1800000000		/* 2027-01-15 */

struct env {
	char dir[PATH_MAX];
	struct hsmca_config *cfg;
	struct ca *ca;
	struct ca_issued *certs[NCERTS];
};

static struct env E;
static int64_t now_v = T0;

static int64_t
clk(void *arg)
{
	(void)arg;
	return now_v;
}

static int
setup(void **state)
{
	struct hsmca_err err = { 0 };
	EVP_PKEY *key = NULL;

	(void)state;
	t_tmpdir(E.dir, sizeof(E.dir));
	if ((E.cfg = config_new()) == NULL ||
	    t_ca_init(E.dir, "ec-p256", clk, E.cfg) != 0 ||
	    t_ca_open(E.dir, &E.cfg, &E.ca) != 0)
		return -1;
	ca_set_clock(E.ca, clk, NULL);
	if ((key = t_key("ec:P-256")) == NULL)
		return -1;
	for (int i = 0; i < NCERTS; i++) {
		const char *sans[] = { "DNS:r.example.com", NULL };
		struct ca_issue_req req = { 0 };
		size_t len;
		unsigned char *csr = t_csr(key, "r.example.com", sans, &len);

		req.csr_der = csr;
		req.csr_len = len;
		if (csr == NULL || ca_issue(E.ca, &req, &E.certs[i], &err) != 0) {
			fprintf(stderr, "issue: %s\n", err.detail);
			free(csr);
			EVP_PKEY_free(key);
			return -1;
		}
		free(csr);
	}
	EVP_PKEY_free(key);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NCERTS; i++)
		ca_issued_free(E.certs[i]);
	ca_close(E.ca);
	config_free(E.cfg);
	t_rmtree(E.dir);
	return 0;
}

/* Names and codes both ways; everything else refused. */
static void
test_reason_names(void **state)
{
	static const struct { const char *in; int want; } cases[] = {
		{ "unspecified", 0 }, { "keyCompromise", 1 },
		{ "KEYCOMPROMISE", 1 }, { "cACompromise", 2 },
		{ "affiliationChanged", 3 }, { "superseded", 4 },
		{ "cessationOfOperation", 5 }, { "certificateHold", 6 },
		{ "removeFromCRL", 8 }, { "privilegeWithdrawn", 9 },
		{ "aACompromise", 10 }, { "0", 0 }, { "9", 9 }, { "10", 10 },
		{ "7", -1 }, { "11", -1 }, { "-1", -1 }, { "", -1 },
		{ "1x", -1 }, { "keyCompromised", -1 },
		{ "99999999999999999999", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("  \"%s\"\n", cases[i].in);
		assert_int_equal(ca_reason_parse(cases[i].in), cases[i].want);
	}
	assert_null(ca_reason_name(7));
	assert_null(ca_reason_name(11));
	assert_null(ca_reason_name(-1));
	assert_string_equal(ca_reason_name(1), "keyCompromise");
}

static int
count_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	(void)seq;
	(void)rec;
	(void)len;
	(*(size_t *)arg)++;
	return 0;
}

static size_t
audit_count(void)
{
	size_t n = 0;

	assert_int_equal(store_audit_walk(ca_store(E.ca), 1, count_cb, &n,
	    NULL), 0);
	return n;
}

/* The last audit record, parsed. */
static int
last_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	json_t **out = arg;

	(void)seq;
	json_decref(*out);
	*out = json_loadb(rec, len, JSON_REJECT_DUPLICATES, NULL);
	return 0;
}

static json_t *
audit_last(void)
{
	json_t *j = NULL;

	assert_int_equal(store_audit_walk(ca_store(E.ca), 1, last_cb, &j,
	    NULL), 0);
	assert_non_null(j);
	return j;
}

static void
assert_clean(void)
{
	size_t problems = 99, records = 0;

	assert_int_equal(store_check(ca_store(E.ca), stderr, &problems,
	    &records, NULL), 0);
	assert_int_equal(problems, 0);
	assert_int_equal(records, NCERTS);
}

struct find {
	const unsigned char *serial;
	size_t len;
	int found;
	struct store_revoked e;
};

static int
find_cb(const struct store_revoked *e, void *arg)
{
	struct find *f = arg;

	if (e->serial_len == f->len && memcmp(e->serial, f->serial,
	    f->len) == 0) {
		f->found++;
		f->e = *e;
	}
	return 0;
}

static uint32_t
shard_of(const struct ca_issued *c)
{
	return ca_crl_shard(c->serial, c->serial_len, ca_crl_nshards(E.ca));
}

/* One revocation: the record, its shard entry, the dirty CRL, audit. */
static void
test_revoke_ok(void **state)
{
	struct ca_issued *c = E.certs[0];
	struct ca_revoke_req req = { c->serial, c->serial_len,
	    CA_REASON_KEY_COMPROMISE, CA_ACTOR_SUBSCRIBER, "acme account 7" };
	struct hsmca_err err = { 0 };
	struct store_cert *rec = NULL;
	struct store_crl *crl = NULL;
	struct find f = { c->serial, c->serial_len, 0, { { 0 }, 0, 0, 0, 0 } };
	char hex[2 * STORE_SERIAL_MAX + 1];
	size_t before = audit_count();
	int64_t at = 0;
	json_t *j;

	(void)state;
	now_v = T0 + 100;
	assert_int_equal(ca_revoke(E.ca, &req, &at, &err), 0);
	assert_int_equal(at, T0 + 100);
	assert_int_equal(store_cert_get(ca_store(E.ca), c->serial,
	    c->serial_len, &rec, &err), 0);
	assert_int_equal(rec->status, STORE_CERT_REVOKED);
	assert_int_equal(rec->revoked_at, T0 + 100);
	assert_int_equal(rec->revoke_reason, CA_REASON_KEY_COMPROMISE);
	/* Exactly once, in its own shard, with what the CRL needs. */
	for (uint32_t s = 0; s < ca_crl_nshards(E.ca); s++)
		assert_int_equal(store_revoked_walk(ca_store(E.ca), s, 0,
		    NULL, find_cb, &f, &err), 0);
	assert_int_equal(f.found, 1);
	f.found = 0;
	assert_int_equal(store_revoked_walk(ca_store(E.ca), shard_of(c), 0,
	    &crl, find_cb, &f, &err), 0);
	assert_int_equal(f.found, 1);
	assert_int_equal(f.e.revoked_at, T0 + 100);
	assert_int_equal(f.e.reason, 1);
	assert_int_equal(f.e.not_after, rec->not_after);
	assert_non_null(crl);
	assert_int_equal(crl->dirty_since, T0 + 100);
	assert_int_equal(crl->gen, 1);
	assert_int_equal(crl->number, 0);
	/* Audit: one more entry naming it. */
	assert_int_equal(audit_count(), before + 1);
	j = audit_last();
	ca_serial_hex(c->serial, c->serial_len, hex);
	assert_string_equal(json_string_value(json_object_get(j, "action")),
	    "revoke");
	assert_string_equal(json_string_value(json_object_get(j, "serial")),
	    hex);
	assert_string_equal(json_string_value(json_object_get(j, "reason")),
	    "keyCompromise");
	assert_string_equal(json_string_value(json_object_get(j, "who")),
	    "acme account 7");
	assert_string_equal(json_string_value(json_object_get(j, "actor")),
	    "subscriber");
	assert_int_equal(json_integer_value(json_object_get(j, "time")),
	    T0 + 100);
	json_decref(j);
	store_crl_free(crl);
	store_cert_free(rec);
	assert_clean();
}

/* Refusals carry their type and change nothing. */
static void
test_refusals(void **state)
{
	static const struct {
		int reason;
		enum ca_revoke_actor actor;
		const char *type;
	} bad[] = {
		{ CA_REASON_PRIVILEGE_WITHDRAWN, CA_ACTOR_SUBSCRIBER,
		  "badRevocationReason" },
		{ CA_REASON_CERTIFICATE_HOLD, CA_ACTOR_OPERATOR,
		  "badRevocationReason" },
		{ CA_REASON_REMOVE_FROM_CRL, CA_ACTOR_OPERATOR,
		  "badRevocationReason" },
		{ CA_REASON_CA_COMPROMISE, CA_ACTOR_OPERATOR,
		  "badRevocationReason" },
		{ CA_REASON_AA_COMPROMISE, CA_ACTOR_OPERATOR,
		  "badRevocationReason" },
		{ 7, CA_ACTOR_OPERATOR, "badRevocationReason" },
		{ 11, CA_ACTOR_OPERATOR, "badRevocationReason" },
		{ -1, CA_ACTOR_OPERATOR, "badRevocationReason" },
	};
	struct ca_issued *c = E.certs[1], *done = E.certs[0];
	struct store_cert *rec = NULL;
	struct store_crl *crl = NULL;
	struct hsmca_err err;
	size_t before = audit_count();
	unsigned char unknown[16] = { 0x42 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ca_revoke_req req = { c->serial, c->serial_len,
		    bad[i].reason, bad[i].actor, "cli" };

		print_message("  reason %d actor %d\n", bad[i].reason,
		    (int)bad[i].actor);
		memset(&err, 0, sizeof(err));
		assert_int_equal(ca_revoke(E.ca, &req, NULL, &err),
		    HSMCA_EPOLICY);
		assert_string_equal(err.type, bad[i].type);
	}
	/* privilegeWithdrawn is an operator's reason: refused above for a
	 * subscriber only. */
	{
		struct ca_revoke_req req = { done->serial, done->serial_len,
		    CA_REASON_SUPERSEDED, CA_ACTOR_OPERATOR, "cli" };

		memset(&err, 0, sizeof(err));
		assert_int_equal(ca_revoke(E.ca, &req, NULL, &err),
		    HSMCA_EPOLICY);
		assert_string_equal(err.type, "alreadyRevoked");
		assert_non_null(strstr(err.detail, "keyCompromise"));
	}
	{
		struct ca_revoke_req req = { unknown, sizeof(unknown),
		    CA_REASON_SUPERSEDED, CA_ACTOR_OPERATOR, "cli" };

		memset(&err, 0, sizeof(err));
		assert_int_equal(ca_revoke(E.ca, &req, NULL, &err),
		    HSMCA_ENOTFOUND);
		assert_string_equal(err.type, "malformed");
		req.serial_len = 0;
		memset(&err, 0, sizeof(err));
		assert_int_equal(ca_revoke(E.ca, &req, NULL, &err),
		    HSMCA_EINVAL);
		req.serial_len = 21;
		memset(&err, 0, sizeof(err));
		assert_int_equal(ca_revoke(E.ca, &req, NULL, &err),
		    HSMCA_EINVAL);
	}
	/* Nothing changed: the record, the first revocation, the audit. */
	assert_int_equal(store_cert_get(ca_store(E.ca), c->serial,
	    c->serial_len, &rec, NULL), 0);
	assert_int_equal(rec->status, STORE_CERT_ISSUED);
	store_cert_free(rec);
	assert_int_equal(store_cert_get(ca_store(E.ca), done->serial,
	    done->serial_len, &rec, NULL), 0);
	assert_int_equal(rec->revoke_reason, CA_REASON_KEY_COMPROMISE);
	assert_int_equal(rec->revoked_at, T0 + 100);
	store_cert_free(rec);
	assert_int_equal(audit_count(), before);
	assert_int_equal(store_crl_get(ca_store(E.ca), shard_of(done), false,
	    &crl, NULL), 0);
	assert_int_equal(crl->gen, 1);
	store_crl_free(crl);
	assert_clean();
}

/* Operators may give privilegeWithdrawn; unspecified is a reason too. */
static void
test_operator_reasons(void **state)
{
	struct ca_revoke_req r1 = { E.certs[1]->serial, E.certs[1]->serial_len,
	    CA_REASON_PRIVILEGE_WITHDRAWN, CA_ACTOR_OPERATOR, "cli" };
	struct ca_revoke_req r2 = { E.certs[2]->serial, E.certs[2]->serial_len,
	    CA_REASON_UNSPECIFIED, CA_ACTOR_SUBSCRIBER, "acme account 1" };
	struct hsmca_err err = { 0 };
	size_t before = audit_count();

	(void)state;
	assert_int_equal(ca_revoke(E.ca, &r1, NULL, &err), 0);
	assert_int_equal(ca_revoke(E.ca, &r2, NULL, &err), 0);
	assert_int_equal(audit_count(), before + 2);
	assert_clean();
}

/* The issuing CA: active, revoked once, then refused. */
static void
test_issuing(void **state)
{
	struct hsmca_err err = { 0 };
	struct store_crl *crl = NULL;
	int64_t at = 0;
	int reason = -1;
	size_t before = audit_count();
	json_t *j;

	(void)state;
	assert_int_equal(ca_check_issuing_active(E.ca, &err), 0);
	assert_int_equal(ca_issuing_revocation(E.ca, &at, &reason, &err), 0);
	assert_int_equal(ca_revoke_issuing(E.ca, CA_REASON_CERTIFICATE_HOLD,
	    "cli", NULL, &err), HSMCA_EPOLICY);
	assert_string_equal(err.type, "badRevocationReason");
	assert_int_equal(ca_check_issuing_active(E.ca, NULL), 0);
	assert_int_equal(audit_count(), before);

	now_v = T0 + 500;
	memset(&err, 0, sizeof(err));
	assert_int_equal(ca_revoke_issuing(E.ca, CA_REASON_CA_COMPROMISE,
	    "cli", &at, &err), 0);
	assert_int_equal(at, T0 + 500);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ca_check_issuing_active(E.ca, &err), HSMCA_EPOLICY);
	assert_non_null(strstr(err.detail, "cACompromise"));
	assert_int_equal(ca_issuing_revocation(E.ca, &at, &reason, NULL), 1);
	assert_int_equal(at, T0 + 500);
	assert_int_equal(reason, CA_REASON_CA_COMPROMISE);
	assert_int_equal(store_crl_get(ca_store(E.ca), STORE_CRL_ROOT, false,
	    &crl, NULL), 0);
	assert_int_equal(crl->dirty_since, T0 + 500);
	store_crl_free(crl);
	j = audit_last();
	assert_string_equal(json_string_value(json_object_get(j, "action")),
	    "revoke-intermediate");
	json_decref(j);
	/* Irreversible, and a second attempt changes nothing. */
	now_v = T0 + 600;
	memset(&err, 0, sizeof(err));
	assert_int_equal(ca_revoke_issuing(E.ca, CA_REASON_KEY_COMPROMISE,
	    "cli", NULL, &err), HSMCA_EPOLICY);
	assert_string_equal(err.type, "alreadyRevoked");
	assert_int_equal(ca_issuing_revocation(E.ca, &at, &reason, NULL), 1);
	assert_int_equal(at, T0 + 500);
	assert_int_equal(audit_count(), before + 1);
	assert_clean();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_revoke_ok),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_operator_reasons),
		cmocka_unit_test(test_issuing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
