/* pstats.c - the pager's counters through the API, and the one-line summary. */
#include <stdio.h>
#include <string.h>

#include "abi.h"
#include "error.h"
#include "format.h"
#include "pager.h"

/* The gauges this pager adds to its process's segment (several pagers share it). */
static const enum gp_stat_counter gauges[GP_PAGER_GAUGES] = {
	GP_STAT_VRAM_USED, GP_STAT_VRAM_BUDGET, GP_STAT_HOST_USED, GP_STAT_HOST_BUDGET,
	GP_STAT_HOST_EVICTIONS,
};

static void own_gauges(struct gp_pager *p, uint64_t v[GP_PAGER_GAUGES])
{
	struct gp_host_pool_stats hs = { 0 };

	if (p->host)
		gp_host_pool_get_stats(p->host, &hs);
	v[0] = p->n_created * p->chunk_size;
	v[1] = p->vram_budget;
	v[2] = hs.used;
	v[3] = hs.capacity;
	v[4] = hs.evictions;
}

/* Move the segment's gauges by what changed here since the last call (unsigned wrap-around subtracts). */
static void publish(struct gp_pager *p, const uint64_t v[GP_PAGER_GAUGES])
{
	for (int i = 0; i < GP_PAGER_GAUGES; i++) {
		gp_stats_add(p->stats, gauges[i], v[i] - p->gauges[i]);
		p->gauges[i] = v[i];
	}
}

void gp_pager_stats_gauges(struct gp_pager *p)
{
	uint64_t v[GP_PAGER_GAUGES];

	own_gauges(p, v);
	publish(p, v);
}

void gp_pager_stats_withdraw(struct gp_pager *p)
{
	const uint64_t zero[GP_PAGER_GAUGES] = { 0 };

	publish(p, zero);
}

/* The public struct from a counter array (the gauges included). */
static int stats_out(const uint64_t v[GP_STAT_COUNT], struct gp_pager_stats *out,
		     const char *what)
{
	struct gp_pager_stats full = {
		.struct_size = sizeof(full),
		.hits = v[GP_STAT_HITS],
		.misses = v[GP_STAT_MISSES],
		.chunk_hits = v[GP_STAT_CHUNK_HITS],
		.chunk_misses = v[GP_STAT_CHUNK_MISSES],
		.bytes_disk = v[GP_STAT_BYTES_DISK],
		.bytes_h2d = v[GP_STAT_BYTES_H2D],
		.bytes_d2h = v[GP_STAT_BYTES_D2H],
		.host_hits = v[GP_STAT_HOST_HITS],
		.dev_evictions = v[GP_STAT_DEV_EVICTIONS],
		.host_evictions = v[GP_STAT_HOST_EVICTIONS],
		.prefetch_issued = v[GP_STAT_PREFETCH_ISSUED],
		.prefetch_hits = v[GP_STAT_PREFETCH_HITS],
		.prefetch_wasted = v[GP_STAT_PREFETCH_WASTED],
		.stall_ns = v[GP_STAT_STALL_NS],
		.vram_used = v[GP_STAT_VRAM_USED],
		.vram_budget = v[GP_STAT_VRAM_BUDGET],
		.host_used = v[GP_STAT_HOST_USED],
		.host_budget = v[GP_STAT_HOST_BUDGET],
		.weights_dropped = v[GP_STAT_WEIGHTS_DROPPED],
		.weights_written = v[GP_STAT_WEIGHTS_WRITTEN],
	};

	return gp_abi_out(out, &full, sizeof(full), GP_ABI_V1(struct gp_pager_stats, host_budget),
			  what);
}

GP_API int gp_pager_get_stats(struct gp_pager *p, struct gp_pager_stats *out)
{
	uint64_t v[GP_STAT_COUNT];

	if (!p || !out)
		return gp_fail(GP_EINVAL, "gp_pager_get_stats: NULL argument");
	/* The gauges move under the pager's lock, as the engine moves them. */
	pthread_mutex_lock(&p->lock);
	gp_pager_stats_gauges(p);
	for (int c = 0; c < GP_STAT_COUNT; c++)
		v[c] = gp_stats_get(p->stats, c);
	pthread_mutex_unlock(&p->lock);
	return stats_out(v, out, "gp_pager_get_stats");
}

GP_API int gp_process_get_stats(struct gp_pager_stats *out)
{
	uint64_t v[GP_STAT_COUNT];
	int err;

	if (!out)
		return gp_fail(GP_EINVAL, "gp_process_get_stats: NULL argument");
	err = gp_stats_process_counters(v);
	return err ? err : stats_out(v, out, "gp_process_get_stats");
}

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

GP_API int gp_pager_stats_line(struct gp_pager *p, char *buf, size_t len)
{
	struct gp_pager_stats s = { .struct_size = sizeof(s) };
	char vu[32], vb[32], hu[32], hb[32];
	int err = gp_pager_get_stats(p, &s);

	if (err)
		return err;
	/* Sizes in the unit that suits each (a simulated device's budget is MiB). */
	return snprintf(buf, len, "VRAM %s/%s, host %s/%s, hit %.1f%%, prefetch %.1f%%, "
			"stall %.2f s", gp_format_size_prec(s.vram_used, 1, vu, sizeof(vu)),
			gp_format_size_prec(s.vram_budget, 1, vb, sizeof(vb)),
			gp_format_size_prec(s.host_used, 1, hu, sizeof(hu)),
			gp_format_size_prec(s.host_budget, 1, hb, sizeof(hb)),
			percent(s.hits, s.hits + s.misses),
			percent(s.prefetch_hits, s.prefetch_issued), (double)s.stall_ns / 1e9);
}
