/*
 * decide.c - the victim choice and the prefetch admission (see decide.h).
 * Pure: everything it knows about the chunks comes from the caller's
 * predicates, everything about their future from the policy.
 */
#include "decide.h"
#include "error.h"

/* The first chunk of a group the app said it is done with that ok accepts. */
static bool done_victim(const struct gp_decide_model *m, gp_policy_can_evict_fn ok, void *ctx,
			uint32_t *victim)
{
	if (!m->done_hint)
		return false;
	for (uint32_t g = 0; g < m->n_groups; g++) {
		if (!m->done_hint[g])
			continue;
		for (uint32_t i = 0; i < m->group_chunk_count[g]; i++) {
			uint32_t c = m->group_first_chunk[g] + i;

			if (ok(ctx, c)) {
				*victim = c;
				return true;
			}
		}
	}
	return false;
}

/* One decision's view: the model and the groups it found busy (see decide.h). */
struct idle_memo {
	const struct gp_decide_model *m;
	uint32_t busy[GP_DECIDE_BUSY_MEMO];
	unsigned n_busy;                /* entries filled, then the next one replaced */
};

/* Evictable and idle: the predicate gp_policy_victim_planned gets (ctx is the memo). */
static bool evictable_idle(void *ctx, uint32_t c)
{
	struct idle_memo *memo = ctx;
	const struct gp_decide_model *m = memo->m;
	uint32_t g = m->chunk_group ? m->chunk_group[c] : UINT32_MAX;

	if (!m->evictable(m->ctx, c))
		return false;
	if (!m->idle)
		return true;
	for (unsigned i = 0; g != UINT32_MAX && i < memo->n_busy && i < GP_DECIDE_BUSY_MEMO; i++)
		if (memo->busy[i] == g)
			return false;
	if (m->idle(m->ctx, c))
		return true;
	if (g != UINT32_MAX)
		memo->busy[memo->n_busy++ % GP_DECIDE_BUSY_MEMO] = g;
	return false;
}

bool gp_decide_prefetch_admits(const struct gp_policy *policy, uint32_t victim,
			       uint32_t for_chunk)
{
	return gp_policy_next_use(policy, victim) > gp_policy_next_use(policy, for_chunk);
}

int gp_decide_victim(const struct gp_decide_model *m, uint32_t for_chunk, bool prefetch,
		     uint32_t *victim)
{
	struct idle_memo memo = { .m = m };
	uint32_t c;
	int err = 0;

	if (!done_victim(m, m->evictable, m->ctx, &c) &&
	    gp_policy_victim_planned(m->policy, evictable_idle, &memo, &c))
		err = gp_policy_victim(m->policy, m->evictable, m->ctx, &c);
	if (err)
		return prefetch ? GP_EBUSY : err;
	/* A prefetch never evicts what is needed before the chunk it loads. */
	if (prefetch && !gp_decide_prefetch_admits(m->policy, c, for_chunk))
		return GP_EBUSY;
	*victim = c;
	return 0;
}

int gp_decide_victim_for_other(const struct gp_decide_model *m, uint32_t *victim)
{
	return gp_policy_victim(m->policy, m->evictable, m->ctx, victim);
}

int gp_decide_victim_for_trim(const struct gp_decide_model *m, bool idle_only, uint32_t *victim)
{
	struct idle_memo memo = { .m = m };

	if (idle_only) {
		if (done_victim(m, evictable_idle, &memo, victim))
			return 0;
		return gp_policy_victim(m->policy, evictable_idle, &memo, victim);
	}
	if (done_victim(m, m->evictable, m->ctx, victim))
		return 0;
	return gp_policy_victim(m->policy, m->evictable, m->ctx, victim);
}
