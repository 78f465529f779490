/* log.c - stderr logging.  Each event is written with one write(2) so lines from threads never interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int gp_log_enabled(int level)
{
	const struct gp_config *cfg;

	/* An invalid environment still lets errors and warnings through. */
	if (gp_config_get(&cfg))
		return level <= GP_LOG_WARN;
	return level <= cfg->log_level;
}

void gp_log(int level, const char *fmt, ...)
{
	char line[1024];
	int n;
	va_list ap;

	if (level < GP_LOG_ERROR || level > GP_LOG_DEBUG || !gp_log_enabled(level))
		return;
	n = snprintf(line, sizeof(line), "gpupager: %s: ", level_names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return; /* nowhere left to report it */
}
