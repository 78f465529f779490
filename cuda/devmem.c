/* devmem.c - choose a device memory backend and enforce the mapping rules for it. */
#include <stdlib.h>

#include "devmem_ops.h"
#include "error.h"
#include "log.h"

int gp_devmem_open(struct gp_gpu *gpu, enum gp_backend_kind kind, uint64_t chunk_size,
		   struct gp_devmem **out)
{
	const struct gp_devmem_ops *ops;
	struct gp_devmem *dm;
	int err;

	switch (kind) {
	case GP_BACKEND_VMM:
		ops = &gp_devmem_vmm_ops;
		break;
	case GP_BACKEND_UM:
		ops = &gp_devmem_um_ops;
		break;
	default:
		return gp_fail(GP_EINVAL, "unknown device memory backend %d", (int)kind);
	}
	if (chunk_size == 0)
		return gp_fail(GP_EINVAL, "%s backend: chunk size is 0", ops->name);
	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	err = ops->probe(gpu, &chunk_size);
	if (err)
		return err;
	dm = calloc(1, sizeof(*dm));
	if (!dm)
		return gp_fail(GP_ENOMEM, "%s backend: out of memory", ops->name);
	dm->gpu = gpu;
	dm->ops = ops;
	dm->chunk_size = chunk_size;
	gp_log_info("device memory: %s backend, %llu KiB chunks", ops->name,
		    (unsigned long long)(chunk_size >> 10));
	*out = dm;
	return 0;
}

void gp_devmem_close(struct gp_devmem *dm)
{
	if (!dm)
		return;
	if (dm->n_ranges || dm->n_chunks)
		gp_log_warn("%s backend closed with %llu range(s) and %llu chunk(s) still held",
			    dm->ops->name, (unsigned long long)dm->n_ranges,
			    (unsigned long long)dm->n_chunks);
	free(dm);
}

const char *gp_devmem_name(const struct gp_devmem *dm)
{
	return dm->ops->name;
}

uint64_t gp_devmem_chunk_size(const struct gp_devmem *dm)
{
	return dm->chunk_size;
}

uint64_t gp_devmem_chunk_count(const struct gp_devmem *dm)
{
	return dm->n_chunks;
}

int gp_devmem_reserve(struct gp_devmem *dm, uint64_t size, struct gp_dev_range **out)
{
	struct gp_dev_range *range;
	uint64_t n_slots;
	int err;

	if (size == 0)
		return gp_fail(GP_EINVAL, "%s backend: cannot reserve an empty range",
			       dm->ops->name);
	n_slots = size / dm->chunk_size + (size % dm->chunk_size != 0);
	if (n_slots > UINT64_MAX / dm->chunk_size)
		return gp_fail(GP_ERANGE, "%s backend: range of %llu bytes is too large",
			       dm->ops->name, (unsigned long long)size);
	err = gp_gpu_bind(dm->gpu);
	if (err)
		return err;
	range = calloc(1, sizeof(*range));
	if (!range)
		return gp_fail(GP_ENOMEM, "%s backend: out of memory", dm->ops->name);
	range->n_slots = n_slots;
	range->size = n_slots * dm->chunk_size;
	range->slots = calloc(n_slots, sizeof(*range->slots));
	if (!range->slots) {
		err = gp_fail(GP_ENOMEM, "%s backend: no memory to track %llu chunks",
			      dm->ops->name, (unsigned long long)n_slots);
		goto fail;
	}
	err = dm->ops->reserve(dm, range);
	if (err)
		goto fail;
	dm->n_ranges++;
	*out = range;
	return 0;
fail:
	free(range->slots);
	free(range);
	return err;
}

static int check_slot(const struct gp_devmem *dm, const struct gp_dev_range *range,
		      uint64_t offset, const char *action)
{
	if (offset % dm->chunk_size || offset >= range->size)
		return gp_fail(GP_EINVAL,
			       "%s backend: cannot %s at offset %llu of a %llu-byte range: "
			       "offsets must be multiples of the chunk size %llu inside the range",
			       dm->ops->name, action, (unsigned long long)offset,
			       (unsigned long long)range->size,
			       (unsigned long long)dm->chunk_size);
	return 0;
}

void gp_devmem_free_range(struct gp_devmem *dm, struct gp_dev_range *range)
{
	if (!range)
		return;
	/*
	 * Freed by the driver or not, the bookkeeping goes: nothing can use it
	 * again.  The driver frees whatever context is current, so a failed bind
	 * (logged) still frees.
	 */
	if (gp_gpu_bind(dm->gpu))
		gp_log_warn("%s", gp_last_error());
	if (dm->ops->free_range(dm, range))
		gp_log_warn("freeing a %llu-byte range: %s", (unsigned long long)range->size,
			    gp_last_error());
	for (uint64_t slot = 0; slot < range->n_slots; slot++)
		if (range->slots[slot])
			range->slots[slot]->range = NULL;
	dm->n_ranges--;
	free(range->slots);
	free(range);
}

int gp_devmem_chunk_create(struct gp_devmem *dm, struct gp_dev_chunk **out)
{
	struct gp_dev_chunk *chunk;
	int err;

	err = gp_gpu_bind(dm->gpu);
	if (err)
		return err;
	chunk = calloc(1, sizeof(*chunk));
	if (!chunk)
		return gp_fail(GP_ENOMEM, "%s backend: out of memory", dm->ops->name);
	err = dm->ops->chunk_create(dm, chunk);
	if (err) {
		free(chunk);
		return gp_fail_context(err, "creating chunk %llu of %llu bytes: ",
				       (unsigned long long)dm->n_chunks + 1,
				       (unsigned long long)dm->chunk_size);
	}
	dm->n_chunks++;
	*out = chunk;
	return 0;
}

int gp_devmem_chunk_release(struct gp_devmem *dm, struct gp_dev_chunk *chunk)
{
	int err;

	if (!chunk)
		return 0;
	if (chunk->range)
		return gp_fail(GP_EBUSY,
			       "%s backend: chunk is still mapped at offset %llu of a range; "
			       "unmap it before releasing it",
			       dm->ops->name, (unsigned long long)chunk->offset);
	if (gp_gpu_bind(dm->gpu))
		gp_log_warn("%s", gp_last_error());
	err = dm->ops->chunk_release(dm, chunk);
	/* Released by the driver or not, nobody can use the handle again: drop it. */
	dm->n_chunks--;
	free(chunk);
	return err;
}

int gp_devmem_map(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset,
		  struct gp_dev_chunk *chunk, CUstream stream)
{
	uint64_t slot = offset / dm->chunk_size;
	int err;

	err = check_slot(dm, range, offset, "map a chunk");
	if (err)
		return err;
	if (range->slots[slot])
		return gp_fail(GP_EBUSY, "%s backend: offset %llu already has a chunk mapped",
			       dm->ops->name, (unsigned long long)offset);
	if (chunk->range)
		return gp_fail(GP_EBUSY,
			       "%s backend: chunk is already mapped at offset %llu of a range",
			       dm->ops->name, (unsigned long long)chunk->offset);
	err = gp_gpu_bind(dm->gpu);
	if (err)
		return err;
	err = dm->ops->map(dm, range, offset, chunk, stream);
	if (err)
		return err;
	range->slots[slot] = chunk;
	chunk->range = range;
	chunk->offset = offset;
	return 0;
}

int gp_devmem_add_peer(struct gp_devmem *dm, CUdevice peer)
{
	if (peer == dm->gpu->device)
		return 0;
	for (int i = 0; i < dm->n_peers; i++)
		if (dm->peers[i] == peer)
			return 0;
	if (dm->n_peers == GP_DEVMEM_MAX_PEERS)
		return gp_fail(GP_ERANGE, "%s backend: more than %d peer devices", dm->ops->name,
			       GP_DEVMEM_MAX_PEERS);
	dm->peers[dm->n_peers++] = peer;
	return 1;
}

int gp_devmem_refresh_access(struct gp_devmem *dm, struct gp_dev_range *range)
{
	int err = 0;

	if (!dm->ops->set_access)
		return 0;
	for (uint64_t s = 0; s < range->n_slots && !err; s++)
		if (range->slots[s])
			err = dm->ops->set_access(dm, range, s * dm->chunk_size);
	return err;
}

int gp_devmem_unmap(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset,
		    CUevent last_use, CUstream stream)
{
	uint64_t slot = offset / dm->chunk_size;
	int err;

	err = check_slot(dm, range, offset, "unmap a chunk");
	if (err)
		return err;
	if (!range->slots[slot])
		return gp_fail(GP_ESTATE, "%s backend: nothing is mapped at offset %llu",
			       dm->ops->name, (unsigned long long)offset);
	err = gp_gpu_bind(dm->gpu);
	if (err)
		return err;
	/* Unmapping memory the GPU still reads is undefined: wait for its last use. */
	if (last_use) {
		err = gp_event_sync(dm->gpu, last_use);
		if (err)
			return err;
	}
	err = dm->ops->unmap(dm, range, offset, stream);
	if (err)
		return err;
	range->slots[slot]->range = NULL;
	range->slots[slot] = NULL;
	return 0;
}
