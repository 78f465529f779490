/*
 * backend_um.c - device memory as one managed (unified memory) allocation
 * per range.  Residency is steered with hints instead of mappings: a mapped
 * chunk prefers the device and is prefetched there, an unmapped one prefers
 * the host and is prefetched back.  The driver keeps the data either way;
 * physical chunks are bookkeeping only (devmem.c counts them).
 */
#include <unistd.h>

#include "devmem_ops.h"
#include "error.h"

static int um_probe(struct gp_gpu *gpu, uint64_t *chunk_size)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	int err;

	/* Hints apply to whole pages: a chunk sharing a page would steer its neighbour. */
	if (*chunk_size % page)
		return gp_fail(GP_EINVAL, "um backend: chunk size %llu is not a multiple of the "
			       "%llu-byte page size",
			       (unsigned long long)*chunk_size, (unsigned long long)page);
	err = gp_driver_require(gpu->drv, GP_CU_MANAGED);
	if (err)
		return err;
	if (!gpu->managed_supported)
		return gp_fail(GP_ENOSYS,
			       "um backend: device %d (%s) lacks managed memory with concurrent "
			       "access, which prefetch and advice need; try GPUPAGER_BACKEND=vmm",
			       gpu->ordinal, gpu->name);
	return 0;
}

static int um_reserve(struct gp_devmem *dm, struct gp_dev_range *range)
{
	struct gp_driver *drv = dm->gpu->drv;
	CUresult res;

	res = drv->cuMemAllocManaged(&range->base, range->size, CU_MEM_ATTACH_GLOBAL);
	if (res)
		return gp_cu_fail(drv, res, "cuMemAllocManaged", "%llu bytes",
				  (unsigned long long)range->size);
	return 0;
}

static int um_free_range(struct gp_devmem *dm, struct gp_dev_range *range)
{
	struct gp_driver *drv = dm->gpu->drv;
	CUresult res;

	res = drv->cuMemFree(range->base);
	if (res)
		return gp_cu_fail(drv, res, "cuMemFree", "managed range of %llu bytes",
				  (unsigned long long)range->size);
	return 0;
}

static int um_chunk_create(struct gp_devmem *dm, struct gp_dev_chunk *chunk)
{
	(void)dm;
	(void)chunk;
	return 0;
}

static int um_chunk_release(struct gp_devmem *dm, struct gp_dev_chunk *chunk)
{
	(void)dm;
	(void)chunk;
	return 0;
}

/* Prefer location for the chunk at offset, and queue its migration there on stream. */
static int um_place(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset,
		    CUmemLocation location, CUstream stream)
{
	struct gp_driver *drv = dm->gpu->drv;
	CUdeviceptr ptr = range->base + offset;
	const char *where = location.type == CU_MEM_LOCATION_TYPE_DEVICE ? "device" : "host";
	CUresult res;

	res = drv->cuMemAdvise(ptr, dm->chunk_size, CU_MEM_ADVISE_SET_PREFERRED_LOCATION,
			       location);
	if (res)
		return gp_cu_fail(drv, res, "cuMemAdvise",
				  "preferred location %s for %llu bytes at offset %llu", where,
				  (unsigned long long)dm->chunk_size, (unsigned long long)offset);
	res = drv->cuMemPrefetchAsync(ptr, dm->chunk_size, location, 0, stream);
	if (res)
		return gp_cu_fail(drv, res, "cuMemPrefetchAsync",
				  "to %s, %llu bytes at offset %llu", where,
				  (unsigned long long)dm->chunk_size, (unsigned long long)offset);
	return 0;
}

static int um_map(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset,
		  struct gp_dev_chunk *chunk, CUstream stream)
{
	CUmemLocation device = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = dm->gpu->device };

	(void)chunk;
	return um_place(dm, range, offset, device, stream);
}

static int um_unmap(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset,
		    CUstream stream)
{
	CUmemLocation host = { .type = CU_MEM_LOCATION_TYPE_HOST, .id = 0 };

	return um_place(dm, range, offset, host, stream);
}

const struct gp_devmem_ops gp_devmem_um_ops = {
	.name = "um",
	.probe = um_probe,
	.reserve = um_reserve,
	.free_range = um_free_range,
	.chunk_create = um_chunk_create,
	.chunk_release = um_chunk_release,
	.map = um_map,
	.unmap = um_unmap,
};
