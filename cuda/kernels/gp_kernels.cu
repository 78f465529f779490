/*
 * gp_kernels.cu - the test kernels for real GPUs (see cuda/kernels.h).
 * Built with nvcc into gpupager-kernels.fatbin; the results must equal the
 * host references gp_checksum_at() (lib/checksum.c) and gp_pattern_fill()
 * (cuda/pattern.c) bit for bit, which tests/test_cuda_kernels.c checks.
 *
 * Both kernels are grid-stride loops over 64-bit words and must be
 * launched with a block size that is a multiple of 32 (whole warps).
 */
#include <stdint.h>

#define GOLDEN 0x9e3779b97f4a7c15ull

/* gp_mix64: the splitmix64 finalizer. */
__device__ static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Word k of len bytes, little endian, zero-padded past the end. */
__device__ static uint64_t load_word(const unsigned char *bytes, uint64_t k, uint64_t len,
				     bool aligned)
{
	uint64_t first = 8 * k, n = len - first < 8 ? len - first : 8, w = 0;

	if (aligned && n == 8)
		return *(const uint64_t *)(bytes + first);
	for (uint64_t b = 0; b < n; b++)
		w |= (uint64_t)bytes[first + b] << (8 * b);
	return w;
}

__device__ static void store_word(unsigned char *bytes, uint64_t k, uint64_t len, bool aligned,
				  uint64_t w)
{
	uint64_t first = 8 * k, n = len - first < 8 ? len - first : 8;

	if (aligned && n == 8) {
		*(uint64_t *)(bytes + first) = w;
		return;
	}
	for (uint64_t b = 0; b < n; b++)
		bytes[first + b] = (unsigned char)(w >> (8 * b));
}

extern "C" __global__ void gp_checksum_kernel(const void *data, uint64_t len,
					      uint64_t byte_offset, unsigned long long *result)
{
	const unsigned char *bytes = (const unsigned char *)data;
	bool aligned = ((uintptr_t)data & 7) == 0;
	uint64_t n_words = (len + 7) / 8, first_index = byte_offset / 8, sum = 0;
	uint64_t stride = (uint64_t)gridDim.x * blockDim.x;

	for (uint64_t k = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; k < n_words;
	     k += stride)
		sum += mix64(load_word(bytes, k, len, aligned) + (first_index + k) * GOLDEN);

	/* Sum the warp's partial sums, then one atomic per warp. */
	for (int delta = 16; delta > 0; delta /= 2)
		sum += __shfl_down_sync(0xffffffffu, sum, delta);
	if ((threadIdx.x & 31) == 0 && sum)
		atomicAdd(result, (unsigned long long)sum);
}

extern "C" __global__ void gp_fill_pattern_kernel(void *data, uint64_t len, uint64_t seed)
{
	unsigned char *bytes = (unsigned char *)data;
	bool aligned = ((uintptr_t)data & 7) == 0;
	uint64_t n_words = (len + 7) / 8;
	uint64_t stride = (uint64_t)gridDim.x * blockDim.x;

	for (uint64_t k = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; k < n_words;
	     k += stride)
		store_word(bytes, k, len, aligned, mix64(seed + k));
}
