/*
 * residency.c - moving chunks between the tiers: file -> host slot ->
 * device chunk, and back out.  Called with pager->lock held; file reads
 * drop it (the chunks involved are LOADING, so nobody evicts or loads
 * them meanwhile).
 */
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "error.h"
#include "heap.h"
#include "log.h"
#include "pager.h"

/* A host slot stays pinned until the copy out of it has run. */
struct slot_release {
	struct gp_host_pool *pool;
	uint32_t slot;
};

static void release_slot_after_copy(void *arg)
{
	struct slot_release *r = arg;

	gp_host_pool_put(r->pool, r->slot);
	free(r);
}

/*
 * A chunk's image in its host slot starts at the chunk's shift (below
 * GP_IO_PLACE_ALIGN): its largest piece then sits at the offset its file
 * bytes have modulo GP_IO_PLACE_ALIGN, so the reader puts it there with
 * O_DIRECT and no bounce buffer whatever the file's alignment (real files
 * align tensor data only to 8 bytes).  Every user of a slot's image (the
 * file reads, the copies to and from the device) goes through
 * chunk_image().
 */

/* The part [*lo, *hi) of the range that tensor by_offset[*i] gives chunk c; false past the chunk. */
static bool next_piece(const struct gp_model *m, uint32_t c, uint32_t *i, uint64_t *lo,
		       uint64_t *hi, const struct gp_st_tensor **tensor)
{
	const struct gp_model_desc *d = m->desc;
	uint64_t cs = m->pager->chunk_size, start = (uint64_t)c * cs, end = start + cs;

	for (; *i < d->n_tensors; ++*i) {
		const struct gp_st_tensor *t = &d->tensors[m->by_offset[*i]];

		if (t->range_offset >= end)
			return false;
		*lo = t->range_offset > start ? t->range_offset : start;
		*hi = t->range_offset + t->nbytes < end ? t->range_offset + t->nbytes : end;
		if (*hi > *lo) {
			*tensor = t;
			++*i;
			return true;
		}
	}
	return false;
}

/* File offset of range byte lo of tensor t. */
static uint64_t file_offset(const struct gp_st_tensor *t, uint64_t lo)
{
	return t->file_offset + (lo - t->range_offset);
}

static uint64_t chunk_shift(const struct gp_model *m, uint32_t c)
{
	uint64_t start = (uint64_t)c * m->pager->chunk_size, lo, hi, best = 0, shift = 0;
	const struct gp_st_tensor *t;
	uint32_t i = m->first_tensor[c];

	while (next_piece(m, c, &i, &lo, &hi, &t)) {
		if (hi - lo > best) {
			best = hi - lo;
			/* Unsigned wrap is harmless: 2^64 is a multiple of the alignment. */
			shift = gp_io_place(file_offset(t, lo) - (lo - start));
		}
	}
	return shift;
}

/* Where chunk c's image is in slot. */
static uint8_t *chunk_image(const struct gp_model *m, uint32_t c, uint32_t slot)
{
	return (uint8_t *)gp_host_pool_slot_addr(m->pager->host, slot) + chunk_shift(m, c);
}

static int add_req(struct gp_io_req **reqs, size_t *n, size_t *cap, struct gp_io_req r)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct gp_io_req *grown = realloc(*reqs, ncap * sizeof(*grown));

		if (!grown)
			return gp_fail(GP_ENOMEM, "out of memory for read requests");
		*reqs = grown;
		*cap = ncap;
	}
	(*reqs)[(*n)++] = r;
	return 0;
}

static uintptr_t block_down(uintptr_t x)
{
	return x & ~(uintptr_t)(GP_IO_PLACE_ALIGN - 1);
}

/*
 * Mark the reads of one chunk (reqs[0, n)) that may use their blocks'
 * scratch (io.h): placed as the file is, and sharing no block with another
 * read of the chunk.  Gaps they overwrite are zeroed after the reads.
 */
static void mark_scratch(struct gp_io_req *reqs, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		uintptr_t a = (uintptr_t)reqs[k].dst, e = a + reqs[k].len;

		reqs[k].scratch = gp_io_place(a) == gp_io_place(reqs[k].offset) &&
				  (k == 0 || (uintptr_t)reqs[k - 1].dst + reqs[k - 1].len <= block_down(a)) &&
				  (k + 1 == n || (uintptr_t)reqs[k + 1].dst >= block_down(e + GP_IO_PLACE_ALIGN - 1));
	}
}

/* Append the file reads that fill chunk c's image at dst, pieces contiguous in a file merged. */
static int chunk_reads(struct gp_model *m, uint32_t c, uint8_t *dst, struct gp_io_req **reqs,
		       size_t *n, size_t *cap, uint64_t *bytes)
{
	uint64_t start = (uint64_t)c * m->pager->chunk_size, lo, hi;
	const struct gp_st_tensor *t;
	uint32_t i = m->first_tensor[c];
	size_t first = *n;
	int err;

	while (next_piece(m, c, &i, &lo, &hi, &t)) {
		struct gp_io_req r = { m->files[t->file], file_offset(t, lo), hi - lo, dst + (lo - start), 0 };
		struct gp_io_req *last = *n > first ? &(*reqs)[*n - 1] : NULL;

		*bytes += hi - lo;
		if (last && last->file == r.file && last->offset + last->len == r.offset &&
		    (uint8_t *)last->dst + last->len == (uint8_t *)r.dst) {
			last->len += r.len;
			continue;
		}
		err = add_req(reqs, n, cap, r);
		if (err)
			return err;
	}
	mark_scratch(*reqs + first, *n - first);
	return 0;
}

/* Zero what no tensor of chunk c covers in its image at dst (after the reads: scratch lands there). */
static void zero_gaps(const struct gp_model *m, uint32_t c, uint8_t *dst)
{
	uint64_t cs = m->pager->chunk_size, start = (uint64_t)c * cs, filled = start, lo, hi;
	const struct gp_st_tensor *t;
	uint32_t i = m->first_tensor[c];

	while (next_piece(m, c, &i, &lo, &hi, &t)) {
		if (lo > filled)
			memset(dst + (filled - start), 0, lo - filled);
		filled = hi;
	}
	if (start + cs > filled)
		memset(dst + (filled - start), 0, start + cs - filled);
}

/*
 * Get a pinned host slot holding each chunk of list (reading the files for
 * those not cached), without the pager lock.  On failure every slot got is
 * put back.
 */
int gp_res_fill_host(struct gp_model *m, const uint32_t *list, uint32_t *slots, size_t n)
{
	struct gp_pager *p = m->pager;
	struct gp_io_req *reqs = NULL;
	size_t n_reqs = 0, cap = 0, got = 0;
	uint64_t disk_bytes = 0, host_hits = 0;
	bool *fresh = calloc(n ? n : 1, sizeof(*fresh));
	int err = 0;

	if (!fresh)
		return gp_fail(GP_ENOMEM, "out of memory");
	for (; got < n; got++) {
		err = gp_host_pool_get(p->host, m->host_owner, list[got], &slots[got], &fresh[got]);
		if (err)
			break;
		if (!fresh[got]) {
			host_hits++;
			continue;
		}
		if (gp_heap_back_is_file(m, list[got]))
			err = gp_heap_back_reads(m, list[got], chunk_image(m, list[got], slots[got]),
						 add_req, &reqs, &n_reqs, &cap, &disk_bytes);
		else
			err = chunk_reads(m, list[got], chunk_image(m, list[got], slots[got]),
					  &reqs, &n_reqs, &cap, &disk_bytes);
		if (err) {
			got++;
			break;
		}
	}
	if (!err && n_reqs)
		err = gp_io_read(p->io, reqs, n_reqs);
	for (size_t i = 0; i < got; i++) {
		if (fresh[i] && !err && gp_heap_back_is_file(m, list[i]))
			gp_heap_back_filled(m, list[i], chunk_image(m, list[i], slots[i]));
		else if (fresh[i] && !err)
			zero_gaps(m, list[i], chunk_image(m, list[i], slots[i]));
		if (fresh[i])
			gp_host_pool_filled(p->host, slots[i], err);
		if (err && !fresh[i])
			gp_host_pool_put(p->host, slots[i]);
	}
	if (!err) {
		gp_stats_add(p->stats, GP_STAT_BYTES_DISK, disk_bytes);
		gp_stats_add(p->stats, GP_STAT_HOST_HITS, host_hits);
	}
	free(reqs);
	free(fresh);
	return err;
}

static int ensure_events(struct gp_pager *p, struct gp_chunk *ch)
{
	int err = 0;

	if (!ch->ready)
		err = gp_event_create(p->gpu, &ch->ready);
	if (!err && !ch->last_use)
		err = gp_event_create(p->gpu, &ch->last_use);
	return err;
}

/* Map chunk c's physical memory and queue the copy from its host slot (lock held). */
static int map_and_copy(struct gp_model *m, uint32_t c, uint32_t slot)
{
	struct gp_pager *p = m->pager;
	struct gp_chunk *ch = &m->chunks[c];
	uint64_t off = (uint64_t)c * p->chunk_size;
	struct slot_release *rel;
	int err;

	err = ensure_events(p, ch);
	if (!err)
		err = gp_devmem_map(p->dm, m->range, off, ch->phys, p->copy_stream);
	if (err)
		return err;
	err = gp_copy_h2d(p->gpu, m->range->base + off, chunk_image(m, c, slot), p->chunk_size,
			  p->copy_stream);
	if (!err)
		err = gp_event_record(p->gpu, ch->ready, p->copy_stream);
	if (err) {
		/* A copy queued before the failure still writes the chunk: let it finish. */
		gp_stream_sync(p->gpu, p->copy_stream);
		gp_devmem_unmap(p->dm, m->range, off, NULL, p->copy_stream);
		return err;
	}
	rel = malloc(sizeof(*rel));
	if (rel) {
		*rel = (struct slot_release){ p->host, slot };
		if (!gp_stream_host_func(p->gpu, p->copy_stream, release_slot_after_copy, rel))
			return 0;
		free(rel);
	}
	/* No callback: wait for the copy here rather than leak the pin. */
	gp_event_sync(p->gpu, ch->ready);
	gp_host_pool_put(p->host, slot);
	return 0;
}

/* The event marking the GPU's last use of a resident chunk: its release, or its copy if never used. */
static CUevent last_event(const struct gp_chunk *ch)
{
	return ch->last_use_set ? ch->last_use : ch->ready;
}

/* Resident and free to go: nobody has it acquired, loading or evicting. */
static bool can_evict(void *ctx, uint32_t c)
{
	const struct gp_chunk *ch = &((struct gp_model *)ctx)->chunks[c];

	return ch->state == GP_CHUNK_RESIDENT && ch->users == 0 &&
	       gp_heap_back_evictable(ctx, c);
}

/* The GPU has passed its last use (or its copy, if never used): unmapping it does not wait. */
static bool chunk_idle(void *ctx, uint32_t c)
{
	struct gp_model *m = ctx;

	return gp_event_query(m->pager->gpu, last_event(&m->chunks[c])) == 1;
}

/* m's chunks as the decision (decide.h) sees them. */
static struct gp_decide_model decide_model(struct gp_model *m)
{
	return (struct gp_decide_model){
		.policy = m->policy,
		.n_groups = m->desc->n_groups,
		.group_first_chunk = m->group_first_chunk,
		.group_chunk_count = m->group_chunk_count,
		.done_hint = m->done_hint,
		.evictable = can_evict,
		.idle = chunk_idle,
		.chunk_group = m->chunk_group,
		.ctx = m,
	};
}

void gp_res_decide_model(struct gp_model *m, struct gp_decide_model *out)
{
	*out = decide_model(m);
}

/* Evict victim of m and hand its physical chunk to the caller. */
static int take_evicted(struct gp_model *m, uint32_t victim, struct gp_dev_chunk **out)
{
	struct gp_pager *p = m->pager;
	int err = gp_res_evict(m, victim);

	if (!err)
		*out = p->free_chunks[--p->n_free];
	return err;
}

/* Physical chunk for a load: free, newly created, or evicted from someone (lock held). */
int gp_res_take_chunk(struct gp_pager *p, struct gp_model *m, uint32_t for_chunk, bool prefetch,
		      struct gp_dev_chunk **out)
{
	uint32_t victim;
	int err;

	/* Above a lowered budget (trim.c): free chunks go back, a demand load gives one more. */
	if (p->n_created > p->max_chunks)
		gp_trim_excess(p, !prefetch);
	if (p->n_free) {
		*out = p->free_chunks[--p->n_free];
		return 0;
	}
	if (p->n_created < p->max_chunks) {
		err = gp_devmem_chunk_create(p->dm, out);
		if (!err) {
			p->n_created++;
			gp_pager_stats_gauges(p);
			return 0;
		}
		if (err != GP_EDEVMEM)
			return err;
		/* The device is fuller than the budget assumed: live with what we have. */
		gp_log_warn("pager: device out of memory at %llu chunks; budget lowered to them "
			    "and weights evicted instead (%s)", (unsigned long long)p->n_created,
			    gp_last_error());
		gp_clear_error();
		p->max_chunks = p->n_created;
		p->vram_budget = p->n_created * p->chunk_size;
		gp_pager_stats_gauges(p);
		gp_stats_add(p->stats, GP_STAT_ALLOC_RETRIES, 1);
	}
	if (m) {
		/* A done group's chunk, an idle planned one, the policy's choice (decide.h). */
		struct gp_decide_model dm = decide_model(m);

		err = gp_decide_victim(&dm, for_chunk, prefetch, &victim);
		if (!err)
			return take_evicted(m, victim, out);
	}
	if (prefetch)
		return GP_EBUSY;
	/* On demand only: another model of this pager gives a chunk up. */
	for (struct gp_model *o = p->models; o; o = o->next) {
		struct gp_decide_model dm = decide_model(o);

		if (o != m && !gp_decide_victim_for_other(&dm, &victim))
			return take_evicted(o, victim, out);
	}
	return gp_fail(GP_EDEVMEM, "no device chunk can be freed: all %llu chunks of the VRAM "
		       "budget are acquired, loading or allocated; release groups before acquiring "
		       "more, or raise GPUPAGER_VRAM_BUDGET", (unsigned long long)p->max_chunks);
}

static void mark_resident(struct gp_model *m, uint32_t c, bool prefetch)
{
	struct gp_pager *p = m->pager;
	struct gp_chunk *ch = &m->chunks[c];

	ch->state = GP_CHUNK_RESIDENT;
	ch->prefetched = prefetch;
	ch->last_use_set = false;
	ch->other_use_pending = false;
	ch->ready_seq = ++p->copy_seq;
	gp_policy_loaded(m->policy, c);
	gp_stats_add(p->stats, GP_STAT_BYTES_H2D, p->chunk_size);
	gp_stats_add(p->stats, prefetch ? GP_STAT_PREFETCH_ISSUED : GP_STAT_CHUNK_MISSES, 1);
	gp_stats_group_resident(p->stats, m->stats_slot, m->chunk_group[c], 1);
}

static void abandon_load(struct gp_model *m, uint32_t c)
{
	struct gp_pager *p = m->pager;
	struct gp_chunk *ch = &m->chunks[c];

	p->free_chunks[p->n_free++] = ch->phys;
	ch->phys = NULL;
	ch->state = GP_CHUNK_ABSENT;
}

/* Load the chunks of list (all LOADING, with physical chunks): read, map, copy. */
static int load_batch(struct gp_model *m, const uint32_t *list, size_t n, bool prefetch)
{
	struct gp_pager *p = m->pager;
	uint32_t *slots = malloc(sizeof(*slots) * (n ? n : 1));
	size_t done = 0;
	int err;

	if (!slots) {
		err = gp_fail(GP_ENOMEM, "out of memory");
	} else {
		pthread_mutex_unlock(&p->lock);
		err = gp_res_fill_host(m, list, slots, n);
		pthread_mutex_lock(&p->lock);
	}
	if (!err) {
		/* Every slot is pinned now: each is put once, by the copy's callback or here. */
		for (; done < n; done++) {
			err = map_and_copy(m, list[done], slots[done]);
			if (err)
				break;
			mark_resident(m, list[done], prefetch);
		}
		for (size_t j = done; j < n; j++)
			gp_host_pool_put(p->host, slots[j]);
	}
	for (size_t j = done; j < n; j++)
		abandon_load(m, list[j]);
	free(slots);
	pthread_cond_broadcast(&p->changed);
	return err;
}

/*
 * Load list in batches of at most half the host pool: each chunk holds a
 * pinned slot until its copy has run, so a load larger than the pool (a
 * big group, a whole model) waits for earlier copies to give slots back.
 */
static int load_list(struct gp_model *m, const uint32_t *list, size_t n, bool prefetch)
{
	struct gp_pager *p = m->pager;
	size_t batch = gp_host_pool_slot_count(p->host) / 2;
	int err = 0;

	if (!batch)
		batch = 1;
	for (size_t done = 0; done < n && !err; done += batch) {
		size_t k = n - done < batch ? n - done : batch;
		bool started = false;

		if (done) {
			pthread_mutex_unlock(&p->lock);
			err = gp_stream_sync(p->gpu, p->copy_stream);
			pthread_mutex_lock(&p->lock);
		}
		if (!err) {
			err = load_batch(m, list + done, k, prefetch);
			started = true;
		}
		if (err) {
			/* load_batch gives its own chunks back; the later ones never started. */
			for (size_t j = done + (started ? k : 0); j < n; j++)
				abandon_load(m, list[j]);
			pthread_cond_broadcast(&p->changed);
		}
	}
	return err;
}

void gp_res_unpin(struct gp_model *m, uint32_t first, uint32_t count)
{
	for (uint32_t c = first; c < first + count; c++)
		m->chunks[c].users--;
}

/* A chunk of the range is being loaded or evicted by someone (lock held). */
static bool range_busy(const struct gp_model *m, uint32_t first, uint32_t count)
{
	for (uint32_t c = first; c < first + count; c++)
		if (m->chunks[c].state == GP_CHUNK_LOADING || m->chunks[c].state == GP_CHUNK_EVICTING)
			return true;
	return false;
}

static bool all_resident(const struct gp_model *m, uint32_t first, uint32_t count)
{
	for (uint32_t c = first; c < first + count; c++)
		if (m->chunks[c].state != GP_CHUNK_RESIDENT)
			return false;
	return true;
}

int gp_res_load(struct gp_model *m, uint32_t first, uint32_t count, bool pin, bool prefetch)
{
	struct gp_pager *p = m->pager;
	uint32_t *list;
	size_t n;
	int err = 0;
	bool waiting;

	/* All resident (the common case under the shim: every launch asks): nothing to queue. */
	if (all_resident(m, first, count)) {
		for (uint32_t c = first; pin && c < first + count; c++)
			m->chunks[c].users++;
		return 0;
	}
	list = malloc(sizeof(*list) * (count ? count : 1));
	if (!list)
		return gp_fail(GP_ENOMEM, "out of memory");
	if (pin)
		for (uint32_t c = first; c < first + count; c++)
			m->chunks[c].users++;
	do {
		n = 0;
		waiting = false;
		for (uint32_t c = first; c < first + count && !err; c++) {
			struct gp_chunk *ch = &m->chunks[c];
			struct gp_dev_chunk *phys;

			if (ch->state == GP_CHUNK_LOADING || ch->state == GP_CHUNK_EVICTING) {
				waiting = true;
				continue;
			}
			if (ch->state == GP_CHUNK_RESIDENT)
				continue;
			err = gp_res_take_chunk(p, m, c, prefetch, &phys);
			if (err)
				break;
			/* Taking may have dropped the lock: someone else may have started on c. */
			if (ch->state != GP_CHUNK_ABSENT) {
				p->free_chunks[p->n_free++] = phys;
				c--;    /* look at it again in its new state */
				continue;
			}
			ch->phys = phys;
			ch->state = GP_CHUNK_LOADING;
			list[n++] = c;
		}
		if (err == GP_EBUSY && prefetch) {
			/* Nothing more a prefetch may evict: load what it got and stop. */
			err = 0;
			gp_clear_error();
		}
		if (err) {
			for (size_t i = 0; i < n; i++)
				abandon_load(m, list[i]);
			break;
		}
		if (n) {
			err = load_list(m, list, n, prefetch);
			if (err)
				break;
		}
		if (prefetch)
			break;          /* chunks others are loading need no waiting for */
		/*
		 * Wait only if this round did nothing and a chunk is still in
		 * another thread's hands: the lock was dropped above, and a
		 * broadcast sent meanwhile would not wake us.
		 */
		if (waiting && !n && range_busy(m, first, count))
			pthread_cond_wait(&p->changed, &p->lock);
	} while (waiting);
	if (err && pin)
		gp_res_unpin(m, first, count);
	free(list);
	return err;
}

int gp_res_copy_to_host(struct gp_model *m, uint32_t c, bool dirty, bool keep)
{
	struct gp_pager *p = m->pager;
	struct gp_chunk *ch = &m->chunks[c];
	uint64_t off = (uint64_t)c * p->chunk_size;
	uint32_t slot;
	bool fresh;
	int err;

	err = gp_host_pool_get(p->host, m->host_owner, c, &slot, &fresh);
	if (err)
		return gp_fail_context(err, "%s: cannot copy chunk %u to the host tier",
				       m->desc->source, c);
	err = gp_stream_wait_event(p->gpu, p->copy_stream, last_event(ch));
	if (!err)
		err = gp_copy_d2h(p->gpu, chunk_image(m, c, slot), m->range->base + off,
				  p->chunk_size, p->copy_stream);
	if (!err)
		err = gp_stream_sync(p->gpu, p->copy_stream);
	if (fresh)
		gp_host_pool_filled(p->host, slot, err);
	if (!err) {
		if (dirty)
			gp_host_pool_set_dirty(p->host, slot, true);
		if (keep)
			gp_host_pool_set_kept(p->host, slot, true);
		ch->dirty = false;
		gp_stats_add(p->stats, GP_STAT_BYTES_D2H, p->chunk_size);
	}
	if (!fresh || !err)
		gp_host_pool_put(p->host, slot);
	return err;
}

/*
 * Wait, without the pager lock, until the GPU is done with chunk c: other
 * threads keep queueing work meanwhile (holding the lock here would stall
 * the app behind the very compute being waited for).  The chunk is
 * EVICTING so that nobody uses or evicts it in between.
 */
static int wait_idle(struct gp_model *m, uint32_t c)
{
	struct gp_pager *p = m->pager;
	struct gp_chunk *ch = &m->chunks[c];
	CUevent ev = last_event(ch);
	int err = gp_event_query(p->gpu, ev);

	if (err != 0)
		return err < 0 ? err : 0;
	ch->state = GP_CHUNK_EVICTING;
	pthread_mutex_unlock(&p->lock);
	err = gp_event_sync(p->gpu, ev);
	pthread_mutex_lock(&p->lock);
	ch->state = GP_CHUNK_RESIDENT;
	if (err)
		pthread_cond_broadcast(&p->changed);
	return err;
}

/* Unmap idle chunk c and give its physical chunk back to the pool (lock held). */
static int unmap_idle(struct gp_model *m, uint32_t c)
{
	struct gp_pager *p = m->pager;
	struct gp_chunk *ch = &m->chunks[c];
	/* wait_idle has seen the last use finish: nothing left to wait for. */
	int err = gp_devmem_unmap(p->dm, m->range, (uint64_t)c * p->chunk_size, NULL,
				  p->copy_stream);

	if (err)
		return err;
	p->free_chunks[p->n_free++] = ch->phys;
	ch->phys = NULL;
	ch->state = GP_CHUNK_ABSENT;
	gp_policy_evicted(m->policy, c);
	gp_stats_group_resident(p->stats, m->stats_slot, m->chunk_group[c], -1);
	pthread_cond_broadcast(&p->changed);
	return 0;
}

int gp_res_evict(struct gp_model *m, uint32_t c)
{
	struct gp_pager *p = m->pager;
	struct gp_chunk *ch = &m->chunks[c];
	int err;

	err = wait_idle(m, c);
	if (err)
		return err;
	/* A file-backed heap chunk still equal to its files is dropped, never swapped. */
	if (ch->dirty && !gp_heap_back_may_drop(m, c)) {
		err = gp_res_copy_to_host(m, c, true, false);
		if (err)
			return err;
	}
	err = unmap_idle(m, c);
	if (err)
		return err;
	if (ch->prefetched)
		gp_stats_add(p->stats, GP_STAT_PREFETCH_WASTED, 1);
	ch->prefetched = false;
	gp_stats_add(p->stats, GP_STAT_DEV_EVICTIONS, 1);
	return 0;
}

int gp_res_discard(struct gp_model *m, uint32_t c)
{
	struct gp_pager *p = m->pager;
	struct gp_chunk *ch = &m->chunks[c];
	int err = 0;

	/* A load or eviction in another thread finishes first. */
	while (ch->state == GP_CHUNK_LOADING || ch->state == GP_CHUNK_EVICTING)
		pthread_cond_wait(&p->changed, &p->lock);
	if (ch->users)
		return gp_fail(GP_EBUSY, "%s: chunk %u is freed while acquired", m->desc->source, c);
	if (ch->state == GP_CHUNK_RESIDENT) {
		err = wait_idle(m, c);
		if (!err)
			err = unmap_idle(m, c);
	}
	if (err)
		return err;
	ch->dirty = false;
	ch->prefetched = false;
	gp_heap_back_reset(m, c);
	gp_host_pool_drop(p->host, m->host_owner, c);
	return 0;
}
