/*
 * stats.h - a process's counters in shared memory, for pagerstat (internal
 * writer side; the segment layout is shared with tools/pagerstat).
 *
 * Each process using libgpupager creates /dev/shm/gpupager.<pid> (mode
 * 0600, owner only) when its first pager opens and unlinks it when the last
 * closes.  The counters are 64-bit atomics updated with relaxed stores;
 * readers copy the segment and check `seq` is even and unchanged around
 * the copy of the non-counter fields (names, groups), which change rarely.
 * A segment whose pid is gone is stale: pagerstat ignores it (and removes
 * it with --clean).
 */
#ifndef GP_PAGER_STATS_H
#define GP_PAGER_STATS_H

#include <stdint.h>

#define GP_STATS_MAGIC 0x5453504755504750ull    /* "GPUPGPST" little-endian-ish tag */
#define GP_STATS_VERSION 1
#define GP_STATS_NAME_FMT "/gpupager.%d"     /* shm_open name for a pid */
#define GP_STATS_MAX_MODELS 8
#define GP_STATS_MAX_GROUPS 1024             /* per model; later groups are summed into the last */
#define GP_STATS_NAME_LEN 64

enum gp_stat_counter {
	GP_STAT_HITS,                   /* group/range acquires with every chunk resident */
	GP_STAT_MISSES,                 /* acquires that had to load at least one chunk */
	GP_STAT_CHUNK_HITS,
	GP_STAT_CHUNK_MISSES,
	GP_STAT_BYTES_DISK,             /* file -> host slots */
	GP_STAT_BYTES_H2D,              /* host slots -> device */
	GP_STAT_BYTES_D2H,              /* device -> host (dirty write-back, offload) */
	GP_STAT_HOST_HITS,              /* chunk loads served from a host slot */
	GP_STAT_DEV_EVICTIONS,          /* device chunks unmapped */
	GP_STAT_HOST_EVICTIONS,         /* host slots dropped */
	GP_STAT_PREFETCH_ISSUED,        /* chunks loaded ahead of use */
	GP_STAT_PREFETCH_HITS,          /* prefetched chunks used before eviction */
	GP_STAT_PREFETCH_WASTED,        /* prefetched chunks evicted unused */
	GP_STAT_STALL_NS,               /* time acquires waited on the host for data */
	GP_STAT_ALLOC_RETRIES,          /* allocations retried after evicting weights */
	GP_STAT_VRAM_USED,              /* gauges: bytes now */
	GP_STAT_VRAM_BUDGET,
	GP_STAT_HOST_USED,
	GP_STAT_HOST_BUDGET,
	GP_STAT_COUNT
};

struct gp_stats_model {
	char name[GP_STATS_NAME_LEN];   /* the model's path, cut from the left */
	uint32_t n_groups;
	uint32_t chunk_size_kib;
	/* Per group: chunks in the group, and chunks resident now (atomic). */
	uint32_t group_chunks[GP_STATS_MAX_GROUPS];
	uint32_t group_resident[GP_STATS_MAX_GROUPS];
};

struct gp_stats_segment {
	uint64_t magic;
	uint32_t version;
	uint32_t size;                  /* sizeof(struct gp_stats_segment) */
	int32_t pid;
	uint32_t seq;                   /* odd while names/groups are being changed */
	uint64_t start_unix_ns;
	char device[64];                /* "NVIDIA H200" or "gpupager simulated device (no GPU)" */
	char policy[16];
	uint64_t counters[GP_STAT_COUNT];
	uint32_t n_models;
	uint32_t pad;
	struct gp_stats_model models[GP_STATS_MAX_MODELS];
};

struct gp_stats;        /* the writer's handle: the segment, or process-local memory */

/*
 * Create (or attach to this process's existing) segment; counts users.
 * When shared memory cannot be created, falls back to process-local
 * memory and logs it: stats still work through the API, not pagerstat.
 */
int gp_stats_open(struct gp_stats **out);
void gp_stats_close(struct gp_stats *stats);
struct gp_stats_segment *gp_stats_segment(struct gp_stats *stats);

void gp_stats_add(struct gp_stats *stats, enum gp_stat_counter c, uint64_t n);
void gp_stats_set(struct gp_stats *stats, enum gp_stat_counter c, uint64_t value);
uint64_t gp_stats_get(struct gp_stats *stats, enum gp_stat_counter c);

/* Register a model's groups; returns its slot (or -1 when all are used: not shown). */
int gp_stats_model_add(struct gp_stats *stats, const char *name, uint32_t n_groups,
		       const uint32_t *group_chunks, uint64_t chunk_size);
void gp_stats_model_remove(struct gp_stats *stats, int slot);
/* Add delta (may be negative) to a group's resident chunk count. */
void gp_stats_group_resident(struct gp_stats *stats, int slot, uint32_t group, int delta);

void gp_stats_set_device(struct gp_stats *stats, const char *device, const char *policy);

/* Reader side (pagerstat, tests): map pid's segment read-only; GP_ENOENT if none. */
int gp_stats_attach(int pid, const struct gp_stats_segment **seg);
void gp_stats_detach(const struct gp_stats_segment *seg);
/* Name of counter c as shown by pagerstat --json ("hits", "bytes_h2d", ...). */
const char *gp_stat_counter_name(enum gp_stat_counter c);

#endif
