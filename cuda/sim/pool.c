/*
 * pool.c - the stream-ordered allocator: cuMemAllocAsync,
 * cuMemAllocFromPoolAsync and cuMemFreeAsync, on the device's default
 * memory pool, the only one (cuMemPoolCreate is not simulated).
 *
 * An allocation is made when it is asked for, so it is usable at once by
 * work on its stream (and, more leniently than CUDA, on any other).  A
 * free is an operation on its stream: the memory goes back to the device
 * when the stream reaches it, and until then the pointer can be freed no
 * more.  A pool keeps no memory of its own: an allocation does not wait
 * for frees still queued, where a real pool may reuse their memory.
 */
#include <stdlib.h>

#include "log.h"
#include "sim.h"

/* The opaque type behind CUmemoryPool: only the handle exists. */
struct CUmemPoolHandle_st {
	int unused;
};

/* Each device's default pool. */
static struct CUmemPoolHandle_st default_pools[SIM_MAX_DEVICES];

struct free_op {
	struct sim_op op;
	struct sim_resv *resv;
};

CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool, CUdevice dev)
{
	CUresult err = sim_enter("cuDeviceGetDefaultMemPool", SIM_NEED_INIT);

	if (!err)
		err = sim_check_device(dev, "cuDeviceGetDefaultMemPool");
	if (err)
		return err;
	if (!pool)
		return CUDA_ERROR_INVALID_VALUE;
	*pool = &default_pools[dev];
	return CUDA_SUCCESS;
}

/* The device whose default pool pool is; -1 if it is none. */
static int pool_device(CUmemoryPool pool)
{
	for (int d = 0; d < sim_device_count(); d++)
		if (pool == &default_pools[d])
			return d;
	return -1;
}

static CUresult alloc_async(const char *func, CUdeviceptr *dptr, size_t bytesize,
			    CUmemoryPool pool, CUstream hstream)
{
	CUresult err = sim_enter(func, SIM_NEED_CTX);
	struct sim_resv *resv;
	CUstream s;
	int dev;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	if (!dptr)
		return CUDA_ERROR_INVALID_VALUE;
	dev = pool_device(pool);
	if (dev < 0)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: %p is not a memory pool", func,
				 (void *)pool);
	err = sim_dev_alloc(bytesize, SIM_RESV_ALLOC, dev, &resv);
	if (err)
		return err;
	*dptr = (CUdeviceptr)resv->base;
	return CUDA_SUCCESS;
}

CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t bytesize, CUstream hstream)
{
	return alloc_async("cuMemAllocAsync", dptr, bytesize,
			   &default_pools[sim_current_device()], hstream);
}

CUresult cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t bytesize, CUmemoryPool pool,
				 CUstream hstream)
{
	return alloc_async("cuMemAllocFromPoolAsync", dptr, bytesize, pool, hstream);
}

static uint64_t run_free(struct sim_op *op, uint64_t start_ns)
{
	struct free_op *f = (struct free_op *)op;
	uintptr_t base = f->resv->base;
	CUresult err;

	sim_vm_lock();
	err = sim_dev_release(f->resv);
	sim_vm_unlock();
	if (err)
		gp_log_error("simulated device: cuMemFreeAsync: cannot release %#lx",
			     (unsigned long)base);
	free(f);
	return start_ns;
}

/* Any allocation cuMemFree takes, as in CUDA: from cuMemAlloc* or managed. */
CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream hstream)
{
	CUresult err = sim_enter("cuMemFreeAsync", SIM_NEED_CTX);
	struct free_op *f;
	CUstream s;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	f = calloc(1, sizeof(*f));
	if (!f)
		return CUDA_ERROR_OUT_OF_MEMORY;
	f->op.run = run_free;
	sim_vm_lock();
	f->resv = sim_dev_find((uintptr_t)dptr, "cuMemFreeAsync");
	if (f->resv)
		f->resv->free_queued = true;
	sim_vm_unlock();
	if (!f->resv) {
		free(f);
		return CUDA_ERROR_INVALID_VALUE;
	}
	err = sim_stream_submit(s, &f->op, NULL);
	if (err) {
		sim_vm_lock();
		f->resv->free_queued = false;
		sim_vm_unlock();
		free(f);
	}
	return err;
}

CUresult cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t bytesize, CUstream hstream)
{
	return cuMemAllocAsync(dptr, bytesize, sim_per_thread(hstream));
}

CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *dptr, size_t bytesize, CUmemoryPool pool,
				      CUstream hstream)
{
	return cuMemAllocFromPoolAsync(dptr, bytesize, pool, sim_per_thread(hstream));
}

CUresult cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream hstream)
{
	return cuMemFreeAsync(dptr, sim_per_thread(hstream));
}
