/*
 * store/acme_codec.c - the binary encoding of the ACME records.
 *
 * Same shape as the certificate record (store/codec.c): a type byte, a
 * version byte, then fixed-width big-endian integers and strings
 * prefixed by a u32 length.  A NULL string is written with the length
 * 0xffffffff so that "absent" and "empty" stay distinct.  Decoding
 * consumes exactly the bytes given.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_acme.h"
#include "store/store_int.h"

#define REC_ACCOUNT 'A'
#define REC_AUTHZ 'Z'
#define REC_ORDER 'O'
#define REC_V1 1
#define STR_NULL 0xffffffffu
#define STR_MAX (1u << 20)	/* a JWK or problem text is far smaller */

static void
w_str(struct store_codec_w *w, const char *s)
{
	size_t n;

	if (s == NULL) {
		store_codec_w_u32(w, STR_NULL);
		return;
	}
	if ((n = strlen(s)) > STR_MAX) {
		w->err = HSMCA_EINVAL;
		return;
	}
	store_codec_w_u32(w, (uint32_t)n);
	store_codec_w_bytes(w, s, n);
}

/* A malloc'd NUL-terminated copy, NULL for the absent marker.  A string
 * holding a NUL is refused (it would be read back shorter). */
static char *
r_str(struct store_codec_r *r, bool *absent)
{
	uint32_t n = store_codec_r_u32(r);
	const unsigned char *p;
	char *s;

	*absent = false;
	if (r->err != 0)
		return NULL;
	if (n == STR_NULL) {
		*absent = true;
		return NULL;
	}
	if (n > STR_MAX || (p = store_codec_r_bytes(r, n)) == NULL ||
	    memchr(p, '\0', n) != NULL) {
		r->err = HSMCA_EINVAL;
		return NULL;
	}
	if ((s = malloc(n + 1)) == NULL) {
		r->err = HSMCA_ENOMEM;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* A string that must be present. */
static char *
r_str_req(struct store_codec_r *r)
{
	bool absent;
	char *s = r_str(r, &absent);

	if (absent && r->err == 0)
		r->err = HSMCA_EINVAL;
	return s;
}

/* Read a string into a fixed buffer of `size` bytes (with NUL). */
static void
r_fixed(struct store_codec_r *r, char *buf, size_t size)
{
	char *s = r_str_req(r);

	if (s != NULL && strlen(s) >= size)
		r->err = HSMCA_EINVAL;
	if (r->err == 0)
		memcpy(buf, s, strlen(s) + 1);
	free(s);
}

static int
w_finish(struct store_codec_w *w, unsigned char **out, size_t *outlen)
{
	if (w->err != 0) {
		free(w->buf);
		return w->err;
	}
	*out = w->buf;
	*outlen = w->len;
	return 0;
}

static int
r_header(struct store_codec_r *r, int tag)
{
	if (store_codec_r_u8(r) != tag || store_codec_r_u8(r) != REC_V1)
		r->err = HSMCA_EINVAL;
	return r->err;
}

/* The decoder consumed everything and hit no error. */
static int
r_done(struct store_codec_r *r)
{
	if (r->err == 0 && r->pos != r->len)
		r->err = HSMCA_EINVAL;
	return r->err;
}

/* --- accounts ---------------------------------------------------------- */

/* Free an account record; NULL is ok. */
void
store_acme_account_free(struct store_acme_account *a)
{
	if (a == NULL)
		return;
	free(a->jwk);
	free(a->contact);
	free(a->eab_kid);
	free(a);
}

/*
 * Account, version 1: u8 'A', u8 1, u64 id, u8 status, str thumb,
 * str jwk, str contact, str eab_kid (may be absent), u64 created_at.
 */
int
store_acme_account_encode(const struct store_acme_account *a,
    unsigned char **out, size_t *outlen)
{
	struct store_codec_w w = { NULL, 0, 0, 0 };

	*out = NULL;
	*outlen = 0;
	if (a->jwk == NULL || a->contact == NULL || a->status <= 0 ||
	    a->status > 255)
		return HSMCA_EINVAL;
	store_codec_w_u8(&w, REC_ACCOUNT);
	store_codec_w_u8(&w, REC_V1);
	store_codec_w_u64(&w, a->id);
	store_codec_w_u8(&w, (uint8_t)a->status);
	w_str(&w, a->thumb);
	w_str(&w, a->jwk);
	w_str(&w, a->contact);
	w_str(&w, a->eab_kid);
	store_codec_w_u64(&w, (uint64_t)a->created_at);
	return w_finish(&w, out, outlen);
}

/* Decode an account record (exactly `len` bytes). */
int
store_acme_account_decode(const unsigned char *p, size_t len,
    struct store_acme_account **out)
{
	struct store_codec_r r = { p, len, 0, 0 };
	struct store_acme_account *a;
	bool absent;
	int rc;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return HSMCA_ENOMEM;
	r_header(&r, REC_ACCOUNT);
	a->id = store_codec_r_u64(&r);
	a->status = store_codec_r_u8(&r);
	r_fixed(&r, a->thumb, sizeof(a->thumb));
	a->jwk = r_str_req(&r);
	a->contact = r_str_req(&r);
	a->eab_kid = r_str(&r, &absent);
	a->created_at = (int64_t)store_codec_r_u64(&r);
	if ((rc = r_done(&r)) != 0 || a->status == 0) {
		store_acme_account_free(a);
		return rc != 0 ? rc : HSMCA_EINVAL;
	}
	*out = a;
	return 0;
}

/* --- authorizations ---------------------------------------------------- */

/* Free an authorization record; NULL is ok. */
void
store_acme_authz_free(struct store_acme_authz *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < STORE_ACME_MAX_CHALL; i++)
		free(a->chall[i].error);
	free(a->value);
	free(a);
}

/*
 * Authorization, version 1: u8 'Z', u8 1, u64 id, u64 account_id,
 * u8 status, u8 flags (1 ip, 2 wildcard), str value, u64 expires,
 * u8 nchall, { u8 type, u8 status, str token, u64 validated_at,
 * str error (may be absent) } * nchall.
 */
int
store_acme_authz_encode(const struct store_acme_authz *a,
    unsigned char **out, size_t *outlen)
{
	struct store_codec_w w = { NULL, 0, 0, 0 };
	size_t i;

	*out = NULL;
	*outlen = 0;
	if (a->value == NULL || a->nchall > STORE_ACME_MAX_CHALL ||
	    a->status <= 0 || a->status > 255)
		return HSMCA_EINVAL;
	store_codec_w_u8(&w, REC_AUTHZ);
	store_codec_w_u8(&w, REC_V1);
	store_codec_w_u64(&w, a->id);
	store_codec_w_u64(&w, a->account_id);
	store_codec_w_u8(&w, (uint8_t)a->status);
	store_codec_w_u8(&w, (uint8_t)((a->ip ? 1 : 0) | (a->wildcard ? 2 : 0)));
	w_str(&w, a->value);
	store_codec_w_u64(&w, (uint64_t)a->expires);
	store_codec_w_u8(&w, (uint8_t)a->nchall);
	for (i = 0; i < a->nchall; i++) {
		const struct store_acme_chall *c = &a->chall[i];

		if (c->type <= 0 || c->type > 255 || c->status <= 0 ||
		    c->status > 255)
			w.err = HSMCA_EINVAL;
		store_codec_w_u8(&w, (uint8_t)c->type);
		store_codec_w_u8(&w, (uint8_t)c->status);
		w_str(&w, c->token);
		store_codec_w_u64(&w, (uint64_t)c->validated_at);
		w_str(&w, c->error);
	}
	return w_finish(&w, out, outlen);
}

/* Decode an authorization record (exactly `len` bytes). */
int
store_acme_authz_decode(const unsigned char *p, size_t len,
    struct store_acme_authz **out)
{
	struct store_codec_r r = { p, len, 0, 0 };
	struct store_acme_authz *a;
	unsigned flags;
	bool absent;
	size_t i;
	int rc;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return HSMCA_ENOMEM;
	r_header(&r, REC_AUTHZ);
	a->id = store_codec_r_u64(&r);
	a->account_id = store_codec_r_u64(&r);
	a->status = store_codec_r_u8(&r);
	flags = store_codec_r_u8(&r);
	if (flags > 3)
		r.err = HSMCA_EINVAL;
	a->ip = (flags & 1) != 0;
	a->wildcard = (flags & 2) != 0;
	a->value = r_str_req(&r);
	a->expires = (int64_t)store_codec_r_u64(&r);
	a->nchall = store_codec_r_u8(&r);
	if (a->nchall > STORE_ACME_MAX_CHALL) {
		r.err = HSMCA_EINVAL;
		a->nchall = 0;
	}
	for (i = 0; i < a->nchall && r.err == 0; i++) {
		struct store_acme_chall *c = &a->chall[i];

		c->type = store_codec_r_u8(&r);
		c->status = store_codec_r_u8(&r);
		r_fixed(&r, c->token, sizeof(c->token));
		c->validated_at = (int64_t)store_codec_r_u64(&r);
		c->error = r_str(&r, &absent);
		if (c->type == 0 || c->status == 0)
			r.err = HSMCA_EINVAL;
	}
	if ((rc = r_done(&r)) != 0 || a->status == 0) {
		store_acme_authz_free(a);
		return rc != 0 ? rc : HSMCA_EINVAL;
	}
	*out = a;
	return 0;
}

/* --- orders ------------------------------------------------------------ */

/* Free an order record; NULL is ok. */
void
store_acme_order_free(struct store_acme_order *o)
{
	size_t i;

	if (o == NULL)
		return;
	if (o->idents != NULL) {
		for (i = 0; i < o->nidents; i++)
			free(o->idents[i].value);
		free(o->idents);
	}
	free(o->authz);
	free(o->error);
	free(o);
}

/*
 * Order, version 1: u8 'O', u8 1, u64 id, u64 account_id, u8 status,
 * u64 created_at, u64 expires, str profile, u32 nidents, { u8 ip,
 * str value } * nidents, u32 nauthz, u64 * nauthz, str error (may be
 * absent), u8 serial_len, serial.
 */
int
store_acme_order_encode(const struct store_acme_order *o,
    unsigned char **out, size_t *outlen)
{
	struct store_codec_w w = { NULL, 0, 0, 0 };
	size_t i;

	*out = NULL;
	*outlen = 0;
	if (o->status <= 0 || o->status > 255 ||
	    o->nidents > STORE_ACME_MAX_IDENTS ||
	    o->nauthz > STORE_ACME_MAX_IDENTS ||
	    o->serial_len > STORE_SERIAL_MAX ||
	    strnlen(o->profile, sizeof(o->profile)) == sizeof(o->profile))
		return HSMCA_EINVAL;
	store_codec_w_u8(&w, REC_ORDER);
	store_codec_w_u8(&w, REC_V1);
	store_codec_w_u64(&w, o->id);
	store_codec_w_u64(&w, o->account_id);
	store_codec_w_u8(&w, (uint8_t)o->status);
	store_codec_w_u64(&w, (uint64_t)o->created_at);
	store_codec_w_u64(&w, (uint64_t)o->expires);
	w_str(&w, o->profile);
	store_codec_w_u32(&w, (uint32_t)o->nidents);
	for (i = 0; i < o->nidents; i++) {
		if (o->idents[i].value == NULL)
			w.err = HSMCA_EINVAL;
		store_codec_w_u8(&w, o->idents[i].ip ? 1 : 0);
		w_str(&w, o->idents[i].value);
	}
	store_codec_w_u32(&w, (uint32_t)o->nauthz);
	for (i = 0; i < o->nauthz; i++)
		store_codec_w_u64(&w, o->authz[i]);
	w_str(&w, o->error);
	store_codec_w_u8(&w, (uint8_t)o->serial_len);
	store_codec_w_bytes(&w, o->serial, o->serial_len);
	return w_finish(&w, out, outlen);
}

/* Decode an order record (exactly `len` bytes). */
int
store_acme_order_decode(const unsigned char *p, size_t len,
    struct store_acme_order **out)
{
	struct store_codec_r r = { p, len, 0, 0 };
	struct store_acme_order *o;
	const unsigned char *sp;
	bool absent;
	size_t i, n;
	int rc;

	*out = NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return HSMCA_ENOMEM;
	r_header(&r, REC_ORDER);
	o->id = store_codec_r_u64(&r);
	o->account_id = store_codec_r_u64(&r);
	o->status = store_codec_r_u8(&r);
	o->created_at = (int64_t)store_codec_r_u64(&r);
	o->expires = (int64_t)store_codec_r_u64(&r);
	r_fixed(&r, o->profile, sizeof(o->profile));
	n = store_codec_r_u32(&r);
	if (n > STORE_ACME_MAX_IDENTS)
		r.err = HSMCA_EINVAL;
	if (r.err == 0 && n > 0 &&
	    (o->idents = calloc(n, sizeof(*o->idents))) == NULL)
		r.err = HSMCA_ENOMEM;
	if (r.err == 0)
		o->nidents = n;
	for (i = 0; i < o->nidents && r.err == 0; i++) {
		unsigned ip = store_codec_r_u8(&r);

		if (ip > 1)
			r.err = HSMCA_EINVAL;
		o->idents[i].ip = ip == 1;
		o->idents[i].value = r_str_req(&r);
	}
	n = store_codec_r_u32(&r);
	if (n > STORE_ACME_MAX_IDENTS)
		r.err = HSMCA_EINVAL;
	if (r.err == 0 && n > 0 &&
	    (o->authz = calloc(n, sizeof(*o->authz))) == NULL)
		r.err = HSMCA_ENOMEM;
	if (r.err == 0)
		o->nauthz = n;
	for (i = 0; i < o->nauthz && r.err == 0; i++)
		o->authz[i] = store_codec_r_u64(&r);
	o->error = r_str(&r, &absent);
	o->serial_len = store_codec_r_u8(&r);
	if (o->serial_len > STORE_SERIAL_MAX) {
		r.err = HSMCA_EINVAL;
		o->serial_len = 0;
	}
	if ((sp = store_codec_r_bytes(&r, o->serial_len)) != NULL)
		memcpy(o->serial, sp, o->serial_len);
	if ((rc = r_done(&r)) != 0 || o->status == 0) {
		store_acme_order_free(o);
		return rc != 0 ? rc : HSMCA_EINVAL;
	}
	*out = o;
	return 0;
}
