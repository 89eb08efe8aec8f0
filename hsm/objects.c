/*
 * hsm/objects.c - object searches and attribute reads on struct hsm's
 * own session.  Each call holds hsm->lock for its whole Find sequence.
 */
#include "hsm/hsm_int.h"

#include <stdlib.h>

/*
 * Find up to `max` objects matching `tmpl`; *count gets how many.
 * Returns 0 or HSMCA_EHSM.
 */
int
hsm_find_objects(struct hsm *hsm, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE *objs, CK_ULONG max, CK_ULONG *count,
    struct hsmca_err *err)
{
	CK_FUNCTION_LIST *fl = hsm->mod.fl;
	CK_RV rv;

	*count = 0;
	pthread_mutex_lock(&hsm->lock);
	if ((rv = fl->C_FindObjectsInit(hsm->session, tmpl, n)) == CKR_OK) {
		rv = fl->C_FindObjects(hsm->session, objs, max, count);
		fl->C_FindObjectsFinal(hsm->session);
	}
	pthread_mutex_unlock(&hsm->lock);
	if (rv != CKR_OK)
		return hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
		    "object search in the token failed: %s",
		    hsm_ckr_name(rv));
	return 0;
}

/*
 * Read attribute `type` of `obj` into a fresh buffer: *val (free() it)
 * and *len.  Returns 0, HSMCA_ENOTFOUND when the object has no such
 * readable attribute, HSMCA_ENOMEM or HSMCA_EHSM.
 */
int
hsm_get_attr(struct hsm *hsm, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
    unsigned char **val, size_t *len, struct hsmca_err *err)
{
	CK_FUNCTION_LIST *fl = hsm->mod.fl;
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;
	int rc = HSMCA_EHSM;

	*val = NULL;
	*len = 0;
	pthread_mutex_lock(&hsm->lock);
	rv = fl->C_GetAttributeValue(hsm->session, obj, &a, 1);
	if (rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
	    (rv == CKR_OK && a.ulValueLen == (CK_ULONG)-1)) {
		rc = hsmca_err_set(err, HSMCA_ENOTFOUND, HSM_ERRTYPE,
		    "attribute 0x%lx not readable: %s", (unsigned long)type,
		    hsm_ckr_name(rv));
		goto out;
	}
	if (rv != CKR_OK)
		goto fail;
	/* +1 so that a zero-length value still gets a buffer. */
	if ((a.pValue = malloc(a.ulValueLen + 1)) == NULL) {
		rc = hsmca_err_set(err, HSMCA_ENOMEM, HSM_ERRTYPE,
		    "out of memory");
		goto out;
	}
	if ((rv = fl->C_GetAttributeValue(hsm->session, obj, &a, 1)) != CKR_OK)
		goto fail;
	*val = a.pValue;
	*len = a.ulValueLen;
	a.pValue = NULL;
	rc = 0;
	goto out;
fail:
	hsmca_err_set(err, HSMCA_EHSM, HSM_ERRTYPE,
	    "cannot read attribute 0x%lx: %s", (unsigned long)type,
	    hsm_ckr_name(rv));
out:
	pthread_mutex_unlock(&hsm->lock);
	free(a.pValue);
	return rc;
}
