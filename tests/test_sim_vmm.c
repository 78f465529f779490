/* test_sim_vmm.c - simulated device: the virtual memory management rules. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sim_test.h"
#include "gpupager.h"

#define G SIM_TEST_GRANULE

TestSuite(sim_vmm, .init = sim_test_init);

Test(sim_vmm, granularity_and_properties)
{
	CUmemAllocationProp prop = sim_test_prop();
	size_t granularity = 0;

	sim_assert_ok(cuMemGetAllocationGranularity(&granularity, &prop,
						    CU_MEM_ALLOC_GRANULARITY_MINIMUM));
	cr_assert_eq(granularity, G);
	sim_assert_ok(cuMemGetAllocationGranularity(&granularity, &prop,
						    CU_MEM_ALLOC_GRANULARITY_RECOMMENDED));
	cr_assert_eq(granularity, G);
	prop.location.id = 1;
	sim_assert_result(cuMemGetAllocationGranularity(&granularity, &prop,
							CU_MEM_ALLOC_GRANULARITY_MINIMUM),
			  CUDA_ERROR_INVALID_DEVICE);
	prop = sim_test_prop();
	prop.type = CU_MEM_ALLOCATION_TYPE_INVALID;
	sim_assert_result(cuMemGetAllocationGranularity(&granularity, &prop,
							CU_MEM_ALLOC_GRANULARITY_MINIMUM),
			  CUDA_ERROR_INVALID_VALUE);
	prop = sim_test_prop();
	prop.requestedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
	sim_assert_result(cuMemGetAllocationGranularity(&granularity, &prop,
							CU_MEM_ALLOC_GRANULARITY_MINIMUM),
			  CUDA_ERROR_NOT_SUPPORTED);
}

Test(sim_vmm, sizes_must_be_granular)
{
	CUmemAllocationProp prop = sim_test_prop();
	CUmemGenericAllocationHandle handle;
	CUdeviceptr va;

	sim_assert_result(cuMemAddressReserve(&va, G + 4096, 0, 0, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAddressReserve(&va, 0, 0, 0, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAddressReserve(&va, G, 3 * G, 0, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemCreate(&handle, G / 2, &prop, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemCreate(&handle, G, &prop, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemCreate(&handle, G, NULL, 0), CUDA_ERROR_INVALID_VALUE);
}

Test(sim_vmm, reserve_honours_alignment_and_free_hint)
{
	CUdeviceptr a, b, c;

	sim_assert_ok(cuMemAddressReserve(&a, 4 * G, 16 * G, 0, 0));
	cr_assert_eq(a % (16 * G), 0);
	sim_assert_ok(cuMemAddressFree(a, 4 * G));
	/* The address just freed is free again: the hint is honoured. */
	sim_assert_ok(cuMemAddressReserve(&b, 4 * G, 0, a, 0));
	cr_assert_eq(b, a);
	/* A taken address is only a hint: another range comes back. */
	sim_assert_ok(cuMemAddressReserve(&c, 2 * G, 0, a, 0));
	cr_assert_neq(c, a);
	sim_assert_result(cuMemAddressFree(b, 2 * G), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAddressFree(b + G, 2 * G), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemAddressFree(b, 4 * G));
	sim_assert_ok(cuMemAddressFree(c, 2 * G));
}

Test(sim_vmm, map_rules)
{
	CUmemAllocationProp prop = sim_test_prop();
	CUmemGenericAllocationHandle h1, h2;
	CUdeviceptr va, other;

	sim_assert_ok(cuMemAddressReserve(&va, 4 * G, 0, 0, 0));
	sim_assert_ok(cuMemAddressReserve(&other, 4 * G, 0, 0, 0));
	sim_assert_ok(cuMemCreate(&h1, 2 * G, &prop, 0));
	sim_assert_ok(cuMemCreate(&h2, G, &prop, 0));
	sim_assert_result(cuMemMap(va, 2 * G, G, h1, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemMap(va, 2 * G, 0, h1, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemMap(va + 4096, G, 0, h1, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemMap(va, 4 * G, 0, h1, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemMap(va, G, 0, h1 + 12345, 0), CUDA_ERROR_INVALID_VALUE);
	/* Not reserved: past the end of a reservation. */
	sim_assert_result(cuMemMap(va + 3 * G, 2 * G, 0, h1, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemMap(va, 2 * G, 0, h1, 0));
	/* No mapping over a mapped range, even partly. */
	sim_assert_result(cuMemMap(va + G, G, 0, h2, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemMap(va + 2 * G, G, 0, h2, 0));
	/* One handle may be mapped at several addresses. */
	sim_assert_ok(cuMemMap(other, 2 * G, 0, h1, 0));
	/* Unmap must cover whole mappings. */
	sim_assert_result(cuMemUnmap(va, G), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemUnmap(va + G, 2 * G), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemUnmap(va, 4 * G), CUDA_ERROR_INVALID_VALUE);
	/* Freeing a range with mappings left is refused. */
	sim_assert_result(cuMemAddressFree(va, 4 * G), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemUnmap(va, 3 * G));
	sim_assert_result(cuMemUnmap(va, 2 * G), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemUnmap(other, 2 * G));
	sim_assert_ok(cuMemRelease(h1));
	sim_assert_ok(cuMemRelease(h2));
	sim_assert_result(cuMemRelease(h1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemAddressFree(va, 4 * G));
	sim_assert_ok(cuMemAddressFree(other, 4 * G));
}

Test(sim_vmm, set_access_rules)
{
	CUmemAccessDesc rw = sim_test_access(CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
	CUmemAccessDesc bad = sim_test_access((CUmemAccess_flags)2);
	CUmemAccessDesc other_device = rw;
	CUmemAllocationProp prop = sim_test_prop();
	CUmemGenericAllocationHandle handle;
	CUdeviceptr va;

	other_device.location.id = 1;
	sim_assert_ok(cuMemAddressReserve(&va, 2 * G, 0, 0, 0));
	sim_assert_ok(cuMemCreate(&handle, G, &prop, 0));
	sim_assert_result(cuMemSetAccess(va, G, &rw, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemMap(va, G, 0, handle, 0));
	sim_assert_result(cuMemSetAccess(va, 2 * G, &rw, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemSetAccess(va, G, &rw, 0), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemSetAccess(va, G, &bad, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemSetAccess(va, G, &other_device, 1), CUDA_ERROR_INVALID_DEVICE);
	sim_assert_ok(cuMemSetAccess(va, G, &rw, 1));
	memset((void *)(uintptr_t)va, 0x5a, G);
	cr_assert_eq(((unsigned char *)(uintptr_t)va)[G - 1], 0x5a);
	sim_assert_ok(cuMemUnmap(va, G));
	sim_assert_ok(cuMemRelease(handle));
	sim_assert_ok(cuMemAddressFree(va, 2 * G));
}

struct touch_args {
	bool set_access;
	bool unmap_after;
	CUmemAccess_flags flags;
	bool write;
};

/* In a child: map a chunk, maybe grant access, maybe unmap, then touch it. */
static void map_and_touch(void *arg)
{
	const struct touch_args *t = arg;
	CUmemAccessDesc desc = sim_test_access(t->flags);
	CUmemAllocationProp prop = sim_test_prop();
	CUmemGenericAllocationHandle handle;
	volatile unsigned char *p;
	CUdeviceptr va;

	if (cuInit(0) || cuMemAddressReserve(&va, G, 0, 0, 0) ||
	    cuMemCreate(&handle, G, &prop, 0) || cuMemMap(va, G, 0, handle, 0))
		_exit(2);
	if (t->set_access && cuMemSetAccess(va, G, &desc, 1))
		_exit(3);
	if (t->unmap_after && cuMemUnmap(va, G))
		_exit(4);
	p = (volatile unsigned char *)(uintptr_t)va;
	if (t->write)
		p[123] = 1;
	else
		(void)p[123];
}

Test(sim_vmm, access_before_set_access_crashes)
{
	struct touch_args t = { .write = false };

	sim_test_expect_signal(map_and_touch, &t, SIGSEGV);
}

Test(sim_vmm, access_after_unmap_crashes)
{
	struct touch_args t = { .set_access = true, .unmap_after = true,
				.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE, .write = true };

	sim_test_expect_signal(map_and_touch, &t, SIGSEGV);
}

Test(sim_vmm, write_to_read_only_crashes)
{
	struct touch_args t = { .set_access = true, .flags = CU_MEM_ACCESS_FLAGS_PROT_READ,
				.write = true };

	sim_test_expect_signal(map_and_touch, &t, SIGSEGV);
}

Test(sim_vmm, granted_access_does_not_crash)
{
	struct touch_args t = { .set_access = true, .flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE,
				.write = true };
	int status;
	pid_t pid = fork();

	/* The control for the crash tests above: the same steps with access exit cleanly. */
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		map_and_touch(&t);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

/* A pager's eviction: unmap a chunk, map the same physical memory elsewhere. */
Test(sim_vmm, data_survives_remap_at_another_address)
{
	unsigned char *pattern = malloc(2 * G), *back = malloc(2 * G);
	CUmemAccessDesc rw = sim_test_access(CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
	CUmemGenericAllocationHandle handle;
	CUdeviceptr range, a, b;

	cr_assert(pattern && back);
	for (size_t i = 0; i < 2 * G; i++)
		pattern[i] = (unsigned char)(i * 131 + 7);
	sim_assert_ok(cuMemAddressReserve(&range, 8 * G, 0, 0, 0));
	a = range + 2 * G;
	b = range + 6 * G;
	handle = sim_test_map_rw(a, 2 * G);
	sim_assert_ok(cuMemcpyHtoD(a, pattern, 2 * G));
	sim_assert_ok(cuMemUnmap(a, 2 * G));
	sim_assert_ok(cuMemMap(b, 2 * G, 0, handle, 0));
	sim_assert_ok(cuMemSetAccess(b, 2 * G, &rw, 1));
	sim_assert_ok(cuMemcpyDtoH(back, b, 2 * G));
	cr_assert_eq(gp_checksum(back, 2 * G), gp_checksum(pattern, 2 * G));
	/* Released while mapped: the memory stays until the last unmap. */
	sim_assert_ok(cuMemRelease(handle));
	cr_assert_eq(gp_checksum((void *)(uintptr_t)b, 2 * G), gp_checksum(pattern, 2 * G));
	sim_assert_ok(cuMemUnmap(b, 2 * G));
	sim_assert_ok(cuMemAddressFree(range, 8 * G));
	free(pattern);
	free(back);
}

Test(sim_vmm, memory_of_released_handles_is_reused)
{
	CUmemAllocationProp prop = sim_test_prop();
	CUmemGenericAllocationHandle handle;
	size_t free_before, free_mapped, free_after, total;
	CUdeviceptr va;

	sim_assert_ok(cuMemGetInfo(&free_before, &total));
	sim_assert_ok(cuMemAddressReserve(&va, 4 * G, 0, 0, 0));
	handle = sim_test_map_rw(va, 4 * G);
	sim_assert_ok(cuMemGetInfo(&free_mapped, &total));
	cr_assert_eq(free_before - free_mapped, 4 * G);
	sim_assert_ok(cuMemRelease(handle));
	sim_assert_ok(cuMemGetInfo(&free_after, &total));
	cr_assert_eq(free_after, free_mapped, "memory went while still mapped");
	sim_assert_ok(cuMemUnmap(va, 4 * G));
	sim_assert_ok(cuMemGetInfo(&free_after, &total));
	cr_assert_eq(free_after, free_before);
	/* A stale handle never reaches the memory now owned by a new one. */
	sim_assert_ok(cuMemCreate(&handle, 4 * G, &prop, 0));
	sim_assert_result(cuMemMap(va, 4 * G, 0, handle + (1ull << 32), 0),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemRelease(handle));
	sim_assert_ok(cuMemAddressFree(va, 4 * G));
}

/* Bytes of host RAM behind the simulator's VRAM file (found through /proc). */
static long long vram_file_bytes(void)
{
	char path[64], target[256];

	for (int fd = 0; fd < 1024; fd++) {
		struct stat st;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "memfd:gpupager-sim-vram") && fstat(fd, &st) == 0)
			return (long long)st.st_blocks * 512;
	}
	cr_assert_fail("no VRAM memfd among this process's files");
	return -1;
}

Test(sim_vmm, host_ram_follows_device_memory)
{
	CUmemGenericAllocationHandle handle;
	long long before, used, after;
	CUdeviceptr va;

	sim_assert_ok(cuMemAddressReserve(&va, 4 * G, 0, 0, 0));
	before = vram_file_bytes();
	handle = sim_test_map_rw(va, 4 * G);
	memset((void *)(uintptr_t)va, 1, 4 * G);
	used = vram_file_bytes();
	cr_assert_geq(used - before, 4 * G, "%lld bytes resident after writing 4 granules",
		      used - before);
	sim_assert_ok(cuMemUnmap(va, 4 * G));
	sim_assert_ok(cuMemRelease(handle));
	after = vram_file_bytes();
	cr_assert_leq(after, before, "%lld bytes still resident after release", after - before);
	sim_assert_ok(cuMemAddressFree(va, 4 * G));
}

Test(sim_vmm, vmm_calls_refuse_plain_allocations)
{
	CUmemAccessDesc none = sim_test_access(CU_MEM_ACCESS_FLAGS_PROT_NONE);
	CUdeviceptr p;

	sim_assert_ok(cuMemAlloc(&p, G));
	sim_assert_result(cuMemSetAccess(p, G, &none, 1), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemUnmap(p, G), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuMemAddressFree(p, G), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuMemsetD8(p, 1, G));
	sim_assert_ok(cuMemFree(p));
}
