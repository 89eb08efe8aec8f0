/* common/err.c - struct hsmca_err helpers. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

int
hsmca_err_set(struct hsmca_err *err, int code, const char *type,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->code != 0)
		return code;
	err->code = code;
	err->type = type;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return code;
}

void
hsmca_err_clear(struct hsmca_err *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->type = NULL;
	err->detail[0] = '\0';
}

const char *
hsmca_code_name(int code)
{
	switch (code) {
	case HSMCA_OK:		return "OK";
	case HSMCA_EINVAL:	return "EINVAL";
	case HSMCA_ENOTFOUND:	return "ENOTFOUND";
	case HSMCA_EEXIST:	return "EEXIST";
	case HSMCA_EIO:		return "EIO";
	case HSMCA_ENOMEM:	return "ENOMEM";
	case HSMCA_EPOLICY:	return "EPOLICY";
	case HSMCA_EHSM:	return "EHSM";
	case HSMCA_EPIN:	return "EPIN";
	case HSMCA_ELINT:	return "ELINT";
	default:		return "EINTERNAL";
	}
}

char *
hsmca_openssl_errstr(char *buf, size_t len)
{
	unsigned long e;
	size_t used;

	if (len == 0)
		return buf;
	used = strlen(buf);
	while ((e = ERR_get_error()) != 0) {
		if (used + 3 >= len)
			continue;	/* keep draining the queue */
		if (used > 0) {
			buf[used++] = ';';
			buf[used++] = ' ';
			buf[used] = '\0';
		}
		ERR_error_string_n(e, buf + used, len - used);
		used = strlen(buf);
	}
	return buf;
}
