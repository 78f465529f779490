/* log.h - one line per event on stderr, prefixed "gpupager:", level from GPUPAGER_LOG. */
#ifndef GP_LIB_LOG_H
#define GP_LIB_LOG_H

#include "gpupager.h"

void gp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether a message at level would be printed (to skip costly formatting). */
int gp_log_enabled(int level);

#define gp_log_error(...) gp_log(GP_LOG_ERROR, __VA_ARGS__)
#define gp_log_warn(...) gp_log(GP_LOG_WARN, __VA_ARGS__)
#define gp_log_info(...) gp_log(GP_LOG_INFO, __VA_ARGS__)
#define gp_log_debug(...) gp_log(GP_LOG_DEBUG, __VA_ARGS__)

#endif
