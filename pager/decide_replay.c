/*
 * decide_replay.c - the engine's load/evict/prefetch loop over a group
 * access sequence on a simulated device (see decide.h): the decisions are
 * gp_decide_victim's, the bookkeeping mirrors gp_res_load's.
 */
#include <stdlib.h>

#include "decide.h"
#include "error.h"

#define NONE UINT32_MAX

static bool replay_evictable(void *ctx, uint32_t c)
{
	const struct gp_replay *r = ctx;

	return c < r->layout->n_chunks && r->state[c] == GP_REPLAY_RESIDENT &&
	       r->chunk_group[c] != r->pinned;
}

static bool replay_idle(void *ctx, uint32_t c)
{
	const struct gp_replay *r = ctx;

	for (unsigned i = 0; i < r->busy_groups; i++)
		if (r->busy[i] != NONE && r->chunk_group[c] == r->busy[i])
			return false;
	return true;
}

int gp_replay_init(struct gp_replay *r, const struct gp_policy_layout *layout,
		   struct gp_policy *policy, uint64_t capacity, unsigned busy_groups)
{
	uint32_t largest = 1;

	*r = (struct gp_replay){ .policy = policy, .layout = layout, .capacity = capacity,
				 .busy_groups = busy_groups, .pinned = NONE };
	if (busy_groups > GP_REPLAY_BUSY_MAX)
		return gp_fail(GP_EINVAL, "replay: %u busy groups, at most %u", busy_groups,
			       GP_REPLAY_BUSY_MAX);
	for (unsigned i = 0; i < GP_REPLAY_BUSY_MAX; i++)
		r->busy[i] = NONE;
	for (uint32_t g = 0; g < layout->n_groups; g++)
		if (layout->group_chunk_count[g] > largest)
			largest = layout->group_chunk_count[g];
	r->chunk_group = malloc((layout->n_chunks ? layout->n_chunks : 1) * sizeof(*r->chunk_group));
	r->state = calloc(layout->n_chunks ? layout->n_chunks : 1, sizeof(*r->state));
	r->list = malloc(largest * sizeof(*r->list));
	if (!r->chunk_group || !r->state || !r->list) {
		gp_replay_free(r);
		return gp_fail(GP_ENOMEM, "replay: out of memory for %u chunks", layout->n_chunks);
	}
	for (uint32_t c = 0; c < layout->n_chunks; c++)
		r->chunk_group[c] = NONE;
	for (uint32_t g = 0; g < layout->n_groups; g++)
		for (uint32_t k = 0; k < layout->group_chunk_count[g]; k++)
			r->chunk_group[layout->group_first_chunk[g] + k] = g;
	r->model = (struct gp_decide_model){
		.policy = policy,
		.n_groups = layout->n_groups,
		.group_first_chunk = layout->group_first_chunk,
		.group_chunk_count = layout->group_chunk_count,
		.evictable = replay_evictable,
		.idle = busy_groups ? replay_idle : NULL,
		.chunk_group = r->chunk_group,
		.ctx = r,
	};
	return 0;
}

void gp_replay_free(struct gp_replay *r)
{
	free(r->chunk_group);
	free(r->state);
	free(r->list);
	free(r->ready);
	free(r->queued);
	free(r->group_end);
	r->chunk_group = NULL;
	r->state = NULL;
	r->list = NULL;
	r->ready = r->queued = r->group_end = NULL;
}

int gp_replay_set_times(struct gp_replay *r, const uint64_t *compute_ns, double chunk_ns)
{
	size_t nc = r->layout->n_chunks ? r->layout->n_chunks : 1;
	size_t ng = r->layout->n_groups ? r->layout->n_groups : 1;

	r->ready = calloc(nc, sizeof(*r->ready));
	r->queued = calloc(nc, sizeof(*r->queued));
	r->group_end = calloc(ng, sizeof(*r->group_end));
	if (!r->ready || !r->queued || !r->group_end)
		return gp_fail(GP_ENOMEM, "replay: out of memory for the clock");
	r->compute_ns = compute_ns;
	r->chunk_ns = chunk_ns;
	gp_policy_set_link(r->policy, chunk_ns);
	return 0;
}

static double later(double a, double b)
{
	return a > b ? a : b;
}

/* The clock: chunk c's copy, asked for at time asked, into the place victim had (NONE: free). */
static void clock_copy(struct gp_replay *r, uint32_t c, uint32_t victim, double asked)
{
	double start = later(r->copy_free, asked);

	if (!r->compute_ns)
		return;
	if (victim != NONE && r->chunk_group[victim] != NONE)
		start = later(start, r->group_end[r->chunk_group[victim]]);
	r->queued[c] = start;
	r->copy_free = r->ready[c] = start + r->chunk_ns;
}

/* The clock: group's acquire returns, then its compute runs. */
static void clock_compute(struct gp_replay *r, uint32_t group)
{
	uint32_t first = r->layout->group_first_chunk[group];
	double start;

	if (!r->compute_ns)
		return;
	for (uint32_t c = first; c < first + r->layout->group_chunk_count[group]; c++)
		r->host = later(r->host, r->queued[c]);
	start = later(r->end, r->host);
	for (uint32_t c = first; c < first + r->layout->group_chunk_count[group]; c++)
		start = later(start, r->ready[c]);
	r->end = r->group_end[group] = start + (double)r->compute_ns[group];
}

/*
 * Make group resident as gp_res_load does: take a place for each absent
 * chunk (free, else the decision's victim, evicted now), then load them
 * all.  A prefetch stops at its first refusal and keeps what it took.
 */
static int load_group(struct gp_replay *r, uint32_t group, bool prefetch, double asked)
{
	uint32_t first = r->layout->group_first_chunk[group];
	uint32_t end = first + r->layout->group_chunk_count[group];
	size_t n = 0;
	int err = 0;

	for (uint32_t c = first; c < end && !err; c++) {
		uint32_t victim = NONE;

		if (r->state[c] != GP_REPLAY_ABSENT)
			continue;
		if (r->n_resident >= r->capacity) {
			err = gp_decide_victim(&r->model, c, prefetch, &victim);
			if (err)
				break;
			if (!replay_evictable(r, victim)) {
				err = gp_fail(GP_ESTATE, "policy %s named chunk %u as victim: %s",
					      gp_policy_name(r->policy), victim,
					      victim < r->layout->n_chunks &&
					      r->state[victim] == GP_REPLAY_RESIDENT
						      ? "it is in use" : "it is not resident");
				break;
			}
			r->state[victim] = GP_REPLAY_ABSENT;
			gp_policy_evicted(r->policy, victim);
			r->counts.evictions++;
		} else {
			r->n_resident++;
		}
		r->state[c] = GP_REPLAY_LOADING;
		r->list[n++] = c;
		clock_copy(r, c, victim, asked);
	}
	if (err == GP_EBUSY && prefetch) {
		r->counts.prefetch_refusals++;
		err = 0;
		gp_clear_error();
	}
	if (err) {
		for (size_t i = 0; i < n; i++)
			r->state[r->list[i]] = GP_REPLAY_ABSENT;
		r->n_resident -= n;
		return err;
	}
	for (size_t i = 0; i < n; i++) {
		r->state[r->list[i]] = GP_REPLAY_RESIDENT;
		gp_policy_loaded(r->policy, r->list[i]);
	}
	if (prefetch)
		r->counts.prefetch_loads += n;
	else
		r->counts.demand_loads += n;
	if (!prefetch && n)
		r->counts.miss_accesses++;
	return 0;
}

int gp_replay_access(struct gp_replay *r, uint32_t group)
{
	uint32_t groups[GP_DECIDE_PREFETCH_MAX];
	size_t n;
	int err;

	if (group >= r->layout->n_groups)
		return gp_fail(GP_EINVAL, "replay: no group %u (the layout has %u)", group,
			       r->layout->n_groups);
	r->counts.accesses++;
	if (r->compute_ns && r->group_end[group] > 0)
		gp_policy_group_time(r->policy, group, r->compute_ns[group]);
	gp_policy_access(r->policy, group);
	r->pinned = group;
	err = load_group(r, group, false, r->host);
	if (err == GP_ENOENT)
		err = gp_fail(GP_ENOENT, "group %u (%u chunks) does not fit in %llu chunks", group,
			      r->layout->group_chunk_count[group], (unsigned long long)r->capacity);
	if (!err) {
		clock_compute(r, group);
		n = gp_policy_prefetch(r->policy, groups, GP_DECIDE_PREFETCH_MAX);
		for (size_t i = 0; i < n && !err; i++)
			err = load_group(r, groups[i], true, r->host);
	}
	r->pinned = NONE;
	for (unsigned i = GP_REPLAY_BUSY_MAX - 1; i > 0; i--)
		r->busy[i] = r->busy[i - 1];
	r->busy[0] = group;
	return err;
}

int gp_replay_trace(const struct gp_policy_layout *layout, const struct gp_replay_opts *o,
		    const uint32_t *groups, size_t n, struct gp_replay_result *res)
{
	struct gp_policy *policy;
	struct gp_replay r;
	struct gp_replay_counts warm = { 0 };
	double warm_end = 0;
	int err;

	*res = (struct gp_replay_result){ 0 };
	err = gp_policy_create(layout, &o->policy, &policy);
	if (err)
		return err;
	err = gp_replay_init(&r, layout, policy, o->policy.capacity_chunks, o->busy_groups);
	if (!err && o->compute_ns)
		err = gp_replay_set_times(&r, o->compute_ns, o->chunk_ns);
	for (size_t i = 0; i < n && !err; i++) {
		if (i == o->warm_accesses) {
			warm = r.counts;
			warm_end = r.end;
		}
		err = gp_replay_access(&r, groups[i]);
		if (err)
			gp_fail_context(err, "replay: access %zu (group %u): ", i, groups[i]);
	}
	if (!err) {
		if (o->warm_accesses >= n) {
			warm = r.counts;
			warm_end = r.end;
		}
		res->counts = (struct gp_replay_counts){
			.accesses = r.counts.accesses - warm.accesses,
			.miss_accesses = r.counts.miss_accesses - warm.miss_accesses,
			.demand_loads = r.counts.demand_loads - warm.demand_loads,
			.prefetch_loads = r.counts.prefetch_loads - warm.prefetch_loads,
			.evictions = r.counts.evictions - warm.evictions,
			.prefetch_refusals = r.counts.prefetch_refusals - warm.prefetch_refusals,
		};
		res->bytes_moved = (res->counts.demand_loads + res->counts.prefetch_loads) *
				   o->chunk_size;
		res->elapsed_ns = r.end - warm_end;
	}
	gp_replay_free(&r);
	gp_policy_destroy(policy);
	return err;
}
