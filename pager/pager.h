/*
 * pager.h - the engine's internal state (see include/gpupager.h for the API).
 *
 *   pager.c       open/close: driver, device, chunk pool, host pool, reader, stats
 *   pmodel.c      models: open/close, lookups, the chunk table, chunk -> file pieces
 *   heap.c        anonymous models: app memory the pager may swap to the host tier
 *   residency.c   making chunks resident (file -> host slot -> device) and evicting them
 *   prefetch.c    the background worker that loads what the policy expects next
 *   acquire.c     acquire/release of groups, tensors and ranges; hints
 *   offload.c     whole-model offload to the host tier and restore
 *   peer.c        other devices granted access to the pager's memory
 *   pstats.c      gp_pager_get_stats, the one-line summary
 *   trace.c       the access trace
 *
 * Locking: one mutex per pager (pager->lock) guards every chunk table, the
 * free chunk list, the policies and the device memory backend.  File reads
 * run without it (a chunk being loaded is LOADING and pinned by the loader);
 * copies and unmaps are queued under it.
 */
#ifndef GP_PAGER_PAGER_H
#define GP_PAGER_PAGER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "devmem.h"
#include "gpu.h"
#include "gpupager.h"
#include "hostpool.h"
#include "io.h"
#include "model.h"
#include "policy.h"
#include "stats.h"

enum gp_chunk_state {
	GP_CHUNK_ABSENT,        /* no device memory behind it */
	GP_CHUNK_LOADING,       /* a thread is reading it in; wait on pager->changed */
	GP_CHUNK_RESIDENT,      /* mapped; its copy is queued (ready event) or done */
	GP_CHUNK_EVICTING,      /* being evicted, waiting for the GPU without the lock */
};

#define GP_PAGER_GAUGES 5

struct gp_chunk {
	uint8_t state;          /* enum gp_chunk_state */
	bool dirty;             /* written by the app since loaded */
	bool prefetched;        /* loaded ahead and not used yet */
	uint32_t users;         /* acquires not yet released */
	struct gp_dev_chunk *phys;
	CUevent ready;          /* recorded on the copy stream after its H2D copy */
	CUevent last_use;       /* recorded on the releasing stream */
	bool last_use_set;
	bool other_use_pending; /* last_use is a release made while other users still held it */
	CUstream last_use_stream;       /* where last_use was recorded */
	uint64_t ready_seq;     /* order of its copy on the copy stream */
};

struct gp_model {
	struct gp_pager *pager;
	struct gp_model *next;          /* in pager->models */
	struct gp_model_desc *desc;
	struct gp_dev_range *range;
	struct gp_policy *policy;
	struct gp_io_file **files;      /* [desc->n_files] */
	uint32_t host_owner;            /* key owner in the host pool */
	bool has_owner;
	int stats_slot;
	uint32_t n_chunks;
	struct gp_chunk *chunks;
	uint32_t *chunk_group;          /* [n_chunks] group of each chunk */
	uint32_t *first_tensor;         /* [n_chunks] first tensor (in by_offset order) overlapping it */
	uint32_t *by_offset;            /* tensor indices sorted by range_offset */
	uint32_t *by_name;              /* tensor indices sorted by name */
	uint32_t *group_first_chunk;    /* [n_groups] */
	uint32_t *group_chunk_count;
	int64_t *group_block_index;
	bool *done_hint;                /* [n_groups] gp_hint_done since the last acquire */
	char *offload_key;              /* set while offloaded */
	struct gp_verify *verify;       /* verify.c: result words and file checksums, or NULL */
	struct gp_heap_back *back;      /* heap_back.c: a heap's file-backed chunks, or NULL */
	uint64_t trace_gen;             /* trace.c: the trace that has its layout (0: none) */
	uint32_t trace_id;              /* its model number in that trace */
};

struct gp_pager {
	pthread_mutex_t lock;
	pthread_cond_t changed;         /* a chunk left LOADING */
	struct gp_config cfg;
	struct gp_gpu *gpu;
	struct gp_devmem *dm;
	struct gp_host_pool *host;
	struct gp_io *io;
	struct gp_stats *stats;
	CUstream copy_stream;           /* H2D and D2H copies */
	CUstream own_stream;            /* acquires with a NULL stream */
	uint64_t chunk_size;
	uint64_t vram_budget;           /* bytes the chunk pool may grow to */
	uint64_t max_chunks;            /* vram_budget / chunk_size, lowered on device OOM */
	uint64_t n_created;             /* physical chunks created and not released */
	uint64_t free_cap;              /* trim.c: free_chunks' slots (0: max_chunks, never raised) */
	uint64_t copy_seq;              /* copies queued on copy_stream so far */
	uint64_t copy_done_seq;         /* copies up to this one are known complete */
	struct gp_dev_chunk **free_chunks;
	uint64_t n_free;
	struct gp_model *models;
	struct gp_alloc *allocs;        /* gp_pager_alloc'd ranges */
	uint64_t host_kept;             /* host slots kept for offloaded models */
	bool load_all;
	char *swap_blocks;              /* copied from the options or GPUPAGER_SWAP_BLOCKS */
	char *driver_path;              /* copied from the options; NULL: the configured one */
	char *plan_path;                /* copied from the options or GPUPAGER_PLAN, or NULL */
	struct gp_plan *plan;           /* read at open from plan_path: the plan policy's */
	/* prefetch worker */
	pthread_t prefetch_thread;
	bool prefetch_running;
	bool prefetch_stop;
	pthread_cond_t prefetch_wake;
	struct gp_model *prefetch_model;        /* latest request: model and groups */
	uint32_t prefetch_groups[8];
	size_t n_prefetch;
	struct gp_model *prefetch_current;      /* the model being loaded now */
	/* what this pager last added to the segment's gauges (pstats.c) */
	uint64_t gauges[GP_PAGER_GAUGES];
	/* trace */
	FILE *trace;
	uint64_t trace_start_ns;
	uint64_t trace_gen;             /* traces started so far (models compare theirs) */
	uint32_t trace_models;          /* models declared in the current trace */
	uint64_t trace_last_ns;         /* time of its last line, never decreasing */
	/* pinfo.c: measured rates and the checksum kernels, made on first use */
	struct gp_pinfo *pinfo;
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t gp_now_ns(void);

/*
 * pmodel.c: give a described model (m->pager and m->desc set) its chunk
 * table, files, policy, host slots, device range and stats slot; on
 * failure gp_model_close(m) undoes what was done.
 */
int gp_model_attach(struct gp_model *m);

/* pmodel_info.c: index of the tensor called name, or -1. */
int gp_model_tensor_index(const struct gp_model *m, const char *name);

/*
 * acquire.c: acquire/release on exactly stream (0 is the legacy default
 * stream, CU_STREAM_PER_THREAD the thread's), never waiting on the host:
 * the shim's form of gp_acquire_range/gp_release_range (lock not held).
 */
int gp_acquire_range_on(struct gp_model *m, uint64_t offset, uint64_t len, enum gp_access access,
			CUstream stream);
int gp_release_range_on(struct gp_model *m, uint64_t offset, uint64_t len, CUstream stream);

/* residency.c (pager->lock held unless noted) */

/*
 * Make chunks [first, first + count) of m resident for use: pins them
 * (users++) when pin is set, loads absent ones (drops the lock while
 * reading files), and waits for chunks other threads are loading.  On
 * failure nothing stays pinned.
 */
int gp_res_load(struct gp_model *m, uint32_t first, uint32_t count, bool pin, bool prefetch);
/* Give back the pins gp_res_load took on chunks [first, first + count). */
void gp_res_unpin(struct gp_model *m, uint32_t first, uint32_t count);
/*
 * A physical chunk: free, newly created within the budget, or evicted
 * (from m's policy first; on demand only, from any model).  m may be NULL
 * (an allocation).  A prefetch (m set) gets GP_EBUSY rather than evicting
 * something needed before for_chunk.
 */
int gp_res_take_chunk(struct gp_pager *p, struct gp_model *m, uint32_t for_chunk, bool prefetch,
		      struct gp_dev_chunk **out);
/*
 * Evict one chunk of m now: waits for its last use (dropping the lock while
 * the GPU is still on it), writes it back if dirty, unmaps it.
 */
int gp_res_evict(struct gp_model *m, uint32_t chunk);
/*
 * Forget chunk of m (freed app memory): waits for its last use, unmaps it
 * without writing it back and drops its host slot.  Not an eviction.
 */
int gp_res_discard(struct gp_model *m, uint32_t chunk);
/*
 * Copy resident chunk to its host slot (waiting for its last use); dirty
 * marks the slot dirty (never dropped), keep keeps it from eviction.
 */
int gp_res_copy_to_host(struct gp_model *m, uint32_t chunk, bool dirty, bool keep);
/* Pinned host slots holding chunks list[0..n) (files read without the lock; call it unlocked). */
int gp_res_fill_host(struct gp_model *m, const uint32_t *list, uint32_t *slots, size_t n);

/* residency.c: m's chunks as the decision (decide.h) sees them. */
struct gp_decide_model;
void gp_res_decide_model(struct gp_model *m, struct gp_decide_model *out);

/*
 * trim.c (lock held): while the pool holds more chunks than the budget
 * (a budget lowered while chunks were held), release free chunks; with
 * evict, also evict and release one weight chunk not in use (a demand
 * load's share of the shrinking; it may drop the lock).
 */
void gp_trim_excess(struct gp_pager *p, bool evict);

/* offload.c: the model is used again: its host slots need not be kept (lock held). */
void gp_offload_forget(struct gp_model *m);

/* alloc.c: free every allocation (pager close, lock not needed). */
void gp_alloc_free_all(struct gp_pager *p);

/* prefetch.c */
int gp_prefetch_start(struct gp_pager *p);
void gp_prefetch_stop(struct gp_pager *p);
/* Queue groups of m for loading (replaces the previous request). */
void gp_prefetch_request(struct gp_model *m, const uint32_t *groups, size_t n);
/* Forget requests for m and wait until no prefetch load of m runs (lock held). */
void gp_prefetch_forget(struct gp_model *m);

/* peer.c: kernels on device (a CUDA ordinal) may use every model's memory from now on. */
int gp_pager_grant_peer(struct gp_pager *p, int device);
/*
 * Time group's compute for auto's cost model: a stream callback stamps when
 * the GPU reaches the acquire (end false: call after it) or the release
 * (end true: call before its events are recorded); each acquire first gives
 * the policy the previous use's time and the link.  Lock not held.
 */
void gp_prefetch_time_group(struct gp_model *m, uint32_t group, CUstream s, bool end);

/* trace.c (lock held): one acquire or release of group's chunks [first, first + count). */
struct gp_trace_acq {
	uint32_t loaded;                /* chunks of the group that were absent */
	uint64_t h2d_bytes, disk_bytes; /* moved for the whole acquire (0 on a release) */
};
void gp_trace_access(struct gp_model *m, uint32_t group, uint32_t first, uint32_t count,
		     const void *stream, const struct gp_trace_acq *acq);

/* pinfo.c: the kernels (loaded on first use) and the stream a NULL gp_stream_t means. */
struct gp_kernels;
int gp_pinfo_kernels(struct gp_pager *p, struct gp_kernels **out);
void gp_pinfo_close(struct gp_pager *p);
CUstream gp_pager_user_stream(struct gp_pager *p, gp_stream_t stream);

/* verify.c: free a model's verification state (model close). */
void gp_verify_free(struct gp_model *m);

/* pstats.c: publish this pager's memory gauges to the segment / take them back at close. */
void gp_pager_stats_gauges(struct gp_pager *p);
void gp_pager_stats_withdraw(struct gp_pager *p);

#endif
