/*
 * heap_alloc.c - the app's allocations carved out of the heap's address
 * range.  Like the driver's own allocator, small allocations (up to half a
 * chunk) are packed into shared chunks in 512-byte units, so a thousand
 * 100 KiB buffers use about fifty 2 MiB chunks, not a thousand; larger
 * ones get whole chunks of their own.  A chunk no live allocation touches
 * is discarded (gp_heap_discard: nothing written back) and free again.
 *
 * With GPUPAGER_SHIM_EVICT=none each allocation holds its chunks acquired
 * from allocation to free, so nothing is evicted and the budget bounds
 * what the app may allocate.
 *
 * Each device's engine has its own tables, guarded by one lock.  The lock
 * is held across a discard, which waits for the GPU's last use of the
 * chunk, so a chunk is never handed out again while its old contents are
 * still being dropped.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "heap.h"
#include "log.h"
#include "pager.h"
#include "shim.h"

#define UNIT 512u               /* the driver's cuMemAlloc alignment is at least 256 */

enum chunk_kind { CHUNK_FREE, CHUNK_LARGE, CHUNK_SMALL };

struct pending_free {
	uint64_t addr;
	CUevent event;
};

struct heap_state {
	pthread_mutex_t lock;
	bool ready;
	uint32_t n_chunks, units_per_chunk;
	uint8_t *kind;                  /* [n_chunks] enum chunk_kind */
	uint32_t *users;                /* [n_chunks] live allocations touching it */
	uint64_t **unit_map;            /* [n_chunks] SMALL: bitmap of used units */
	uint32_t next_fit;              /* where the search for free chunks resumes */
	uint32_t small_cursor;          /* the chunk of the latest small allocation */
	struct shim_alloc *allocs;      /* sorted by addr */
	size_t n_allocs, cap_allocs;
	uint64_t used;
	struct pending_free *pending;
	size_t n_pending, cap_pending;
};

/* One per device's engine (e->device); the locks are made in heaps_init. */
static struct heap_state heaps[SHIM_MAX_DEVICES];
static pthread_once_t heaps_once = PTHREAD_ONCE_INIT;

static void heaps_init(void)
{
	for (int i = 0; i < SHIM_MAX_DEVICES; i++)
		pthread_mutex_init(&heaps[i].lock, NULL);
}

/* The heap state of e's device. */
static struct heap_state *heap_of(struct shim_engine *e)
{
	pthread_once(&heaps_once, heaps_init);
	return &heaps[e->device];
}

static bool heap_ready(struct heap_state *h, struct shim_engine *e)
{
	if (h->ready)
		return true;
	h->n_chunks = (uint32_t)(e->heap_size / e->chunk_size);
	h->units_per_chunk = (uint32_t)(e->chunk_size / UNIT);
	h->small_cursor = UINT32_MAX;
	h->kind = calloc(h->n_chunks, 1);
	h->users = calloc(h->n_chunks, sizeof(*h->users));
	h->unit_map = calloc(h->n_chunks, sizeof(*h->unit_map));
	if (!h->kind || !h->users || !h->unit_map) {
		free(h->kind);
		free(h->users);
		free(h->unit_map);
		h->kind = NULL;
		h->users = NULL;
		h->unit_map = NULL;
		return false;
	}
	h->ready = true;
	return true;
}

/* Index of the first allocation with addr > a. */
static size_t upper_bound(const struct heap_state *h, uint64_t a)
{
	size_t lo = 0, hi = h->n_allocs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (h->allocs[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool insert_alloc(struct heap_state *h, const struct shim_alloc *a)
{
	size_t i;

	if (h->n_allocs == h->cap_allocs) {
		size_t cap = h->cap_allocs ? h->cap_allocs * 2 : 256;
		struct shim_alloc *n = realloc(h->allocs, cap * sizeof(*n));

		if (!n)
			return false;
		h->allocs = n;
		h->cap_allocs = cap;
	}
	i = upper_bound(h, a->addr);
	memmove(&h->allocs[i + 1], &h->allocs[i], (h->n_allocs - i) * sizeof(*a));
	h->allocs[i] = *a;
	h->n_allocs++;
	return true;
}

/* First run of count free chunks, searching from next_fit and wrapping once. */
static bool find_free_chunks(struct heap_state *h, uint32_t count, uint32_t *first)
{
	uint32_t n = h->n_chunks, run = 0;

	for (uint64_t k = 0; k < (uint64_t)n + count; k++) {
		uint32_t c = (uint32_t)((h->next_fit + k) % n);

		if (c == 0)
			run = 0;        /* a run does not wrap around the range's end */
		if (h->kind[c] != CHUNK_FREE) {
			run = 0;
			continue;
		}
		if (++run == count) {
			*first = c + 1 - count;
			h->next_fit = (c + 1) % n;
			return true;
		}
	}
	return false;
}

static bool bit(const uint64_t *map, uint32_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static void set_bits(uint64_t *map, uint32_t first, uint32_t n, bool on)
{
	for (uint32_t i = first; i < first + n; i++) {
		if (on)
			map[i / 64] |= 1ull << (i % 64);
		else
			map[i / 64] &= ~(1ull << (i % 64));
	}
}

/* n free units in a small chunk: the first fit, or false. */
static bool find_units(const struct heap_state *h, const uint64_t *map, uint32_t n,
		       uint32_t *first)
{
	uint32_t run = 0;

	for (uint32_t i = 0; i < h->units_per_chunk; i++) {
		run = bit(map, i) ? 0 : run + 1;
		if (run == n) {
			*first = i + 1 - n;
			return true;
		}
	}
	return false;
}

/* Units in use in small chunk c. */
static uint32_t units_used(const struct heap_state *h, uint32_t c)
{
	uint32_t n = 0;

	for (uint32_t w = 0; w < (h->units_per_chunk + 63) / 64; w++)
		n += (uint32_t)__builtin_popcountll(h->unit_map[c][w]);
	return n;
}

/* The first small chunk with n free units (at most half used: mostly_free), or false. */
static bool find_small(const struct heap_state *h, uint32_t n, bool mostly_free, uint32_t *chunk,
		       uint32_t *first)
{
	for (uint32_t c = 0; c < h->n_chunks; c++) {
		if (h->kind[c] != CHUNK_SMALL ||
		    (mostly_free && units_used(h, c) > h->units_per_chunk / 2))
			continue;
		if (find_units(h, h->unit_map[c], n, first)) {
			*chunk = c;
			return true;
		}
	}
	return false;
}

/*
 * Small allocations go into the chunk of the previous one while it has
 * room, so allocations made in order lie in address order: an app's
 * tensors, allocated block after block, share chunks only with their
 * neighbours, and a pass over the blocks touches each chunk once.  Filling
 * holes anywhere (first fit) would interleave blocks across chunks, which
 * the policy sees as chunks used at several distant points of a pass.  So
 * next comes a chunk frees left at least half empty, then a new chunk,
 * and only when no chunk is free, any room at all.
 */
static bool alloc_small(struct shim_engine *e, uint64_t size, struct shim_alloc *a)
{
	struct heap_state *h = heap_of(e);
	uint32_t units = (uint32_t)((size + UNIT - 1) / UNIT), first = 0, c = h->small_cursor;

	if (c < h->n_chunks && h->kind[c] == CHUNK_SMALL &&
	    find_units(h, h->unit_map[c], units, &first))
		goto found;
	if (find_small(h, units, true, &c, &first))
		goto found;
	if (!find_free_chunks(h, 1, &c)) {
		if (find_small(h, units, false, &c, &first))
			goto found;
		return false;
	}
	h->unit_map[c] = calloc((h->units_per_chunk + 63) / 64, sizeof(uint64_t));
	if (!h->unit_map[c])
		return false;
	h->kind[c] = CHUNK_SMALL;
	first = 0;
found:
	h->small_cursor = c;
	set_bits(h->unit_map[c], first, units, true);
	h->users[c]++;
	a->addr = e->heap_base + (uint64_t)c * e->chunk_size + (uint64_t)first * UNIT;
	a->size = size;
	a->span_off = (uint64_t)c * e->chunk_size;
	a->span_len = e->chunk_size;
	h->used += (uint64_t)units * UNIT;
	return true;
}

static bool alloc_large(struct shim_engine *e, uint64_t size, struct shim_alloc *a)
{
	struct heap_state *h = heap_of(e);
	uint64_t count = (size + e->chunk_size - 1) / e->chunk_size;
	uint32_t first;

	if (count > h->n_chunks || !find_free_chunks(h, (uint32_t)count, &first))
		return false;
	for (uint32_t c = first; c < first + count; c++) {
		h->kind[c] = CHUNK_LARGE;
		h->users[c] = 1;
	}
	a->addr = e->heap_base + (uint64_t)first * e->chunk_size;
	a->size = size;
	a->span_off = (uint64_t)first * e->chunk_size;
	a->span_len = count * e->chunk_size;
	h->used += a->span_len;
	return true;
}

/*
 * Give a's units and chunks back (pinned: it holds them acquired, evict
 * none); chunks nobody uses any more are discarded (lock held).
 */
static void release_alloc(struct shim_engine *e, const struct shim_alloc *a, bool pinned)
{
	struct heap_state *h = heap_of(e);
	uint32_t first = (uint32_t)(a->span_off / e->chunk_size);
	uint32_t count = (uint32_t)(a->span_len / e->chunk_size);

	if (h->kind[first] == CHUNK_SMALL) {
		uint32_t unit = (uint32_t)((a->addr - e->heap_base - a->span_off) / UNIT);
		uint32_t units = (uint32_t)((a->size + UNIT - 1) / UNIT);

		set_bits(h->unit_map[first], unit, units, false);
		h->used -= (uint64_t)units * UNIT;
	} else {
		h->used -= a->span_len;
	}
	if (pinned)
		gp_release_range_on(e->heap, a->span_off, a->span_len, NULL);
	for (uint32_t c = first; c < first + count; c++) {
		int err;

		if (--h->users[c])
			continue;
		err = gp_heap_discard(e->heap, (uint64_t)c * e->chunk_size, e->chunk_size);
		if (err) {
			/* Still mapped (the GPU failed, or the app freed memory in use): never reused. */
			gp_log_warn("shim: freeing chunk %u of the heap: %s; its address range is "
				    "not reused", c, gp_last_error());
			continue;
		}
		free(h->unit_map[c]);
		h->unit_map[c] = NULL;
		h->kind[c] = CHUNK_FREE;
	}
}

static CUresult heap_alloc(struct shim_engine *e, uint64_t size, uint64_t *addr)
{
	struct heap_state *h = heap_of(e);
	bool pin = e->evict == GP_SHIM_EVICT_NONE;
	struct shim_alloc a;
	bool ok;

	shim_heap_reap(e);
	pthread_mutex_lock(&h->lock);
	ok = heap_ready(h, e) && (size <= e->chunk_size / 2 ? alloc_small(e, size, &a) :
							    alloc_large(e, size, &a));
	if (ok && pin &&
	    gp_acquire_range_on(e->heap, a.span_off, a.span_len, GP_ACCESS_WRITE, NULL)) {
		gp_log_warn("shim: cuMemAlloc of %llu bytes: over the VRAM budget of %llu MiB "
			    "with GPUPAGER_SHIM_EVICT=none (%s)", (unsigned long long)size,
			    (unsigned long long)(e->budget >> 20), gp_last_error());
		release_alloc(e, &a, false);
		pthread_mutex_unlock(&h->lock);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (ok && !insert_alloc(h, &a)) {
		release_alloc(e, &a, pin);
		ok = false;
	}
	pthread_mutex_unlock(&h->lock);
	if (!ok) {
		gp_log_warn("shim: cuMemAlloc of %llu bytes: the heap's %llu MiB of address "
			    "space has no room left (raise GPUPAGER_SHIM_HEAP)",
			    (unsigned long long)size, (unsigned long long)(e->heap_size >> 20));
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	*addr = a.addr;
	return CUDA_SUCCESS;
}

/* Index of the allocation holding ptr, or -1 (lock held). */
static ssize_t find_alloc(const struct heap_state *h, uint64_t ptr)
{
	size_t i = upper_bound(h, ptr);
	const struct shim_alloc *a;

	if (!i)
		return -1;
	a = &h->allocs[i - 1];
	return ptr - a->addr < (a->size ? a->size : 1) ? (ssize_t)(i - 1) : -1;
}

static CUresult heap_free(struct shim_engine *e, uint64_t addr)
{
	struct heap_state *h = heap_of(e);
	ssize_t i;
	CUresult res = CUDA_ERROR_INVALID_VALUE;

	pthread_mutex_lock(&h->lock);
	i = h->ready ? find_alloc(h, addr) : -1;
	if (i >= 0 && h->allocs[i].addr == addr) {
		struct shim_alloc a = h->allocs[i];

		memmove(&h->allocs[i], &h->allocs[i + 1],
			(h->n_allocs - (size_t)i - 1) * sizeof(a));
		h->n_allocs--;
		release_alloc(e, &a, e->evict == GP_SHIM_EVICT_NONE);
		res = CUDA_SUCCESS;
	}
	pthread_mutex_unlock(&h->lock);
	return res;
}

/* Pins and discards bind the engine's context: the caller's is put back (shim_ctx_get). */
CUresult shim_heap_alloc(struct shim_engine *e, uint64_t size, uint64_t *addr)
{
	CUcontext ctx = shim_ctx_get();
	CUresult res = heap_alloc(e, size, addr);

	shim_ctx_put_back(ctx);
	return res;
}

CUresult shim_heap_free(struct shim_engine *e, uint64_t addr)
{
	CUcontext ctx = shim_ctx_get();
	CUresult res = heap_free(e, addr);

	shim_ctx_put_back(ctx);
	return res;
}

bool shim_heap_lookup(struct shim_engine *e, uint64_t ptr, struct shim_alloc *out)
{
	struct heap_state *h = heap_of(e);
	ssize_t i = -1;

	if (ptr < e->heap_base || ptr - e->heap_base >= e->heap_size)
		return false;
	pthread_mutex_lock(&h->lock);
	if (h->ready)
		i = find_alloc(h, ptr);
	if (i >= 0)
		*out = h->allocs[i];
	pthread_mutex_unlock(&h->lock);
	return i >= 0;
}

uint64_t shim_heap_used(struct shim_engine *e)
{
	struct heap_state *h = heap_of(e);
	uint64_t used;

	pthread_mutex_lock(&h->lock);
	used = h->used;
	pthread_mutex_unlock(&h->lock);
	return used;
}

CUresult shim_heap_free_after(struct shim_engine *e, uint64_t addr, CUevent event)
{
	struct heap_state *h = heap_of(e);
	CUresult res = CUDA_ERROR_INVALID_VALUE;
	ssize_t i;

	pthread_mutex_lock(&h->lock);
	i = h->ready ? find_alloc(h, addr) : -1;
	if (i >= 0 && h->allocs[i].addr == addr) {
		res = CUDA_ERROR_OUT_OF_MEMORY;
		if (h->n_pending == h->cap_pending) {
			size_t cap = h->cap_pending ? h->cap_pending * 2 : 16;
			struct pending_free *n = realloc(h->pending, cap * sizeof(*n));

			if (n) {
				h->pending = n;
				h->cap_pending = cap;
			}
		}
		if (h->n_pending < h->cap_pending) {
			h->pending[h->n_pending++] = (struct pending_free){ addr, event };
			res = CUDA_SUCCESS;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return res;
}

void shim_heap_reap(struct shim_engine *e)
{
	struct heap_state *h = heap_of(e);
	size_t kept = 0, n_done = 0, n;
	struct pending_free *done;

	pthread_mutex_lock(&h->lock);
	n = h->n_pending;
	done = n ? malloc(n * sizeof(*done)) : NULL;
	if (n && !done) {
		pthread_mutex_unlock(&h->lock);
		return;
	}

	for (size_t i = 0; i < n; i++) {
		if (shim_real.cuEventQuery(h->pending[i].event) == CUDA_ERROR_NOT_READY)
			h->pending[kept++] = h->pending[i];
		else
			done[n_done++] = h->pending[i];
	}
	h->n_pending = kept;
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n_done; i++) {
		shim_heap_free(e, done[i].addr);
		shim_real.cuEventDestroy(done[i].event);
	}
	free(done);
}
