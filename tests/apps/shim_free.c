/*
 * shim_free.c - frees of what is not allocated: a double free, an interior
 * pointer, an address never allocated, NULL.  Prints what the driver
 * answers to each (so a run under the shim can be compared with one
 * without), then checks that the process goes on working: the allocation
 * next to the bad frees still holds its bytes, and a new one works.
 * Exit status 0 when both hold (errors as in shim_app).
 */
#include <stdio.h>

#include "shim_cuda.h"

#define BIG (1u << 20)
#define SMALL 4096u
#define LATER (3u << 20)

static CUfunction checksum;
static CUdeviceptr results;

static void show(const char *what, CUresult err)
{
	printf("%s: %s\n", what, shim_cuda_error_name(err));
}

/* Whether the device checksum of dev matches sum. */
static int intact(CUdeviceptr dev, uint64_t len, uint64_t sum)
{
	static uint64_t tag;
	uint64_t out[2];

	tag++;
	shim_cuda_check("cuLaunchKernel",
			shim_cuda_launch(checksum, NULL, (uint64_t[]){ dev, len, tag, results }, 4, 0));
	CU(cuCtxSynchronize);
	CU(cuMemcpyDtoH_v2, out, results, sizeof(out));
	return out[0] == tag && out[1] == sum;
}

int main(void)
{
	CUdeviceptr big, small, later;
	uint64_t small_sum, later_sum;
	int small_ok, later_ok;

	if (shim_cuda_resolve("link"))
		return 2;
	shim_cuda_start();
	CU(cuModuleGetFunction, &checksum, shim_cuda_load_kernels("shim_app_kernels.so"),
	   "checksum");
	CU(cuMemAlloc_v2, &results, 16);
	CU(cuMemAlloc_v2, &big, BIG);
	CU(cuMemAlloc_v2, &small, SMALL);
	small_sum = shim_cuda_upload(small, SMALL, 1);

	show("cuMemFree(allocation)", cu.cuMemFree_v2(big));
	show("cuMemFree(allocation) again", cu.cuMemFree_v2(big));
	show("cuMemFree(allocation + 256)", cu.cuMemFree_v2(small + 256));
	show("cuMemFree(never allocated)", cu.cuMemFree_v2((CUdeviceptr)0x10000));
	show("cuMemFree(0)", cu.cuMemFree_v2(0));

	small_ok = intact(small, SMALL, small_sum);
	printf("allocation beside the bad frees intact: %s\n", small_ok ? "yes" : "NO");
	CU(cuMemAlloc_v2, &later, LATER);
	later_sum = shim_cuda_upload(later, LATER, 2);
	later_ok = intact(later, LATER, later_sum);
	printf("new allocation works: %s\n", later_ok ? "yes" : "NO");
	CU(cuMemFree_v2, small);
	CU(cuMemFree_v2, later);
	CU(cuMemFree_v2, results);
	return small_ok && later_ok ? 0 : 4;
}
