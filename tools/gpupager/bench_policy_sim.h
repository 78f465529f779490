/*
 * bench_policy_sim.h - drive a gp_policy over a group access sequence the
 * way the engine does, with no device: count chunk loads, demand and
 * prefetch.  Used by `gpupager bench policy` and tests/test_policy.c.
 */
#ifndef GP_TOOLS_BENCH_POLICY_SIM_H
#define GP_TOOLS_BENCH_POLICY_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

/* Most groups one prefetch round asks the policy for. */
#define BENCH_SIM_PREFETCH_MAX 8

struct bench_sim {
	struct gp_policy *policy;               /* not owned */
	const struct gp_policy_layout *layout;  /* not owned */
	uint64_t capacity;                      /* chunks */
	uint32_t *chunk_group;                  /* [n_chunks] */
	uint8_t *resident;                      /* [n_chunks] */
	uint64_t n_resident;
	/* Groups whose chunks may not be evicted now: the acquired one, then prefetched ones. */
	uint32_t protect[BENCH_SIM_PREFETCH_MAX + 1];
	unsigned n_protect;
	uint64_t demand_loads, prefetch_loads;  /* chunk loads so far */
	uint64_t victims;                       /* victims asked for and checked */
};

int bench_sim_init(struct bench_sim *sim, const struct gp_policy_layout *layout,
		   struct gp_policy *policy, uint64_t capacity);
void bench_sim_free(struct bench_sim *sim);

/*
 * One acquire of group: gp_policy_access, then each chunk not resident is
 * loaded, evicting the policy's victim when the device is full (the group's
 * own chunks may not be evicted).  Then prefetch: the groups
 * gp_policy_prefetch names are loaded into free chunks, or over a victim
 * whose gp_policy_next_use is later than the prefetched group's; the first
 * refusal ends the round.  GP_ENOENT when the group does not fit,
 * GP_ESTATE when the policy names a chunk not resident or not evictable.
 */
int bench_sim_access(struct bench_sim *sim, uint32_t group);

static inline uint64_t bench_sim_loads(const struct bench_sim *sim)
{
	return sim->demand_loads + sim->prefetch_loads;
}

#endif
