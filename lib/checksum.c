/*
 * checksum.c - the project's data checksum.
 *
 * sum over 64-bit little-endian words w_i at word index i of
 * mix64(w_i + i * golden), modulo 2^64, the last partial word zero-padded.
 * A sum is order-free, so a GPU kernel, a thread pool or a loop over pieces
 * computes the same value: checksum(a ++ b) = checksum_at(a, 0) +
 * checksum_at(b, len(a)) whenever len(a) is a multiple of 8.
 */
#include <string.h>

#include "gpupager.h"

#define GOLDEN 0x9e3779b97f4a7c15ull

uint64_t gp_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t gp_checksum_at(const void *data, size_t len, uint64_t byte_offset)
{
	const unsigned char *p = data;
	uint64_t index = byte_offset / 8, sum = 0, w;
	size_t n = len / 8;

	for (size_t k = 0; k < n; k++, index++) {
		memcpy(&w, p + 8 * k, 8);
		sum += gp_mix64(w + index * GOLDEN);
	}
	if (len % 8) {
		w = 0;
		memcpy(&w, p + 8 * n, len % 8);
		sum += gp_mix64(w + index * GOLDEN);
	}
	return sum;
}

uint64_t gp_checksum(const void *data, size_t len)
{
	return gp_checksum_at(data, len, 0);
}
