/*
 * policy_plan.c - follow a compiled plan (plan.h): keep each group's
 * planned head resident, evict in the planned order, prefetch each group
 * its planned distance ahead.
 *
 * The plan knows the step's access sequence from the start, so nothing is
 * learned: the first access finds its place in the sequence and each
 * later one must be the one due.  The victim, among the chunks the engine
 * may evict: chunks outside every group, then groups the sequence never
 * uses, then the chunks beyond each group's kept head, then kept chunks;
 * within each, the group whose next use lies furthest ahead first, its
 * highest chunk first (Belady's MIN over the planned sequence).
 *
 * An auto policy is kept beside it and told every event, so that when an
 * access departs from the plan the policy logs one line and hands every
 * decision to auto from then on, with auto's history and residency
 * already up to date.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "plan.h"
#include "policy_schedule.h"

struct plan_state {
	const struct gp_plan *plan;
	struct gp_policy *fallback;     /* auto, told everything */
	bool departed;
	bool started;
	uint32_t pos;                   /* index in seq of the latest access */
	struct gp_schedule sched;       /* keep: the plan's, none for absent groups */
	uint64_t *loads;                /* [n_groups] chunk loads counted (the compiler reads them) */
};

static void depart(struct gp_policy *p, struct plan_state *s, uint32_t group, const char *why)
{
	(void)p;
	s->departed = true;
	gp_log_warn("policy plan: %s (group %u); falling back to auto", why, group);
}

static void plan_access(struct gp_policy *p, uint32_t group)
{
	struct plan_state *s = p->priv;
	const struct gp_plan *pl = s->plan;

	gp_policy_access(s->fallback, group);
	if (s->departed)
		return;
	if (!s->started) {
		uint32_t i;

		for (i = 0; i < pl->period && pl->seq[i] != group; i++)
			;
		if (i == pl->period) {
			depart(p, s, group, "the first access is to a group the plan never uses");
			return;
		}
		s->started = true;
		s->pos = i;
	} else {
		uint32_t next = s->pos + 1 == pl->period ? 0 : s->pos + 1;

		if (pl->seq[next] != group) {
			char why[96];

			snprintf(why, sizeof(why), "the accesses depart from the plan at step "
				 "position %u, where group %u was due", next, pl->seq[next]);
			depart(p, s, group, why);
			return;
		}
		s->pos = next;
	}
	gp_schedule_at(&s->sched, pl->seq, pl->period, s->pos);
}

static void plan_loaded(struct gp_policy *p, uint32_t chunk)
{
	struct plan_state *s = p->priv;
	uint32_t g = p->chunk_group[chunk];

	gp_policy_loaded(s->fallback, chunk);
	if (g != GP_POLICY_NONE)
		s->loads[g]++;
	gp_schedule_count(&s->sched, p, chunk, 1);
}

static void plan_evicted(struct gp_policy *p, uint32_t chunk)
{
	struct plan_state *s = p->priv;

	gp_policy_evicted(s->fallback, chunk);
	gp_schedule_count(&s->sched, p, chunk, -1);
}

static int plan_planned_victim(struct gp_policy *p, gp_policy_can_evict_fn can_evict, void *ctx,
			       uint32_t *chunk)
{
	struct plan_state *s = p->priv;

	if (s->departed)
		return gp_policy_victim_planned(s->fallback, can_evict, ctx, chunk);
	if (!s->started)
		return GP_ENOENT;
	return gp_schedule_planned(&s->sched, p, can_evict, ctx, chunk);
}

static int plan_victim(struct gp_policy *p, gp_policy_can_evict_fn can_evict, void *ctx,
		       uint32_t *chunk)
{
	struct plan_state *s = p->priv;

	if (s->departed)
		return gp_policy_victim(s->fallback, can_evict, ctx, chunk);
	/* Before the first access every group is ordered by the sequence's end. */
	return gp_schedule_victim(&s->sched, p, can_evict, ctx, chunk);
}

/*
 * Groups due within their planned distance, nearest first, as long as
 * they fit in free chunks and chunks beyond the kept heads (outside the
 * group in use): prefetching further would evict kept chunks.
 */
static size_t plan_prefetch(struct gp_policy *p, uint32_t *groups, size_t max)
{
	struct plan_state *s = p->priv;
	const struct gp_plan *pl = s->plan;
	uint32_t cur;
	int64_t room;
	size_t n = 0;

	if (s->departed)
		return gp_policy_prefetch(s->fallback, groups, max);
	if (!s->started)
		return 0;
	cur = pl->seq[s->pos];
	room = gp_schedule_room(&s->sched, p, cur);
	for (uint32_t k = 1; k <= GP_PLAN_PREFETCH_MAX && k < pl->period && n < max; k++) {
		uint32_t g = pl->seq[(s->pos + k) % pl->period];
		bool dup = g == cur;

		for (size_t i = 0; i < n && !dup; i++)
			dup = groups[i] == g;
		if (dup || s->plan->pf[g] < k)
			continue;
		if (p->group_resident[g] == p->group_count[g])
			continue;
		room -= gp_schedule_prefetch_cost(&s->sched, p, g);
		if (room < 0)
			break;
		groups[n++] = g;
	}
	return n;
}

static uint64_t plan_next_use(const struct gp_policy *p, uint32_t chunk)
{
	const struct plan_state *s = p->priv;
	uint32_t g = p->chunk_group[chunk];

	if (s->departed)
		return gp_policy_next_use(s->fallback, chunk);
	if (!s->started || g == GP_POLICY_NONE)
		return UINT64_MAX;
	return s->sched.dist[g];
}

static void plan_fini(struct gp_policy *p)
{
	struct plan_state *s = p->priv;

	if (!s)
		return;
	gp_policy_destroy(s->fallback);
	gp_schedule_fini(&s->sched);
	free(s->loads);
	free(s);
}

static int plan_init(struct gp_policy *p, const struct gp_policy_opts *opts)
{
	const struct gp_plan *pl = opts->plan;
	struct gp_policy_layout layout = {
		.n_groups = p->n_groups, .n_chunks = p->n_chunks,
		.group_first_chunk = p->group_first, .group_chunk_count = p->group_count,
		.group_block_index = p->group_block,
	};
	struct gp_policy_opts aopts = { .kind = GP_POLICY_AUTO, .capacity_chunks = opts->capacity_chunks };
	size_t ng = p->n_groups ? p->n_groups : 1;
	struct plan_state *s;
	int err;

	if (!pl)
		return gp_fail(GP_EINVAL, "policy plan: no plan given (GPUPAGER_PLAN, "
			       "gp_pager_options.plan or gpupager run --plan)");
	if (pl->n_groups != p->n_groups || !pl->period)
		return gp_fail(GP_EINVAL, "policy plan: the plan has %u groups, the model %u",
			       pl->n_groups, p->n_groups);
	for (uint32_t g = 0; g < p->n_groups; g++)
		if (pl->first[g] != p->group_first[g] || pl->count[g] != p->group_count[g])
			return gp_fail(GP_EINVAL, "policy plan: group %u of the plan covers chunks "
				       "[%u, +%u), the model's [%u, +%u)", g, pl->first[g],
				       pl->count[g], p->group_first[g], p->group_count[g]);
	s = calloc(1, sizeof(*s));
	if (!s)
		return gp_fail(GP_ENOMEM, "policy plan: out of memory");
	s->plan = pl;
	s->loads = calloc(ng, sizeof(*s->loads));
	p->priv = s;
	if (!s->loads || gp_schedule_init(&s->sched, p)) {
		plan_fini(p);
		p->priv = NULL;
		return gp_fail(GP_ENOMEM, "policy plan: out of memory for %u groups", p->n_groups);
	}
	err = gp_policy_create(&layout, &aopts, &s->fallback);
	if (err) {
		plan_fini(p);
		p->priv = NULL;
		return err;
	}
	/* The plan's room, when the pager's budget is larger (the app's allocations beside it). */
	if (pl->capacity && pl->capacity < p->capacity)
		p->capacity = pl->capacity;
	/* Before the first access: distances as seen from the sequence's end. */
	s->pos = pl->period - 1;
	gp_schedule_start(&s->sched, p, pl->seq, pl->period, s->pos);
	/* Groups the sequence never uses keep nothing: keep[] starts zeroed. */
	for (uint32_t g = 0; g < p->n_groups; g++)
		if (s->sched.dist[g] != UINT64_MAX)
			s->sched.keep[g] = pl->keep[g] < p->group_count[g] ? pl->keep[g] :
					   p->group_count[g];
	return 0;
}

const uint64_t *gp_policy_plan_group_loads(const struct gp_policy *policy)
{
	const struct plan_state *s = policy->ops == &gp_policy_plan_ops ? policy->priv : NULL;

	return s ? s->loads : NULL;
}

int gp_policy_plan_departed(const struct gp_policy *policy)
{
	const struct plan_state *s = policy->ops == &gp_policy_plan_ops ? policy->priv : NULL;

	return s ? s->departed : 0;
}

const struct gp_policy_ops gp_policy_plan_ops = {
	.name = "plan",
	.init = plan_init,
	.fini = plan_fini,
	.access = plan_access,
	.loaded = plan_loaded,
	.evicted = plan_evicted,
	.victim = plan_victim,
	.planned_victim = plan_planned_victim,
	.prefetch = plan_prefetch,
	.next_use = plan_next_use,
};
