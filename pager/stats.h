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
#define GP_STATS_VERSION 2
#define GP_STATS_NAME_FMT "/gpupager.%d"     /* shm_open name for a pid */
#define GP_STATS_MAX_MODELS 8
#define GP_STATS_MAX_GROUPS 1024             /* per model; later groups are summed into the last */
#define GP_STATS_NAME_LEN 64

/*
 * The counters: X(ENUM, name as pagerstat --json prints it, meaning).  One
 * list for the enum, the names and the segment's layout.
 */
#define GP_STAT_COUNTER_LIST(X) \
	X(HITS, hits, "group/range acquires with every chunk resident") \
	X(MISSES, misses, "acquires that had to load at least one chunk") \
	X(CHUNK_HITS, chunk_hits, "chunks found resident by an acquire") \
	X(CHUNK_MISSES, chunk_misses, "chunks an acquire had to load") \
	X(BYTES_DISK, bytes_disk, "file -> host slots") \
	X(BYTES_H2D, bytes_h2d, "host slots -> device") \
	X(BYTES_D2H, bytes_d2h, "device -> host (dirty write-back, offload)") \
	X(HOST_HITS, host_hits, "chunk loads served from a host slot") \
	X(DEV_EVICTIONS, dev_evictions, "device chunks unmapped") \
	X(HOST_EVICTIONS, host_evictions, "host slots dropped") \
	X(PREFETCH_ISSUED, prefetch_issued, "chunks loaded ahead of use") \
	X(PREFETCH_HITS, prefetch_hits, "prefetched chunks used before eviction") \
	X(PREFETCH_WASTED, prefetch_wasted, "prefetched chunks evicted unused") \
	X(STALL_NS, stall_ns, "time acquires waited on the host for data") \
	X(ALLOC_RETRIES, alloc_retries, "allocations retried after evicting weights") \
	X(VRAM_USED, vram_used, "gauge: device bytes held now") \
	X(VRAM_BUDGET, vram_budget, "gauge: device budget") \
	X(HOST_USED, host_used, "gauge: host slot bytes held now") \
	X(HOST_BUDGET, host_budget, "gauge: host budget") \
	X(WEIGHTS_DROPPED, weights_dropped, "file-backed heap chunks evicted without a copy") \
	X(WEIGHTS_WRITTEN, weights_written, "file-backed heap chunks found written: swapped")

#define GP_STAT_ENUM_ROW(id, name, doc) GP_STAT_##id,
enum gp_stat_counter {
	GP_STAT_COUNTER_LIST(GP_STAT_ENUM_ROW)
	GP_STAT_COUNT
};
#undef GP_STAT_ENUM_ROW

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

/*
 * A writer's handle (one per pager): its own counters, and the process's
 * segment (or process-local memory) that every handle adds to as well.
 */
struct gp_stats;

/*
 * A new handle on this process's segment, created when it is the first;
 * counts users.  When shared memory cannot be created, falls back to
 * process-local memory and logs it: stats still work through the API, not
 * pagerstat.
 */
int gp_stats_open(struct gp_stats **out);
void gp_stats_close(struct gp_stats *stats);
struct gp_stats_segment *gp_stats_segment(struct gp_stats *stats);

/* Add to the handle's counter and the process's; set both; get the handle's. */
void gp_stats_add(struct gp_stats *stats, enum gp_stat_counter c, uint64_t n);
void gp_stats_set(struct gp_stats *stats, enum gp_stat_counter c, uint64_t value);
uint64_t gp_stats_get(struct gp_stats *stats, enum gp_stat_counter c);
/* The process's counters (every handle's sum); GP_ENOENT when no handle is open. */
int gp_stats_process_counters(uint64_t out[GP_STAT_COUNT]);

/* Register a model's groups; returns its slot (or -1 when all are used: not shown). */
int gp_stats_model_add(struct gp_stats *stats, const char *name, uint32_t n_groups,
		       const uint32_t *group_chunks, uint64_t chunk_size);
void gp_stats_model_remove(struct gp_stats *stats, int slot);
/* Add delta (may be negative) to a group's resident chunk count. */
void gp_stats_group_resident(struct gp_stats *stats, int slot, uint32_t group, int delta);
/* The model in slot has new groups (a heap regrouped): their chunks and resident chunks. */
void gp_stats_model_regroup(struct gp_stats *stats, int slot, uint32_t n_groups,
			    const uint32_t *group_chunks, const uint32_t *group_resident);

void gp_stats_set_device(struct gp_stats *stats, const char *device, const char *policy);

/* Reader side (pagerstat, tests): map pid's segment read-only; GP_ENOENT if none. */
int gp_stats_attach(int pid, const struct gp_stats_segment **seg);
void gp_stats_detach(const struct gp_stats_segment *seg);
/* Name of counter c as shown by pagerstat --json ("hits", "bytes_h2d", ...). */
const char *gp_stat_counter_name(enum gp_stat_counter c);

#endif
