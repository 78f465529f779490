/* test_sim_memory.c - simulated device: capacity, allocations, host memory, pointer queries. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/sim_test.h"

#define G SIM_TEST_GRANULE

static void small_device(void)
{
	setenv("GPUPAGER_SIM_VRAM", "16M", 1);
	sim_test_init();
}

TestSuite(sim_memory, .init = small_device);

static size_t free_bytes(void)
{
	size_t free_mem, total;

	sim_assert_ok(cuMemGetInfo(&free_mem, &total));
	cr_assert_eq(total, 16u << 20);
	return free_mem;
}

Test(sim_memory, capacity_is_shared_by_every_kind)
{
	CUmemAllocationProp prop = sim_test_prop();
	CUmemGenericAllocationHandle handle;
	CUdeviceptr plain, managed, more;

	cr_assert_eq(free_bytes(), 16u << 20);
	sim_assert_ok(cuMemAlloc(&plain, 4 * G));
	cr_assert_eq(free_bytes(), 4 * G);
	sim_assert_ok(cuMemAllocManaged(&managed, 2 * G, CU_MEM_ATTACH_GLOBAL));
	cr_assert_eq(free_bytes(), 2 * G);
	sim_assert_result(cuMemCreate(&handle, 4 * G, &prop, 0), CUDA_ERROR_OUT_OF_MEMORY);
	sim_assert_ok(cuMemCreate(&handle, 2 * G, &prop, 0));
	cr_assert_eq(free_bytes(), 0);
	sim_assert_result(cuMemAlloc(&more, 1), CUDA_ERROR_OUT_OF_MEMORY);
	sim_assert_result(cuMemAllocManaged(&more, 1, CU_MEM_ATTACH_GLOBAL),
			  CUDA_ERROR_OUT_OF_MEMORY);
	sim_assert_ok(cuMemRelease(handle));
	sim_assert_ok(cuMemFree(managed));
	sim_assert_ok(cuMemFree(plain));
	cr_assert_eq(free_bytes(), 16u << 20);
}

Test(sim_memory, alloc_rounds_to_the_granularity)
{
	CUdeviceptr p;
	CUdeviceptr base = 0;
	size_t size = 0;

	sim_assert_ok(cuMemAlloc(&p, 1000));
	cr_assert_eq(free_bytes(), (16u << 20) - G);
	/* The allocation reports the size asked for. */
	sim_assert_ok(cuMemGetAddressRange(&base, &size, p + 999));
	cr_assert_eq(base, p);
	cr_assert_eq(size, 1000);
	sim_assert_result(cuMemGetAddressRange(&base, &size, p + 1000), CUDA_ERROR_NOT_FOUND);
	sim_assert_ok(cuMemFree(p));
}

Test(sim_memory, alloc_and_free_errors)
{
	CUdeviceptr p;

	sim_assert_result(cuMemAlloc(&p, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAlloc(NULL, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemAlloc(&p, G));
	sim_assert_result(cuMemFree(p + 256), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemUnmap(p, G), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemFree(p));
	sim_assert_result(cuMemFree(p), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemFree(0), CUDA_ERROR_INVALID_VALUE);
}

Test(sim_memory, copies_round_trip)
{
	size_t n = 3 * G + 12345;
	unsigned char *src = malloc(n), *back = calloc(1, n);
	uint32_t words[4];
	CUdeviceptr a, b;

	cr_assert(src && back);
	for (size_t i = 0; i < n; i++)
		src[i] = (unsigned char)(i ^ (i >> 9));
	sim_assert_ok(cuMemAlloc(&a, n));
	sim_assert_ok(cuMemAlloc(&b, n));
	sim_assert_ok(cuMemcpyHtoD(a, src, n));
	sim_assert_ok(cuMemcpyDtoD(b, a, n));
	sim_assert_ok(cuMemcpy((CUdeviceptr)(uintptr_t)back, b, n));
	cr_assert_eq(memcmp(back, src, n), 0);
	sim_assert_ok(cuMemsetD8(a + 1, 0xab, 5));
	sim_assert_ok(cuMemsetD32(a + 8, 0xdeadbeef, 2));
	sim_assert_ok(cuMemcpyDtoH(words, a, sizeof(words)));
	cr_assert_eq(((unsigned char *)words)[0], src[0]);
	cr_assert_eq(((unsigned char *)words)[1], 0xab);
	cr_assert_eq(((unsigned char *)words)[5], 0xab);
	cr_assert_eq(words[2], 0xdeadbeef);
	cr_assert_eq(words[3], 0xdeadbeef);
	sim_assert_result(cuMemsetD32(a + 2, 0, 1), CUDA_ERROR_INVALID_VALUE);
	/* Zero bytes is a no-op, even with odd pointers. */
	sim_assert_ok(cuMemcpyHtoD(0, NULL, 0));
	sim_assert_ok(cuMemFree(a));
	sim_assert_ok(cuMemFree(b));
	free(src);
	free(back);
}

Test(sim_memory, copies_check_device_ranges)
{
	unsigned char host[64] = { 0 };
	CUmemAllocationProp prop = sim_test_prop();
	CUmemGenericAllocationHandle handle;
	CUdeviceptr p, va;

	sim_assert_ok(cuMemAlloc(&p, G));
	/* Past the end of the allocation: not mapped. */
	sim_assert_result(cuMemcpyHtoD(p + G - 32, host, 64), CUDA_ERROR_INVALID_VALUE);
	/* Host memory where device memory is needed. */
	sim_assert_result(cuMemcpyHtoD((CUdeviceptr)(uintptr_t)host, host, 1),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemcpyDtoH(host, (CUdeviceptr)(uintptr_t)host, 1),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemAddressReserve(&va, 2 * G, 0, 0, 0));
	sim_assert_result(cuMemcpyDtoH(host, va, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemCreate(&handle, G, &prop, 0));
	sim_assert_ok(cuMemMap(va, G, 0, handle, 0));
	/* Mapped but no access granted yet. */
	sim_assert_result(cuMemcpyDtoH(host, va, 1), CUDA_ERROR_ILLEGAL_ADDRESS);
	sim_assert_result(cuMemsetD8(va, 0, 1), CUDA_ERROR_ILLEGAL_ADDRESS);
	sim_assert_result(cuMemcpyDtoD(p, va, 1), CUDA_ERROR_ILLEGAL_ADDRESS);
	sim_assert_ok(cuMemUnmap(va, G));
	sim_assert_ok(cuMemRelease(handle));
	sim_assert_ok(cuMemAddressFree(va, 2 * G));
	sim_assert_ok(cuMemFree(p));
	/* Refused at enqueue time, so nothing stuck to the context. */
	sim_assert_ok(cuCtxSynchronize());
}

Test(sim_memory, pointer_attributes)
{
	CUdeviceptr dev, managed, start = 0;
	unsigned int type = 0;
	bool is_managed = true;
	size_t size = 0;
	void *host, *host_ptr = NULL;
	char pageable[16];
	CUcontext ctx = NULL, current;

	sim_assert_ok(cuCtxGetCurrent(&current));
	sim_assert_ok(cuMemAlloc(&dev, 100));
	sim_assert_ok(cuMemAllocManaged(&managed, 100, CU_MEM_ATTACH_GLOBAL));
	sim_assert_ok(cuMemAllocHost(&host, 4096));
	sim_assert_ok(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, dev + 5));
	cr_assert_eq(type, CU_MEMORYTYPE_DEVICE);
	sim_assert_ok(cuPointerGetAttribute(&is_managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, dev));
	cr_assert_not(is_managed);
	sim_assert_ok(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
					    dev + 5));
	cr_assert_eq(start, dev);
	sim_assert_ok(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, dev + 5));
	cr_assert_eq(size, 100);
	sim_assert_ok(cuPointerGetAttribute(&ctx, CU_POINTER_ATTRIBUTE_CONTEXT, dev));
	cr_assert_eq(ctx, current);
	sim_assert_result(cuPointerGetAttribute(&host_ptr, CU_POINTER_ATTRIBUTE_HOST_POINTER, dev),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuPointerGetAttribute(&is_managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, managed));
	cr_assert(is_managed);
	sim_assert_ok(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					    (CUdeviceptr)(uintptr_t)host + 10));
	cr_assert_eq(type, CU_MEMORYTYPE_HOST);
	sim_assert_result(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
						(CUdeviceptr)(uintptr_t)pageable),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemFreeHost(host));
	sim_assert_ok(cuMemFree(managed));
	sim_assert_ok(cuMemFree(dev));
}

Test(sim_memory, host_memory_rules)
{
	size_t len = 64 << 10;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *pinned, *portable;
	CUdeviceptr dev;

	cr_assert_neq(buf, MAP_FAILED);
	sim_assert_ok(cuMemHostRegister(buf, len / 2, CU_MEMHOSTREGISTER_PORTABLE));
	sim_assert_result(cuMemHostRegister(buf + 4096, 4096, 0),
			  CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
	sim_assert_ok(cuMemHostRegister(buf + len / 2, len / 2, 0));
	sim_assert_result(cuMemHostUnregister(buf + 4096), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
	sim_assert_result(cuMemFreeHost(buf), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemHostUnregister(buf));
	sim_assert_ok(cuMemHostUnregister(buf + len / 2));
	sim_assert_result(cuMemHostUnregister(buf), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
	sim_assert_result(cuMemHostRegister(buf, 0, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemHostRegister(buf, len, 0x100), CUDA_ERROR_INVALID_VALUE);
	/* Device memory cannot be registered as host memory. */
	sim_assert_ok(cuMemAlloc(&dev, 1));
	sim_assert_result(cuMemHostRegister((void *)(uintptr_t)dev, 4096, 0),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemFree(dev));
	/* Pinning memory the kernel cannot fault in fails. */
	cr_assert_eq(mprotect(buf, len, PROT_NONE), 0);
	sim_assert_result(cuMemHostRegister(buf, len, 0), CUDA_ERROR_INVALID_VALUE);
	munmap(buf, len);
	sim_assert_ok(cuMemAllocHost(&pinned, 1000));
	sim_assert_ok(cuMemHostAlloc(&portable, 1000, CU_MEMHOSTALLOC_PORTABLE));
	sim_assert_result(cuMemHostUnregister(pinned), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
	sim_assert_result(cuMemHostAlloc(&portable, 1000, 0x80), CUDA_ERROR_INVALID_VALUE);
	memset(pinned, 1, 1000);
	sim_assert_ok(cuMemFreeHost(pinned));
	sim_assert_ok(cuMemFreeHost(portable));
	sim_assert_result(cuMemFreeHost(pinned), CUDA_ERROR_INVALID_VALUE);
}
