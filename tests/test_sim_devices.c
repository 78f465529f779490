/*
 * test_sim_devices.c - simulated device: several devices
 * (GPUPAGER_SIM_DEVICES), each with its own primary context, capacity,
 * NUMA node and PCI address, one unified address space; and the entry
 * points numba-cuda and cuda.core need (UUIDs, stream priorities).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/sim_test.h"

#define MIB (1ull << 20)

/* Three devices: 16M with no NUMA affinity, 8M near node 0, 8M with none. */
static void init_three(void)
{
	setenv("GPUPAGER_SIM_DEVICES", "16M,8M@0,8M", 1);
	sim_assert_ok(cuInit(0));
}

TestSuite(sim_devices, .init = init_three);

/* Make device dev's primary context current; returns it. */
static CUcontext use_device(CUdevice dev)
{
	CUcontext ctx;

	sim_assert_ok(cuDevicePrimaryCtxRetain(&ctx, dev));
	sim_assert_ok(cuCtxSetCurrent(ctx));
	return ctx;
}

static int attribute(CUdevice_attribute attr, CUdevice dev)
{
	int v = -12345;

	sim_assert_ok(cuDeviceGetAttribute(&v, attr, dev));
	return v;
}

Test(sim_devices, count_and_ordinals)
{
	CUdevice dev = -1;
	int n = 0;

	sim_assert_ok(cuDeviceGetCount(&n));
	cr_assert_eq(n, 3);
	for (int i = 0; i < 3; i++) {
		sim_assert_ok(cuDeviceGet(&dev, i));
		cr_assert_eq(dev, i);
	}
	sim_assert_result(cuDeviceGet(&dev, 3), CUDA_ERROR_INVALID_DEVICE);
	sim_assert_result(cuDeviceGet(&dev, -1), CUDA_ERROR_INVALID_DEVICE);
	sim_assert_result(cuDeviceGetAttribute(&n, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 3),
			  CUDA_ERROR_INVALID_DEVICE);
}

Test(sim_devices, capacity_numa_and_pci_per_device)
{
	static const size_t want_total[3] = { 16 * MIB, 8 * MIB, 8 * MIB };
	static const int want_node[3] = { -1, 0, -1 };
	char bus[3][32];
	size_t total;

	for (int d = 0; d < 3; d++) {
		sim_assert_ok(cuDeviceTotalMem(&total, d));
		cr_assert_eq(total, want_total[d], "device %d", d);
		cr_assert_eq(attribute(CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID, d), want_node[d]);
		cr_assert_eq(attribute(CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, d), d);
		sim_assert_ok(cuDeviceGetPCIBusId(bus[d], sizeof(bus[d]), d));
		/* Every device has the same limits. */
		cr_assert_eq(attribute(CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING, d), 1);
		cr_assert_eq(attribute(CU_DEVICE_ATTRIBUTE_SINGLE_TO_DOUBLE_PRECISION_PERF_RATIO,
				       d), 2);
	}
	cr_assert_str_eq(bus[0], "0000:00:00.0");
	cr_assert_str_neq(bus[0], bus[1]);
	cr_assert_str_neq(bus[1], bus[2]);
	cr_assert_str_neq(bus[0], bus[2]);
}

Test(sim_devices, uuids_distinct_and_stable)
{
	CUresult (*v1)(CUuuid *, CUdevice) = NULL;
	CUdriverProcAddressQueryResult q;
	CUuuid a, b, c;

	sim_assert_ok(cuDeviceGetUuid(&a, 0));
	sim_assert_ok(cuDeviceGetUuid(&b, 1));
	cr_assert_neq(memcmp(a.bytes, b.bytes, sizeof(a.bytes)), 0);
	sim_assert_ok(cuDeviceGetUuid(&c, 1));
	cr_assert_eq(memcmp(b.bytes, c.bytes, sizeof(b.bytes)), 0);
	sim_assert_result(cuDeviceGetUuid(NULL, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuDeviceGetUuid(&a, 3), CUDA_ERROR_INVALID_DEVICE);
	/* The CUDA 9.2 form, as a client asking for that version gets it: the same answer. */
	sim_assert_ok(cuGetProcAddress("cuDeviceGetUuid", (void **)&v1, 9020,
				       CU_GET_PROC_ADDRESS_DEFAULT, &q));
	cr_assert_not_null(v1);
	cr_assert_neq((void *)v1, (void *)cuDeviceGetUuid);
	sim_assert_ok(v1(&c, 0));
	cr_assert_eq(memcmp(a.bytes, c.bytes, sizeof(a.bytes)), 0);
}

Test(sim_devices, primary_contexts_and_the_stack)
{
	CUcontext c0, c1, c2, got;
	CUdevice dev = -1;

	sim_assert_ok(cuDevicePrimaryCtxRetain(&c0, 0));
	sim_assert_ok(cuDevicePrimaryCtxRetain(&c1, 1));
	sim_assert_ok(cuDevicePrimaryCtxRetain(&c2, 2));
	cr_assert(c0 != c1 && c1 != c2 && c0 != c2);
	sim_assert_ok(cuDevicePrimaryCtxRetain(&got, 1));
	cr_assert_eq(got, c1, "one primary context a device");
	sim_assert_ok(cuDevicePrimaryCtxRelease(1));

	sim_assert_ok(cuCtxPushCurrent(c0));
	sim_assert_ok(cuCtxPushCurrent(c1));
	sim_assert_ok(cuCtxPushCurrent(c1));
	sim_assert_ok(cuCtxPushCurrent(c2));
	sim_assert_ok(cuCtxGetDevice(&dev));
	cr_assert_eq(dev, 2);
	sim_assert_ok(cuCtxPopCurrent(&got));
	cr_assert_eq(got, c2);
	sim_assert_ok(cuCtxGetDevice(&dev));
	cr_assert_eq(dev, 1);
	sim_assert_ok(cuCtxPopCurrent(&got));
	cr_assert_eq(got, c1);
	sim_assert_ok(cuCtxGetCurrent(&got));
	cr_assert_eq(got, c1, "c1 was pushed twice");
	/* Set replaces the top only. */
	sim_assert_ok(cuCtxSetCurrent(c2));
	sim_assert_ok(cuCtxGetDevice(&dev));
	cr_assert_eq(dev, 2);
	sim_assert_ok(cuCtxPopCurrent(&got));
	cr_assert_eq(got, c2);
	sim_assert_ok(cuCtxGetDevice(&dev));
	cr_assert_eq(dev, 0);
	sim_assert_ok(cuCtxGetDevice_v2(&dev, c1));
	cr_assert_eq(dev, 1, "the device of a context that is not current");
	sim_assert_ok(cuCtxPopCurrent(&got));
	cr_assert_eq(got, c0);
	sim_assert_result(cuCtxPopCurrent(&got), CUDA_ERROR_INVALID_CONTEXT);
}

/* Each device has its own capacity; cuMemGetInfo answers for the current context's. */
Test(sim_devices, capacity_is_per_device)
{
	CUdeviceptr a, b, c;
	size_t free_b, total;

	use_device(1);
	sim_assert_ok(cuMemGetInfo(&free_b, &total));
	cr_assert_eq(total, 8 * MIB);
	cr_assert_eq(free_b, 8 * MIB);
	sim_assert_ok(cuMemAlloc(&a, 8 * MIB));
	sim_assert_result(cuMemAlloc(&b, 1), CUDA_ERROR_OUT_OF_MEMORY);
	sim_assert_ok(cuMemGetInfo(&free_b, &total));
	cr_assert_eq(free_b, 0);
	/* Device 0 is untouched by device 1 being full. */
	use_device(0);
	sim_assert_ok(cuMemGetInfo(&free_b, &total));
	cr_assert_eq(total, 16 * MIB);
	cr_assert_eq(free_b, 16 * MIB);
	sim_assert_ok(cuMemAlloc(&b, 16 * MIB));
	sim_assert_result(cuMemAlloc(&c, 1), CUDA_ERROR_OUT_OF_MEMORY);
	/* A free from another device's context gives that device its memory back. */
	sim_assert_ok(cuMemFree(a));
	use_device(1);
	sim_assert_ok(cuMemGetInfo(&free_b, &total));
	cr_assert_eq(free_b, 8 * MIB);
	sim_assert_ok(cuMemFree(b));
}

/* cuMemCreate takes the capacity of the device its location names. */
Test(sim_devices, physical_memory_by_location)
{
	CUmemAllocationProp prop = sim_test_prop();
	CUmemGenericAllocationHandle h1, h2;
	size_t free_b, total;

	use_device(0);
	prop.location.id = 2;
	sim_assert_ok(cuMemCreate(&h2, 8 * MIB, &prop, 0));
	sim_assert_result(cuMemCreate(&h1, SIM_TEST_GRANULE, &prop, 0), CUDA_ERROR_OUT_OF_MEMORY);
	prop.location.id = 1;
	sim_assert_ok(cuMemCreate(&h1, SIM_TEST_GRANULE, &prop, 0));
	prop.location.id = 3;
	sim_assert_result(cuMemCreate(&h1, SIM_TEST_GRANULE, &prop, 0), CUDA_ERROR_INVALID_DEVICE);
	sim_assert_ok(cuMemGetInfo(&free_b, &total));
	cr_assert_eq(free_b, 16 * MIB, "device 0 holds none of it");
	use_device(2);
	sim_assert_ok(cuMemGetInfo(&free_b, &total));
	cr_assert_eq(free_b, 0);
	sim_assert_ok(cuMemRelease(h2));
	sim_assert_ok(cuMemGetInfo(&free_b, &total));
	cr_assert_eq(free_b, 8 * MIB);
	sim_assert_ok(cuMemRelease(h1));
}

/* Unified addressing: pointers of different devices never overlap and say whose they are. */
Test(sim_devices, one_address_space)
{
	CUdeviceptr p[3];
	CUcontext ctx[3], owner;
	unsigned char host[4096], back[4096];
	int ordinal;

	for (int d = 0; d < 3; d++) {
		ctx[d] = use_device(d);
		sim_assert_ok(cuMemAlloc(&p[d], 4 * MIB));
	}
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			cr_assert(p[i] + 4 * MIB <= p[j] || p[j] + 4 * MIB <= p[i]);
	use_device(0);
	for (int d = 0; d < 3; d++) {
		sim_assert_ok(cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
						    p[d]));
		cr_assert_eq(ordinal, d);
		sim_assert_ok(cuPointerGetAttribute(&owner, CU_POINTER_ATTRIBUTE_CONTEXT, p[d]));
		cr_assert_eq(owner, ctx[d]);
	}
	/* A copy between devices with unified addressing, from a third device's context. */
	for (size_t i = 0; i < sizeof(host); i++)
		host[i] = (unsigned char)(i * 7 + 3);
	sim_assert_ok(cuMemcpyHtoD(p[1], host, sizeof(host)));
	use_device(2);
	sim_assert_ok(cuMemcpyDtoD(p[0], p[1], sizeof(host)));
	sim_assert_ok(cuMemcpyDtoH(back, p[0], sizeof(back)));
	cr_assert_arr_eq(back, host, sizeof(host));
	for (int d = 0; d < 3; d++)
		sim_assert_ok(cuMemFree(p[d]));
}

/* No stream priorities: the range is [0, 0] and any priority is clamped to 0. */
Test(sim_devices, stream_priorities)
{
	CUresult (*create)(CUstream *, unsigned int, int) = NULL;
	CUdriverProcAddressQueryResult q;
	int least = 7, greatest = 7;
	CUstream s;

	sim_assert_result(cuCtxGetStreamPriorityRange(&least, &greatest),
			  CUDA_ERROR_INVALID_CONTEXT);
	use_device(1);
	cr_assert_eq(attribute(CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED, 1), 0);
	sim_assert_ok(cuCtxGetStreamPriorityRange(&least, &greatest));
	cr_assert_eq(least, 0);
	cr_assert_eq(greatest, 0);
	sim_assert_ok(cuCtxGetStreamPriorityRange(NULL, NULL));
	sim_assert_ok(cuGetProcAddress("cuStreamCreateWithPriority", (void **)&create, 12000,
				       CU_GET_PROC_ADDRESS_DEFAULT, &q));
	cr_assert_not_null(create);
	sim_assert_ok(create(&s, CU_STREAM_NON_BLOCKING, -5));
	sim_assert_ok(cuStreamSynchronize(s));
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_result(cuStreamCreateWithPriority(&s, 0x80, 0), CUDA_ERROR_INVALID_VALUE);
}

/* The count form: N devices of GPUPAGER_SIM_VRAM each. */
Test(sim_devices_spec, count_form)
{
	size_t total;
	int n = 0;

	setenv("GPUPAGER_SIM_DEVICES", "2", 1);
	setenv("GPUPAGER_SIM_VRAM", "6M", 1);
	sim_assert_ok(cuInit(0));
	sim_assert_ok(cuDeviceGetCount(&n));
	cr_assert_eq(n, 2);
	for (int d = 0; d < 2; d++) {
		sim_assert_ok(cuDeviceTotalMem(&total, d));
		cr_assert_eq(total, 6 * MIB);
		cr_assert_eq(attribute(CU_DEVICE_ATTRIBUTE_HOST_NUMA_ID, d), -1);
	}
}

Test(sim_devices_spec, default_is_one)
{
	int n = 0;

	unsetenv("GPUPAGER_SIM_DEVICES");
	sim_assert_ok(cuInit(0));
	sim_assert_ok(cuDeviceGetCount(&n));
	cr_assert_eq(n, 1);
}

Test(sim_devices_spec, bad_specs_fail_init)
{
	static const char *const bad[] = { "0", "9", "4G,", "4G@", "4G@x", "x", "4G,,2G", "0M" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pid_t pid = fork();
		int status;

		cr_assert_geq(pid, 0);
		if (!pid) {
			setenv("GPUPAGER_SIM_DEVICES", bad[i], 1);
			_exit(cuInit(0) == CUDA_ERROR_INVALID_VALUE ? 0 : 1);
		}
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s was accepted", bad[i]);
	}
}
