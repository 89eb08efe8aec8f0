/*
 * tests/protocol/acmefix.h - the ACME tests' fixture: a CA in a temp dir
 * with a fresh SoftHSM2 token, the ACME server on 127.0.0.1:0 over plain
 * HTTP, an http-01 responder on 127.0.0.1:0 that the validator is
 * pointed at, an injectable clock, and the steps of an issuance.
 */
#ifndef HSMCA_TESTS_PROTOCOL_ACMEFIX_H
#define HSMCA_TESTS_PROTOCOL_ACMEFIX_H

#include <limits.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

#include "ca/ca.h"
#include "protocol/acme.h"
#include "protocol/http.h"
#include "tests/protocol/acmeclient.h"

#define AFX_TOKENS 256

struct afx {
	char dir[PATH_MAX];
	struct hsmca_config *cfg;
	struct ca *ca;
	struct acme *acme;
	struct http_server *srv;
	struct http_server *responder;
	char base[128];
	int64_t now;			/* 0: real time */
	bool no_workers;		/* afx_start skips acme_start() */
	struct ac c;
	pthread_mutex_t mu;
	char tokens[AFX_TOKENS][64];
	char kas[AFX_TOKENS][160];
	size_t ntokens;
};

/*
 * Create the CA and start the responder.  `sets` (NULL-terminated
 * "key=value", may be NULL) are applied over STATE/hsmca.conf.
 * Returns 0 or -1 (message on stderr).
 */
int afx_setup(struct afx *f, const char *const *sets);
/* Open the CA and start acme + its server (again after afx_stop). */
int afx_start(struct afx *f);
/* Stop the server, free acme, close the CA. */
void afx_stop(struct afx *f);
/* afx_stop, the responder, the temp dir. */
void afx_teardown(struct afx *f);

/* The http-01 responder answers `token` with `ka`. */
void afx_serve(struct afx *f, const char *token, const char *ka);

/* base + path into a static-free caller buffer. */
void afx_url(const struct afx *f, char *out, size_t len, const char *path);

/* newAccount for `key` with a contact; *kid (malloc'd) its URL. */
int afx_account(struct afx *f, EVP_PKEY *key, char **kid);

/*
 * newOrder for `idents` (JSON array text); *order_url (malloc'd) and
 * *order (the response body) on 201.  Returns the HTTP status.
 */
long afx_order(struct afx *f, EVP_PKEY *key, const char *kid,
    const char *idents, char **order_url, json_t **order);

/*
 * Answer every pending authorization of `order` with http-01 (the
 * responder serves the right key authorization unless `wrong`) and
 * poll until none is pending.  Returns 0 when all became valid.
 */
int afx_authorize(struct afx *f, EVP_PKEY *key, const char *kid,
    json_t *order, bool wrong);

/* POST-as-GET `url` until its status is not pending/processing. */
json_t *afx_poll(struct afx *f, EVP_PKEY *key, const char *kid,
    const char *url);

/* Finalize with a CSR of `cert_key` for `sans` ("DNS:x", "IP:y");
 * returns the HTTP status; *resp the response (caller frees). */
long afx_finalize(struct afx *f, EVP_PKEY *key, const char *kid,
    json_t *order, EVP_PKEY *cert_key, const char *const *sans,
    struct ac_resp *resp);

#endif
