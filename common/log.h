/*
 * common/log.h - leveled logging to stderr (and so to journald).
 *
 * Never pass a PIN, a key or a password to these functions.
 */
#ifndef HSMCA_COMMON_LOG_H
#define HSMCA_COMMON_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Messages above `level` are dropped.  Default LOG_LVL_INFO. */
void log_set_level(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
