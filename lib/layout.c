/*
 * layout.c - place a grouped model in its device range.
 *
 * Groups follow each other in forward order, each starting on a chunk
 * boundary so that a group is made resident or evicted in whole chunks
 * without touching a neighbour; inside a group tensors are packed at
 * GP_TENSOR_ALIGN, so a group is loaded with few large copies.
 */
#include "error.h"
#include "model.h"

static int align_up(uint64_t value, uint64_t align, uint64_t *out)
{
	if (value > UINT64_MAX - (align - 1))
		return -1;
	*out = (value + align - 1) & ~(align - 1);
	return 0;
}

int gp_layout_plan(struct gp_model_desc *desc, uint64_t chunk_size)
{
	uint64_t offset = 0;

	if (chunk_size < (64u << 10) || (chunk_size & (chunk_size - 1)))
		return gp_fail(GP_EINVAL, "chunk size %llu: must be a power of two of at least 64 KiB",
			       (unsigned long long)chunk_size);
	if (desc->n_tensors && !desc->n_groups)
		return gp_fail(GP_ESTATE, "%s: layout needs the tensors grouped first", desc->source);
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
		/* An empty group still gets its own (empty) place, never a chunk. */
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
