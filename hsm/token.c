/*
 * hsm/token.c - initialise a new token (the SoftHSM2 tokens that
 * `hsmca init` makes): C_InitToken on a free slot, then the user PIN.
 * libp11 is not used: this runs before any struct hsm exists.
 */
#include "hsm/hsm_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* `label` blank-padded to the 32 bytes of CK_TOKEN_INFO.label. */
static void
pad_label(const char *label, CK_UTF8CHAR out[32])
{
	size_t n = strlen(label);

	memset(out, ' ', 32);
	memcpy(out, label, n > 32 ? 32 : n);
}

/* Pick the first present, uninitialised token; refuse a taken label. */
static int
free_slot(CK_FUNCTION_LIST *fl, const CK_UTF8CHAR padded[32],
    const char *label, CK_SLOT_ID *slot, struct hsmca_err *err)
{
	CK_SLOT_ID *ids = NULL;
	CK_TOKEN_INFO info;
	CK_ULONG n = 0, i;
	CK_RV rv;
	int found = 0, rc = HSMCA_EHSM;

	if ((rv = fl->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "C_GetSlotList: %s", hsm_ckr_name(rv));
		goto out;
	}
	if ((ids = calloc(n + 1, sizeof(*ids))) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, HSM_ERRTYPE,
		    "out of memory");
		goto out;
	}
	if ((rv = fl->C_GetSlotList(CK_TRUE, ids, &n)) != CKR_OK) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "C_GetSlotList: %s", hsm_ckr_name(rv));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (fl->C_GetTokenInfo(ids[i], &info) != CKR_OK)
			continue;
		if (info.flags & CKF_TOKEN_INITIALIZED) {
			if (memcmp(info.label, padded, 32) == 0) {
				rc = hsmca_err_set(err, HSMCA_EEXIST,
				    HSM_ERRTYPE, "a token labelled \"%s\" "
				    "exists already", label);
				goto out;
			}
		} else if (!found) {
			*slot = ids[i];
			found = 1;
		}
	}
	if (!found) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "the module has no slot with an uninitialised token");
		goto out;
	}
	rc = 0;
out:
	free(ids);
	return rc;
}

/* See hsm.h. */
int
hsm_token_create(const char *module, const char *softhsm_conf,
    const char *label, const char *so_pin, const char *user_pin,
    struct hsmca_err *err)
{
	struct hsm_module mod;
	CK_UTF8CHAR padded[32];
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_SLOT_ID slot = 0;
	CK_RV rv;
	int rc, so_in = 0;

	memset(&mod, 0, sizeof(mod));
	if (label == NULL || *label == '\0' || strlen(label) > 32)
		return hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "a token label has 1 to 32 bytes");
	if (so_pin == NULL || *so_pin == '\0' || user_pin == NULL ||
	    *user_pin == '\0' || strlen(so_pin) > HSM_PIN_MAX ||
	    strlen(user_pin) > HSM_PIN_MAX)
		return hsmca_err_set(err, HSMCA_EPIN, HSM_ERRTYPE,
		    "SO and user PINs must have 1 to %d bytes", HSM_PIN_MAX);
	pad_label(label, padded);
	if ((rc = hsm_module_load(&mod, module, softhsm_conf, 1, err)) != 0)
		goto out;
	if ((rc = free_slot(mod.fl, padded, label, &slot, err)) != 0)
		goto out;
	rc = HSMCA_EHSM;
	if ((rv = mod.fl->C_InitToken(slot, (CK_UTF8CHAR *)(uintptr_t)so_pin,
	    strlen(so_pin), padded)) != CKR_OK) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "C_InitToken \"%s\": %s", label, hsm_ckr_name(rv));
		goto out;
	}
	if ((rv = mod.fl->C_OpenSession(slot, CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, &s)) != CKR_OK) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "cannot open a session on the new token: %s",
		    hsm_ckr_name(rv));
		goto out;
	}
	if ((rv = mod.fl->C_Login(s, CKU_SO, (CK_UTF8CHAR *)(uintptr_t)so_pin,
	    strlen(so_pin))) != CKR_OK) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "SO login to the new token: %s", hsm_ckr_name(rv));
		goto out;
	}
	so_in = 1;
	if ((rv = mod.fl->C_InitPIN(s, (CK_UTF8CHAR *)(uintptr_t)user_pin,
	    strlen(user_pin))) != CKR_OK) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "C_InitPIN on the new token: %s", hsm_ckr_name(rv));
		goto out;
	}
	rc = 0;
out:
	if (so_in)
		mod.fl->C_Logout(s);
	if (s != CK_INVALID_HANDLE)
		mod.fl->C_CloseSession(s);
	hsm_module_unload(&mod);
	return rc;
}
