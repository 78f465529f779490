/*
 * hostpool.c - the host slot pool as a cache of (owner, index) keys.
 *
 * One mutex guards every slot's state; one condition variable wakes the
 * callers waiting for a FILLING slot or for an eviction to finish.  Keys
 * are found through a chained hash table, free slots sit on a stack, and
 * evictable slots (READY, clean, unpinned, not kept) on an LRU list, so
 * get/lookup/put never scan the pool.
 *
 * Slot states beyond the header's three:
 *   EVICTING  the owner's evict callback runs (without the lock); the key
 *             stays in the table so a get for it waits instead of loading
 *             a second copy;
 *   DEAD      out of the table (a failed fill, a removed owner) but still
 *             pinned: freed by the last put.
 *
 * A failed fill (gp_host_pool_filled with status < 0) releases the
 * filler's pin with the slot: the filler does not call put afterwards.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "format.h"
#include "hostpool_priv.h"
#include "io.h"
#include "log.h"

_Static_assert(GP_HOST_SLOT_ROOM >= GP_IO_PLACE_ALIGN, "a slot has room to place any chunk");

#define NIL UINT32_MAX

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_EVICTING, SLOT_DEAD };

struct slot {
	uint64_t index;
	uint32_t owner;
	uint32_t pins;
	uint32_t hash_next;
	uint32_t lru_prev, lru_next;    /* NIL when not on the LRU list */
	uint32_t free_next;
	int status;                     /* a DEAD slot's error, for its waiters */
	uint8_t state;
	bool dirty, kept, on_lru;
};

struct owner {
	gp_host_evict_fn evict;
	void *ctx;
	bool used;
};

struct gp_host_pool {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct gp_host_mem mem;
	uint64_t slot_size;
	uint64_t stride;                /* slot_size + GP_HOST_SLOT_ROOM */
	uint32_t n_slots;
	struct slot *slots;
	uint32_t *buckets;
	uint32_t bucket_mask;
	uint32_t free_head;
	uint32_t lru_head, lru_tail;    /* head: least recently used */
	uint32_t n_evicting;
	struct owner *owners;
	uint32_t n_owners;
	uint64_t hits, misses, evictions;
};

static uint32_t hash_key(const struct gp_host_pool *pool, uint32_t owner, uint64_t index)
{
	uint64_t h = (index ^ ((uint64_t)owner << 40)) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32) & pool->bucket_mask;
}

static uint32_t hash_find(const struct gp_host_pool *pool, uint32_t owner, uint64_t index)
{
	uint32_t i = pool->buckets[hash_key(pool, owner, index)];

	while (i != NIL && (pool->slots[i].owner != owner || pool->slots[i].index != index))
		i = pool->slots[i].hash_next;
	return i;
}

static void hash_insert(struct gp_host_pool *pool, uint32_t i)
{
	uint32_t *head = &pool->buckets[hash_key(pool, pool->slots[i].owner, pool->slots[i].index)];

	pool->slots[i].hash_next = *head;
	*head = i;
}

static void hash_remove(struct gp_host_pool *pool, uint32_t i)
{
	uint32_t *p = &pool->buckets[hash_key(pool, pool->slots[i].owner, pool->slots[i].index)];

	while (*p != i)
		p = &pool->slots[*p].hash_next;
	*p = pool->slots[i].hash_next;
}

static void lru_remove(struct gp_host_pool *pool, uint32_t i)
{
	struct slot *s = &pool->slots[i];

	if (!s->on_lru)
		return;
	if (s->lru_prev != NIL)
		pool->slots[s->lru_prev].lru_next = s->lru_next;
	else
		pool->lru_head = s->lru_next;
	if (s->lru_next != NIL)
		pool->slots[s->lru_next].lru_prev = s->lru_prev;
	else
		pool->lru_tail = s->lru_prev;
	s->on_lru = false;
}

/* Put the slot on the LRU list (as most recent) exactly when it may be evicted. */
static void lru_update(struct gp_host_pool *pool, uint32_t i)
{
	struct slot *s = &pool->slots[i];
	bool evictable = s->state == SLOT_READY && !s->pins && !s->dirty && !s->kept;

	if (!evictable) {
		lru_remove(pool, i);
		return;
	}
	if (s->on_lru)
		return;
	s->lru_prev = pool->lru_tail;
	s->lru_next = NIL;
	if (pool->lru_tail != NIL)
		pool->slots[pool->lru_tail].lru_next = i;
	else
		pool->lru_head = i;
	pool->lru_tail = i;
	s->on_lru = true;
}

static void slot_free(struct gp_host_pool *pool, uint32_t i)
{
	struct slot *s = &pool->slots[i];

	s->state = SLOT_FREE;
	s->dirty = s->kept = false;
	s->pins = 0;
	s->free_next = pool->free_head;
	pool->free_head = i;
}

/* Take the slot out of the table; freed now if unpinned, else by the last put. */
static void slot_kill(struct gp_host_pool *pool, uint32_t i, int status)
{
	struct slot *s = &pool->slots[i];

	lru_remove(pool, i);
	hash_remove(pool, i);
	s->state = SLOT_DEAD;
	s->status = status;
	if (!s->pins)
		slot_free(pool, i);
}

int gp_host_pool_open(const struct gp_host_pool_opts *opts, struct gp_host_pool **out)
{
	struct gp_host_pool *pool;
	uint64_t budget = opts->budget, count, buckets;
	long page = sysconf(_SC_PAGESIZE);
	char size_text[32], slot_text[32];
	int err;

	if (!opts->slot_size || opts->slot_size % (uint64_t)page)
		return gp_fail(GP_EINVAL, "host pool: slot size %" PRIu64 " is not a multiple of the "
			       "page size (%ld)", opts->slot_size, page);
	if (!budget) {
		err = gp_host_budget_default(&budget, NULL);
		if (err)
			return err;
	}
	count = budget / opts->slot_size;
	if (count == 0)
		return gp_fail(GP_EINVAL, "host pool: budget %" PRIu64 " is smaller than one slot "
			       "(%" PRIu64 " bytes)", budget, opts->slot_size);
	err = gp_host_budget_check(count * opts->slot_size);
	if (err)
		return err;
	if (count >= NIL)
		return gp_fail(GP_ERANGE, "host pool: %" PRIu64 " slots are too many", count);

	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return gp_fail(GP_ENOMEM, "host pool: out of memory");
	pool->slot_size = opts->slot_size;
	pool->stride = opts->slot_size + GP_HOST_SLOT_ROOM;
	pool->n_slots = (uint32_t)count;
	for (buckets = 16; buckets < 2 * count; buckets *= 2)
		;
	pool->bucket_mask = (uint32_t)(buckets - 1);
	pool->slots = calloc(count, sizeof(*pool->slots));
	pool->buckets = malloc(buckets * sizeof(*pool->buckets));
	if (!pool->slots || !pool->buckets) {
		err = gp_fail(GP_ENOMEM, "host pool: out of memory for %" PRIu64 " slots", count);
		goto fail;
	}
	memset(pool->buckets, 0xff, buckets * sizeof(*pool->buckets));
	pool->free_head = pool->lru_head = pool->lru_tail = NIL;
	for (uint32_t i = pool->n_slots; i-- > 0;)
		slot_free(pool, i);
	err = gp_host_mem_alloc(&pool->mem, count * pool->stride, opts->numa_node, opts->gpu,
				opts->io);
	if (err)
		goto fail;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->changed, NULL);
	gp_format_size_prec((uint64_t)pool->n_slots * pool->slot_size, 1, size_text, sizeof(size_text));
	gp_format_size_prec(pool->slot_size, 1, slot_text, sizeof(slot_text));
	gp_log_info("host pool: %s in %u slots of %s, NUMA node %d%s%s", size_text, pool->n_slots,
		    slot_text, pool->mem.numa_node, opts->gpu ? ", pinned" : "",
		    opts->io ? ", reader's fixed buffers" : "");
	*out = pool;
	return 0;
fail:
	free(pool->slots);
	free(pool->buckets);
	free(pool);
	return err;
}

void gp_host_pool_close(struct gp_host_pool *pool)
{
	uint32_t pinned = 0;

	if (!pool)
		return;
	for (uint32_t i = 0; i < pool->n_slots; i++)
		pinned += pool->slots[i].pins != 0;
	if (pinned)
		gp_log_warn("host pool: closed with %u slots still pinned", pinned);
	gp_host_mem_free(&pool->mem);
	pthread_cond_destroy(&pool->changed);
	pthread_mutex_destroy(&pool->lock);
	free(pool->owners);
	free(pool->slots);
	free(pool->buckets);
	free(pool);
}

uint64_t gp_host_pool_slot_size(const struct gp_host_pool *pool)
{
	return pool->slot_size;
}

uint32_t gp_host_pool_slot_count(const struct gp_host_pool *pool)
{
	return pool->n_slots;
}

void *gp_host_pool_slot_addr(const struct gp_host_pool *pool, uint32_t slot)
{
	return (char *)pool->mem.base + (uint64_t)slot * pool->stride;
}

int gp_host_pool_owner_add(struct gp_host_pool *pool, gp_host_evict_fn evict, void *ctx,
			   uint32_t *owner)
{
	struct owner *grown;
	uint32_t i;

	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < pool->n_owners && pool->owners[i].used; i++)
		;
	if (i == pool->n_owners) {
		grown = realloc(pool->owners, (pool->n_owners + 1) * sizeof(*grown));
		if (!grown) {
			pthread_mutex_unlock(&pool->lock);
			return gp_fail(GP_ENOMEM, "host pool: out of memory for an owner");
		}
		pool->owners = grown;
		pool->n_owners++;
	}
	pool->owners[i] = (struct owner){ evict, ctx, true };
	*owner = i;
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

void gp_host_pool_owner_remove(struct gp_host_pool *pool, uint32_t owner)
{
	uint32_t pinned = 0;

	pthread_mutex_lock(&pool->lock);
	for (uint32_t i = 0; i < pool->n_slots; i++) {
		struct slot *s = &pool->slots[i];

		/* The owner's callback may be running: it must be done before the owner goes. */
		while (s->owner == owner && s->state == SLOT_EVICTING)
			pthread_cond_wait(&pool->changed, &pool->lock);
		if (s->owner != owner || (s->state != SLOT_FILLING && s->state != SLOT_READY))
			continue;
		pinned += s->pins != 0;
		slot_kill(pool, i, GP_ENOENT);
	}
	pool->owners[owner].used = false;
	pthread_cond_broadcast(&pool->changed);
	pthread_mutex_unlock(&pool->lock);
	if (pinned)
		gp_log_warn("host pool: owner %u removed with %u slots still pinned", owner, pinned);
}

/*
 * With the lock held: a slot to load a new key into, pinned, or NIL when
 * every slot is pinned, dirty or kept.  May drop the lock to run an
 * owner's evict callback; *retry then says the table may have changed.
 */
static uint32_t take_slot(struct gp_host_pool *pool, bool *retry)
{
	uint32_t i = pool->free_head;
	struct slot *s;
	struct owner o;

	*retry = false;
	if (i != NIL) {
		pool->free_head = pool->slots[i].free_next;
		return i;
	}
	i = pool->lru_head;
	if (i == NIL)
		return NIL;
	s = &pool->slots[i];
	lru_remove(pool, i);
	o = pool->owners[s->owner];
	if (o.evict) {
		s->state = SLOT_EVICTING;
		pool->n_evicting++;
		pthread_mutex_unlock(&pool->lock);
		o.evict(o.ctx, s->index);
		pthread_mutex_lock(&pool->lock);
		pool->n_evicting--;
		*retry = true;
	}
	hash_remove(pool, i);
	pool->evictions++;
	pthread_cond_broadcast(&pool->changed);
	return i;
}

int gp_host_pool_get(struct gp_host_pool *pool, uint32_t owner, uint64_t index,
		     uint32_t *slot, bool *fresh)
{
	char slot_text[32];
	uint32_t i;
	bool retry;
	int err = 0;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		i = hash_find(pool, owner, index);
		if (i != NIL) {
			struct slot *s = &pool->slots[i];

			if (s->state == SLOT_EVICTING) {
				pthread_cond_wait(&pool->changed, &pool->lock);
				continue;
			}
			s->pins++;
			lru_remove(pool, i);
			while (s->state == SLOT_FILLING)
				pthread_cond_wait(&pool->changed, &pool->lock);
			if (s->state == SLOT_DEAD) {
				/* The filler's message is in its own thread: name the code here. */
				err = gp_fail(s->status, "host pool: chunk %" PRIu64 " of owner %u "
					      "failed to load in another thread (%s)", index, owner,
					      gp_error_name(s->status));
				if (!--s->pins)
					slot_free(pool, i);
				goto out;
			}
			pool->hits++;
			*fresh = false;
			break;
		}
		i = take_slot(pool, &retry);
		if (i == NIL) {
			if (pool->n_evicting) {
				pthread_cond_wait(&pool->changed, &pool->lock);
				continue;
			}
			gp_format_size_prec(pool->slot_size, 1, slot_text, sizeof(slot_text));
			err = gp_fail(GP_EHOSTMEM, "host slot pool exhausted: %u slots of %s pinned "
				      "or dirty", pool->n_slots, slot_text);
			goto out;
		}
		/* Someone may have loaded our key while the callback ran. */
		if (retry && hash_find(pool, owner, index) != NIL) {
			slot_free(pool, i);
			continue;
		}
		pool->slots[i] = (struct slot){ .index = index, .owner = owner, .pins = 1,
						.state = SLOT_FILLING, .lru_prev = NIL,
						.lru_next = NIL };
		hash_insert(pool, i);
		pool->misses++;
		*fresh = true;
		break;
	}
	*slot = i;
out:
	pthread_mutex_unlock(&pool->lock);
	return err;
}

int gp_host_pool_lookup(struct gp_host_pool *pool, uint32_t owner, uint64_t index,
			uint32_t *slot)
{
	uint32_t i;
	int err = GP_ENOENT;

	pthread_mutex_lock(&pool->lock);
	i = hash_find(pool, owner, index);
	if (i != NIL && pool->slots[i].state == SLOT_READY) {
		pool->slots[i].pins++;
		lru_remove(pool, i);
		pool->hits++;
		*slot = i;
		err = 0;
	}
	pthread_mutex_unlock(&pool->lock);
	return err;
}

void gp_host_pool_drop(struct gp_host_pool *pool, uint32_t owner, uint64_t index)
{
	uint32_t i;

	pthread_mutex_lock(&pool->lock);
	i = hash_find(pool, owner, index);
	/* A slot being filled or evicted finishes first; then nobody finds it again. */
	while (i != NIL && (pool->slots[i].state == SLOT_FILLING ||
			    pool->slots[i].state == SLOT_EVICTING)) {
		pthread_cond_wait(&pool->changed, &pool->lock);
		i = hash_find(pool, owner, index);
	}
	if (i != NIL && pool->slots[i].state == SLOT_READY)
		slot_kill(pool, i, GP_ENOENT);
	pthread_cond_broadcast(&pool->changed);
	pthread_mutex_unlock(&pool->lock);
}

void gp_host_pool_filled(struct gp_host_pool *pool, uint32_t slot, int status)
{
	struct slot *s = &pool->slots[slot];

	pthread_mutex_lock(&pool->lock);
	if (s->state == SLOT_DEAD) {
		/* Its owner was removed meanwhile: the filler's put (or this failure) frees it. */
		if (status < 0 && !--s->pins)
			slot_free(pool, slot);
	} else if (status < 0) {
		s->pins--;
		slot_kill(pool, slot, status);
	} else {
		s->state = SLOT_READY;
	}
	pthread_cond_broadcast(&pool->changed);
	pthread_mutex_unlock(&pool->lock);
}

void gp_host_pool_put(struct gp_host_pool *pool, uint32_t slot)
{
	struct slot *s = &pool->slots[slot];

	pthread_mutex_lock(&pool->lock);
	if (!s->pins) {
		gp_log_warn("host pool: put of unpinned slot %u", slot);
	} else if (!--s->pins) {
		if (s->state == SLOT_DEAD)
			slot_free(pool, slot);
		else
			lru_update(pool, slot);
	}
	pthread_mutex_unlock(&pool->lock);
}

void gp_host_pool_set_dirty(struct gp_host_pool *pool, uint32_t slot, bool dirty)
{
	pthread_mutex_lock(&pool->lock);
	pool->slots[slot].dirty = dirty;
	lru_update(pool, slot);
	pthread_mutex_unlock(&pool->lock);
}

void gp_host_pool_set_kept(struct gp_host_pool *pool, uint32_t slot, bool kept)
{
	pthread_mutex_lock(&pool->lock);
	pool->slots[slot].kept = kept;
	lru_update(pool, slot);
	pthread_mutex_unlock(&pool->lock);
}

void gp_host_pool_get_stats(struct gp_host_pool *pool, struct gp_host_pool_stats *out)
{
	uint64_t used = 0, pinned = 0, dirty = 0;

	pthread_mutex_lock(&pool->lock);
	for (uint32_t i = 0; i < pool->n_slots; i++) {
		const struct slot *s = &pool->slots[i];

		used += s->state == SLOT_FILLING || s->state == SLOT_READY ||
			s->state == SLOT_EVICTING;
		pinned += s->pins != 0;
		dirty += s->dirty;
	}
	*out = (struct gp_host_pool_stats){
		.capacity = (uint64_t)pool->n_slots * pool->slot_size,
		.used = used * pool->slot_size,
		.pinned = pinned * pool->slot_size,
		.dirty = dirty * pool->slot_size,
		.hits = pool->hits,
		.misses = pool->misses,
		.evictions = pool->evictions,
		.registered = pool->mem.gpu != NULL,
		.numa_node = pool->mem.numa_node,
	};
	pthread_mutex_unlock(&pool->lock);
}
