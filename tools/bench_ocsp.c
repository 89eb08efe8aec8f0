/*
 * tools/bench_ocsp.c - `hsmca bench ocsp`: pre-signed OCSP responses
 * served over HTTP, against OpenSSL's own responder as the peer.
 *
 * A throwaway CA is built in a temporary directory, some certificates
 * are issued and their responses pre-signed; the responder's routes are
 * served in-process on 127.0.0.1, and wrk drives GET requests (one real
 * request, keep-alive) at it.  Then `openssl ocsp -index` serves the
 * same certificates from an index.txt with a file-based signer key and
 * wrk drives the same request at it.  Both servers and wrk share the
 * machine's cores; the figures say so.
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/ca_ocsp.h"
#include "protocol/ocsp_http.h"
#include "tools/cli.h"

static const char usage_line[] =
    "hsmca bench ocsp [--seconds S] [--connections C] [--certs N] "
    "[--dir PARENT]";

#define MAX_CERTS 1000

struct bench {
	char dir[PATH_MAX];
	struct ca *ca;
	int seconds, conns, ncerts;
	X509 **leaves;
	char url_path[4 * CA_OCSP_REQ_MAX];	/* "/<urlencoded base64>" */
	pid_t peer;
};

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Build a throwaway CA (new SoftHSM2 token) in a temporary directory,\n"
	    "issue N certificates and pre-sign their OCSP responses, serve the\n"
	    "responder in-process on 127.0.0.1 and run\n"
	    "`wrk -t2 -cC -dS` against GET /ocsp/<request for the first\n"
	    "certificate> (keep-alive).  Then run the peer, `openssl ocsp\n"
	    "-index index.txt -rsigner -rkey -CA` with a file-based signer\n"
	    "key and the same certificates, under the same wrk load.\n"
	    "Prints \"hsmca: X responses/s\", \"openssl ocsp: Y responses/s\"\n"
	    "and last \"ratio: Z\".  Servers and wrk share the cores.\n\n"
	    "  --seconds S        wrk duration per server (default 5)\n"
	    "  --connections C    wrk connections (default 32)\n"
	    "  --certs N          certificates issued (default 16)\n"
	    "  --dir PARENT       where the temporary CA goes (default $TMPDIR\n"
	    "                     or /tmp)\n"
	    "  --help             this text\n\n%s", usage_line, CLI_EXIT_HELP);
}

static int
fail_ossl(struct hsmca_err *err, const char *what)
{
	hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal", "%s: ", what);
	hsmca_openssl_errstr(err->detail + strlen(err->detail),
	    sizeof(err->detail) - strlen(err->detail));
	return HSMCA_EINTERNAL;
}

/* An EC P-256 CSR for bench-ocsp-N.example.com, DER in *der. */
static int
make_csr(int n, unsigned char **der, size_t *len, struct hsmca_err *err)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	char cn[64], san[80];
	int l, rc = HSMCA_EINTERNAL;

	snprintf(cn, sizeof(cn), "bench-ocsp-%d.example.com", n);
	snprintf(san, sizeof(san), "DNS:%s", cn);
	*der = NULL;
	if ((key = EVP_EC_gen("P-256")) == NULL ||
	    (req = X509_REQ_new()) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    (ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    san)) == NULL || sk_X509_EXTENSION_push(exts, ext) == 0) {
		rc = fail_ossl(err, "making a CSR");
		goto out;
	}
	ext = NULL;
	if (X509_REQ_add_extensions(req, exts) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (l = i2d_X509_REQ(req, der)) <= 0) {
		rc = fail_ossl(err, "signing a CSR");
		goto out;
	}
	*len = (size_t)l;
	rc = 0;
out:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return rc;
}

/* Issue the certificates and keep them (for the request and index). */
static int
issue_all(struct bench *b, struct hsmca_err *err)
{
	for (int i = 0; i < b->ncerts; i++) {
		struct ca_issue_req req = { 0 };
		struct ca_issued *is = NULL;
		const unsigned char *p;
		unsigned char *der = NULL;
		size_t len = 0;
		int rc;

		if ((rc = make_csr(i, &der, &len, err)) != 0)
			return rc;
		req.csr_der = der;
		req.csr_len = len;
		rc = ca_issue(b->ca, &req, &is, err);
		OPENSSL_free(der);
		if (rc != 0)
			return rc;
		p = is->der;
		b->leaves[i] = d2i_X509(NULL, &p, (long)is->der_len);
		ca_issued_free(is);
		if (b->leaves[i] == NULL)
			return fail_ossl(err, "decoding an issued certificate");
	}
	return 0;
}

static int
write_file(const char *dir, const char *name, const char *data, size_t len,
    struct hsmca_err *err)
{
	char path[PATH_MAX + 64];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL ||
	    fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		return hsmca_err_set(err, HSMCA_EIO, "io", "cannot write %s: %s",
		    path, strerror(errno));
	return 0;
}

/*
 * The peer's material: index.txt listing the certificates (status V),
 * and a software signer key with an OCSPSigning certificate from the
 * issuing key (the peer cannot use the token).
 */
static int
peer_files(struct bench *b, struct hsmca_err *err)
{
	X509 *issuing = ca_issuing_cert(b->ca), *x = NULL;
	EVP_PKEY *key = NULL;
	X509_EXTENSION *ext = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem;
	char line[512], exp[32], *hex, *subj;
	int rc = HSMCA_EINTERNAL;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return fail_ossl(err, "BIO");
	for (int i = 0; i < b->ncerts; i++) {
		const ASN1_TIME *na = X509_get0_notAfter(b->leaves[i]);
		struct tm tm;
		BIGNUM *bn = ASN1_INTEGER_to_BN(
		    X509_get0_serialNumber(b->leaves[i]), NULL);

		hex = bn ? BN_bn2hex(bn) : NULL;
		BN_free(bn);
		subj = X509_NAME_oneline(X509_get_subject_name(b->leaves[i]),
		    NULL, 0);
		if (hex == NULL || subj == NULL ||
		    ASN1_TIME_to_tm(na, &tm) != 1) {
			OPENSSL_free(hex);
			OPENSSL_free(subj);
			rc = fail_ossl(err, "index line");
			goto out;
		}
		/* index.txt holds UTCTime: two-digit years. */
		snprintf(exp, sizeof(exp), "%02d%02d%02d%02d%02d%02dZ",
		    tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		snprintf(line, sizeof(line), "V\t%s\t\t%s\tunknown\t%s\n", exp,
		    hex, subj);
		BIO_puts(bio, line);
		OPENSSL_free(hex);
		OPENSSL_free(subj);
	}
	BIO_get_mem_ptr(bio, &mem);
	if ((rc = write_file(b->dir, "index.txt", mem->data, mem->length,
	    err)) != 0)
		goto out;
	BIO_free(bio);
	bio = NULL;
	if ((key = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"bench OCSP peer", -1, -1,
	    0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(issuing)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    (ext = X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage,
	    "OCSPSigning")) == NULL || X509_add_ext(x, ext, -1) != 1 ||
	    X509_sign(x, hsm_key_private(ca_issuing_key(b->ca)),
	    EVP_sha256()) <= 0) {
		rc = fail_ossl(err, "peer signer certificate");
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, x) != 1) {
		rc = fail_ossl(err, "PEM");
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	if ((rc = write_file(b->dir, "peer-ocsp.pem", mem->data, mem->length,
	    err)) != 0)
		goto out;
	BIO_free(bio);
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
	    NULL) != 1) {
		rc = fail_ossl(err, "PEM key");
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	rc = write_file(b->dir, "peer-ocsp.key", mem->data, mem->length, err);
out:
	X509_EXTENSION_free(ext);
	X509_free(x);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

/* The GET path of an OCSP request for the first certificate. */
static int
request_path(struct bench *b, struct hsmca_err *err)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id = NULL;
	unsigned char *der = NULL, b64[2 * CA_OCSP_REQ_MAX];
	size_t o = 0;
	int len, n, rc = HSMCA_EINTERNAL;

	if ((req = OCSP_REQUEST_new()) == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha1(), b->leaves[0],
	    ca_issuing_cert(b->ca))) == NULL ||
	    OCSP_request_add0_id(req, id) == NULL) {
		rc = fail_ossl(err, "OCSP request");
		goto out;
	}
	id = NULL;
	if ((len = i2d_OCSP_REQUEST(req, &der)) <= 0 ||
	    len > CA_OCSP_REQ_MAX) {
		rc = fail_ossl(err, "OCSP request DER");
		goto out;
	}
	n = EVP_EncodeBlock(b64, der, len);
	b->url_path[o++] = '/';
	for (int i = 0; i < n; i++) {
		/* RFC 6960 A.1: url-encoding of the base64. */
		if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=')
			o += (size_t)snprintf(b->url_path + o,
			    sizeof(b->url_path) - o, "%%%02X", b64[i]);
		else
			b->url_path[o++] = (char)b64[i];
	}
	b->url_path[o] = '\0';
	rc = 0;
out:
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	OPENSSL_free(der);
	return rc;
}

struct body {
	unsigned char buf[16384];
	size_t len;
};

static size_t
body_write(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;

	if (size * n > sizeof(b->buf) - b->len)
		return 0;
	memcpy(b->buf + b->len, data, size * n);
	b->len += size * n;
	return size * n;
}

/*
 * Before timing a server, check that `url` answers a successful OCSP
 * response saying "good" for the first certificate: a benchmark of
 * error responses would measure nothing.
 */
static int
check_url(struct bench *b, const char *url, const char *who,
    struct hsmca_err *err)
{
	struct body body = { .len = 0 };
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_CERTID *id = NULL;
	const unsigned char *p;
	CURL *c;
	CURLcode cc;
	int status = -1, rc = HSMCA_EINTERNAL;

	if ((c = curl_easy_init()) == NULL)
		return hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "curl_easy_init failed");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	p = body.buf;
	if (cc == CURLE_OK &&
	    (resp = d2i_OCSP_RESPONSE(NULL, &p, (long)body.len)) != NULL &&
	    OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_SUCCESSFUL &&
	    (bs = OCSP_response_get1_basic(resp)) != NULL &&
	    (id = OCSP_cert_to_id(EVP_sha1(), b->leaves[0],
	    ca_issuing_cert(b->ca))) != NULL &&
	    OCSP_resp_find_status(bs, id, &status, NULL, NULL, NULL,
	    NULL) == 1 && status == V_OCSP_CERTSTATUS_GOOD)
		rc = 0;
	else
		hsmca_err_set(err, rc, "serverInternal", "%s did not answer "
		    "\"good\" for the benchmark request (%s)", who,
		    cc != CURLE_OK ? curl_easy_strerror(cc) : "bad response");
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return rc;
}

/* Run wrk against `url`; *rate from its "Requests/sec:" line. */
static int
run_wrk(struct bench *b, const char *url, double *rate, long *errors,
    struct hsmca_err *err)
{
	char cmd[PATH_MAX + 8192], line[512];
	FILE *fp;
	int st;

	*rate = 0;
	*errors = 0;
	snprintf(cmd, sizeof(cmd), "wrk -t2 -c%d -d%ds '%s' 2>&1", b->conns,
	    b->seconds, url);
	if ((fp = popen(cmd, "r")) == NULL)
		return hsmca_err_set(err, HSMCA_EIO, "io", "cannot run wrk: %s",
		    strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		long v;
		sscanf(line, " Requests/sec: %lf", rate);
		if (sscanf(line, " Non-2xx or 3xx responses: %ld", &v) == 1)
			*errors += v;
		if (strstr(line, "Socket errors") != NULL)
			fprintf(stderr, "wrk: %s", line);
	}
	st = pclose(fp);
	if (st != 0 || *rate <= 0)
		return hsmca_err_set(err, HSMCA_EIO, "io",
		    "wrk failed (status %d); is wrk installed?", st);
	return 0;
}

/* A free loopback port (bind 0, read, close). */
static int
free_port(void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof(sa);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/*
 * Wait (at most 10 s) until the peer listens on `port`, by reading the
 * kernel's socket table: a probe connection closed before sending a
 * request would wedge the peer (openssl/openssl#31129).
 */
static bool
wait_listen(int port)
{
	char want[64], line[256];

	snprintf(want, sizeof(want), ":%04X 00000000000000000000000000000000"
	    ":0000 0A", port);
	for (int i = 0; i < 200; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		FILE *fp;
		bool found = false;

		/* The peer binds [::]:port, so its row is in tcp6. */
		if ((fp = fopen("/proc/net/tcp6", "r")) != NULL) {
			while (!found && fgets(line, sizeof(line), fp) != NULL)
				found = strstr(line, want) != NULL;
			fclose(fp);
		}
		if (found)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Start `openssl ocsp` as the peer on a free port. */
static int
peer_start(struct bench *b, int *port, struct hsmca_err *err)
{
	char portstr[16], idx[PATH_MAX + 32], rs[PATH_MAX + 32];
	char rk[PATH_MAX + 32], ca[PATH_MAX + 32];
	pid_t pid;

	if ((*port = free_port()) < 0)
		return hsmca_err_set(err, HSMCA_EIO, "io", "no free port");
	snprintf(portstr, sizeof(portstr), "%d", *port);
	snprintf(idx, sizeof(idx), "%s/index.txt", b->dir);
	snprintf(rs, sizeof(rs), "%s/peer-ocsp.pem", b->dir);
	snprintf(rk, sizeof(rk), "%s/peer-ocsp.key", b->dir);
	snprintf(ca, sizeof(ca), "%s/issuing.pem", b->dir);
	if ((pid = fork()) < 0)
		return hsmca_err_set(err, HSMCA_EIO, "io", "fork: %s",
		    strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		/* Its own process group, so that its workers go with it. */
		setpgid(0, 0);
		/*
		 * -multi 2: one worker per core, as hsmca's server uses both.
		 * -timeout 1: wrk opens and closes a probe connection first,
		 * which leaves a single openssl ocsp process stuck
		 * (openssl/openssl#31129); workers with a timeout recover.
		 */
		execlp("openssl", "openssl", "ocsp", "-index", idx, "-port",
		    portstr, "-rsigner", rs, "-rkey", rk, "-CA", ca,
		    "-multi", "2", "-timeout", "1", "-ignore_err",
		    (char *)NULL);
		_exit(127);
	}
	b->peer = pid;
	if (!wait_listen(*port))
		return hsmca_err_set(err, HSMCA_EIO, "io",
		    "openssl ocsp did not start listening on port %d", *port);
	return 0;
}

static void
peer_stop(struct bench *b)
{
	if (b->peer <= 0)
		return;
	/* Its workers may spin on closed connections: no grace. */
	kill(-b->peer, SIGKILL);
	waitpid(b->peer, NULL, 0);
	b->peer = 0;
}

static int
bench_run(struct bench *b, struct hsmca_err *err)
{
	struct ca_init_params p = { 0 };
	struct hsmca_config *cfg = NULL, *ocfg = NULL;
	struct http_route routes[OCSP_HTTP_MAX_ROUTES];
	struct http_server_params hp = { 0 };
	struct http_server *srv = NULL;
	struct ca_ocsp_stats s0, s1;
	char conf[PATH_MAX + 32], url[sizeof(b->url_path) + 64];
	double ours, peer;
	long errs;
	size_t nroutes, nsigned;
	int rc, port;

	if ((cfg = config_new()) == NULL || (ocfg = config_new()) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "out of memory");
		goto out;
	}
	p.state_dir = b->dir;
	p.cfg = cfg;
	p.key_type = HSM_KEY_EC_P256;
	p.create_token = true;
	snprintf(conf, sizeof(conf), "%s/hsmca.conf", b->dir);
	if ((rc = ca_init(&p, err)) != 0 ||
	    (rc = config_load(ocfg, conf, err)) != 0 ||
	    (rc = ca_open(b->dir, ocfg, &b->ca, err)) != 0)
		goto out;
	if ((rc = issue_all(b, err)) != 0 ||
	    (rc = ca_ocsp_tick(b->ca, ca_now(b->ca), (size_t)b->ncerts,
	    &nsigned, err)) != 0 ||
	    (rc = request_path(b, err)) != 0 ||
	    (rc = peer_files(b, err)) != 0)
		goto out;
	if ((rc = ocsp_http_routes(b->ca, routes, OCSP_HTTP_MAX_ROUTES,
	    &nroutes, err)) != 0)
		goto out;
	hp.listen = "127.0.0.1:0";
	hp.routes = routes;
	hp.nroutes = nroutes;
	hp.max_conns = (unsigned)b->conns + 64;
	if ((rc = http_server_start(&hp, &srv, err)) != 0)
		goto out;
	printf("certificates: %d, pre-signed: %zu, connections: %d, "
	    "seconds: %d\n", b->ncerts, nsigned, b->conns, b->seconds);
	fflush(stdout);
	ca_ocsp_stats(b->ca, &s0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/ocsp%s",
	    http_server_port(srv), b->url_path);
	if ((rc = check_url(b, url, "hsmca", err)) != 0 ||
	    (rc = run_wrk(b, url, &ours, &errs, err)) != 0)
		goto out;
	ca_ocsp_stats(b->ca, &s1);
	printf("hsmca: %.0f responses/s (non-2xx: %ld, signatures during "
	    "the run: %llu)\n", ours, errs,
	    (unsigned long long)(s1.signatures - s0.signatures));
	fflush(stdout);
	http_server_stop(srv);
	srv = NULL;
	if ((rc = peer_start(b, &port, err)) != 0)
		goto out;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port,
	    b->url_path);
	if ((rc = check_url(b, url, "openssl ocsp", err)) != 0 ||
	    (rc = run_wrk(b, url, &peer, &errs, err)) != 0)
		goto out;
	printf("openssl ocsp: %.0f responses/s (non-2xx: %ld)\n", peer, errs);
	printf("ratio: %.1f\n", peer > 0 ? ours / peer : 0.0);
	rc = 0;
out:
	peer_stop(b);
	http_server_stop(srv);
	config_free(cfg);
	config_free(ocfg);
	return rc;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* `hsmca bench ocsp`: argv[0] is "ocsp"; returns the exit code. */
int
bench_ocsp_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, CLI_OPT_HELP },
		{ "seconds", required_argument, NULL, 's' },
		{ "connections", required_argument, NULL, 'c' },
		{ "certs", required_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b;
	struct hsmca_err err = { 0 };
	const char *parent = getenv("TMPDIR");
	char *end;
	long long n;
	int ch, rc;

	memset(&b, 0, sizeof(b));
	b.seconds = 5;
	b.conns = 32;
	b.ncerts = 16;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case CLI_OPT_HELP:
			help();
			return CLI_EXIT_OK;
		case 's':
		case 'c':
		case 'n':
			errno = 0;
			n = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    n < 1 || (ch == 's' && n > 3600) ||
			    (ch == 'c' && n > 10000) ||
			    (ch == 'n' && n > MAX_CERTS))
				return cli_usage_error(usage_line,
				    "bad number \"%s\"", optarg);
			if (ch == 's')
				b.seconds = (int)n;
			else if (ch == 'c')
				b.conns = (int)n;
			else
				b.ncerts = (int)n;
			break;
		case 'd':
			parent = optarg;
			break;
		default:
			return cli_usage_error(usage_line, "bad option");
		}
	}
	if (argc - optind != 0)
		return cli_usage_error(usage_line, "unexpected argument \"%s\"",
		    argv[optind]);
	if (b.conns < 2)
		b.conns = 2;	/* wrk needs a connection per thread */
	if ((b.leaves = calloc((size_t)b.ncerts, sizeof(X509 *))) == NULL)
		return cli_fail(&(struct hsmca_err){ HSMCA_ENOMEM,
		    "serverInternal", "out of memory" });
	if (parent == NULL || *parent == '\0')
		parent = "/tmp";
	if (snprintf(b.dir, sizeof(b.dir), "%s/hsmca-bench-XXXXXX", parent) >=
	    (int)sizeof(b.dir) || mkdtemp(b.dir) == NULL) {
		rc = hsmca_err_set(&err, HSMCA_EIO, "io",
		    "cannot make a directory under %s: %s", parent,
		    strerror(errno));
		b.dir[0] = '\0';
		goto out;
	}
	rc = bench_run(&b, &err);
out:
	ca_close(b.ca);
	for (int i = 0; i < b.ncerts; i++)
		X509_free(b.leaves[i]);
	free(b.leaves);
	if (b.dir[0] != '\0')
		nftw(b.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}
