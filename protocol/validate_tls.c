/*
 * protocol/validate_tls.c - TCP connections with a deadline, and
 * tls-alpn-01 (RFC 8737) over them with OpenSSL.
 *
 * The handshake offers only the "acme-tls/1" protocol and sends the
 * identifier as SNI (for an IP identifier its reverse-DNS name, RFC 8738
 * 6).  The certificate's chain is not verified (it is self-signed by
 * design); it must carry exactly one subjectAltName, equal to the
 * identifier, and one critical acmeIdentifier extension whose value is
 * the DER OCTET STRING of SHA-256(key authorization).
 *
 * Problem types: refused or timed-out connections "connection"; a failed
 * handshake or no acme-tls/1 selected "tls"; a certificate that does not
 * prove the key authorization "incorrectResponse".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "protocol/validate_int.h"

#define ACME_TLS_1	"acme-tls/1"
#define OID_ACME_ID	"1.3.6.1.5.5.7.1.31"	/* RFC 8737 6.1 */

/* Wait for `events` on fd until deadline; 1 ready, 0 timeout, -1 error. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p;
	int64_t left;
	int r;

	p.fd = fd;
	p.events = events;
	for (;;) {
		if ((left = deadline - val_now_ms()) <= 0)
			return 0;
		p.revents = 0;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r > 0)
			return 1;
	}
}

/* See protocol/validate_int.h. */
int
val_connect(const struct val_addr *addrs, size_t naddrs, uint16_t port,
    int64_t deadline, const char *what, struct hsmca_err *err)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	char a[48];
	socklen_t sl, el;
	size_t i;
	int fd, e = ETIMEDOUT, r;

	a[0] = '\0';
	for (i = 0; i < naddrs; i++) {
		memset(&ss, 0, sizeof(ss));
		if (addrs[i].family == AF_INET) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			memcpy(&s4->sin_addr, addrs[i].bytes, 4);
			sl = sizeof(*s4);
		} else {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			memcpy(&s6->sin6_addr, addrs[i].bytes, 16);
			sl = sizeof(*s6);
		}
		val_addr_str(&addrs[i], a, sizeof(a));
		fd = socket(addrs[i].family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd < 0)
			return hsmca_err_set(err, HSMCA_EIO, "serverInternal",
			    "socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
			return fd;
		e = errno;
		if (e == EINPROGRESS) {
			r = wait_fd(fd, POLLOUT, deadline);
			el = sizeof(e);
			if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
			    &el) == 0 && e == 0)
				return fd;
			if (r == 0)
				e = ETIMEDOUT;
		}
		close(fd);
		if (e == ETIMEDOUT)
			break;
	}
	return hsmca_err_set(err, HSMCA_EIO, "connection",
	    "%s: cannot connect to %s port %u: %s", what, a, port,
	    strerror(e));
}

/* See protocol/validate_int.h. */
void
val_reverse_name(const struct val_addr *a, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int i;

	if (a->family == AF_INET) {
		snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", a->bytes[3],
		    a->bytes[2], a->bytes[1], a->bytes[0]);
		return;
	}
	for (i = 15; i >= 0 && o + 4 < len; i--) {
		out[o++] = hex[a->bytes[i] & 0xf];
		out[o++] = '.';
		out[o++] = hex[a->bytes[i] >> 4];
		out[o++] = '.';
	}
	snprintf(out + o, len - o, "ip6.arpa");
}

/* Exactly one subjectAltName, equal to the identifier. */
static int
check_san(X509 *cert, const struct validate_ident *ident,
    const struct val_addr *ip, struct hsmca_err *err)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	const unsigned char *d;
	int crit = 0, n, l, rc = HSMCA_EPOLICY;

	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL)
		return hsmca_err_set(err, HSMCA_EPOLICY, "incorrectResponse",
		    "RFC 8737 3: the tls-alpn-01 certificate has %s "
		    "subjectAltName extension", crit == -2 ? "more than one" :
		    "no");
	if ((n = sk_GENERAL_NAME_num(gens)) != 1) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "incorrectResponse",
		    "RFC 8737 3: the tls-alpn-01 certificate has %d "
		    "subjectAltNames; exactly one is allowed", n);
		goto out;
	}
	g = sk_GENERAL_NAME_value(gens, 0);
	if (ident->ip) {
		l = g->type == GEN_IPADD ? ASN1_STRING_length(g->d.ip) : 0;
		d = g->type == GEN_IPADD ? ASN1_STRING_get0_data(g->d.ip) :
		    NULL;
		if (d == NULL || l != (ip->family == AF_INET ? 4 : 16) ||
		    memcmp(d, ip->bytes, (size_t)l) != 0) {
			rc = hsmca_err_set(err, HSMCA_EPOLICY,
			    "incorrectResponse", "RFC 8738 6: the "
			    "tls-alpn-01 certificate's subjectAltName is not "
			    "the iPAddress %s", ident->value);
			goto out;
		}
	} else {
		l = g->type == GEN_DNS ? ASN1_STRING_length(g->d.dNSName) : 0;
		d = g->type == GEN_DNS ?
		    ASN1_STRING_get0_data(g->d.dNSName) : NULL;
		if (d == NULL || (size_t)l != strlen(ident->value) ||
		    memchr(d, '\0', (size_t)l) != NULL ||
		    strncasecmp((const char *)d, ident->value, (size_t)l) !=
		    0) {
			rc = hsmca_err_set(err, HSMCA_EPOLICY,
			    "incorrectResponse", "RFC 8737 3: the "
			    "tls-alpn-01 certificate's subjectAltName is not "
			    "the dNSName %s", ident->value);
			goto out;
		}
	}
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* One critical acmeIdentifier holding OCTET STRING(SHA-256(key_authz)). */
static int
check_acme_id(X509 *cert, const char *key_authz, struct hsmca_err *err)
{
	ASN1_OBJECT *oid = NULL;
	ASN1_OCTET_STRING *inner = NULL;
	const ASN1_OCTET_STRING *data;
	X509_EXTENSION *ext;
	const unsigned char *p, *end;
	unsigned char md[32];
	unsigned int mdlen;
	int idx, rc = HSMCA_EPOLICY;

	if ((oid = OBJ_txt2obj(OID_ACME_ID, 1)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, "serverInternal",
		    "OBJ_txt2obj failed");
		goto out;
	}
	if ((idx = X509_get_ext_by_OBJ(cert, oid, -1)) < 0) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "incorrectResponse",
		    "RFC 8737 3: the tls-alpn-01 certificate has no "
		    "acmeIdentifier extension");
		goto out;
	}
	if (X509_get_ext_by_OBJ(cert, oid, idx) >= 0) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "incorrectResponse",
		    "RFC 8737 3: the tls-alpn-01 certificate has more than "
		    "one acmeIdentifier extension");
		goto out;
	}
	ext = X509_get_ext(cert, idx);
	if (X509_EXTENSION_get_critical(ext) != 1) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "incorrectResponse",
		    "RFC 8737 3: the acmeIdentifier extension is not marked "
		    "critical");
		goto out;
	}
	data = X509_EXTENSION_get_data(ext);
	p = ASN1_STRING_get0_data(data);
	end = p + ASN1_STRING_length(data);
	if ((inner = d2i_ASN1_OCTET_STRING(NULL, &p, end - p)) == NULL ||
	    p != end || ASN1_STRING_length(inner) != 32) {
		ERR_clear_error();
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "incorrectResponse",
		    "RFC 8737 3: the acmeIdentifier value is not an OCTET "
		    "STRING of 32 bytes");
		goto out;
	}
	if (EVP_Digest(key_authz, strlen(key_authz), md, &mdlen, EVP_sha256(),
	    NULL) != 1) {
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "SHA-256 failed");
		goto out;
	}
	if (CRYPTO_memcmp(ASN1_STRING_get0_data(inner), md, 32) != 0) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "incorrectResponse",
		    "RFC 8737 3: the acmeIdentifier digest is not SHA-256 of "
		    "this challenge's key authorization");
		goto out;
	}
	rc = 0;
out:
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(oid);
	return rc;
}

/* Run the handshake on a non-blocking socket until the deadline. */
static int
handshake(SSL *ssl, int fd, int64_t deadline, const char *who,
    struct hsmca_err *err)
{
	char ebuf[160];
	int r, e;

	for (;;) {
		ERR_clear_error();
		if ((r = SSL_connect(ssl)) == 1)
			return 0;
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			r = wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline);
			if (r == 0)
				return hsmca_err_set(err, HSMCA_EIO,
				    "connection", "%s: timeout during the TLS "
				    "handshake", who);
			if (r < 0)
				return hsmca_err_set(err, HSMCA_EIO,
				    "connection", "%s: %s", who,
				    strerror(errno));
			continue;
		}
		ebuf[0] = '\0';
		hsmca_openssl_errstr(ebuf, sizeof(ebuf));
		if (e == SSL_ERROR_SYSCALL && ebuf[0] == '\0')
			return hsmca_err_set(err, HSMCA_EIO, "tls",
			    "%s: TLS handshake failed: connection closed "
			    "by the server", who);
		return hsmca_err_set(err, HSMCA_EIO, "tls",
		    "%s: TLS handshake failed: %s", who,
		    ebuf[0] != '\0' ? ebuf : "protocol error");
	}
}

/* See protocol/validate_int.h. */
int
val_tlsalpn01(struct validator *v, const struct validate_ident *ident,
    const char *key_authz, int64_t deadline, struct hsmca_err *err)
{
	struct val_addr addrs[VAL_MAX_ADDRS];
	const unsigned char *alpn;
	char sni[VAL_MAX_NAME], who[VAL_MAX_NAME + 16];
	unsigned int alpnlen;
	X509 *cert = NULL;
	SSL *ssl = NULL;
	size_t n = 1;
	int fd = -1, rc;

	if (ident->ip) {
		if (val_ip_parse(ident->value, &addrs[0]) != 0)
			return hsmca_err_set(err, HSMCA_EINVAL,
			    "rejectedIdentifier", "\"%s\" is not an IP "
			    "address", ident->value);
		if ((rc = val_addrs_allowed(v, ident->value, addrs, &n,
		    err)) != 0)
			return rc;
		val_reverse_name(&addrs[0], sni, sizeof(sni));
	} else {
		if (strlen(ident->value) >= sizeof(sni))
			return hsmca_err_set(err, HSMCA_EINVAL, "malformed",
			    "name too long: %s", ident->value);
		strcpy(sni, ident->value);
		if ((rc = val_dns_addrs(v, ident->value, deadline, addrs, &n,
		    err)) != 0)
			return rc;
	}
	snprintf(who, sizeof(who), "%s:%u", ident->value, v->tlsalpn01_port);
	if ((fd = val_connect(addrs, n, v->tlsalpn01_port, deadline,
	    "tls-alpn-01", err)) < 0) {
		rc = fd;
		fd = -1;
		goto out;
	}
	if ((ssl = SSL_new(v->tls)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, sni) != 1) {
		ERR_clear_error();
		rc = hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "TLS client setup failed");
		goto out;
	}
	if ((rc = handshake(ssl, fd, deadline, who, err)) != 0)
		goto out;
	SSL_get0_alpn_selected(ssl, &alpn, &alpnlen);
	if (alpnlen != strlen(ACME_TLS_1) ||
	    memcmp(alpn, ACME_TLS_1, alpnlen) != 0) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "tls",
		    "RFC 8737 4: %s did not select the acme-tls/1 protocol",
		    who);
		goto out;
	}
	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_EPOLICY, "tls",
		    "%s sent no certificate", who);
		goto out;
	}
	if ((rc = check_san(cert, ident, &addrs[0], err)) != 0 ||
	    (rc = check_acme_id(cert, key_authz, err)) != 0)
		goto out;
	rc = 0;
out:
	X509_free(cert);
	if (ssl != NULL) {
		(void)SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	return rc;
}
