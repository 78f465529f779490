/*
 * resident.c - the allocations one call uses, made resident on its stream
 * before it is queued and recorded as their last use after.  The engine
 * does the work (gp_acquire_range_on: the stream waits for the copies, the
 * host does not; gp_release_range_on: an event on the stream), so an
 * evicted chunk is unmapped only once the GPU is past that call.
 */
#include <pthread.h>
#include <time.h>

#include "log.h"
#include "pager.h"
#include "shim.h"

/* Tries before a call whose allocations fit the budget gives up (others hold chunks). */
#define BUSY_TRIES 2000
#define BUSY_WAIT_NS 1000000

bool shim_use_add(struct shim_use *use, uint64_t ptr)
{
	struct shim_engine *e = shim_engine_of(ptr);
	struct shim_alloc a;

	if (!e || !shim_heap_lookup(e, ptr, &a))
		return false;
	for (uint32_t i = 0; i < use->n; i++)
		if (use->off[i] == a.span_off && use->engine[i] == e)
			return true;
	if (use->n == SHIM_MAX_SPANS) {
		use->too_many = true;
		return true;
	}
	use->off[use->n] = a.span_off;
	use->len[use->n] = a.span_len;
	use->engine[use->n] = e;
	use->n++;
	return true;
}

/* An engine binds its own context only where it is not the caller's. */
static void restore_ctx(const struct shim_use *use)
{
	for (uint32_t i = 0; i < use->n; i++) {
		if (use->engine[i]->pager->gpu->ctx != use->ctx) {
			shim_ctx_put_back(use->ctx);
			return;
		}
	}
}

static uint64_t budget_chunks(struct shim_engine *e)
{
	struct gp_pager *p = e->pager;
	uint64_t n;

	pthread_mutex_lock(&p->lock);
	n = p->max_chunks;
	pthread_mutex_unlock(&p->lock);
	return n;
}

static void release_first(struct shim_use *use, uint32_t n, CUstream s)
{
	for (uint32_t i = 0; i < n; i++)
		gp_release_range_on(use->engine[i]->heap, use->off[i], use->len[i], s);
}

/* Whether the spans of use on engine e fit its budget at once; else logged. */
static bool fits(struct shim_engine *e, const struct shim_use *use, const char *call)
{
	uint64_t need = 0, budget;

	for (uint32_t i = 0; i < use->n; i++)
		if (use->engine[i] == e)
			need += use->len[i] / e->chunk_size;
	budget = budget_chunks(e);
	if (need <= budget)
		return true;
	gp_log_error("shim: %s needs %llu MiB of its allocations on device %d resident at once; "
		     "the VRAM budget is %llu MiB: CUDA_ERROR_OUT_OF_MEMORY", call,
		     (unsigned long long)(need * e->chunk_size >> 20), e->device,
		     (unsigned long long)(budget * e->chunk_size >> 20));
	return false;
}

/* Why a full budget may hold nothing evictable: the weights mode keeps other memory. */
static const char *weights_only_hint(const struct shim_use *use, int err)
{
	for (uint32_t i = 0; err == GP_EDEVMEM && i < use->n; i++)
		if (use->engine[i]->evict == GP_SHIM_EVICT_WEIGHTS)
			return "; with GPUPAGER_SHIM_EVICT=weights only chunks copied from "
			       ".safetensors files are evicted, so the program's other memory "
			       "must fit the budget: raise it, or swap that memory too with "
			       "--evict all";
	return "";
}

static CUresult acquire_all(struct shim_use *use, CUstream stream, const char *call)
{
	int err = 0;

	if (use->too_many) {
		gp_log_error("shim: %s uses more than %d separate allocations; the shim refuses "
			     "it rather than run it with some of them evicted", call, SHIM_MAX_SPANS);
		return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
	}
	/* Each engine its spans come from (the first of each) checks its own budget. */
	for (uint32_t i = 0; i < use->n; i++) {
		uint32_t j = 0;

		while (use->engine[j] != use->engine[i])
			j++;
		if (j == i && !fits(use->engine[i], use, call))
			return CUDA_ERROR_OUT_OF_MEMORY;
	}
	for (int tries = 0; tries < BUSY_TRIES; tries++) {
		uint32_t i;

		for (i = 0; i < use->n; i++) {
			err = gp_acquire_range_on(use->engine[i]->heap, use->off[i], use->len[i],
						  GP_ACCESS_WRITE, stream);
			if (err)
				break;
		}
		if (!err)
			return CUDA_SUCCESS;
		release_first(use, i, stream);
		if (err != GP_EDEVMEM)
			break;
		/* Other threads hold the chunks it would evict: let their calls be queued. */
		nanosleep(&(struct timespec){ 0, BUSY_WAIT_NS }, NULL);
	}
	gp_log_error("shim: %s: its allocations could not be made resident (%s: %s)%s", call,
		     gp_error_name(err), gp_last_error(), weights_only_hint(use, err));
	return shim_cu_error(err);
}

CUresult shim_use_begin(struct shim_use *use, CUstream stream, const char *call)
{
	CUresult res;

	use->ctx = shim_ctx_get();
	res = acquire_all(use, stream, call);
	restore_ctx(use);
	return res;
}

/* The caller's context now: a graph's pins are released by another call than took them. */
void shim_use_end(struct shim_use *use, CUstream stream)
{
	use->ctx = shim_ctx_get();
	release_first(use, use->n, stream);
	restore_ctx(use);
}
