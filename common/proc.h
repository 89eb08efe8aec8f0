/*
 * common/proc.h - process settings that keep secrets in memory (token
 * PINs, the daemon's TLS key) out of core files and away from other
 * users' debuggers.
 */
#ifndef HSMCA_COMMON_PROC_H
#define HSMCA_COMMON_PROC_H

#include "common/err.h"

/*
 * Set RLIMIT_CORE to 0 (soft and hard: a child cannot raise it again)
 * and mark the process not dumpable (PR_SET_DUMPABLE 0: no core file,
 * /proc/PID/mem and ptrace for privileged users only).  Idempotent;
 * called before a PIN is read.  HSMCA_EINTERNAL ("serverInternal")
 * when the kernel refuses either.
 */
int proc_no_dump(struct hsmca_err *err);

/*
 * Name the calling thread (PR_SET_NAME; the kernel keeps 15 bytes) so
 * that top -H, ps -L, perf and /proc/PID/task show which of the
 * daemon's threads is busy.  Best effort: a refusal changes nothing.
 */
void proc_thread_name(const char *name);

#endif
