/*
 * hsm/destroy.c - removing a key pair this process generated, so that a
 * ceremony that fails half-way leaves the token as it found it.
 */
#include "hsm/hsm_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Most objects one label may name: a key pair, and room to notice more. */
#define DESTROY_MAX 8

/* See hsm.h. */
int
hsm_key_destroy(struct hsm *hsm, const char *label, struct hsmca_err *err)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE find[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)(uintptr_t)label, 0 },
	};
	CK_ATTRIBUTE pair[2];
	CK_OBJECT_HANDLE priv, objs[DESTROY_MAX];
	CK_ULONG n = 0, i;
	unsigned char *id = NULL;
	size_t idlen = 0;
	CK_RV rv = CKR_OK;
	int rc;

	if (label == NULL || label[0] == '\0')
		return hsmca_err_set(err, HSMCA_EINVAL, HSM_ERRTYPE,
		    "a key to destroy needs a non-empty label");
	find[1].ulValueLen = strlen(label);
	if ((rc = hsm_find_objects(hsm, find, 2, &priv, 1, &n, err)) != 0)
		return rc;
	if (n == 0)
		return hsmca_err_set(err, HSMCA_ENOTFOUND, HSM_ERRTYPE,
		    "no private key labelled \"%s\" to destroy", label);
	/*
	 * The public half is found by label and CKA_ID together, so an
	 * unrelated object that merely shares the label is left alone.
	 */
	if ((rc = hsm_get_attr(hsm, priv, CKA_ID, &id, &idlen, err)) != 0)
		return rc;
	pair[0] = find[1];
	pair[1] = (CK_ATTRIBUTE){ CKA_ID, id, idlen };
	if ((rc = hsm_find_objects(hsm, pair, 2, objs, DESTROY_MAX, &n,
	    err)) != 0)
		goto out;
	pthread_mutex_lock(&hsm->lock);
	for (i = 0; i < n && rv == CKR_OK; i++)
		rv = hsm->mod.fl->C_DestroyObject(hsm->session, objs[i]);
	pthread_mutex_unlock(&hsm->lock);
	if (rv != CKR_OK)
		rc = hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "C_DestroyObject (\"%s\") failed: %s", label,
		    hsm_ckr_name(rv));
out:
	free(id);
	return rc;
}
