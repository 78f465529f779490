/*
 * alloc.c - device memory for the app, from the pager's budget.  An
 * allocation takes physical chunks the way a load does: free ones first,
 * then new ones within the budget, then weight chunks evicted on demand, so
 * an app allocation never fails while weights could make room.
 */
#include <stdlib.h>

#include "error.h"
#include "log.h"
#include "pager.h"

struct gp_alloc {
	struct gp_alloc *next;
	struct gp_dev_range *range;
};

static void give_back(struct gp_pager *p, struct gp_alloc *a)
{
	for (uint64_t i = 0; i < a->range->n_slots; i++) {
		struct gp_dev_chunk *chunk = a->range->slots[i];

		if (!chunk)
			continue;
		/* Once more after a failure; a chunk still mapped must not be reused. */
		if (gp_devmem_unmap(p->dm, a->range, i * p->chunk_size, NULL, p->copy_stream) &&
		    gp_devmem_unmap(p->dm, a->range, i * p->chunk_size, NULL, p->copy_stream)) {
			gp_log_warn("freeing app memory: chunk %llu stays mapped: %s",
				    (unsigned long long)i, gp_last_error());
			continue;
		}
		p->free_chunks[p->n_free++] = chunk;
	}
	gp_devmem_free_range(p->dm, a->range);
	free(a);
}

GP_API int gp_pager_alloc(struct gp_pager *p, uint64_t size, uint64_t *device_ptr)
{
	struct gp_alloc *a;
	int err;

	if (!p || !size || !device_ptr)
		return gp_fail(GP_EINVAL, "gp_pager_alloc: a pager, a size and an output are required");
	a = calloc(1, sizeof(*a));
	if (!a)
		return gp_fail(GP_ENOMEM, "out of memory");
	pthread_mutex_lock(&p->lock);
	err = gp_devmem_reserve(p->dm, size, &a->range);
	if (err) {
		free(a);
		goto out;
	}
	for (uint64_t i = 0; !err && i < a->range->n_slots; i++) {
		struct gp_dev_chunk *chunk;

		err = gp_res_take_chunk(p, NULL, 0, false, &chunk);
		if (err)
			break;
		err = gp_devmem_map(p->dm, a->range, i * p->chunk_size, chunk, p->copy_stream);
		if (err)
			p->free_chunks[p->n_free++] = chunk;
	}
	if (err) {
		gp_fail_context(err, "gp_pager_alloc of %llu bytes", (unsigned long long)size);
		give_back(p, a);
		goto out;
	}
	a->next = p->allocs;
	p->allocs = a;
	*device_ptr = a->range->base;
out:
	pthread_mutex_unlock(&p->lock);
	return err;
}

GP_API int gp_pager_free(struct gp_pager *p, uint64_t device_ptr, gp_stream_t stream)
{
	struct gp_alloc **pp;
	int err = 0;

	if (!p)
		return gp_fail(GP_EINVAL, "gp_pager_free: pager is NULL");
	pthread_mutex_lock(&p->lock);
	for (pp = &p->allocs; *pp; pp = &(*pp)->next)
		if ((*pp)->range->base == device_ptr)
			break;
	if (*pp) {
		struct gp_alloc *a = *pp;

		*pp = a->next;
		/* The app's work on it must be done before it is unmapped. */
		err = gp_stream_sync(p->gpu, stream ? (CUstream)stream : p->own_stream);
		give_back(p, a);
		/* Above a lowered budget the chunks go back to the device (trim.c). */
		if (p->n_created > p->max_chunks)
			gp_trim_excess(p, false);
	} else {
		err = gp_fail(GP_ENOENT, "gp_pager_free: 0x%llx was not allocated by this pager",
			      (unsigned long long)device_ptr);
	}
	pthread_mutex_unlock(&p->lock);
	return err;
}

void gp_alloc_free_all(struct gp_pager *p)
{
	while (p->allocs) {
		struct gp_alloc *a = p->allocs;

		p->allocs = a->next;
		give_back(p, a);
	}
}
