/*
 * extent.c - first-fit allocator of address ranges, used for the device
 * address space and for slices of the physical memfd.  Free extents are
 * kept sorted and coalesced; the array always has room for one more, so
 * freeing never allocates and cannot fail.
 */
#include <stdlib.h>
#include <string.h>

#include "extent.h"

static uint64_t align_up(uint64_t x, uint64_t align)
{
	return (x + align - 1) / align * align;
}

int sim_extents_init(struct sim_extents *e, uint64_t start, uint64_t len)
{
	memset(e, 0, sizeof(*e));
	e->cap = 4;
	e->free = calloc(e->cap, sizeof(*e->free));
	if (!e->free)
		return -1;
	e->free[0] = (struct sim_extent){ start, len };
	e->n = 1;
	return 0;
}

/* Free extents never outnumber allocated ones plus one. */
static int reserve_room(struct sim_extents *e)
{
	size_t need = e->n_allocated + 3;
	struct sim_extent *grown;

	if (e->cap >= need)
		return 0;
	grown = realloc(e->free, need * 2 * sizeof(*grown));
	if (!grown)
		return -1;
	e->free = grown;
	e->cap = need * 2;
	return 0;
}

/* Take [at, at+size) out of free extent i, which contains it. */
static void carve(struct sim_extents *e, size_t i, uint64_t at, uint64_t size)
{
	struct sim_extent *x = &e->free[i];
	uint64_t end = x->start + x->len;
	bool left = at > x->start, right = at + size < end;

	if (left && right) {
		memmove(&e->free[i + 2], &e->free[i + 1], (e->n - i - 1) * sizeof(*x));
		e->free[i + 1] = (struct sim_extent){ at + size, end - at - size };
		x->len = at - x->start;
		e->n++;
	} else if (left) {
		x->len = at - x->start;
	} else if (right) {
		x->start = at + size;
		x->len = end - at - size;
	} else {
		memmove(&e->free[i], &e->free[i + 1], (e->n - i - 1) * sizeof(*x));
		e->n--;
	}
	e->n_allocated++;
}

int sim_extents_alloc(struct sim_extents *e, uint64_t size, uint64_t align, uint64_t hint,
		      uint64_t *out)
{
	if (size == 0 || reserve_room(e))
		return -1;
	for (size_t i = 0; i < e->n; i++) {
		uint64_t start = e->free[i].start, end = start + e->free[i].len;
		uint64_t at = align_up(start, align);

		if (hint) {
			if (hint < start || hint + size > end)
				continue;
			at = hint;
		}
		if (at + size <= end) {
			carve(e, i, at, size);
			*out = at;
			return 0;
		}
	}
	return -1;
}

void sim_extents_free(struct sim_extents *e, uint64_t start, uint64_t size)
{
	size_t i = 0;
	bool merge_left, merge_right;

	while (i < e->n && e->free[i].start < start)
		i++;
	merge_left = i > 0 && e->free[i - 1].start + e->free[i - 1].len == start;
	merge_right = i < e->n && start + size == e->free[i].start;
	if (merge_left && merge_right) {
		e->free[i - 1].len += size + e->free[i].len;
		memmove(&e->free[i], &e->free[i + 1], (e->n - i - 1) * sizeof(e->free[0]));
		e->n--;
	} else if (merge_left) {
		e->free[i - 1].len += size;
	} else if (merge_right) {
		e->free[i].start = start;
		e->free[i].len += size;
	} else {
		memmove(&e->free[i + 1], &e->free[i], (e->n - i) * sizeof(e->free[0]));
		e->free[i] = (struct sim_extent){ start, size };
		e->n++;
	}
	e->n_allocated--;
}
