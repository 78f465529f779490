/* test_cuda_driver.c - loading the driver, opening the device, and how driver errors read. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_env.h"

TestSuite(driver, .init = gp_test_cuda_env);

Test(driver, missing_library_is_enodriver_with_a_remedy)
{
	struct gp_gpu *gpu = NULL;

	setenv("GPUPAGER_CUDA_LIB", "/nonexistent/libcuda.so.1", 1);
	cr_assert_eq(gp_gpu_open(NULL, 0, &gpu), GP_ENODRIVER);
	cr_expect_null(gpu);
	gp_test_expect_error("cannot load CUDA driver '/nonexistent/libcuda.so.1': ");
	cr_expect(strstr(gp_last_error(), "No such file"), "%s", gp_last_error());
	cr_expect(strstr(gp_last_error(), "set GPUPAGER_CUDA_LIB="), "%s", gp_last_error());
}

Test(driver, library_that_is_not_a_driver_is_refused)
{
	struct gp_driver *drv = NULL;

	cr_assert_eq(gp_driver_open("libm.so.6", &drv), GP_ENODRIVER);
	cr_expect_null(drv);
	gp_test_expect_error("cannot load CUDA driver 'libm.so.6': ");
	cr_expect(strstr(gp_last_error(), "neither cuGetProcAddress_v2 nor cuGetProcAddress"),
		  "%s", gp_last_error());
}

Test(driver, resolves_every_entry_point)
{
	struct gp_driver *drv;

	cr_assert_eq(gp_driver_open(NULL, &drv), 0, "%s", gp_last_error());
	for (int group = 0; group < GP_CU_GROUP_COUNT; group++)
		cr_expect_null(drv->missing[group], "group %d lacks %s", group,
			       drv->missing[group]);
	cr_expect_geq(drv->version, 12020, "driver version %d", drv->version);
	cr_expect_eq(gp_driver_require(drv, GP_CU_VMM), 0, "%s", gp_last_error());
	gp_driver_close(drv);
}

Test(driver, missing_feature_is_enosys_naming_the_entry_point)
{
	struct gp_driver *drv;

	cr_assert_eq(gp_driver_open(NULL, &drv), 0, "%s", gp_last_error());
	/* As resolve() records a symbol that cuGetProcAddress does not find. */
	drv->missing[GP_CU_MANAGED] = "cuMemPrefetchAsync";
	cr_expect_eq(gp_driver_require(drv, GP_CU_MANAGED), GP_ENOSYS);
	cr_expect(strstr(gp_last_error(), "lacks cuMemPrefetchAsync, needed for the um backend"),
		  "%s", gp_last_error());
	gp_driver_close(drv);
}

Test(driver, cuda_errors_carry_the_driver_name)
{
	struct gp_driver *drv;

	cr_assert_eq(gp_driver_open(NULL, &drv), 0, "%s", gp_last_error());
	cr_expect_eq(gp_cu_fail(drv, CUDA_ERROR_INVALID_VALUE, "cuMemMap", "slot %d", 7),
		     GP_ECUDA);
	gp_test_expect_error("cuMemMap: CUDA_ERROR_INVALID_VALUE (");
	cr_expect(strstr(gp_last_error(), "CUresult 1): slot 7"), "%s", gp_last_error());

	cr_expect_eq(gp_cu_fail(drv, CUDA_ERROR_OUT_OF_MEMORY, "cuMemCreate", NULL), GP_EDEVMEM);
	gp_test_expect_error("cuMemCreate: CUDA_ERROR_OUT_OF_MEMORY (");
	cr_expect_eq(gp_last_error()[strlen(gp_last_error()) - 1], ')', "%s", gp_last_error());
	gp_driver_close(drv);
}

Test(driver, opens_device_zero)
{
	struct gp_gpu *gpu = gp_test_gpu_open();
	uint64_t free_bytes, total_bytes;

	cr_expect_gt(strlen(gpu->name), 0);
	cr_expect_gt(gpu->total_mem, 0);
	cr_expect_gt(strlen(gpu->pci_bus_id), 0);
	for (const char *p = gpu->pci_bus_id; *p; p++)
		cr_expect(*p < 'A' || *p > 'Z', "bus id %s not lower case", gpu->pci_bus_id);
	cr_expect(gpu->vmm_supported);
	cr_expect_gt(gpu->granularity, 0);
	cr_expect_eq(gpu->granularity & (gpu->granularity - 1), 0, "granularity %llu",
		     (unsigned long long)gpu->granularity);
	cr_assert_eq(gp_gpu_mem_info(gpu, &free_bytes, &total_bytes), 0, "%s", gp_last_error());
	cr_expect_eq(total_bytes, gpu->total_mem);
	cr_expect_leq(free_bytes, total_bytes);
	gp_gpu_close(gpu);
}

Test(driver, simulated_device_says_so)
{
	struct gp_gpu *gpu;

	gp_test_require_simulator();
	setenv("GPUPAGER_SIM_VRAM", "96M", 1);
	gpu = gp_test_gpu_open();
	cr_expect(gpu->is_simulator, "device '%s'", gpu->name);
	cr_expect_eq(gpu->total_mem, 96ull << 20);
	gp_gpu_close(gpu);
}

Test(driver, no_such_device)
{
	struct gp_gpu *gpu = NULL;

	cr_assert_eq(gp_gpu_open(NULL, 99, &gpu), GP_EINVAL);
	cr_expect_null(gpu);
	gp_test_expect_error("no CUDA device 99: ");
}

Test(driver, failing_cuinit_is_enodriver)
{
	struct gp_gpu *gpu = NULL;

	gp_test_require_simulator();
	setenv("GPUPAGER_SIM_FAIL", "cuInit:1=CUDA_ERROR_NO_DEVICE", 1);
	cr_assert_eq(gp_gpu_open(NULL, 0, &gpu), GP_ENODRIVER);
	gp_test_expect_error("CUDA driver unusable (is a GPU present?): cuInit: "
				       "CUDA_ERROR_NO_DEVICE (");
}

Test(driver, injected_errors_surface_with_their_names)
{
	struct gp_gpu *gpu;
	uint64_t free_bytes, total_bytes;
	CUstream stream;

	gp_test_require_simulator();
	setenv("GPUPAGER_SIM_FAIL",
	       "cuMemGetInfo:1=CUDA_ERROR_INVALID_CONTEXT,"
	       "cuStreamCreate:2=CUDA_ERROR_NOT_PERMITTED",
	       1);
	gpu = gp_test_gpu_open();
	cr_expect_eq(gp_gpu_mem_info(gpu, &free_bytes, &total_bytes), GP_ECUDA);
	gp_test_expect_error("cuMemGetInfo: CUDA_ERROR_INVALID_CONTEXT (");
	cr_expect_eq(gp_gpu_mem_info(gpu, &free_bytes, &total_bytes), 0, "%s", gp_last_error());

	cr_assert_eq(gp_stream_create(gpu, &stream), 0, "%s", gp_last_error());
	gp_stream_destroy(gpu, stream);
	cr_expect_eq(gp_stream_create(gpu, &stream), GP_ECUDA);
	gp_test_expect_error("cuStreamCreate: CUDA_ERROR_NOT_PERMITTED (");
	gp_gpu_close(gpu);
}

Test(driver, bad_host_register_is_reported)
{
	struct gp_gpu *gpu = gp_test_gpu_open();

	cr_expect_eq(gp_gpu_host_register(gpu, NULL, 4096), GP_ECUDA);
	gp_test_expect_error("cuMemHostRegister: CUDA_ERROR_INVALID_VALUE (");
	cr_expect(strstr(gp_last_error(), "pinning 4096 bytes"), "%s", gp_last_error());
	gp_gpu_close(gpu);
}

Test(driver, event_query_reports_completion)
{
	struct gp_gpu *gpu = gp_test_gpu_open();
	CUstream stream;
	CUevent event;
	int done;

	cr_assert_eq(gp_stream_create(gpu, &stream), 0, "%s", gp_last_error());
	cr_assert_eq(gp_event_create(gpu, &event), 0, "%s", gp_last_error());
	cr_assert_eq(gp_event_record(gpu, event, stream), 0, "%s", gp_last_error());
	cr_assert_eq(gp_event_sync(gpu, event), 0, "%s", gp_last_error());
	/* 1, not CUDA_SUCCESS's 0: "done" must not read as "not yet". */
	done = gp_event_query(gpu, event);
	cr_expect_eq(done, 1, "query: %d %s", done, gp_last_error());
	gp_event_destroy(gpu, event);
	gp_stream_destroy(gpu, stream);
	gp_gpu_close(gpu);
}
