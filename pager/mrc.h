/*
 * mrc.h - miss-ratio curves (internal; the API is in gpupager.h): the
 * exact algorithms, exposed for the tests and the plan compiler.
 */
#ifndef GP_PAGER_MRC_H
#define GP_PAGER_MRC_H

#include <stddef.h>
#include <stdint.h>

#include "gpupager.h"
#include "policy.h"

#define GP_MRC_MAX_THREADS 16

/* How a group sequence is cut into steps (gpupager.h, gp_mrc_compute). */
struct gp_mrc_steps {
	int periodic;
	size_t step_accesses;
	size_t steps;
	size_t used;            /* accesses analysed: whole periods when periodic */
	size_t warm;            /* accesses of the warm-up step */
	size_t measured_steps;
};
int gp_mrc_steps(const uint32_t *seq, size_t n, struct gp_mrc_steps *s);

/*
 * The engine's lru at every capacity 0..n_chunks: misses[c] = chunk loads
 * of the accesses seq[warm..n) with room for c chunks (meaningful from the
 * largest group up).  misses has n_chunks + 1 entries.
 */
int gp_mrc_lru_exact(const struct gp_policy_layout *l, const uint32_t *seq, size_t n, size_t warm,
		     uint64_t *misses);

/*
 * MIN at every capacity 0..n_chunks over trace[0..len), counting the
 * misses of positions [from, to): misses has n_chunks + 1 entries.
 */
int gp_mrc_min_exact(const uint32_t *trace, size_t len, uint32_t n_chunks, size_t from, size_t to,
		     uint64_t *misses);

struct gp_mrc {
	uint32_t curves;
	uint64_t chunk_size, model_bytes, min_budget;
	uint32_t n_chunks, n_groups, largest;
	uint64_t accesses, chunk_accesses, measured_chunk_accesses;
	struct gp_mrc_steps steps_info;
	double link_gbps, compute_ns;
	uint32_t n_points;
	uint64_t *budget;               /* [n_points] ascending */
	uint8_t *valid;                 /* [n_points] */
	uint64_t *loads[GP_MRC_CURVES]; /* [n_points] chunk loads over the measured steps */
	uint64_t *lru_all, *min_all;    /* [n_chunks + 1] */
	int min_convex, min_below_all, lru_matches;
	uint32_t lru_checked;
	double seconds;
};

uint64_t gp_mrc_bytes_per_step(const struct gp_mrc *r, uint64_t loads);

#endif
