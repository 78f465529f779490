/*
 * belady.h - Belady's MIN, the optimal replacement, over a chunk access
 * trace (internal).  The lower bound the policies are measured against:
 * with room for capacity chunks, no policy that loads a chunk only into a
 * free or freed place moves fewer chunks than MIN misses (bytes moved =
 * misses x chunk size).
 */
#ifndef GP_PAGER_BELADY_H
#define GP_PAGER_BELADY_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/*
 * Run MIN over trace[0..len) (chunk indices below n_chunks) from an empty
 * device of capacity chunks.  *misses gets the number of misses; miss, when
 * not NULL, gets 1 at each position that missed and 0 elsewhere.
 * GP_EINVAL for a chunk index out of range, GP_ENOMEM.
 */
int gp_belady_run(const uint32_t *trace, size_t len, uint32_t n_chunks, uint64_t capacity,
		  uint64_t *misses, uint8_t *miss);

/*
 * The chunk trace of a group access sequence: each access to group g reads
 * its chunks in order.  *trace is malloc'ed; GP_EINVAL for a group out of
 * range, GP_ENOMEM.
 */
int gp_belady_chunk_trace(const struct gp_policy_layout *layout, const uint32_t *groups,
			  size_t n_accesses, uint32_t **trace, size_t *len);

#endif
