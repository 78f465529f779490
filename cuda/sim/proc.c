/*
 * proc.c - cuGetProcAddress: the table of every entry point by base name
 * and the CUDA version that introduced each of its forms.  A caller asking
 * for "cuMemAlloc" at version 12000 gets cuMemAlloc_v2 (since 3020); one
 * asking at a version older than every form gets VERSION_NOT_SUFFICIENT.
 * The per-thread-default-stream forms (_ptds/_ptsz) are the same functions
 * here: the simulator's default stream is the legacy one.
 */
#include <string.h>

#include "sim.h"

struct proc {
	const char *name;
	int version;
	void *fn;
	unsigned flags;
};

#define PROC(name, version, fn) { name, version, (void *)(fn), 0 }
#define PROC_ALLOC(name, version, fn) { name, version, (void *)(fn), SIM_PROC_ALLOCATES }
#define PROC_NO_FAULTS(name, version, fn) { name, version, (void *)(fn), SIM_PROC_NO_FAULTS }

/* Grouped by name, oldest form first. */
static const struct proc procs[] = {
	PROC("cuCtxGetCurrent", 4000, cuCtxGetCurrent),
	PROC("cuCtxSetCurrent", 4000, cuCtxSetCurrent),
	PROC("cuCtxSynchronize", 2000, cuCtxSynchronize),
	PROC("cuCtxSynchronize", 13000, cuCtxSynchronize_v2),
	PROC("cuDeviceGet", 2000, cuDeviceGet),
	PROC("cuDeviceGetAttribute", 2000, cuDeviceGetAttribute),
	PROC("cuDeviceGetCount", 2000, cuDeviceGetCount),
	PROC("cuDeviceGetName", 2000, cuDeviceGetName),
	PROC("cuDeviceGetPCIBusId", 4010, cuDeviceGetPCIBusId),
	PROC("cuDevicePrimaryCtxRelease", 7000, cuDevicePrimaryCtxRelease_v2),
	PROC("cuDevicePrimaryCtxRetain", 7000, cuDevicePrimaryCtxRetain),
	PROC("cuDeviceTotalMem", 3020, cuDeviceTotalMem_v2),
	PROC_NO_FAULTS("cuDriverGetVersion", 2020, cuDriverGetVersion),
	PROC("cuEventCreate", 2000, cuEventCreate),
	PROC("cuEventDestroy", 2000, cuEventDestroy_v2),
	PROC("cuEventElapsedTime", 2000, cuEventElapsedTime_v2),
	PROC("cuEventQuery", 2000, cuEventQuery),
	PROC("cuEventRecord", 2000, cuEventRecord),
	PROC("cuEventSynchronize", 2000, cuEventSynchronize),
	PROC("cuFuncGetParamInfo", 12040, cuFuncGetParamInfo),
	PROC_NO_FAULTS("cuGetErrorName", 6000, cuGetErrorName),
	PROC_NO_FAULTS("cuGetErrorString", 6000, cuGetErrorString),
	PROC_NO_FAULTS("cuGetProcAddress", 11030, sim_get_proc_address_v11030),
	PROC_NO_FAULTS("cuGetProcAddress", 12000, cuGetProcAddress_v2),
	PROC("cuInit", 2000, cuInit),
	PROC("cuLaunchHostFunc", 10000, cuLaunchHostFunc),
	PROC("cuLaunchKernel", 4000, cuLaunchKernel),
	PROC("cuLaunchKernelEx", 11060, cuLaunchKernelEx),
	PROC("cuMemAddressFree", 10020, cuMemAddressFree),
	PROC_ALLOC("cuMemAddressReserve", 10020, cuMemAddressReserve),
	PROC("cuMemAdvise", 8000, sim_mem_advise_v8000),
	PROC("cuMemAdvise", 12020, cuMemAdvise_v2),
	PROC_ALLOC("cuMemAlloc", 3020, cuMemAlloc_v2),
	PROC_ALLOC("cuMemAllocHost", 3020, cuMemAllocHost_v2),
	PROC_ALLOC("cuMemAllocManaged", 6000, cuMemAllocManaged),
	PROC_ALLOC("cuMemCreate", 10020, cuMemCreate),
	PROC("cuMemFree", 3020, cuMemFree_v2),
	PROC("cuMemFreeHost", 2000, cuMemFreeHost),
	PROC("cuMemGetAddressRange", 3020, cuMemGetAddressRange_v2),
	PROC("cuMemGetAllocationGranularity", 10020, cuMemGetAllocationGranularity),
	PROC("cuMemGetInfo", 3020, cuMemGetInfo_v2),
	PROC_ALLOC("cuMemHostAlloc", 2020, cuMemHostAlloc),
	PROC_ALLOC("cuMemHostRegister", 4000, cuMemHostRegister_v2),
	PROC("cuMemHostUnregister", 4000, cuMemHostUnregister),
	PROC("cuMemMap", 10020, cuMemMap),
	PROC("cuMemPrefetchAsync", 8000, sim_mem_prefetch_async_v8000),
	PROC("cuMemPrefetchAsync", 12020, cuMemPrefetchAsync_v2),
	PROC("cuMemRangeGetAttribute", 8000, cuMemRangeGetAttribute),
	PROC("cuMemRelease", 10020, cuMemRelease),
	PROC("cuMemSetAccess", 10020, cuMemSetAccess),
	PROC("cuMemUnmap", 10020, cuMemUnmap),
	PROC("cuMemcpy", 4000, cuMemcpy),
	PROC("cuMemcpyAsync", 4000, cuMemcpyAsync),
	PROC("cuMemcpyDtoD", 3020, cuMemcpyDtoD_v2),
	PROC("cuMemcpyDtoDAsync", 3020, cuMemcpyDtoDAsync_v2),
	PROC("cuMemcpyDtoH", 3020, cuMemcpyDtoH_v2),
	PROC("cuMemcpyDtoHAsync", 3020, cuMemcpyDtoHAsync_v2),
	PROC("cuMemcpyHtoD", 3020, cuMemcpyHtoD_v2),
	PROC("cuMemcpyHtoDAsync", 3020, cuMemcpyHtoDAsync_v2),
	PROC("cuMemsetD32", 3020, cuMemsetD32_v2),
	PROC("cuMemsetD32Async", 3020, cuMemsetD32Async),
	PROC("cuMemsetD8", 3020, cuMemsetD8_v2),
	PROC("cuMemsetD8Async", 3020, cuMemsetD8Async),
	PROC("cuModuleGetFunction", 2000, cuModuleGetFunction),
	PROC("cuModuleLoad", 2000, cuModuleLoad),
	PROC("cuModuleUnload", 2000, cuModuleUnload),
	PROC("cuPointerGetAttribute", 4000, cuPointerGetAttribute),
	PROC("cuStreamCreate", 2000, cuStreamCreate),
	PROC("cuStreamDestroy", 2000, cuStreamDestroy_v2),
	PROC("cuStreamQuery", 2000, cuStreamQuery),
	PROC("cuStreamSynchronize", 2000, cuStreamSynchronize),
	PROC("cuStreamWaitEvent", 3020, cuStreamWaitEvent),
};

#define N_PROCS (sizeof(procs) / sizeof(procs[0]))

bool sim_proc_known(const char *func, unsigned *flags)
{
	for (size_t i = 0; i < N_PROCS; i++) {
		if (strcmp(procs[i].name, func) == 0) {
			*flags = procs[i].flags;
			return true;
		}
	}
	return false;
}

/* Works before cuInit: the CUDA runtime resolves every entry point first. */
CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, cuuint64_t flags,
			     CUdriverProcAddressQueryResult *status)
{
	const struct proc *best = NULL;
	bool known = false;

	if (!symbol || !pfn ||
	    (flags & ~(cuuint64_t)(CU_GET_PROC_ADDRESS_LEGACY_STREAM |
				   CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)))
		return CUDA_ERROR_INVALID_VALUE;
	for (size_t i = 0; i < N_PROCS; i++) {
		if (strcmp(procs[i].name, symbol) != 0)
			continue;
		known = true;
		if (procs[i].version <= version)
			best = &procs[i];
	}
	*pfn = best ? best->fn : NULL;
	if (status)
		*status = best ? CU_GET_PROC_ADDRESS_SUCCESS :
			  known ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT :
				  CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	if (!best)
		return sim_error(CUDA_ERROR_NOT_FOUND, "cuGetProcAddress: %s at version %d: %s",
				 symbol, version, known ? "version too old" : "not simulated");
	return CUDA_SUCCESS;
}
