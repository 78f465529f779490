/*
 * cuda_env.h - shared setup for the tests/test_cuda_* programs.
 *
 * They run against the simulator (build/lib/sim/libcuda.so.1) unless
 * GPUPAGER_CUDA_LIB names another driver: `make test-real-cuda` sets it to
 * libcuda.so.1 and the same programs exercise a real GPU.  Tests that need
 * the simulator's knobs (fault injection, a small VRAM) skip themselves on
 * a real device.
 */
#ifndef GP_TESTS_CUDA_ENV_H
#define GP_TESTS_CUDA_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "devmem.h"
#include "gpu.h"
#include "kernels.h"

#define GP_TEST_SIM_DRIVER GP_BUILD_DIR "/lib/sim/libcuda.so.1"

/* Use the simulator unless the environment names a driver (a suite's .init). */
void gp_test_cuda_env(void);

/* Open device 0 or fail the test with the library's message. */
struct gp_gpu *gp_test_gpu_open(void);

/* What most device tests need: device 0, a backend, a stream and the kernels. */
struct gp_test_device {
	struct gp_gpu *gpu;
	struct gp_devmem *dm;
	CUstream stream;
	struct gp_kernels *kernels;
};

/* Open all of it with the given backend and chunk size, or fail the test. */
void gp_test_device_open(struct gp_test_device *t, enum gp_backend_kind kind,
			 uint64_t chunk_size);
/* Close it; every range and chunk must have been given back (checked). */
void gp_test_device_close(struct gp_test_device *t);

/* Expect gp_last_error() to begin with prefix. */
void gp_test_expect_error(const char *prefix);

/* Skip the current test unless the driver under test is the simulator. */
void gp_test_require_simulator(void);

/* Page-aligned pinned host buffer of len bytes; gp_test_host_free undoes it. */
void *gp_test_host_alloc(struct gp_gpu *gpu, size_t len);
void gp_test_host_free(struct gp_gpu *gpu, void *ptr);

/*
 * Checksum len bytes at data, which sit at byte_offset, with
 * gp_checksum_kernel on t's stream, using the 8 bytes at scratch for the
 * result, and wait for it.
 */
uint64_t gp_test_device_checksum(struct gp_test_device *t, CUdeviceptr data, uint64_t len,
				 uint64_t byte_offset, CUdeviceptr scratch);

#endif
