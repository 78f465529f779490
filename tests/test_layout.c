/*
 * test_layout.c - gp_layout_plan(): groups on chunk boundaries, tensors on
 * GP_TENSOR_ALIGN, no overlaps, and the errors for bad chunk sizes, ranges
 * that overflow and models that are not grouped.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/desc_fixture.h"
#include "model.h"

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

/* Whole chunks per group cost little on real sizes: under 1% at 2 MiB chunks. */
Test(layout, full_scale_padding)
{
	const char *const *names = (const char *const[]){ "wan2.1-14b", "flux-dev", "sdxl-unet",
							  "llama3-8b", NULL };

	for (; *names; names++) {
		struct gp_model_desc *desc = laid_out_arch(*names, 1.0, 2 * MIB);
		uint64_t padding = desc->range_size - desc->tensor_bytes;

		check_groups(desc, 2 * MIB);
		cr_log_info("%s: %llu tensor bytes, range %llu, padding %llu (%.3f%%)", *names,
			    (unsigned long long)desc->tensor_bytes,
			    (unsigned long long)desc->range_size, (unsigned long long)padding,
			    100.0 * (double)padding / (double)desc->tensor_bytes);
		cr_assert_lt(padding * 100, desc->tensor_bytes, "%s: padding %llu of %llu", *names,
			     (unsigned long long)padding, (unsigned long long)desc->tensor_bytes);
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
