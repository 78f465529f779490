/* test_sim_managed.c - simulated device: managed memory, advice and prefetch. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/sim_test.h"

#define G SIM_TEST_GRANULE

static const CUmemLocation device0 = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 0 };
static const CUmemLocation host = { .type = CU_MEM_LOCATION_TYPE_HOST };

static void setup(void)
{
	setenv("GPUPAGER_SIM_H2D_GBPS", "0.25", 1);
	sim_test_init();
}

TestSuite(sim_managed, .init = setup);

static int range_int(CUmem_range_attribute attribute, CUdeviceptr p, size_t n)
{
	int value = 12345;

	sim_assert_ok(cuMemRangeGetAttribute(&value, sizeof(value), attribute, p, n));
	return value;
}

Test(sim_managed, host_and_device_see_the_same_bytes)
{
	unsigned char back[16];
	CUdeviceptr p;

	sim_assert_result(cuMemAllocManaged(&p, 100, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemAllocManaged(&p, 3 * G, CU_MEM_ATTACH_HOST));
	memset((void *)(uintptr_t)p, 0x11, 3 * G);
	sim_assert_ok(cuMemsetD8(p + G, 0x22, 16));
	sim_assert_ok(cuMemcpyDtoH(back, p + G - 8, 16));
	cr_assert_eq(back[7], 0x11);
	cr_assert_eq(back[8], 0x22);
	cr_assert_eq(((unsigned char *)(uintptr_t)p)[G + 15], 0x22);
	sim_assert_ok(cuMemFree(p));
}

Test(sim_managed, advice_is_validated)
{
	CUmemLocation device1 = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 1 };
	CUmemLocation nowhere = { .type = CU_MEM_LOCATION_TYPE_INVALID };
	CUdeviceptr p, plain;

	sim_assert_ok(cuMemAllocManaged(&p, 2 * G, CU_MEM_ATTACH_GLOBAL));
	sim_assert_ok(cuMemAlloc(&plain, G));
	sim_assert_result(cuMemAdvise(p, G, (CUmem_advise)99, device0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAdvise(p, G, CU_MEM_ADVISE_SET_PREFERRED_LOCATION, device1),
			  CUDA_ERROR_INVALID_DEVICE);
	sim_assert_result(cuMemAdvise(p, G, CU_MEM_ADVISE_SET_PREFERRED_LOCATION, nowhere),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAdvise(plain, G, CU_MEM_ADVISE_SET_READ_MOSTLY, device0),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAdvise(p + G, 2 * G, CU_MEM_ADVISE_SET_READ_MOSTLY, device0),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAdvise(p, 0, CU_MEM_ADVISE_SET_READ_MOSTLY, device0),
			  CUDA_ERROR_INVALID_VALUE);
	/* Read-mostly takes no location: an invalid one is ignored. */
	sim_assert_ok(cuMemAdvise(p, G, CU_MEM_ADVISE_SET_READ_MOSTLY, nowhere));
	sim_assert_ok(cuMemFree(plain));
	sim_assert_ok(cuMemFree(p));
}

Test(sim_managed, advice_is_recorded)
{
	int accessed_by[3];
	CUdeviceptr p;

	sim_assert_ok(cuMemAllocManaged(&p, 3 * G, CU_MEM_ATTACH_GLOBAL));
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_READ_MOSTLY, p, 3 * G), 0);
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_PREFERRED_LOCATION, p, 3 * G),
		     CU_DEVICE_INVALID);
	sim_assert_ok(cuMemAdvise(p, 2 * G, CU_MEM_ADVISE_SET_READ_MOSTLY, device0));
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_READ_MOSTLY, p, 2 * G), 1);
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_READ_MOSTLY, p, 3 * G), 0);
	sim_assert_ok(cuMemAdvise(p, 3 * G, CU_MEM_ADVISE_SET_PREFERRED_LOCATION, device0));
	sim_assert_ok(cuMemAdvise(p + 2 * G, G, CU_MEM_ADVISE_SET_PREFERRED_LOCATION, host));
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_PREFERRED_LOCATION, p, G), 0);
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_PREFERRED_LOCATION, p + 2 * G, 10),
		     CU_DEVICE_CPU);
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_PREFERRED_LOCATION, p, 3 * G),
		     CU_DEVICE_INVALID);
	sim_assert_ok(cuMemAdvise(p, 3 * G, CU_MEM_ADVISE_SET_ACCESSED_BY, device0));
	sim_assert_ok(cuMemAdvise(p, G, CU_MEM_ADVISE_SET_ACCESSED_BY, host));
	sim_assert_ok(cuMemRangeGetAttribute(accessed_by, sizeof(accessed_by),
					     CU_MEM_RANGE_ATTRIBUTE_ACCESSED_BY, p, G));
	cr_assert_eq(accessed_by[0], 0);
	cr_assert_eq(accessed_by[1], CU_DEVICE_CPU);
	cr_assert_eq(accessed_by[2], CU_DEVICE_INVALID);
	sim_assert_ok(cuMemAdvise(p, 3 * G, CU_MEM_ADVISE_UNSET_ACCESSED_BY, device0));
	sim_assert_ok(cuMemRangeGetAttribute(accessed_by, sizeof(accessed_by),
					     CU_MEM_RANGE_ATTRIBUTE_ACCESSED_BY, p, 3 * G));
	cr_assert_eq(accessed_by[0], CU_DEVICE_INVALID);
	sim_assert_ok(cuMemFree(p));
}

/* The CUDA 8-12.1 form takes a CUdevice, with CU_DEVICE_CPU for the host. */
Test(sim_managed, legacy_advise_form)
{
	CUresult (*advise_v1)(CUdeviceptr, size_t, CUmem_advise, CUdevice);
	CUdeviceptr p;

	sim_assert_ok(cuGetProcAddress("cuMemAdvise", (void **)&advise_v1, 12000, 0, NULL));
	sim_assert_ok(cuMemAllocManaged(&p, G, CU_MEM_ATTACH_GLOBAL));
	sim_assert_ok(advise_v1(p, G, CU_MEM_ADVISE_SET_PREFERRED_LOCATION, CU_DEVICE_CPU));
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_PREFERRED_LOCATION, p, G), CU_DEVICE_CPU);
	sim_assert_ok(advise_v1(p, G, CU_MEM_ADVISE_SET_PREFERRED_LOCATION, 0));
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_PREFERRED_LOCATION, p, G), 0);
	sim_assert_result(advise_v1(p, G, CU_MEM_ADVISE_SET_PREFERRED_LOCATION, 2),
			  CUDA_ERROR_INVALID_DEVICE);
	sim_assert_ok(cuMemFree(p));
}

Test(sim_managed, prefetch_is_validated_and_recorded)
{
	CUmemLocation device1 = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 1 };
	CUdeviceptr p, plain;

	sim_assert_ok(cuMemAllocManaged(&p, 2 * G, CU_MEM_ATTACH_GLOBAL));
	sim_assert_ok(cuMemAlloc(&plain, G));
	sim_assert_result(cuMemPrefetchAsync(plain, G, device0, 0, NULL),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemPrefetchAsync(p, G, device1, 0, NULL), CUDA_ERROR_INVALID_DEVICE);
	sim_assert_result(cuMemPrefetchAsync(p, G, device0, 1, NULL), CUDA_ERROR_INVALID_VALUE);
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_LAST_PREFETCH_LOCATION, p, 2 * G),
		     CU_DEVICE_INVALID);
	sim_assert_ok(cuMemPrefetchAsync(p, G, device0, 0, NULL));
	sim_assert_ok(cuMemPrefetchAsync(p + G, G, host, 0, NULL));
	sim_assert_ok(cuStreamSynchronize(NULL));
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_LAST_PREFETCH_LOCATION, p, G), 0);
	cr_assert_eq(range_int(CU_MEM_RANGE_ATTRIBUTE_LAST_PREFETCH_LOCATION, p + G, G),
		     CU_DEVICE_CPU);
	sim_assert_ok(cuMemFree(plain));
	sim_assert_ok(cuMemFree(p));
}

static float timed_prefetch(CUdeviceptr p, size_t n, CUmemLocation to, CUstream s)
{
	CUevent start, end;
	float ms;

	sim_assert_ok(cuEventCreate(&start, 0));
	sim_assert_ok(cuEventCreate(&end, 0));
	sim_assert_ok(cuEventRecord(start, s));
	sim_assert_ok(cuMemPrefetchAsync(p, n, to, 0, s));
	sim_assert_ok(cuEventRecord(end, s));
	sim_assert_ok(cuEventSynchronize(end));
	sim_assert_ok(cuEventElapsedTime(&ms, start, end));
	sim_assert_ok(cuEventDestroy(start));
	sim_assert_ok(cuEventDestroy(end));
	return ms;
}

Test(sim_managed, prefetch_costs_time_only_when_data_moves)
{
	float moved, stayed;
	CUdeviceptr p;
	CUstream s;

	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuMemAllocManaged(&p, G, CU_MEM_ATTACH_GLOBAL));
	moved = timed_prefetch(p, G, device0, s);
	stayed = timed_prefetch(p, G, device0, s);
	cr_assert_gt(moved, stayed, "moving took %.3f ms, staying %.3f ms", moved, stayed);
	sim_assert_ok(cuMemFree(p));
	sim_assert_ok(cuStreamDestroy(s));
}
