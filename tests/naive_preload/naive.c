/*
 * naive.c - the most naive LD_PRELOAD "shim": it defines cuMemAlloc_v2 and
 * nothing else.  A client that calls the exported symbol reaches it; one
 * that resolves cuMemAlloc through the driver's cuGetProcAddress must not,
 * since a real driver hands out its own addresses.  When reached it sets
 * NAIVE_PRELOAD_REACHED=1 in the environment, which the client reads back.
 */
#include <cuda.h>
#include <dlfcn.h>
#include <stdlib.h>

typedef CUresult (*mem_alloc_fn)(CUdeviceptr *, size_t);

CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
	mem_alloc_fn next;
	void *driver;

	setenv("NAIVE_PRELOAD_REACHED", "1", 1);
	*(void **)&next = dlsym(RTLD_NEXT, "cuMemAlloc_v2");
	/* RTLD_NEXT sees the driver only when it was loaded into the global scope. */
	if (!next) {
		driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
		if (!driver)
			return CUDA_ERROR_NOT_INITIALIZED;
		*(void **)&next = dlsym(driver, "cuMemAlloc_v2");
		dlclose(driver);
	}
	return next ? next(dptr, bytesize) : CUDA_ERROR_NOT_FOUND;
}
