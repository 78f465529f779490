/*
 * alloc.c - plain device allocations (cuMemAlloc, cuMemAllocPitch,
 * cuMemFree), memory accounting, and pointer queries.  cuMemAlloc is
 * reserve + create + map + set-access in one step; each allocation is
 * rounded up to the 2 MiB granularity (real drivers sub-allocate small
 * ones).
 */
#include <sys/mman.h>

#include "sim.h"

CUresult sim_dev_alloc(size_t bytes, enum sim_resv_kind kind, int dev, struct sim_resv **out)
{
	size_t size = (bytes + SIM_GRANULARITY - 1) / SIM_GRANULARITY * SIM_GRANULARITY;
	struct sim_phys *phys;
	struct sim_resv *resv;
	CUresult err;

	if (!bytes || size < bytes)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cannot allocate %zu bytes", bytes);
	sim_vm_lock();
	err = sim_phys_create(size, dev, &phys);
	if (err)
		goto unlock;
	err = sim_resv_create(size, SIM_GRANULARITY, 0, kind, &resv);
	if (err)
		goto put_phys;
	err = sim_map(resv->base, size, phys);
	if (err)
		goto destroy_resv;
	err = sim_set_access(resv->base, size, dev, PROT_READ | PROT_WRITE);
	if (err)
		goto unmap;
	resv->bytes = bytes;
	resv->device = dev;
	/* The mapping holds the memory from here on. */
	phys->handle_live = false;
	sim_phys_put(phys);
	sim_vm_unlock();
	*out = resv;
	return CUDA_SUCCESS;
unmap:
	sim_unmap(resv->base, size);
destroy_resv:
	sim_resv_destroy(resv);
put_phys:
	sim_phys_put(phys);
unlock:
	sim_vm_unlock();
	return err;
}

struct sim_resv *sim_dev_find(uintptr_t ptr, const char *func)
{
	struct sim_resv *resv = sim_resv_find(ptr);

	if (!resv || resv->base != ptr || resv->kind == SIM_RESV_VMM || resv->free_queued) {
		sim_error(CUDA_ERROR_INVALID_VALUE,
			  "%s: %#lx is not from cuMemAlloc/cuMemAllocManaged, or already freed",
			  func, (unsigned long)ptr);
		return NULL;
	}
	return resv;
}

CUresult sim_dev_release(struct sim_resv *resv)
{
	CUresult err = sim_unmap(resv->base, resv->size);

	if (err)
		return err;
	sim_managed_release(resv->managed);
	if (resv->from_pool)
		sim_pool_count(resv->device, -(int64_t)resv->bytes);
	return sim_resv_destroy(resv);
}

CUresult sim_dev_free(uintptr_t ptr)
{
	struct sim_resv *resv;
	CUresult err;

	/* As with CUDA, freeing waits for the device to be idle. */
	err = sim_streams_drain();
	if (err)
		return err;
	sim_vm_lock();
	resv = sim_dev_find(ptr, "cuMemFree");
	err = resv ? sim_dev_release(resv) : CUDA_ERROR_INVALID_VALUE;
	sim_vm_unlock();
	return err;
}

CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
	CUresult err = sim_enter("cuMemAlloc", SIM_NEED_CTX);
	struct sim_resv *resv;

	if (err)
		return err;
	if (!dptr)
		return CUDA_ERROR_INVALID_VALUE;
	err = sim_dev_alloc(bytesize, SIM_RESV_ALLOC, sim_current_device(), &resv);
	if (err)
		return err;
	*dptr = (CUdeviceptr)resv->base;
	return CUDA_SUCCESS;
}

/*
 * Rows of width bytes, each starting pitch bytes after the previous one:
 * the pitch is width rounded up to SIM_PITCH_ALIGNMENT, so that every row
 * starts aligned for any ElementSizeBytes.
 */
CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *ppitch, size_t width, size_t height,
			    unsigned int element_size)
{
	CUresult err = sim_enter("cuMemAllocPitch", SIM_NEED_CTX);
	struct sim_resv *resv;
	size_t pitch;

	if (err)
		return err;
	if (!dptr || !ppitch)
		return CUDA_ERROR_INVALID_VALUE;
	if (element_size != 4 && element_size != 8 && element_size != 16)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemAllocPitch: ElementSizeBytes %u is not 4, 8 or 16",
				 element_size);
	if (!width || !height || width > SIM_MAX_PITCH)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemAllocPitch: %zu rows of %zu bytes", height, width);
	pitch = (width + SIM_PITCH_ALIGNMENT - 1) / SIM_PITCH_ALIGNMENT * SIM_PITCH_ALIGNMENT;
	if (height > SIZE_MAX / pitch)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemAllocPitch: %zu rows of %zu bytes", height, pitch);
	err = sim_dev_alloc(pitch * height, SIM_RESV_ALLOC, sim_current_device(), &resv);
	if (err)
		return err;
	*dptr = (CUdeviceptr)resv->base;
	*ppitch = pitch;
	return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr dptr)
{
	CUresult err = sim_enter("cuMemFree", SIM_NEED_CTX);

	if (err)
		return err;
	return sim_dev_free((uintptr_t)dptr);
}

CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total_bytes)
{
	CUresult err = sim_enter("cuMemGetInfo", SIM_NEED_CTX);
	size_t used, capacity;

	if (err)
		return err;
	if (!free_bytes || !total_bytes)
		return CUDA_ERROR_INVALID_VALUE;
	/* The current context's device, as the driver answers. */
	sim_vm_lock();
	sim_physmem_usage(sim_current_device(), &used, &capacity);
	sim_vm_unlock();
	*free_bytes = capacity - used;
	*total_bytes = capacity;
	return CUDA_SUCCESS;
}

/* The allocation (cuMemAlloc, managed) or mapping (VMM) that holds ptr, and its device. */
static CUresult device_range(uintptr_t ptr, uintptr_t *base, size_t *size, int *dev)
{
	struct sim_dev_range where;
	CUresult err;

	sim_vm_lock();
	err = sim_dev_check(ptr, 1, PROT_NONE, &where);
	if (!err && where.resv->kind == SIM_RESV_VMM) {
		*base = where.mapping->va;
		*size = where.mapping->size;
		*dev = where.mapping->phys->device;
	} else if (!err) {
		*base = where.resv->base;
		*size = where.resv->bytes;
		*dev = where.resv->device;
		if (ptr - *base >= *size)
			err = CUDA_ERROR_INVALID_VALUE;
	}
	sim_vm_unlock();
	return err;
}

CUresult cuMemGetAddressRange_v2(CUdeviceptr *pbase, size_t *psize, CUdeviceptr dptr)
{
	CUresult err = sim_enter("cuMemGetAddressRange", SIM_NEED_CTX);
	uintptr_t base;
	size_t size;
	int dev;

	if (err)
		return err;
	if (device_range((uintptr_t)dptr, &base, &size, &dev))
		return sim_error(CUDA_ERROR_NOT_FOUND,
				 "cuMemGetAddressRange: %#llx is not in a device allocation", dptr);
	if (pbase)
		*pbase = (CUdeviceptr)base;
	if (psize)
		*psize = size;
	return CUDA_SUCCESS;
}

/* What a pointer is, for cuPointerGetAttribute. */
struct pointer_info {
	CUmemorytype type;
	bool managed;
	uintptr_t base;
	size_t size;
	int device;
};

static CUresult pointer_info(uintptr_t ptr, struct pointer_info *info)
{
	struct sim_resv *resv;

	if (!sim_vspace_contains(ptr)) {
		info->type = CU_MEMORYTYPE_HOST;
		info->managed = false;
		info->device = 0;       /* page-locked memory is the primary context's of device 0 */
		if (sim_host_find((void *)ptr, &info->base, &info->size))
			return CUDA_SUCCESS;
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuPointerGetAttribute: %#lx is neither device nor page-locked memory",
				 (unsigned long)ptr);
	}
	if (device_range(ptr, &info->base, &info->size, &info->device))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuPointerGetAttribute: device address %#lx is not mapped",
				 (unsigned long)ptr);
	sim_vm_lock();
	resv = sim_resv_find(ptr);
	info->managed = resv && resv->kind == SIM_RESV_MANAGED;
	sim_vm_unlock();
	info->type = CU_MEMORYTYPE_DEVICE;
	return CUDA_SUCCESS;
}

/*
 * Write one attribute of ptr to data; info is NULL for a pointer the
 * device does not know.  strict: cuPointerGetAttribute, which fails where
 * cuPointerGetAttributes writes a NULL value instead.
 */
static CUresult write_attribute(void *data, CUpointer_attribute attribute,
				const struct pointer_info *info, CUdeviceptr ptr, bool strict)
{
	bool device_only = info && info->type == CU_MEMORYTYPE_DEVICE && !info->managed;

	switch (attribute) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
		*(CUcontext *)data = info ? sim_primary_context(info->device) : NULL;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
		*(unsigned int *)data = info ? info->type : 0;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
		/* Unified addressing: the same address on both sides. */
		*(CUdeviceptr *)data = info ? ptr : 0;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		if (device_only && strict)
			return sim_error(CUDA_ERROR_INVALID_VALUE,
					 "cuPointerGetAttribute: device memory has no host pointer");
		*(void **)data = info && !device_only ? (void *)(uintptr_t)ptr : NULL;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
		/* "a boolean" in the documentation: one byte, as the C type. */
		*(bool *)data = info && info->managed;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		*(int *)data = info ? info->device : 0;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		*(CUdeviceptr *)data = info ? (CUdeviceptr)info->base : 0;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		*(size_t *)data = info ? info->size : 0;
		return CUDA_SUCCESS;
	default:
		return sim_error(CUDA_ERROR_NOT_SUPPORTED,
				 "cuPointerGetAttribute: attribute %d is not simulated",
				 (int)attribute);
	}
}

CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attribute, CUdeviceptr ptr)
{
	CUresult err = sim_enter("cuPointerGetAttribute", SIM_NEED_INIT);
	struct pointer_info info;

	if (err)
		return err;
	if (!data)
		return CUDA_ERROR_INVALID_VALUE;
	err = pointer_info((uintptr_t)ptr, &info);
	if (err)
		return err;
	return write_attribute(data, attribute, &info, ptr, true);
}

/* Whether write_attribute answers attribute. */
static bool answered(CUpointer_attribute attribute)
{
	switch (attribute) {
	case CU_POINTER_ATTRIBUTE_CONTEXT:
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		return true;
	default:
		return false;
	}
}

/*
 * The same attributes, several at once.  As documented, a pointer the
 * device does not know is no error: every value is NULL (0).  Nothing is
 * written unless every attribute is one the simulator answers.
 */
CUresult cuPointerGetAttributes(unsigned int n, CUpointer_attribute *attributes, void **data,
				CUdeviceptr ptr)
{
	CUresult err = sim_enter("cuPointerGetAttributes", SIM_NEED_INIT);
	struct pointer_info info;
	bool known;

	if (err)
		return err;
	if (!n || !attributes || !data)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuPointerGetAttributes: no attributes to query");
	for (unsigned int i = 0; i < n; i++) {
		if (!data[i])
			return sim_error(CUDA_ERROR_INVALID_VALUE,
					 "cuPointerGetAttributes: no place for attribute %u", i);
		if (!answered(attributes[i]))
			return sim_error(CUDA_ERROR_NOT_SUPPORTED,
					 "cuPointerGetAttributes: attribute %d is not simulated",
					 (int)attributes[i]);
	}
	known = pointer_info((uintptr_t)ptr, &info) == CUDA_SUCCESS;
	for (unsigned int i = 0; i < n; i++)
		write_attribute(data[i], attributes[i], known ? &info : NULL, ptr, false);
	return CUDA_SUCCESS;
}
