/*
 * test_pager.c - the engine end to end on the simulated device: every
 * policy keeps data intact over several passes and budgets, lookups,
 * dirty write-back, offload/restore, app allocations, errors, and
 * injected device out-of-memory.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cuda_env.h"
#include "common/pager_fixture.h"
#include "sample.h"
#include "common/st_fixture.h"

static void passes_intact(const char *policy, double pct, int passes)
{
	struct gp_test_pager t;
	struct gp_pager_stats s = { .struct_size = sizeof(s) };

	gp_test_pager_open(&t, policy, pct);
	for (int i = 0; i < passes; i++)
		cr_expect_eq(gp_test_check_pass(&t), 0, "%s at %.0f%%: pass %d: tensors differ",
			     policy, pct, i + 1);
	cr_assert_eq(gp_pager_get_stats(t.p, &s), 0);
	cr_expect_leq(s.vram_used, s.vram_budget, "VRAM used beyond the budget");
	if (pct > 0 && pct < 100)
		cr_expect_gt(s.dev_evictions, 0, "a budget below the model evicts");
	gp_test_pager_close(&t);
}

Test(pager, lru_intact) { passes_intact("lru", 35, 3); }
Test(pager, clock_intact) { passes_intact("clock", 35, 3); }
Test(pager, static_intact) { passes_intact("static", 50, 3); }
Test(pager, auto_intact_small_budget) { passes_intact("auto", 30, 4); }
Test(pager, auto_intact_large_budget) { passes_intact("auto", 70, 3); }
Test(pager, everything_fits) { passes_intact("auto", 0, 2); }

Test(pager, auto_moves_fewer_bytes_than_lru)
{
	uint64_t moved[2];
	const char *policies[2] = { "lru", "auto" };

	for (int i = 0; i < 2; i++) {
		struct gp_test_pager t;
		struct gp_pager_stats a = { .struct_size = sizeof(a) }, b = { .struct_size = sizeof(b) };

		gp_test_pager_open(&t, policies[i], 50);
		gp_test_check_pass(&t);
		gp_test_check_pass(&t);
		gp_pager_get_stats(t.p, &a);
		cr_expect_eq(gp_test_check_pass(&t), 0);
		gp_pager_get_stats(t.p, &b);
		moved[i] = b.bytes_h2d - a.bytes_h2d;
		gp_test_pager_close(&t);
	}
	cr_expect_lt(moved[1], moved[0], "auto moved %llu bytes a pass, lru %llu",
		     (unsigned long long)moved[1], (unsigned long long)moved[0]);
}

Test(pager, lookups)
{
	struct gp_test_pager t;
	struct gp_tensor_info ti = { .struct_size = sizeof(ti) }, tj = { .struct_size = sizeof(tj) };
	struct gp_group_info gi = { .struct_size = sizeof(gi) };
	int g;

	gp_test_pager_open(&t, "auto", 50);
	cr_assert_eq(gp_model_tensor_at(t.m, 3, &ti), 0);
	cr_assert_eq(gp_model_tensor(t.m, ti.name, &tj), 0);
	cr_expect_eq(tj.device_ptr, gp_model_device_base(t.m) + ti.range_offset);
	cr_expect_eq(tj.device_ptr, ti.device_ptr);
	cr_expect_eq(gp_model_tensor(t.m, "no.such.tensor", &tj), GP_ENOENT);
	gp_test_expect_error(t.dir);
	g = gp_model_group_find(t.m, "blocks.1");
	cr_assert_geq(g, 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_group_info(t.m, (uint32_t)g, &gi), 0);
	cr_expect_str_eq(gi.name, "blocks.1");
	cr_expect_eq(gi.block_index, 1);
	cr_expect_eq(gp_model_group_find(t.m, "blocks.9999"), GP_ENOENT);
	cr_expect_eq(gp_acquire_group(t.m, 100000, NULL), GP_ENOENT);
	gp_test_pager_close(&t);
}

Test(pager, usage_errors)
{
	struct gp_test_pager t;
	uint64_t size;

	gp_test_pager_open(&t, "auto", 50);
	size = gp_model_device_size(t.m);
	cr_expect_eq(gp_release_group(t.m, 0, NULL), GP_ESTATE);
	cr_expect_eq(gp_acquire_range(t.m, size - 10, 20, GP_ACCESS_READ, NULL), GP_ERANGE);
	cr_expect_eq(gp_acquire_range(t.m, 0, 0, GP_ACCESS_READ, NULL), GP_ERANGE);
	cr_expect_eq(gp_pager_free(t.p, 12345, NULL), GP_ENOENT);
	cr_expect_eq(gp_model_restore(t.p, "never-offloaded"), GP_ENOENT);
	gp_test_expect_error("no model is offloaded under key 'never-offloaded'");
	/* Nothing was left pinned: a full pass still works. */
	cr_expect_eq(gp_test_check_pass(&t), 0);
	gp_test_pager_close(&t);
}

/* Acquiring more than the budget holds fails cleanly and pins nothing. */
Test(pager, acquire_beyond_budget)
{
	struct gp_test_pager t;
	uint64_t size;
	int err;

	gp_test_pager_open(&t, "lru", 30);
	size = gp_model_device_size(t.m);
	err = gp_acquire_range(t.m, 0, size, GP_ACCESS_READ, NULL);
	cr_expect_eq(err, GP_EDEVMEM, "got %s", gp_error_name(err));
	gp_test_expect_error("no device chunk can be freed");
	cr_expect_eq(gp_test_check_pass(&t), 0);
	gp_test_pager_close(&t);
}

/* Written data survives eviction: it is copied back to the host tier. */
Test(pager, dirty_write_back)
{
	struct gp_test_pager t;
	struct gp_tensor_info ti = { .struct_size = sizeof(ti) };
	uint64_t w0, w1, expected;
	void *host;
	int g;

	gp_test_pager_open(&t, "lru", 35);
	g = gp_model_group_find(t.m, "blocks.2");
	cr_assert_geq(g, 0);
	cr_assert_eq(gp_model_tensor_at(t.m, t.m->desc->groups[g].tensors[0], &ti), 0);
	cr_assert_eq(gp_acquire_tensor(t.m, ti.name, GP_ACCESS_WRITE, t.stream), 0);
	cr_assert_eq(gp_kernel_fill_pattern(t.kernels, t.stream, ti.device_ptr, ti.nbytes, 99), 0);
	cr_assert_eq(gp_release_tensor(t.m, ti.name, t.stream), 0);
	/* Two passes over everything push blocks.2 out at least once. */
	gp_test_check_pass(&t);
	gp_test_check_pass(&t);
	cr_assert_eq(gp_acquire_tensor(t.m, ti.name, GP_ACCESS_READ, t.stream), 0);
	cr_assert_eq(gp_copy_d2h(t.p->gpu, &w0, t.results, 8, t.stream), 0);
	cr_assert_eq(gp_kernel_checksum(t.kernels, t.stream, ti.device_ptr, ti.nbytes, 0,
					t.results), 0);
	cr_assert_eq(gp_copy_d2h(t.p->gpu, &w1, t.results, 8, t.stream), 0);
	cr_assert_eq(gp_stream_sync(t.p->gpu, t.stream), 0);
	cr_assert_eq(gp_release_tensor(t.m, ti.name, t.stream), 0);
	host = malloc(ti.nbytes);
	gp_pattern_fill(host, ti.nbytes, 99);
	expected = gp_checksum(host, ti.nbytes);
	free(host);
	cr_expect_eq(w1 - w0, expected, "the written tensor was lost across eviction");
	{
		struct gp_pager_stats s = { .struct_size = sizeof(s) };

		gp_pager_get_stats(t.p, &s);
		cr_expect_gt(s.bytes_d2h, 0, "nothing was written back");
	}
	gp_test_pager_close(&t);
}

Test(pager, offload_restore_round_trip)
{
	struct gp_test_pager t;
	struct gp_group_info gi = { .struct_size = sizeof(gi) };
	struct gp_pager_stats a = { .struct_size = sizeof(a) }, b = { .struct_size = sizeof(b) };

	gp_test_pager_open(&t, "auto", 0);
	cr_expect_eq(gp_test_check_pass(&t), 0);
	cr_assert_eq(gp_model_offload(t.m, "encoder"), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_group_info(t.m, 0, &gi), 0);
	cr_expect_eq(gi.resident_chunks, 0, "offloaded model still on the device");
	cr_expect_eq(gp_model_offload(t.m, "again"), GP_ESTATE);
	gp_pager_get_stats(t.p, &a);
	cr_assert_eq(gp_model_restore(t.p, "encoder"), 0, "%s", gp_last_error());
	gp_pager_get_stats(t.p, &b);
	cr_expect_eq(b.bytes_disk, a.bytes_disk, "restore read the files again");
	cr_assert_eq(gp_model_group_info(t.m, 0, &gi), 0);
	cr_expect_eq(gi.resident_chunks, gi.total_chunks);
	cr_expect_eq(gp_model_restore(t.p, "encoder"), GP_ENOENT, "key reused after restore");
	cr_expect_eq(gp_test_check_pass(&t), 0);
	gp_test_pager_close(&t);
}

Test(pager, offload_without_host_room)
{
	struct gp_test_pager t;
	struct gp_pager_options po;
	struct gp_pager *small;
	struct gp_model *m;
	struct gp_group_info before = { .struct_size = sizeof(before) }, after = { .struct_size = sizeof(after) };

	gp_test_pager_open(&t, "auto", 0);
	gp_pager_options_init(&po);
	po.host_budget = 8u << 20;
	po.vram_budget = gp_model_device_size(t.m) + (8u << 20);
	cr_assert_eq(gp_pager_open(&po, &small), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_open(small, t.dir, &m), 0, "%s", gp_last_error());
	cr_assert_eq(gp_acquire_group(m, 0, NULL), 0, "%s", gp_last_error());
	cr_assert_eq(gp_release_group(m, 0, NULL), 0);
	gp_model_group_info(m, 0, &before);
	cr_expect_eq(gp_model_offload(m, "k"), GP_EHOSTMEM);
	gp_test_expect_error(t.dir);
	gp_model_group_info(m, 0, &after);
	cr_expect_eq(after.resident_chunks, before.resident_chunks, "something moved");
	gp_model_close(m);
	gp_pager_close(small);
	gp_test_pager_close(&t);
}

/* An app allocation takes chunks from weights that are not in use. */
Test(pager, alloc_evicts_weights)
{
	struct gp_test_pager t;
	struct gp_pager_stats s = { .struct_size = sizeof(s) };
	uint64_t ptr;

	gp_test_pager_open(&t, "auto", 0);
	cr_expect_eq(gp_test_check_pass(&t), 0);
	cr_assert_eq(gp_pager_alloc(t.p, gp_model_device_size(t.m) / 2, &ptr), 0, "%s",
		     gp_last_error());
	gp_pager_get_stats(t.p, &s);
	cr_expect_gt(s.dev_evictions, 0);
	cr_expect_eq(gp_test_check_pass(&t), 0);
	cr_expect_eq(gp_pager_free(t.p, ptr, NULL), 0);
	gp_test_pager_close(&t);
}

/* The simulated device runs out of memory early: the pager lives within what it got. */
Test(pager, device_oom_mid_run)
{
	struct gp_test_pager t;

	gp_test_cuda_env();
	gp_test_require_simulator();
	setenv("GPUPAGER_SIM_FAIL", "cuMemCreate:20+=CUDA_ERROR_OUT_OF_MEMORY", 1);
	gp_test_pager_open(&t, "auto", 0);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(gp_test_check_pass(&t), 0);
	cr_expect_leq(t.p->max_chunks, 20);
	gp_test_pager_close(&t);
}

Test(pager, trace_lines)
{
	struct gp_test_pager t;
	char path[] = "/tmp/gp-trace-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	gp_test_pager_open(&t, "auto", 50);
	cr_assert_eq(gp_trace_start(t.p, path), 0, "%s", gp_last_error());
	cr_expect_eq(gp_trace_start(t.p, path), GP_ESTATE);
	gp_test_check_pass(&t);
	cr_assert_eq(gp_trace_stop(t.p), 0);
	/* v2: header, the model's layout (1 + groups), an acquire and a release per group, end. */
	cr_expect_eq(gp_test_count_lines(path), 3 + 3 * (int)gp_model_group_count(t.m));
	{
		struct gp_trace *tr;
		struct gp_trace_info ti = { .struct_size = sizeof(ti) };

		cr_assert_eq(gp_trace_read(path, &tr), 0, "%s", gp_last_error());
		cr_assert_eq(gp_trace_get_info(tr, &ti), 0);
		cr_expect_eq(ti.version, 2);
		cr_expect_eq(ti.complete, 1);
		cr_expect_eq(ti.n_acquires, gp_model_group_count(t.m));
		cr_expect_eq(ti.n_releases, gp_model_group_count(t.m));
		gp_trace_free(tr);
	}
	unlink(path);
	gp_test_pager_close(&t);
}

/* One cuMemMap fails mid-run: that acquire fails cleanly, later passes are intact. */
Test(pager, map_failure_mid_run)
{
	struct gp_test_pager t;
	unsigned failed = 0;

	gp_test_cuda_env();
	gp_test_require_simulator();
	setenv("GPUPAGER_SIM_FAIL", "cuMemMap:40", 1);
	gp_test_pager_open(&t, "auto", 40);
	for (uint32_t g = 0; g < gp_model_group_count(t.m); g++) {
		int err = gp_acquire_group(t.m, g, t.stream);

		if (err) {
			failed++;
			cr_expect_eq(err, GP_ECUDA, "got %s: %s", gp_error_name(err), gp_last_error());
			gp_test_expect_error("cuMemMap");
			continue;
		}
		cr_assert_eq(gp_release_group(t.m, g, t.stream), 0);
	}
	cr_expect_eq(failed, 1, "exactly the injected map fails");
	for (int i = 0; i < 2; i++)
		cr_expect_eq(gp_test_check_pass(&t), 0);
	gp_test_pager_close(&t);
}

/* A shard truncated under an open model: a clear I/O error, never wrong data. */
Test(pager, truncated_file_mid_run)
{
	struct gp_test_pager t;
	const struct gp_st_file *f;
	uint32_t victim = UINT32_MAX;
	int err;

	gp_test_pager_open(&t, "lru", 30);
	cr_assert_gt(t.m->desc->n_files, 1, "the fixture should be sharded");
	f = &t.m->desc->files[t.m->desc->n_files - 1];
	cr_assert_eq(truncate(f->path, (off_t)f->data_start), 0);
	/* A group with a tensor in the truncated shard. */
	for (uint32_t i = 0; i < t.m->desc->n_tensors && victim == UINT32_MAX; i++)
		if (t.m->desc->tensors[i].file == t.m->desc->n_files - 1 &&
		    t.m->desc->tensors[i].nbytes)
			victim = t.m->desc->tensors[i].group;
	cr_assert_neq(victim, UINT32_MAX);
	err = gp_acquire_group(t.m, victim, t.stream);
	cr_expect_eq(err, GP_EIO, "got %s: %s", gp_error_name(err), gp_last_error());
	gp_test_expect_error(f->path);
	/* Groups wholly in other shards still load and check out. */
	for (uint32_t g = 0; g < gp_model_group_count(t.m); g++) {
		bool in_truncated = false;

		for (uint32_t i = 0; i < t.m->desc->groups[g].n_tensors; i++)
			in_truncated |= t.m->desc->tensors[t.m->desc->groups[g].tensors[i]].file ==
					t.m->desc->n_files - 1;
		if (!in_truncated)
			cr_expect_eq(gp_test_check_group(&t, g), 0, "group %u", g);
	}
	gp_test_pager_close(&t);
}

/* Two pagers in one process: the segment's memory gauges are their sum. */
Test(pager, gauges_of_two_pagers_add_up)
{
	struct gp_test_pager t;
	struct gp_pager_options po;
	struct gp_pager *second;
	struct gp_pager_stats a = { .struct_size = sizeof(a) }, b = { .struct_size = sizeof(b) };
	const struct gp_stats_segment *seg;

	gp_test_pager_open(&t, "auto", 50);
	gp_pager_options_init(&po);
	po.host_budget = 16u << 20;
	po.vram_budget = 64u << 20;
	cr_assert_eq(gp_pager_open(&po, &second), 0, "%s", gp_last_error());
	gp_pager_get_stats(t.p, &a);
	gp_pager_get_stats(second, &b);
	cr_expect_eq(b.vram_budget, 64u << 20);
	cr_assert_eq(gp_stats_attach(getpid(), &seg), 0, "%s", gp_last_error());
	cr_expect_eq(seg->counters[GP_STAT_VRAM_BUDGET], a.vram_budget + b.vram_budget);
	cr_expect_eq(seg->counters[GP_STAT_HOST_BUDGET], a.host_budget + b.host_budget);
	gp_pager_close(second);
	cr_expect_eq(seg->counters[GP_STAT_VRAM_BUDGET], a.vram_budget);
	cr_expect_eq(seg->counters[GP_STAT_HOST_BUDGET], a.host_budget);
	gp_stats_detach(seg);
	gp_test_pager_close(&t);
}

/* load_all: a model that fits is resident right after opening, and stays so. */
Test(pager, load_all_when_it_fits)
{
	struct gp_test_pager t;
	struct gp_pager_options po;
	struct gp_pager *p;
	struct gp_model *m;
	struct gp_group_info gi = { .struct_size = sizeof(gi) };
	struct gp_pager_stats a = { .struct_size = sizeof(a) }, b = { .struct_size = sizeof(b) };

	gp_test_pager_open(&t, "auto", 0);
	gp_pager_options_init(&po);
	po.load_all = 1;
	po.host_budget = 16u << 20;
	po.vram_budget = gp_model_device_size(t.m) + (4u << 20);
	cr_assert_eq(gp_pager_open(&po, &p), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_open(p, t.dir, &m), 0, "%s", gp_last_error());
	for (uint32_t g = 0; g < gp_model_group_count(m); g++) {
		cr_assert_eq(gp_model_group_info(m, g, &gi), 0);
		cr_expect_eq(gi.resident_chunks, gi.total_chunks, "group %u", g);
	}
	gp_pager_get_stats(p, &a);
	for (uint32_t g = 0; g < gp_model_group_count(m); g++) {
		cr_assert_eq(gp_acquire_group(m, g, NULL), 0, "%s", gp_last_error());
		cr_assert_eq(gp_release_group(m, g, NULL), 0);
	}
	gp_pager_get_stats(p, &b);
	cr_expect_eq(b.bytes_h2d, a.bytes_h2d, "a resident model copied again");
	cr_expect_eq(b.hits - a.hits, gp_model_group_count(m));
	gp_model_close(m);
	gp_pager_close(p);
	gp_test_pager_close(&t);
}

/* A host tier smaller than the model: slots are dropped and files read again, data intact. */
Test(pager, host_pool_smaller_than_the_model)
{
	struct gp_test_pager t;
	struct gp_pager_options po;
	struct gp_pager *p;
	struct gp_model *m;
	struct gp_pager_stats s = { .struct_size = sizeof(s) };
	struct gp_test_pager small;

	gp_test_pager_open(&t, "auto", 0);
	gp_pager_options_init(&po);
	po.host_budget = 8u << 20;
	po.vram_budget = gp_model_device_size(t.m) / 3 + (2u << 20);
	cr_assert_eq(gp_pager_open(&po, &p), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_open(p, t.dir, &m), 0, "%s", gp_last_error());
	/* Reuse the fixture's kernels and result words with the small pager's model. */
	small = t;
	small.p = p;
	small.m = m;
	cr_assert_eq(gp_pager_alloc(p, 8ull * gp_model_tensor_count(m), &small.results), 0, "%s",
		     gp_last_error());
	for (int i = 0; i < 3; i++)
		cr_expect_eq(gp_test_check_pass(&small), 0, "pass %d", i + 1);
	gp_pager_get_stats(p, &s);
	cr_expect_gt(s.host_evictions, 0, "the host tier never had to drop a slot");
	cr_expect_gt(s.bytes_disk, 2 * m->desc->tensor_bytes, "files were not read again");
	gp_pager_free(p, small.results, small.stream);
	gp_model_close(m);
	gp_pager_close(p);
	gp_test_pager_close(&t);
}

static void sleep_on_stream(void *ms)
{
	usleep((useconds_t)(uintptr_t)ms * 1000);
}

/*
 * A group used on two streams and released on both: evicting it must wait
 * for the slower stream's use, not only the last release's.
 */
Test(pager, eviction_waits_for_every_stream_that_used_a_chunk)
{
	struct gp_test_pager t;
	struct gp_tensor_info ti = { .struct_size = sizeof(ti) };
	CUstream other;
	uint64_t w0 = 0, w1 = 0;
	int g;

	gp_test_pager_open(&t, "lru", 30);
	cr_assert_eq(gp_stream_create(t.p->gpu, &other), 0);
	g = gp_model_group_find(t.m, "blocks.1");
	cr_assert_geq(g, 0);
	cr_assert_eq(gp_model_tensor_at(t.m, t.m->desc->groups[g].tensors[0], &ti), 0);
	cr_assert_eq(gp_acquire_group(t.m, (uint32_t)g, t.stream), 0, "%s", gp_last_error());
	cr_assert_eq(gp_acquire_group(t.m, (uint32_t)g, other), 0, "%s", gp_last_error());
	/* The first stream reads the tensor only after a delay... */
	cr_assert_eq(gp_copy_d2h(t.p->gpu, &w0, t.results, 8, t.stream), 0);
	cr_assert_eq(gp_stream_host_func(t.p->gpu, t.stream, sleep_on_stream, (void *)300), 0);
	cr_assert_eq(gp_kernel_checksum(t.kernels, t.stream, ti.device_ptr, ti.nbytes, 0,
					t.results), 0);
	cr_assert_eq(gp_release_group(t.m, (uint32_t)g, t.stream), 0);
	/* ...while the other releases last and pushes the group out at once. */
	cr_assert_eq(gp_release_group(t.m, (uint32_t)g, other), 0);
	for (uint32_t h = 0; h < gp_model_group_count(t.m); h++) {
		if (h == (uint32_t)g)
			continue;
		cr_assert_eq(gp_acquire_group(t.m, h, other), 0, "%s", gp_last_error());
		cr_assert_eq(gp_release_group(t.m, h, other), 0);
	}
	cr_assert_eq(gp_copy_d2h(t.p->gpu, &w1, t.results, 8, t.stream), 0);
	cr_assert_eq(gp_stream_sync(t.p->gpu, t.stream), 0, "%s", gp_last_error());
	cr_expect_eq(w1 - w0, gp_sample_checksum(GP_TEST_SEED, ti.name, ti.nbytes),
		     "the tensor was remapped under a stream still reading it");
	gp_stream_sync(t.p->gpu, other);
	gp_stream_destroy(t.p->gpu, other);
	gp_test_pager_close(&t);
}

/* The rates are measured in a live pager whose budget the weights fill; nothing is lost. */
Test(pager, info_measures_rates_beside_resident_weights)
{
	struct gp_pager_info info = { .struct_size = sizeof(info) };
	struct gp_test_pager t;

	gp_test_pager_open(&t, "lru", 50);
	cr_assert_eq(gp_test_check_pass(&t), 0);
	cr_assert_eq(gp_pager_info(t.p, &info), 0, "%s", gp_last_error());
	cr_expect_gt(info.link_h2d_gbps, 0);
	cr_expect_gt(info.checksum_gbps, 0, "no checksum rate measured");
	cr_expect_eq(gp_test_check_pass(&t), 0, "tensors differ after the measurement");
	gp_test_pager_close(&t);
}
