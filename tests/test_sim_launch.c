/*
 * test_sim_launch.c - simulated device: cooperative launches and the
 * per-thread-default-stream launch forms.
 */
#include <criterion/criterion.h>
#include <cudaTypedefs.h>
#include <dlfcn.h>
#include <string.h>

#include "common/sim_test.h"

#define PTDS CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM

static CUmodule module;
static CUfunction fill;

static void setup(void)
{
	sim_test_init();
	sim_assert_ok(cuModuleLoad(&module, SIM_TEST_KERNELS));
	sim_assert_ok(cuModuleGetFunction(&fill, module, "fill_u32"));
}

TestSuite(sim_launch, .init = setup);

/* n words of dev, read back. */
static void read_words(uint32_t *words, CUdeviceptr dev, size_t n)
{
	sim_assert_ok(cuMemcpyDtoH(words, dev, n * sizeof(*words)));
}

Test(sim_launch, cooperative_launch_runs_the_kernel)
{
	uint32_t value = 0x600df00d, back[8];
	uint64_t count = 7;
	CUdeviceptr dev;
	void *params[] = { &dev, &value, &count };
	int supported = 0;
	CUstream s;

	sim_assert_ok(cuDeviceGetAttribute(&supported, CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH, 0));
	cr_assert_eq(supported, 1);
	sim_assert_ok(cuMemAlloc(&dev, sizeof(back)));
	sim_assert_ok(cuMemsetD32(dev, 0, 8));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuLaunchCooperativeKernel(fill, 4, 1, 1, 128, 1, 1, 0, s, params));
	sim_assert_ok(cuStreamSynchronize(s));
	read_words(back, dev, 8);
	for (int i = 0; i < 7; i++)
		cr_assert_eq(back[i], 0x600df00d);
	cr_assert_eq(back[7], 0);
	/* The same checks as cuLaunchKernel. */
	sim_assert_result(cuLaunchCooperativeKernel(fill, 0, 1, 1, 1, 1, 1, 0, s, params),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuLaunchCooperativeKernel(fill, 1, 1, 1, 2048, 1, 1, 0, s, params),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuLaunchCooperativeKernel(fill, 1, 1, 1, 1, 1, 1, 1 << 20, s, params),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuLaunchCooperativeKernel(fill, 1, 1, 1, 1, 1, 1, 0, s, NULL),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuLaunchCooperativeKernel(NULL, 1, 1, 1, 1, 1, 1, 0, s, params),
			  CUDA_ERROR_INVALID_HANDLE);
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(dev));
}

static void tag(void *arg)
{
	int *slot = arg;

	*slot = 1;
}

/* Each launch form in its _ptsz form, on the null stream: the thread's default stream. */
Test(sim_launch, per_thread_forms_launch_on_the_thread_default_stream)
{
	PFN_cuLaunchKernel_v7000_ptsz launch_pt;
	PFN_cuLaunchKernelEx_v11060_ptsz launch_ex_pt;
	PFN_cuLaunchCooperativeKernel_v9000_ptsz launch_coop_pt;
	PFN_cuLaunchHostFunc_v10000_ptsz host_fn_pt;
	struct sim_test_latch latch;
	uint32_t value, back[3];
	uint64_t count = 1;
	CUdeviceptr dev, word;
	void *params[] = { &word, &value, &count };
	CUlaunchConfig config = { .gridDimX = 1, .gridDimY = 1, .gridDimZ = 1, .blockDimX = 1,
				  .blockDimY = 1, .blockDimZ = 1 };
	int ran = 0;

	sim_assert_ok(cuGetProcAddress("cuLaunchKernel", (void **)&launch_pt, 13000, PTDS, NULL));
	sim_assert_ok(cuGetProcAddress("cuLaunchKernelEx", (void **)&launch_ex_pt, 13000, PTDS,
				       NULL));
	sim_assert_ok(cuGetProcAddress("cuLaunchCooperativeKernel", (void **)&launch_coop_pt,
				       13000, PTDS, NULL));
	sim_assert_ok(cuGetProcAddress("cuLaunchHostFunc", (void **)&host_fn_pt, 13000, PTDS,
				       NULL));
	cr_assert_eq((void *)launch_pt, dlsym(RTLD_DEFAULT, "cuLaunchKernel_ptsz"));
	cr_assert_eq((void *)launch_ex_pt, dlsym(RTLD_DEFAULT, "cuLaunchKernelEx_ptsz"));
	cr_assert_eq((void *)launch_coop_pt, dlsym(RTLD_DEFAULT, "cuLaunchCooperativeKernel_ptsz"));
	cr_assert_eq((void *)host_fn_pt, dlsym(RTLD_DEFAULT, "cuLaunchHostFunc_ptsz"));
	sim_assert_ok(cuMemAlloc(&dev, sizeof(back)));
	sim_assert_ok(cuMemsetD32(dev, 0, 3));
	sim_test_hold(CU_STREAM_PER_THREAD, &latch);
	/* Arguments are copied at launch: each launch fills its own word. */
	word = dev;
	value = 0xa1;
	sim_assert_ok(launch_pt(fill, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL));
	word = dev + 4;
	value = 0xb2;
	sim_assert_ok(launch_ex_pt(&config, fill, params, NULL));
	word = dev + 8;
	value = 0xc3;
	sim_assert_ok(launch_coop_pt(fill, 1, 1, 1, 1, 1, 1, 0, NULL, params));
	sim_assert_ok(host_fn_pt(NULL, tag, &ran));
	sim_assert_result(cuStreamQuery(CU_STREAM_PER_THREAD), CUDA_ERROR_NOT_READY);
	cr_assert_eq(ran, 0);
	sim_test_release(&latch);
	sim_assert_ok(cuStreamSynchronize(CU_STREAM_PER_THREAD));
	cr_assert_eq(ran, 1);
	read_words(back, dev, 3);
	cr_assert_eq(back[0], 0xa1);
	cr_assert_eq(back[1], 0xb2);
	cr_assert_eq(back[2], 0xc3);
	sim_assert_result(launch_ex_pt(NULL, fill, params, NULL), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(host_fn_pt(NULL, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemFree(dev));
}

/* The config a caller passes to cuLaunchKernelEx_ptsz is not changed. */
Test(sim_launch, launch_ex_ptsz_keeps_the_callers_config)
{
	PFN_cuLaunchKernelEx_v11060_ptsz launch_ex_pt;
	uint32_t value = 5, back;
	uint64_t count = 1;
	CUdeviceptr dev;
	void *params[] = { &dev, &value, &count };
	CUlaunchConfig config = { .gridDimX = 1, .gridDimY = 1, .gridDimZ = 1, .blockDimX = 1,
				  .blockDimY = 1, .blockDimZ = 1, .hStream = NULL };
	CUstream s;

	sim_assert_ok(cuGetProcAddress("cuLaunchKernelEx", (void **)&launch_ex_pt, 13000, PTDS,
				       NULL));
	sim_assert_ok(cuMemAlloc(&dev, sizeof(back)));
	sim_assert_ok(launch_ex_pt(&config, fill, params, NULL));
	cr_assert_null(config.hStream);
	sim_assert_ok(cuStreamSynchronize(CU_STREAM_PER_THREAD));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	config.hStream = s;
	value = 6;
	sim_assert_ok(launch_ex_pt(&config, fill, params, NULL));
	cr_assert_eq(config.hStream, s);
	sim_assert_ok(cuStreamSynchronize(s));
	read_words(&back, dev, 1);
	cr_assert_eq(back, 6);
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(dev));
}
