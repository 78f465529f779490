/* parse.c - strict parsing of sizes and budgets shared by the API, tools and config. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

struct size_suffix {
	const char *text;
	unsigned shift;
};

/* Binary multiples; "B", "iB" and "iB"-less forms are all accepted. */
static const struct size_suffix suffixes[] = {
	{ "", 0 },    { "b", 0 },    { "k", 10 },   { "kb", 10 },  { "kib", 10 },
	{ "m", 20 },  { "mb", 20 },  { "mib", 20 }, { "g", 30 },   { "gb", 30 },
	{ "gib", 30 }, { "t", 40 },  { "tb", 40 },  { "tib", 40 },
};

int gp_parse_size(const char *text, uint64_t *bytes)
{
	const char *p = text;
	char *end;
	unsigned long long value;

	if (!text || !bytes)
		return gp_fail(GP_EINVAL, "size: no value given");
	if (!isdigit((unsigned char)*p))
		return gp_fail(GP_EINVAL, "Invalid size: '%s' (expected e.g. 123, 512M, 8G, 8GiB)", text);
	errno = 0;
	value = strtoull(p, &end, 10);
	if (errno == ERANGE)
		return gp_fail(GP_ERANGE, "Invalid size: '%s' is too large", text);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcasecmp(end, suffixes[i].text) != 0)
			continue;
		if (suffixes[i].shift && value > (UINT64_MAX >> suffixes[i].shift))
			return gp_fail(GP_ERANGE, "Invalid size: '%s' is too large", text);
		*bytes = (uint64_t)value << suffixes[i].shift;
		return 0;
	}
	return gp_fail(GP_EINVAL, "Invalid size: '%s' (expected e.g. 123, 512M, 8G, 8GiB)", text);
}

int gp_parse_budget(const char *text, uint64_t *bytes, double *percent)
{
	size_t len;
	char *end;
	double pct;

	if (!text || !bytes || !percent)
		return gp_fail(GP_EINVAL, "budget: no value given");
	len = strlen(text);
	if (len == 0 || text[len - 1] != '%') {
		*percent = 0;
		return gp_parse_size(text, bytes);
	}
	if (!isdigit((unsigned char)text[0]))
		return gp_fail(GP_EINVAL, "Invalid budget: '%s' (expected a size like 8G or a percentage like 40%%)", text);
	errno = 0;
	pct = strtod(text, &end);
	if (errno || end != text + len - 1)
		return gp_fail(GP_EINVAL, "Invalid budget: '%s' (expected a size like 8G or a percentage like 40%%)", text);
	if (!(pct > 0.0 && pct <= 100.0))
		return gp_fail(GP_ERANGE, "Invalid budget: '%s' (a percentage must be above 0%% and at most 100%%)", text);
	*bytes = 0;
	*percent = pct;
	return 0;
}
