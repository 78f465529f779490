/* test_hostpool.c - the host slot pool: budget, cache states, waiters, LRU, dirty/kept, owners, pinning. */
#include <criterion/criterion.h>
#include <numa.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostpool.h"
#include "common/cuda_env.h"

#define SLOT (64u << 10)

static struct gp_host_pool *open_pool(uint32_t slots)
{
	struct gp_host_pool_opts opts = { .budget = (uint64_t)slots * SLOT, .slot_size = SLOT,
					  .numa_node = -1 };
	struct gp_host_pool *pool = NULL;
	int err = gp_host_pool_open(&opts, &pool);

	cr_assert_eq(err, 0, "gp_host_pool_open: %s", gp_last_error());
	cr_assert_eq(gp_host_pool_slot_count(pool), slots);
	return pool;
}

/* A slot's contents for key (owner, index): every 8-byte word says which key. */
static void fill_pattern(struct gp_host_pool *pool, uint32_t slot, uint32_t owner, uint64_t index)
{
	uint64_t *p = gp_host_pool_slot_addr(pool, slot);

	for (size_t i = 0; i < SLOT / 8; i++)
		p[i] = ((uint64_t)owner << 48) ^ (index << 20) ^ i;
}

static bool has_pattern(struct gp_host_pool *pool, uint32_t slot, uint32_t owner, uint64_t index)
{
	const uint64_t *p = gp_host_pool_slot_addr(pool, slot);

	for (size_t i = 0; i < SLOT / 8; i++)
		if (p[i] != (((uint64_t)owner << 48) ^ (index << 20) ^ i))
			return false;
	return true;
}

/* Load key (owner, index) as the engine does and unpin it; returns its slot. */
static uint32_t load(struct gp_host_pool *pool, uint32_t owner, uint64_t index)
{
	uint32_t slot;
	bool fresh;
	int err = gp_host_pool_get(pool, owner, index, &slot, &fresh);

	cr_assert_eq(err, 0, "get(%u, %lu): %s", owner, (unsigned long)index, gp_last_error());
	if (fresh) {
		fill_pattern(pool, slot, owner, index);
		gp_host_pool_filled(pool, slot, 0);
	}
	cr_assert(has_pattern(pool, slot, owner, index));
	gp_host_pool_put(pool, slot);
	return slot;
}

static bool cached(struct gp_host_pool *pool, uint32_t owner, uint64_t index)
{
	uint32_t slot;

	if (gp_host_pool_lookup(pool, owner, index, &slot))
		return false;
	cr_assert(has_pattern(pool, slot, owner, index));
	gp_host_pool_put(pool, slot);
	return true;
}

struct evict_log {
	uint64_t index[64];
	unsigned n;
};

static void record_evict(void *ctx, uint64_t index)
{
	struct evict_log *log = ctx;

	if (log->n < 64)
		log->index[log->n] = index;
	log->n++;
}

Test(budget, too_large_fails_up_front_with_sizes)
{
	struct gp_host_pool_opts opts = { .budget = 1ull << 50, .slot_size = SLOT, .numa_node = -1 };
	struct gp_host_pool *pool = NULL;

	cr_assert_eq(gp_host_pool_open(&opts, &pool), GP_EHOSTMEM);
	cr_expect_null(pool);
	gp_test_expect_error("insufficient host memory: need 1.0 PiB, available ");
	cr_expect(strstr(gp_last_error(), " GiB (MemAvailable); set GPUPAGER_HOST_BUDGET lower"),
		  "%s", gp_last_error());
}

Test(budget, smaller_than_a_slot_or_odd_slot_size_is_invalid)
{
	struct gp_host_pool_opts opts = { .budget = SLOT - 1, .slot_size = SLOT, .numa_node = -1 };
	struct gp_host_pool *pool = NULL;

	cr_expect_eq(gp_host_pool_open(&opts, &pool), GP_EINVAL);
	opts.budget = 4 * SLOT;
	opts.slot_size = SLOT + 100;
	cr_expect_eq(gp_host_pool_open(&opts, &pool), GP_EINVAL);
}

Test(budget, default_is_half_of_mem_available)
{
	uint64_t budget = 0, avail = 0;

	unsetenv("GPUPAGER_HOST_BUDGET");
	cr_assert_eq(gp_host_budget_default(&budget, &avail), 0, "%s", gp_last_error());
	cr_expect_gt(avail, 0);
	cr_expect_eq(budget, avail / 2);
}

Test(budget, percent_from_the_environment)
{
	uint64_t budget = 0, avail = 0;

	setenv("GPUPAGER_HOST_BUDGET", "10%", 1);
	cr_assert_eq(gp_host_budget_default(&budget, &avail), 0, "%s", gp_last_error());
	cr_expect_eq(budget, (uint64_t)((double)avail * 0.1));
}

Test(budget, size_from_the_environment_is_used_by_open)
{
	struct gp_host_pool_opts opts = { .slot_size = SLOT, .numa_node = -1 };
	struct gp_host_pool *pool = NULL;
	uint64_t budget = 0;

	setenv("GPUPAGER_HOST_BUDGET", "1M", 1);
	cr_assert_eq(gp_host_budget_default(&budget, NULL), 0, "%s", gp_last_error());
	cr_expect_eq(budget, 1u << 20);
	cr_assert_eq(gp_host_pool_open(&opts, &pool), 0, "%s", gp_last_error());
	cr_expect_eq(gp_host_pool_slot_count(pool), (1u << 20) / SLOT);
	gp_host_pool_close(pool);
}

Test(pool, get_fill_put_lookup)
{
	struct gp_host_pool *pool = open_pool(4);
	uint32_t owner, slot, again;
	bool fresh;

	cr_assert_eq(gp_host_pool_owner_add(pool, NULL, NULL, &owner), 0);
	cr_assert_eq(gp_host_pool_get(pool, owner, 7, &slot, &fresh), 0);
	cr_expect(fresh);
	cr_expect_eq(gp_host_pool_lookup(pool, owner, 7, &again), GP_ENOENT, "FILLING is not READY");
	fill_pattern(pool, slot, owner, 7);
	gp_host_pool_filled(pool, slot, 0);
	gp_host_pool_put(pool, slot);

	cr_assert_eq(gp_host_pool_lookup(pool, owner, 7, &again), 0);
	cr_expect_eq(again, slot);
	cr_expect(has_pattern(pool, again, owner, 7));
	gp_host_pool_put(pool, again);
	cr_assert_eq(gp_host_pool_get(pool, owner, 7, &again, &fresh), 0);
	cr_expect_not(fresh);
	cr_expect_eq(again, slot);
	gp_host_pool_put(pool, again);
	cr_expect_eq(gp_host_pool_lookup(pool, owner, 8, &again), GP_ENOENT);
	gp_host_pool_close(pool);
}

struct waiter {
	struct gp_host_pool *pool;
	uint32_t owner;
	int err;
	bool fresh, intact;
	pthread_barrier_t *started;
};

static void *wait_for_key(void *arg)
{
	struct waiter *w = arg;
	uint32_t slot;

	pthread_barrier_wait(w->started);
	w->err = gp_host_pool_get(w->pool, w->owner, 3, &slot, &w->fresh);
	if (!w->err) {
		if (w->fresh) {
			fill_pattern(w->pool, slot, w->owner, 3);
			gp_host_pool_filled(w->pool, slot, 0);
		}
		w->intact = has_pattern(w->pool, slot, w->owner, 3);
		gp_host_pool_put(w->pool, slot);
	}
	return NULL;
}

/* Threads asking for a FILLING key wait, then see what the filler wrote (or its error). */
static void run_waiters(int status)
{
	struct gp_host_pool *pool = open_pool(4);
	struct waiter w[4];
	pthread_t th[4];
	pthread_barrier_t started;
	uint32_t owner, slot;
	bool fresh;

	cr_assert_eq(gp_host_pool_owner_add(pool, NULL, NULL, &owner), 0);
	cr_assert_eq(gp_host_pool_get(pool, owner, 3, &slot, &fresh), 0);
	cr_assert(fresh);
	pthread_barrier_init(&started, NULL, 5);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct waiter){ pool, owner, 1, true, false, &started };
		pthread_create(&th[i], NULL, wait_for_key, &w[i]);
	}
	pthread_barrier_wait(&started);
	usleep(20000);  /* let them reach the wait; correctness does not depend on it */
	fill_pattern(pool, slot, owner, 3);
	gp_host_pool_filled(pool, slot, status);
	if (!status)
		gp_host_pool_put(pool, slot);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (status) {
			/* A waiter that came after the failure loads the key afresh. */
			cr_expect(w[i].err == status || (w[i].err == 0 && w[i].fresh),
				  "waiter %d: err %d", i, w[i].err);
		} else {
			cr_expect_eq(w[i].err, 0);
			cr_expect_not(w[i].fresh);
			cr_expect(w[i].intact, "waiter %d saw the slot before it was filled", i);
		}
	}
	pthread_barrier_destroy(&started);
	gp_host_pool_close(pool);
}

Test(pool, waiters_see_the_filled_data)
{
	run_waiters(0);
}

Test(pool, failed_fill_fails_the_waiters_and_frees_the_key)
{
	struct gp_host_pool *pool = open_pool(2);
	struct gp_host_pool_stats st;
	uint32_t owner, slot;
	bool fresh;

	run_waiters(GP_EIO);
	cr_assert_eq(gp_host_pool_owner_add(pool, NULL, NULL, &owner), 0);
	cr_assert_eq(gp_host_pool_get(pool, owner, 1, &slot, &fresh), 0);
	gp_host_pool_filled(pool, slot, GP_EIO);
	cr_expect_eq(gp_host_pool_lookup(pool, owner, 1, &slot), GP_ENOENT);
	gp_host_pool_get_stats(pool, &st);
	cr_expect_eq(st.used, 0);
	cr_expect_eq(st.pinned, 0);
	cr_assert_eq(gp_host_pool_get(pool, owner, 1, &slot, &fresh), 0);
	cr_expect(fresh);
	gp_host_pool_filled(pool, slot, 0);
	gp_host_pool_put(pool, slot);
	gp_host_pool_close(pool);
}

Test(pool, evicts_least_recently_used_and_calls_the_owner)
{
	struct gp_host_pool *pool = open_pool(4);
	struct evict_log log = { 0 };
	uint32_t owner;

	cr_assert_eq(gp_host_pool_owner_add(pool, record_evict, &log, &owner), 0);
	for (uint64_t k = 0; k < 4; k++)
		load(pool, owner, k);
	cr_expect(cached(pool, owner, 0));      /* 0 becomes the most recent */
	load(pool, owner, 4);
	cr_assert_eq(log.n, 1);
	cr_expect_eq(log.index[0], 1);
	cr_expect_not(cached(pool, owner, 1));
	load(pool, owner, 5);
	cr_assert_eq(log.n, 2);
	cr_expect_eq(log.index[1], 2);
	cr_expect(cached(pool, owner, 0));
	cr_expect(cached(pool, owner, 3));
	cr_expect(cached(pool, owner, 4));
	cr_expect(cached(pool, owner, 5));
	gp_host_pool_close(pool);
}

Test(pool, dirty_and_kept_are_never_evicted)
{
	struct gp_host_pool *pool = open_pool(3);
	struct evict_log log = { 0 };
	uint32_t owner, s0, s1, s3;
	bool fresh;

	cr_assert_eq(gp_host_pool_owner_add(pool, record_evict, &log, &owner), 0);
	s0 = load(pool, owner, 0);
	s1 = load(pool, owner, 1);
	load(pool, owner, 2);
	gp_host_pool_set_dirty(pool, s0, true);
	gp_host_pool_set_kept(pool, s1, true);
	load(pool, owner, 3);                   /* only 2 may go */
	cr_assert_eq(log.n, 1);
	cr_expect_eq(log.index[0], 2);
	cr_assert_eq(gp_host_pool_get(pool, owner, 3, &s3, &fresh), 0);
	cr_expect_not(fresh);
	cr_expect_eq(gp_host_pool_get(pool, owner, 9, &s3, &fresh), GP_EHOSTMEM);
	gp_test_expect_error("host slot pool exhausted: 3 slots of 64.0 KiB pinned or dirty");
	cr_expect(cached(pool, owner, 0));
	cr_expect(cached(pool, owner, 1));
	gp_host_pool_put(pool, s3);

	gp_host_pool_set_dirty(pool, s0, false);
	load(pool, owner, 9);                   /* 3 is older than the cleaned 0 */
	cr_expect_eq(log.index[1], 3);
	load(pool, owner, 10);
	cr_expect_eq(log.index[2], 0);
	cr_expect(cached(pool, owner, 1));
	gp_host_pool_close(pool);
}

Test(pool, owner_remove_drops_only_that_owner)
{
	struct gp_host_pool *pool = open_pool(4);
	struct gp_host_pool_stats st;
	struct evict_log log = { 0 };
	uint32_t a, b, slot;

	cr_assert_eq(gp_host_pool_owner_add(pool, record_evict, &log, &a), 0);
	cr_assert_eq(gp_host_pool_owner_add(pool, record_evict, &log, &b), 0);
	cr_expect_neq(a, b);
	load(pool, a, 0);
	load(pool, b, 0);
	slot = load(pool, a, 1);
	gp_host_pool_set_dirty(pool, slot, true);
	gp_host_pool_owner_remove(pool, a);
	cr_expect_eq(log.n, 0, "removal is not eviction");
	cr_expect_not(cached(pool, a, 0));
	cr_expect_not(cached(pool, a, 1));
	cr_expect(cached(pool, b, 0));
	gp_host_pool_get_stats(pool, &st);
	cr_expect_eq(st.used, SLOT);
	cr_expect_eq(st.dirty, 0);
	gp_host_pool_close(pool);
}

Test(pool, stats)
{
	struct gp_host_pool *pool = open_pool(2);
	struct gp_host_pool_stats st;
	uint32_t owner, slot;
	bool fresh;

	cr_assert_eq(gp_host_pool_owner_add(pool, NULL, NULL, &owner), 0);
	load(pool, owner, 0);                   /* miss */
	load(pool, owner, 0);                   /* hit */
	cr_assert_eq(gp_host_pool_get(pool, owner, 1, &slot, &fresh), 0);   /* miss */
	gp_host_pool_filled(pool, slot, 0);
	gp_host_pool_set_dirty(pool, slot, true);
	gp_host_pool_get_stats(pool, &st);
	cr_expect_eq(st.capacity, 2 * SLOT);
	cr_expect_eq(st.used, 2 * SLOT);
	cr_expect_eq(st.pinned, SLOT);
	cr_expect_eq(st.dirty, SLOT);
	cr_expect_eq(st.hits, 1);
	cr_expect_eq(st.misses, 2);
	cr_expect_eq(st.evictions, 0);
	cr_expect_not(st.registered);
	cr_expect_eq(st.numa_node, -1);
	gp_host_pool_put(pool, slot);
	load(pool, owner, 2);                   /* evicts 0 */
	gp_host_pool_get_stats(pool, &st);
	cr_expect_eq(st.evictions, 1);
	cr_expect_eq(st.pinned, 0);
	gp_host_pool_close(pool);
}

Test(pool, placed_on_the_numa_node)
{
	struct gp_host_pool_opts opts = { .budget = 4 * SLOT, .slot_size = SLOT, .numa_node = 0 };
	struct gp_host_pool_stats st;
	struct gp_host_pool *pool = NULL;

	cr_assert_eq(gp_host_pool_open(&opts, &pool), 0, "%s", gp_last_error());
	gp_host_pool_get_stats(pool, &st);
	cr_expect_eq(st.numa_node, numa_available() >= 0 ? 0 : -1);
	gp_host_pool_close(pool);
	opts.numa_node = 4000;
	if (numa_available() >= 0)
		cr_expect_eq(gp_host_pool_open(&opts, &pool), GP_EINVAL);
}

struct hammer {
	struct gp_host_pool *pool;
	uint32_t owner;
	unsigned seed;
	bool ok;
};

static void *hammer_keys(void *arg)
{
	struct hammer *h = arg;

	h->ok = true;
	for (int n = 0; n < 3000; n++) {
		uint64_t index = (uint64_t)rand_r(&h->seed) % 24;
		uint32_t slot;
		bool fresh;
		int err = gp_host_pool_get(h->pool, h->owner, index, &slot, &fresh);

		if (err == GP_EHOSTMEM)
			continue;       /* every slot pinned by the other threads at this instant */
		if (err) {
			h->ok = false;
			break;
		}
		if (fresh) {
			fill_pattern(h->pool, slot, h->owner, index);
			gp_host_pool_filled(h->pool, slot, 0);
		}
		if (!has_pattern(h->pool, slot, h->owner, index))
			h->ok = false;
		gp_host_pool_put(h->pool, slot);
	}
	return NULL;
}

static void count_evict(void *ctx, uint64_t index)
{
	(void)index;
	__atomic_add_fetch((unsigned *)ctx, 1, __ATOMIC_RELAXED);
}

/* Threads sharing keys through a pool smaller than the key set: every pinned slot holds its key. */
Test(pool, threads_with_evictions_keep_keys_and_data_together)
{
	struct gp_host_pool *pool = open_pool(8);
	struct gp_host_pool_stats st;
	struct hammer h[4];
	pthread_t th[4];
	unsigned evicted = 0;
	uint32_t owner;

	cr_assert_eq(gp_host_pool_owner_add(pool, count_evict, &evicted, &owner), 0);
	for (unsigned i = 0; i < 4; i++) {
		h[i] = (struct hammer){ pool, owner, i + 1, false };
		pthread_create(&th[i], NULL, hammer_keys, &h[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_expect(h[i].ok, "thread %d saw a slot holding another key", i);
	}
	gp_host_pool_get_stats(pool, &st);
	cr_expect_gt(st.evictions, 0);
	cr_expect_eq(st.evictions, evicted);
	cr_expect_eq(st.pinned, 0);
	gp_host_pool_close(pool);
}

Test(gpu, pool_memory_is_registered_with_the_driver, .init = gp_test_cuda_env)
{
	struct gp_host_pool_opts opts = { .budget = 4 * SLOT, .slot_size = SLOT, .numa_node = -1 };
	struct gp_host_pool_stats st;
	struct gp_host_pool *pool = NULL;
	void *base;

	opts.gpu = gp_test_gpu_open();
	cr_assert_eq(gp_host_pool_open(&opts, &pool), 0, "%s", gp_last_error());
	gp_host_pool_get_stats(pool, &st);
	cr_expect(st.registered);
	base = gp_host_pool_slot_addr(pool, 0);
	/* Already pinned: the driver refuses a second registration of the range. */
	cr_expect_neq(gp_gpu_host_register(opts.gpu, base, SLOT), 0);
	gp_host_pool_close(pool);
	gp_gpu_close(opts.gpu);
}
