/* hostpool_budget.c - how much host memory the pool may take: MemAvailable and GPUPAGER_HOST_BUDGET. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "format.h"
#include "hostpool_priv.h"

#define MEMINFO_PATH "/proc/meminfo"

int gp_host_mem_available(uint64_t *bytes)
{
	char line[256];
	unsigned long long kib;
	FILE *f;

	f = fopen(MEMINFO_PATH, "r");
	if (!f)
		return gp_fail(GP_EIO, "%s: %s", MEMINFO_PATH, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
			fclose(f);
			*bytes = (uint64_t)kib * 1024;
			return 0;
		}
	}
	fclose(f);
	return gp_fail(GP_ENOSYS, "%s: no MemAvailable line (Linux < 3.14?)", MEMINFO_PATH);
}

int gp_host_budget_check(uint64_t need)
{
	char need_text[32], avail_text[32];
	uint64_t avail;
	int err;

	err = gp_host_mem_available(&avail);
	if (err)
		return err;
	if (need <= avail)
		return 0;
	gp_format_size_prec(need, 1, need_text, sizeof(need_text));
	gp_format_size_prec(avail, 1, avail_text, sizeof(avail_text));
	return gp_fail(GP_EHOSTMEM,
		       "insufficient host memory: need %s, available %s (MemAvailable); "
		       "set GPUPAGER_HOST_BUDGET lower", need_text, avail_text);
}

int gp_host_budget_default(uint64_t *budget, uint64_t *mem_available)
{
	const struct gp_config *cfg;
	uint64_t avail;
	int err;

	err = gp_host_mem_available(&avail);
	if (err)
		return err;
	if (mem_available)
		*mem_available = avail;
	err = gp_config_get(&cfg);
	if (err)
		return err;
	if (cfg->host_budget)
		*budget = cfg->host_budget;
	else
		*budget = (uint64_t)((double)avail * cfg->host_budget_pct / 100.0);
	return 0;
}
