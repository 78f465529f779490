/*
 * test_trim.c - gp_pager_set_vram_budget and gp_pager_trim on the
 * simulated device: the pool follows the budget down and up while a model
 * pages, acquired chunks stay, memory really goes back to the device, and
 * written data survives.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "common/pager_fixture.h"

static uint64_t device_free(struct gp_test_pager *t)
{
	uint64_t free_bytes, total;

	cr_assert_eq(gp_gpu_mem_info(t->p->gpu, &free_bytes, &total), 0, "%s", gp_last_error());
	return free_bytes;
}

static struct gp_pager_stats stats(struct gp_test_pager *t)
{
	struct gp_pager_stats s = { .struct_size = sizeof(s) };

	cr_assert_eq(gp_pager_get_stats(t->p, &s), 0, "%s", gp_last_error());
	return s;
}

/* Until the prefetch worker has nothing queued or loading (it may hold LOADING chunks). */
static void wait_prefetch_idle(struct gp_test_pager *t)
{
	for (int i = 0; i < 5000; i++) {
		bool idle;

		pthread_mutex_lock(&t->p->lock);
		idle = !t->p->n_prefetch && !t->p->prefetch_current;
		pthread_mutex_unlock(&t->p->lock);
		if (idle)
			return;
		usleep(1000);
	}
	cr_assert_fail("the prefetch worker did not go idle");
}

/* Chunks of the model's largest group. */
static uint64_t largest_group(struct gp_test_pager *t)
{
	uint64_t most = 0;

	for (uint32_t g = 0; g < t->m->desc->n_groups; g++)
		if (t->m->group_chunk_count[g] > most)
			most = t->m->group_chunk_count[g];
	return most;
}

/* A pass that checks, after every group, that neither the gauge nor the device exceed the budget. */
static void pass_within(struct gp_test_pager *t, uint64_t budget, uint64_t min_free)
{
	for (uint32_t g = 0; g < gp_model_group_count(t->m); g++) {
		struct gp_pager_stats s;

		cr_assert_eq(gp_test_check_group(t, g), 0, "group %u has wrong data", g);
		s = stats(t);
		cr_assert_leq(s.vram_used, budget, "group %u: pool %llu above the budget %llu", g,
			      (unsigned long long)s.vram_used, (unsigned long long)budget);
		cr_assert_geq(device_free(t), min_free, "group %u: the device lost memory", g);
	}
}

Test(trim, lower_while_paging_then_raise)
{
	struct gp_test_pager t;
	struct gp_pager_stats s;
	uint64_t cs, old_budget, low, free_before, free_low;

	gp_test_pager_open(&t, "auto", 60);
	cs = t.p->chunk_size;
	cr_assert_eq(gp_test_check_pass(&t), 0);
	cr_assert_eq(gp_test_check_pass(&t), 0);
	old_budget = stats(&t).vram_budget;
	/* Room for the largest group, the result words and one more chunk. */
	low = (largest_group(&t) + 2) * cs;
	if (low < old_budget / 2)
		low = old_budget / 2 / cs * cs;
	cr_assert_lt(low, stats(&t).vram_used, "the test needs a pool above the lowered budget");
	wait_prefetch_idle(&t);
	free_before = device_free(&t);
	s = stats(&t);
	cr_assert_eq(gp_pager_set_vram_budget(t.p, low + cs / 2), 0, "%s", gp_last_error());
	free_low = device_free(&t);
	cr_expect_eq(stats(&t).vram_budget, low, "the budget is not rounded down to chunks");
	cr_expect_leq(stats(&t).vram_used, low);
	cr_expect_eq(free_low - free_before, s.vram_used - stats(&t).vram_used,
		     "the device got %llu bytes back, the pool gave %llu",
		     (unsigned long long)(free_low - free_before),
		     (unsigned long long)(s.vram_used - stats(&t).vram_used));
	for (int i = 0; i < 3; i++)
		pass_within(&t, low, free_low);

	/* Raised again: the pool may grow back, and pages less. */
	cr_assert_eq(gp_pager_set_vram_budget(t.p, old_budget), 0, "%s", gp_last_error());
	cr_expect_eq(stats(&t).vram_budget, old_budget);
	cr_expect_eq(gp_test_check_pass(&t), 0);
	cr_expect_eq(gp_test_check_pass(&t), 0);
	cr_expect_gt(stats(&t).vram_used, low, "the pool did not grow past the old budget");
	cr_expect_leq(stats(&t).vram_used, old_budget);
	cr_expect_eq(gp_pager_set_vram_budget(t.p, cs), GP_EINVAL);
	cr_expect_eq(gp_pager_set_vram_budget(NULL, old_budget), GP_EINVAL);
	gp_test_pager_close(&t);
}

Test(trim, raise_is_capped_by_the_device)
{
	struct gp_test_pager t;
	uint64_t free_bytes;

	gp_test_pager_open(&t, "auto", 50);
	free_bytes = device_free(&t);
	cr_assert_eq(gp_pager_set_vram_budget(t.p, UINT64_MAX / 2), 0, "%s", gp_last_error());
	cr_expect_leq(stats(&t).vram_budget, stats(&t).vram_used + free_bytes);
	cr_expect_eq(gp_test_check_pass(&t), 0);
	gp_test_pager_close(&t);
}

Test(trim, acquired_chunks_stay)
{
	struct gp_test_pager t;
	struct gp_pager_stats s;
	uint64_t cs, held = 1;          /* the result words */
	const uint32_t n = 3;

	gp_test_pager_open(&t, "lru", 60);
	cs = t.p->chunk_size;
	cr_assert_eq(gp_test_check_pass(&t), 0);
	for (uint32_t g = 0; g < n; g++) {
		cr_assert_eq(gp_acquire_group(t.m, g, t.stream), 0, "%s", gp_last_error());
		held += t.m->group_chunk_count[g];
	}
	wait_prefetch_idle(&t);
	cr_assert_eq(gp_pager_set_vram_budget(t.p, 2 * cs), GP_EBUSY);
	cr_expect(strstr(gp_last_error(), "acquired"), "message: %s", gp_last_error());
	cr_expect(strstr(gp_last_error(), "gp_pager_alloc"), "message: %s", gp_last_error());
	s = stats(&t);
	cr_expect_eq(s.vram_budget, 2 * cs, "the budget is not the requested one");
	/* Held: the groups and the result words, nothing else. */
	cr_expect_eq(s.vram_used, held * cs, "pool %llu, %llu held",
		     (unsigned long long)s.vram_used, (unsigned long long)(held * cs));
	for (uint32_t g = 0; g < n; g++) {
		for (uint32_t i = 0; i < t.m->group_chunk_count[g]; i++) {
			struct gp_chunk *ch = &t.m->chunks[t.m->group_first_chunk[g] + i];

			cr_expect_eq(ch->state, GP_CHUNK_RESIDENT, "an acquired chunk was evicted");
			cr_expect(ch->phys);
		}
		cr_assert_eq(gp_release_group(t.m, g, t.stream), 0);
	}
	/* Released: asked again, the pool gets to the budget. */
	cr_assert_eq(gp_pager_set_vram_budget(t.p, 2 * cs), 0, "%s", gp_last_error());
	cr_expect_leq(stats(&t).vram_used, 2 * cs);
	cr_assert_eq(gp_pager_set_vram_budget(t.p, t.m->desc->range_size + (4u << 20)), 0, "%s",
		     gp_last_error());
	cr_expect_eq(gp_test_check_pass(&t), 0);
	gp_test_pager_close(&t);
}

Test(trim, later_releases_shrink_the_pool)
{
	struct gp_test_pager t;
	uint64_t cs, low, held = 1;     /* the result words */
	uint32_t n = 0;

	gp_test_pager_open(&t, "auto", 60);
	cs = t.p->chunk_size;
	cr_assert_eq(gp_test_check_pass(&t), 0);
	low = (largest_group(&t) + 2) * cs;
	/* Hold groups until they alone are above the budget to come. */
	while (held * cs <= low + cs && n < gp_model_group_count(t.m)) {
		cr_assert_eq(gp_acquire_group(t.m, n, t.stream), 0, "%s", gp_last_error());
		held += t.m->group_chunk_count[n++];
	}
	cr_assert_gt(held * cs, low + cs, "the model is too small for the test");
	wait_prefetch_idle(&t);
	cr_assert_eq(gp_pager_set_vram_budget(t.p, low), GP_EBUSY);
	cr_expect_geq(stats(&t).vram_used, held * cs);
	for (uint32_t g = 0; g < n; g++)
		cr_assert_eq(gp_release_group(t.m, g, t.stream), 0);
	/* Each demand load gives one chunk more back than it takes. */
	cr_assert_eq(gp_test_check_pass(&t), 0);
	cr_assert_eq(gp_test_check_pass(&t), 0);
	cr_expect_leq(stats(&t).vram_used, low, "pool %llu above the budget %llu after two passes",
		      (unsigned long long)stats(&t).vram_used, (unsigned long long)low);
	pass_within(&t, low, 0);
	gp_test_pager_close(&t);
}

Test(trim, trim_gives_memory_to_the_device)
{
	struct gp_test_pager t;
	struct gp_pager_stats before, after;
	uint64_t free_before, released = 0, cs;

	gp_test_pager_open(&t, "auto", 60);
	cs = t.p->chunk_size;
	cr_assert_eq(gp_test_check_pass(&t), 0);
	wait_prefetch_idle(&t);

	/* Some bytes: rounded up to a chunk. */
	before = stats(&t);
	free_before = device_free(&t);
	cr_assert_eq(gp_pager_trim(t.p, cs / 2, &released), 0, "%s", gp_last_error());
	cr_expect_eq(released, cs);
	cr_expect_eq(device_free(&t) - free_before, released);
	cr_expect_eq(before.vram_used - stats(&t).vram_used, released);

	/* Everything idle: only the result words stay. */
	before = stats(&t);
	free_before = device_free(&t);
	cr_assert_eq(gp_pager_trim(t.p, 0, &released), 0, "%s", gp_last_error());
	after = stats(&t);
	cr_expect_eq(after.vram_used, cs, "pool %llu after trimming everything",
		     (unsigned long long)after.vram_used);
	cr_expect_eq(released, before.vram_used - after.vram_used);
	cr_expect_eq(device_free(&t) - free_before, released,
		     "the device got %llu bytes back, trim said %llu",
		     (unsigned long long)(device_free(&t) - free_before),
		     (unsigned long long)released);
	cr_expect_eq(after.vram_budget, before.vram_budget, "trim changed the budget");
	cr_expect_gt(after.dev_evictions, before.dev_evictions);
	cr_expect_eq(gp_pager_trim(t.p, 0, NULL), 0, "%s", gp_last_error());

	/* The pool grows back. */
	cr_expect_eq(gp_test_check_pass(&t), 0);
	cr_expect_gt(stats(&t).vram_used, cs);
	cr_expect_eq(gp_pager_trim(NULL, 0, NULL), GP_EINVAL);
	gp_test_pager_close(&t);
}

Test(trim, dirty_data_survives)
{
	struct gp_test_pager t;
	struct gp_tensor_info ti = { .struct_size = sizeof(ti) };
	uint64_t released = 0;
	uint32_t first;
	uint8_t *dev;
	int g;

	gp_test_pager_open(&t, "lru", 60);
	cr_assert(t.p->gpu->is_simulator, "the test writes the simulator's memory from the host");
	g = gp_model_group_find(t.m, "blocks.2");
	cr_assert_geq(g, 0);
	cr_assert_eq(gp_model_tensor_at(t.m, t.m->desc->groups[g].tensors[0], &ti), 0);
	cr_assert_gt(ti.nbytes, 64);
	/* NULL stream: resident when acquire returns; the simulator's device memory is the host's. */
	cr_assert_eq(gp_acquire_range(t.m, ti.range_offset, ti.nbytes, GP_ACCESS_WRITE, NULL), 0,
		     "%s", gp_last_error());
	dev = (uint8_t *)(uintptr_t)ti.device_ptr;
	memset(dev, 0xa5, 64);
	cr_assert_eq(gp_release_range(t.m, ti.range_offset, ti.nbytes, NULL), 0);
	wait_prefetch_idle(&t);
	cr_assert_eq(gp_pager_trim(t.p, 0, &released), 0, "%s", gp_last_error());
	cr_expect_gt(released, 0);
	first = (uint32_t)(ti.range_offset / t.p->chunk_size);
	cr_assert_eq(t.m->chunks[first].state, GP_CHUNK_ABSENT, "the written chunk stayed");
	cr_expect_gt(stats(&t).bytes_d2h, 0, "nothing was written back");
	cr_assert_eq(gp_acquire_range(t.m, ti.range_offset, ti.nbytes, GP_ACCESS_READ, NULL), 0,
		     "%s", gp_last_error());
	for (int i = 0; i < 64; i++)
		cr_expect_eq(dev[i], 0xa5, "byte %d of the written tensor was lost in the trim", i);
	cr_assert_eq(gp_release_range(t.m, ti.range_offset, ti.nbytes, NULL), 0);
	gp_test_pager_close(&t);
}
