/*
 * kernels.h - the project's own small GPU kernels, for tests and checks.
 *
 *   gp_checksum_kernel      adds gp_checksum_at(data, len, byte_offset) to
 *                           *result (zero it first); the sum is order-free,
 *                           so pieces can be checksummed separately.
 *   gp_fill_pattern_kernel  writes the pattern of gp_pattern_fill().
 *
 * They are built twice from cuda/kernels/: a host shared object for the
 * simulator (gpupager-kernels-sim.so) and, when nvcc is installed, a fatbin
 * for real GPUs (gpupager-kernels.fatbin), both in GPUPAGER_KERNELS or the
 * build's lib/kernels.  The module matching the device is loaded.
 */
#ifndef GP_CUDA_KERNELS_H
#define GP_CUDA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "gpu.h"

#define GP_KERNELS_SIM_FILE "gpupager-kernels-sim.so"
#define GP_KERNELS_CUDA_FILE "gpupager-kernels.fatbin"

struct gp_kernels;

int gp_kernels_load(struct gp_gpu *gpu, struct gp_kernels **out);
void gp_kernels_unload(struct gp_kernels *kernels);

/* Queue result += checksum of len bytes at data, which sit at byte_offset (a multiple of 8). */
int gp_kernel_checksum(struct gp_kernels *kernels, CUstream stream, CUdeviceptr data,
		       uint64_t len, uint64_t byte_offset, CUdeviceptr result);

/* Queue writing the pattern for seed over len bytes at data. */
int gp_kernel_fill_pattern(struct gp_kernels *kernels, CUstream stream, CUdeviceptr data,
			   uint64_t len, uint64_t seed);

/*
 * The pattern, on the host: 64-bit little-endian word i is
 * gp_mix64(seed + i); a last partial word keeps its low-order bytes.
 */
void gp_pattern_fill(void *data, size_t len, uint64_t seed);

#endif
