/*
 * shim_app_sum.h - the checksum and the activation pattern that the shim's
 * test programs compute on the host and their kernels compute on the
 * device (shim_app_kernels.c), so each side checks the other.
 *
 * shim_sum: len + the sum, modulo 2^64, of mix(w[i] + (i + 1) * golden)
 * over the little-endian 64-bit words w of the bytes (the last one padded
 * with zeros); mix is splitmix64's finaliser.  Position-dependent, and a
 * numpy one-liner (tests/python/test_shim_cuda_python.py computes it so).
 */
#ifndef SHIM_APP_SUM_H
#define SHIM_APP_SUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SHIM_GOLDEN 0x9e3779b97f4a7c15ull

static inline uint64_t shim_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t shim_sum(const void *data, uint64_t len)
{
	const unsigned char *p = data;
	uint64_t sum = len, i = 0, w;

	for (; (i + 1) * 8 <= len; i++) {
		memcpy(&w, p + i * 8, 8);
		sum += shim_mix(w + (i + 1) * SHIM_GOLDEN);
	}
	if (i * 8 < len) {
		w = 0;
		memcpy(&w, p + i * 8, len - i * 8);
		sum += shim_mix(w + (i + 1) * SHIM_GOLDEN);
	}
	return sum;
}

/* Word i of a buffer written with seed (an activation, a staging buffer). */
static inline uint64_t shim_pattern(uint64_t seed, uint64_t i)
{
	return shim_mix(seed * SHIM_GOLDEN + i);
}

/* The seed of activation buffer a after pass p (pass 0: the upload). */
static inline uint64_t shim_act_seed(uint64_t a, uint64_t p)
{
	return (a + 1) << 32 | p;
}

/* Bytes of words[0..n) that differ from the pattern of seed. */
static inline uint64_t shim_pattern_bad_bytes(const uint64_t *words, uint64_t n, uint64_t seed)
{
	uint64_t bad = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t diff = words[i] ^ shim_pattern(seed, i);

		for (; diff; diff >>= 8)
			bad += (diff & 0xff) != 0;
	}
	return bad;
}

#endif
