/*
 * hsm/hsm_int.h - private to hsm/ (and its tests): the shape of struct
 * hsm and struct hsm_key and the helpers the files of hsm/ share.
 * Nothing outside hsm/ and tests/hsm/ includes this.
 */
#ifndef HSMCA_HSM_INT_H
#define HSMCA_HSM_INT_H

#include <pthread.h>
#include <stddef.h>

#include <libp11.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "hsm/hsm.h"

#define HSM_ERRTYPE "hsm"
#define HSM_PIN_MAX 255		/* longest PIN accepted, bytes */
#define HSM_ID_LEN 16		/* CKA_ID of generated keys, bytes */

/*
 * One dlopen()ed PKCS#11 module and its function list.  The same path
 * opened by libp11 is the same library instance, so sessions and the
 * login state are shared with libp11's.
 */
struct hsm_module {
	void *dl;
	CK_FUNCTION_LIST *fl;
	int initialized;	/* this handle called C_Initialize itself */
};

struct hsm {
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned int nslots;
	PKCS11_SLOT *slot;	/* the token's slot, points into slots */
	struct hsm_module mod;
	CK_SLOT_ID slot_id;
	CK_TOKEN_INFO tinfo;
	/*
	 * Our own R/W session for key generation, object searches and
	 * attribute reads.  Signing never uses it: libp11 signs on its own
	 * session pool.  `lock` serialises its use (PKCS#11 sessions are
	 * not to be shared between threads at once).
	 */
	CK_SESSION_HANDLE session;
	int have_session;
	pthread_mutex_t lock;
};

struct hsm_key {
	EVP_PKEY *priv;		/* signs in the token via libp11 */
	EVP_PKEY *pub;		/* ordinary provider key */
	enum hsm_key_type type;
	unsigned char id[64];
	size_t id_len;
};

/* module.c */
int hsm_module_load(struct hsm_module *mod, const char *path,
    const char *softhsm_conf, int init, struct hsmca_err *err);
void hsm_module_unload(struct hsm_module *mod);
const char *hsm_ckr_name(CK_RV rv);

/* pin.c: the PIN into buf (NUL-terminated); cleanse buf after use. */
int hsm_pin_read(const char *pin_env, const char *pin_file, char *buf,
    size_t len, struct hsmca_err *err);

/* uri.c */
int hsm_uri_parse(const char *uri, int kind, P11KitUri **out,
    struct hsmca_err *err);
int hsm_uri_match_token(P11KitUri *uri, const CK_TOKEN_INFO *info);

/* objects.c: searches and attribute reads on hsm->session (locked). */
int hsm_find_objects(struct hsm *hsm, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE *objs, CK_ULONG max, CK_ULONG *count,
    struct hsmca_err *err);
int hsm_get_attr(struct hsm *hsm, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_TYPE type, unsigned char **val, size_t *len,
    struct hsmca_err *err);

/* pubkey.c: an ordinary EVP_PKEY from a public key object. */
int hsm_pubkey_load(struct hsm *hsm, CK_OBJECT_HANDLE obj, EVP_PKEY **out,
    struct hsmca_err *err);

/* keytype.c: DER of the curve OID for EC types, else NULL. */
const unsigned char *hsm_key_type_ec_params(enum hsm_key_type type,
    size_t *len);

#endif
