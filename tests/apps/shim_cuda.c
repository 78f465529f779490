/* shim_cuda.c - the driver bindings of the shim's test programs (shim_cuda.h). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim_app_sum.h"
#include "shim_cuda.h"

struct shim_cuda cu;

typedef CUresult (*get_proc_fn)(const char *symbol, void **pfn, int version, cuuint64_t flags,
				CUdriverProcAddressQueryResult *status);

/*
 * The version to ask at: the form's; with the per-thread flag at least
 * 7000, where the per-thread forms (_ptds, _ptsz) appeared, as
 * cuda-bindings asks for the functions that have them when its per-thread
 * default stream is on (the other forms in the table are the same there).
 */
static int proc_version(int version, cuuint64_t flags)
{
	if (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM && version < 7000)
		return 7000;
	return version;
}

static int resolve_procaddr(void *driver, cuuint64_t flags)
{
	get_proc_fn get_proc = (get_proc_fn)dlsym(driver, "cuGetProcAddress_v2");
	CUdriverProcAddressQueryResult status;
	CUresult err;
	void *fn;

	if (!get_proc) {
		fprintf(stderr, "%s: dlsym cuGetProcAddress_v2: %s\n", program_invocation_short_name,
			dlerror());
		return -1;
	}
#define SHIM_CUDA_PROC(sym, base, version)                                                     \
	status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;                                          \
	err = get_proc(#base, &fn, proc_version(version, flags), flags, &status);              \
	if (err || status != CU_GET_PROC_ADDRESS_SUCCESS) {                                     \
		fprintf(stderr, "%s: cuGetProcAddress_v2(%s, %d, %#llx): CUresult %d, status %d\n", \
			program_invocation_short_name, #base, version, (unsigned long long)flags,  \
			(int)err, (int)status);                                                 \
		return -1;                                                                      \
	}                                                                                       \
	cu.sym = (__typeof__(cu.sym))fn;
	SHIM_CUDA_CALLS(SHIM_CUDA_PROC)
#undef SHIM_CUDA_PROC
	return 0;
}

static int resolve_dlsym(void *driver)
{
#define SHIM_CUDA_DLSYM(sym, base, version)                                                    \
	cu.sym = (__typeof__(cu.sym))dlsym(driver, #sym);                                      \
	if (!cu.sym) {                                                                          \
		fprintf(stderr, "%s: dlsym %s: %s\n", program_invocation_short_name, #sym,     \
			dlerror());                                                             \
		return -1;                                                                      \
	}
	SHIM_CUDA_CALLS(SHIM_CUDA_DLSYM)
#undef SHIM_CUDA_DLSYM
	return 0;
}

int shim_cuda_resolve(const char *mode)
{
	void *driver;

	if (strcmp(mode, "link") == 0) {
#define SHIM_CUDA_LINK(sym, base, version) cu.sym = sym;
		SHIM_CUDA_CALLS(SHIM_CUDA_LINK)
#undef SHIM_CUDA_LINK
		return 0;
	}
	if (strcmp(mode, "dlsym") && strcmp(mode, "procaddr") && strcmp(mode, "procaddr-ptds")) {
		fprintf(stderr, "%s: --resolve %s: expected link, dlsym, procaddr or procaddr-ptds\n",
			program_invocation_short_name, mode);
		return -1;
	}
	driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!driver) {
		fprintf(stderr, "%s: dlopen libcuda.so.1: %s\n", program_invocation_short_name,
			dlerror());
		return -1;
	}
	if (strcmp(mode, "dlsym") == 0)
		return resolve_dlsym(driver);
	return resolve_procaddr(driver, strcmp(mode, "procaddr") ?
					CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM : 0);
}

const char *shim_cuda_error_name(CUresult err)
{
	static __thread char unnamed[32];
	const char *name = NULL;

	if (cu.cuGetErrorName(err, &name) == CUDA_SUCCESS && name)
		return name;
	snprintf(unnamed, sizeof(unnamed), "CUresult %d", (int)err);
	return unnamed;
}

void shim_cuda_check(const char *call, CUresult err)
{
	if (err == CUDA_SUCCESS)
		return;
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, call,
		shim_cuda_error_name(err));
	if (err == CUDA_ERROR_OUT_OF_MEMORY) {
		fprintf(stderr, "%s: out of device memory\n", program_invocation_short_name);
		exit(3);
	}
	exit(1);
}

CUcontext shim_cuda_start(void)
{
	CUcontext ctx;
	CUdevice dev;

	CU(cuInit, 0);
	CU(cuDeviceGet, &dev, 0);
	CU(cuDevicePrimaryCtxRetain, &ctx, dev);
	CU(cuCtxSetCurrent, ctx);
	return ctx;
}

CUmodule shim_cuda_load_kernels(const char *name)
{
	char path[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 1);
	CUmodule module;
	char *slash;

	if (len > 0)
		path[len] = '\0';
	slash = len > 0 ? strrchr(path, '/') : NULL;
	if (!slash || (size_t)(slash + 1 - path) + strlen(name) >= sizeof(path)) {
		fprintf(stderr, "%s: cannot tell where the program is (/proc/self/exe): %s\n",
			program_invocation_short_name, len < 0 ? strerror(errno) : "path too long");
		exit(1);
	}
	strcpy(slash + 1, name);
	CU(cuModuleLoad, &module, path);
	return module;
}

uint64_t shim_cuda_upload(CUdeviceptr dev, uint64_t len, uint64_t seed)
{
	uint64_t *host = malloc((len + 7) / 8 * 8), sum;

	if (!host) {
		fprintf(stderr, "%s: out of host memory\n", program_invocation_short_name);
		exit(1);
	}
	for (uint64_t i = 0; i < (len + 7) / 8; i++)
		host[i] = shim_pattern(seed, i);
	CU(cuMemcpyHtoD_v2, dev, host, len);
	sum = shim_sum(host, len);
	free(host);
	return sum;
}

CUresult shim_cuda_launch(CUfunction f, CUstream stream, const uint64_t *args, unsigned n,
			  int extra)
{
	void *params[16];
	size_t size = n * sizeof(*args);
	void *packed[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, (void *)args,
			   CU_LAUNCH_PARAM_BUFFER_SIZE, &size, CU_LAUNCH_PARAM_END };

	if (n > sizeof(params) / sizeof(params[0]))
		return CUDA_ERROR_INVALID_VALUE;
	if (extra)
		return cu.cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, stream, NULL, packed);
	for (unsigned i = 0; i < n; i++)
		params[i] = (void *)&args[i];
	return cu.cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, stream, params, NULL);
}
