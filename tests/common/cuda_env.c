/* cuda_env.c - driver selection, device and buffer helpers for the CUDA tests. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuda_env.h"

void gp_test_cuda_env(void)
{
	setenv("GPUPAGER_CUDA_LIB", GP_TEST_SIM_DRIVER, 0);
}

struct gp_gpu *gp_test_gpu_open(void)
{
	struct gp_gpu *gpu = NULL;
	int err = gp_gpu_open(NULL, 0, &gpu);

	cr_assert_eq(err, 0, "gp_gpu_open: %s: %s", gp_error_name(err), gp_last_error());
	return gpu;
}

void gp_test_expect_error(const char *prefix)
{
	const char *msg = gp_last_error();

	cr_expect_eq(strncmp(msg, prefix, strlen(prefix)), 0, "'%s' does not start with '%s'",
		     msg, prefix);
}

void gp_test_require_simulator(void)
{
	const char *driver = getenv("GPUPAGER_CUDA_LIB");

	if (!driver || strcmp(driver, GP_TEST_SIM_DRIVER))
		cr_skip_test("needs the simulated device, not the driver '%s'",
			     driver ? driver : "(unset)");
}

void *gp_test_host_alloc(struct gp_gpu *gpu, size_t len)
{
	void *ptr = NULL;
	int err;

	cr_assert_eq(posix_memalign(&ptr, (size_t)sysconf(_SC_PAGESIZE), len), 0);
	memset(ptr, 0, len);
	err = gp_gpu_host_register(gpu, ptr, len);
	cr_assert_eq(err, 0, "%s", gp_last_error());
	return ptr;
}

void gp_test_host_free(struct gp_gpu *gpu, void *ptr)
{
	cr_assert_eq(gp_gpu_host_unregister(gpu, ptr), 0, "%s", gp_last_error());
	free(ptr);
}

void gp_test_device_open(struct gp_test_device *t, enum gp_backend_kind kind,
			 uint64_t chunk_size)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->gpu = gp_test_gpu_open();
	err = gp_devmem_open(t->gpu, kind, chunk_size, &t->dm);
	cr_assert_eq(err, 0, "gp_devmem_open: %s", gp_last_error());
	cr_assert_eq(gp_stream_create(t->gpu, &t->stream), 0, "%s", gp_last_error());
	err = gp_kernels_load(t->gpu, &t->kernels);
	cr_assert_eq(err, 0, "gp_kernels_load: %s", gp_last_error());
}

void gp_test_device_close(struct gp_test_device *t)
{
	cr_expect_eq(gp_devmem_chunk_count(t->dm), 0, "chunks left behind");
	gp_kernels_unload(t->kernels);
	gp_stream_destroy(t->gpu, t->stream);
	gp_devmem_close(t->dm);
	gp_gpu_close(t->gpu);
}

uint64_t gp_test_device_checksum(struct gp_test_device *t, CUdeviceptr data, uint64_t len,
				 uint64_t byte_offset, CUdeviceptr scratch)
{
	uint64_t result = 0;
	int err;

	/* Pageable host words: the stream is synchronised before they go out of scope. */
	err = gp_copy_h2d(t->gpu, scratch, &result, sizeof(result), t->stream);
	cr_assert_eq(err, 0, "%s", gp_last_error());
	err = gp_kernel_checksum(t->kernels, t->stream, data, len, byte_offset, scratch);
	cr_assert_eq(err, 0, "%s", gp_last_error());
	err = gp_copy_d2h(t->gpu, &result, scratch, sizeof(result), t->stream);
	cr_assert_eq(err, 0, "%s", gp_last_error());
	cr_assert_eq(gp_stream_sync(t->gpu, t->stream), 0, "%s", gp_last_error());
	return result;
}
