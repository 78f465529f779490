/*
 * pool.c - the stream-ordered allocator: cuMemAllocAsync,
 * cuMemAllocFromPoolAsync and cuMemFreeAsync, on the device's default
 * memory pool, the only one (cuMemPoolCreate is not simulated), and the
 * pool's queries: cuDeviceGetMemPool/cuDeviceSetMemPool (the default pool
 * is every device's current one), its attributes and cuMemPoolTrimTo.
 *
 * An allocation is made when it is asked for, so it is usable at once by
 * work on its stream (and, more leniently than CUDA, on any other).  A
 * free is an operation on its stream: the memory goes back to the device
 * when the stream reaches it, and until then the pointer can be freed no
 * more.  A pool keeps no memory of its own: an allocation does not wait
 * for frees still queued, where a real pool may reuse their memory, and
 * its reserved memory is what is in use (trimming has nothing to release).
 */
#include <pthread.h>
#include <stdlib.h>

#include "log.h"
#include "sim.h"

/* The opaque type behind CUmemoryPool: only the handle exists. */
struct CUmemPoolHandle_st {
	int unused;
};

/* Each device's default pool. */
static struct CUmemPoolHandle_st default_pools[SIM_MAX_DEVICES];

/* Each default pool's attributes and byte counts, under pool_lock. */
struct pool_state {
	int reuse[3];                   /* the three CU_MEMPOOL_ATTR_REUSE_* flags */
	cuuint64_t release_threshold;
	cuuint64_t used, used_high, reserved_high;
};
static struct pool_state pool_states[SIM_MAX_DEVICES];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

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

void sim_pool_count(int dev, int64_t bytes)
{
	struct pool_state *ps = &pool_states[dev];

	pthread_mutex_lock(&pool_lock);
	ps->used += (cuuint64_t)bytes;
	if (ps->used > ps->used_high)
		ps->used_high = ps->used;
	if (ps->used > ps->reserved_high)
		ps->reserved_high = ps->used;
	pthread_mutex_unlock(&pool_lock);
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
	resv->from_pool = true;
	sim_pool_count(dev, (int64_t)resv->bytes);
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

CUresult cuDeviceGetMemPool(CUmemoryPool *pool, CUdevice dev)
{
	CUresult err = sim_enter("cuDeviceGetMemPool", SIM_NEED_INIT);

	if (!err)
		err = sim_check_device(dev, "cuDeviceGetMemPool");
	if (err)
		return err;
	if (!pool)
		return CUDA_ERROR_INVALID_VALUE;
	*pool = &default_pools[dev];
	return CUDA_SUCCESS;
}

/* Only the default pool exists, so it is the only one a device can be given. */
CUresult cuDeviceSetMemPool(CUdevice dev, CUmemoryPool pool)
{
	CUresult err = sim_enter("cuDeviceSetMemPool", SIM_NEED_INIT);

	if (!err)
		err = sim_check_device(dev, "cuDeviceSetMemPool");
	if (err)
		return err;
	if (pool_device(pool) != dev)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuDeviceSetMemPool: %p is not a "
				 "memory pool of device %d", (void *)pool, dev);
	return CUDA_SUCCESS;
}

static int *reuse_flag(struct pool_state *ps, CUmemPool_attribute attr)
{
	switch (attr) {
	case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
		return &ps->reuse[0];
	case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
		return &ps->reuse[1];
	case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES:
		return &ps->reuse[2];
	default:
		return NULL;
	}
}

/* The reuse flags are on by default; they are kept as "set to off" (pool_lock held). */
static CUresult get_attribute(struct pool_state *ps, CUmemPool_attribute attr, void *value)
{
	int *flag = reuse_flag(ps, attr);

	if (flag)
		*(int *)value = !*flag;
	else if (attr == CU_MEMPOOL_ATTR_RELEASE_THRESHOLD)
		*(cuuint64_t *)value = ps->release_threshold;
	else if (attr == CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT ||
		 attr == CU_MEMPOOL_ATTR_USED_MEM_CURRENT)
		*(cuuint64_t *)value = ps->used;
	else if (attr == CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH)
		*(cuuint64_t *)value = ps->reserved_high;
	else if (attr == CU_MEMPOOL_ATTR_USED_MEM_HIGH)
		*(cuuint64_t *)value = ps->used_high;
	else
		return CUDA_ERROR_INVALID_VALUE;
	return CUDA_SUCCESS;
}

/* The high marks may only be reset (to 0, as documented): they restart at what is in use. */
static CUresult set_attribute(struct pool_state *ps, CUmemPool_attribute attr, const void *value)
{
	int *flag = reuse_flag(ps, attr);

	if (flag)
		*flag = !*(const int *)value;
	else if (attr == CU_MEMPOOL_ATTR_RELEASE_THRESHOLD)
		ps->release_threshold = *(const cuuint64_t *)value;
	else if (attr == CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH && !*(const cuuint64_t *)value)
		ps->reserved_high = ps->used;
	else if (attr == CU_MEMPOOL_ATTR_USED_MEM_HIGH && !*(const cuuint64_t *)value)
		ps->used_high = ps->used;
	else
		return CUDA_ERROR_INVALID_VALUE;
	return CUDA_SUCCESS;
}

static CUresult pool_attribute(const char *func, CUmemoryPool pool, CUmemPool_attribute attr,
			       void *value, bool set)
{
	CUresult err = sim_enter(func, SIM_NEED_INIT);
	int dev;

	if (err)
		return err;
	dev = pool_device(pool);
	if (dev < 0)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: %p is not a memory pool", func,
				 (void *)pool);
	if (!value)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&pool_lock);
	err = set ? set_attribute(&pool_states[dev], attr, value) :
		    get_attribute(&pool_states[dev], attr, value);
	pthread_mutex_unlock(&pool_lock);
	return err;
}

CUresult cuMemPoolGetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void *value)
{
	return pool_attribute("cuMemPoolGetAttribute", pool, attr, value, false);
}

CUresult cuMemPoolSetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void *value)
{
	return pool_attribute("cuMemPoolSetAttribute", pool, attr, value, true);
}

/* The pool holds nothing beyond what is in use: nothing to release. */
CUresult cuMemPoolTrimTo(CUmemoryPool pool, size_t min_bytes_to_keep)
{
	CUresult err = sim_enter("cuMemPoolTrimTo", SIM_NEED_INIT);

	(void)min_bytes_to_keep;
	if (err)
		return err;
	if (pool_device(pool) < 0)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuMemPoolTrimTo: %p is not a memory "
				 "pool", (void *)pool);
	return CUDA_SUCCESS;
}
