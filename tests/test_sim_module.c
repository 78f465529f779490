/* test_sim_module.c - simulated device: kernel modules, parameter layout and launches. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "../cuda/sim/sim_kernel.h"
#include "common/sim_test.h"

#define G SIM_TEST_GRANULE

/* As written by record_args in tests/sim_kernels/test_kernels.c. */
struct recorded_args {
	uint8_t a;
	uint16_t b;
	double c;
	uint32_t d;
	struct gp_sim_launch launch;
};

static CUmodule module;

static void setup(void)
{
	sim_test_init();
	sim_assert_ok(cuModuleLoad(&module, SIM_TEST_KERNELS));
}

TestSuite(sim_module, .init = setup);

static CUfunction function(const char *name)
{
	CUfunction f;

	sim_assert_ok(cuModuleGetFunction(&f, module, name));
	return f;
}

Test(sim_module, load_errors)
{
	CUmodule m;
	CUfunction f;

	sim_assert_result(cuModuleLoad(&m, "/nonexistent/kernels.so"), CUDA_ERROR_FILE_NOT_FOUND);
	/* A file that is no shared object, and one without the kernel table. */
	sim_assert_result(cuModuleLoad(&m, GP_SOURCE_DIR "/tests/sim_kernels/test_kernels.c"),
			  CUDA_ERROR_INVALID_IMAGE);
	sim_assert_result(cuModuleLoad(&m, GP_BUILD_DIR "/lib/sim/libcuda.so.1"),
			  CUDA_ERROR_INVALID_IMAGE);
	sim_assert_result(cuModuleGetFunction(&f, module, "no_such_kernel"), CUDA_ERROR_NOT_FOUND);
}

Test(sim_module, param_info_follows_natural_alignment)
{
	/* record_args(uint8_t, uint16_t, double, void *, uint32_t) */
	static const size_t offsets[] = { 0, 2, 8, 16, 24 }, sizes[] = { 1, 2, 8, 8, 4 };
	CUfunction f = function("record_args");
	size_t offset, size;

	for (size_t i = 0; i < 5; i++) {
		sim_assert_ok(cuFuncGetParamInfo(f, i, &offset, &size));
		cr_assert_eq(offset, offsets[i], "parameter %zu at %zu", i, offset);
		cr_assert_eq(size, sizes[i], "parameter %zu of size %zu", i, size);
	}
	sim_assert_result(cuFuncGetParamInfo(f, 5, &offset, &size), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuFuncGetParamInfo(f, 0, &offset, NULL));
}

Test(sim_module, launch_copies_arguments_at_launch_time)
{
	struct recorded_args *out;
	struct sim_test_latch latch;
	uint8_t a = 0xa5;
	uint16_t b = 0xbeef;
	double c = 2.5;
	uint32_t d = 0x12345678;
	void *params[] = { &a, &b, &c, &out, &d };
	CUstream s;

	sim_assert_ok(cuMemAllocManaged((CUdeviceptr *)&out, sizeof(*out), CU_MEM_ATTACH_GLOBAL));
	memset(out, 0, sizeof(*out));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_test_hold(s, &latch);
	sim_assert_ok(cuLaunchKernel(function("record_args"), 3, 2, 1, 64, 1, 1, 128, s, params,
				     NULL));
	/* The kernel has not run yet; it must see the values as they were at launch. */
	a = 0;
	b = 0;
	c = 0;
	d = 0;
	sim_test_release(&latch);
	sim_assert_ok(cuStreamSynchronize(s));
	cr_assert_eq(out->a, 0xa5);
	cr_assert_eq(out->b, 0xbeef);
	cr_assert_float_eq(out->c, 2.5, 1e-12);
	cr_assert_eq(out->d, 0x12345678);
	cr_assert_eq(out->launch.grid.x, 3);
	cr_assert_eq(out->launch.grid.y, 2);
	cr_assert_eq(out->launch.block.x, 64);
	cr_assert_eq(out->launch.shared_bytes, 128);
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree((CUdeviceptr)(uintptr_t)out));
}

Test(sim_module, launch_with_packed_extra_buffer)
{
	/* fill_u32(uint32_t *dst, uint32_t value, uint64_t count): offsets 0, 8, 16. */
	unsigned char buffer[24] = { 0 };
	size_t size = sizeof(buffer);
	void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, buffer, CU_LAUNCH_PARAM_BUFFER_SIZE,
			  &size, CU_LAUNCH_PARAM_END };
	uint32_t value = 0xcafef00d, back[4];
	uint64_t count = 3;
	CUdeviceptr dev;

	sim_assert_ok(cuMemAlloc(&dev, sizeof(back)));
	sim_assert_ok(cuMemsetD32(dev, 0, 4));
	memcpy(buffer, &dev, sizeof(dev));
	memcpy(buffer + 8, &value, sizeof(value));
	memcpy(buffer + 16, &count, sizeof(count));
	sim_assert_ok(cuLaunchKernel(function("fill_u32"), 1, 1, 1, 1, 1, 1, 0, NULL, NULL, extra));
	sim_assert_ok(cuMemcpyDtoH(back, dev, sizeof(back)));
	cr_assert_eq(back[0], 0xcafef00d);
	cr_assert_eq(back[2], 0xcafef00d);
	cr_assert_eq(back[3], 0, "the kernel wrote past its count");
	size = 20;
	sim_assert_result(cuLaunchKernel(function("fill_u32"), 1, 1, 1, 1, 1, 1, 0, NULL, NULL,
					 extra),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemFree(dev));
}

Test(sim_module, launch_ex_runs_on_the_given_stream)
{
	uint32_t value = 7, back;
	uint64_t count = 1;
	CUdeviceptr dev;
	void *params[] = { &dev, &value, &count };
	CUlaunchConfig config = { .gridDimX = 1, .gridDimY = 1, .gridDimZ = 1,
				  .blockDimX = 32, .blockDimY = 1, .blockDimZ = 1 };
	CUstream s;

	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	config.hStream = s;
	sim_assert_ok(cuMemAlloc(&dev, 4));
	sim_assert_ok(cuLaunchKernelEx(&config, function("fill_u32"), params, NULL));
	sim_assert_ok(cuStreamSynchronize(s));
	sim_assert_ok(cuMemcpyDtoH(&back, dev, 4));
	cr_assert_eq(back, 7);
	sim_assert_ok(cuMemFree(dev));
	sim_assert_ok(cuStreamDestroy(s));
}

Test(sim_module, launch_errors)
{
	CUfunction f = function("touch");
	CUdeviceptr dev;
	void *params[] = { &dev };
	void *extra[] = { CU_LAUNCH_PARAM_END };

	sim_assert_ok(cuMemAlloc(&dev, 1));
	sim_assert_result(cuLaunchKernel(f, 0, 1, 1, 1, 1, 1, 0, NULL, params, NULL),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuLaunchKernel(f, 1, 1, 1, 1024, 2, 1, 0, NULL, params, NULL),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 1 << 20, NULL, params, NULL),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, extra),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuLaunchKernel(NULL, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL),
			  CUDA_ERROR_INVALID_HANDLE);
	sim_assert_ok(cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL));
	sim_assert_ok(cuCtxSynchronize());
	sim_assert_ok(cuMemFree(dev));
}

/* In a child: a kernel touches a reserved but unmapped chunk. */
static void kernel_touches_unmapped(void *arg)
{
	CUmodule m;
	CUfunction f;
	CUdeviceptr va;
	CUcontext ctx;
	void *params[] = { &va };

	(void)arg;
	if (cuInit(0) || cuDevicePrimaryCtxRetain(&ctx, 0) || cuCtxSetCurrent(ctx) ||
	    cuModuleLoad(&m, SIM_TEST_KERNELS) || cuModuleGetFunction(&f, m, "touch") ||
	    cuMemAddressReserve(&va, G, 0, 0, 0) ||
	    cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL))
		_exit(2);
	cuCtxSynchronize();
}

/* Its own suite: the child must not inherit a device already in use. */
Test(sim_module_crash, kernel_touching_unmapped_memory_crashes)
{
	sim_test_expect_signal(kernel_touches_unmapped, NULL, SIGSEGV);
}

Test(sim_module, unload)
{
	CUmodule m;

	sim_assert_ok(cuModuleLoad(&m, SIM_TEST_KERNELS));
	sim_assert_ok(cuModuleUnload(m));
	sim_assert_result(cuModuleUnload(NULL), CUDA_ERROR_INVALID_HANDLE);
}
