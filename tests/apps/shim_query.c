/*
 * shim_query.c - what the driver answers about device memory:
 * cuMemGetAddressRange_v2 and cuPointerGetAttribute (device pointer,
 * memory type, range start and size) on the first, second, middle and last
 * byte of allocations of odd sizes, and whether each is 256-byte aligned,
 * on stdout (a run under the shim is compared with one without); and
 * cuMemGetInfo_v2 before and after allocating, on stderr:
 *
 *   shim_query: meminfo: total T, free before F, free after F, allocated A
 *
 * Exit status 0 (errors as in shim_app).
 */
#include <stdio.h>

#include "shim_cuda.h"

static const size_t sizes[] = { 100000, (3u << 20) + 5, 1000 };
#define N_ALLOCS (sizeof(sizes) / sizeof(sizes[0]))

/* A device address relative to ref, or the error. */
static void show_addr(const char *what, CUresult err, CUdeviceptr addr, CUdeviceptr ref)
{
	if (err)
		printf(", %s %s", what, shim_cuda_error_name(err));
	else
		printf(", %s %+lld", what, (long long)(addr - ref));
}

static void show_size(const char *what, CUresult err, size_t size)
{
	if (err)
		printf(", %s %s", what, shim_cuda_error_name(err));
	else
		printf(", %s %zu", what, size);
}

static void query(CUdeviceptr base, size_t offset)
{
	CUdeviceptr p = base + offset, range_base = 0, dev = 0, start = 0;
	size_t range_size = 0, attr_size = 0;
	unsigned type = 0;
	CUresult err;

	printf("  +%zu", offset);
	err = cu.cuMemGetAddressRange_v2(&range_base, &range_size, p);
	show_addr("range base", err, range_base, base);
	show_size("range size", err, range_size);
	err = cu.cuPointerGetAttribute(&dev, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, p);
	show_addr("device pointer", err, dev, p);
	err = cu.cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p);
	if (err)
		printf(", memory type %s", shim_cuda_error_name(err));
	else
		printf(", memory type %s", type == CU_MEMORYTYPE_DEVICE ? "device" : "NOT DEVICE");
	err = cu.cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, p);
	show_addr("range start", err, start, base);
	err = cu.cuPointerGetAttribute(&attr_size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, p);
	show_size("range size attribute", err, attr_size);
	printf("\n");
}

int main(void)
{
	size_t total, free_before, free_after, allocated = 0;
	CUdeviceptr dev[N_ALLOCS];

	if (shim_cuda_resolve("link"))
		return 2;
	shim_cuda_start();
	CU(cuMemGetInfo_v2, &free_before, &total);
	for (size_t i = 0; i < N_ALLOCS; i++) {
		CU(cuMemAlloc_v2, &dev[i], sizes[i]);
		shim_cuda_upload(dev[i], sizes[i], i);
		allocated += sizes[i];
	}
	CU(cuMemGetInfo_v2, &free_after, &total);
	for (size_t i = 0; i < N_ALLOCS; i++) {
		printf("allocation %zu: %zu bytes, aligned to 256: %s\n", i, sizes[i],
		       dev[i] % 256 ? "NO" : "yes");
		query(dev[i], 0);
		query(dev[i], 1);
		query(dev[i], sizes[i] / 2);
		query(dev[i], sizes[i] - 1);
	}
	fprintf(stderr, "shim_query: meminfo: total %zu, free before %zu, free after %zu, "
		"allocated %zu\n", total, free_before, free_after, allocated);
	for (size_t i = 0; i < N_ALLOCS; i++)
		CU(cuMemFree_v2, dev[i]);
	return 0;
}
