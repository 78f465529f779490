/* pstats.c - the pager's counters through the API, and the one-line summary. */
#include <stdio.h>
#include <string.h>

#include "error.h"
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

GP_API int gp_pager_get_stats(struct gp_pager *p, struct gp_pager_stats *out)
{
	if (!p || !out)
		return gp_fail(GP_EINVAL, "gp_pager_get_stats: NULL argument");
	gp_pager_stats_gauges(p);
	memset(out, 0, sizeof(*out));
	out->hits = gp_stats_get(p->stats, GP_STAT_HITS);
	out->misses = gp_stats_get(p->stats, GP_STAT_MISSES);
	out->chunk_hits = gp_stats_get(p->stats, GP_STAT_CHUNK_HITS);
	out->chunk_misses = gp_stats_get(p->stats, GP_STAT_CHUNK_MISSES);
	out->bytes_disk = gp_stats_get(p->stats, GP_STAT_BYTES_DISK);
	out->bytes_h2d = gp_stats_get(p->stats, GP_STAT_BYTES_H2D);
	out->bytes_d2h = gp_stats_get(p->stats, GP_STAT_BYTES_D2H);
	out->host_hits = gp_stats_get(p->stats, GP_STAT_HOST_HITS);
	out->dev_evictions = gp_stats_get(p->stats, GP_STAT_DEV_EVICTIONS);
	out->host_evictions = p->gauges[4];
	out->prefetch_issued = gp_stats_get(p->stats, GP_STAT_PREFETCH_ISSUED);
	out->prefetch_hits = gp_stats_get(p->stats, GP_STAT_PREFETCH_HITS);
	out->prefetch_wasted = gp_stats_get(p->stats, GP_STAT_PREFETCH_WASTED);
	out->stall_ns = gp_stats_get(p->stats, GP_STAT_STALL_NS);
	/* Memory is this pager's own; the counters above are the process's. */
	out->vram_used = p->gauges[0];
	out->vram_budget = p->gauges[1];
	out->host_used = p->gauges[2];
	out->host_budget = p->gauges[3];
	return 0;
}

static double gib(uint64_t bytes)
{
	return (double)bytes / (double)(1ull << 30);
}

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

GP_API int gp_pager_stats_line(struct gp_pager *p, char *buf, size_t len)
{
	struct gp_pager_stats s;
	int err = gp_pager_get_stats(p, &s);

	if (err)
		return err;
	return snprintf(buf, len, "VRAM %.1f/%.1f GiB, host %.1f/%.1f GiB, hit %.1f%%, "
			"prefetch %.1f%%, stall %.2f s", gib(s.vram_used), gib(s.vram_budget),
			gib(s.host_used), gib(s.host_budget),
			percent(s.hits, s.hits + s.misses),
			percent(s.prefetch_hits, s.prefetch_issued), (double)s.stall_ns / 1e9);
}
