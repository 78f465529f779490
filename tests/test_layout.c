/*
 * test_layout.c - gp_layout_plan(): groups on chunk boundaries, tensors on
 * GP_TENSOR_ALIGN, no overlaps, and the errors for bad chunk sizes, ranges
 * that overflow and models that are not grouped; a split group's span, which
 * the pager acquires whole, and `gpupager run --verify` at a quarter of
 * sdxl-unet now that its large groups are split.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli_run.h"
#include "common/cuda_env.h"
#include "common/desc_fixture.h"
#include "common/st_fixture.h"
#include "model.h"
#include "sample.h"

#define MIB (1ull << 20)

static int by_range_offset(const void *a, const void *b)
{
	const struct gp_st_tensor *x = *(const struct gp_st_tensor *const *)a;
	const struct gp_st_tensor *y = *(const struct gp_st_tensor *const *)b;

	return x->range_offset < y->range_offset ? -1 : x->range_offset > y->range_offset;
}

/* Every tensor inside its own group's place, aligned, and no two tensors overlap. */
static void check_tensors(const struct gp_model_desc *desc)
{
	const struct gp_st_tensor **sorted = malloc((desc->n_tensors + 1) * sizeof(*sorted));

	cr_assert(sorted);
	for (uint32_t i = 0; i < desc->n_tensors; i++) {
		const struct gp_st_tensor *t = &desc->tensors[i];
		const struct gp_group *grp = &desc->groups[t->group];

		cr_assert_eq(t->range_offset % GP_TENSOR_ALIGN, 0, "%s at %llu", t->name,
			     (unsigned long long)t->range_offset);
		cr_assert(t->range_offset >= grp->range_offset &&
				  t->range_offset + t->nbytes <= grp->range_offset + grp->range_size,
			  "%s [%llu, +%llu) outside %s", t->name, (unsigned long long)t->range_offset,
			  (unsigned long long)t->nbytes, grp->name);
		sorted[i] = t;
	}
	qsort(sorted, desc->n_tensors, sizeof(*sorted), by_range_offset);
	for (uint32_t i = 1; i < desc->n_tensors; i++)
		cr_assert_leq(sorted[i - 1]->range_offset + sorted[i - 1]->nbytes,
			      sorted[i]->range_offset, "%s overlaps %s", sorted[i - 1]->name,
			      sorted[i]->name);
	free(sorted);
}

/* Groups back to back in forward order, each on chunk boundaries, no chunk to spare. */
static void check_groups(const struct gp_model_desc *desc, uint64_t chunk)
{
	uint64_t offset = 0;

	cr_assert_eq(desc->chunk_size, chunk);
	for (uint32_t g = 0; g < desc->n_groups; g++) {
		const struct gp_group *grp = &desc->groups[g];
		const struct gp_st_tensor *last = &desc->tensors[grp->tensors[grp->n_tensors - 1]];
		uint64_t used = last->range_offset + last->nbytes - grp->range_offset;

		cr_assert_eq(grp->range_offset, offset, "%s starts at %llu, expected %llu",
			     grp->name, (unsigned long long)grp->range_offset,
			     (unsigned long long)offset);
		cr_assert_eq(grp->range_offset % chunk, 0, "%s not on a chunk boundary", grp->name);
		cr_assert_eq(grp->range_size % chunk, 0, "%s: size %llu", grp->name,
			     (unsigned long long)grp->range_size);
		cr_assert(grp->range_size >= used && grp->range_size - used < chunk,
			  "%s: %llu reserved for %llu used", grp->name,
			  (unsigned long long)grp->range_size, (unsigned long long)used);
		for (uint32_t i = 1; i < grp->n_tensors; i++)
			cr_assert_lt(desc->tensors[grp->tensors[i - 1]].range_offset,
				     desc->tensors[grp->tensors[i]].range_offset,
				     "%s: tensors out of their group's order", grp->name);
		offset += grp->range_size;
	}
	cr_assert_eq(desc->range_size, offset);
	cr_assert_eq(desc->range_size % chunk, 0);
	cr_assert_geq(desc->range_size, desc->tensor_bytes);
}

static struct gp_model_desc *laid_out_arch(const char *arch, double scale, uint64_t chunk)
{
	struct gp_model_desc *desc = gp_test_desc_arch(arch, scale);

	cr_assert_eq(gp_model_group(desc, NULL), 0, "%s", gp_last_error());
	cr_assert_eq(gp_layout_plan(desc, chunk), 0, "%s: %s", arch, gp_last_error());
	return desc;
}

static void check_arch(const char *arch)
{
	static const uint64_t chunks[] = { 64 << 10, 2 * MIB, 32 * MIB };

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct gp_model_desc *desc = laid_out_arch(arch, 0.05, chunks[i]);

		check_groups(desc, chunks[i]);
		check_tensors(desc);
		gp_model_desc_free(desc);
	}
}

Test(layout, wan)
{
	check_arch("wan2.1-14b");
}

Test(layout, flux)
{
	check_arch("flux-dev");
}

Test(layout, sdxl)
{
	check_arch("sdxl-unet");
}

Test(layout, llama)
{
	check_arch("llama3-8b");
}

/*
 * Whole chunks per group cost little on real sizes: under 1% at 2 MiB chunks,
 * and under 3% for sdxl-unet, whose large groups are split into 94.
 */
Test(layout, full_scale_padding)
{
	const char *const *names = (const char *const[]){ "wan2.1-14b", "flux-dev", "sdxl-unet",
							  "llama3-8b", NULL };

	for (; *names; names++) {
		struct gp_model_desc *desc = laid_out_arch(*names, 1.0, 2 * MIB);
		uint64_t padding = desc->range_size - desc->tensor_bytes;
		uint64_t percent = strcmp(*names, "sdxl-unet") ? 1 : 3;

		check_groups(desc, 2 * MIB);
		cr_log_info("%s: %llu tensor bytes, range %llu, padding %llu (%.3f%%)", *names,
			    (unsigned long long)desc->tensor_bytes,
			    (unsigned long long)desc->range_size, (unsigned long long)padding,
			    100.0 * (double)padding / (double)desc->tensor_bytes);
		cr_assert_lt(padding * 100, desc->tensor_bytes * percent, "%s: padding %llu of %llu",
			     *names, (unsigned long long)padding,
			     (unsigned long long)desc->tensor_bytes);
		gp_model_desc_free(desc);
	}
}

Test(layout, exact_offsets)
{
	struct gp_model_desc *desc = gp_test_desc_new("small");

	/* Blocks, which layout never merges. */
	gp_test_desc_add(desc, "blocks.0.x", 100);
	gp_test_desc_add(desc, "blocks.0.y", 300);
	gp_test_desc_add(desc, "blocks.1.z", 1);
	gp_test_desc_add(desc, "blocks.2.w", 64 << 10);
	cr_assert_eq(gp_model_group(desc, NULL), 0, "%s", gp_last_error());
	cr_assert_eq(gp_layout_plan(desc, 64 << 10), 0, "%s", gp_last_error());
	cr_assert_eq(desc->n_groups, 3);
	cr_assert_eq(desc->tensors[0].range_offset, 0);
	cr_assert_eq(desc->tensors[1].range_offset, 256, "100 bytes round up to 256");
	cr_assert_eq(desc->groups[0].range_size, 64 << 10);
	cr_assert_eq(desc->tensors[2].range_offset, 64 << 10);
	cr_assert_eq(desc->tensors[3].range_offset, 128 << 10);
	cr_assert_eq(desc->groups[2].range_size, 64 << 10, "an exact chunk takes no more");
	cr_assert_eq(desc->range_size, 192 << 10);
	gp_model_desc_free(desc);
}

Test(layout, bad_chunk_sizes)
{
	static const uint64_t bad[] = { 0, 3 * MIB, 32 << 10, (2 * MIB) + 1, 1ull << 63 | 1 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gp_model_desc *desc = gp_test_desc_new("bad-chunk");

		gp_test_desc_add(desc, "a.x", 10);
		cr_assert_eq(gp_model_group(desc, NULL), 0);
		cr_assert_eq(gp_layout_plan(desc, bad[i]), GP_EINVAL, "chunk %llu accepted",
			     (unsigned long long)bad[i]);
		cr_assert(strstr(gp_last_error(), "power of two of at least 64 KiB"), "message: %s",
			  gp_last_error());
		cr_assert_eq(desc->range_size, 0);
		gp_model_desc_free(desc);
	}
}

static void expect_overflow(const uint64_t *sizes, size_t n)
{
	struct gp_model_desc *desc = gp_test_desc_new("huge");

	for (size_t i = 0; i < n; i++)
		gp_test_desc_add(desc, i ? "b.y" : "a.x", sizes[i]);
	cr_assert_eq(gp_model_group(desc, NULL), 0);
	cr_assert_eq(gp_layout_plan(desc, 2 * MIB), GP_ERANGE, "range of %zu huge tensors planned",
		     n);
	cr_assert(strstr(gp_last_error(), "huge") && strstr(gp_last_error(), "2^64"), "message: %s",
		  gp_last_error());
	gp_model_desc_free(desc);
}

Test(layout, overflow)
{
	/* One tensor too large to round up to a chunk. */
	expect_overflow((const uint64_t[]){ UINT64_MAX - 4096 }, 1);
	/* Two tensors whose sum passes 2^64. */
	expect_overflow((const uint64_t[]){ 1ull << 63, 1ull << 63 }, 2);
}

Test(layout, empty_model)
{
	struct gp_model_desc *desc = gp_test_desc_new("empty");

	cr_assert_eq(gp_model_group(desc, NULL), 0);
	cr_assert_eq(gp_layout_plan(desc, 2 * MIB), 0, "%s", gp_last_error());
	cr_assert_eq(desc->range_size, 0);
	cr_assert_eq(desc->chunk_size, 2 * MIB);
	gp_model_desc_free(desc);
}

Test(layout, needs_grouping_first)
{
	struct gp_model_desc *desc = gp_test_desc_new("ungrouped");

	gp_test_desc_add(desc, "a.x", 10);
	cr_assert_eq(gp_layout_plan(desc, 2 * MIB), GP_ESTATE);
	cr_assert(strstr(gp_last_error(), "grouped first"), "message: %s", gp_last_error());
	gp_model_desc_free(desc);
}

/* ------------------------------------------------------- split groups */

/* Whether name is prefix or under it ("up_blocks.0", "up_blocks.0.resnets.0"). */
static int is_under(const char *name, const char *prefix)
{
	size_t len = strlen(prefix);

	return !strncmp(name, prefix, len) && (name[len] == '.' || name[len] == '+' || !name[len]);
}

/*
 * The groups holding prefix's tensors are consecutive and hold nothing else,
 * so [*offset, *offset + *size) is prefix's span; returns its first group.
 */
static uint32_t span_of(const struct gp_model_desc *desc, const char *prefix, uint64_t *offset,
			uint64_t *size)
{
	uint32_t first = UINT32_MAX, last = 0, n_tensors = 0, in_span = 0;

	for (uint32_t g = 0; g < desc->n_groups; g++) {
		if (!is_under(desc->groups[g].name, prefix))
			continue;
		if (first == UINT32_MAX)
			first = g;
		else
			cr_assert_eq(g, last + 1, "%s: group %s is not next to the others", prefix,
				     desc->groups[g].name);
		last = g;
	}
	cr_assert_neq(first, UINT32_MAX, "no group under %s", prefix);
	*offset = desc->groups[first].range_offset;
	*size = desc->groups[last].range_offset + desc->groups[last].range_size - *offset;
	for (uint32_t t = 0; t < desc->n_tensors; t++) {
		const struct gp_st_tensor *ts = &desc->tensors[t];
		int inside = ts->range_offset >= *offset && ts->range_offset < *offset + *size;

		n_tensors += is_under(ts->name, prefix);
		in_span += inside;
		cr_assert_eq(inside, is_under(ts->name, prefix), "%s %s the span of %s", ts->name,
			     inside ? "in" : "outside", prefix);
	}
	cr_assert_eq(in_span, n_tensors);
	return first;
}

/* Every tensor of a sub-group (merged or not) is under the split group it came from. */
static void check_parents(const struct gp_model_desc *desc)
{
	for (uint32_t g = 0; g < desc->n_groups; g++) {
		const struct gp_group *grp = &desc->groups[g];
		char parent[160];

		if (!grp->parent_len)
			continue;
		snprintf(parent, sizeof(parent), "%.*s", (int)grp->parent_len, grp->name);
		for (uint32_t i = 0; i < grp->n_tensors; i++)
			cr_assert(is_under(desc->tensors[grp->tensors[i]].name, parent),
				  "%s in group %s, not under %s", desc->tensors[grp->tensors[i]].name,
				  grp->name, parent);
	}
}

Test(layout, split_groups_are_spans)
{
	static const char *const parents[] = { "down_blocks.2", "down_blocks.2.attentions.1",
		"mid_block", "up_blocks.0", "up_blocks.0.attentions.0", NULL };
	static const uint64_t chunks[] = { 64 << 10, 2 * MIB };

	for (size_t c = 0; c < 2; c++) {
		struct gp_model_desc *desc = laid_out_arch("sdxl-unet", 0.1, chunks[c]);
		uint64_t offset, size;

		check_groups(desc, chunks[c]);
		check_tensors(desc);
		check_parents(desc);
		for (const char *const *p = parents; *p; p++)
			span_of(desc, *p, &offset, &size);
		gp_model_desc_free(desc);
	}
}

/* Small sub-groups share a chunk, only with their own split group's; named groups as before. */
Test(layout, split_sub_groups_merge_inside_their_group)
{
	struct gp_model_desc *desc = laid_out_arch("sdxl-unet", 0.1, 2 * MIB);
	int merged_norm = 0, merged_out = 0;

	check_parents(desc);
	for (uint32_t g = 0; g < desc->n_groups; g++) {
		merged_norm += !strncmp(desc->groups[g].name, "up_blocks.0.attentions.0.norm+", 30);
		merged_out += !strcmp(desc->groups[g].name, "conv_norm_out+conv_out");
		/* proj_out is an attention's last: never merged with the next resnet. */
		cr_assert(!strstr(desc->groups[g].name, "proj_out+"), "%s", desc->groups[g].name);
	}
	cr_assert_eq(merged_norm, 1);
	cr_assert_eq(merged_out, 1);
	gp_model_desc_free(desc);
}

/* An sdxl-unet sample in a new directory. */
static char *sdxl_sample(double scale)
{
	char *dir = gp_test_st_dir_new();
	struct gp_sample_model sm = { .arch = "sdxl-unet", .scale = scale, .seed = 3,
				      .dtype = -1 };
	struct gp_st_write_opts wo = { .out_dir = dir, .shard_size = 2ull << 30 };
	struct gp_st_write_result res;

	cr_assert_eq(gp_sample_write_model(&sm, &wo, &res), 0, "%s", gp_last_error());
	return dir;
}

/*
 * The split up_blocks.0 is still acquired whole, as the span of its
 * sub-groups, under a budget that holds it but not the model; every tensor
 * in it then holds its file's bytes.
 */
Test(layout, split_group_acquired_whole)
{
	char *dir;
	struct gp_model_desc *desc;
	struct gp_pager_options po;
	struct gp_verify_result v = { .struct_size = sizeof(v) };
	struct gp_pager *p;
	struct gp_model *m;
	gp_stream_t stream;
	uint64_t offset, size;
	uint32_t first, n_tensors = 0;

	/* Before anything reads the configuration. */
	gp_test_cuda_env();
	dir = sdxl_sample(0.1);
	cr_assert_eq(gp_model_desc_load(dir, 0, NULL, &desc), 0, "%s", gp_last_error());
	first = span_of(desc, "up_blocks.0", &offset, &size);
	gp_pager_options_init(&po);
	po.vram_budget = size + (4u << 20);     /* the span and the result words */
	po.host_budget = desc->range_size + (32u << 20);
	cr_assert_lt(po.vram_budget, desc->range_size, "the budget must not hold the model");
	cr_assert_eq(gp_pager_open(&po, &p), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_open(p, dir, &m), 0, "%s", gp_last_error());
	cr_assert_eq(gp_pager_stream_create(p, &stream), 0, "%s", gp_last_error());
	/* Something else first, so the span must evict to load. */
	cr_assert_eq(gp_acquire_group(m, 0, stream), 0, "%s", gp_last_error());
	cr_assert_eq(gp_release_group(m, 0, stream), 0, "%s", gp_last_error());
	cr_assert_eq(gp_acquire_range(m, offset, size, GP_ACCESS_READ, stream), 0, "%s",
		     gp_last_error());
	for (uint32_t g = first; g < desc->n_groups && is_under(desc->groups[g].name, "up_blocks.0");
	     g++) {
		cr_assert_eq(gp_model_verify_group(m, g, stream), 0, "%s", gp_last_error());
		n_tensors += desc->groups[g].n_tensors;
	}
	cr_assert_eq(gp_model_verify_collect(m, stream, &v), 0, "%s", gp_last_error());
	cr_assert_eq(gp_release_range(m, offset, size, stream), 0, "%s", gp_last_error());
	cr_expect_eq(v.tensors_checked, n_tensors);
	cr_expect_eq(v.mismatches, 0, "%s differs", v.first_mismatch);
	gp_pager_stream_synchronize(p, stream);
	gp_pager_stream_destroy(p, stream);
	gp_model_close(m);
	gp_pager_close(p);
	gp_model_desc_free(desc);
	gp_test_st_dir_remove(dir);
}

/* Whole, up_blocks.0 (47%) could not run at 25%; split, every pass verifies. */
Test(layout, sdxl_runs_at_a_quarter, .timeout = 120)
{
	char *dir;
	struct gp_test_cli r;

	gp_test_cuda_env();
	dir = sdxl_sample(0.2);
	r = gp_test_cli_run((const char *const[]){ "run", dir, "--budget", "25%", "--steps", "2",
						   "--verify", "--compute-ms-per-gb", "0", NULL },
			    0);
	cr_expect_eq(r.status, 0, "gpupager run: exit %d: %s", r.status, r.err);
	cr_expect(strstr(r.out, "0 mismatches"), "%s", r.out);
	gp_test_cli_free(&r);
	gp_test_st_dir_remove(dir);
}
