/*
 * test_sim_entry_faults.c - simulated device: GPUPAGER_SIM_FAIL on the
 * entry points of the stream-ordered allocator, pitched and 2D memory,
 * pointer attributes, cooperative launches and the context stack, and on
 * the per-thread-default-stream forms, which count as their base name.
 * Each failure is the default error (out of memory for allocations) and
 * leaves nothing changed.
 */
#include <criterion/criterion.h>
#include <cudaTypedefs.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sim_test.h"

#define G SIM_TEST_GRANULE
#define PTDS CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM

static void init_with(const char *spec)
{
	setenv("GPUPAGER_SIM_VRAM", "16M", 1);
	setenv("GPUPAGER_SIM_FAIL", spec, 1);
	sim_test_init();
}

static size_t free_bytes(void)
{
	size_t free_mem, total;

	sim_assert_ok(cuMemGetInfo(&free_mem, &total));
	return free_mem;
}

Test(sim_entry_faults, allocations_fail_with_out_of_memory)
{
	CUdeviceptr p = 0;
	CUmemoryPool pool;
	size_t pitch = 0;

	init_with("cuMemAllocPitch:1,cuMemAllocAsync:1,cuMemAllocFromPoolAsync:1,"
		  "cuDeviceGetDefaultMemPool:1");
	sim_assert_result(cuDeviceGetDefaultMemPool(&pool, 0), CUDA_ERROR_UNKNOWN);
	sim_assert_ok(cuDeviceGetDefaultMemPool(&pool, 0));
	sim_assert_result(cuMemAllocPitch(&p, &pitch, 100, 10, 4), CUDA_ERROR_OUT_OF_MEMORY);
	sim_assert_result(cuMemAllocAsync(&p, G, NULL), CUDA_ERROR_OUT_OF_MEMORY);
	sim_assert_result(cuMemAllocFromPoolAsync(&p, G, pool, NULL), CUDA_ERROR_OUT_OF_MEMORY);
	cr_assert_eq(p, 0);
	cr_assert_eq(pitch, 0);
	cr_assert_eq(free_bytes(), 16u << 20);
	sim_assert_ok(cuMemAllocPitch(&p, &pitch, 100, 10, 4));
	sim_assert_ok(cuMemFree(p));
	sim_assert_ok(cuMemAllocAsync(&p, G, NULL));
	sim_assert_ok(cuMemFreeAsync(p, NULL));
	sim_assert_ok(cuMemAllocFromPoolAsync(&p, G, pool, NULL));
	sim_assert_ok(cuMemFreeAsync(p, NULL));
	sim_assert_ok(cuCtxSynchronize());
}

Test(sim_entry_faults, free_async_keeps_the_memory)
{
	CUdeviceptr p, base;
	size_t size;

	init_with("cuMemFreeAsync:1=CUDA_ERROR_ILLEGAL_ADDRESS");
	sim_assert_ok(cuMemAllocAsync(&p, G, NULL));
	sim_assert_result(cuMemFreeAsync(p, NULL), CUDA_ERROR_ILLEGAL_ADDRESS);
	sim_assert_ok(cuCtxSynchronize());
	sim_assert_ok(cuMemGetAddressRange(&base, &size, p));
	sim_assert_ok(cuMemFreeAsync(p, NULL));
	sim_assert_ok(cuCtxSynchronize());
	cr_assert_eq(free_bytes(), 16u << 20);
}

Test(sim_entry_faults, copies_and_memsets_change_nothing)
{
	unsigned char host[256], back[256];
	CUDA_MEMCPY2D d = {
		.srcMemoryType = CU_MEMORYTYPE_HOST,
		.srcHost = host,
		.srcPitch = 16,
		.dstMemoryType = CU_MEMORYTYPE_DEVICE,
		.dstPitch = 16,
		.WidthInBytes = 16,
		.Height = 16,
	};
	CUdeviceptr p;

	init_with("cuMemsetD16:1,cuMemsetD16Async:1,cuMemsetD2D8:1,cuMemsetD2D8Async:1,"
		  "cuMemcpy2D:1,cuMemcpy2DAsync:1");
	memset(host, 0x77, sizeof(host));
	sim_assert_ok(cuMemAlloc(&p, sizeof(host)));
	sim_assert_ok(cuMemsetD8(p, 0, sizeof(host)));
	d.dstDevice = p;
	sim_assert_result(cuMemsetD16(p, 0x1111, 8), CUDA_ERROR_UNKNOWN);
	sim_assert_result(cuMemsetD16Async(p, 0x1111, 8, NULL), CUDA_ERROR_UNKNOWN);
	sim_assert_result(cuMemsetD2D8(p, 16, 0x11, 8, 2), CUDA_ERROR_UNKNOWN);
	sim_assert_result(cuMemsetD2D8Async(p, 16, 0x11, 8, 2, NULL), CUDA_ERROR_UNKNOWN);
	sim_assert_result(cuMemcpy2D(&d), CUDA_ERROR_UNKNOWN);
	sim_assert_result(cuMemcpy2DAsync(&d, NULL), CUDA_ERROR_UNKNOWN);
	sim_assert_ok(cuMemcpyDtoH(back, p, sizeof(back)));
	for (size_t i = 0; i < sizeof(back); i++)
		cr_assert_eq(back[i], 0, "byte %zu written by a failed call", i);
	sim_assert_ok(cuMemsetD16(p, 0x1111, 8));
	sim_assert_ok(cuMemsetD16Async(p, 0x1111, 8, NULL));
	sim_assert_ok(cuMemsetD2D8(p, 16, 0x11, 8, 2));
	sim_assert_ok(cuMemsetD2D8Async(p, 16, 0x11, 8, 2, NULL));
	sim_assert_ok(cuMemcpy2D(&d));
	sim_assert_ok(cuMemcpy2DAsync(&d, NULL));
	sim_assert_ok(cuStreamSynchronize(NULL));
	sim_assert_ok(cuMemcpyDtoH(back, p, sizeof(back)));
	cr_assert_eq(memcmp(back, host, sizeof(back)), 0);
	sim_assert_ok(cuMemFree(p));
}

Test(sim_entry_faults, contexts_and_pointers)
{
	CUpointer_attribute attr = CU_POINTER_ATTRIBUTE_MEMORY_TYPE;
	unsigned int type = 77;
	void *data[] = { &type };
	CUcontext ctx, popped = NULL;
	CUdevice dev = -1;
	CUdeviceptr p;

	init_with("cuCtxGetDevice:1,cuCtxPushCurrent:1,cuCtxPopCurrent:1,cuPointerGetAttributes:1");
	sim_assert_ok(cuCtxGetCurrent(&ctx));
	sim_assert_result(cuCtxGetDevice(&dev), CUDA_ERROR_UNKNOWN);
	cr_assert_eq(dev, -1);
	sim_assert_ok(cuCtxGetDevice_v2(&dev, ctx));
	sim_assert_result(cuCtxPushCurrent(ctx), CUDA_ERROR_UNKNOWN);
	sim_assert_result(cuCtxPopCurrent(&popped), CUDA_ERROR_UNKNOWN);
	cr_assert_null(popped);
	/* Neither changed the stack: it still holds the context once. */
	sim_assert_ok(cuCtxPopCurrent(&popped));
	cr_assert_eq(popped, ctx);
	sim_assert_result(cuCtxPopCurrent(&popped), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_ok(cuCtxPushCurrent(ctx));
	sim_assert_ok(cuMemAlloc(&p, 16));
	sim_assert_result(cuPointerGetAttributes(1, &attr, data, p), CUDA_ERROR_UNKNOWN);
	cr_assert_eq(type, 77);
	sim_assert_ok(cuPointerGetAttributes(1, &attr, data, p));
	cr_assert_eq(type, CU_MEMORYTYPE_DEVICE);
	sim_assert_ok(cuMemFree(p));
}

Test(sim_entry_faults, cooperative_launch)
{
	uint32_t value = 9, back = 0;
	uint64_t count = 1;
	CUdeviceptr dev;
	void *params[] = { &dev, &value, &count };
	CUmodule module;
	CUfunction fill;

	init_with("cuLaunchCooperativeKernel:1");
	sim_assert_ok(cuModuleLoad(&module, SIM_TEST_KERNELS));
	sim_assert_ok(cuModuleGetFunction(&fill, module, "fill_u32"));
	sim_assert_ok(cuMemAlloc(&dev, sizeof(back)));
	sim_assert_ok(cuMemsetD32(dev, 0, 1));
	sim_assert_result(cuLaunchCooperativeKernel(fill, 1, 1, 1, 1, 1, 1, 0, NULL, params),
			  CUDA_ERROR_UNKNOWN);
	sim_assert_ok(cuCtxSynchronize());
	sim_assert_ok(cuMemcpyDtoH(&back, dev, sizeof(back)));
	cr_assert_eq(back, 0, "a failed launch ran");
	sim_assert_ok(cuLaunchCooperativeKernel(fill, 1, 1, 1, 1, 1, 1, 0, NULL, params));
	sim_assert_ok(cuMemcpyDtoH(&back, dev, sizeof(back)));
	cr_assert_eq(back, 9);
	sim_assert_ok(cuMemFree(dev));
	sim_assert_ok(cuModuleUnload(module));
}

/* A rule names the base name; every form of it counts towards N. */
Test(sim_entry_faults, per_thread_forms_count_as_their_base_name)
{
	PFN_cuMemcpyHtoD_v7000_ptds htod_pt;
	PFN_cuStreamSynchronize_v7000_ptsz sync_pt;
	PFN_cuMemAllocAsync_v11020_ptsz alloc_pt;
	unsigned char host[16] = { 0 };
	CUdeviceptr dev;

	init_with("cuMemcpyHtoD:1,cuStreamSynchronize:2,cuMemAllocAsync:1");
	sim_assert_ok(cuGetProcAddress("cuMemcpyHtoD", (void **)&htod_pt, 13000, PTDS, NULL));
	sim_assert_ok(cuGetProcAddress("cuStreamSynchronize", (void **)&sync_pt, 13000, PTDS,
				       NULL));
	sim_assert_ok(cuGetProcAddress("cuMemAllocAsync", (void **)&alloc_pt, 13000, PTDS, NULL));
	sim_assert_result(alloc_pt(&dev, 16, NULL), CUDA_ERROR_OUT_OF_MEMORY);
	sim_assert_ok(cuMemAllocAsync(&dev, 16, NULL));
	sim_assert_result(htod_pt(dev, host, sizeof(host)), CUDA_ERROR_UNKNOWN);
	sim_assert_ok(cuMemcpyHtoD(dev, host, sizeof(host)));
	sim_assert_ok(htod_pt(dev, host, sizeof(host)));
	sim_assert_ok(cuStreamSynchronize(NULL));
	sim_assert_result(sync_pt(NULL), CUDA_ERROR_UNKNOWN);
	sim_assert_ok(sync_pt(NULL));
	sim_assert_ok(cuMemFree(dev));
}

/* cuInit with this GPUPAGER_SIM_FAIL, in a child: whether it refused the spec. */
static bool refused(const char *spec)
{
	int status;
	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		/* Its one line of complaint is expected; keep the test output clean. */
		if (!freopen("/dev/null", "w", stderr))
			_exit(2);
		setenv("GPUPAGER_SIM_FAIL", spec, 1);
		_exit(cuInit(0) == CUDA_ERROR_INVALID_VALUE ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

Test(sim_entry_faults, specs_take_base_names_only)
{
	cr_assert(refused("cuMemAllocAsync_ptsz:1"));
	cr_assert(refused("cuMemcpyHtoD_v2_ptds:1"));
	cr_assert(refused("cuMemAllocPitch_v2:1"));
	cr_assert(refused("cuCtxPushCurrent_v2:1"));
	cr_assert_not(refused("cuMemAllocAsync:1,cuMemFreeAsync:2+,cuPointerGetAttributes:50%,"
			      "cuCtxPopCurrent:1=CUDA_ERROR_INVALID_CONTEXT"));
}
