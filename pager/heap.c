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
