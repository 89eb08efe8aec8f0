/*
 * tests/protocol/test_acme_dns.c - dns-01 and wildcards through the ACME
 * server: pebble-challtestsrv on loopback is the validator's resolver
 * (its management API sets the TXT records), an order for "*.wild.test"
 * and "wild.test" is validated with dns-01 only and finalized, and a
 * wrong TXT value makes the authorization invalid with
 * incorrectResponse, and a CAA record naming another CA with caa.
 * The suite fails when pebble-challtestsrv is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "protocol/jws.h"
#include "tests/ca/tutil.h"
#include "tests/protocol/acmefix.h"

#define SRV "/usr/bin/pebble-challtestsrv"

static struct afx F;
static pid_t srv_pid = -1;
static int mgmt_port;

/* A port free on 127.0.0.1 for both TCP and UDP (DNS uses both). */
static int
free_port2(void)
{
	struct sockaddr_in sa;
	socklen_t sl;
	int t, u, port = -1, tries;

	for (tries = 0; tries < 50 && port < 0; tries++) {
		t = socket(AF_INET, SOCK_STREAM, 0);
		u = socket(AF_INET, SOCK_DGRAM, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(sa);
		if (bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockname(t, (struct sockaddr *)&sa, &sl) == 0 &&
		    bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			port = ntohs(sa.sin_port);
		close(t);
		close(u);
	}
	return port;
}

/* POST `body` to the management API; 0 on HTTP 200. */
static int
mgmt(const char *path, const char *body)
{
	char url[128];
	long status = 0;
	CURL *c = curl_easy_init();
	CURLcode cc;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", mgmt_port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return cc == CURLE_OK && status == 200 ? 0 : -1;
}

static int
group_setup(void **state)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	char dns[64], mg[64], set[96];
	const char *sets[] = { set, "validation.retries=2", NULL };
	int dns_port, i, fd;

	(void)state;
	/* The package is part of the test dependencies: a missing
	 * server is a failure, not a skip. */
	if (access(SRV, X_OK) != 0) {
		print_error("%s is not installed\n", SRV);
		return -1;
	}
	if ((dns_port = free_port2()) < 0 || (mgmt_port = free_port2()) < 0)
		return -1;
	snprintf(dns, sizeof(dns), "127.0.0.1:%d", dns_port);
	snprintf(mg, sizeof(mg), "127.0.0.1:%d", mgmt_port);
	if ((srv_pid = fork()) < 0)
		return -1;
	if (srv_pid == 0) {
		/* Dies with the test, even one that crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if ((fd = open("/dev/null", O_WRONLY)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(SRV, SRV, "-dns01", dns, "-management", mg, "-http01",
		    "", "-https01", "", "-tlsalpn01", "", "-defaultIPv4",
		    "127.0.0.1", "-defaultIPv6", "", (char *)NULL);
		_exit(127);
	}
	/* Ready when the management API answers (bounded: 10 s). */
	for (i = 0; i < 500 && mgmt("/clear-txt",
	    "{\"host\":\"_acme-challenge.probe.test.\"}") != 0; i++)
		nanosleep(&ts, NULL);
	if (i == 500)
		return -1;
	snprintf(set, sizeof(set), "validation.dns_resolver=%s", dns);
	return afx_setup(&F, sets);
}

static int
group_teardown(void **state)
{
	(void)state;
	if (srv_pid > 0) {
		kill(srv_pid, SIGTERM);
		waitpid(srv_pid, NULL, 0);
		afx_teardown(&F);
	}
	return 0;
}

/* base64url(SHA-256(token "." thumbprint)), RFC 8555 8.4. */
static void
txt_value(EVP_PKEY *key, const char *token, char *out)
{
	char thumb[JWK_THUMBPRINT_LEN + 1], ka[160];
	unsigned char md[32];
	unsigned int mdlen = 0;

	assert_int_equal(jwk_thumbprint(key, thumb, NULL), 0);
	snprintf(ka, sizeof(ka), "%s.%s", token, thumb);
	assert_int_equal(EVP_Digest(ka, strlen(ka), md, &mdlen, EVP_sha256(),
	    NULL), 1);
	b64url_encode_buf(md, mdlen, out);
}

/*
 * Answer authorization `aurl` with dns-01, the TXT set to the right
 * value unless `wrong`; returns the final authorization.
 */
static json_t *
dns01(EVP_PKEY *key, const char *kid, const char *aurl, bool wrong,
    bool *wildcard)
{
	struct ac_resp r, r2;
	json_t *ch, *done;
	const char *token = NULL, *curl = NULL, *host;
	char txt[64], body[256], *cu;
	size_t k;

	assert_int_equal(ac_post(&F.c, key, kid, aurl, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	*wildcard = json_is_true(json_object_get(r.json, "wildcard"));
	host = json_string_value(json_object_get(json_object_get(r.json,
	    "identifier"), "value"));
	json_array_foreach(json_object_get(r.json, "challenges"), k, ch) {
		if (strcmp(json_string_value(json_object_get(ch, "type")),
		    "dns-01") == 0) {
			token = json_string_value(json_object_get(ch, "token"));
			curl = json_string_value(json_object_get(ch, "url"));
		}
	}
	assert_non_null(token);
	txt_value(key, token, txt);
	if (wrong)
		txt[0] = txt[0] == 'A' ? 'B' : 'A';
	snprintf(body, sizeof(body), "{\"host\":\"_acme-challenge.%s.\"}",
	    host);
	assert_int_equal(mgmt("/clear-txt", body), 0);
	snprintf(body, sizeof(body), "{\"host\":\"_acme-challenge.%s.\","
	    "\"value\":\"%s\"}", host, txt);
	assert_int_equal(mgmt("/set-txt", body), 0);
	cu = strdup(curl);
	ac_resp_free(&r);
	assert_int_equal(ac_post(&F.c, key, kid, cu, "{}", &r2), 0);
	assert_int_equal(r2.status, 200);
	ac_resp_free(&r2);
	free(cu);
	done = afx_poll(&F, key, kid, aurl);
	assert_non_null(done);
	return done;
}

static void
test_wildcard_dns01(void **state)
{
	static const char *const sans[] = { "DNS:*.wild.test",
	    "DNS:wild.test", NULL };
	EVP_PKEY *k = t_key("ec:P-384"), *ck = t_key("ec:P-384");
	char *kid, *ourl;
	json_t *order, *z, *o2;
	struct ac_resp r;
	bool wild, saw_wild = false;
	size_t i;

	(void)state;
	assert_int_equal(afx_account(&F, k, &kid), 0);
	assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\",\"value\":"
	    "\"*.wild.test\"},{\"type\":\"dns\",\"value\":\"wild.test\"}]",
	    &ourl, &order), 201);
	for (i = 0; i < 2; i++) {
		z = dns01(k, kid, json_string_value(json_array_get(
		    json_object_get(order, "authorizations"), i)), false,
		    &wild);
		saw_wild = saw_wild || wild;
		if (strcmp(json_string_value(json_object_get(z, "status")),
		    "valid") != 0)
			print_error("authz: %s\n", json_dumps(z, 0));
		assert_string_equal(json_string_value(json_object_get(z,
		    "status")), "valid");
		json_decref(z);
	}
	assert_true(saw_wild);
	o2 = afx_poll(&F, k, kid, ourl);
	assert_string_equal(json_string_value(json_object_get(o2, "status")),
	    "ready");
	json_decref(o2);
	assert_int_equal(afx_finalize(&F, k, kid, order, ck, sans, &r), 200);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "status")), "valid");
	ac_resp_free(&r);
	free(ourl);
	free(kid);
	json_decref(order);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ck);
}

static void
test_wrong_txt(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	char *kid, *ourl;
	json_t *order, *z, *err;
	bool wild;

	(void)state;
	assert_int_equal(afx_account(&F, k, &kid), 0);
	assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\",\"value\":"
	    "\"*.bad.test\"}]", &ourl, &order), 201);
	z = dns01(k, kid, json_string_value(json_array_get(json_object_get(
	    order, "authorizations"), 0)), true, &wild);
	assert_true(wild);
	assert_string_equal(json_string_value(json_object_get(z, "status")),
	    "invalid");
	err = json_object_get(json_array_get(json_object_get(z, "challenges"),
	    0), "error");
	assert_string_equal(json_string_value(json_object_get(err, "type")),
	    "urn:ietf:params:acme:error:incorrectResponse");
	json_decref(z);
	free(ourl);
	free(kid);
	json_decref(order);
	EVP_PKEY_free(k);
}

/* CAA naming another CA: the authorization fails with "caa" even
 * though the dns-01 answer is right (CAA is checked first). */
static void
test_caa_refused(void **state)
{
	EVP_PKEY *k = t_key("ec:P-256");
	char *kid, *ourl;
	json_t *order, *z, *err;
	bool wild;

	(void)state;
	assert_int_equal(mgmt("/add-caa", "{\"host\":\"nope.test.\","
	    "\"policies\":[{\"tag\":\"issue\",\"value\":"
	    "\"other-ca.example\"}]}"), 0);
	assert_int_equal(afx_account(&F, k, &kid), 0);
	assert_int_equal(afx_order(&F, k, kid, "[{\"type\":\"dns\",\"value\":"
	    "\"www.nope.test\"}]", &ourl, &order), 201);
	z = dns01(k, kid, json_string_value(json_array_get(json_object_get(
	    order, "authorizations"), 0)), false, &wild);
	assert_string_equal(json_string_value(json_object_get(z, "status")),
	    "invalid");
	err = json_object_get(json_array_get(json_object_get(z, "challenges"),
	    0), "error");
	if (err == NULL) {
		size_t i;
		json_t *ch;

		json_array_foreach(json_object_get(z, "challenges"), i, ch)
			if (json_object_get(ch, "error") != NULL)
				err = json_object_get(ch, "error");
	}
	assert_string_equal(json_string_value(json_object_get(err, "type")),
	    "urn:ietf:params:acme:error:caa");
	json_decref(z);
	free(ourl);
	free(kid);
	json_decref(order);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wildcard_dns01),
		cmocka_unit_test(test_wrong_txt),
		cmocka_unit_test(test_caa_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
