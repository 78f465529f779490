/* test_cuda_vmm.c - the vmm backend: reserve, create, map, copy, checksum, remap, unmap, OOM. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_env.h"

#define CHUNK (2ull << 20)

TestSuite(vmm, .init = gp_test_cuda_env);

static struct gp_dev_range *reserve(struct gp_test_device *t, uint64_t size)
{
	struct gp_dev_range *range = NULL;

	cr_assert_eq(gp_devmem_reserve(t->dm, size, &range), 0, "%s", gp_last_error());
	return range;
}

static struct gp_dev_chunk *create_chunk(struct gp_test_device *t)
{
	struct gp_dev_chunk *chunk = NULL;

	cr_assert_eq(gp_devmem_chunk_create(t->dm, &chunk), 0, "%s", gp_last_error());
	return chunk;
}

static void map(struct gp_test_device *t, struct gp_dev_range *range, uint64_t offset,
		struct gp_dev_chunk *chunk)
{
	cr_assert_eq(gp_devmem_map(t->dm, range, offset, chunk, t->stream), 0, "%s",
		     gp_last_error());
}

static void release(struct gp_test_device *t, struct gp_dev_chunk *chunk)
{
	cr_assert_eq(gp_devmem_chunk_release(t->dm, chunk), 0, "%s", gp_last_error());
}

static void copy_in(struct gp_test_device *t, CUdeviceptr dst, const void *src, size_t len)
{
	cr_assert_eq(gp_copy_h2d(t->gpu, dst, src, len, t->stream), 0, "%s", gp_last_error());
}

static void copy_out(struct gp_test_device *t, void *dst, CUdeviceptr src, size_t len)
{
	cr_assert_eq(gp_copy_d2h(t->gpu, dst, src, len, t->stream), 0, "%s", gp_last_error());
	cr_assert_eq(gp_stream_sync(t->gpu, t->stream), 0, "%s", gp_last_error());
}

Test(vmm, round_trip_through_a_chunk_and_remap_elsewhere)
{
	struct gp_test_device t;
	struct gp_dev_range *range;
	struct gp_dev_chunk *data, *scratch;
	unsigned char *src, *dst;
	CUevent last_use;
	uint64_t sum;

	gp_test_device_open(&t, GP_BACKEND_VMM, CHUNK);
	src = gp_test_host_alloc(t.gpu, CHUNK);
	dst = gp_test_host_alloc(t.gpu, CHUNK);
	gp_pattern_fill(src, CHUNK, 0x1234);
	range = reserve(&t, 4 * CHUNK);
	cr_expect_eq(range->size, 4 * CHUNK);
	data = create_chunk(&t);
	scratch = create_chunk(&t);
	map(&t, range, 0, data);
	map(&t, range, 3 * CHUNK, scratch);

	copy_in(&t, range->base, src, CHUNK);
	sum = gp_test_device_checksum(&t, range->base, CHUNK, 0, range->base + 3 * CHUNK);
	cr_expect_eq(sum, gp_checksum(src, CHUNK), "device checksum differs from the host's");
	/* A piece, checksummed where it sits in the range. */
	sum = gp_test_device_checksum(&t, range->base + 4096, 1003, 4096,
				      range->base + 3 * CHUNK);
	cr_expect_eq(sum, gp_checksum_at(src + 4096, 1003, 4096));
	copy_out(&t, dst, range->base, CHUNK);
	cr_assert_eq(memcmp(src, dst, CHUNK), 0, "data changed on the round trip");

	/* Evict: wait for the last use, unmap; the slot is gone, the chunk keeps its bytes. */
	cr_assert_eq(gp_event_create(t.gpu, &last_use), 0, "%s", gp_last_error());
	cr_assert_eq(gp_event_record(t.gpu, last_use, t.stream), 0, "%s", gp_last_error());
	cr_assert_eq(gp_devmem_unmap(t.dm, range, 0, last_use, t.stream), 0, "%s",
		     gp_last_error());
	cr_expect_null(data->range);
	cr_expect_null(range->slots[0]);
	cr_expect_eq(gp_copy_d2h(t.gpu, dst, range->base, 4096, t.stream), GP_ECUDA,
		     "an unmapped slot was readable");
	gp_test_expect_error("cuMemcpyDtoHAsync: CUDA_ERROR_");

	map(&t, range, 2 * CHUNK, data);
	cr_expect_eq(data->offset, 2 * CHUNK);
	memset(dst, 0, CHUNK);
	copy_out(&t, dst, range->base + 2 * CHUNK, CHUNK);
	cr_expect_eq(gp_checksum(dst, CHUNK), gp_checksum(src, CHUNK),
		     "remapped chunk lost its data");

	gp_event_destroy(t.gpu, last_use);
	gp_devmem_free_range(t.dm, range);
	cr_expect_null(data->range, "freeing the range left the chunk mapped");
	release(&t, data);
	release(&t, scratch);
	gp_test_host_free(t.gpu, src);
	gp_test_host_free(t.gpu, dst);
	gp_test_device_close(&t);
}

Test(vmm, chunk_size_and_ranges_round_up)
{
	struct gp_test_device t;
	struct gp_dev_range *range;

	gp_test_device_open(&t, GP_BACKEND_VMM, 64 << 10);
	cr_expect_eq(gp_devmem_chunk_size(t.dm), t.gpu->granularity,
		     "64K chunks should round up to the granularity");
	cr_expect_str_eq(gp_devmem_name(t.dm), "vmm");
	range = reserve(&t, t.gpu->granularity + 1);
	cr_expect_eq(range->size, 2 * t.gpu->granularity);
	cr_expect_eq(range->n_slots, 2);
	cr_expect_eq(range->base % t.gpu->granularity, 0);
	gp_devmem_free_range(t.dm, range);
	gp_test_device_close(&t);
}

Test(vmm, bad_backend_or_chunk_size_is_refused)
{
	struct gp_gpu *gpu = gp_test_gpu_open();
	struct gp_devmem *dm = NULL;

	cr_expect_eq(gp_devmem_open(gpu, (enum gp_backend_kind)7, CHUNK, &dm), GP_EINVAL);
	cr_expect_null(dm);
	gp_test_expect_error("unknown device memory backend 7");
	cr_expect_eq(gp_devmem_open(gpu, GP_BACKEND_VMM, UINT64_MAX, &dm), GP_ERANGE);
	gp_test_expect_error("vmm backend: chunk size 18446744073709551615 is too large");
	gp_gpu_close(gpu);
}

Test(vmm, mapping_rules_are_enforced)
{
	struct gp_test_device t;
	struct gp_dev_range *range, *none = NULL;
	struct gp_dev_chunk *a, *b;

	gp_test_device_open(&t, GP_BACKEND_VMM, CHUNK);
	cr_expect_eq(gp_devmem_reserve(t.dm, 0, &none), GP_EINVAL);
	cr_expect_null(none);
	range = reserve(&t, 2 * CHUNK);
	a = create_chunk(&t);
	b = create_chunk(&t);

	cr_expect_eq(gp_devmem_map(t.dm, range, 4096, a, t.stream), GP_EINVAL);
	cr_expect(strstr(gp_last_error(), "multiples of the chunk size"), "%s", gp_last_error());
	cr_expect_eq(gp_devmem_map(t.dm, range, 2 * CHUNK, a, t.stream), GP_EINVAL);
	cr_expect_eq(gp_devmem_unmap(t.dm, range, 0, NULL, t.stream), GP_ESTATE);
	cr_expect(strstr(gp_last_error(), "nothing is mapped at offset 0"), "%s",
		  gp_last_error());

	map(&t, range, 0, a);
	cr_expect_eq(gp_devmem_map(t.dm, range, 0, b, t.stream), GP_EBUSY);
	cr_expect(strstr(gp_last_error(), "already has a chunk"), "%s", gp_last_error());
	cr_expect_eq(gp_devmem_map(t.dm, range, CHUNK, a, t.stream), GP_EBUSY);
	cr_expect(strstr(gp_last_error(), "chunk is already mapped at offset 0"), "%s",
		  gp_last_error());
	cr_expect_eq(gp_devmem_chunk_release(t.dm, a), GP_EBUSY);
	cr_expect(strstr(gp_last_error(), "unmap it before releasing it"), "%s",
		  gp_last_error());
	cr_expect_eq(gp_devmem_unmap(t.dm, range, CHUNK + 8, NULL, t.stream), GP_EINVAL);

	cr_assert_eq(gp_devmem_unmap(t.dm, range, 0, NULL, t.stream), 0, "%s", gp_last_error());
	map(&t, range, CHUNK, a);
	map(&t, range, 0, b);
	gp_devmem_free_range(t.dm, range);
	release(&t, a);
	release(&t, b);
	gp_test_device_close(&t);
}

Test(vmm, creating_past_device_memory_is_edevmem)
{
	struct gp_test_device t;
	struct gp_dev_chunk *chunks[4], *extra = NULL;

	gp_test_require_simulator();
	setenv("GPUPAGER_SIM_VRAM", "8M", 1);
	gp_test_device_open(&t, GP_BACKEND_VMM, CHUNK);
	for (int i = 0; i < 4; i++)
		chunks[i] = create_chunk(&t);
	cr_assert_eq(gp_devmem_chunk_create(t.dm, &extra), GP_EDEVMEM);
	cr_expect_null(extra);
	gp_test_expect_error("creating chunk 5 of 2097152 bytes: cuMemCreate: "
				       "CUDA_ERROR_OUT_OF_MEMORY (");
	cr_expect_eq(gp_devmem_chunk_count(t.dm), 4);
	/* Released memory is usable again. */
	release(&t, chunks[3]);
	chunks[3] = create_chunk(&t);
	for (int i = 0; i < 4; i++)
		release(&t, chunks[i]);
	gp_test_device_close(&t);
}

Test(vmm, failed_set_access_leaves_the_slot_unmapped)
{
	struct gp_test_device t;
	struct gp_dev_range *range;
	struct gp_dev_chunk *chunk;

	gp_test_require_simulator();
	setenv("GPUPAGER_SIM_FAIL", "cuMemSetAccess:1=CUDA_ERROR_INVALID_VALUE", 1);
	gp_test_device_open(&t, GP_BACKEND_VMM, CHUNK);
	range = reserve(&t, CHUNK);
	chunk = create_chunk(&t);
	cr_expect_eq(gp_devmem_map(t.dm, range, 0, chunk, t.stream), GP_ECUDA);
	gp_test_expect_error("cuMemSetAccess: CUDA_ERROR_INVALID_VALUE (");
	cr_expect(strstr(gp_last_error(), "at offset 0 of the range"), "%s", gp_last_error());
	cr_expect_null(range->slots[0]);
	cr_expect_null(chunk->range);
	/* The cuMemMap was undone, so mapping again works. */
	map(&t, range, 0, chunk);
	gp_devmem_free_range(t.dm, range);
	release(&t, chunk);
	gp_test_device_close(&t);
}

Test(vmm, injected_map_failure_names_the_driver_error)
{
	struct gp_test_device t;
	struct gp_dev_range *range;
	struct gp_dev_chunk *chunk;

	gp_test_require_simulator();
	setenv("GPUPAGER_SIM_FAIL", "cuMemMap:1", 1);
	gp_test_device_open(&t, GP_BACKEND_VMM, CHUNK);
	range = reserve(&t, CHUNK);
	chunk = create_chunk(&t);
	cr_expect_eq(gp_devmem_map(t.dm, range, 0, chunk, t.stream), GP_ECUDA);
	gp_test_expect_error("cuMemMap: CUDA_ERROR_UNKNOWN (");
	cr_expect_null(chunk->range);
	gp_devmem_free_range(t.dm, range);
	release(&t, chunk);
	gp_test_device_close(&t);
}
