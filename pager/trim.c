/*
 * trim.c - giving device memory back: gp_pager_set_vram_budget changes the
 * chunk pool's budget at run time, gp_pager_trim releases idle chunks now.
 *
 * Either way a physical chunk goes back to the driver (cuMemRelease under
 * the VMM backend) only from the free list: weight chunks not in use are
 * evicted first (gp_res_evict: it waits for their last use without the
 * pager lock and writes dirty ones back), the victims chosen by
 * gp_decide_victim_for_trim, every model asked for an idle chunk before
 * any is asked for one the GPU is still on.  Chunks acquired, loading or
 * allocated to the app stay; a budget left below the pool's size is
 * reached later: free chunks are released as they come back and each
 * demand load evicts one chunk more than it takes (gp_trim_excess).
 */
#include <stdlib.h>

#include "decide.h"
#include "error.h"
#include "log.h"
#include "pager.h"

/* Release the free chunk on top of the list (lock held); the driver's failure is only logged. */
static void release_free(struct gp_pager *p)
{
	struct gp_dev_chunk *chunk = p->free_chunks[--p->n_free];

	if (gp_devmem_chunk_release(p->dm, chunk)) {
		gp_log_warn("pager: releasing a device chunk: %s", gp_last_error());
		gp_clear_error();
	}
	p->n_created--;
}

/*
 * Evict one weight chunk not in use, from any model: an idle one if there
 * is one, else one whose last use is still running (waited for without
 * the lock).  Its physical chunk ends on the free list.  *got false: none
 * is evictable.
 */
static int evict_one(struct gp_pager *p, bool *got)
{
	*got = false;
	for (int idle_only = 1; idle_only >= 0; idle_only--) {
		for (struct gp_model *m = p->models; m; m = m->next) {
			struct gp_decide_model dm;
			uint32_t victim;

			if (!m->chunks)
				continue;
			gp_res_decide_model(m, &dm);
			if (gp_decide_victim_for_trim(&dm, idle_only, &victim))
				continue;
			*got = true;
			return gp_res_evict(m, victim);
		}
	}
	gp_clear_error();       /* gp_policy_victim's "nothing to evict" */
	return 0;
}

void gp_trim_excess(struct gp_pager *p, bool evict)
{
	bool got;

	while (p->n_created > p->max_chunks && p->n_free)
		release_free(p);
	if (evict && p->n_created > p->max_chunks) {
		if (evict_one(p, &got)) {
			gp_log_warn("pager: shrinking to the VRAM budget: %s", gp_last_error());
			gp_clear_error();
		}
		/* The lock was dropped: a chunk freed meanwhile may be on the list too. */
		while (p->n_created > p->max_chunks && p->n_free)
			release_free(p);
	}
	gp_pager_stats_gauges(p);
}

/*
 * Give chunks back until done says stop: free ones first, then evicted
 * ones.  At most limit chunks (bounds the loop while other threads keep
 * loading).  Lock held; dropped while an eviction waits.
 */
static int shrink(struct gp_pager *p, bool (*more)(const struct gp_pager *p, uint64_t released,
						    uint64_t want),
		  uint64_t want, uint64_t limit, uint64_t *released)
{
	bool got;
	int err = 0;

	*released = 0;
	while (*released < limit && more(p, *released, want)) {
		if (!p->n_free) {
			err = evict_one(p, &got);
			if (err || !got)
				break;
			if (!p->n_free)
				continue;       /* another thread took it: choose again */
		}
		release_free(p);
		(*released)++;
	}
	gp_pager_stats_gauges(p);
	return err;
}

static bool above_budget(const struct gp_pager *p, uint64_t released, uint64_t want)
{
	(void)released;
	(void)want;
	return p->n_created > p->max_chunks;
}

static bool below_want(const struct gp_pager *p, uint64_t released, uint64_t want)
{
	return p->n_created && released < want;
}

/* Chunks of the pool not in a weight chunk that could be evicted: acquired, loading, allocated. */
static void count_held(const struct gp_pager *p, uint64_t *weights, uint64_t *other)
{
	uint64_t in_models = 0;

	*weights = 0;
	for (const struct gp_model *m = p->models; m; m = m->next) {
		for (uint32_t c = 0; c < m->n_chunks; c++) {
			const struct gp_chunk *ch = &m->chunks[c];

			if (!ch->phys)
				continue;
			in_models++;
			if (ch->state != GP_CHUNK_RESIDENT || ch->users)
				(*weights)++;
		}
	}
	*other = p->n_created - p->n_free - in_models;
}

/* Make free_chunks hold n chunks (lock held). */
static int grow_free_list(struct gp_pager *p, uint64_t n)
{
	struct gp_dev_chunk **list;

	if (!p->free_cap)
		p->free_cap = p->max_chunks;
	if (n <= p->free_cap)
		return 0;
	list = realloc(p->free_chunks, n * sizeof(*list));
	if (!list)
		return gp_fail(GP_ENOMEM, "pager: out of memory for %llu chunk slots",
			       (unsigned long long)n);
	p->free_chunks = list;
	p->free_cap = n;
	return 0;
}

/* A raised budget within what the device has free less the headroom (lock held). */
static int cap_to_device(struct gp_pager *p, uint64_t *chunks)
{
	uint64_t free_bytes, total, avail, limit;
	int err;

	if (*chunks <= p->n_created)
		return 0;
	err = gp_gpu_mem_info(p->gpu, &free_bytes, &total);
	if (err)
		return err;
	avail = free_bytes > p->cfg.vram_headroom ? free_bytes - p->cfg.vram_headroom : 0;
	limit = p->n_created + avail / p->chunk_size;
	if (*chunks > limit) {
		gp_log_info("pager: VRAM budget of %llu bytes lowered to %llu (the pool's %llu, "
			    "device free %llu less headroom %llu)",
			    (unsigned long long)(*chunks * p->chunk_size),
			    (unsigned long long)(limit * p->chunk_size),
			    (unsigned long long)(p->n_created * p->chunk_size),
			    (unsigned long long)free_bytes,
			    (unsigned long long)p->cfg.vram_headroom);
		*chunks = limit;
	}
	if (*chunks < 2)
		return gp_fail(GP_EDEVMEM, "gp_pager_set_vram_budget: the device has room for "
			       "%llu chunks of %llu bytes, less than two (free %llu, headroom %llu)",
			       (unsigned long long)*chunks, (unsigned long long)p->chunk_size,
			       (unsigned long long)free_bytes,
			       (unsigned long long)p->cfg.vram_headroom);
	return 0;
}

GP_API int gp_pager_set_vram_budget(struct gp_pager *p, uint64_t bytes)
{
	uint64_t chunks, old, released = 0, held_weights, held_other;
	int err;

	if (!p)
		return gp_fail(GP_EINVAL, "gp_pager_set_vram_budget: pager is NULL");
	chunks = bytes / p->chunk_size;
	if (chunks < 2)
		return gp_fail(GP_EINVAL, "gp_pager_set_vram_budget: %llu bytes is less than two "
			       "%llu-byte chunks", (unsigned long long)bytes,
			       (unsigned long long)p->chunk_size);
	pthread_mutex_lock(&p->lock);
	old = p->vram_budget;
	err = cap_to_device(p, &chunks);
	if (!err)
		err = grow_free_list(p, chunks);
	if (err)
		goto out;
	p->max_chunks = chunks;
	p->vram_budget = chunks * p->chunk_size;
	gp_pager_stats_gauges(p);
	err = shrink(p, above_budget, 0, UINT64_MAX, &released);
	if (err) {
		gp_fail_context(err, "gp_pager_set_vram_budget: evicting to %llu bytes",
				(unsigned long long)p->vram_budget);
		goto out;
	}
	gp_log_info("pager: VRAM budget %llu -> %llu bytes, %llu bytes released, pool %llu bytes",
		    (unsigned long long)old, (unsigned long long)p->vram_budget,
		    (unsigned long long)(released * p->chunk_size),
		    (unsigned long long)(p->n_created * p->chunk_size));
	if (p->n_created > p->max_chunks) {
		count_held(p, &held_weights, &held_other);
		err = gp_fail(GP_EBUSY, "gp_pager_set_vram_budget: budget set to %llu bytes but "
			      "%llu bytes stay held: %llu bytes of weight chunks acquired or "
			      "loading, %llu bytes of app allocations (gp_pager_alloc) or "
			      "measurements; the pool shrinks to the budget as they are released",
			      (unsigned long long)p->vram_budget,
			      (unsigned long long)(p->n_created * p->chunk_size),
			      (unsigned long long)(held_weights * p->chunk_size),
			      (unsigned long long)(held_other * p->chunk_size));
	}
out:
	pthread_mutex_unlock(&p->lock);
	return err;
}

GP_API int gp_pager_trim(struct gp_pager *p, uint64_t bytes, uint64_t *released_bytes)
{
	uint64_t want, released = 0;
	int err;

	if (released_bytes)
		*released_bytes = 0;
	if (!p)
		return gp_fail(GP_EINVAL, "gp_pager_trim: pager is NULL");
	want = bytes ? (bytes + p->chunk_size - 1) / p->chunk_size : UINT64_MAX;
	pthread_mutex_lock(&p->lock);
	/* Every chunk there was at the start at most: others keep loading meanwhile. */
	err = shrink(p, below_want, want, p->n_created, &released);
	if (err)
		gp_fail_context(err, "gp_pager_trim after %llu bytes released",
				(unsigned long long)(released * p->chunk_size));
	else
		gp_log_info("pager: trim released %llu bytes (asked %llu%s), pool %llu of %llu bytes",
			    (unsigned long long)(released * p->chunk_size),
			    (unsigned long long)bytes, bytes ? "" : ": every idle chunk",
			    (unsigned long long)(p->n_created * p->chunk_size),
			    (unsigned long long)p->vram_budget);
	pthread_mutex_unlock(&p->lock);
	if (released_bytes)
		*released_bytes = released * p->chunk_size;
	return err;
}
