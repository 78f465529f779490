/*
 * belady.c - exact MIN: on a miss with the device full, evict the resident
 * chunk whose next use lies furthest ahead (never used again first).  Next
 * uses are precomputed backwards; the resident chunks sit in a max-heap on
 * their next use, whose stale entries (the chunk was used or evicted since)
 * are dropped when they reach the top.  O(len log len).
 */
#include <stdlib.h>

#include "belady.h"
#include "error.h"

#define NEVER UINT64_MAX

struct heap_entry {
	uint64_t next;          /* position of the chunk's next use */
	uint32_t chunk;
};

static void heap_push(struct heap_entry *heap, size_t *n, struct heap_entry e)
{
	size_t i = (*n)++;

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (heap[parent].next >= e.next)
			break;
		heap[i] = heap[parent];
		i = parent;
	}
	heap[i] = e;
}

static struct heap_entry heap_pop(struct heap_entry *heap, size_t *n)
{
	struct heap_entry top = heap[0], last = heap[--(*n)];
	size_t i = 0;

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= *n)
			break;
		if (child + 1 < *n && heap[child + 1].next > heap[child].next)
			child++;
		if (last.next >= heap[child].next)
			break;
		heap[i] = heap[child];
		i = child;
	}
	if (*n)
		heap[i] = last;
	return top;
}

int gp_belady_run(const uint32_t *trace, size_t len, uint32_t n_chunks, uint64_t capacity,
		  uint64_t *misses, uint8_t *miss)
{
	uint64_t *next_use = malloc((len ? len : 1) * sizeof(*next_use));
	uint64_t *key = malloc((size_t)n_chunks * sizeof(*key));         /* [chunk] current next use */
	uint8_t *resident = calloc(n_chunks, 1);
	struct heap_entry *heap = malloc((len + 1) * sizeof(*heap));
	uint64_t n_resident = 0, count = 0;
	size_t n_heap = 0;
	int err = 0;

	if (!next_use || !key || !resident || !heap) {
		err = gp_fail(GP_ENOMEM, "belady: out of memory for a trace of %zu accesses", len);
		goto out;
	}
	for (uint32_t c = 0; c < n_chunks; c++)
		key[c] = NEVER;
	for (size_t i = len; i-- > 0;) {
		if (trace[i] >= n_chunks) {
			err = gp_fail(GP_EINVAL, "belady: trace position %zu names chunk %u, the "
				      "layout has %u", i, trace[i], n_chunks);
			goto out;
		}
		next_use[i] = key[trace[i]];
		key[trace[i]] = i;
	}
	for (size_t i = 0; i < len; i++) {
		uint32_t c = trace[i];
		bool hit = resident[c];

		if (miss)
			miss[i] = !hit;
		if (!hit) {
			count++;
			if (!capacity)
				continue;
			while (n_resident >= capacity) {
				struct heap_entry e = heap_pop(heap, &n_heap);

				if (resident[e.chunk] && key[e.chunk] == e.next) {
					resident[e.chunk] = 0;
					n_resident--;
				}
			}
			resident[c] = 1;
			n_resident++;
		}
		key[c] = next_use[i];
		heap_push(heap, &n_heap, (struct heap_entry){ .next = next_use[i], .chunk = c });
	}
	*misses = count;
out:
	free(next_use);
	free(key);
	free(resident);
	free(heap);
	return err;
}

int gp_belady_chunk_trace(const struct gp_policy_layout *layout, const uint32_t *groups,
			  size_t n_accesses, uint32_t **trace, size_t *len)
{
	size_t n = 0;
	uint32_t *t;

	*trace = NULL;
	*len = 0;
	for (size_t i = 0; i < n_accesses; i++) {
		if (groups[i] >= layout->n_groups)
			return gp_fail(GP_EINVAL, "belady: access %zu names group %u, the layout has %u",
				       i, groups[i], layout->n_groups);
		n += layout->group_chunk_count[groups[i]];
	}
	t = malloc((n ? n : 1) * sizeof(*t));
	if (!t)
		return gp_fail(GP_ENOMEM, "belady: out of memory for a trace of %zu chunks", n);
	n = 0;
	for (size_t i = 0; i < n_accesses; i++) {
		uint32_t first = layout->group_first_chunk[groups[i]];

		for (uint32_t k = 0; k < layout->group_chunk_count[groups[i]]; k++)
			t[n++] = first + k;
	}
	*trace = t;
	*len = n;
	return 0;
}
