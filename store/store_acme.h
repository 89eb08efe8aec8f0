/*
 * store/store_acme.h - the durable records of the ACME server: accounts,
 * orders, authorizations with their challenges, and the indexes and
 * counters the server needs (account by key thumbprint, orders by
 * account and creation time, valid authorizations by identifier,
 * challenges being validated, certificates by registered domain).
 *
 * The store knows bytes and records, not ACME rules: statuses are small
 * integers the protocol layer names, JSON members (a JWK, a contact
 * list, a problem document) are kept as opaque text.
 *
 * Puts take a struct store_txn (inside a store_write() function) and are
 * sticky like store_cert_put(); reads come in two forms, a fresh
 * snapshot (store_acme_*_get) and inside a write transaction
 * (store_acme_txn_*_get) for read-modify-write.  Records returned by a
 * get belong to the caller and are freed with their _free function.
 *
 * Databases (store_int.h): accounts (id -> record), accounts_by_thumb
 * (thumbprint -> id), orders (id -> record), orders_by_account (account
 * id -> created_at || order id, sorted duplicates), authzs (id ->
 * record) and rate, whose keys carry a one-letter kind:
 *   'D' regdomain NUL issued_at(8) serial -> ""   certificates per domain
 *   'V' authz id(8) challenge index(1)     -> ""   validations in progress
 *   'Z' account id(8) identifier key       -> authz id   valid authzs
 */
#ifndef HSMCA_STORE_ACME_H
#define HSMCA_STORE_ACME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_ACME_THUMB_LEN 43		/* RFC 7638 SHA-256, base64url */
#define STORE_ACME_TOKEN_MAX 64
#define STORE_ACME_MAX_CHALL 3
#define STORE_ACME_MAX_IDENTS 100
#define STORE_ACME_IDENT_MAX 300	/* identifier key of a 'Z' entry */

/* --- accounts --------------------------------------------------------- */

struct store_acme_account {
	uint64_t id;
	int status;			/* protocol's enum, not 0 */
	char thumb[STORE_ACME_THUMB_LEN + 1];
	char *jwk;			/* JSON text of the public key */
	char *contact;			/* JSON array text, "[]" when none */
	char *eab_kid;			/* NULL: no external binding */
	int64_t created_at;
};

void store_acme_account_free(struct store_acme_account *a);

/*
 * Write an account.  With `create`, the id and the thumbprint must be
 * new (HSMCA_EEXIST otherwise, sticky).  Without, the record replaces
 * the stored one; when its thumbprint changed (keyChange) the index
 * moves, HSMCA_EEXIST when another account already holds the new one.
 */
int store_acme_account_put(struct store_txn *txn,
    const struct store_acme_account *a, bool create);

/* HSMCA_ENOTFOUND when absent. */
int store_acme_account_get(struct store *st, uint64_t id,
    struct store_acme_account **out, struct hsmca_err *err);
int store_acme_txn_account_get(struct store_txn *txn, uint64_t id,
    struct store_acme_account **out);

/* The account id holding key `thumb`; HSMCA_ENOTFOUND when none. */
int store_acme_account_by_thumb(struct store *st, const char *thumb,
    uint64_t *id, struct hsmca_err *err);

/* --- authorizations ---------------------------------------------------- */

struct store_acme_chall {
	int type;			/* protocol's enum */
	int status;
	char token[STORE_ACME_TOKEN_MAX + 1];
	int64_t validated_at;		/* 0: not yet */
	char *error;			/* problem JSON text, NULL: none */
};

struct store_acme_authz {
	uint64_t id;
	uint64_t account_id;
	int status;
	bool ip;			/* identifier type "ip", else "dns" */
	bool wildcard;
	char *value;			/* without "*." */
	int64_t expires;
	size_t nchall;
	struct store_acme_chall chall[STORE_ACME_MAX_CHALL];
};

void store_acme_authz_free(struct store_acme_authz *a);

/* Write (create or replace) an authorization. */
int store_acme_authz_put(struct store_txn *txn,
    const struct store_acme_authz *a);

/*
 * Delete authorization `id` with the validation marks ('V') of its
 * challenges; absent is fine.  Orders that reference it and its 'Z'
 * entry are the caller's to handle (store_acme_valid_del()).  Sticky.
 */
int store_acme_authz_del(struct store_txn *txn, uint64_t id);
int store_acme_authz_get(struct store *st, uint64_t id,
    struct store_acme_authz **out, struct hsmca_err *err);
int store_acme_txn_authz_get(struct store_txn *txn, uint64_t id,
    struct store_acme_authz **out);

/* --- orders ------------------------------------------------------------ */

struct store_acme_ident {
	bool ip;
	char *value;			/* DNS names keep their "*." */
};

struct store_acme_order {
	uint64_t id;
	uint64_t account_id;
	int status;
	int64_t created_at;
	int64_t expires;
	char profile[STORE_PROFILE_MAX];	/* "" : the default */
	size_t nidents;
	struct store_acme_ident *idents;
	size_t nauthz;
	uint64_t *authz;			/* one per identifier */
	char *error;				/* problem JSON, NULL: none */
	unsigned char serial[STORE_SERIAL_MAX];
	size_t serial_len;			/* 0: no certificate yet */
};

void store_acme_order_free(struct store_acme_order *o);

/*
 * Write an order.  With `create` the id must be new and the order is
 * added to orders_by_account under its created_at.
 */
int store_acme_order_put(struct store_txn *txn,
    const struct store_acme_order *o, bool create);
int store_acme_order_get(struct store *st, uint64_t id,
    struct store_acme_order **out, struct hsmca_err *err);

/*
 * Delete order `o` (as read from the store: its id, account and
 * created_at locate the index entry) and its orders_by_account entry;
 * absent is fine.  Its authorizations stay.  Sticky.
 */
int store_acme_order_del(struct store_txn *txn,
    const struct store_acme_order *o);
int store_acme_txn_order_get(struct store_txn *txn, uint64_t id,
    struct store_acme_order **out);

/*
 * Orders of `account_id` created at or after `since`, oldest first:
 * *count gets their number and *oldest (may be NULL) the creation time
 * of the first (0 when none).
 */
int store_acme_order_count(struct store *st, uint64_t account_id,
    int64_t since, size_t *count, int64_t *oldest, struct hsmca_err *err);

/*
 * Call `cb` with the id of every order of `account_id` created at or
 * after `since`, oldest first, outside any transaction.  A non-zero
 * return from cb stops the walk and is returned.
 */
typedef int (*store_acme_id_cb)(uint64_t id, void *arg);
int store_acme_order_list(struct store *st, uint64_t account_id,
    int64_t since, store_acme_id_cb cb, void *arg, struct hsmca_err *err);

/* --- validations in progress ------------------------------------------ */

/* Mark (add) or unmark challenge `idx` of authz `authz_id`. */
int store_acme_queue_put(struct store_txn *txn, uint64_t authz_id,
    unsigned idx);
int store_acme_queue_del(struct store_txn *txn, uint64_t authz_id,
    unsigned idx);

/* Every marked challenge, in authz id order. */
typedef int (*store_acme_queue_cb)(uint64_t authz_id, unsigned idx,
    void *arg);
int store_acme_queue_list(struct store *st, store_acme_queue_cb cb,
    void *arg, struct hsmca_err *err);

/* --- valid authorizations by identifier -------------------------------- */

/*
 * `ident` is the protocol's key for an identifier ("dns:x", "dns:*.x",
 * "ip:1.2.3.4").  put remembers `authz_id` as the newest valid
 * authorization of the account for it; get returns it
 * (HSMCA_ENOTFOUND when none).
 */
int store_acme_valid_put(struct store_txn *txn, uint64_t account_id,
    const char *ident, uint64_t authz_id);
int store_acme_valid_get(struct store *st, uint64_t account_id,
    const char *ident, uint64_t *authz_id, struct hsmca_err *err);

/*
 * Delete the account's entry for `ident` only while it names
 * `authz_id` (a newer authorization may have replaced it).  Sticky.
 */
int store_acme_valid_del(struct store_txn *txn, uint64_t account_id,
    const char *ident, uint64_t authz_id);

/*
 * Call `cb` with the identifier key and authorization id of every
 * entry of `account_id`, in key order, inside one snapshot: cb must
 * neither block nor write.  A non-zero return from cb stops the walk
 * and is returned (`err` is then cb's to set).
 */
typedef int (*store_acme_valid_cb)(const char *ident, uint64_t authz_id,
    void *arg);
int store_acme_valid_list(struct store *st, uint64_t account_id,
    store_acme_valid_cb cb, void *arg, struct hsmca_err *err);

/* --- certificates per registered domain -------------------------------- */

int store_acme_issued_put(struct store_txn *txn, const char *regdomain,
    int64_t issued_at, const unsigned char *serial, size_t serial_len);

/*
 * Forget the certificates recorded for `regdomain` issued before
 * `before` (they no longer count), so the counter stays bounded.
 */
int store_acme_issued_prune(struct store_txn *txn, const char *regdomain,
    int64_t before);

/*
 * Certificates recorded for `regdomain` issued at or after `since`:
 * *count, and *oldest the issue time of the first (0 when none).
 */
int store_acme_issued_count(struct store *st, const char *regdomain,
    int64_t since, size_t *count, int64_t *oldest, struct hsmca_err *err);

/* --- removing expired orders (store/acme_sweep.c) -------------------- */

#define STORE_ACME_SWEEP_BATCH 256

struct store_acme_sweep {
	int64_t now;
	int64_t retention;	/* seconds past `expires`; 0: remove nothing */
	/*
	 * Seconds: orders created at or after now - rate_window + 1 still
	 * count toward the orders-per-window limit and stay whatever
	 * their expiry; 0: no such window.
	 */
	int64_t rate_window;
	size_t batch;		/* objects per write transaction; 0: 256 */
	size_t budget;		/* stop after the batch that removes this
				   many objects in all; 0: no limit */
	uint64_t from_account;	/* walk accounts from this id on; 0: all */
};

struct store_acme_swept {
	size_t orders, authzs, challs;	/* what was removed */
	size_t removed;			/* their sum: objects */
	uint64_t next_account;		/* budget spent: pass as from_account
					   to go on; 0: the walk finished */
};

/*
 * Remove every order whose `expires` is more than `retention` seconds
 * before `now`, with the authorizations (and so their challenges) it
 * alone references, and every index entry naming them: the order's
 * orders_by_account entry, the authorizations' 'V' marks and the 'Z'
 * entries that name them.  Objects are orders, authorizations and
 * challenges; *out counts what went.
 *
 * Kept: orders not expired so long (and orders inside `rate_window`),
 * authorizations any kept order references, and every order one of
 * whose authorizations has not itself expired `retention` before
 * `now` (an authorization validated with a long reuse period outlives
 * its first order; the order goes with it later, so that no
 * authorization is left that no order references).  Accounts,
 * certificates and the per-domain issuance counter ('D') are never
 * touched: a certificate is found by its serial, not through its order.
 *
 * Work is done one account at a time: its orders created before the
 * cutoff are read in one snapshot (memory in proportion to them), then
 * removed through store_write() in transactions of at most `batch`
 * objects (an order with more authorizations than fit goes alone),
 * each checked again inside its transaction: a record that changed
 * since the snapshot is left for a later sweep.  Between transactions
 * other writers get their turn.
 *
 * Call it outside any write function or store_write_async() callback.
 * Returns 0, HSMCA_EINVAL for a negative retention or rate_window, or
 * the first read or write failure (with `err` set); on failure the
 * transactions committed before it stay done and are counted in *out.
 */
int store_acme_sweep(struct store *st, const struct store_acme_sweep *sw,
    struct store_acme_swept *out, struct hsmca_err *err);

/* --- consistency (store/acme_check.c) --------------------------------- */

struct MDB_txn;

/*
 * For store_check(): walk the ACME databases in the snapshot `txn`,
 * writing one line per problem to `report` (may be NULL) and counting
 * them in *problems.  Returns 0, or an LMDB failure as an hsmca code.
 */
int store_acme_check(struct store *st, struct MDB_txn *txn, FILE *report,
    size_t *problems);

/* --- record encoding (store/acme_codec.c; also the fuzz entry) ------- */

/*
 * Encode: on success *out is malloc'd (caller frees).  Decode consumes
 * exactly `len` bytes or fails with HSMCA_EINVAL; on success *out
 * belongs to the caller.
 */
int store_acme_account_encode(const struct store_acme_account *a,
    unsigned char **out, size_t *outlen);
int store_acme_account_decode(const unsigned char *p, size_t len,
    struct store_acme_account **out);
int store_acme_authz_encode(const struct store_acme_authz *a,
    unsigned char **out, size_t *outlen);
int store_acme_authz_decode(const unsigned char *p, size_t len,
    struct store_acme_authz **out);
int store_acme_order_encode(const struct store_acme_order *o,
    unsigned char **out, size_t *outlen);
int store_acme_order_decode(const unsigned char *p, size_t len,
    struct store_acme_order **out);

#endif
