/* bench_policy_sim.c - a policy driven over a trace as the engine drives it (see the .h). */
#include <stdlib.h>

#include "bench_policy_sim.h"
#include "error.h"

int bench_sim_init(struct bench_sim *sim, const struct gp_policy_layout *layout,
		   struct gp_policy *policy, uint64_t capacity)
{
	*sim = (struct bench_sim){ .policy = policy, .layout = layout, .capacity = capacity };
	sim->chunk_group = malloc(layout->n_chunks * sizeof(*sim->chunk_group));
	sim->resident = calloc(layout->n_chunks, 1);
	if (!sim->chunk_group || !sim->resident) {
		bench_sim_free(sim);
		return gp_fail(GP_ENOMEM, "policy simulator: out of memory for %u chunks",
			       layout->n_chunks);
	}
	for (uint32_t c = 0; c < layout->n_chunks; c++)
		sim->chunk_group[c] = UINT32_MAX;
	for (uint32_t g = 0; g < layout->n_groups; g++)
		for (uint32_t k = 0; k < layout->group_chunk_count[g]; k++)
			sim->chunk_group[layout->group_first_chunk[g] + k] = g;
	return 0;
}

void bench_sim_free(struct bench_sim *sim)
{
	free(sim->chunk_group);
	free(sim->resident);
	sim->chunk_group = NULL;
	sim->resident = NULL;
}

static bool can_evict(void *ctx, uint32_t chunk)
{
	const struct bench_sim *sim = ctx;

	if (chunk >= sim->layout->n_chunks || !sim->resident[chunk])
		return false;
	for (unsigned i = 0; i < sim->n_protect; i++)
		if (sim->chunk_group[chunk] == sim->protect[i])
			return false;
	return true;
}

/* Ask for a victim and check it is one the engine could evict. */
static int take_victim(struct bench_sim *sim, uint32_t *chunk)
{
	int err = gp_policy_victim(sim->policy, can_evict, sim, chunk);

	if (err)
		return err;
	sim->victims++;
	if (!can_evict(sim, *chunk))
		return gp_fail(GP_ESTATE, "policy %s named chunk %u as victim: %s",
			       gp_policy_name(sim->policy), *chunk,
			       *chunk < sim->layout->n_chunks && sim->resident[*chunk]
				       ? "it may not be evicted now" : "it is not resident");
	return 0;
}

static void evict(struct bench_sim *sim, uint32_t chunk)
{
	sim->resident[chunk] = 0;
	sim->n_resident--;
	gp_policy_evicted(sim->policy, chunk);
}

static void load(struct bench_sim *sim, uint32_t chunk)
{
	sim->resident[chunk] = 1;
	sim->n_resident++;
	gp_policy_loaded(sim->policy, chunk);
}

/*
 * Load group ahead of its access: 0 when done, 1 when nothing may be evicted
 * for it (nothing evictable, or only chunks needed no later than the group).
 */
static int prefetch_group(struct bench_sim *sim, uint32_t group)
{
	uint32_t first = sim->layout->group_first_chunk[group];
	uint64_t due = gp_policy_next_use(sim->policy, first);

	for (uint32_t c = first; c < first + sim->layout->group_chunk_count[group]; c++) {
		uint32_t victim;

		if (sim->resident[c])
			continue;
		if (sim->n_resident >= sim->capacity) {
			int err = take_victim(sim, &victim);

			if (err == GP_ENOENT)
				return 1;
			if (err)
				return err;
			if (gp_policy_next_use(sim->policy, victim) <= due)
				return 1;
			evict(sim, victim);
		}
		load(sim, c);
		sim->prefetch_loads++;
	}
	return 0;
}

int bench_sim_access(struct bench_sim *sim, uint32_t group)
{
	const struct gp_policy_layout *layout = sim->layout;
	uint32_t first = layout->group_first_chunk[group], groups[BENCH_SIM_PREFETCH_MAX];
	size_t n;
	int err = 0;

	gp_policy_access(sim->policy, group);
	sim->protect[0] = group;
	sim->n_protect = 1;
	for (uint32_t c = first; c < first + layout->group_chunk_count[group]; c++) {
		uint32_t victim;

		if (sim->resident[c])
			continue;
		if (sim->n_resident >= sim->capacity) {
			err = take_victim(sim, &victim);
			if (err == GP_ENOENT)
				return gp_fail(GP_ENOENT, "group %u (%u chunks) does not fit in %llu "
					       "chunks", group, layout->group_chunk_count[group],
					       (unsigned long long)sim->capacity);
			if (err)
				return err;
			evict(sim, victim);
		}
		load(sim, c);
		sim->demand_loads++;
	}
	n = gp_policy_prefetch(sim->policy, groups, BENCH_SIM_PREFETCH_MAX);
	for (size_t i = 0; i < n && !err; i++) {
		sim->protect[sim->n_protect++] = groups[i];
		err = prefetch_group(sim, groups[i]);
	}
	sim->n_protect = 0;
	return err < 0 ? err : 0;
}
