/*
 * shim_cuda.h - how the shim's test programs reach the CUDA driver.
 *
 * The programs under tests/apps/ are plain driver-API programs: <cuda.h>,
 * -lcuda, nothing of libgpupager.  They call the driver only through the
 * table `cu`, which shim_cuda_resolve() fills the way real clients bind:
 *
 *   link           the addresses of the symbols the program is linked with
 *                  (-lcuda; LD_LIBRARY_PATH decides which libcuda.so.1)
 *   dlsym          dlopen("libcuda.so.1") and dlsym() of each symbol
 *   procaddr       dlopen, dlsym("cuGetProcAddress_v2"), then each entry
 *                  point through it by base name at the CUDA version its
 *                  form appeared, flags 0 (as cuda-bindings does)
 *   procaddr-ptds  the same with CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
 *                  at 7000 at least (the per-thread forms, _ptds and _ptsz)
 */
#ifndef SHIM_CUDA_H
#define SHIM_CUDA_H

#include <cuda.h>
#include <stdint.h>

/* Every entry point the programs call: symbol, base name, version of that form. */
#define SHIM_CUDA_CALLS(X)                                                \
	X(cuGetErrorName, cuGetErrorName, 6000)                           \
	X(cuInit, cuInit, 2000)                                           \
	X(cuDeviceGet, cuDeviceGet, 2000)                                 \
	X(cuDeviceGetCount, cuDeviceGetCount, 2000)                       \
	X(cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRetain, 7000)       \
	X(cuDevicePrimaryCtxRelease_v2, cuDevicePrimaryCtxRelease, 11000) \
	X(cuCtxSetCurrent, cuCtxSetCurrent, 4000)                         \
	X(cuCtxGetCurrent, cuCtxGetCurrent, 4000)                         \
	X(cuCtxSynchronize, cuCtxSynchronize, 2000)                       \
	X(cuModuleLoad, cuModuleLoad, 2000)                               \
	X(cuModuleUnload, cuModuleUnload, 2000)                           \
	X(cuModuleGetFunction, cuModuleGetFunction, 2000)                 \
	X(cuMemAlloc_v2, cuMemAlloc, 3020)                                \
	X(cuMemFree_v2, cuMemFree, 3020)                                  \
	X(cuMemAllocHost_v2, cuMemAllocHost, 3020)                        \
	X(cuMemFreeHost, cuMemFreeHost, 2000)                             \
	X(cuMemGetInfo_v2, cuMemGetInfo, 3020)                            \
	X(cuMemGetAddressRange_v2, cuMemGetAddressRange, 3020)            \
	X(cuPointerGetAttribute, cuPointerGetAttribute, 4000)             \
	X(cuPointerGetAttributes, cuPointerGetAttributes, 7000)           \
	X(cuMemcpyPeer, cuMemcpyPeer, 4000)                               \
	X(cuMemcpyPeerAsync, cuMemcpyPeerAsync, 4000)                     \
	X(cuCtxEnablePeerAccess, cuCtxEnablePeerAccess, 4000)             \
	X(cuMemcpyHtoD_v2, cuMemcpyHtoD, 3020)                            \
	X(cuMemcpyDtoH_v2, cuMemcpyDtoH, 3020)                            \
	X(cuMemcpyHtoDAsync_v2, cuMemcpyHtoDAsync, 3020)                  \
	X(cuMemcpyDtoHAsync_v2, cuMemcpyDtoHAsync, 3020)                  \
	X(cuStreamCreate, cuStreamCreate, 2000)                           \
	X(cuStreamDestroy_v2, cuStreamDestroy, 4000)                      \
	X(cuStreamSynchronize, cuStreamSynchronize, 2000)                 \
	X(cuLaunchKernel, cuLaunchKernel, 4000)

struct shim_cuda {
#define SHIM_CUDA_FIELD(sym, base, version) __typeof__(&sym) sym;
	SHIM_CUDA_CALLS(SHIM_CUDA_FIELD)
#undef SHIM_CUDA_FIELD
};

extern struct shim_cuda cu;

/* Fill cu by mode (above); on failure print why and return -1. */
int shim_cuda_resolve(const char *mode);

/* The driver's name of err ("CUDA_ERROR_..."), or "CUresult N" if it has none. */
const char *shim_cuda_error_name(CUresult err);

/*
 * On an error, print "PROGRAM: CALL: CUDA_ERROR_..." and exit: 3 for
 * CUDA_ERROR_OUT_OF_MEMORY (saying so), 1 for any other.
 */
void shim_cuda_check(const char *call, CUresult err);
#define CU(fn, ...) shim_cuda_check(#fn, cu.fn(__VA_ARGS__))

/* cuInit, device 0, its primary context made current; the context. */
CUcontext shim_cuda_start(void);

/* Load NAME (a kernel module beside the running program) with cuModuleLoad. */
CUmodule shim_cuda_load_kernels(const char *name);

/* Upload the first len bytes of the pattern of seed to dev; their checksum. */
uint64_t shim_cuda_upload(CUdeviceptr dev, uint64_t len, uint64_t seed);

/*
 * Launch f on stream with n parameters, each 8 bytes (pointers, uint64_t),
 * one thread; through kernelParams, or packed into the `extra` buffer
 * (CU_LAUNCH_PARAM_BUFFER_POINTER) when extra is set.
 */
CUresult shim_cuda_launch(CUfunction f, CUstream stream, const uint64_t *args, unsigned n,
			  int extra);

#endif
