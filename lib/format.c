/* format.c - sizes as text: "100 B", "1.50 GiB". */
#include <inttypes.h>
#include <stdio.h>

#include "format.h"
#include "gpupager.h"

const char *gp_format_size_prec(uint64_t bytes, unsigned decimals, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.*f %s", (int)decimals, v, units[u]);
	return buf;
}

GP_API const char *gp_format_size(uint64_t bytes, char *buf, size_t len)
{
	return gp_format_size_prec(bytes, 2, buf, len);
}
