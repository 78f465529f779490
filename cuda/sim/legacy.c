/*
 * legacy.c - entry points of older API versions that differ in signature
 * from the current ones: what cuGetProcAddress returns to a caller built
 * against an older cuda.h, and what dlsym finds under the plain names.
 */
#include "sim.h"

static CUmemLocation location_of_device(CUdevice device)
{
	if (device == CU_DEVICE_CPU)
		return (CUmemLocation){ .type = CU_MEM_LOCATION_TYPE_HOST };
	return (CUmemLocation){ .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = device };
}

CUresult sim_mem_advise_v8000(CUdeviceptr devptr, size_t count, CUmem_advise advice,
			      CUdevice device)
{
	return cuMemAdvise_v2(devptr, count, advice, location_of_device(device));
}

CUresult sim_mem_prefetch_async_v8000(CUdeviceptr devptr, size_t count, CUdevice device,
				      CUstream hstream)
{
	return cuMemPrefetchAsync_v2(devptr, count, location_of_device(device), 0, hstream);
}

CUresult sim_mem_prefetch_async_v8000_ptsz(CUdeviceptr devptr, size_t count, CUdevice device,
					   CUstream hstream)
{
	return sim_mem_prefetch_async_v8000(devptr, count, device, sim_per_thread(hstream));
}

CUresult sim_get_proc_address_v11030(const char *symbol, void **pfn, int version,
				     cuuint64_t flags)
{
	return cuGetProcAddress_v2(symbol, pfn, version, flags, NULL);
}
