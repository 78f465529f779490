/*
 * fuzz_ranges.c - gp_ranges_parse on arbitrary text (up to the first NUL).
 * An accepted set must come out merged: sorted intervals with gaps between
 * them, every bound contained and the values just outside not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpupager.h"

static void check_accepted(const struct gp_ranges *r)
{
	size_t n = gp_ranges_count(r);
	uint64_t prev_end = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t start, end;

		gp_ranges_get(r, i, &start, &end);
		/* Touching or overlapping neighbours should have been merged. */
		if (start > end || (i > 0 && (start <= prev_end || start == prev_end + 1)))
			abort();
		if (!gp_ranges_contains(r, start) || !gp_ranges_contains(r, end))
			abort();
		if (start > 0 && gp_ranges_contains(r, start - 1))
			abort();
		if (end < UINT64_MAX && gp_ranges_contains(r, end + 1))
			abort();
		prev_end = end;
	}
	if (n == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gp_ranges *r = NULL;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (gp_ranges_parse(text, &r) == 0) {
		check_accepted(r);
		gp_ranges_free(r);
	} else if (r || !gp_last_error()[0]) {
		abort();
	}
	free(text);
	return 0;
}
