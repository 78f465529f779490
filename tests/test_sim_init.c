/* test_sim_init.c - simulated device: initialisation, device queries, contexts, entry points. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <string.h>

#include "common/sim_test.h"

#define SIM_LIB GP_BUILD_DIR "/lib/sim/libcuda.so.1"

Test(sim_init, calls_before_cuinit_fail)
{
	CUdeviceptr p;
	int count, version;
	const char *name;

	sim_assert_result(cuDeviceGetCount(&count), CUDA_ERROR_NOT_INITIALIZED);
	sim_assert_result(cuMemAlloc(&p, 1), CUDA_ERROR_NOT_INITIALIZED);
	/* These work before cuInit, as with the real driver. */
	sim_assert_ok(cuDriverGetVersion(&version));
	cr_assert_eq(version, 13000);
	sim_assert_ok(cuGetErrorName(CUDA_ERROR_OUT_OF_MEMORY, &name));
	cr_assert_str_eq(name, "CUDA_ERROR_OUT_OF_MEMORY");
}

Test(sim_init, cuinit_checks_flags)
{
	sim_assert_result(cuInit(1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuInit(0));
	sim_assert_ok(cuInit(0));
}

Test(sim_init, device_says_it_is_simulated)
{
	char name[256], bus_id[32], small[8];
	CUdevice dev;
	int count;

	sim_assert_ok(cuInit(0));
	sim_assert_ok(cuDeviceGetCount(&count));
	cr_assert_eq(count, 1);
	sim_assert_ok(cuDeviceGet(&dev, 0));
	sim_assert_result(cuDeviceGet(&dev, 1), CUDA_ERROR_INVALID_DEVICE);
	sim_assert_ok(cuDeviceGetName(name, sizeof(name), dev));
	cr_assert(strstr(name, "simulated"), "name '%s' does not say simulated", name);
	sim_assert_ok(cuDeviceGetName(small, sizeof(small), dev));
	cr_assert_eq(strlen(small), sizeof(small) - 1, "name not truncated to the buffer");
	sim_assert_ok(cuDeviceGetPCIBusId(bus_id, sizeof(bus_id), dev));
	cr_assert_str_eq(bus_id, "0000:00:00.0");
	sim_assert_result(cuDeviceGetName(name, sizeof(name), 3), CUDA_ERROR_INVALID_DEVICE);
}

Test(sim_init, attributes_the_pager_reads)
{
	static const struct {
		CUdevice_attribute attribute;
		int value;
	} expected[] = {
		{ CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, 1 },
		{ CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING, 1 },
		{ CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY, 1 },
		{ CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS, 1 },
		{ CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 9 },
		{ CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, 0 },
		{ CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, 0 },
		{ CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, 0 },
	};
	size_t total;
	int value;

	sim_assert_ok(cuInit(0));
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		sim_assert_ok(cuDeviceGetAttribute(&value, expected[i].attribute, 0));
		cr_assert_eq(value, expected[i].value, "attribute %d", (int)expected[i].attribute);
	}
	sim_assert_result(cuDeviceGetAttribute(&value, (CUdevice_attribute)100000, 0),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuDeviceTotalMem(&total, 0));
	cr_assert_eq(total, 4ull << 30, "default capacity is 4 GiB");
}

Test(sim_init, vram_size_from_environment)
{
	size_t total;

	setenv("GPUPAGER_SIM_VRAM", "64M", 1);
	sim_assert_ok(cuInit(0));
	sim_assert_ok(cuDeviceTotalMem(&total, 0));
	cr_assert_eq(total, 64u << 20);
}

Test(sim_init, vram_below_one_granule_is_refused)
{
	setenv("GPUPAGER_SIM_VRAM", "1M", 1);
	sim_assert_result(cuInit(0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuInit(0), CUDA_ERROR_INVALID_VALUE);
}

Test(sim_init, calls_need_a_current_context)
{
	CUcontext ctx, current = (CUcontext)1;
	CUdeviceptr p;

	sim_assert_ok(cuInit(0));
	sim_assert_ok(cuCtxGetCurrent(&current));
	cr_assert_null(current);
	sim_assert_result(cuMemAlloc(&p, 1), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_ok(cuDevicePrimaryCtxRetain(&ctx, 0));
	sim_assert_result(cuCtxSetCurrent((CUcontext)&current), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_ok(cuCtxSetCurrent(ctx));
	sim_assert_ok(cuCtxGetCurrent(&current));
	cr_assert_eq(current, ctx);
	sim_assert_ok(cuMemAlloc(&p, 1));
	sim_assert_ok(cuMemFree(p));
	sim_assert_ok(cuCtxSynchronize());
}

static void *alloc_without_context(void *arg)
{
	CUdeviceptr p;

	(void)arg;
	return (void *)(uintptr_t)cuMemAlloc(&p, 1);
}

Test(sim_init, current_context_is_per_thread)
{
	pthread_t thread;
	void *result;

	sim_test_init();
	cr_assert_eq(pthread_create(&thread, NULL, alloc_without_context, NULL), 0);
	cr_assert_eq(pthread_join(thread, &result), 0);
	cr_assert_eq((CUresult)(uintptr_t)result, CUDA_ERROR_INVALID_CONTEXT);
}

Test(sim_init, primary_context_release_to_zero)
{
	CUdeviceptr p;

	sim_test_init();
	sim_assert_ok(cuDevicePrimaryCtxRelease(0));
	sim_assert_result(cuMemAlloc(&p, 1), CUDA_ERROR_CONTEXT_IS_DESTROYED);
	sim_assert_result(cuDevicePrimaryCtxRelease(0), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuDevicePrimaryCtxRelease(1), CUDA_ERROR_INVALID_DEVICE);
}

Test(sim_init, error_names_and_strings)
{
	const char *text;

	sim_assert_ok(cuGetErrorName(CUDA_ERROR_ILLEGAL_ADDRESS, &text));
	cr_assert_str_eq(text, "CUDA_ERROR_ILLEGAL_ADDRESS");
	sim_assert_ok(cuGetErrorString(CUDA_ERROR_OUT_OF_MEMORY, &text));
	cr_assert_str_eq(text, "out of memory");
	sim_assert_result(cuGetErrorName((CUresult)12345, &text), CUDA_ERROR_INVALID_VALUE);
	cr_assert_null(text);
	sim_assert_result(cuGetErrorString(CUDA_SUCCESS, NULL), CUDA_ERROR_INVALID_VALUE);
}

Test(sim_init, proc_address_picks_the_version)
{
	CUdriverProcAddressQueryResult status;
	void *fn;

	/* Before cuInit, as the CUDA runtime does. */
	sim_assert_ok(cuGetProcAddress("cuMemAlloc", &fn, 12000, CU_GET_PROC_ADDRESS_DEFAULT,
				       &status));
	cr_assert_eq(fn, (void *)cuMemAlloc_v2);
	cr_assert_eq(status, CU_GET_PROC_ADDRESS_SUCCESS);
	sim_assert_ok(cuGetProcAddress("cuMemAdvise", &fn, 12020, 0, &status));
	cr_assert_eq(fn, (void *)cuMemAdvise_v2);
	sim_assert_ok(cuGetProcAddress("cuMemAdvise", &fn, 12010, 0, &status));
	cr_assert_neq(fn, (void *)cuMemAdvise_v2, "12.1 callers need the CUdevice form");
	cr_assert_not_null(fn);
	sim_assert_ok(cuGetProcAddress("cuCtxSynchronize", &fn, 13000, 0, &status));
	cr_assert_eq(fn, (void *)cuCtxSynchronize_v2);
	/* The per-thread forms are test_sim_ptds's; the legacy flag gives the plain one. */
	sim_assert_ok(cuGetProcAddress("cuMemcpyHtoDAsync", &fn, 13000,
				       CU_GET_PROC_ADDRESS_LEGACY_STREAM, &status));
	cr_assert_eq(fn, (void *)cuMemcpyHtoDAsync_v2);
	sim_assert_ok(cuGetProcAddress("cuGetProcAddress", &fn, 13000, 0, NULL));
	cr_assert_eq(fn, (void *)cuGetProcAddress_v2);
}

Test(sim_init, proc_address_not_found)
{
	CUdriverProcAddressQueryResult status;
	void *fn = (void *)1;

	sim_assert_result(cuGetProcAddress("cuGraphExecUpdate", &fn, 13000, 0, &status),
			  CUDA_ERROR_NOT_FOUND);
	cr_assert_null(fn);
	cr_assert_eq(status, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	/* Versioned names are not symbols of cuGetProcAddress. */
	sim_assert_result(cuGetProcAddress("cuMemAlloc_v2", &fn, 13000, 0, &status),
			  CUDA_ERROR_NOT_FOUND);
	cr_assert_eq(status, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	sim_assert_result(cuGetProcAddress("cuMemCreate", &fn, 10010, 0, &status),
			  CUDA_ERROR_NOT_FOUND);
	cr_assert_eq(status, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	sim_assert_result(cuGetProcAddress("cuInit", &fn, 13000, 4, &status),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuGetProcAddress(NULL, &fn, 13000, 0, &status),
			  CUDA_ERROR_INVALID_VALUE);
}

/* How the driver layer loads it: dlopen by path, everything through cuGetProcAddress. */
Test(sim_init, loads_by_path_and_exports_only_the_api)
{
	CUresult (*get_proc)(const char *, void **, int, cuuint64_t,
			     CUdriverProcAddressQueryResult *);
	CUresult (*get_proc_v1)(const char *, void **, int, cuuint64_t);
	CUresult (*init)(unsigned int);
	void *lib = dlopen(SIM_LIB, RTLD_NOW | RTLD_LOCAL);

	cr_assert_not_null(lib, "%s", dlerror());
	*(void **)&get_proc = dlsym(lib, "cuGetProcAddress_v2");
	*(void **)&get_proc_v1 = dlsym(lib, "cuGetProcAddress");
	cr_assert_not_null(get_proc);
	cr_assert_not_null(get_proc_v1);
	sim_assert_ok(get_proc_v1("cuInit", (void **)&init, 2000, 0));
	sim_assert_ok(init(0));
	cr_assert_null(dlsym(lib, "gp_config_get"), "library internals are exported");
	cr_assert_null(dlsym(lib, "sim_enter"), "simulator internals are exported");
	cr_assert_null(dlsym(lib, "cuMemAlloc"), "the 32-bit cuMemAlloc is not simulated");
	dlclose(lib);
}
