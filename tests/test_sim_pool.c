/*
 * test_sim_pool.c - simulated device: the stream-ordered allocator
 * (cuMemAllocAsync, cuMemAllocFromPoolAsync, cuMemFreeAsync) on the
 * default memory pool.
 */
#include <criterion/criterion.h>
#include <cudaTypedefs.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "common/sim_test.h"

#define G SIM_TEST_GRANULE

static void small_device(void)
{
	setenv("GPUPAGER_SIM_VRAM", "16M", 1);
	sim_test_init();
}

TestSuite(sim_pool, .init = small_device);

static size_t free_bytes(void)
{
	size_t free_mem, total;

	sim_assert_ok(cuMemGetInfo(&free_mem, &total));
	return free_mem;
}

Test(sim_pool, default_pool)
{
	CUmemoryPool pool = NULL, again = NULL;
	int supported = 0;

	sim_assert_ok(cuDeviceGetAttribute(&supported, CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED,
					   0));
	cr_assert_eq(supported, 1);
	sim_assert_ok(cuDeviceGetDefaultMemPool(&pool, 0));
	cr_assert_not_null(pool);
	sim_assert_ok(cuDeviceGetDefaultMemPool(&again, 0));
	cr_assert_eq(pool, again);
	sim_assert_result(cuDeviceGetDefaultMemPool(&pool, 1), CUDA_ERROR_INVALID_DEVICE);
	sim_assert_result(cuDeviceGetDefaultMemPool(NULL, 0), CUDA_ERROR_INVALID_VALUE);
}

Test(sim_pool, allocation_is_usable_on_its_stream)
{
	unsigned char *host = malloc(3 * G), *back = calloc(1, 3 * G);
	CUdeviceptr p, base;
	CUstream s;
	size_t size;

	cr_assert(host && back);
	for (size_t i = 0; i < 3 * G; i++)
		host[i] = (unsigned char)(i * 13 + (i >> 12));
	sim_assert_ok(cuStreamCreate(&s, 0));
	sim_assert_ok(cuMemAllocAsync(&p, 3 * G - 5, s));
	cr_assert_eq(p % 256, 0);
	sim_assert_ok(cuMemcpyHtoDAsync(p, host, 3 * G - 5, s));
	sim_assert_ok(cuMemsetD8Async(p + G, 0x42, 10, s));
	sim_assert_ok(cuMemcpyDtoHAsync(back, p, 3 * G - 5, s));
	sim_assert_ok(cuMemFreeAsync(p, s));
	sim_assert_ok(cuStreamSynchronize(s));
	memset(host + G, 0x42, 10);
	cr_assert_eq(memcmp(back, host, 3 * G - 5), 0);
	cr_assert_eq(free_bytes(), 16u << 20);
	sim_assert_result(cuMemGetAddressRange(&base, &size, p), CUDA_ERROR_NOT_FOUND);
	sim_assert_ok(cuStreamDestroy(s));
	free(host);
	free(back);
}

Test(sim_pool, free_happens_when_the_stream_reaches_it)
{
	struct sim_test_latch latch;
	CUdeviceptr p, base;
	size_t size;
	CUstream s;

	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuMemAllocAsync(&p, 2 * G, s));
	cr_assert_eq(free_bytes(), (16u << 20) - 2 * G);
	sim_test_hold(s, &latch);
	sim_assert_ok(cuMemFreeAsync(p, s));
	/* Queued, not reached: the memory is still there, but freed already. */
	cr_assert_eq(free_bytes(), (16u << 20) - 2 * G);
	sim_assert_ok(cuMemGetAddressRange(&base, &size, p));
	cr_assert_eq(size, 2 * G);
	sim_assert_result(cuMemFreeAsync(p, s), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemFreeAsync(p, NULL), CUDA_ERROR_INVALID_VALUE);
	sim_test_release(&latch);
	sim_assert_ok(cuStreamSynchronize(s));
	cr_assert_eq(free_bytes(), 16u << 20);
	sim_assert_result(cuMemGetAddressRange(&base, &size, p), CUDA_ERROR_NOT_FOUND);
	sim_assert_result(cuMemFreeAsync(p, s), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemFree(p), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuStreamDestroy(s));
}

/* Work queued before the free on its stream runs on live memory. */
Test(sim_pool, free_waits_for_earlier_work_on_its_stream)
{
	struct sim_test_latch latch;
	unsigned char *back;
	CUdeviceptr p;
	CUstream s;

	/* Pinned, so that the copy back is queued behind the latch instead of waiting. */
	sim_assert_ok(cuMemAllocHost((void **)&back, 4096));
	memset(back, 0, 4096);
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuMemAllocAsync(&p, 4096, s));
	sim_test_hold(s, &latch);
	sim_assert_ok(cuMemsetD8Async(p, 0x3c, 4096, s));
	sim_assert_ok(cuMemcpyDtoHAsync(back, p, 4096, s));
	sim_assert_ok(cuMemFreeAsync(p, s));
	sim_test_release(&latch);
	sim_assert_ok(cuStreamSynchronize(s));
	for (int i = 0; i < 4096; i++)
		cr_assert_eq(back[i], 0x3c, "byte %d is %#x", i, back[i]);
	/* No illegal address stuck to the context. */
	sim_assert_ok(cuCtxSynchronize());
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFreeHost(back));
}

Test(sim_pool, either_free_takes_either_allocation)
{
	CUdeviceptr plain, async, managed;

	sim_assert_ok(cuMemAlloc(&plain, G));
	sim_assert_ok(cuMemAllocAsync(&async, G, NULL));
	sim_assert_ok(cuMemAllocManaged(&managed, G, CU_MEM_ATTACH_GLOBAL));
	sim_assert_ok(cuMemFreeAsync(plain, NULL));
	sim_assert_ok(cuMemFreeAsync(managed, NULL));
	sim_assert_ok(cuMemFree(async));
	sim_assert_ok(cuCtxSynchronize());
	cr_assert_eq(free_bytes(), 16u << 20);
}

Test(sim_pool, errors)
{
	CUmemoryPool pool;
	CUdeviceptr p = 0, va;
	char host[16];

	sim_assert_ok(cuDeviceGetDefaultMemPool(&pool, 0));
	sim_assert_result(cuMemAllocAsync(&p, 0, NULL), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAllocAsync(NULL, 1, NULL), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAllocAsync(&p, 17u << 20, NULL), CUDA_ERROR_OUT_OF_MEMORY);
	sim_assert_result(cuMemAllocFromPoolAsync(&p, 1, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAllocFromPoolAsync(&p, 1, (CUmemoryPool)host, NULL),
			  CUDA_ERROR_INVALID_VALUE);
	cr_assert_eq(p, 0, "a failed call wrote the pointer");
	sim_assert_ok(cuMemAllocFromPoolAsync(&p, 1, pool, NULL));
	/* Not the start of an allocation, not from an allocator, nothing at all. */
	sim_assert_result(cuMemFreeAsync(p + 256, NULL), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemFreeAsync((CUdeviceptr)(uintptr_t)host, NULL),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemFreeAsync(0, NULL), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemAddressReserve(&va, G, 0, 0, 0));
	sim_assert_result(cuMemFreeAsync(va, NULL), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemAddressFree(va, G));
	sim_assert_ok(cuMemFreeAsync(p, NULL));
	sim_assert_ok(cuStreamSynchronize(NULL));
	cr_assert_eq(free_bytes(), 16u << 20);
	/* The capacity is the device's: the pool holds nothing back. */
	sim_assert_ok(cuMemAllocAsync(&p, 16u << 20, NULL));
	sim_assert_ok(cuMemFreeAsync(p, NULL));
	sim_assert_ok(cuCtxSynchronize());
}

Test(sim_pool, destroyed_stream_keeps_the_memory)
{
	CUdeviceptr p;
	CUstream s;

	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuMemAllocAsync(&p, G, s));
	sim_assert_ok(cuStreamDestroy(s));
	/* The pointer is still live and can be freed on another stream. */
	sim_assert_ok(cuMemFreeAsync(p, NULL));
	sim_assert_ok(cuCtxSynchronize());
	cr_assert_eq(free_bytes(), 16u << 20);
}

/* The _ptsz forms, resolved as a per-thread-default-stream client does. */
Test(sim_pool, per_thread_forms_use_the_thread_default_stream)
{
	PFN_cuMemAllocAsync_v11020_ptsz alloc_pt;
	PFN_cuMemAllocFromPoolAsync_v11020_ptsz alloc_pool_pt;
	PFN_cuMemFreeAsync_v11020_ptsz free_pt;
	struct sim_test_latch latch;
	CUdeviceptr p, q;
	CUmemoryPool pool;

	sim_assert_ok(cuGetProcAddress("cuMemAllocAsync", (void **)&alloc_pt, 12000,
				       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, NULL));
	sim_assert_ok(cuGetProcAddress("cuMemAllocFromPoolAsync", (void **)&alloc_pool_pt, 12000,
				       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, NULL));
	sim_assert_ok(cuGetProcAddress("cuMemFreeAsync", (void **)&free_pt, 12000,
				       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, NULL));
	cr_assert_eq((void *)alloc_pt, dlsym(RTLD_DEFAULT, "cuMemAllocAsync_ptsz"));
	cr_assert_eq((void *)alloc_pool_pt, dlsym(RTLD_DEFAULT, "cuMemAllocFromPoolAsync_ptsz"));
	cr_assert_eq((void *)free_pt, dlsym(RTLD_DEFAULT, "cuMemFreeAsync_ptsz"));
	sim_assert_ok(cuDeviceGetDefaultMemPool(&pool, 0));
	sim_assert_ok(alloc_pt(&p, G, NULL));
	sim_assert_ok(alloc_pool_pt(&q, G, pool, CU_STREAM_PER_THREAD));
	/* The thread's default stream is held: frees queued on it wait. */
	sim_test_hold(CU_STREAM_PER_THREAD, &latch);
	sim_assert_ok(free_pt(p, NULL));
	sim_assert_ok(free_pt(q, NULL));
	sim_assert_result(free_pt(q, NULL), CUDA_ERROR_INVALID_VALUE);
	cr_assert_eq(free_bytes(), (16u << 20) - 2 * G);
	sim_test_release(&latch);
	sim_assert_ok(cuStreamSynchronize(CU_STREAM_PER_THREAD));
	cr_assert_eq(free_bytes(), 16u << 20);
	sim_assert_result(alloc_pool_pt(&p, G, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
}

Test(sim_pool, the_default_pool_is_the_current_one)
{
	CUmemoryPool pool = NULL, current = NULL;
	int not_a_pool;

	sim_assert_ok(cuDeviceGetDefaultMemPool(&pool, 0));
	sim_assert_ok(cuDeviceGetMemPool(&current, 0));
	cr_assert_eq(current, pool);
	sim_assert_ok(cuDeviceSetMemPool(0, pool));
	sim_assert_result(cuDeviceSetMemPool(0, (CUmemoryPool)&not_a_pool),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuDeviceGetMemPool(NULL, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuDeviceGetMemPool(&current, 1), CUDA_ERROR_INVALID_DEVICE);
	sim_assert_ok(cuMemPoolTrimTo(pool, 0));
	sim_assert_result(cuMemPoolTrimTo((CUmemoryPool)&not_a_pool, 0), CUDA_ERROR_INVALID_VALUE);
}

static cuuint64_t pool_u64(CUmemoryPool pool, CUmemPool_attribute attr)
{
	cuuint64_t v = 12345;

	sim_assert_ok(cuMemPoolGetAttribute(pool, attr, &v));
	return v;
}

Test(sim_pool, attributes_keep_what_is_set_and_count_what_is_allocated)
{
	CUmemoryPool pool = NULL;
	cuuint64_t threshold = UINT64_MAX, zero = 0, one = 1;
	CUdeviceptr a, b;
	CUstream s;
	int flag = -1, off = 0;

	sim_assert_ok(cuDeviceGetDefaultMemPool(&pool, 0));
	sim_assert_ok(cuStreamCreate(&s, 0));
	sim_assert_ok(cuMemPoolGetAttribute(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, &flag));
	cr_assert_eq(flag, 1, "the reuse flags are on by default");
	sim_assert_ok(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, &off));
	sim_assert_ok(cuMemPoolGetAttribute(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, &flag));
	cr_assert_eq(flag, 0);
	cr_assert_eq(pool_u64(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD), 0);
	sim_assert_ok(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &threshold));
	cr_assert_eq(pool_u64(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD), UINT64_MAX);

	sim_assert_ok(cuMemAllocAsync(&a, 3 * G, s));
	sim_assert_ok(cuMemAllocFromPoolAsync(&b, G, pool, s));
	cr_assert_eq(pool_u64(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT), 4 * G);
	cr_assert_eq(pool_u64(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT), 4 * G);
	sim_assert_ok(cuMemFreeAsync(a, s));
	sim_assert_ok(cuStreamSynchronize(s));
	cr_assert_eq(pool_u64(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT), G);
	cr_assert_eq(pool_u64(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH), 4 * G);
	cr_assert_eq(pool_u64(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH), 4 * G);
	/* The high marks can only be reset, to what is in use. */
	sim_assert_result(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, &one),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, &zero));
	cr_assert_eq(pool_u64(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH), G);
	sim_assert_result(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT, &zero),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemPoolGetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, NULL),
			  CUDA_ERROR_INVALID_VALUE);
	/* cuMemAlloc is not the pool's. */
	sim_assert_ok(cuMemFree(b));
	sim_assert_ok(cuMemAlloc(&a, G));
	cr_assert_eq(pool_u64(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT), 0);
	sim_assert_ok(cuMemFree(a));
	sim_assert_ok(cuStreamDestroy(s));
}
