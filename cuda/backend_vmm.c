/*
 * backend_vmm.c - device memory through CUDA virtual memory management:
 * a reserved address range, and physical chunks (cuMemCreate) mapped into
 * it and made accessible one at a time.
 */
#include "devmem_ops.h"
#include "error.h"
#include "log.h"

static int vmm_probe(struct gp_gpu *gpu, uint64_t *chunk_size)
{
	uint64_t granularity = gpu->granularity, rounded;
	int err;

	err = gp_driver_require(gpu->drv, GP_CU_VMM);
	if (err)
		return err;
	if (!gpu->vmm_supported)
		return gp_fail(GP_ENOSYS,
			       "vmm backend: device %d (%s) does not support virtual memory "
			       "management; try GPUPAGER_BACKEND=um",
			       gpu->ordinal, gpu->name);
	if (*chunk_size > UINT64_MAX - granularity)
		return gp_fail(GP_ERANGE, "vmm backend: chunk size %llu is too large",
			       (unsigned long long)*chunk_size);
	rounded = (*chunk_size + granularity - 1) / granularity * granularity;
	if (rounded != *chunk_size)
		gp_log_info("vmm backend: chunk size %llu rounded up to %llu, a multiple of the "
			    "device's granularity %llu",
			    (unsigned long long)*chunk_size, (unsigned long long)rounded,
			    (unsigned long long)granularity);
	*chunk_size = rounded;
	return 0;
}

static int vmm_reserve(struct gp_devmem *dm, struct gp_dev_range *range)
{
	struct gp_driver *drv = dm->gpu->drv;
	CUresult res;

	/* Alignment 0: the granularity, which every chunk offset is a multiple of. */
	res = drv->cuMemAddressReserve(&range->base, range->size, 0, 0, 0);
	if (res)
		return gp_cu_fail(drv, res, "cuMemAddressReserve", "%llu bytes",
				  (unsigned long long)range->size);
	return 0;
}

static int vmm_unmap(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset,
		     CUstream stream)
{
	struct gp_driver *drv = dm->gpu->drv;
	CUresult res;

	(void)stream; /* cuMemUnmap is synchronous */
	res = drv->cuMemUnmap(range->base + offset, dm->chunk_size);
	if (res)
		return gp_cu_fail(drv, res, "cuMemUnmap", "%llu bytes at offset %llu of the range",
				  (unsigned long long)dm->chunk_size, (unsigned long long)offset);
	return 0;
}

/* cuMemAddressFree needs every mapping in the range gone first. */
static int vmm_free_range(struct gp_devmem *dm, struct gp_dev_range *range)
{
	struct gp_driver *drv = dm->gpu->drv;
	CUresult res;

	for (uint64_t slot = 0; slot < range->n_slots; slot++)
		if (range->slots[slot] && vmm_unmap(dm, range, slot * dm->chunk_size, NULL))
			gp_log_warn("%s", gp_last_error());
	res = drv->cuMemAddressFree(range->base, range->size);
	if (res)
		return gp_cu_fail(drv, res, "cuMemAddressFree", "%llu bytes",
				  (unsigned long long)range->size);
	return 0;
}

static int vmm_chunk_create(struct gp_devmem *dm, struct gp_dev_chunk *chunk)
{
	struct gp_driver *drv = dm->gpu->drv;
	CUmemAllocationProp prop = {
		.type = CU_MEM_ALLOCATION_TYPE_PINNED,
		.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = dm->gpu->device },
	};
	CUresult res;

	res = drv->cuMemCreate(&chunk->handle, dm->chunk_size, &prop, 0);
	if (res)
		return gp_cu_fail(drv, res, "cuMemCreate", "%llu bytes on device %d",
				  (unsigned long long)dm->chunk_size, dm->gpu->ordinal);
	return 0;
}

static int vmm_chunk_release(struct gp_devmem *dm, struct gp_dev_chunk *chunk)
{
	struct gp_driver *drv = dm->gpu->drv;
	CUresult res;

	res = drv->cuMemRelease(chunk->handle);
	if (res)
		return gp_cu_fail(drv, res, "cuMemRelease", NULL);
	return 0;
}

/* Read-write for the device and every peer granted access. */
static int vmm_set_access(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset)
{
	struct gp_driver *drv = dm->gpu->drv;
	CUmemAccessDesc access[1 + GP_DEVMEM_MAX_PEERS];
	CUresult res;

	for (int i = 0; i <= dm->n_peers; i++)
		access[i] = (CUmemAccessDesc){
			.location = { .type = CU_MEM_LOCATION_TYPE_DEVICE,
				      .id = i ? dm->peers[i - 1] : dm->gpu->device },
			.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE,
		};
	res = drv->cuMemSetAccess(range->base + offset, dm->chunk_size, access,
				  (size_t)dm->n_peers + 1);
	if (res)
		return gp_cu_fail(drv, res, "cuMemSetAccess", "%llu bytes at offset %llu of the "
				  "range", (unsigned long long)dm->chunk_size,
				  (unsigned long long)offset);
	return 0;
}

static int vmm_map(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset,
		   struct gp_dev_chunk *chunk, CUstream stream)
{
	struct gp_driver *drv = dm->gpu->drv;
	CUdeviceptr ptr = range->base + offset;
	CUresult res;
	int err;

	(void)stream; /* cuMemMap and cuMemSetAccess are synchronous */
	res = drv->cuMemMap(ptr, dm->chunk_size, 0, chunk->handle, 0);
	if (res)
		return gp_cu_fail(drv, res, "cuMemMap", "%llu bytes at offset %llu of the range",
				  (unsigned long long)dm->chunk_size, (unsigned long long)offset);
	err = vmm_set_access(dm, range, offset);
	if (err) {
		/* Leave the slot unmapped, as it was; the first error is the one to report. */
		drv->cuMemUnmap(ptr, dm->chunk_size);
		return err;
	}
	return 0;
}

const struct gp_devmem_ops gp_devmem_vmm_ops = {
	.name = "vmm",
	.probe = vmm_probe,
	.set_access = vmm_set_access,
	.reserve = vmm_reserve,
	.free_range = vmm_free_range,
	.chunk_create = vmm_chunk_create,
	.chunk_release = vmm_chunk_release,
	.map = vmm_map,
	.unmap = vmm_unmap,
};
