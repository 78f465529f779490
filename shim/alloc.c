/*
 * alloc.c - the app's device allocations served from the heap, and the
 * queries that must answer for them as for the driver's own pointers.
 * Without an engine (the pager could not start) every call goes straight
 * to the driver.
 */
#include <string.h>

#include "shim.h"

/* The engine, when the calling thread has a context (as the driver requires). */
static CUresult engine_for_alloc(struct shim_engine **out)
{
	CUcontext ctx = NULL;

	*out = NULL;
	if (shim_in_forked_child())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (shim_real.cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx)
		return CUDA_ERROR_INVALID_CONTEXT;
	*out = shim_engine();
	return CUDA_SUCCESS;
}

/* Allocate from the heap, saving and restoring the caller's context around the engine. */
static CUresult heap_alloc(struct shim_engine *e, uint64_t size, CUdeviceptr *dptr)
{
	CUcontext ctx = NULL;
	uint64_t addr;
	CUresult res;

	if (!dptr)
		return CUDA_ERROR_INVALID_VALUE;
	if (!size)
		return CUDA_ERROR_INVALID_VALUE;
	shim_real.cuCtxGetCurrent(&ctx);
	res = shim_heap_alloc(e, size, &addr);
	shim_real.cuCtxSetCurrent(ctx);
	if (res == CUDA_SUCCESS)
		*dptr = (CUdeviceptr)addr;
	return res;
}

SHIM_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t size)
{
	SHIM_GET_REAL(real, cuMemAlloc_v2);
	struct shim_engine *e;
	CUresult res = engine_for_alloc(&e);

	if (res != CUDA_SUCCESS || !e)
		return res != CUDA_SUCCESS ? res : real(dptr, size);
	return heap_alloc(e, size, dptr);
}

/* Pitch alignment of current GPUs (CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT is 32; the driver pads rows to 512). */
#define PITCH_ALIGN 512u

SHIM_EXPORT CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pitch, size_t width,
					size_t height, unsigned int element_bytes)
{
	SHIM_GET_REAL(real, cuMemAllocPitch_v2);
	struct shim_engine *e;
	CUresult res = engine_for_alloc(&e);
	size_t row;

	if (res != CUDA_SUCCESS || !e)
		return res != CUDA_SUCCESS ? res : real(dptr, pitch, width, height, element_bytes);
	if (!pitch || !width || !height ||
	    (element_bytes != 4 && element_bytes != 8 && element_bytes != 16))
		return CUDA_ERROR_INVALID_VALUE;
	row = (width + PITCH_ALIGN - 1) / PITCH_ALIGN * PITCH_ALIGN;
	if (height > SIZE_MAX / row)
		return CUDA_ERROR_OUT_OF_MEMORY;
	res = heap_alloc(e, (uint64_t)row * height, dptr);
	if (res == CUDA_SUCCESS)
		*pitch = row;
	return res;
}

/* A stream-ordered allocation is usable at once by work on any stream here: its VA is fixed. */
static CUresult alloc_async(CUdeviceptr *dptr, size_t size, CUstream s,
			    CUresult (*real)(CUdeviceptr *, size_t, CUstream))
{
	struct shim_engine *e;
	CUresult res = engine_for_alloc(&e);

	if (res != CUDA_SUCCESS || !e)
		return res != CUDA_SUCCESS ? res : real(dptr, size, s);
	return heap_alloc(e, size, dptr);
}

SHIM_EXPORT CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t size, CUstream s)
{
	SHIM_GET_REAL(real, cuMemAllocAsync);
	return alloc_async(dptr, size, s, real);
}

SHIM_EXPORT CUresult cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t size, CUstream s)
{
	SHIM_GET_REAL_AS(real, cuMemAllocAsync_ptsz, cuMemAllocAsync);
	return alloc_async(dptr, size, s, real);
}

/* The device's default pool is served from the heap; a pool the app made is its own business. */
static bool is_default_pool(CUmemoryPool pool)
{
	CUmemoryPool def = NULL;
	CUdevice dev;

	return shim_real.cuCtxGetDevice && shim_real.cuDeviceGetDefaultMemPool &&
	       shim_real.cuCtxGetDevice(&dev) == CUDA_SUCCESS &&
	       shim_real.cuDeviceGetDefaultMemPool(&def, dev) == CUDA_SUCCESS && def == pool;
}

static CUresult alloc_from_pool(CUdeviceptr *dptr, size_t size, CUmemoryPool pool, CUstream s,
				CUresult (*real)(CUdeviceptr *, size_t, CUmemoryPool, CUstream))
{
	struct shim_engine *e;
	CUresult res = engine_for_alloc(&e);

	if (res != CUDA_SUCCESS || !e || !is_default_pool(pool))
		return res != CUDA_SUCCESS ? res : real(dptr, size, pool, s);
	return heap_alloc(e, size, dptr);
}

SHIM_EXPORT CUresult cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t size, CUmemoryPool pool,
					     CUstream s)
{
	SHIM_GET_REAL(real, cuMemAllocFromPoolAsync);
	return alloc_from_pool(dptr, size, pool, s, real);
}

SHIM_EXPORT CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *dptr, size_t size,
						  CUmemoryPool pool, CUstream s)
{
	SHIM_GET_REAL_AS(real, cuMemAllocFromPoolAsync_ptsz, cuMemAllocFromPoolAsync);
	return alloc_from_pool(dptr, size, pool, s, real);
}

/* A heap pointer of any device's engine is freed here, whatever context is current. */
SHIM_EXPORT CUresult cuMemFree_v2(CUdeviceptr p)
{
	SHIM_GET_REAL(real, cuMemFree_v2);
	struct shim_engine *e = shim_engine_of(p);
	CUcontext ctx = NULL;
	CUresult res;

	if (shim_in_forked_child())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!e)
		return real(p);
	shim_real.cuCtxGetCurrent(&ctx);
	res = shim_heap_free(e, p);
	shim_real.cuCtxSetCurrent(ctx);
	return res;
}

/* Freed when the stream reaches this point: an event marks it, the heap reaps it later. */
static CUresult free_async(CUdeviceptr p, CUstream s, CUresult (*real)(CUdeviceptr, CUstream))
{
	struct shim_engine *e = shim_engine_of(p);
	CUevent ev;
	CUresult res;

	if (shim_in_forked_child())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!e)
		return real(p, s);
	res = shim_real.cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING);
	if (res == CUDA_SUCCESS)
		res = shim_real.cuEventRecord(ev, s);
	if (res == CUDA_SUCCESS)
		res = shim_heap_free_after(e, p, ev);
	if (res != CUDA_SUCCESS && ev)
		shim_real.cuEventDestroy(ev);
	return res;
}

SHIM_EXPORT CUresult cuMemFreeAsync(CUdeviceptr p, CUstream s)
{
	SHIM_GET_REAL(real, cuMemFreeAsync);
	return free_async(p, s, real);
}

SHIM_EXPORT CUresult cuMemFreeAsync_ptsz(CUdeviceptr p, CUstream s)
{
	SHIM_GET_REAL_AS(real, cuMemFreeAsync_ptsz, cuMemFreeAsync);
	return free_async(p, shim_stream(s, true), real);
}

/* Free and total as the budget sees them: the app sizes itself to the budget, not the device. */
SHIM_EXPORT CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total_bytes)
{
	SHIM_GET_REAL(real, cuMemGetInfo_v2);
	struct shim_engine *e;
	CUresult res = engine_for_alloc(&e);
	uint64_t used;

	if (res != CUDA_SUCCESS || !e)
		return res != CUDA_SUCCESS ? res : real(free_bytes, total_bytes);
	if (!free_bytes || !total_bytes)
		return CUDA_ERROR_INVALID_VALUE;
	used = shim_heap_used(e) + shim_engine_outside_total(e);
	*total_bytes = e->budget;
	*free_bytes = used < e->budget ? e->budget - used : 0;
	return CUDA_SUCCESS;
}

SHIM_EXPORT CUresult cuMemGetAddressRange_v2(CUdeviceptr *base, size_t *size, CUdeviceptr p)
{
	SHIM_GET_REAL(real, cuMemGetAddressRange_v2);
	struct shim_engine *e = shim_engine_of(p);
	struct shim_alloc a;

	if (!e)
		return real(base, size, p);
	if (!shim_heap_lookup(e, p, &a))
		return CUDA_ERROR_NOT_FOUND;
	if (base)
		*base = (CUdeviceptr)a.addr;
	if (size)
		*size = a.size;
	return CUDA_SUCCESS;
}

/*
 * The context of device memory on dev, whatever context is current: the
 * device's primary one (the engine's pager holds it retained, so this
 * retain and release leave it as it was).  An app's own contexts
 * (cuCtxCreate) are not told apart: the heap is the device's.
 */
static CUresult device_context(int dev, CUcontext *out)
{
	CUresult res = shim_real.cuDevicePrimaryCtxRetain(out, dev);

	if (res == CUDA_SUCCESS)
		shim_real.cuDevicePrimaryCtxRelease(dev);
	return res;
}

/*
 * A heap pointer is device memory of its engine's device: the driver
 * answers for the heap's own mapping, except the range attributes, which
 * are the allocation's.
 */
static CUresult heap_attribute(struct shim_engine *e, const struct shim_alloc *a, void *data,
			       CUpointer_attribute attr, CUdeviceptr p,
			       CUresult (*real)(void *, CUpointer_attribute, CUdeviceptr))
{
	switch (attr) {
	case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
		*(CUdeviceptr *)data = (CUdeviceptr)a->addr;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
		*(size_t *)data = a->size;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
		*(unsigned int *)data = CU_MEMORYTYPE_DEVICE;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
		*(CUdeviceptr *)data = p;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_HOST_POINTER:
		return CUDA_ERROR_INVALID_VALUE;
	case CU_POINTER_ATTRIBUTE_IS_MANAGED:
		*(int *)data = 0;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_MAPPED:
		*(int *)data = 1;
		return CUDA_SUCCESS;
	case CU_POINTER_ATTRIBUTE_CONTEXT:
		return device_context(e->device, data);
	case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
		*(int *)data = e->device;
		return CUDA_SUCCESS;
	default:
		/* Whatever the driver says of the heap's mapping (an evicted chunk is unmapped). */
		return real(data, attr, p);
	}
}

SHIM_EXPORT CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attr, CUdeviceptr p)
{
	SHIM_GET_REAL(real, cuPointerGetAttribute);
	struct shim_engine *e = shim_engine_of(p);
	struct shim_alloc a;

	if (!e)
		return real(data, attr, p);
	if (!data)
		return CUDA_ERROR_INVALID_VALUE;
	if (!shim_heap_lookup(e, p, &a))
		return CUDA_ERROR_INVALID_VALUE;
	return heap_attribute(e, &a, data, attr, p, real);
}

SHIM_EXPORT CUresult cuPointerGetAttributes(unsigned int n, CUpointer_attribute *attrs,
					    void **data, CUdeviceptr p)
{
	SHIM_GET_REAL(real, cuPointerGetAttributes);
	struct shim_engine *e = shim_engine_of(p);
	CUresult (*one)(void *, CUpointer_attribute, CUdeviceptr) =
		(__typeof__(one))shim_real.fn[SHIM_ID_cuPointerGetAttribute];
	struct shim_alloc a;

	if (!e)
		return real(n, attrs, data, p);
	if (!attrs || !data || !one)
		return CUDA_ERROR_INVALID_VALUE;
	/* As the driver does for memory it does not know: an attribute that fails is left as is. */
	if (!shim_heap_lookup(e, p, &a))
		return CUDA_ERROR_INVALID_VALUE;
	for (unsigned int i = 0; i < n; i++)
		if (data[i])
			heap_attribute(e, &a, data[i], attrs[i], p, one);
	return CUDA_SUCCESS;
}

/* The app's own VMM allocations pass through and are counted against the budget. */
SHIM_EXPORT CUresult cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size,
				 const CUmemAllocationProp *prop, unsigned long long flags)
{
	SHIM_GET_REAL(real, cuMemCreate);
	CUresult res = real(handle, size, prop, flags);

	if (res == CUDA_SUCCESS && prop && prop->location.type == CU_MEM_LOCATION_TYPE_DEVICE)
		shim_outside_add(*handle, size, prop->location.id);
	return res;
}

SHIM_EXPORT CUresult cuMemRelease(CUmemGenericAllocationHandle handle)
{
	SHIM_GET_REAL(real, cuMemRelease);
	CUresult res = real(handle);

	if (res == CUDA_SUCCESS)
		shim_outside_remove(handle);
	return res;
}
