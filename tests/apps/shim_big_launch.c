/*
 * shim_big_launch.c - one launch whose buffers cannot all be resident at
 * once: sum8 over eight 4 MiB buffers (32 MiB).  Prints what cuLaunchKernel
 * answered (under a budget below 32 MiB the shim must say
 * CUDA_ERROR_OUT_OF_MEMORY; without it, on a device that holds them, the
 * launch succeeds and its sums are checked), then goes on: four launches
 * over two buffers each must succeed and find all eight intact.
 * Exit status 0 when every sum computed matches (errors as in shim_app).
 */
#include <stdio.h>

#include "shim_cuda.h"

#define N_BUFS 8
#define BUF_SIZE (4u << 20)

static CUfunction sum8;
static CUdeviceptr bufs[N_BUFS], out;
static uint64_t sums[N_BUFS];

/* sum8 over the buffers whose bit is set in mask, the others passed as NULL. */
static CUresult launch(unsigned mask)
{
	uint64_t args[10];

	for (int i = 0; i < N_BUFS; i++)
		args[i] = mask >> i & 1 ? bufs[i] : 0;
	args[8] = BUF_SIZE;
	args[9] = out;
	return shim_cuda_launch(sum8, NULL, args, 10, 0);
}

/* Wait for the launch over mask and count the buffers whose sum is wrong. */
static int bad_sums(unsigned mask)
{
	uint64_t got[N_BUFS];
	int bad = 0;

	CU(cuStreamSynchronize, NULL);
	CU(cuMemcpyDtoH_v2, got, out, sizeof(got));
	for (int i = 0; i < N_BUFS; i++)
		bad += got[i] != (mask >> i & 1 ? sums[i] : 0);
	return bad;
}

int main(void)
{
	int bad = 0;
	CUresult err;

	if (shim_cuda_resolve("link"))
		return 2;
	shim_cuda_start();
	CU(cuModuleGetFunction, &sum8, shim_cuda_load_kernels("shim_app_kernels.so"), "sum8");
	CU(cuMemAlloc_v2, &out, sizeof(sums));
	for (int i = 0; i < N_BUFS; i++) {
		CU(cuMemAlloc_v2, &bufs[i], BUF_SIZE);
		sums[i] = shim_cuda_upload(bufs[i], BUF_SIZE, (uint64_t)i);
	}
	err = launch(0xff);
	printf("sum8 over 8 buffers of %u bytes: %s\n", BUF_SIZE, shim_cuda_error_name(err));
	if (err == CUDA_SUCCESS) {
		bad = bad_sums(0xff);
		printf("its sums: %s\n", bad ? "WRONG" : "ok");
	}
	for (unsigned pair = 0; pair < N_BUFS / 2; pair++) {
		unsigned mask = 3u << (2 * pair);
		int wrong;

		shim_cuda_check("cuLaunchKernel", launch(mask));
		wrong = bad_sums(mask);
		printf("sum8 over buffers %u and %u: %s\n", 2 * pair, 2 * pair + 1,
		       wrong ? "WRONG" : "ok");
		bad += wrong;
	}
	for (int i = 0; i < N_BUFS; i++)
		CU(cuMemFree_v2, bufs[i]);
	CU(cuMemFree_v2, out);
	return bad ? 4 : 0;
}
