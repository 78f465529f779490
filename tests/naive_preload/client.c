/*
 * client.c - a driver-API client that binds the way cuda-python and the
 * CUDA runtime do: dlopen the driver by path, dlsym cuGetProcAddress_v2,
 * and fetch entry points through it.
 *
 *   client DRIVER proc      cuMemAlloc resolved with cuGetProcAddress_v2 at 3020
 *   client DRIVER default   cuMemAlloc_v2 resolved with dlsym(RTLD_DEFAULT), which
 *                           finds a preload's definition first
 *
 * It allocates and frees one byte with what it resolved and prints
 * "reached=N" (N = 1 when the naive preload ran); exit status 0, or 1 on
 * any driver error.
 */
#include <cuda.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef CUresult (*get_proc_fn)(const char *, void **, int, cuuint64_t,
				CUdriverProcAddressQueryResult *);

static get_proc_fn get_proc;

static void *resolve(const char *symbol, int version)
{
	CUdriverProcAddressQueryResult status;
	void *fn = NULL;

	if (get_proc(symbol, &fn, version, 0, &status) || status != CU_GET_PROC_ADDRESS_SUCCESS) {
		fprintf(stderr, "client: cuGetProcAddress_v2(%s, %d) failed\n", symbol, version);
		exit(1);
	}
	return fn;
}

int main(int argc, char **argv)
{
	CUresult (*init)(unsigned int);
	CUresult (*retain)(CUcontext *, CUdevice);
	CUresult (*set_current)(CUcontext);
	CUresult (*mem_alloc)(CUdeviceptr *, size_t);
	CUresult (*mem_free)(CUdeviceptr);
	CUcontext ctx;
	CUdeviceptr p;
	const char *reached;
	void *driver;

	if (argc != 3 || (strcmp(argv[2], "proc") && strcmp(argv[2], "default"))) {
		fprintf(stderr, "usage: client DRIVER proc|default\n");
		return 2;
	}
	driver = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!driver) {
		fprintf(stderr, "client: %s\n", dlerror());
		return 1;
	}
	*(void **)&get_proc = dlsym(driver, "cuGetProcAddress_v2");
	if (!get_proc) {
		fprintf(stderr, "client: no cuGetProcAddress_v2 in %s\n", argv[1]);
		return 1;
	}
	*(void **)&init = resolve("cuInit", 2000);
	*(void **)&retain = resolve("cuDevicePrimaryCtxRetain", 7000);
	*(void **)&set_current = resolve("cuCtxSetCurrent", 4000);
	*(void **)&mem_free = resolve("cuMemFree", 3020);
	if (strcmp(argv[2], "proc") == 0)
		*(void **)&mem_alloc = resolve("cuMemAlloc", 3020);
	else
		*(void **)&mem_alloc = dlsym(RTLD_DEFAULT, "cuMemAlloc_v2");
	if (!mem_alloc || init(0) || retain(&ctx, 0) || set_current(ctx) ||
	    mem_alloc(&p, 1) || mem_free(p)) {
		fprintf(stderr, "client: a driver call failed\n");
		return 1;
	}
	reached = getenv("NAIVE_PRELOAD_REACHED");
	printf("reached=%d\n", reached && strcmp(reached, "1") == 0);
	return 0;
}
