/* stats_names.c - the counters' names, as pagerstat --json prints them. */
#include "stats.h"

static const char *const counter_names[GP_STAT_COUNT] = {
	[GP_STAT_HITS] = "hits",
	[GP_STAT_MISSES] = "misses",
	[GP_STAT_CHUNK_HITS] = "chunk_hits",
	[GP_STAT_CHUNK_MISSES] = "chunk_misses",
	[GP_STAT_BYTES_DISK] = "bytes_disk",
	[GP_STAT_BYTES_H2D] = "bytes_h2d",
	[GP_STAT_BYTES_D2H] = "bytes_d2h",
	[GP_STAT_HOST_HITS] = "host_hits",
	[GP_STAT_DEV_EVICTIONS] = "dev_evictions",
	[GP_STAT_HOST_EVICTIONS] = "host_evictions",
	[GP_STAT_PREFETCH_ISSUED] = "prefetch_issued",
	[GP_STAT_PREFETCH_HITS] = "prefetch_hits",
	[GP_STAT_PREFETCH_WASTED] = "prefetch_wasted",
	[GP_STAT_STALL_NS] = "stall_ns",
	[GP_STAT_ALLOC_RETRIES] = "alloc_retries",
	[GP_STAT_VRAM_USED] = "vram_used",
	[GP_STAT_VRAM_BUDGET] = "vram_budget",
	[GP_STAT_HOST_USED] = "host_used",
	[GP_STAT_HOST_BUDGET] = "host_budget",
};

const char *gp_stat_counter_name(enum gp_stat_counter c)
{
	if ((unsigned)c >= GP_STAT_COUNT || !counter_names[c])
		return "unknown";
	return counter_names[c];
}
