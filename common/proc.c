/*
 * common/proc.c - keep secrets out of core files, name threads; see
 * proc.h.
 */
#include "common/proc.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* See proc.h. */
int
proc_no_dump(struct hsmca_err *err)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "cannot switch off core files: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return hsmca_err_set(err, HSMCA_EINTERNAL, "serverInternal",
		    "cannot mark the process not dumpable: %s",
		    strerror(errno));
	return 0;
}

/* See proc.h. */
void
proc_thread_name(const char *name)
{
	(void)prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}
