/*
 * proc.c - cuGetProcAddress: the table of every entry point by base name
 * and the CUDA version that introduced each of its forms.  A caller asking
 * for "cuMemAlloc" at version 12000 gets cuMemAlloc_v2 (since 3020); one
 * asking at a version older than every form gets VERSION_NOT_SUFFICIENT.
 *
 * A row may also name the form's per-thread-default-stream twin (_ptds for
 * synchronous calls, _ptsz for those taking a stream; see sim.h).  As in
 * the CUDA driver, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM returns
 * the twin when the caller's version has it (CUDA 7.0 introduced them, so
 * a twin dates from 7000 or from its function, whichever is later) and
 * the row's own form otherwise; without that flag, the row's own form.
 */
#include <string.h>

#include "graph.h"
#include "sim.h"

#define SIM_PER_THREAD_VERSION 7000

struct proc {
	const char *name;
	int version;
	void *fn;
	void *per_thread_fn;
	unsigned flags;
};

#define PROC(name, version, fn) { name, version, (void *)(fn), NULL, 0 }
#define PROC_ALLOC(name, version, fn) { name, version, (void *)(fn), NULL, SIM_PROC_ALLOCATES }
#define PROC_NO_FAULTS(name, version, fn) \
	{ name, version, (void *)(fn), NULL, SIM_PROC_NO_FAULTS }
#define PROC_PTDS(name, version, fn) { name, version, (void *)(fn), (void *)(fn##_ptds), 0 }
#define PROC_PTSZ(name, version, fn) { name, version, (void *)(fn), (void *)(fn##_ptsz), 0 }
#define PROC_ALLOC_PTSZ(name, version, fn) \
	{ name, version, (void *)(fn), (void *)(fn##_ptsz), SIM_PROC_ALLOCATES }

/* Grouped by name, oldest form first. */
static const struct proc procs[] = {
	PROC("cuCtxDisablePeerAccess", 4000, cuCtxDisablePeerAccess),
	PROC("cuCtxEnablePeerAccess", 4000, cuCtxEnablePeerAccess),
	PROC("cuCtxGetCurrent", 4000, cuCtxGetCurrent),
	PROC("cuCtxGetDevice", 2000, cuCtxGetDevice),
	PROC("cuCtxGetDevice", 13000, cuCtxGetDevice_v2),
	PROC("cuCtxGetStreamPriorityRange", 5050, cuCtxGetStreamPriorityRange),
	PROC("cuCtxPopCurrent", 4000, cuCtxPopCurrent_v2),
	PROC("cuCtxPushCurrent", 4000, cuCtxPushCurrent_v2),
	PROC("cuCtxSetCurrent", 4000, cuCtxSetCurrent),
	PROC("cuCtxSynchronize", 2000, cuCtxSynchronize),
	PROC("cuCtxSynchronize", 13000, cuCtxSynchronize_v2),
	PROC("cuDeviceCanAccessPeer", 4000, cuDeviceCanAccessPeer),
	PROC("cuDeviceGet", 2000, cuDeviceGet),
	PROC("cuDeviceGetAttribute", 2000, cuDeviceGetAttribute),
	PROC("cuDeviceGetCount", 2000, cuDeviceGetCount),
	PROC("cuDeviceGetDefaultMemPool", 11020, cuDeviceGetDefaultMemPool),
	PROC("cuDeviceGetMemPool", 11020, cuDeviceGetMemPool),
	PROC("cuDeviceGetName", 2000, cuDeviceGetName),
	PROC("cuDeviceGetP2PAttribute", 8000, cuDeviceGetP2PAttribute),
	PROC("cuDeviceGetPCIBusId", 4010, cuDeviceGetPCIBusId),
	PROC("cuDeviceGetUuid", 9020, sim_device_get_uuid_v9020),
	PROC("cuDeviceGetUuid", 11040, cuDeviceGetUuid_v2),
	PROC("cuDevicePrimaryCtxRelease", 7000, cuDevicePrimaryCtxRelease_v2),
	PROC("cuDevicePrimaryCtxRetain", 7000, cuDevicePrimaryCtxRetain),
	PROC("cuDeviceSetMemPool", 11020, cuDeviceSetMemPool),
	PROC("cuDeviceTotalMem", 3020, cuDeviceTotalMem_v2),
	PROC_NO_FAULTS("cuDriverGetVersion", 2020, cuDriverGetVersion),
	PROC("cuEventCreate", 2000, cuEventCreate),
	PROC("cuEventDestroy", 2000, cuEventDestroy_v2),
	PROC("cuEventElapsedTime", 2000, cuEventElapsedTime_v2),
	PROC("cuEventQuery", 2000, cuEventQuery),
	PROC_PTSZ("cuEventRecord", 2000, cuEventRecord),
	PROC("cuEventSynchronize", 2000, cuEventSynchronize),
	PROC("cuFuncGetParamInfo", 12040, cuFuncGetParamInfo),
	PROC_NO_FAULTS("cuGetErrorName", 6000, cuGetErrorName),
	PROC_NO_FAULTS("cuGetErrorString", 6000, cuGetErrorString),
	PROC_NO_FAULTS("cuGetProcAddress", 11030, sim_get_proc_address_v11030),
	PROC_NO_FAULTS("cuGetProcAddress", 12000, cuGetProcAddress_v2),
	PROC("cuGraphAddEmptyNode", 10000, cuGraphAddEmptyNode),
	PROC("cuGraphAddHostNode", 10000, cuGraphAddHostNode),
	PROC("cuGraphAddKernelNode", 12000, cuGraphAddKernelNode_v2),
	PROC("cuGraphAddMemcpyNode", 10000, cuGraphAddMemcpyNode),
	PROC("cuGraphAddMemsetNode", 10000, cuGraphAddMemsetNode),
	PROC("cuGraphCreate", 10000, cuGraphCreate),
	PROC("cuGraphDestroy", 10000, cuGraphDestroy),
	PROC("cuGraphExecDestroy", 10000, cuGraphExecDestroy),
	PROC("cuGraphGetNodes", 10000, cuGraphGetNodes),
	PROC("cuGraphInstantiate", 10000, sim_graph_instantiate_v10000),
	PROC("cuGraphInstantiate", 11000, cuGraphInstantiate_v2),
	PROC("cuGraphInstantiate", 12000, cuGraphInstantiateWithFlags),
	PROC("cuGraphInstantiateWithFlags", 11040, cuGraphInstantiateWithFlags),
	PROC_PTSZ("cuGraphInstantiateWithParams", 12000, cuGraphInstantiateWithParams),
	PROC("cuGraphKernelNodeGetParams", 12000, cuGraphKernelNodeGetParams_v2),
	PROC_PTSZ("cuGraphLaunch", 10000, cuGraphLaunch),
	PROC("cuGraphNodeGetType", 10000, cuGraphNodeGetType),
	PROC("cuInit", 2000, cuInit),
	PROC_PTSZ("cuLaunchCooperativeKernel", 9000, cuLaunchCooperativeKernel),
	PROC_PTSZ("cuLaunchHostFunc", 10000, cuLaunchHostFunc),
	PROC_PTSZ("cuLaunchKernel", 4000, cuLaunchKernel),
	PROC_PTSZ("cuLaunchKernelEx", 11060, cuLaunchKernelEx),
	PROC("cuMemAddressFree", 10020, cuMemAddressFree),
	PROC_ALLOC("cuMemAddressReserve", 10020, cuMemAddressReserve),
	PROC("cuMemAdvise", 8000, sim_mem_advise_v8000),
	PROC("cuMemAdvise", 12020, cuMemAdvise_v2),
	PROC_ALLOC("cuMemAlloc", 3020, cuMemAlloc_v2),
	PROC_ALLOC_PTSZ("cuMemAllocAsync", 11020, cuMemAllocAsync),
	PROC_ALLOC_PTSZ("cuMemAllocFromPoolAsync", 11020, cuMemAllocFromPoolAsync),
	PROC_ALLOC("cuMemAllocHost", 3020, cuMemAllocHost_v2),
	PROC_ALLOC("cuMemAllocManaged", 6000, cuMemAllocManaged),
	PROC_ALLOC("cuMemAllocPitch", 3020, cuMemAllocPitch_v2),
	PROC_ALLOC("cuMemCreate", 10020, cuMemCreate),
	PROC("cuMemFree", 3020, cuMemFree_v2),
	PROC_PTSZ("cuMemFreeAsync", 11020, cuMemFreeAsync),
	PROC("cuMemFreeHost", 2000, cuMemFreeHost),
	PROC("cuMemGetAddressRange", 3020, cuMemGetAddressRange_v2),
	PROC("cuMemGetAllocationGranularity", 10020, cuMemGetAllocationGranularity),
	PROC("cuMemGetInfo", 3020, cuMemGetInfo_v2),
	PROC_ALLOC("cuMemHostAlloc", 2020, cuMemHostAlloc),
	PROC_ALLOC("cuMemHostRegister", 4000, cuMemHostRegister_v2),
	PROC("cuMemHostUnregister", 4000, cuMemHostUnregister),
	PROC("cuMemMap", 10020, cuMemMap),
	PROC("cuMemPoolGetAttribute", 11020, cuMemPoolGetAttribute),
	PROC("cuMemPoolSetAttribute", 11020, cuMemPoolSetAttribute),
	PROC("cuMemPoolTrimTo", 11020, cuMemPoolTrimTo),
	PROC_PTSZ("cuMemPrefetchAsync", 8000, sim_mem_prefetch_async_v8000),
	PROC_PTSZ("cuMemPrefetchAsync", 12020, cuMemPrefetchAsync_v2),
	PROC("cuMemRangeGetAttribute", 8000, cuMemRangeGetAttribute),
	PROC("cuMemRelease", 10020, cuMemRelease),
	PROC("cuMemSetAccess", 10020, cuMemSetAccess),
	PROC("cuMemUnmap", 10020, cuMemUnmap),
	PROC_PTDS("cuMemcpy", 4000, cuMemcpy),
	PROC_PTDS("cuMemcpy2D", 3020, cuMemcpy2D_v2),
	PROC_PTSZ("cuMemcpy2DAsync", 3020, cuMemcpy2DAsync_v2),
	PROC_PTSZ("cuMemcpyAsync", 4000, cuMemcpyAsync),
	PROC_PTDS("cuMemcpyDtoD", 3020, cuMemcpyDtoD_v2),
	PROC_PTSZ("cuMemcpyDtoDAsync", 3020, cuMemcpyDtoDAsync_v2),
	PROC_PTDS("cuMemcpyDtoH", 3020, cuMemcpyDtoH_v2),
	PROC_PTSZ("cuMemcpyDtoHAsync", 3020, cuMemcpyDtoHAsync_v2),
	PROC_PTDS("cuMemcpyHtoD", 3020, cuMemcpyHtoD_v2),
	PROC_PTSZ("cuMemcpyHtoDAsync", 3020, cuMemcpyHtoDAsync_v2),
	PROC_PTDS("cuMemcpyPeer", 4000, cuMemcpyPeer),
	PROC_PTSZ("cuMemcpyPeerAsync", 4000, cuMemcpyPeerAsync),
	PROC_PTDS("cuMemsetD16", 3020, cuMemsetD16_v2),
	PROC_PTSZ("cuMemsetD16Async", 3020, cuMemsetD16Async),
	PROC_PTDS("cuMemsetD2D8", 3020, cuMemsetD2D8_v2),
	PROC_PTSZ("cuMemsetD2D8Async", 3020, cuMemsetD2D8Async),
	PROC_PTDS("cuMemsetD32", 3020, cuMemsetD32_v2),
	PROC_PTSZ("cuMemsetD32Async", 3020, cuMemsetD32Async),
	PROC_PTDS("cuMemsetD8", 3020, cuMemsetD8_v2),
	PROC_PTSZ("cuMemsetD8Async", 3020, cuMemsetD8Async),
	PROC("cuModuleGetFunction", 2000, cuModuleGetFunction),
	PROC("cuModuleLoad", 2000, cuModuleLoad),
	PROC("cuModuleUnload", 2000, cuModuleUnload),
	PROC("cuPointerGetAttribute", 4000, cuPointerGetAttribute),
	PROC("cuPointerGetAttributes", 7000, cuPointerGetAttributes),
	PROC_PTSZ("cuStreamBeginCapture", 10000, sim_stream_begin_capture_v10000),
	PROC_PTSZ("cuStreamBeginCapture", 10010, cuStreamBeginCapture_v2),
	PROC("cuStreamCreate", 2000, cuStreamCreate),
	PROC("cuStreamCreateWithPriority", 5050, cuStreamCreateWithPriority),
	PROC("cuStreamDestroy", 2000, cuStreamDestroy_v2),
	PROC_PTSZ("cuStreamEndCapture", 10000, cuStreamEndCapture),
	PROC_PTSZ("cuStreamGetCaptureInfo", 11030, cuStreamGetCaptureInfo_v2),
	PROC_PTSZ("cuStreamGetCaptureInfo", 12030, cuStreamGetCaptureInfo_v3),
	PROC_PTSZ("cuStreamIsCapturing", 10000, cuStreamIsCapturing),
	PROC_PTSZ("cuStreamQuery", 2000, cuStreamQuery),
	PROC_PTSZ("cuStreamSynchronize", 2000, cuStreamSynchronize),
	PROC_PTSZ("cuStreamWaitEvent", 3020, cuStreamWaitEvent),
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
	if (best && best->per_thread_fn && version >= SIM_PER_THREAD_VERSION &&
	    (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM))
		*pfn = best->per_thread_fn;
	if (status)
		*status = best ? CU_GET_PROC_ADDRESS_SUCCESS :
			  known ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT :
				  CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	if (!best)
		return sim_error(CUDA_ERROR_NOT_FOUND, "cuGetProcAddress: %s at version %d: %s",
				 symbol, version, known ? "version too old" : "not simulated");
	return CUDA_SUCCESS;
}
