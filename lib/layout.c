/*
 * layout.c - place a grouped model in its device range.
 *
 * Groups follow each other in forward order, each starting on a chunk
 * boundary so that a group is made resident or evicted in whole chunks
 * without touching a neighbour; inside a group tensors are packed at
 * GP_TENSOR_ALIGN, so a group is loaded with few large copies.
 *
 * Padding a tiny group to a whole chunk wastes most of the chunk, and a model
 * has several (biases, norms, small embeddings).  So first, neighbouring
 * named groups (block_index -1) are merged while their tensors fit in one
 * chunk together: the merged group takes one chunk where its parts took one
 * each, and residency cannot be finer than a chunk anyway, so nothing is
 * lost.  Repeated blocks are never merged: policies decide per block.
 * Sub-groups of a split group merge the same way, with each other only, so
 * the split group stays one span of consecutive groups.  The merged group is
 * named "first+second", or "first+...+last" for more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"

static int align_up(uint64_t value, uint64_t align, uint64_t *out)
{
	if (value > UINT64_MAX - (align - 1))
		return -1;
	*out = (value + align - 1) & ~(align - 1);
	return 0;
}

/* Whether group g's tensors, each rounded up to GP_TENSOR_ALIGN, add to at most *room; uses it up. */
static int fits(const struct gp_model_desc *desc, const struct gp_group *g, uint64_t *room)
{
	for (uint32_t i = 0; i < g->n_tensors; i++) {
		uint64_t size;

		if (align_up(desc->tensors[g->tensors[i]].nbytes, GP_TENSOR_ALIGN, &size) ||
		    size > *room)
			return 0;
		*room -= size;
	}
	return 1;
}

/* Whether b may share a chunk with a: named groups, or sub-groups of one split group. */
static int mergeable(const struct gp_group *a, const struct gp_group *b)
{
	if (a->parent_len != b->parent_len || strncmp(a->name, b->name, a->parent_len))
		return 0;
	return a->parent_len || (a->block_index < 0 && b->block_index < 0);
}

/* The number of groups from first on that merge into one chunk (1: no merge). */
static uint32_t run_length(const struct gp_model_desc *desc, uint32_t first, uint64_t chunk_size)
{
	uint64_t room = chunk_size;
	uint32_t n = 0;

	while (first + n < desc->n_groups &&
	       mergeable(&desc->groups[first], &desc->groups[first + n]) &&
	       fits(desc, &desc->groups[first + n], &room))
		n++;
	return n ? n : 1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* *out = groups[first, first + n) as one group, in file order; the parts stay untouched. */
static int merge_run(const struct gp_model_desc *desc, uint32_t first, uint32_t n,
		     struct gp_group *out)
{
	const struct gp_group *run = &desc->groups[first];
	uint32_t count = 0;
	int len;

	for (uint32_t i = 0; i < n; i++)
		count += run[i].n_tensors;
	*out = (struct gp_group){ .block_index = run[0].block_index,
				  .parent_len = run[0].parent_len };
	out->tensors = malloc(((size_t)count + 1) * sizeof(uint32_t));
	len = n == 2 ? asprintf(&out->name, "%s+%s", run[0].name, run[1].name)
		     : asprintf(&out->name, "%s+...+%s", run[0].name, run[n - 1].name);
	if (len < 0)
		out->name = NULL;
	if (!out->tensors || !out->name) {
		free(out->tensors);
		free(out->name);
		return gp_fail(GP_ENOMEM, "%s: out of memory merging groups '%s' to '%s'",
			       desc->source, run[0].name, run[n - 1].name);
	}
	for (uint32_t i = 0; i < n; i++) {
		memcpy(out->tensors + out->n_tensors, run[i].tensors,
		       run[i].n_tensors * sizeof(uint32_t));
		out->n_tensors += run[i].n_tensors;
		out->nbytes += run[i].nbytes;
	}
	/* Tensor indices follow file order: keep the merged group one sequential read. */
	qsort(out->tensors, out->n_tensors, sizeof(uint32_t), cmp_u32);
	return 0;
}

/* Merge runs of small named groups; desc is unchanged on failure. */
static int merge_small_groups(struct gp_model_desc *desc, uint64_t chunk_size)
{
	struct gp_group *merged = calloc((size_t)desc->n_groups + 1, sizeof(*merged));
	uint32_t *run = calloc((size_t)desc->n_groups + 1, sizeof(*run));
	uint32_t n = 0;
	int err = 0;

	if (!merged || !run) {
		err = gp_fail(GP_ENOMEM, "%s: out of memory merging groups", desc->source);
		goto out;
	}
	for (uint32_t g = 0; g < desc->n_groups; g += run[n++]) {
		run[n] = run_length(desc, g, chunk_size);
		if (run[n] == 1)
			merged[n] = desc->groups[g];
		else if ((err = merge_run(desc, g, run[n], &merged[n])))
			goto out;
	}
	/* Committed: the merged parts' own names and lists go, the rest moved as they were. */
	for (uint32_t i = 0, g = 0; i < n; g += run[i++]) {
		for (uint32_t k = 0; run[i] > 1 && k < run[i]; k++) {
			free(desc->groups[g + k].name);
			free(desc->groups[g + k].tensors);
		}
		for (uint32_t k = 0; k < merged[i].n_tensors; k++)
			desc->tensors[merged[i].tensors[k]].group = i;
	}
	free(desc->groups);
	desc->groups = merged;
	desc->n_groups = n;
	merged = NULL;
out:
	for (uint32_t i = 0; merged && i < n; i++) {
		if (run[i] > 1) {
			free(merged[i].name);
			free(merged[i].tensors);
		}
	}
	free(merged);
	free(run);
	return err;
}

int gp_layout_plan(struct gp_model_desc *desc, uint64_t chunk_size)
{
	uint64_t offset = 0;
	int err;

	if (chunk_size < (64u << 10) || (chunk_size & (chunk_size - 1)))
		return gp_fail(GP_EINVAL, "chunk size %llu: must be a power of two of at least 64 KiB",
			       (unsigned long long)chunk_size);
	if (desc->n_tensors && !desc->n_groups)
		return gp_fail(GP_ESTATE, "%s: layout needs the tensors grouped first", desc->source);
	err = merge_small_groups(desc, chunk_size);
	if (err)
		return err;
	for (uint32_t g = 0; g < desc->n_groups; g++) {
		struct gp_group *grp = &desc->groups[g];
		uint64_t pos = offset;

		for (uint32_t i = 0; i < grp->n_tensors; i++) {
			struct gp_st_tensor *t = &desc->tensors[grp->tensors[i]];

			if (align_up(pos, GP_TENSOR_ALIGN, &pos) || pos > UINT64_MAX - t->nbytes)
				goto overflow;
			t->range_offset = pos;
			pos += t->nbytes;
		}
		grp->range_offset = offset;
		if (align_up(pos, chunk_size, &pos))
			goto overflow;
		grp->range_size = pos - offset;
		offset = pos;
	}
	desc->chunk_size = chunk_size;
	desc->range_size = offset;
	return 0;
overflow:
	return gp_fail(GP_ERANGE, "%s: the model's device range would exceed 2^64 bytes",
		       desc->source);
}
