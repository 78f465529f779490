/* error.h - internal error reporting: negative codes plus a per-thread message. */
#ifndef GP_LIB_ERROR_H
#define GP_LIB_ERROR_H

#include "gpupager.h"

/*
 * Record a detailed message for gp_last_error() and return code, so that a
 * failure site reads:   return gp_fail(GP_EFORMAT, "%s: tensor '%s': ...", ...);
 */
int gp_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Prepend context to the current thread's message ("model.safetensors: " +
 * old message) and return code unchanged.  Used while unwinding.
 */
int gp_fail_context(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Forget the current thread's message (a success path that retried). */
void gp_clear_error(void);

#endif
