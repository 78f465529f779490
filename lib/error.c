/* error.c - error codes, their names, and the per-thread detail message. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

#define GP_ERRMSG_MAX 1024

static __thread char last_message[GP_ERRMSG_MAX];

struct error_desc {
	int code;
	const char *name;
	const char *text;
};

#define ERROR_ROW(code, value, text) { code, #code, text },
static const struct error_desc error_table[] = { GP_ERROR_LIST(ERROR_ROW) };
#undef ERROR_ROW

static const struct error_desc *find_error(int code)
{
	for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
		if (error_table[i].code == code)
			return &error_table[i];
	return NULL;
}

const char *gp_strerror(int err)
{
	const struct error_desc *d = find_error(err);
	return d ? d->text : "unknown error";
}

const char *gp_error_name(int err)
{
	const struct error_desc *d = find_error(err);
	return d ? d->name : "GP_E?";
}

const char *gp_last_error(void)
{
	return last_message;
}

int gp_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
	return code;
}

int gp_fail_context(int code, const char *fmt, ...)
{
	char old[GP_ERRMSG_MAX];
	size_t n;
	va_list ap;

	memcpy(old, last_message, sizeof(old));
	va_start(ap, fmt);
	n = (size_t)vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
	if (n < sizeof(last_message))
		snprintf(last_message + n, sizeof(last_message) - n, "%s", old);
	return code;
}

void gp_clear_error(void)
{
	last_message[0] = '\0';
}
