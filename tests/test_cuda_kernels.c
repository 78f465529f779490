/* test_cuda_kernels.c - the checksum and fill kernels against their host references. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_env.h"

#define CHUNK (2ull << 20)

/* A device with one mapped chunk: data in the first half, the result word at the end. */
struct kernel_fixture {
	struct gp_test_device t;
	struct gp_dev_range *range;
	struct gp_dev_chunk *chunk;
	CUdeviceptr scratch;
	unsigned char *host;
};

static void fixture_open(struct kernel_fixture *f)
{
	gp_test_device_open(&f->t, GP_BACKEND_VMM, CHUNK);
	cr_assert_eq(gp_devmem_reserve(f->t.dm, CHUNK, &f->range), 0, "%s", gp_last_error());
	cr_assert_eq(gp_devmem_chunk_create(f->t.dm, &f->chunk), 0, "%s", gp_last_error());
	cr_assert_eq(gp_devmem_map(f->t.dm, f->range, 0, f->chunk, f->t.stream), 0, "%s",
		     gp_last_error());
	f->scratch = f->range->base + CHUNK - 8;
	f->host = gp_test_host_alloc(f->t.gpu, CHUNK);
}

static void fixture_close(struct kernel_fixture *f)
{
	gp_test_host_free(f->t.gpu, f->host);
	gp_devmem_free_range(f->t.dm, f->range);
	cr_assert_eq(gp_devmem_chunk_release(f->t.dm, f->chunk), 0, "%s", gp_last_error());
	gp_test_device_close(&f->t);
}

/* The kernel's checksum of len bytes at shift in the chunk, as if at offset, equals the host's. */
static void expect_checksum(struct kernel_fixture *f, uint64_t shift, uint64_t len,
			    uint64_t offset)
{
	uint64_t want = gp_checksum_at(f->host + shift, len, offset);
	uint64_t got = gp_test_device_checksum(&f->t, f->range->base + shift, len, offset,
					       f->scratch);

	cr_expect_eq(got, want, "len %llu offset %llu shift %llu", (unsigned long long)len,
		     (unsigned long long)offset, (unsigned long long)shift);
}

TestSuite(kernels, .init = gp_test_cuda_env);

Test(kernels, host_pattern_is_mix64_of_seed_plus_word_index)
{
	unsigned char buf[21];
	uint64_t w;

	memset(buf, 0xee, sizeof(buf));
	gp_pattern_fill(buf, 19, 1000);
	memcpy(&w, buf, 8);
	cr_expect_eq(w, gp_mix64(1000));
	memcpy(&w, buf + 8, 8);
	cr_expect_eq(w, gp_mix64(1001));
	w = gp_mix64(1002);
	cr_expect_eq(memcmp(buf + 16, &w, 3), 0, "last partial word is not truncated");
	cr_expect_eq(buf[19], 0xee, "wrote past the end");
	cr_expect_eq(buf[20], 0xee, "wrote past the end");
}

Test(kernels, checksum_kernel_matches_gp_checksum_at)
{
	static const uint64_t lengths[] = { 0, 1, 7, 8, 9, 255, 4096, 65536 + 3, CHUNK / 2 };
	static const uint64_t offsets[] = { 0, 8, 4096 };
	static const uint64_t shifts[] = { 0, 1, 8 }; /* misaligned device addresses too */
	struct kernel_fixture f;

	fixture_open(&f);
	/* Enough bytes for the longest length at the largest shift. */
	for (size_t i = 0; i < CHUNK / 2 + 8; i++)
		f.host[i] = (unsigned char)(gp_mix64(i) >> 13);
	cr_assert_eq(gp_copy_h2d(f.t.gpu, f.range->base, f.host, CHUNK / 2 + 8, f.t.stream), 0,
		     "%s", gp_last_error());
	for (size_t s = 0; s < sizeof(shifts) / sizeof(shifts[0]); s++)
		for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++)
			for (size_t o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++)
				expect_checksum(&f, shifts[s], lengths[l], offsets[o]);
	fixture_close(&f);
}

Test(kernels, fill_kernel_matches_gp_pattern_fill)
{
	static const uint64_t lengths[] = { 1, 13, 4096, CHUNK / 2 - 5 };
	static const uint64_t shifts[] = { 0, 3 };
	struct kernel_fixture f;
	unsigned char *want;
	int err;

	fixture_open(&f);
	want = malloc(CHUNK / 2);
	cr_assert_not_null(want);
	for (size_t s = 0; s < sizeof(shifts) / sizeof(shifts[0]); s++) {
		for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
			uint64_t len = lengths[l], seed = 42 + l;
			CUdeviceptr dst = f.range->base + shifts[s];

			/* A guard byte after the range must survive. */
			memset(f.host, 0x5a, len + 1);
			cr_assert_eq(gp_copy_h2d(f.t.gpu, dst, f.host, len + 1, f.t.stream), 0,
				     "%s", gp_last_error());
			err = gp_kernel_fill_pattern(f.t.kernels, f.t.stream, dst, len, seed);
			cr_assert_eq(err, 0, "%s", gp_last_error());
			cr_assert_eq(gp_copy_d2h(f.t.gpu, f.host, dst, len + 1, f.t.stream), 0,
				     "%s", gp_last_error());
			cr_assert_eq(gp_stream_sync(f.t.gpu, f.t.stream), 0, "%s",
				     gp_last_error());
			gp_pattern_fill(want, len, seed);
			cr_expect_eq(memcmp(f.host, want, len), 0, "len %llu shift %llu differs",
				     (unsigned long long)len, (unsigned long long)shifts[s]);
			cr_expect_eq(f.host[len], 0x5a, "len %llu: wrote past the end",
				     (unsigned long long)len);
		}
	}
	free(want);
	fixture_close(&f);
}

Test(kernels, pieces_add_up_to_the_whole)
{
	struct kernel_fixture f;
	uint64_t whole, sum = 0, piece = 64 << 10;

	fixture_open(&f);
	cr_assert_eq(gp_kernel_fill_pattern(f.t.kernels, f.t.stream, f.range->base, CHUNK / 2, 9),
		     0, "%s", gp_last_error());
	whole = gp_test_device_checksum(&f.t, f.range->base, CHUNK / 2, 0, f.scratch);
	for (uint64_t off = 0; off < CHUNK / 2; off += piece)
		sum += gp_test_device_checksum(&f.t, f.range->base + off, piece, off, f.scratch);
	cr_expect_eq(sum, whole);
	gp_pattern_fill(f.host, CHUNK / 2, 9);
	cr_expect_eq(whole, gp_checksum(f.host, CHUNK / 2));
	fixture_close(&f);
}

Test(kernels, bad_arguments_are_refused)
{
	struct kernel_fixture f;

	fixture_open(&f);
	cr_expect_eq(gp_kernel_checksum(f.t.kernels, f.t.stream, f.range->base, 64, 4,
					f.scratch),
		     GP_EINVAL);
	cr_expect(strstr(gp_last_error(), "byte offset 4 is not a multiple of 8"), "%s",
		  gp_last_error());
	cr_expect_eq(gp_kernel_checksum(f.t.kernels, f.t.stream, f.range->base, 64, 0,
					f.scratch + 1),
		     GP_EINVAL);
	cr_expect(strstr(gp_last_error(), "not 8-byte aligned"), "%s", gp_last_error());
	fixture_close(&f);
}

Test(kernels, missing_module_is_enoent_with_a_remedy)
{
	struct gp_gpu *gpu;
	struct gp_kernels *kernels = NULL;

	setenv("GPUPAGER_KERNELS", "/nonexistent/kernels", 1);
	gpu = gp_test_gpu_open();
	cr_expect_eq(gp_kernels_load(gpu, &kernels), GP_ENOENT);
	cr_expect_null(kernels);
	gp_test_expect_error("kernel module '/nonexistent/kernels/gpupager-kernels");
	cr_expect(strstr(gp_last_error(), "set GPUPAGER_KERNELS"), "%s", gp_last_error());
	gp_gpu_close(gpu);
}
