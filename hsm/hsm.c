/*
 * hsm/hsm.c - open a PKCS#11 module, select one token by URI, log in.
 *
 * libp11 owns module initialisation and the signing sessions; we keep a
 * second handle on the same module (hsm/module.c) plus one session of
 * our own for what libp11 0.4.12 cannot do.  The login is made on our
 * session first so that a refused PIN gives its exact CKR_ code (libp11
 * only reports "login failed") without spending a second try of the
 * token's retry counter; PKCS#11 login state is per application, and
 * libp11 then logs in its own pool (CKR_USER_ALREADY_LOGGED_IN is fine).
 *
 * XXX: libp11's unload calls C_Finalize, so two struct hsm on the same
 * module in one process must be closed in reverse order of opening and
 * the first close ends the other's sessions.  hsmca opens one.
 */
#include "hsm/hsm_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/*
 * libp11 could not load a module our own dlopen() could: its OpenSSL
 * error says little ("could not load the shared library"), so ask the
 * module itself why C_Initialize fails.
 */
static void
load_failed(struct hsm *hsm, const struct hsm_params *params,
    struct hsmca_err *err)
{
	CK_C_INITIALIZE_ARGS args;
	char ebuf[160] = "";
	CK_RV rv;

	hsmca_openssl_errstr(ebuf, sizeof(ebuf));
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = hsm->mod.fl->C_Initialize(&args);
	if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		if (rv == CKR_OK)
			hsm->mod.fl->C_Finalize(NULL);
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "cannot load PKCS#11 module %s: %s", params->module, ebuf);
		return;
	}
	hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
	    "cannot load PKCS#11 module %s: C_Initialize: %s%s%s%s",
	    params->module, hsm_ckr_name(rv),
	    params->softhsm_conf ? " (check the SoftHSM2 configuration " : "",
	    params->softhsm_conf ? params->softhsm_conf : "",
	    params->softhsm_conf ? ")" : "");
}

/* Find the one initialised token that `uri` selects. */
static int
select_token(struct hsm *hsm, P11KitUri *uri, const char *uristr,
    struct hsmca_err *err)
{
	CK_TOKEN_INFO info;
	CK_SLOT_ID id;
	unsigned int i, matches = 0;

	for (i = 0; i < hsm->nslots; i++) {
		if (hsm->slots[i].token == NULL)
			continue;
		id = PKCS11_get_slotid_from_slot(&hsm->slots[i]);
		if (hsm->mod.fl->C_GetTokenInfo(id, &info) != CKR_OK)
			continue;
		if (!(info.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (!hsm_uri_match_token(uri, &info))
			continue;
		if (matches++ == 0) {
			hsm->slot = &hsm->slots[i];
			hsm->slot_id = id;
			hsm->tinfo = info;
		}
	}
	if (matches == 0)
		return hsmca_err_set(err, HSMCA_ENOTFOUND, HSM_ERRTYPE,
		    "no token matches %s", uristr);
	if (matches > 1)
		return hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "%u tokens match %s; add serial= to the URI to choose one",
		    matches, uristr);
	return 0;
}

/* Open our session and log the user in with `pin`. */
static int
login(struct hsm *hsm, const char *pin, struct hsmca_err *err)
{
	char ebuf[160] = "";
	CK_RV rv;

	rv = hsm->mod.fl->C_OpenSession(hsm->slot_id,
	    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &hsm->session);
	if (rv != CKR_OK)
		return hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "cannot open a session on the token: %s",
		    hsm_ckr_name(rv));
	hsm->have_session = 1;
	rv = hsm->mod.fl->C_Login(hsm->session, CKU_USER,
	    (CK_UTF8CHAR *)(uintptr_t)pin, strlen(pin));
	switch (rv) {
	case CKR_OK:
	case CKR_USER_ALREADY_LOGGED_IN:
		break;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_EXPIRED:
	case CKR_PIN_LOCKED:
		return hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
		    "token refused the PIN (%s)", hsm_ckr_name(rv));
	default:
		return hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "login to the token failed: %s", hsm_ckr_name(rv));
	}
	if (PKCS11_login(hsm->slot, 0, pin) != 0)
		return hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "libp11 login failed: %s",
		    hsmca_openssl_errstr(ebuf, sizeof(ebuf)));
	return 0;
}

/*
 * See hsm.h.  Order of checks: URI syntax, module, token, PIN, login,
 * so that each failure names its own cause.
 */
int
hsm_open(const struct hsm_params *params, struct hsm **out,
    struct hsmca_err *err)
{
	struct hsm *hsm = NULL;
	P11KitUri *uri = NULL;
	char pin[HSM_PIN_MAX + 1];
	char ebuf[160] = "";
	int rc;

	*out = NULL;
	pin[0] = '\0';
	if ((rc = hsm_uri_parse(params->token_uri, P11_KIT_URI_FOR_TOKEN,
	    &uri, err)) != 0)
		goto out;
	if ((hsm = calloc(1, sizeof(*hsm))) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, HSM_ERRTYPE,
		    "out of memory");
		goto out;
	}
	pthread_mutex_init(&hsm->lock, NULL);
	/* Our handle first: its errors say why a module does not load. */
	if ((rc = hsm_module_load(&hsm->mod, params->module,
	    params->softhsm_conf, 0, err)) != 0)
		goto out;
	rc = HSMCA_EHSM;
	if ((hsm->ctx = PKCS11_CTX_new()) == NULL) {
		hsmca_err_set(err, HSMCA_ENOMEM, HSM_ERRTYPE, "out of memory");
		goto out;
	}
	if (PKCS11_CTX_load(hsm->ctx, params->module) != 0) {
		PKCS11_CTX_free(hsm->ctx);
		hsm->ctx = NULL;
		load_failed(hsm, params, err);
		goto out;
	}
	if (PKCS11_enumerate_slots(hsm->ctx, &hsm->slots, &hsm->nslots) != 0) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "cannot list the slots of %s: %s", params->module,
		    hsmca_openssl_errstr(ebuf, sizeof(ebuf)));
		goto out;
	}
	if ((rc = select_token(hsm, uri, params->token_uri, err)) != 0)
		goto out;
	if ((rc = hsm_pin_read(params->pin_env, params->pin_file, pin,
	    sizeof(pin), err)) != 0)
		goto out;
	if ((rc = login(hsm, pin, err)) != 0)
		goto out;
	*out = hsm;
	hsm = NULL;
	rc = 0;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	p11_kit_uri_free(uri);
	hsm_close(hsm);
	return rc;
}

/* See hsm.h. */
void
hsm_close(struct hsm *hsm)
{
	if (hsm == NULL)
		return;
	if (hsm->have_session)
		hsm->mod.fl->C_CloseSession(hsm->session);
	if (hsm->slots != NULL)
		PKCS11_release_all_slots(hsm->ctx, hsm->slots, hsm->nslots);
	if (hsm->ctx != NULL) {
		PKCS11_CTX_unload(hsm->ctx);
		PKCS11_CTX_free(hsm->ctx);
	}
	hsm_module_unload(&hsm->mod);
	pthread_mutex_destroy(&hsm->lock);
	free(hsm);
}
