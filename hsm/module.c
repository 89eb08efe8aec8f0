/*
 * hsm/module.c - load a PKCS#11 module and reach its function list.
 *
 * libp11 0.4.12 cannot generate EC keys nor set key attributes, so the
 * few calls it lacks (C_GenerateKeyPair, C_InitToken, attribute reads)
 * go straight to the module's CK_FUNCTION_LIST.  dlopen() of the path
 * libp11 loaded returns the same library instance, so both see one
 * Cryptoki state (sessions, login).
 */
#include "hsm/hsm_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * Load `path` (setting SOFTHSM2_CONF first when `softhsm_conf` is not
 * NULL: SoftHSM2 reads it in C_Initialize) and get its function list.
 * With `init`, also C_Initialize it; CKR_CRYPTOKI_ALREADY_INITIALIZED
 * means another user in this process (libp11) owns initialisation and
 * mod->initialized stays 0 so that we never finalize under it.
 * Returns 0 or HSMCA_EHSM; on failure `mod` holds nothing.
 */
int
hsm_module_load(struct hsm_module *mod, const char *path,
    const char *softhsm_conf, int init, struct hsmca_err *err)
{
	CK_C_GetFunctionList getfl;
	CK_C_INITIALIZE_ARGS args;
	struct stat st;
	CK_RV rv;
	void *sym;
	int rc = HSMCA_EHSM;

	memset(mod, 0, sizeof(*mod));
	if (path == NULL || *path == '\0') {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "no PKCS#11 module configured (hsm.module)");
		goto out;
	}
	if (softhsm_conf != NULL &&
	    setenv("SOFTHSM2_CONF", softhsm_conf, 1) != 0) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "cannot set SOFTHSM2_CONF: %s", strerror(errno));
		goto out;
	}
	/* stat first: dlopen's message for a missing file is vague. */
	if (stat(path, &st) != 0) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "cannot load PKCS#11 module %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((mod->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "cannot load PKCS#11 module %s: %s", path, dlerror());
		goto out;
	}
	if ((sym = dlsym(mod->dl, "C_GetFunctionList")) == NULL) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "cannot load PKCS#11 module %s: no C_GetFunctionList, "
		    "not a PKCS#11 module", path);
		goto out;
	}
	/* POSIX guarantees object and function pointers convert. */
	memcpy(&getfl, &sym, sizeof(getfl));
	if ((rv = getfl(&mod->fl)) != CKR_OK || mod->fl == NULL) {
		hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "cannot load PKCS#11 module %s: C_GetFunctionList: %s",
		    path, hsm_ckr_name(rv));
		goto out;
	}
	if (init) {
		memset(&args, 0, sizeof(args));
		args.flags = CKF_OS_LOCKING_OK;
		rv = mod->fl->C_Initialize(&args);
		if (rv == CKR_OK)
			mod->initialized = 1;
		else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
			    "PKCS#11 module %s: C_Initialize: %s", path,
			    hsm_ckr_name(rv));
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		hsm_module_unload(mod);
	return rc;
}

/* Finalize (only if we initialised) and drop our reference. */
void
hsm_module_unload(struct hsm_module *mod)
{
	if (mod->initialized && mod->fl != NULL)
		mod->fl->C_Finalize(NULL);
	if (mod->dl != NULL)
		dlclose(mod->dl);
	memset(mod, 0, sizeof(*mod));
}

static const struct {
	CK_RV rv;
	const char *name;
} ckr_names[] = {
	{ CKR_OK, "CKR_OK" },
	{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
	{ CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID" },
	{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
	{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
	{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
	{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
	{ CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
	{ CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID" },
	{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
	{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
	{ CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED" },
	{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
	{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
	{ CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
	{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
	{ CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE" },
	{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
	{ CKR_PIN_INVALID, "CKR_PIN_INVALID" },
	{ CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE" },
	{ CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED" },
	{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
	{ CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED" },
	{ CKR_SESSION_COUNT, "CKR_SESSION_COUNT" },
	{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
	{ CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY" },
	{ CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS" },
	{ CKR_SESSION_READ_WRITE_SO_EXISTS, "CKR_SESSION_READ_WRITE_SO_EXISTS" },
	{ CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE" },
	{ CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT" },
	{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
	{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
	{ CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED" },
	{ CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN" },
	{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
	{ CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED" },
	{ CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID" },
	{ CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
	    "CKR_USER_ANOTHER_ALREADY_LOGGED_IN" },
	{ CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID" },
	{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
	{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
	{ CKR_CRYPTOKI_ALREADY_INITIALIZED,
	    "CKR_CRYPTOKI_ALREADY_INITIALIZED" },
};

/* The CKR_ name of `rv` ("CKR_0x..." is not needed: unknown -> "CKR_?"). */
const char *
hsm_ckr_name(CK_RV rv)
{
	size_t i;

	for (i = 0; i < sizeof(ckr_names) / sizeof(ckr_names[0]); i++)
		if (ckr_names[i].rv == rv)
			return ckr_names[i].name;
	return "CKR_(unlisted)";
}
