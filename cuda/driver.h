/*
 * driver.h - the CUDA driver, loaded at run time.
 *
 * libcuda.so.1 (or GPUPAGER_CUDA_LIB) is dlopen()ed; only cuGetProcAddress
 * is looked up with dlsym, every other entry point is resolved through it
 * with the CUDA version whose ABI this code calls.  Entry points come in
 * groups: the core group must be complete or the driver is refused; a
 * missing entry in another group only disables that feature (GP_ENOSYS).
 */
#ifndef GP_CUDA_DRIVER_H
#define GP_CUDA_DRIVER_H

#include <cuda.h>
#include <cudaTypedefs.h>
#include <stdbool.h>

enum gp_cu_group {
	GP_CU_CORE,     /* devices, contexts, streams, events, copies, pinning */
	GP_CU_VMM,      /* the vmm backend: reserve, create, map, set access */
	GP_CU_MANAGED,  /* the um backend: managed memory, advise, prefetch */
	GP_CU_MODULE,   /* loading and launching kernels */
	GP_CU_GROUP_COUNT
};

/*
 * X(symbol, version, group): the field has type PFN_<symbol>_v<version>
 * from cudaTypedefs.h, and <version> is passed to cuGetProcAddress.  The
 * versions select the current ABI: the _v2 forms of cuMemGetInfo, the
 * copies, cuMemHostRegister, and CUDA 12.2's CUmemLocation forms of
 * cuMemAdvise and cuMemPrefetchAsync (the only forms in CUDA 13).
 *
 * cuda.h #defines some of these names to their _v2 spellings; the field
 * names go through the same macros at every use, so drv->cuMemGetInfo
 * works as written.
 */
#define GP_DRIVER_ENTRIES(X)                          \
	X(cuGetErrorName, 6000, CORE)                 \
	X(cuGetErrorString, 6000, CORE)               \
	X(cuInit, 2000, CORE)                         \
	X(cuDriverGetVersion, 2020, CORE)             \
	X(cuDeviceGet, 2000, CORE)                    \
	X(cuDeviceGetCount, 2000, CORE)               \
	X(cuDeviceGetName, 2000, CORE)                \
	X(cuDeviceTotalMem, 3020, CORE)               \
	X(cuDeviceGetAttribute, 2000, CORE)           \
	X(cuDeviceGetPCIBusId, 4010, CORE)            \
	X(cuDevicePrimaryCtxRetain, 7000, CORE)       \
	X(cuDevicePrimaryCtxRelease, 11000, CORE)     \
	X(cuCtxGetCurrent, 4000, CORE)                \
	X(cuCtxSetCurrent, 4000, CORE)                \
	X(cuMemGetInfo, 3020, CORE)                   \
	X(cuStreamCreate, 2000, CORE)                 \
	X(cuStreamDestroy, 4000, CORE)                \
	X(cuStreamSynchronize, 2000, CORE)            \
	X(cuEventCreate, 2000, CORE)                  \
	X(cuEventRecord, 2000, CORE)                  \
	X(cuEventQuery, 2000, CORE)                   \
	X(cuEventSynchronize, 2000, CORE)             \
	X(cuEventDestroy, 4000, CORE)                 \
	X(cuStreamWaitEvent, 3020, CORE)              \
	X(cuLaunchHostFunc, 10000, CORE)              \
	X(cuMemcpyHtoDAsync, 3020, CORE)              \
	X(cuMemcpyDtoHAsync, 3020, CORE)              \
	X(cuMemHostRegister, 6050, CORE)              \
	X(cuMemHostUnregister, 4000, CORE)            \
	X(cuMemGetAllocationGranularity, 10020, VMM)  \
	X(cuMemAddressReserve, 10020, VMM)            \
	X(cuMemAddressFree, 10020, VMM)               \
	X(cuMemCreate, 10020, VMM)                    \
	X(cuMemRelease, 10020, VMM)                   \
	X(cuMemMap, 10020, VMM)                       \
	X(cuMemUnmap, 10020, VMM)                     \
	X(cuMemSetAccess, 10020, VMM)                 \
	X(cuMemAllocManaged, 6000, MANAGED)           \
	X(cuMemFree, 3020, MANAGED)                   \
	X(cuMemAdvise, 12020, MANAGED)                \
	X(cuMemPrefetchAsync, 12020, MANAGED)         \
	X(cuModuleLoad, 2000, MODULE)                 \
	X(cuModuleUnload, 2000, MODULE)               \
	X(cuModuleGetFunction, 2000, MODULE)          \
	X(cuLaunchKernel, 4000, MODULE)

#define GP_DRIVER_FIELD(symbol, version, group) PFN_##symbol##_v##version symbol;

struct gp_driver {
	void *handle;                   /* from dlopen */
	bool initialized;               /* cuInit was called: never dlclose */
	char *path;                     /* as given to dlopen */
	int version;                    /* cuDriverGetVersion: 1000 * major + 10 * minor */
	/* First entry point the driver lacks in each group, NULL if complete. */
	const char *missing[GP_CU_GROUP_COUNT];
	GP_DRIVER_ENTRIES(GP_DRIVER_FIELD)
};

/*
 * Load the driver at path (NULL: GPUPAGER_CUDA_LIB, default libcuda.so.1),
 * resolve its entry points and cuInit it.  GP_ENODRIVER when the library
 * cannot be loaded, is not a CUDA driver, lacks a core entry point, or
 * cuInit fails; the message says what to install or set.
 */
int gp_driver_open(const char *path, struct gp_driver **out);
/*
 * How cuGetProcAddress is looked up in the driver library (default dlsym).
 * The shim interposes dlsym for every program, so it hands the engine the
 * real one here, or the engine would resolve the shim's own wrappers.
 */
typedef void *(*gp_driver_symbol_fn)(void *handle, const char *name);
void gp_driver_set_symbol_lookup(gp_driver_symbol_fn fn);

/* Free drv; an initialized driver library stays loaded (see gp_driver_open). */
void gp_driver_close(struct gp_driver *drv);

/* 0 if every entry point of group is present, else GP_ENOSYS naming the missing one. */
int gp_driver_require(const struct gp_driver *drv, enum gp_cu_group group);

/*
 * The one way a CUresult becomes a libgpupager error: GP_EDEVMEM for
 * CUDA_ERROR_OUT_OF_MEMORY, GP_ECUDA otherwise, with the message
 * "<call>: <CUDA_ERROR_NAME> (<description>): <context>", e.g.
 * "cuMemMap: CUDA_ERROR_INVALID_VALUE (invalid argument): 2097152 bytes at
 * offset 4194304 of the range".  fmt may be NULL for no context.
 */
int gp_cu_fail(const struct gp_driver *drv, CUresult res, const char *call, const char *fmt,
	       ...) __attribute__((format(printf, 4, 5)));

#endif
