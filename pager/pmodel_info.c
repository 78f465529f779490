/* pmodel_info.c - what a model holds: tensors, groups, its device range. */
#include <string.h>

#include "abi.h"
#include "error.h"
#include "pager.h"

GP_API uint32_t gp_model_tensor_count(const struct gp_model *m)
{
	return m ? m->desc->n_tensors : 0;
}

GP_API uint32_t gp_model_group_count(const struct gp_model *m)
{
	return m ? m->desc->n_groups : 0;
}

GP_API uint64_t gp_model_device_base(const struct gp_model *m)
{
	return m && m->range ? (uint64_t)m->range->base : 0;
}

GP_API uint64_t gp_model_device_size(const struct gp_model *m)
{
	return m ? (m->range ? m->range->size : m->desc->range_size) : 0;
}

GP_API int gp_model_tensor_at(const struct gp_model *m, uint32_t index,
			      struct gp_tensor_info *info)
{
	const struct gp_st_tensor *t;
	struct gp_tensor_info full = { .struct_size = sizeof(full) };

	if (!m || !info)
		return gp_fail(GP_EINVAL, "gp_model_tensor_at: NULL argument");
	if (index >= m->desc->n_tensors)
		return gp_fail(GP_ENOENT, "%s: no tensor %u (the model has %u)", m->desc->source,
			       index, m->desc->n_tensors);
	t = &m->desc->tensors[index];
	full.name = t->name;
	full.dtype = t->dtype;
	full.ndim = t->ndim;
	memcpy(full.shape, t->shape, sizeof(full.shape));
	full.nbytes = t->nbytes;
	full.group = t->group;
	full.range_offset = t->range_offset;
	full.device_ptr = m->range ? (uint64_t)m->range->base + t->range_offset : 0;
	return gp_abi_out(info, &full, sizeof(full),
			  GP_ABI_V1(struct gp_tensor_info, device_ptr), "gp_model_tensor_at");
}

/* Index of the tensor called name, or -1. */
int gp_model_tensor_index(const struct gp_model *m, const char *name)
{
	uint32_t lo = 0, hi = m->desc->n_tensors;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, m->desc->tensors[m->by_name[mid]].name);

		if (!c)
			return (int)m->by_name[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

GP_API int gp_model_tensor(const struct gp_model *m, const char *name, struct gp_tensor_info *info)
{
	int i;

	if (!m || !name || !info)
		return gp_fail(GP_EINVAL, "gp_model_tensor: NULL argument");
	i = gp_model_tensor_index(m, name);
	if (i < 0)
		return gp_fail(GP_ENOENT, "%s: no tensor named '%s'", m->desc->source, name);
	return gp_model_tensor_at(m, (uint32_t)i, info);
}

GP_API int gp_model_group_info(const struct gp_model *m, uint32_t group, struct gp_group_info *info)
{
	struct gp_group_info full = { .struct_size = sizeof(full) };
	const struct gp_group *g;
	uint32_t resident = 0;

	if (!m || !info)
		return gp_fail(GP_EINVAL, "gp_model_group_info: NULL argument");
	if (group >= m->desc->n_groups)
		return gp_fail(GP_ENOENT, "%s: no group %u (the model has %u)", m->desc->source,
			       group, m->desc->n_groups);
	g = &m->desc->groups[group];
	/* A model without a pager has nothing resident. */
	if (m->pager) {
		pthread_mutex_lock(&m->pager->lock);
		for (uint32_t c = 0; c < m->group_chunk_count[group]; c++)
			resident += m->chunks[m->group_first_chunk[group] + c].state ==
				    GP_CHUNK_RESIDENT;
		pthread_mutex_unlock(&m->pager->lock);
	}
	full.name = g->name;
	full.block_index = g->block_index;
	full.n_tensors = g->n_tensors;
	full.nbytes = g->nbytes;
	full.range_offset = g->range_offset;
	full.range_size = g->range_size;
	full.resident_chunks = resident;
	full.total_chunks = m->group_chunk_count[group];
	return gp_abi_out(info, &full, sizeof(full),
			  GP_ABI_V1(struct gp_group_info, total_chunks), "gp_model_group_info");
}

GP_API int gp_model_group_find(const struct gp_model *m, const char *name)
{
	if (!m || !name)
		return gp_fail(GP_EINVAL, "gp_model_group_find: NULL argument");
	for (uint32_t g = 0; g < m->desc->n_groups; g++)
		if (!strcmp(m->desc->groups[g].name, name))
			return (int)g;
	return gp_fail(GP_ENOENT, "%s: no group named '%s'", m->desc->source, name);
}
