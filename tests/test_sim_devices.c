/*
 * test_sim_devices.c - simulated device: several devices
 * (GPUPAGER_SIM_DEVICES), each with its own primary context, capacity,
 * NUMA node and PCI address, one unified address space; peer access
 * between their contexts (copies without it, kernels only with it); and
 * the entry points numba-cuda and cuda.core need (UUIDs, stream
 * priorities).
 */
#include <criterion/criterion.h>
#include <cudaTypedefs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The simulated kernels run on the host's cores: their L2 is the host's last-level cache. */
Test(sim_devices, l2_is_the_hosts_last_level_cache)
{
	long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
	long want = l3 > 0 ? l3 : l2 > 0 ? l2 : 50l << 20;

	for (int d = 0; d < 3; d++)
		cr_assert_eq(attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, d), (int)want, "device %d", d);
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

/* Any two devices are peers; a device is not its own. */
Test(sim_devices, peer_queries)
{
	int v = -1;

	sim_assert_ok(cuDeviceCanAccessPeer(&v, 0, 2));
	cr_assert_eq(v, 1);
	sim_assert_ok(cuDeviceCanAccessPeer(&v, 1, 1));
	cr_assert_eq(v, 0);
	sim_assert_result(cuDeviceCanAccessPeer(&v, 0, 3), CUDA_ERROR_INVALID_DEVICE);
	sim_assert_result(cuDeviceCanAccessPeer(NULL, 0, 1), CUDA_ERROR_INVALID_VALUE);

	sim_assert_ok(cuDeviceGetP2PAttribute(&v, CU_DEVICE_P2P_ATTRIBUTE_ACCESS_SUPPORTED, 0, 1));
	cr_assert_eq(v, 1);
	v = -1;
	sim_assert_ok(cuDeviceGetP2PAttribute(&v, CU_DEVICE_P2P_ATTRIBUTE_PERFORMANCE_RANK, 2, 0));
	cr_assert_eq(v, 0);
	sim_assert_ok(cuDeviceGetP2PAttribute(&v, CU_DEVICE_P2P_ATTRIBUTE_CUDA_ARRAY_ACCESS_SUPPORTED,
					      1, 2));
	cr_assert_eq(v, 0, "no CUDA arrays are simulated");
	sim_assert_result(cuDeviceGetP2PAttribute(&v, CU_DEVICE_P2P_ATTRIBUTE_ACCESS_SUPPORTED, 1, 1),
			  CUDA_ERROR_INVALID_DEVICE);
	sim_assert_result(cuDeviceGetP2PAttribute(&v, CU_DEVICE_P2P_ATTRIBUTE_ACCESS_SUPPORTED, 0, 3),
			  CUDA_ERROR_INVALID_DEVICE);
	sim_assert_result(cuDeviceGetP2PAttribute(&v, (CUdevice_P2PAttribute)99, 0, 1),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuDeviceGetP2PAttribute(NULL, CU_DEVICE_P2P_ATTRIBUTE_ACCESS_SUPPORTED, 0,
						  1), CUDA_ERROR_INVALID_VALUE);
}

/* Enabled one way, from the current context, once; the documented errors otherwise. */
Test(sim_devices, enable_and_disable_peer_access)
{
	CUcontext c0, c1, c2;

	sim_assert_ok(cuDevicePrimaryCtxRetain(&c1, 1));
	sim_assert_result(cuCtxEnablePeerAccess(c1, 0), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuCtxDisablePeerAccess(c1), CUDA_ERROR_INVALID_CONTEXT);
	c0 = use_device(0);
	sim_assert_result(cuCtxEnablePeerAccess(c0, 0), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuCtxEnablePeerAccess(NULL, 0), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuCtxEnablePeerAccess((CUcontext)&c1, 0), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuCtxEnablePeerAccess(c1, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuCtxDisablePeerAccess(c1), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);
	sim_assert_ok(cuCtxEnablePeerAccess(c1, 0));
	sim_assert_result(cuCtxEnablePeerAccess(c1, 0), CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED);
	/* One way: device 1's context has none to device 0. */
	sim_assert_ok(cuCtxSetCurrent(c1));
	sim_assert_result(cuCtxDisablePeerAccess(c0), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);
	sim_assert_ok(cuCtxSetCurrent(c0));
	sim_assert_ok(cuCtxDisablePeerAccess(c1));
	sim_assert_result(cuCtxDisablePeerAccess(c1), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);
	/* A context nobody retains is no peer; a released one takes its peer access along. */
	sim_assert_ok(cuDevicePrimaryCtxRetain(&c2, 2));
	sim_assert_ok(cuDevicePrimaryCtxRelease(2));
	sim_assert_result(cuCtxEnablePeerAccess(c2, 0), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_ok(cuCtxEnablePeerAccess(c1, 0));
	sim_assert_ok(cuDevicePrimaryCtxRelease(1));
	sim_assert_ok(cuDevicePrimaryCtxRetain(&c1, 1));
	sim_assert_ok(cuCtxEnablePeerAccess(c1, 0));
}

static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31 + seed);
}

/* Peer copies, and unified-addressing ones, need no peer access, from any context. */
Test(sim_devices, copies_between_devices_without_peer_access)
{
	static unsigned char host[3 * MIB], back[3 * MIB];
	PFN_cuMemcpyPeer_v7000_ptds peer_pt = NULL;
	PFN_cuMemcpyPeerAsync_v7000_ptsz peer_async_pt = NULL;
	CUdeviceptr p0, p1;
	CUcontext c0, c1;
	CUstream s;

	c0 = use_device(0);
	sim_assert_ok(cuMemAlloc(&p0, sizeof(host)));
	c1 = use_device(1);
	sim_assert_ok(cuMemAlloc(&p1, sizeof(host)));
	use_device(2);
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));

	fill_pattern(host, sizeof(host), 1);
	sim_assert_ok(cuMemcpyHtoD(p1, host, sizeof(host)));
	sim_assert_ok(cuMemcpyPeer(p0, c0, p1, c1, sizeof(host)));
	sim_assert_ok(cuMemcpyDtoH(back, p0, sizeof(back)));
	cr_assert_arr_eq(back, host, sizeof(host), "cuMemcpyPeer 1 -> 0");

	fill_pattern(host, sizeof(host), 2);
	sim_assert_ok(cuMemcpyHtoD(p0, host, sizeof(host)));
	sim_assert_ok(cuMemcpyPeerAsync(p1, c1, p0, c0, sizeof(host), s));
	sim_assert_ok(cuStreamSynchronize(s));
	sim_assert_ok(cuMemcpyDtoH(back, p1, sizeof(back)));
	cr_assert_arr_eq(back, host, sizeof(host), "cuMemcpyPeerAsync 0 -> 1");

	/* The per-thread forms are functions of their own, and copy the same way. */
	sim_assert_ok(cuGetProcAddress("cuMemcpyPeer", (void **)&peer_pt, 7000,
				       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, NULL));
	sim_assert_ok(cuGetProcAddress("cuMemcpyPeerAsync", (void **)&peer_async_pt, 7000,
				       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, NULL));
	cr_assert(peer_pt && (void *)peer_pt != (void *)cuMemcpyPeer);
	cr_assert(peer_async_pt && (void *)peer_async_pt != (void *)cuMemcpyPeerAsync);
	fill_pattern(host, sizeof(host), 3);
	sim_assert_ok(cuMemcpyHtoD(p1, host, sizeof(host)));
	sim_assert_ok(peer_pt(p0, c0, p1, c1, sizeof(host)));
	sim_assert_ok(cuMemcpyDtoH(back, p0, sizeof(back)));
	cr_assert_arr_eq(back, host, sizeof(host), "cuMemcpyPeer_ptds");
	fill_pattern(host, sizeof(host), 4);
	sim_assert_ok(cuMemcpyHtoD(p0, host, sizeof(host)));
	sim_assert_ok(peer_async_pt(p1, c1, p0, c0, sizeof(host), NULL));
	sim_assert_ok(cuCtxSynchronize());
	sim_assert_ok(cuMemcpyDtoH(back, p1, sizeof(back)));
	cr_assert_arr_eq(back, host, sizeof(host), "cuMemcpyPeerAsync_ptsz");

	/* cuMemcpy between devices: unified addressing, no peer access either. */
	fill_pattern(host, sizeof(host), 5);
	sim_assert_ok(cuMemcpyHtoD(p1, host, sizeof(host)));
	sim_assert_ok(cuMemcpy(p0, p1, sizeof(host)));
	sim_assert_ok(cuMemcpyDtoH(back, p0, sizeof(back)));
	cr_assert_arr_eq(back, host, sizeof(host), "cuMemcpy 1 -> 0");

	/* Both contexts must be live ones; both sides device memory. */
	sim_assert_result(cuMemcpyPeer(p0, NULL, p1, c1, 16), CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuMemcpyPeer(p0, c0, p1, (CUcontext)&c1, 16),
			  CUDA_ERROR_INVALID_CONTEXT);
	sim_assert_result(cuMemcpyPeer((CUdeviceptr)(uintptr_t)back, c0, p1, c1, 16),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemcpyPeerAsync(p0, c0, (CUdeviceptr)(uintptr_t)host, c1, 16, s),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemcpyPeer(p0, c0, p1, c1, 0));
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(p0));
	sim_assert_ok(cuMemFree(p1));
}

/* fill_u32 on the current device, writing count words of value at dst. */
static void launch_fill(CUmodule module, CUdeviceptr dst, uint32_t value, uint64_t count)
{
	CUfunction fill;
	void *params[] = { &dst, &value, &count };

	sim_assert_ok(cuModuleGetFunction(&fill, module, "fill_u32"));
	sim_assert_ok(cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 0, NULL, params, NULL));
}

/* A kernel may use another device's memory only while peer access to it is enabled. */
Test(sim_devices, kernel_reaches_a_peer_only_with_access)
{
	uint32_t words[1024];
	CUdeviceptr p1;
	CUcontext c1;
	CUmodule module;

	c1 = use_device(1);
	sim_assert_ok(cuMemAlloc(&p1, sizeof(words)));
	use_device(0);
	sim_assert_ok(cuModuleLoad(&module, SIM_TEST_KERNELS));
	sim_assert_ok(cuCtxEnablePeerAccess(c1, 0));
	launch_fill(module, p1, 0xfeedf00du, 1024);
	sim_assert_ok(cuCtxSynchronize());
	sim_assert_ok(cuMemcpyDtoH(words, p1, sizeof(words)));
	for (size_t i = 0; i < 1024; i++)
		cr_assert_eq(words[i], 0xfeedf00du, "word %zu", i);
	/* Without it the GPU faults: an illegal address that sticks. */
	sim_assert_ok(cuCtxDisablePeerAccess(c1));
	launch_fill(module, p1 + 64, 7, 1);
	sim_assert_result(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
}

/*
 * VMM memory: peer access does not reach it, cuMemSetAccess does, one
 * device at a time (device 0's grant keeps device 1's).
 */
Test(sim_devices, vmm_memory_is_reached_by_the_devices_set_access_names)
{
	CUmemAllocationProp prop = sim_test_prop();
	CUmemAccessDesc access = { .location = { .type = CU_MEM_LOCATION_TYPE_DEVICE, .id = 1 },
				   .flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE };
	CUmemGenericAllocationHandle h;
	uint32_t words[16];
	CUdeviceptr va;
	CUcontext c1;
	CUmodule m0, m1;

	c1 = use_device(1);
	sim_assert_ok(cuModuleLoad(&m1, SIM_TEST_KERNELS));
	prop.location.id = 1;
	sim_assert_ok(cuMemAddressReserve(&va, SIM_TEST_GRANULE, 0, 0, 0));
	sim_assert_ok(cuMemCreate(&h, SIM_TEST_GRANULE, &prop, 0));
	sim_assert_ok(cuMemMap(va, SIM_TEST_GRANULE, 0, h, 0));
	sim_assert_ok(cuMemSetAccess(va, SIM_TEST_GRANULE, &access, 1));
	launch_fill(m1, va, 5, 16);
	sim_assert_ok(cuCtxSynchronize());
	use_device(0);
	sim_assert_ok(cuModuleLoad(&m0, SIM_TEST_KERNELS));
	access.location.id = 0;
	sim_assert_ok(cuMemSetAccess(va, SIM_TEST_GRANULE, &access, 1));
	launch_fill(m0, va + 64, 9, 16);
	sim_assert_ok(cuCtxSynchronize());
	sim_assert_ok(cuMemcpyDtoH(words, va + 64, sizeof(words)));
	for (size_t i = 0; i < 16; i++)
		cr_assert_eq(words[i], 9, "word %zu", i);
	sim_assert_ok(cuCtxSetCurrent(c1));
	launch_fill(m1, va, 6, 1);
	sim_assert_ok(cuCtxSynchronize());
	/* Device 0 without access: peer access to device 1 does not help. */
	use_device(0);
	access.flags = CU_MEM_ACCESS_FLAGS_PROT_NONE;
	sim_assert_ok(cuMemSetAccess(va, SIM_TEST_GRANULE, &access, 1));
	sim_assert_ok(cuCtxEnablePeerAccess(c1, 0));
	launch_fill(m0, va, 7, 1);
	sim_assert_result(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
}

/* Device 1's own kernels use its memory, and device 0's peer access does not go both ways. */
Test(sim_devices, peer_access_is_one_way)
{
	CUdeviceptr p0;
	CUcontext c1;
	CUmodule module;

	c1 = use_device(1);
	use_device(0);
	sim_assert_ok(cuMemAlloc(&p0, 4096));
	sim_assert_ok(cuCtxEnablePeerAccess(c1, 0));
	sim_assert_ok(cuCtxSetCurrent(c1));
	sim_assert_ok(cuModuleLoad(&module, SIM_TEST_KERNELS));
	launch_fill(module, p0, 1, 1);
	sim_assert_result(cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
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
