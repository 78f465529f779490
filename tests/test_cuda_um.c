/* test_cuda_um.c - the um backend: managed range, prefetch/advise "mapping", copies, checksum. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_env.h"

#define CHUNK (2ull << 20)

TestSuite(um, .init = gp_test_cuda_env);

Test(um, round_trip_through_a_managed_range)
{
	struct gp_test_device t;
	struct gp_dev_range *range;
	struct gp_dev_chunk *data, *scratch;
	unsigned char *src, *dst;
	CUevent last_use;
	uint64_t sum;

	gp_test_device_open(&t, GP_BACKEND_UM, CHUNK);
	cr_expect_str_eq(gp_devmem_name(t.dm), "um");
	cr_expect_eq(gp_devmem_chunk_size(t.dm), CHUNK);
	src = gp_test_host_alloc(t.gpu, CHUNK);
	dst = gp_test_host_alloc(t.gpu, CHUNK);
	gp_pattern_fill(src, CHUNK, 77);
	cr_assert_eq(gp_devmem_reserve(t.dm, 3 * CHUNK, &range), 0, "%s", gp_last_error());
	cr_assert_eq(gp_devmem_chunk_create(t.dm, &data), 0, "%s", gp_last_error());
	cr_assert_eq(gp_devmem_chunk_create(t.dm, &scratch), 0, "%s", gp_last_error());
	cr_expect_eq(gp_devmem_chunk_count(t.dm), 2);
	cr_assert_eq(gp_devmem_map(t.dm, range, CHUNK, data, t.stream), 0, "%s", gp_last_error());
	cr_assert_eq(gp_devmem_map(t.dm, range, 2 * CHUNK, scratch, t.stream), 0, "%s",
		     gp_last_error());

	/* Copies queued after the prefetch on the same stream land on the device. */
	cr_assert_eq(gp_copy_h2d(t.gpu, range->base + CHUNK, src, CHUNK, t.stream), 0, "%s",
		     gp_last_error());
	sum = gp_test_device_checksum(&t, range->base + CHUNK, CHUNK, 0,
				      range->base + 2 * CHUNK);
	cr_expect_eq(sum, gp_checksum(src, CHUNK), "device checksum differs from the host's");
	cr_assert_eq(gp_copy_d2h(t.gpu, dst, range->base + CHUNK, CHUNK, t.stream), 0, "%s",
		     gp_last_error());
	cr_assert_eq(gp_stream_sync(t.gpu, t.stream), 0, "%s", gp_last_error());
	cr_assert_eq(memcmp(src, dst, CHUNK), 0, "data changed on the round trip");

	/* Unmapping prefetches to the host; managed memory keeps the bytes. */
	cr_assert_eq(gp_event_create(t.gpu, &last_use), 0, "%s", gp_last_error());
	cr_assert_eq(gp_event_record(t.gpu, last_use, t.stream), 0, "%s", gp_last_error());
	cr_assert_eq(gp_devmem_unmap(t.dm, range, CHUNK, last_use, t.stream), 0, "%s",
		     gp_last_error());
	cr_expect_null(data->range);
	memset(dst, 0, CHUNK);
	cr_assert_eq(gp_copy_d2h(t.gpu, dst, range->base + CHUNK, CHUNK, t.stream), 0, "%s",
		     gp_last_error());
	cr_assert_eq(gp_stream_sync(t.gpu, t.stream), 0, "%s", gp_last_error());
	cr_expect_eq(gp_checksum(dst, CHUNK), gp_checksum(src, CHUNK));

	gp_event_destroy(t.gpu, last_use);
	gp_devmem_free_range(t.dm, range);
	cr_assert_eq(gp_devmem_chunk_release(t.dm, data), 0, "%s", gp_last_error());
	cr_assert_eq(gp_devmem_chunk_release(t.dm, scratch), 0, "%s", gp_last_error());
	gp_test_host_free(t.gpu, src);
	gp_test_host_free(t.gpu, dst);
	gp_test_device_close(&t);
}

Test(um, same_mapping_rules_as_vmm)
{
	struct gp_test_device t;
	struct gp_dev_range *range;
	struct gp_dev_chunk *a, *b;

	gp_test_device_open(&t, GP_BACKEND_UM, CHUNK);
	cr_assert_eq(gp_devmem_reserve(t.dm, CHUNK + 1, &range), 0, "%s", gp_last_error());
	cr_expect_eq(range->size, 2 * CHUNK);
	cr_assert_eq(gp_devmem_chunk_create(t.dm, &a), 0, "%s", gp_last_error());
	cr_assert_eq(gp_devmem_chunk_create(t.dm, &b), 0, "%s", gp_last_error());
	cr_expect_eq(gp_devmem_map(t.dm, range, 512, a, t.stream), GP_EINVAL);
	cr_assert_eq(gp_devmem_map(t.dm, range, 0, a, t.stream), 0, "%s", gp_last_error());
	cr_expect_eq(gp_devmem_map(t.dm, range, 0, b, t.stream), GP_EBUSY);
	cr_expect_eq(gp_devmem_map(t.dm, range, CHUNK, a, t.stream), GP_EBUSY);
	cr_expect_eq(gp_devmem_chunk_release(t.dm, a), GP_EBUSY);
	cr_expect_eq(gp_devmem_unmap(t.dm, range, CHUNK, NULL, t.stream), GP_ESTATE);
	gp_devmem_free_range(t.dm, range);
	cr_assert_eq(gp_devmem_chunk_release(t.dm, a), 0, "%s", gp_last_error());
	cr_assert_eq(gp_devmem_chunk_release(t.dm, b), 0, "%s", gp_last_error());
	gp_test_device_close(&t);
}

Test(um, chunk_size_must_be_whole_pages)
{
	struct gp_gpu *gpu = gp_test_gpu_open();
	struct gp_devmem *dm = NULL;

	cr_expect_eq(gp_devmem_open(gpu, GP_BACKEND_UM, 65536 + 512, &dm), GP_EINVAL);
	cr_expect_null(dm);
	cr_expect(strstr(gp_last_error(), "chunk size 66048 is not a multiple of the"), "%s",
		  gp_last_error());
	cr_expect_eq(gp_devmem_open(gpu, GP_BACKEND_UM, 0, &dm), GP_EINVAL);
	gp_gpu_close(gpu);
}

Test(um, failed_prefetch_names_the_driver_error)
{
	struct gp_test_device t;
	struct gp_dev_range *range;
	struct gp_dev_chunk *chunk;

	gp_test_require_simulator();
	setenv("GPUPAGER_SIM_FAIL", "cuMemPrefetchAsync:1=CUDA_ERROR_INVALID_DEVICE", 1);
	gp_test_device_open(&t, GP_BACKEND_UM, CHUNK);
	cr_assert_eq(gp_devmem_reserve(t.dm, CHUNK, &range), 0, "%s", gp_last_error());
	cr_assert_eq(gp_devmem_chunk_create(t.dm, &chunk), 0, "%s", gp_last_error());
	cr_expect_eq(gp_devmem_map(t.dm, range, 0, chunk, t.stream), GP_ECUDA);
	gp_test_expect_error("cuMemPrefetchAsync: CUDA_ERROR_INVALID_DEVICE (");
	cr_expect(strstr(gp_last_error(), "to device"), "%s", gp_last_error());
	cr_expect_null(range->slots[0]);
	cr_assert_eq(gp_devmem_map(t.dm, range, 0, chunk, t.stream), 0, "%s", gp_last_error());
	gp_devmem_free_range(t.dm, range);
	cr_assert_eq(gp_devmem_chunk_release(t.dm, chunk), 0, "%s", gp_last_error());
	gp_test_device_close(&t);
}
