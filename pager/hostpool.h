/*
 * hostpool.h - the host tier: a pool of pinned, NUMA-local host slots
 * caching chunks of model data (internal).
 *
 * The pool's memory is allocated once at open on the GPU's NUMA node
 * (libnuma), first-touched, registered with the driver (cuMemHostRegister)
 * and with the reader (gp_io_register_memory): pinning never happens on a
 * hot path.  Every slot has the same size (the pager's chunk size) and
 * GP_HOST_SLOT_ROOM bytes of memory past it, so a chunk can sit in its slot
 * at the offset its file bytes have modulo GP_IO_PLACE_ALIGN (io.h): read
 * with O_DIRECT straight into the slot however the file is aligned.
 *
 * A slot caches one key (owner, index): an owner is a model (or a host
 * view) and index its chunk number.  The pool is a cache with states
 * per slot:
 *
 *   FREE -> FILLING (one caller loads it; others asking for the key wait)
 *        -> READY (clean: may be dropped when unpinned, the file is the
 *                  backing store;  dirty: never dropped, only written back
 *                  and cleaned by its owner)
 *
 * Callers pin a slot while they use its memory (gp_host_pool_get pins,
 * gp_host_pool_put unpins).  When no slot is free, the least recently used
 * clean unpinned slot is evicted (its owner's evict callback runs first).
 * Thread-safe.
 */
#ifndef GP_PAGER_HOSTPOOL_H
#define GP_PAGER_HOSTPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Memory of every slot past the slot size (not counted in the budget); slots start page aligned. */
#define GP_HOST_SLOT_ROOM 4096u

struct gp_gpu;
struct gp_io;
struct gp_host_pool;

struct gp_host_pool_opts {
	uint64_t budget;        /* bytes; 0: from GPUPAGER_HOST_BUDGET (default: a safe share of MemAvailable) */
	uint64_t slot_size;     /* bytes, a multiple of the page size */
	int numa_node;          /* -1: no placement (the GPU's node comes from gp_gpu) */
	struct gp_gpu *gpu;     /* register with the driver; NULL: plain host memory */
	struct gp_io *io;       /* register as the reader's fixed buffers; NULL: not */
};

/*
 * Allocate, place, touch and register the pool.  A budget larger than the
 * machine can give fails up front with GP_EHOSTMEM and the message
 * "insufficient host memory: need 64.0 GiB, available 21.3 GiB (MemAvailable);
 * set GPUPAGER_HOST_BUDGET lower", never an OOM kill later.  A budget
 * smaller than one slot is GP_EINVAL.
 */
int gp_host_pool_open(const struct gp_host_pool_opts *opts, struct gp_host_pool **out);
/* Free the pool; slots must be unpinned (leftovers are logged). */
void gp_host_pool_close(struct gp_host_pool *pool);

uint64_t gp_host_pool_slot_size(const struct gp_host_pool *pool);
uint32_t gp_host_pool_slot_count(const struct gp_host_pool *pool);
/* The memory of slot i: slot size + GP_HOST_SLOT_ROOM bytes (valid for the pool's life). */
void *gp_host_pool_slot_addr(const struct gp_host_pool *pool, uint32_t slot);

/*
 * Owners: evict(ctx, index) is called (pool lock not held, the slot still
 * holding the data) before a clean slot of this owner is reused, so a host
 * view can unmap it.  evict may be NULL.
 */
typedef void (*gp_host_evict_fn)(void *ctx, uint64_t index);
int gp_host_pool_owner_add(struct gp_host_pool *pool, gp_host_evict_fn evict, void *ctx,
			   uint32_t *owner);
/* Drop every slot of owner (they must be unpinned; dirty ones are dropped too) and forget it. */
void gp_host_pool_owner_remove(struct gp_host_pool *pool, uint32_t owner);

/*
 * Find or allocate the slot for (owner, index) and pin it.
 *   *fresh = true:  the caller must fill the slot, then call
 *                   gp_host_pool_filled(pool, slot, 0) (or an error code,
 *                   which frees the slot and fails the waiters with it);
 *   *fresh = false: the slot holds the data (the call waited if another
 *                   thread was filling it).
 * GP_EHOSTMEM when every slot is pinned or dirty ("host slot pool
 * exhausted: N slots of X pinned or dirty").
 */
int gp_host_pool_get(struct gp_host_pool *pool, uint32_t owner, uint64_t index,
		     uint32_t *slot, bool *fresh);
/* Pin the slot only if (owner, index) is cached and READY; GP_ENOENT otherwise. */
int gp_host_pool_lookup(struct gp_host_pool *pool, uint32_t owner, uint64_t index,
			uint32_t *slot);
void gp_host_pool_filled(struct gp_host_pool *pool, uint32_t slot, int status);
/* Forget (owner, index), dirty or not: its data is no longer wanted (freed app memory). */
void gp_host_pool_drop(struct gp_host_pool *pool, uint32_t owner, uint64_t index);
void gp_host_pool_put(struct gp_host_pool *pool, uint32_t slot);

/* A dirty slot is never evicted; its owner cleans it after writing it back (or keeping it). */
void gp_host_pool_set_dirty(struct gp_host_pool *pool, uint32_t slot, bool dirty);
/* Keep a READY slot from eviction (offloaded models) without pinning it. */
void gp_host_pool_set_kept(struct gp_host_pool *pool, uint32_t slot, bool kept);

struct gp_host_pool_stats {
	uint64_t capacity;      /* bytes in the pool */
	uint64_t used;          /* bytes in FILLING/READY slots */
	uint64_t pinned;        /* bytes in slots pinned now */
	uint64_t dirty;         /* bytes in dirty slots */
	uint64_t hits;          /* get/lookup that found the key */
	uint64_t misses;        /* get that allocated a fresh slot */
	uint64_t evictions;     /* clean slots dropped to make room */
	bool registered;        /* with the driver */
	int numa_node;          /* where the memory was placed, -1: not placed */
};
void gp_host_pool_get_stats(struct gp_host_pool *pool, struct gp_host_pool_stats *out);

/*
 * The default budget for this machine: GPUPAGER_HOST_BUDGET when set
 * (size, or percent of MemAvailable), else half of MemAvailable.
 * mem_available reports MemAvailable (may be NULL).
 */
int gp_host_budget_default(uint64_t *budget, uint64_t *mem_available);

#endif
