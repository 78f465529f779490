/*
 * shim_many.c - a thousand allocations of 100 KiB, each written with its
 * own pattern, then checksummed on the device.  The driver sub-allocates
 * small allocations; the simulator does not (2 MiB each), so without the
 * shim a thousand need 2000 MiB.  Prints the result and, from
 * cuMemGetInfo_v2, the device memory in use while all are allocated:
 *
 *   1000 allocations of 102400 bytes: N checksums match
 *   device memory in use: B bytes
 *
 * Exit status 0 when all match (errors as in shim_app).
 */
#include <stdio.h>
#include <stdlib.h>

#include "shim_cuda.h"

#define N_ALLOCS 1000
#define ALLOC_SIZE (100u << 10)

int main(void)
{
	uint64_t *sums = calloc(N_ALLOCS, sizeof(*sums)), *got = calloc(N_ALLOCS, 16);
	CUdeviceptr *dev = calloc(N_ALLOCS, sizeof(*dev)), results;
	size_t free_bytes, total;
	CUfunction checksum;
	unsigned good = 0;

	if (!sums || !got || !dev || shim_cuda_resolve("link"))
		return 2;
	shim_cuda_start();
	CU(cuModuleGetFunction, &checksum, shim_cuda_load_kernels("shim_app_kernels.so"),
	   "checksum");
	CU(cuMemAlloc_v2, &results, 16 * N_ALLOCS);
	for (unsigned i = 0; i < N_ALLOCS; i++) {
		CU(cuMemAlloc_v2, &dev[i], ALLOC_SIZE);
		sums[i] = shim_cuda_upload(dev[i], ALLOC_SIZE, i);
	}
	CU(cuMemGetInfo_v2, &free_bytes, &total);
	for (unsigned i = 0; i < N_ALLOCS; i++)
		shim_cuda_check("cuLaunchKernel",
				shim_cuda_launch(checksum, NULL,
						 (uint64_t[]){ dev[i], ALLOC_SIZE, 1,
							       results + 16 * (uint64_t)i }, 4, 0));
	CU(cuStreamSynchronize, NULL);
	CU(cuMemcpyDtoH_v2, got, results, 16 * N_ALLOCS);
	for (unsigned i = 0; i < N_ALLOCS; i++)
		good += got[2 * i] == 1 && got[2 * i + 1] == sums[i];
	printf("%u allocations of %u bytes: %u checksums match\n", N_ALLOCS, ALLOC_SIZE, good);
	printf("device memory in use: %zu bytes\n", total - free_bytes);
	for (unsigned i = 0; i < N_ALLOCS; i++)
		CU(cuMemFree_v2, dev[i]);
	CU(cuMemFree_v2, results);
	free(sums);
	free(got);
	free(dev);
	return good == N_ALLOCS ? 0 : 4;
}
