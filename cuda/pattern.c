/* pattern.c - the deterministic fill pattern, host side (gp_fill_pattern_kernel's reference). */
#include <string.h>

#include "gpupager.h"
#include "kernels.h"

void gp_pattern_fill(void *data, size_t len, uint64_t seed)
{
	unsigned char *p = data;
	size_t n = len / 8;
	uint64_t w;

	/* memcpy of a native word: this code, like the kernels, assumes little endian. */
	for (size_t i = 0; i < n; i++) {
		w = gp_mix64(seed + i);
		memcpy(p + 8 * i, &w, 8);
	}
	if (len % 8) {
		w = gp_mix64(seed + n);
		memcpy(p + 8 * n, &w, len % 8);
	}
}
