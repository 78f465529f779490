/*
 * heap.c - anonymous models: device memory for an app that the pager may
 * evict.  A heap is a model without files whose groups are single chunks:
 * a chunk never written reads as zeros, and a written one (the caller
 * acquires with GP_ACCESS_WRITE) is copied to a dirty host slot before its
 * physical chunk is reused and copied back when it is acquired again.
 * Nothing written is lost; freed memory is discarded, never written back.
 * The shim carves the app's allocations out of one heap (shim/heap_alloc.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "heap.h"
#include "log.h"
#include "model.h"
#include "pager.h"

static int heap_desc(const char *name, uint64_t chunk_size, uint32_t n_chunks,
		     struct gp_model_desc **out)
{
	struct gp_model_desc *d = calloc(1, sizeof(*d));

	if (!d)
		return gp_fail(GP_ENOMEM, "%s: out of memory", name);
	*out = d;
	d->source = strdup(name);
	d->groups = calloc(n_chunks, sizeof(*d->groups));
	if (!d->source || !d->groups)
		return gp_fail(GP_ENOMEM, "%s: out of memory", name);
	d->chunk_size = chunk_size;
	d->range_size = (uint64_t)n_chunks * chunk_size;
	for (uint32_t c = 0; c < n_chunks; c++) {
		struct gp_group *g = &d->groups[c];
		char text[32];

		snprintf(text, sizeof(text), "chunk.%u", c);
		g->name = strdup(text);
		if (!g->name)
			return gp_fail(GP_ENOMEM, "%s: out of memory", name);
		d->n_groups = c + 1;
		g->block_index = -1;
		g->range_offset = (uint64_t)c * chunk_size;
		g->range_size = chunk_size;
	}
	return 0;
}

int gp_heap_open(struct gp_pager *p, const char *name, uint64_t size, struct gp_model **out)
{
	uint64_t n_chunks;
	struct gp_model *m;
	int err;

	if (!p || !name || !size || !out)
		return gp_fail(GP_EINVAL, "gp_heap_open: a pager, a name, a size and an output "
			       "are required");
	*out = NULL;
	n_chunks = (size + p->chunk_size - 1) / p->chunk_size;
	if (n_chunks > UINT32_MAX)
		return gp_fail(GP_ERANGE, "%s: %llu bytes is more chunks than a model can have",
			       name, (unsigned long long)size);
	m = calloc(1, sizeof(*m));
	if (!m)
		return gp_fail(GP_ENOMEM, "%s: out of memory", name);
	m->pager = p;
	m->stats_slot = -1;
	err = heap_desc(name, p->chunk_size, (uint32_t)n_chunks, &m->desc);
	if (!err)
		err = gp_model_attach(m);
	if (err) {
		gp_model_close(m);
		return err;
	}
	gp_log_info("%s: %llu chunks of app memory at device 0x%llx", name,
		    (unsigned long long)n_chunks, (unsigned long long)m->range->base);
	*out = m;
	return 0;
}

int gp_heap_discard(struct gp_model *m, uint64_t offset, uint64_t len)
{
	struct gp_pager *p;
	uint64_t first, end;
	int err = 0;

	if (!m || !m->pager || !len || offset % m->pager->chunk_size ||
	    len % m->pager->chunk_size || offset > m->desc->range_size ||
	    len > m->desc->range_size - offset)
		return gp_fail(GP_EINVAL, "gp_heap_discard: [%llu, +%llu) is not whole chunks of "
			       "the heap", (unsigned long long)offset, (unsigned long long)len);
	p = m->pager;
	first = offset / p->chunk_size;
	end = (offset + len) / p->chunk_size;
	pthread_mutex_lock(&p->lock);
	for (uint64_t c = first; c < end && !err; c++)
		err = gp_res_discard(m, (uint32_t)c);
	pthread_mutex_unlock(&p->lock);
	return err;
}

/*
 * A heap's grouping being built: runs of chunks (the policy's layout), and
 * each run's name; the model's group table is made from them at commit.
 */
struct heap_groups {
	uint32_t n;
	uint32_t *first, *count, *resident;     /* [n_chunks] at most */
	int64_t *block;
	struct gp_group *groups;                /* names only until committed */
};

static void heap_groups_free(struct heap_groups *hg)
{
	for (uint32_t g = 0; hg->groups && g < hg->n; g++)
		free(hg->groups[g].name);
	free(hg->first);
	free(hg->count);
	free(hg->resident);
	free(hg->block);
	free(hg->groups);
}

/* Chunk c continues the run of chunk c - 1: both hold the same named group's tensors. */
static bool same_run(const struct gp_group *prev, const struct gp_group *cur)
{
	return prev && cur && (prev == cur || !strcmp(prev->name, cur->name));
}

/* Runs of file-backed chunks holding one group's tensors; every other chunk alone. */
static int heap_groups_build(const struct gp_model *m, struct heap_groups *hg)
{
	uint32_t n = m->n_chunks;
	const struct gp_group *prev = NULL;

	hg->first = malloc(n * sizeof(*hg->first));
	hg->count = calloc(n, sizeof(*hg->count));
	hg->resident = calloc(n, sizeof(*hg->resident));
	hg->block = malloc(n * sizeof(*hg->block));
	hg->groups = calloc(n, sizeof(*hg->groups));
	if (!hg->first || !hg->count || !hg->resident || !hg->block || !hg->groups)
		return gp_fail(GP_ENOMEM, "%s: out of memory grouping %u chunks", m->desc->source, n);
	for (uint32_t c = 0; c < n; c++) {
		const struct gp_group *cur = gp_heap_back_group(m, c);
		enum gp_chunk_state st = m->chunks[c].state;
		char text[32];

		if (!c || !same_run(prev, cur)) {
			snprintf(text, sizeof(text), "chunk.%u", c);
			hg->groups[hg->n].name = strdup(cur ? cur->name : text);
			if (!hg->groups[hg->n].name)
				return gp_fail(GP_ENOMEM, "%s: out of memory grouping %u chunks",
					       m->desc->source, n);
			hg->first[hg->n] = c;
			hg->block[hg->n] = cur ? cur->block_index : -1;
			hg->n++;
		}
		hg->count[hg->n - 1]++;
		hg->resident[hg->n - 1] += st == GP_CHUNK_RESIDENT || st == GP_CHUNK_EVICTING;
		prev = cur;
	}
	return 0;
}

static bool same_spans(const struct gp_model *m, const struct heap_groups *hg)
{
	if (hg->n != m->desc->n_groups)
		return false;
	for (uint32_t g = 0; g < hg->n; g++)
		if (hg->first[g] != m->group_first_chunk[g] || hg->count[g] != m->group_chunk_count[g])
			return false;
	return true;
}

/* The heap's tables take hg's groups (nothing here can fail). */
static void heap_groups_commit(struct gp_model *m, struct heap_groups *hg)
{
	struct gp_model_desc *d = m->desc;

	for (uint32_t g = 0; g < d->n_groups; g++)
		free(d->groups[g].name);
	free(d->groups);
	d->groups = hg->groups;
	d->n_groups = hg->n;
	hg->groups = NULL;
	for (uint32_t g = 0; g < hg->n; g++) {
		d->groups[g].block_index = hg->block[g];
		d->groups[g].range_offset = (uint64_t)hg->first[g] * d->chunk_size;
		d->groups[g].range_size = (uint64_t)hg->count[g] * d->chunk_size;
		m->group_first_chunk[g] = hg->first[g];
		m->group_chunk_count[g] = hg->count[g];
		m->group_block_index[g] = hg->block[g];
		m->done_hint[g] = false;
		for (uint32_t i = 0; i < hg->count[g]; i++)
			m->chunk_group[hg->first[g] + i] = g;
	}
	gp_stats_model_regroup(m->pager->stats, m->stats_slot, hg->n, hg->count, hg->resident);
}

/* Lock held. */
static int regroup(struct gp_model *m)
{
	struct heap_groups hg = { 0 };
	struct gp_policy_layout layout;
	int err = heap_groups_build(m, &hg);

	if (err)
		goto out;
	if (same_spans(m, &hg))
		goto out;
	layout = (struct gp_policy_layout){
		.n_groups = hg.n,
		.n_chunks = m->n_chunks,
		.group_first_chunk = hg.first,
		.group_chunk_count = hg.count,
		.group_block_index = hg.block,
	};
	/* The prefetch worker names groups of the old layout: let it finish first. */
	gp_prefetch_forget(m);
	err = gp_policy_regroup(m->policy, &layout);
	if (err)
		goto out;
	gp_log_info("%s: %u chunks in %u groups by the tensors they hold", m->desc->source,
		    m->n_chunks, hg.n);
	heap_groups_commit(m, &hg);
out:
	heap_groups_free(&hg);
	return err;
}

int gp_heap_regroup(struct gp_model *m)
{
	struct gp_pager *p;
	int err = 0;

	if (!m || !m->pager)
		return gp_fail(GP_EINVAL, "gp_heap_regroup: no heap");
	p = m->pager;
	pthread_mutex_lock(&p->lock);
	/* A trace that has written this heap's layout keeps it: its lines name those groups. */
	if ((!m->trace_gen || m->trace_gen != p->trace_gen) && gp_heap_back_take_regroup(m))
		err = regroup(m);
	pthread_mutex_unlock(&p->lock);
	if (err)
		gp_fail_context(err, "%s: grouping chunks by tensor name: ", m->desc->source);
	return err;
}
