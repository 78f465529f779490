/* extent.h - first-fit allocator of [start, start+len) ranges (not thread-safe). */
#ifndef GP_SIM_EXTENT_H
#define GP_SIM_EXTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_extent {
	uint64_t start;
	uint64_t len;
};

struct sim_extents {
	struct sim_extent *free; /* sorted by start, coalesced */
	size_t n;
	size_t cap;
	size_t n_allocated;
};

int sim_extents_init(struct sim_extents *e, uint64_t start, uint64_t len);
/*
 * Allocate size bytes aligned to align, or exactly at hint when hint is
 * non-zero; 0 and the start in *out, or -1 if no room.
 */
int sim_extents_alloc(struct sim_extents *e, uint64_t size, uint64_t align, uint64_t hint,
		      uint64_t *out);
/* Give back a range that sim_extents_alloc returned. */
void sim_extents_free(struct sim_extents *e, uint64_t start, uint64_t size);

#endif
