/* pmodel.c - models in a pager: open/close, the chunk table, lookups. */
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "error.h"
#include "heap.h"
#include "log.h"
#include "pager.h"
#include "plan.h"
#include "trace.h"

static int cmp_range_offset(const void *a, const void *b, void *ctx)
{
	const struct gp_model_desc *d = ctx;
	uint64_t x = d->tensors[*(const uint32_t *)a].range_offset;
	uint64_t y = d->tensors[*(const uint32_t *)b].range_offset;

	return x < y ? -1 : x > y;
}

static int cmp_name(const void *a, const void *b, void *ctx)
{
	const struct gp_model_desc *d = ctx;

	return strcmp(d->tensors[*(const uint32_t *)a].name, d->tensors[*(const uint32_t *)b].name);
}

/* Chunk -> group, tensors sorted by offset and by name, first tensor per chunk. */
static int build_tables(struct gp_model *m)
{
	const struct gp_model_desc *d = m->desc;
	uint64_t cs = d->chunk_size;
	uint32_t t = 0;

	m->n_chunks = (uint32_t)(d->range_size / cs);
	m->chunks = calloc(m->n_chunks, sizeof(*m->chunks));
	m->chunk_group = calloc(m->n_chunks, sizeof(*m->chunk_group));
	m->first_tensor = calloc(m->n_chunks, sizeof(*m->first_tensor));
	m->by_offset = malloc(sizeof(uint32_t) * (d->n_tensors + 1));
	m->by_name = malloc(sizeof(uint32_t) * (d->n_tensors + 1));
	m->group_first_chunk = calloc(d->n_groups + 1, sizeof(uint32_t));
	m->group_chunk_count = calloc(d->n_groups + 1, sizeof(uint32_t));
	m->group_block_index = calloc(d->n_groups + 1, sizeof(int64_t));
	m->done_hint = calloc(d->n_groups + 1, sizeof(bool));
	if (!m->chunks || !m->chunk_group || !m->first_tensor || !m->by_offset || !m->by_name ||
	    !m->group_first_chunk || !m->group_chunk_count || !m->group_block_index ||
	    !m->done_hint)
		return gp_fail(GP_ENOMEM, "%s: out of memory for the chunk table", d->source);
	for (uint32_t g = 0; g < d->n_groups; g++) {
		const struct gp_group *grp = &d->groups[g];

		m->group_first_chunk[g] = (uint32_t)(grp->range_offset / cs);
		m->group_chunk_count[g] = (uint32_t)(grp->range_size / cs);
		m->group_block_index[g] = grp->block_index;
		for (uint32_t c = 0; c < m->group_chunk_count[g]; c++)
			m->chunk_group[m->group_first_chunk[g] + c] = g;
	}
	for (uint32_t i = 0; i < d->n_tensors; i++)
		m->by_offset[i] = m->by_name[i] = i;
	qsort_r(m->by_offset, d->n_tensors, sizeof(uint32_t), cmp_range_offset, (void *)d);
	qsort_r(m->by_name, d->n_tensors, sizeof(uint32_t), cmp_name, (void *)d);
	/* first_tensor[c]: the first tensor (by offset) that ends after the chunk starts. */
	for (uint32_t c = 0; c < m->n_chunks; c++) {
		uint64_t start = (uint64_t)c * cs;

		while (t < d->n_tensors && d->tensors[m->by_offset[t]].range_offset +
						   d->tensors[m->by_offset[t]].nbytes <= start)
			t++;
		m->first_tensor[c] = t;
	}
	return 0;
}

static int open_files(struct gp_model *m)
{
	const struct gp_model_desc *d = m->desc;
	int err;

	m->files = calloc(d->n_files, sizeof(*m->files));
	if (!m->files)
		return gp_fail(GP_ENOMEM, "%s: out of memory", d->source);
	for (uint32_t i = 0; i < d->n_files; i++) {
		err = gp_io_add_file(m->pager->io, d->files[i].path, d->files[i].size, &m->files[i]);
		if (err)
			return err;
	}
	return 0;
}

static int create_policy(struct gp_model *m)
{
	struct gp_pager *p = m->pager;
	struct gp_policy_layout layout = {
		.n_groups = m->desc->n_groups,
		.n_chunks = m->n_chunks,
		.group_first_chunk = m->group_first_chunk,
		.group_chunk_count = m->group_chunk_count,
		.group_block_index = m->group_block_index,
	};
	struct gp_policy_opts popts = {
		.kind = p->cfg.policy,
		.capacity_chunks = p->max_chunks,
		.swap_blocks = p->swap_blocks,
		.prefetch_groups = (uint32_t)p->cfg.prefetch_groups,
		.plan = p->plan,
	};

	if (p->plan && popts.kind == GP_POLICY_PLAN) {
		const struct gp_model_desc *d = m->desc;
		struct gp_fp fp;
		int err;

		/* The layout's fingerprint, as the trace the plan came from recorded it. */
		gp_fp_init(&fp, d->chunk_size, m->n_chunks, d->n_groups);
		for (uint32_t g = 0; g < d->n_groups; g++)
			gp_fp_group(&fp, d->groups[g].name, m->group_first_chunk[g],
				    m->group_chunk_count[g]);
		err = gp_plan_check_layout(p->plan, gp_fp_done(&fp), d->source);
		if (err)
			return gp_fail_context(err, "%s: ", p->plan_path);
		if (p->plan->capacity != p->max_chunks)
			gp_log_info("%s: the plan was compiled for %llu chunks, the budget holds %llu: "
				    "bytes will differ from its prediction", p->plan_path,
				    (unsigned long long)p->plan->capacity,
				    (unsigned long long)p->max_chunks);
	}
	return gp_policy_create(&layout, &popts, &m->policy);
}

/* Load every chunk when the model fits in what the budget leaves (load-all mode). */
static int load_everything(struct gp_model *m)
{
	struct gp_pager *p = m->pager;
	int err;

	if (m->n_chunks > p->max_chunks) {
		gp_log_info("%s: %u chunks do not fit in the budget's %llu; paging instead of "
			    "loading everything", m->desc->source, m->n_chunks,
			    (unsigned long long)p->max_chunks);
		return 0;
	}
	pthread_mutex_lock(&p->lock);
	err = gp_res_load(m, 0, m->n_chunks, false, false);
	pthread_mutex_unlock(&p->lock);
	return err;
}

GP_API void gp_model_options_init_size(struct gp_model_options *opts, size_t size)
{
	const struct gp_model_options full = { .struct_size = sizeof(full) };

	gp_abi_init(opts, size, &full, sizeof(full));
}

/* A description without a device: tables for the lookups, no range, files or policy. */
GP_API int gp_model_describe(const char *path, const struct gp_model_options *opts,
			     struct gp_model **out)
{
	struct gp_model_options o;
	struct gp_model *m;
	int err;

	if (!path || !out)
		return gp_fail(GP_EINVAL, "gp_model_describe: a path and an output are required");
	*out = NULL;
	gp_model_options_init(&o);
	if (opts) {
		err = gp_abi_in(&o, sizeof(o), opts, GP_ABI_V1(struct gp_model_options, group_pattern),
				"gp_model_describe");
		if (err)
			return err;
	}
	if (o.chunk_size && (o.chunk_size < (64u << 10) || (o.chunk_size & (o.chunk_size - 1))))
		return gp_fail(GP_EINVAL, "gp_model_describe: chunk size %llu is not a power of two "
			       "of at least 64K", (unsigned long long)o.chunk_size);
	m = calloc(1, sizeof(*m));
	if (!m)
		return gp_fail(GP_ENOMEM, "%s: out of memory", path);
	m->stats_slot = -1;
	err = gp_model_desc_load(path, o.chunk_size, o.group_pattern, &m->desc);
	if (!err)
		err = build_tables(m);
	if (err) {
		gp_model_close(m);
		return err;
	}
	*out = m;
	return 0;
}

/* Everything a described model needs in the pager (pmodel.h order; m->pager and m->desc set). */
int gp_model_attach(struct gp_model *m)
{
	struct gp_pager *p = m->pager;
	int err;

	err = build_tables(m);
	if (!err)
		err = open_files(m);
	if (!err)
		err = create_policy(m);
	if (!err)
		err = gp_host_pool_owner_add(p->host, NULL, NULL, &m->host_owner);
	if (err)
		return err;
	m->has_owner = true;
	pthread_mutex_lock(&p->lock);
	err = gp_devmem_reserve(p->dm, m->desc->range_size, &m->range);
	if (!err) {
		m->next = p->models;
		p->models = m;
	}
	pthread_mutex_unlock(&p->lock);
	if (err)
		return err;
	m->stats_slot = gp_stats_model_add(p->stats, m->desc->source, m->desc->n_groups,
					   m->group_chunk_count, p->chunk_size);
	return 0;
}

GP_API int gp_model_open(struct gp_pager *p, const char *path, struct gp_model **out)
{
	struct gp_model *m;
	int err;

	if (!p)
		return gp_model_describe(path, NULL, out);
	if (!path || !out)
		return gp_fail(GP_EINVAL, "gp_model_open: NULL argument");
	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return gp_fail(GP_ENOMEM, "%s: out of memory", path);
	m->pager = p;
	m->stats_slot = -1;
	err = gp_model_desc_load(path, p->chunk_size, NULL, &m->desc);
	if (!err)
		err = gp_model_attach(m);
	if (err)
		goto fail;
	if (p->load_all) {
		err = load_everything(m);
		if (err)
			goto fail;
	}
	gp_log_info("%s: %u tensors in %u groups, %u chunks at device 0x%llx", path,
		    m->desc->n_tensors, m->desc->n_groups, m->n_chunks,
		    (unsigned long long)m->range->base);
	*out = m;
	return 0;
fail:
	gp_model_close(m);
	return err;
}

static void unlink_model(struct gp_model *m)
{
	struct gp_model **pp;

	for (pp = &m->pager->models; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			return;
		}
	}
}

GP_API void gp_model_close(struct gp_model *m)
{
	struct gp_pager *p;

	if (!m)
		return;
	p = m->pager;
	if (!p)
		goto free_tables;
	gp_verify_free(m);
	gp_heap_back_free(m);
	pthread_mutex_lock(&p->lock);
	gp_prefetch_forget(m);
	if (m->offload_key)
		gp_offload_forget(m);
	for (uint32_t c = 0; m->chunks && c < m->n_chunks; c++) {
		/* Once more after a failure (an event query, a context bind), then give up. */
		if (m->chunks[c].state == GP_CHUNK_RESIDENT && gp_res_evict(m, c) &&
		    m->chunks[c].state == GP_CHUNK_RESIDENT && gp_res_evict(m, c))
			gp_log_warn("%s: closing: chunk %u stays mapped: %s", m->desc->source, c,
				    gp_last_error());
	}
	if (m->range)
		gp_devmem_free_range(p->dm, m->range);
	unlink_model(m);
	/* Copies out of host slots unpin them from a stream callback: let them run. */
	if (p->copy_stream)
		gp_stream_sync(p->gpu, p->copy_stream);
	pthread_mutex_unlock(&p->lock);
	for (uint32_t c = 0; m->chunks && c < m->n_chunks; c++) {
		gp_event_destroy(p->gpu, m->chunks[c].ready);
		gp_event_destroy(p->gpu, m->chunks[c].last_use);
	}
	if (m->stats_slot >= 0)
		gp_stats_model_remove(p->stats, m->stats_slot);
	if (m->has_owner)
		gp_host_pool_owner_remove(p->host, m->host_owner);
	for (uint32_t i = 0; m->files && i < m->desc->n_files; i++)
		if (m->files[i])
			gp_io_remove_file(p->io, m->files[i]);
	gp_policy_destroy(m->policy);
free_tables:
	free(m->files);
	free(m->chunks);
	free(m->chunk_group);
	free(m->first_tensor);
	free(m->by_offset);
	free(m->by_name);
	free(m->group_first_chunk);
	free(m->group_chunk_count);
	free(m->group_block_index);
	free(m->done_hint);
	free(m->offload_key);
	gp_model_desc_free(m->desc);
	free(m);
}
