/*
 * tests/protocol/test_validate.c - challenge validation and CAA against
 * real servers on 127.0.0.1: Knot DNS (started with tests/lib/knot.sh)
 * as the resolver the validator forwards to, an http_server for http-01
 * and an OpenSSL server thread for tls-alpn-01.  Also the CAA RDATA and
 * value parsers on their own, from a table.
 *
 * Every network wait is bounded by validation.timeout_s (5 s here, 1 s
 * for the timeout cases); knotd exits when this process does (its bash
 * parent reads our pipe and stops it on EOF).
 */
#define _XOPEN_SOURCE 700	/* nftw() */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/config.h"
#include "protocol/http.h"
#include "protocol/jws.h"
#include "protocol/validate.h"
#include "protocol/validate_int.h"

extern char **environ;

#define KA	"tok.thumbprint-of-the-account-key"	/* key authz */
#define ACCT	"https://ca.test/acme/acct/1"

/* ---- fixtures ------------------------------------------------------- */

struct fx {
	char dir[256];
	pid_t knot_bash;	/* bash running knot.sh, parent of knotd */
	int knot_pipe;		/* its stdin: closing it stops knotd */
	FILE *knot_out;		/* its stdout */
	unsigned knot_port;
	struct http_server *http;
	uint16_t http_port;
	/* tls-alpn-01 responder */
	int tls_fd;
	uint16_t tls_port;
	pthread_t tls_thread;
	atomic_bool tls_stop;
	SSL_CTX *tls_ctx;
	EVP_PKEY *tls_key;
	struct validator *v;
	struct hsmca_config *cfg;
};

static struct fx F;
static uint16_t closed_port;

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

/* The directory of this file's sibling tests/lib/ (CMake compiles with
 * absolute paths). */
static void
knot_sh_path(char *out, size_t len)
{
	const char *f = __FILE__, *s = strstr(f, "/protocol/test_validate.c");

	assert_non_null(s);
	snprintf(out, len, "%.*s/lib/knot.sh", (int)(s - f), f);
}

/* b64url(SHA-256(KA)): what dns-01 expects. */
static void
ka_digest(char out[64])
{
	unsigned char md[32];
	unsigned int l;

	assert_int_equal(EVP_Digest(KA, strlen(KA), md, &l, EVP_sha256(),
	    NULL), 1);
	b64url_encode_buf(md, l, out);
}

static void
write_zone(const char *path)
{
	char d[64];
	FILE *fp;

	ka_digest(d);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp,
	    "$ORIGIN test.\n$TTL 60\n"
	    "@ SOA ns.test. admin.test. 1 3600 600 86400 60\n"
	    "@ NS ns.test.\n"
	    "ns A 127.0.0.1\n"
	    "a A 127.0.0.1\n"
	    "b A 127.0.0.1\n"
	    "tls-good A 127.0.0.1\ntls-wrong A 127.0.0.1\n"
	    "tls-noncrit A 127.0.0.1\ntls-twosan A 127.0.0.1\n"
	    "tls-noalpn A 127.0.0.1\ntls-noext A 127.0.0.1\n"
	    "noaddr TXT \"nothing else\"\n"
	    "dns-good A 127.0.0.1\n"
	    "_acme-challenge.dns-good TXT \"not-it\"\n"
	    "_acme-challenge.dns-good TXT \"%s\"\n"
	    "_acme-challenge.dns-split TXT \"%.20s\" \"%s\"\n"
	    "_acme-challenge.dns-cname CNAME _acme-challenge.dns-good\n"
	    "caa-cname CNAME caa-deny\n"
	    "_acme-challenge.dns-wrong TXT \"abc\"\n"
	    "_acme-challenge.dns-wrong TXT \"def\"\n"
	    "_acme-challenge.dns-none A 127.0.0.1\n"
	    "caa-allow CAA 0 issue \"hsmca.test\"\n"
	    "caa-case CAA 0 issue \"HSMCA.Test\"\n"
	    "caa-deny CAA 0 issue \"ca.example\"\n"
	    "caa-empty CAA 0 issue \";\"\n"
	    "caa-crit CAA 0 issue \"hsmca.test\"\n"
	    "caa-crit CAA 128 tbs \"unknown\"\n"
	    "caa-noncrit CAA 0 tbs \"unknown\"\n"
	    "caa-noncrit CAA 0 issue \"hsmca.test\"\n"
	    "caa-iodef CAA 0 iodef \"mailto:sec@caa-iodef.test\"\n"
	    "caa-acct CAA 0 issue \"hsmca.test; accounturi=" ACCT "\"\n"
	    "caa-meth CAA 0 issue \"hsmca.test; validationmethods="
	    "dns-01,tls-alpn-01\"\n"
	    "caa-wild CAA 0 issue \"hsmca.test\"\n"
	    "caa-wild CAA 0 issuewild \"ca.example\"\n"
	    "caa-wild2 CAA 0 issue \"ca.example\"\n"
	    "caa-wild2 CAA 0 issuewild \"hsmca.test\"\n"
	    "caa-two CAA 0 issue \"ca.example\"\n"
	    "caa-two CAA 0 issue \"hsmca.test\"\n"
	    "parent CAA 0 issue \"ca.example\"\n"
	    "child.parent A 127.0.0.1\n"
	    "ok.parent2 A 127.0.0.1\n"
	    "parent2 CAA 0 issue \"hsmca.test\"\n",
	    d, d, d + 20);
	assert_int_equal(fclose(fp), 0);
}

/* Start knotd through tests/lib/knot.sh; bash stays its parent and
 * stops it when our end of its stdin closes. */
static void
knot_up(void)
{
	static const char script[] =
	    "source \"$1\" || exit 1\n"
	    "knot_start \"$2\" test. \"$3\" >&2 || exit 1\n"
	    "echo \"$KNOT_PORT\"\n"
	    /* Each line: knsupdate lines joined by "|"; answer ok/fail. */
	    "while IFS= read -r line; do\n"
	    "  IFS='|' read -r -a cmds <<< \"$line\"\n"
	    "  if knot_update \"${cmds[@]}\" >&2; then echo ok;\n"
	    "  else echo fail; fi\n"
	    "done\n"
	    "knot_stop\n";
	char sh[512], zone[300], line[32];
	int in[2], out[2];
	posix_spawn_file_actions_t fa;
	char *argv[8];

	knot_sh_path(sh, sizeof(sh));
	snprintf(zone, sizeof(zone), "%s/test.zone.src", F.dir);
	write_zone(zone);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	argv[0] = "bash";
	argv[1] = "-c";
	argv[2] = (char *)script;
	argv[3] = "knot";	/* $0 */
	argv[4] = sh;		/* $1 */
	argv[5] = F.dir;	/* $2 */
	argv[6] = zone;		/* $3 */
	argv[7] = NULL;
	/* Signed zone: the DNSSEC test gets its trust anchor file. */
	setenv("KNOT_DNSSEC", "1", 1);
	assert_int_equal(posix_spawnp(&F.knot_bash, "bash", &fa, NULL, argv,
	    environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	F.knot_pipe = in[1];
	assert_non_null(F.knot_out = fdopen(out[0], "r"));
	assert_non_null(fgets(line, sizeof(line), F.knot_out));
	F.knot_port = (unsigned)strtoul(line, NULL, 10);
	assert_true(F.knot_port > 0);
}

static void
knot_down(void)
{
	int st;

	if (F.knot_bash <= 0)
		return;
	close(F.knot_pipe);
	waitpid(F.knot_bash, &st, 0);
	fclose(F.knot_out);
	F.knot_bash = 0;
}

/* One RFC 2136 update through knot.sh's knot_update: `cmds` holds
 * knsupdate lines joined by "|".  True when knsupdate succeeded. */
static bool
knot_cmd(const char *cmds)
{
	char line[16];

	if (dprintf(F.knot_pipe, "%s\n", cmds) < 0 ||
	    fgets(line, sizeof(line), F.knot_out) == NULL)
		return false;
	return strcmp(line, "ok\n") == 0;
}

/* ---- http-01 responder ---------------------------------------------- */

static char big_body[100 * 1024];
static atomic_int counted_hits;

static int
h_challenge(struct http_req *req, void *arg)
{
	const char *t = http_req_subpath(req);
	char loc[256];
	int n;

	(void)arg;
	if (strcmp(t, "good") == 0)
		return http_reply(req, 200, "text/plain", KA, strlen(KA));
	if (strcmp(t, "goodws") == 0)
		return http_reply(req, 200, "text/plain", KA "\r\n \t\n",
		    strlen(KA) + 5);
	if (strcmp(t, "counted") == 0) {
		atomic_fetch_add(&counted_hits, 1);
		return http_reply(req, 200, "text/plain", "no", 2);
	}
	if (strcmp(t, "wrong") == 0)
		return http_reply(req, 200, "text/plain", "nope\x01\"evil\"",
		    11);
	if (strcmp(t, "big") == 0)
		return http_reply(req, 200, "text/plain", big_body,
		    sizeof(big_body));
	if (strcmp(t, "missing") == 0)
		return http_reply(req, 404, "text/plain", "no", 2);
	if (strcmp(t, "redir-ftp") == 0) {
		http_reply_header(req, "Location", "ftp://a.test/x");
		return http_reply(req, 302, NULL, NULL, 0);
	}
	if (strcmp(t, "redir-port") == 0) {
		snprintf(loc, sizeof(loc), "http://a.test:%u/.well-known/"
		    "acme-challenge/good", closed_port);
		http_reply_header(req, "Location", loc);
		return http_reply(req, 302, NULL, NULL, 0);
	}
	if (strcmp(t, "redir-b") == 0) {
		/* To another name on an allowed port: resolved through DNS. */
		snprintf(loc, sizeof(loc), "http://b.test:%u/.well-known/"
		    "acme-challenge/good", F.http_port);
		http_reply_header(req, "Location", loc);
		return http_reply(req, 301, NULL, NULL, 0);
	}
	if (strcmp(t, "loop") == 0) {
		http_reply_header(req, "Location",
		    "/.well-known/acme-challenge/loop");
		return http_reply(req, 302, NULL, NULL, 0);
	}
	/* chainN: N more relative redirects, then the answer. */
	if (strncmp(t, "chain", 5) == 0) {
		n = atoi(t + 5);
		if (n <= 0)
			return http_reply(req, 200, "text/plain", KA,
			    strlen(KA));
		snprintf(loc, sizeof(loc), "chain%d", n - 1);
		http_reply_header(req, "Location", loc);
		return http_reply(req, 307, NULL, NULL, 0);
	}
	return http_reply(req, 404, "text/plain", "unknown", 7);
}

static const struct http_route routes[] = {
	{ HTTP_GET, "/.well-known/acme-challenge/", h_challenge, NULL },
};

/* ---- tls-alpn-01 responder ------------------------------------------ */

enum cert_kind { C_GOOD, C_WRONG, C_NONCRIT, C_TWOSAN, C_NOEXT, C_IP };

static X509 *
make_cert(EVP_PKEY *key, enum cert_kind kind, const char *name)
{
	unsigned char md[32], der[64], *p = der;
	unsigned int l;
	ASN1_OCTET_STRING *inner, *outer;
	ASN1_OBJECT *oid;
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	X509 *x;
	char san[300];
	int dl;

	assert_non_null(x = X509_new());
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"acme", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (kind == C_IP)
		snprintf(san, sizeof(san), "IP:%s", name);
	else if (kind == C_TWOSAN)
		snprintf(san, sizeof(san), "DNS:%s,DNS:other.test", name);
	else
		snprintf(san, sizeof(san), "DNS:%s", name);
	assert_non_null(ext = X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_subject_alt_name, san));
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (kind != C_NOEXT) {
		EVP_Digest(kind == C_WRONG ? "other" : KA,
		    kind == C_WRONG ? 5 : strlen(KA), md, &l, EVP_sha256(),
		    NULL);
		inner = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(inner, md, 32);
		dl = i2d_ASN1_OCTET_STRING(inner, &p);
		assert_int_equal(dl, 34);
		outer = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(outer, der, dl);
		oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
		assert_non_null(ext = X509_EXTENSION_create_by_OBJ(NULL, oid,
		    kind == C_NONCRIT ? 0 : 1, outer));
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		ASN1_OBJECT_free(oid);
		ASN1_OCTET_STRING_free(inner);
		ASN1_OCTET_STRING_free(outer);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

/* Pick the certificate by SNI (the host name says which case). */
static int
cert_cb(SSL *ssl, void *arg)
{
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	enum cert_kind k = C_GOOD;
	const char *name = sni;
	X509 *x;
	int ok;

	(void)arg;
	if (sni == NULL)
		return 0;
	if (strcmp(sni, "tls-wrong.test") == 0)
		k = C_WRONG;
	else if (strcmp(sni, "tls-noncrit.test") == 0)
		k = C_NONCRIT;
	else if (strcmp(sni, "tls-twosan.test") == 0)
		k = C_TWOSAN;
	else if (strcmp(sni, "tls-noext.test") == 0)
		k = C_NOEXT;
	else if (strcmp(sni, "1.0.0.127.in-addr.arpa") == 0) {
		k = C_IP;
		name = "127.0.0.1";
	}
	/* cmocka asserts are not for this thread: make_cert only fails on
	 * allocation failure here. */
	x = make_cert(F.tls_key, k, name);
	ok = SSL_use_certificate(ssl, x) == 1 &&
	    SSL_use_PrivateKey(ssl, F.tls_key) == 1;
	X509_free(x);
	return ok ? 1 : 0;
}

static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	(void)arg;
	if (sni != NULL && strcmp(sni, "tls-noalpn.test") == 0)
		return SSL_TLSEXT_ERR_NOACK;
	if (inlen == 11 && memcmp(in, "\x0a" "acme-tls/1", 11) == 0) {
		*out = in + 1;
		*outlen = 10;
		return SSL_TLSEXT_ERR_OK;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static void *
tls_serve(void *arg)
{
	struct pollfd p;
	SSL *ssl;
	int c;

	(void)arg;
	p.fd = F.tls_fd;
	p.events = POLLIN;
	while (!atomic_load(&F.tls_stop)) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((c = accept(F.tls_fd, NULL, NULL)) < 0)
			continue;
		if ((ssl = SSL_new(F.tls_ctx)) != NULL) {
			SSL_set_fd(ssl, c);
			if (SSL_accept(ssl) == 1)
				SSL_shutdown(ssl);
			SSL_free(ssl);
		}
		close(c);
	}
	return NULL;
}

/* A TCP socket on 127.0.0.1:0, listening or not; its port in *port. */
static int
loopback_socket(int type, bool listening, uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd;

	assert_true((fd = socket(AF_INET, type, 0)) >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void
tls_up(void)
{
	F.tls_fd = loopback_socket(SOCK_STREAM, true, &F.tls_port);
	assert_non_null(F.tls_key = EVP_EC_gen("P-256"));
	assert_non_null(F.tls_ctx = SSL_CTX_new(TLS_server_method()));
	SSL_CTX_set_cert_cb(F.tls_ctx, cert_cb, NULL);
	SSL_CTX_set_alpn_select_cb(F.tls_ctx, alpn_cb, NULL);
	atomic_store(&F.tls_stop, false);
	assert_int_equal(pthread_create(&F.tls_thread, NULL, tls_serve,
	    NULL), 0);
}

/* ---- group setup ---------------------------------------------------- */

static struct hsmca_config *
make_cfg(unsigned dns_port, uint16_t http_port, uint16_t tls_port,
    const char *timeout)
{
	struct hsmca_config *cfg;
	struct hsmca_err err = { 0 };
	char v[64];

	assert_non_null(cfg = config_new());
	snprintf(v, sizeof(v), "127.0.0.1:%u", dns_port);
	assert_int_equal(config_set(cfg, "validation.dns_resolver", v, &err),
	    0);
	snprintf(v, sizeof(v), "%u", http_port);
	assert_int_equal(config_set(cfg, "validation.http01_port", v, &err),
	    0);
	snprintf(v, sizeof(v), "%u", tls_port);
	assert_int_equal(config_set(cfg, "validation.tlsalpn01_port", v,
	    &err), 0);
	assert_int_equal(config_set(cfg, "validation.timeout_s", timeout,
	    &err), 0);
	assert_int_equal(config_set(cfg, "validation.retries", "1", &err), 0);
	assert_int_equal(config_set(cfg, "acme.caa_identities",
	    "other.example, hsmca.test", &err), 0);
	return cfg;
}

static void
cfg_port(struct hsmca_config *cfg, const char *key, unsigned port)
{
	struct hsmca_err err = { 0 };
	char v[16];

	snprintf(v, sizeof(v), "%u", port);
	assert_int_equal(config_set(cfg, key, v, &err), 0);
}

static int
setup(void **state)
{
	struct http_server_params hp;
	struct hsmca_err err = { 0 };
	int fd;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	memset(big_body, 'x', sizeof(big_body));
	snprintf(F.dir, sizeof(F.dir), "%s/hsmca-val-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(F.dir));
	/* A port nobody listens on: bound, then closed. */
	fd = loopback_socket(SOCK_STREAM, false, &closed_port);
	close(fd);
	knot_up();
	memset(&hp, 0, sizeof(hp));
	hp.listen = "127.0.0.1:0";
	hp.threads = 4;
	hp.routes = routes;
	hp.nroutes = sizeof(routes) / sizeof(routes[0]);
	assert_int_equal(http_server_start(&hp, &F.http, &err), 0);
	F.http_port = http_server_port(F.http);
	tls_up();
	F.cfg = make_cfg(F.knot_port, F.http_port, F.tls_port, "5");
	if (validator_new(F.cfg, F.dir, &F.v, &err) != 0)
		fail_msg("validator_new: %s", err.detail);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	validator_free(F.v);
	config_free(F.cfg);
	if (F.tls_ctx != NULL) {
		atomic_store(&F.tls_stop, true);
		pthread_join(F.tls_thread, NULL);
		close(F.tls_fd);
		SSL_CTX_free(F.tls_ctx);
		EVP_PKEY_free(F.tls_key);
	}
	http_server_stop(F.http);
	knot_down();
	nftw(F.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- helpers -------------------------------------------------------- */

/* Run one challenge; expect `type` (NULL: success) and `substr` in the
 * detail. */
static void
expect(struct validator *v, enum validate_type t, const char *name,
    bool ip, const char *token, const char *type, const char *substr)
{
	struct validate_ident id = { ip, name, false };
	struct hsmca_err err = { 0 };
	int rc;

	rc = validate_challenge(v, t, &id, token, KA, &err);
	if (type == NULL) {
		if (rc != 0)
			fail_msg("%s %s: %s: %s", name, token,
			    err.type ? err.type : "-", err.detail);
		return;
	}
	if (rc == 0)
		fail_msg("%s %s: succeeded, expected %s", name, token, type);
	assert_true(rc < 0);
	if (err.type == NULL || strcmp(err.type, type) != 0 ||
	    (substr != NULL && strstr(err.detail, substr) == NULL))
		fail_msg("%s %s: got %s \"%s\", expected %s \"%s\"", name,
		    token, err.type ? err.type : "-", err.detail, type,
		    substr ? substr : "");
}

static void
expect_caa(const char *name, bool wild, const char *acct,
    const char *method, const char *type, const char *substr)
{
	struct validate_ident id = { false, name, wild };
	struct hsmca_err err = { 0 };
	int rc;

	rc = validate_caa(F.v, &id, acct, method, &err);
	if (type == NULL) {
		if (rc != 0)
			fail_msg("CAA %s%s: %s: %s", wild ? "*." : "", name,
			    err.type ? err.type : "-", err.detail);
		return;
	}
	if (rc == 0)
		fail_msg("CAA %s%s: allowed, expected %s", wild ? "*." : "",
		    name, type);
	if (err.type == NULL || strcmp(err.type, type) != 0 ||
	    (substr != NULL && strstr(err.detail, substr) == NULL))
		fail_msg("CAA %s: got %s \"%s\", expected %s \"%s\"", name,
		    err.type ? err.type : "-", err.detail, type,
		    substr ? substr : "");
}

/* ---- http-01 -------------------------------------------------------- */

static void
test_http01(void **state)
{
	(void)state;
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "good", NULL, NULL);
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "goodws", NULL, NULL);
	/* RFC 8738: an IP identifier, no DNS. */
	expect(F.v, VALIDATE_HTTP01, "127.0.0.1", true, "good", NULL, NULL);
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "wrong",
	    "incorrectResponse", "got \"nope??evil?\"");
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "big",
	    "incorrectResponse", "exceeds 65536 bytes");
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "missing",
	    "unauthorized", "HTTP 404");
	/* A name with no address, a name that does not exist. */
	expect(F.v, VALIDATE_HTTP01, "noaddr.test", false, "good", "dns",
	    "no A or AAAA");
	expect(F.v, VALIDATE_HTTP01, "nonexistent.test", false, "good", "dns",
	    "NXDOMAIN");
	/* Names go into a URL and a query: only host names. */
	expect(F.v, VALIDATE_HTTP01, "a.test/x?", false, "good",
	    "rejectedIdentifier", "not a valid DNS name");
	expect(F.v, VALIDATE_HTTP01, "a..test", false, "good",
	    "rejectedIdentifier", NULL);
	expect(F.v, VALIDATE_HTTP01, "", false, "good", "rejectedIdentifier",
	    NULL);
	expect(F.v, VALIDATE_HTTP01, "300.1.2.3", true, "good",
	    "rejectedIdentifier", "not an IP address");
	/* Tokens go into a URL: only base64url. */
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "../x", "malformed",
	    "base64url");
}

static void
test_http01_redirects(void **state)
{
	(void)state;
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "redir-b", NULL, NULL);
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "chain10", NULL, NULL);
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "chain11",
	    "unauthorized", "too many redirects");
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "loop",
	    "unauthorized", "too many redirects");
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "redir-ftp",
	    "unauthorized", "only http and https");
	expect(F.v, VALIDATE_HTTP01, "a.test", false, "redir-port",
	    "unauthorized", "is not 80, 443");
}

/* A closed port: "connection", retried, and quick. */
static void
test_connection_refused(void **state)
{
	struct hsmca_config *cfg;
	struct validator *v = NULL;
	struct hsmca_err err = { 0 };
	int64_t t0;

	(void)state;
	cfg = make_cfg(F.knot_port, closed_port, closed_port, "5");
	assert_int_equal(validator_new(cfg, F.dir, &v, &err), 0);
	t0 = val_now_ms();
	expect(v, VALIDATE_HTTP01, "a.test", false, "good", "connection",
	    NULL);
	expect(v, VALIDATE_HTTP01, "127.0.0.1", true, "good", "connection",
	    NULL);
	expect(v, VALIDATE_TLSALPN01, "tls-good.test", false, "good",
	    "connection", "cannot connect to 127.0.0.1");
	assert_true(val_now_ms() - t0 < 5000);
	validator_free(v);
	config_free(cfg);
}

/* "localhost" through the system resolver setting: libunbound answers
 * it itself (::1 and 127.0.0.1); http-01 falls back from ::1, where
 * nothing listens, to 127.0.0.1.  No query leaves the host. */
static void
test_localhost(void **state)
{
	struct hsmca_config *cfg;
	struct validator *v = NULL;
	struct validate_ident id = { false, "localhost", false };
	struct hsmca_err err = { 0 };

	(void)state;
	if (access("/etc/resolv.conf", R_OK) != 0)
		fail_msg("/etc/resolv.conf is not readable");
	cfg = make_cfg(F.knot_port, F.http_port, F.tls_port, "5");
	assert_int_equal(config_set(cfg, "validation.dns_resolver", "",
	    &err), 0);
	if (validator_new(cfg, F.dir, &v, &err) != 0)
		fail_msg("validator_new: %s", err.detail);
	expect(v, VALIDATE_HTTP01, "localhost", false, "good", NULL, NULL);
	expect(v, VALIDATE_TLSALPN01, "localhost", false, "t", NULL, NULL);
	assert_int_equal(validate_caa(v, &id, ACCT, "http-01", &err), 0);
	validator_free(v);
	config_free(cfg);
}

/* A server that accepts and closes at once: "connection", tried
 * 1 + validation.retries times. */
struct closer {
	int fd;
	uint16_t port;
	atomic_int accepted;
	atomic_bool stop;
};

static void *
closer_run(void *arg)
{
	struct closer *c = arg;
	struct pollfd p = { c->fd, POLLIN, 0 };
	int s;

	while (!atomic_load(&c->stop)) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((s = accept(c->fd, NULL, NULL)) >= 0) {
			atomic_fetch_add(&c->accepted, 1);
			close(s);
		}
	}
	return NULL;
}

static void
test_retries(void **state)
{
	struct hsmca_config *cfg;
	struct validator *v = NULL;
	struct hsmca_err err = { 0 };
	struct closer c;
	pthread_t t;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.fd = loopback_socket(SOCK_STREAM, true, &c.port);
	assert_int_equal(pthread_create(&t, NULL, closer_run, &c), 0);
	cfg = make_cfg(F.knot_port, c.port, F.tls_port, "5");
	assert_int_equal(config_set(cfg, "validation.retries", "2", &err), 0);
	assert_int_equal(validator_new(cfg, F.dir, &v, &err), 0);
	expect(v, VALIDATE_HTTP01, "a.test", false, "good", "connection",
	    NULL);
	assert_int_equal(atomic_load(&c.accepted), 3);
	validator_free(v);
	v = NULL;
	/* A wrong answer is not retried: one request. */
	cfg_port(cfg, "validation.http01_port", F.http_port);
	assert_int_equal(validator_new(cfg, F.dir, &v, &err), 0);
	atomic_store(&counted_hits, 0);
	expect(v, VALIDATE_HTTP01, "a.test", false, "counted",
	    "incorrectResponse", NULL);
	assert_int_equal(atomic_load(&counted_hits), 1);
	validator_free(v);
	config_free(cfg);
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	close(c.fd);
}

/* A resolver that never answers: "dns" within validation.timeout_s. */
static void
test_dns_timeout(void **state)
{
	struct hsmca_config *cfg;
	struct validator *v = NULL;
	struct validate_ident id = { false, "a.test", false };
	struct hsmca_err err = { 0 };
	uint16_t mute;
	int64_t t0, dt;
	int fd;

	(void)state;
	fd = loopback_socket(SOCK_DGRAM, false, &mute);
	cfg = make_cfg(mute, F.http_port, F.tls_port, "1");
	assert_int_equal(validator_new(cfg, F.dir, &v, &err), 0);
	t0 = val_now_ms();
	expect(v, VALIDATE_DNS01, "dns-good.test", false, "good", "dns",
	    "timeout");
	expect(v, VALIDATE_HTTP01, "a.test", false, "good", "dns", NULL);
	hsmca_err_clear(&err);
	assert_int_not_equal(validate_caa(v, &id, ACCT, "http-01", &err), 0);
	assert_string_equal(err.type, "dns");
	dt = val_now_ms() - t0;
	/* Three calls of at most 1 s each (plus scheduling slack). */
	assert_true(dt >= 900 && dt < 4500);
	validator_free(v);
	config_free(cfg);
	close(fd);
}

/* ---- dns-01 --------------------------------------------------------- */

static void
test_dns01(void **state)
{
	struct validate_ident w = { false, "dns-good.test", true };
	struct hsmca_err err = { 0 };

	(void)state;
	expect(F.v, VALIDATE_DNS01, "dns-good.test", false, "good", NULL,
	    NULL);
	/* A wildcard is validated at the base name. */
	assert_int_equal(validate_challenge(F.v, VALIDATE_DNS01, &w, "good",
	    KA, &err), 0);
	/* Delegated by CNAME, as DNS hosting setups do. */
	expect(F.v, VALIDATE_DNS01, "dns-cname.test", false, "good", NULL,
	    NULL);
	/* One TXT record split into two character-strings. */
	expect(F.v, VALIDATE_DNS01, "dns-split.test", false, "good", NULL,
	    NULL);
	expect(F.v, VALIDATE_DNS01, "dns-wrong.test", false, "good",
	    "incorrectResponse", "none of the 2 TXT value(s)");
	expect(F.v, VALIDATE_DNS01, "dns-none.test", false, "good",
	    "incorrectResponse", "no TXT record");
	expect(F.v, VALIDATE_DNS01, "nonexistent.test", false, "good", "dns",
	    "NXDOMAIN");
	/* Knot refuses names outside its zone; the resolver: SERVFAIL. */
	expect(F.v, VALIDATE_DNS01, "x.outside", false, "good", "dns", NULL);
	/* RFC 8738 7 and RFC 8555 7.1.3. */
	expect(F.v, VALIDATE_DNS01, "127.0.0.1", true, "good",
	    "rejectedIdentifier", "RFC 8738");
	w.value = "a.test";
	hsmca_err_clear(&err);
	assert_int_equal(validate_challenge(F.v, VALIDATE_HTTP01, &w, "good",
	    KA, &err), HSMCA_EINVAL);
	assert_string_equal(err.type, "rejectedIdentifier");
}

/* Records added and removed by RFC 2136 updates are seen at once: the
 * validator does not cache. */
static void
test_dynamic_update(void **state)
{
	char d[64], cmd[256];

	(void)state;
	ka_digest(d);
	expect(F.v, VALIDATE_DNS01, "dyn.test", false, "good", "dns",
	    "NXDOMAIN");
	snprintf(cmd, sizeof(cmd), "zone test.|add _acme-challenge.dyn.test. "
	    "60 TXT \"%s\"", d);
	assert_true(knot_cmd(cmd));
	expect(F.v, VALIDATE_DNS01, "dyn.test", false, "good", NULL, NULL);
	assert_true(knot_cmd("zone test.|del _acme-challenge.dyn.test. TXT"));
	expect(F.v, VALIDATE_DNS01, "dyn.test", false, "good", "dns",
	    "NXDOMAIN");
	expect_caa("dyn.test", false, ACCT, "dns-01", NULL, NULL);
	assert_true(knot_cmd("zone test.|add dyn.test. 60 CAA 0 issue "
	    "\"ca.example\""));
	expect_caa("dyn.test", false, ACCT, "dns-01", "caa", "dyn.test");
	assert_true(knot_cmd("zone test.|del dyn.test. CAA"));
	expect_caa("dyn.test", false, ACCT, "dns-01", NULL, NULL);
	/* A wrong TSIG secret is refused by knotd (knot.sh's key works). */
	assert_false(knot_cmd("zone test.|key hmac-sha256:hsmca-test-key. "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=|"
	    "add evil.test. 60 A 127.0.0.1"));
}

/* With validation.trust_anchor: the signed zone validates; a wrong
 * anchor makes every answer bogus, a "dns" error. */
static void
test_dnssec(void **state)
{
	struct hsmca_config *cfg;
	struct validator *v = NULL;
	struct validate_ident id = { false, "caa-deny.test", false };
	struct hsmca_err err = { 0 };
	unsigned char junk[64];
	char b64[100], path[300];
	FILE *fp;
	size_t i;

	(void)state;
	cfg = make_cfg(F.knot_port, F.http_port, F.tls_port, "5");
	/* Relative to the state directory; knot.sh wrote it there. */
	assert_int_equal(config_set(cfg, "validation.trust_anchor",
	    "ta.keys", &err), 0);
	if (validator_new(cfg, F.dir, &v, &err) != 0)
		fail_msg("validator_new: %s", err.detail);
	expect(v, VALIDATE_DNS01, "dns-good.test", false, "good", NULL, NULL);
	expect(v, VALIDATE_DNS01, "dns-wrong.test", false, "good",
	    "incorrectResponse", NULL);
	expect(v, VALIDATE_DNS01, "nonexistent.test", false, "good", "dns",
	    "NXDOMAIN");
	expect(v, VALIDATE_HTTP01, "a.test", false, "good", NULL, NULL);
	assert_int_equal(validate_caa(v, &id, ACCT, "dns-01", &err),
	    HSMCA_EPOLICY);
	assert_string_equal(err.type, "caa");
	validator_free(v);
	v = NULL;

	/* A P-256 key that did not sign the zone. */
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7 + 1);
	EVP_EncodeBlock((unsigned char *)b64, junk, sizeof(junk));
	snprintf(path, sizeof(path), "%s/wrong.keys", F.dir);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "test. 3600 IN DNSKEY 257 3 13 %s\n", b64);
	assert_int_equal(fclose(fp), 0);
	hsmca_err_clear(&err);
	assert_int_equal(config_set(cfg, "validation.trust_anchor", path,
	    &err), 0);
	if (validator_new(cfg, F.dir, &v, &err) != 0)
		fail_msg("validator_new: %s", err.detail);
	expect(v, VALIDATE_DNS01, "dns-good.test", false, "good", "dns",
	    "DNSSEC validation failed");
	expect(v, VALIDATE_HTTP01, "a.test", false, "good", "dns",
	    "DNSSEC validation failed");
	hsmca_err_clear(&err);
	id.value = "caa-allow.test";
	assert_int_equal(validate_caa(v, &id, ACCT, "dns-01", &err),
	    HSMCA_EIO);
	assert_string_equal(err.type, "dns");
	validator_free(v);
	config_free(cfg);
}

/* ---- tls-alpn-01 ---------------------------------------------------- */

static void
test_tlsalpn01(void **state)
{
	(void)state;
	expect(F.v, VALIDATE_TLSALPN01, "tls-good.test", false, "t", NULL,
	    NULL);
	expect(F.v, VALIDATE_TLSALPN01, "127.0.0.1", true, "t", NULL, NULL);
	expect(F.v, VALIDATE_TLSALPN01, "tls-wrong.test", false, "t",
	    "incorrectResponse", "digest");
	expect(F.v, VALIDATE_TLSALPN01, "tls-noncrit.test", false, "t",
	    "incorrectResponse", "not marked critical");
	expect(F.v, VALIDATE_TLSALPN01, "tls-twosan.test", false, "t",
	    "incorrectResponse", "2 subjectAltNames");
	expect(F.v, VALIDATE_TLSALPN01, "tls-noext.test", false, "t",
	    "incorrectResponse", "no acmeIdentifier");
	expect(F.v, VALIDATE_TLSALPN01, "tls-noalpn.test", false, "t", "tls",
	    "acme-tls/1");
	/* The responder serves a good certificate for any other SNI. */
	expect(F.v, VALIDATE_TLSALPN01, "a.test", false, "t", NULL, NULL);
	/* The http-01 port speaks plain HTTP: the handshake fails. */
	{
		struct hsmca_config *cfg;
		struct validator *v = NULL;
		struct hsmca_err err = { 0 };

		cfg = make_cfg(F.knot_port, F.http_port, F.http_port, "5");
		assert_int_equal(validator_new(cfg, F.dir, &v, &err), 0);
		expect(v, VALIDATE_TLSALPN01, "tls-good.test", false, "t",
		    "tls", "handshake");
		validator_free(v);
		config_free(cfg);
	}
}

/* ---- CAA through DNS ------------------------------------------------ */

static void
test_caa_dns(void **state)
{
	struct validate_ident ip = { true, "127.0.0.1", false };
	struct hsmca_err err = { 0 };

	(void)state;
	/* No CAA anywhere up to the TLD. */
	expect_caa("a.test", false, ACCT, "http-01", NULL, NULL);
	expect_caa("nonexistent.test", false, ACCT, "http-01", NULL, NULL);
	expect_caa("caa-allow.test", false, ACCT, "http-01", NULL, NULL);
	expect_caa("caa-case.test", false, ACCT, "http-01", NULL, NULL);
	expect_caa("caa-deny.test", false, ACCT, "http-01", "caa",
	    "caa-deny.test");
	/* RFC 8659 3: the CAA RRset is looked up through a CNAME. */
	expect_caa("caa-cname.test", false, ACCT, "http-01", "caa",
	    "ca.example");
	expect_caa("caa-empty.test", false, ACCT, "http-01", "caa",
	    "no issuer");
	expect_caa("caa-crit.test", false, ACCT, "http-01", "caa",
	    "critical tag \"tbs\"");
	expect_caa("caa-noncrit.test", false, ACCT, "http-01", NULL, NULL);
	expect_caa("caa-iodef.test", false, ACCT, "http-01", NULL, NULL);
	expect_caa("caa-acct.test", false, ACCT, "http-01", NULL, NULL);
	expect_caa("caa-acct.test", false, ACCT "2", "http-01", "caa",
	    "accounturi");
	expect_caa("caa-meth.test", false, ACCT, "dns-01", NULL, NULL);
	expect_caa("caa-meth.test", false, ACCT, "tls-alpn-01", NULL, NULL);
	expect_caa("caa-meth.test", false, ACCT, "http-01", "caa",
	    "validationmethods");
	expect_caa("caa-wild.test", false, ACCT, "dns-01", NULL, NULL);
	expect_caa("caa-wild.test", true, ACCT, "dns-01", "caa", "issuewild");
	expect_caa("caa-wild2.test", true, ACCT, "dns-01", NULL, NULL);
	expect_caa("caa-wild2.test", false, ACCT, "dns-01", "caa", "issue");
	/* A wildcard without issuewild falls back to issue. */
	expect_caa("caa-allow.test", true, ACCT, "dns-01", NULL, NULL);
	expect_caa("caa-deny.test", true, ACCT, "dns-01", "caa", NULL);
	/* One of several issue records is enough. */
	expect_caa("caa-two.test", false, ACCT, "http-01", NULL, NULL);
	/* Inherited from the parent, two levels up too. */
	expect_caa("child.parent.test", false, ACCT, "http-01", "caa",
	    "parent.test");
	expect_caa("deep.child.parent.test", false, ACCT, "http-01", "caa",
	    "for parent.test");
	expect_caa("ok.parent2.test", false, ACCT, "http-01", NULL, NULL);
	/* More levels than are asked at once: the climb goes on. */
	expect_caa("a.b.c.d.e.f.g.h.i.j.child.parent.test", false, ACCT,
	    "http-01", "caa", "for parent.test");
	expect_caa("a.b.c.d.e.f.g.h.i.j.ok.parent2.test", false, ACCT,
	    "http-01", NULL, NULL);
	/* SERVFAIL (the resolver's answer to Knot's REFUSED) is "dns". */
	expect_caa("x.outside", false, ACCT, "http-01", "dns", NULL);
	expect_caa("a test", false, ACCT, "http-01", "rejectedIdentifier",
	    NULL);
	/* RFC 8738: no CAA for IP identifiers. */
	assert_int_equal(validate_caa(F.v, &ip, ACCT, "http-01", &err), 0);
}

/* ---- CAA parsers, no network ---------------------------------------- */

struct value_case {
	const char *value;
	const char *acct;
	const char *method;
	bool allows;
};

static const struct value_case value_cases[] = {
	{ "hsmca.test", NULL, NULL, true },
	{ "  hsmca.test  ", NULL, NULL, true },
	{ "HSMCA.TEST", NULL, NULL, true },
	{ "other.example", NULL, NULL, true },
	{ "ca.example", NULL, NULL, false },
	{ "hsmca.test.", NULL, NULL, false },	/* grammar: no final dot */
	{ "sub.hsmca.test", NULL, NULL, false },
	{ "hsmca", NULL, NULL, false },
	{ "", NULL, NULL, false },
	{ ";", NULL, NULL, false },
	{ " ; ", NULL, NULL, false },
	{ "hsmca.test;", NULL, NULL, true },
	{ "hsmca.test; foo=bar", NULL, NULL, true },
	{ "hsmca.test;foo=bar;baz=", NULL, NULL, true },
	{ "hsmca.test; foo", NULL, NULL, false },	/* no "=" */
	{ "hsmca.test foo=bar", NULL, NULL, false },	/* no ";" */
	{ "hsmca..test", NULL, NULL, false },
	{ "-hsmca.test", NULL, NULL, false },
	{ "hsmca-.test", NULL, NULL, false },
	{ "hs--mca.test", NULL, NULL, false },
	{ "X--Y.example", NULL, NULL, true },	/* inner hyphens */
	{ "hsmca.test; accounturi=" ACCT, ACCT, NULL, true },
	{ "hsmca.test; accounturi=" ACCT, ACCT "x", NULL, false },
	{ "hsmca.test; accounturi=" ACCT, NULL, NULL, false },
	{ "hsmca.test; AccountURI=" ACCT, "x", NULL, false },
	{ "hsmca.test; accounturi=" ACCT "; accounturi=" ACCT, ACCT, NULL,
	    false },
	{ "hsmca.test; validationmethods=http-01", NULL, "http-01", true },
	{ "hsmca.test; validationmethods=dns-01,http-01", NULL, "http-01",
	    true },
	{ "hsmca.test; validationmethods=dns-01", NULL, "http-01", false },
	{ "hsmca.test; validationmethods=http-01", NULL, NULL, false },
	{ "hsmca.test; validationmethods=http-01,", NULL, "http-01", false },
	{ "hsmca.test; validationmethods=", NULL, "http-01", false },
	{ "hsmca.test; validationmethods=http-01; validationmethods=http-01",
	    NULL, "http-01", false },
	{ "hsmca.test; accounturi=" ACCT "; validationmethods=tls-alpn-01",
	    ACCT, "tls-alpn-01", true },
	{ "hsmca.test\x01", NULL, NULL, false },
	{ "hsmca.test; a=\x7f", NULL, NULL, false },
};

static void
test_caa_values(void **state)
{
	static const char *const ids[] = { "hsmca.test", "other.example",
	    "x--y.example" };
	struct val_caa_want w = { ids, 3, NULL, NULL };
	char why[96];
	size_t i;
	bool got;

	(void)state;
	for (i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
		w.account_uri = value_cases[i].acct;
		w.method = value_cases[i].method;
		got = val_caa_value_allows(
		    (const unsigned char *)value_cases[i].value,
		    strlen(value_cases[i].value), &w, why, sizeof(why));
		if (got != value_cases[i].allows)
			fail_msg("case %zu \"%s\": %s (%s)", i,
			    value_cases[i].value, got ? "allowed" : "refused",
			    why);
		if (!got)
			assert_true(why[0] != '\0');
	}
}

static void
test_caa_rdata(void **state)
{
	static const unsigned char ok[] = "\x80\x05issueca.example";
	static const unsigned char empty_val[] = "\x00\x05issue";
	static const unsigned char tag15[] = "\x00\x0f"
	    "abcdefghijklmno";
	static const unsigned char tag16[] = "\x00\x10"
	    "abcdefghijklmnop";
	static const unsigned char tag0[] = "\x00\x00x";
	static const unsigned char longtag[] = "\x00\x09issue";
	static const unsigned char badchar[] = "\x00\x05is-ue";
	struct val_caa_rr rr;
	struct hsmca_err err = { 0 };

	(void)state;
	assert_int_equal(val_caa_rdata_parse(ok, sizeof(ok) - 1, &rr, &err),
	    0);
	assert_int_equal(rr.flags, 0x80);
	assert_string_equal(rr.tag, "issue");
	assert_int_equal(rr.value_len, 10);
	assert_memory_equal(rr.value, "ca.example", 10);
	assert_int_equal(val_caa_rdata_parse(empty_val, sizeof(empty_val) - 1,
	    &rr, &err), 0);
	assert_int_equal(rr.value_len, 0);
	assert_int_equal(val_caa_rdata_parse(tag15, sizeof(tag15) - 1, &rr,
	    &err), 0);
	assert_int_equal(val_caa_rdata_parse(tag16, sizeof(tag16) - 1, &rr,
	    &err), HSMCA_EINVAL);
	hsmca_err_clear(&err);
	assert_int_equal(val_caa_rdata_parse(tag0, sizeof(tag0) - 1, &rr,
	    &err), HSMCA_EINVAL);
	hsmca_err_clear(&err);
	assert_int_equal(val_caa_rdata_parse(longtag, sizeof(longtag) - 1, &rr,
	    &err), HSMCA_EINVAL);
	assert_non_null(strstr(err.detail, "exceeds"));
	hsmca_err_clear(&err);
	assert_int_equal(val_caa_rdata_parse(badchar, sizeof(badchar) - 1,
	    &rr, &err), HSMCA_EINVAL);
	hsmca_err_clear(&err);
	assert_int_equal(val_caa_rdata_parse(ok, 1, &rr, &err), HSMCA_EINVAL);
	hsmca_err_clear(&err);
	assert_int_equal(val_caa_rdata_parse(ok, 0, &rr, &err), HSMCA_EINVAL);
}

static void
test_caa_decide(void **state)
{
	static const char *const ids[] = { "hsmca.test" };
	struct val_caa_want w = { ids, 1, NULL, "http-01" };
	static const unsigned char deny[] = "\x00\x05issueca.example";
	static const unsigned char allow[] = "\x00\x05issuehsmca.test";
	static const unsigned char broken[] = "\x00\x20issue";
	static const unsigned char crit_iodef[] = "\x80\x05iodefmailto:x@y";
	const unsigned char *rd[2] = { NULL, NULL };
	size_t len[2] = { 0, 0 };
	struct hsmca_err err = { 0 };

	(void)state;
	/* An empty RRset (nothing relevant) allows. */
	assert_int_equal(val_caa_decide(rd, len, 0, false, &w, "x.test",
	    &err), 0);
	rd[0] = deny;
	len[0] = sizeof(deny) - 1;
	rd[1] = allow;
	len[1] = sizeof(allow) - 1;
	assert_int_equal(val_caa_decide(rd, len, 2, false, &w, "x.test",
	    &err), 0);
	assert_int_equal(val_caa_decide(rd, len, 1, false, &w, "x.test",
	    &err), HSMCA_EPOLICY);
	assert_string_equal(err.type, "caa");
	assert_non_null(strstr(err.detail, "ca.example"));
	/* A record that does not parse refuses, whatever else is there. */
	rd[0] = broken;
	len[0] = sizeof(broken) - 1;
	hsmca_err_clear(&err);
	assert_int_equal(val_caa_decide(rd, len, 2, false, &w, "x.test",
	    &err), HSMCA_EPOLICY);
	assert_non_null(strstr(err.detail, "malformed"));
	/* A known tag with the critical flag is fine. */
	rd[0] = crit_iodef;
	len[0] = sizeof(crit_iodef) - 1;
	assert_int_equal(val_caa_decide(rd, len, 2, false, &w, "x.test",
	    &err), 0);
}

static void
test_reverse_name(void **state)
{
	struct val_addr a;
	char buf[80];

	(void)state;
	assert_int_equal(val_ip_parse("192.0.2.10", &a), 0);
	val_reverse_name(&a, buf, sizeof(buf));
	assert_string_equal(buf, "10.2.0.192.in-addr.arpa");
	assert_int_equal(val_ip_parse("2001:db8::567:89ab", &a), 0);
	val_reverse_name(&a, buf, sizeof(buf));
	assert_string_equal(buf, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(val_ip_parse("1.2.3", &a), HSMCA_EINVAL);
	assert_int_equal(val_ip_parse("::ffff:1.2.3.4x", &a), HSMCA_EINVAL);
}

/* ---- threads -------------------------------------------------------- */

#define NTHREADS	8
#define PER_THREAD	12

static atomic_int thread_failures;

static void *
worker(void *arg)
{
	struct validate_ident h = { false, "a.test", false };
	struct validate_ident d = { false, "dns-good.test", false };
	struct validate_ident c = { false, "child.parent.test", false };
	struct hsmca_err err;
	int i;

	(void)arg;
	for (i = 0; i < PER_THREAD; i++) {
		hsmca_err_clear(&err);
		if (validate_challenge(F.v, VALIDATE_HTTP01, &h, "good", KA,
		    &err) != 0)
			atomic_fetch_add(&thread_failures, 1);
		hsmca_err_clear(&err);
		if (validate_challenge(F.v, VALIDATE_DNS01, &d, "good", KA,
		    &err) != 0)
			atomic_fetch_add(&thread_failures, 1);
		hsmca_err_clear(&err);
		if (validate_caa(F.v, &c, ACCT, "http-01", &err) !=
		    HSMCA_EPOLICY)
			atomic_fetch_add(&thread_failures, 1);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t t[NTHREADS];
	int64_t t0, dt;
	int i;

	(void)state;
	atomic_store(&thread_failures, 0);
	t0 = val_now_ms();
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, NULL), 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	dt = val_now_ms() - t0;
	assert_int_equal(atomic_load(&thread_failures), 0);
	printf("# %d threads: %d calls in %lld ms\n", NTHREADS,
	    NTHREADS * PER_THREAD * 3, (long long)dt);
}

/* ---- figures -------------------------------------------------------- */

#define NLAT	25

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p; (void)arg;
	return size * n;
}

/*
 * Median wall time, in microseconds, of one call of each kind against
 * the loopback servers, beside a bare libcurl GET of the same http-01
 * URL (no DNS, no checks) as the yardstick.  Printed, not asserted:
 * only that every call succeeded.
 */
static void
test_figures(void **state)
{
	struct validate_ident h = { false, "a.test", false };
	struct validate_ident d = { false, "dns-good.test", false };
	struct validate_ident t = { false, "tls-good.test", false };
	struct validate_ident c = { false, "deep.child.parent2.test", false };
	struct hsmca_err err;
	int64_t us[5][NLAT];
	struct timespec a, b;
	char url[128];
	CURL *cu;
	int i, k, rc;

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/.well-known/"
	    "acme-challenge/good", F.http_port);
	for (i = 0; i < NLAT; i++) {
		for (k = 0; k < 5; k++) {
			hsmca_err_clear(&err);
			clock_gettime(CLOCK_MONOTONIC, &a);
			switch (k) {
			case 0:
				rc = validate_challenge(F.v, VALIDATE_HTTP01,
				    &h, "good", KA, &err);
				break;
			case 1:
				rc = validate_challenge(F.v, VALIDATE_DNS01,
				    &d, "good", KA, &err);
				break;
			case 2:
				rc = validate_challenge(F.v,
				    VALIDATE_TLSALPN01, &t, "t", KA, &err);
				break;
			case 3:
				rc = validate_caa(F.v, &c, ACCT, "http-01",
				    &err);
				break;
			default:
				assert_non_null(cu = curl_easy_init());
				curl_easy_setopt(cu, CURLOPT_URL, url);
				curl_easy_setopt(cu, CURLOPT_PROXY, "");
				curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION,
				    discard);
				rc = curl_easy_perform(cu) == CURLE_OK ? 0 : -1;
				curl_easy_cleanup(cu);
				break;
			}
			clock_gettime(CLOCK_MONOTONIC, &b);
			if (rc != 0)
				fail_msg("kind %d: %s", k, err.detail);
			us[k][i] = (b.tv_sec - a.tv_sec) * 1000000 +
			    (b.tv_nsec - a.tv_nsec) / 1000;
		}
	}
	for (k = 0; k < 5; k++)
		qsort(us[k], NLAT, sizeof(us[k][0]), cmp_i64);
	printf("# median us over %d calls: http-01 %lld, dns-01 %lld, "
	    "tls-alpn-01 %lld, caa (3 lookups) %lld; bare libcurl GET %lld\n",
	    NLAT, (long long)us[0][NLAT / 2], (long long)us[1][NLAT / 2],
	    (long long)us[2][NLAT / 2], (long long)us[3][NLAT / 2],
	    (long long)us[4][NLAT / 2]);
}

/* ---- config --------------------------------------------------------- */

/*
 * validation.deny_addresses: a name resolving only into a denied
 * network, or a denied IP identifier, is a "connection" failure naming
 * the setting, before any connection; the default list allows
 * loopback (the other tests) but not link-local addresses.
 */
static void
test_deny_addresses(void **state)
{
	struct hsmca_config *cfg;
	struct validator *v = NULL;
	struct hsmca_err err = { 0 };

	(void)state;
	cfg = make_cfg(F.knot_port, F.http_port, F.tls_port, "5");
	assert_int_equal(config_set(cfg, "validation.deny_addresses",
	    " 10.0.0.0/8, 127.0.0.0/8 ,::1/128", &err), 0);
	if (validator_new(cfg, F.dir, &v, &err) != 0)
		fail_msg("validator_new: %s", err.detail);
	expect(v, VALIDATE_HTTP01, "a.test", false, "good", "connection",
	    "127.0.0.1 is in validation.deny_addresses");
	expect(v, VALIDATE_HTTP01, "127.0.0.1", true, "good", "connection",
	    "validation.deny_addresses");
	expect(v, VALIDATE_TLSALPN01, "tls-good.test", false, "t",
	    "connection", "validation.deny_addresses");
	expect(v, VALIDATE_TLSALPN01, "127.0.0.1", true, "t", "connection",
	    "validation.deny_addresses");
	validator_free(v);
	v = NULL;
	/* A list that does not cover the address lets it through. */
	assert_int_equal(config_set(cfg, "validation.deny_addresses",
	    "127.0.0.2/32", &err), 0);
	if (validator_new(cfg, F.dir, &v, &err) != 0)
		fail_msg("validator_new: %s", err.detail);
	expect(v, VALIDATE_HTTP01, "a.test", false, "good", NULL, NULL);
	validator_free(v);
	v = NULL;
	/* The default list: link-local is denied, loopback is not. */
	config_free(cfg);
	cfg = make_cfg(F.knot_port, F.http_port, F.tls_port, "5");
	if (validator_new(cfg, F.dir, &v, &err) != 0)
		fail_msg("validator_new: %s", err.detail);
	expect(v, VALIDATE_HTTP01, "169.254.169.254", true, "good",
	    "connection", "169.254.169.254 is in validation.deny_addresses");
	expect(v, VALIDATE_TLSALPN01, "fe80::1", true, "t", "connection",
	    "validation.deny_addresses");
	expect(v, VALIDATE_HTTP01, "127.0.0.1", true, "good", NULL, NULL);
	validator_free(v);
	v = NULL;
	/* Bad lists are config errors naming the item. */
	{
		static const char *const bad[] = { "10.0.0.0/33", "::/129",
		    "10.0.0.0", "10.0.0.0/", "10.0.0.0/8,", "nothing/8",
		    "10.0.0.0/8,,::1/128", "10.0.0.0/-1", "10.0.0.0/8x" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			hsmca_err_clear(&err);
			assert_int_equal(config_set(cfg,
			    "validation.deny_addresses", bad[i], &err), 0);
			assert_int_equal(validator_new(cfg, F.dir, &v, &err),
			    HSMCA_EINVAL);
			assert_null(v);
			assert_string_equal(err.type, "config");
			if (strstr(err.detail, "validation.deny_addresses") ==
			    NULL)
				fail_msg("%s: %s", bad[i], err.detail);
		}
	}
	config_free(cfg);
}

static void
test_bad_config(void **state)
{
	struct hsmca_config *cfg;
	struct validator *v = NULL;
	struct hsmca_err err = { 0 };

	(void)state;
	cfg = make_cfg(53, 80, 443, "5");
	assert_int_equal(config_set(cfg, "validation.dns_resolver",
	    "resolver.example:53", &err), 0);
	assert_int_equal(validator_new(cfg, F.dir, &v, &err), HSMCA_EINVAL);
	assert_null(v);
	assert_string_equal(err.type, "config");
	assert_non_null(strstr(err.detail, "validation.dns_resolver"));
	hsmca_err_clear(&err);
	assert_int_equal(config_set(cfg, "validation.dns_resolver",
	    "127.0.0.1:0", &err), 0);
	assert_int_equal(validator_new(cfg, F.dir, &v, &err), HSMCA_EINVAL);
	hsmca_err_clear(&err);
	assert_int_equal(config_set(cfg, "validation.dns_resolver",
	    "[::1]:5353", &err), 0);
	assert_int_equal(config_set(cfg, "validation.trust_anchor",
	    "no-such-anchor.key", &err), 0);
	assert_int_equal(validator_new(cfg, F.dir, &v, &err), HSMCA_EINVAL);
	assert_non_null(strstr(err.detail, "no-such-anchor.key"));
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caa_rdata),
		cmocka_unit_test(test_caa_values),
		cmocka_unit_test(test_caa_decide),
		cmocka_unit_test(test_reverse_name),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_http01),
		cmocka_unit_test(test_http01_redirects),
		cmocka_unit_test(test_dns01),
		cmocka_unit_test(test_tlsalpn01),
		cmocka_unit_test(test_caa_dns),
		cmocka_unit_test(test_dynamic_update),
		cmocka_unit_test(test_dnssec),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_localhost),
		cmocka_unit_test(test_deny_addresses),
		cmocka_unit_test(test_dns_timeout),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_figures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
