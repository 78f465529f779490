/*
 * policy_schedule.c - a schedule's bookkeeping, victim choice and prefetch
 * room (see policy_schedule.h).
 *
 * The victim is Belady's MIN over the sequence with the kept heads last:
 * chunks beyond the kept heads first, then kept ones; within each, groups
 * that never come back, then the furthest next use first, the highest
 * chunk of a group first so a partly evicted group keeps its head.
 */
#include <stdlib.h>

#include "error.h"
#include "policy_schedule.h"

int gp_schedule_init(struct gp_schedule *s, const struct gp_policy *p)
{
	size_t ng = p->n_groups ? p->n_groups : 1;

	s->n_orphans = 0;
	for (uint32_t c = 0; c < p->n_chunks; c++)
		s->n_orphans += p->chunk_group[c] == GP_POLICY_NONE;
	s->dist = calloc(ng, sizeof(*s->dist));
	s->order = calloc(ng, sizeof(*s->order));
	s->absent = calloc(ng, sizeof(*s->absent));
	s->orphans = calloc(s->n_orphans ? s->n_orphans : 1, sizeof(*s->orphans));
	s->keep = calloc(ng, sizeof(*s->keep));
	s->over = calloc(ng, sizeof(*s->over));
	if (!s->dist || !s->order || !s->absent || !s->orphans || !s->keep || !s->over)
		return GP_ENOMEM;
	s->n_orphans = 0;
	for (uint32_t c = 0; c < p->n_chunks; c++)
		if (p->chunk_group[c] == GP_POLICY_NONE)
			s->orphans[s->n_orphans++] = c;
	return 0;
}

void gp_schedule_fini(struct gp_schedule *s)
{
	free(s->dist);
	free(s->order);
	free(s->absent);
	free(s->orphans);
	free(s->keep);
	free(s->over);
}

void gp_schedule_start(struct gp_schedule *s, const struct gp_policy *p, const uint32_t *seq,
		       uint32_t period, uint32_t pos)
{
	for (uint32_t g = 0; g < p->n_groups; g++)
		s->dist[g] = UINT64_MAX;
	s->n_order = 0;
	gp_schedule_at(s, seq, period, pos);
	s->n_absent = 0;
	for (uint32_t g = 0; g < p->n_groups; g++)
		if (s->dist[g] == UINT64_MAX)
			s->absent[s->n_absent++] = g;
}

void gp_schedule_at(struct gp_schedule *s, const uint32_t *seq, uint32_t period, uint32_t pos)
{
	uint32_t n = 0;

	/* Only the groups of seq have a distance: the others stay UINT64_MAX from the start. */
	for (uint32_t i = 0; i < s->n_order; i++)
		s->dist[s->order[i]] = UINT64_MAX;
	/* order[] is filled nearest first, then read from its end. */
	for (uint32_t k = 1; k <= period; k++) {
		uint32_t g = seq[(pos + k) % period];

		if (s->dist[g] == UINT64_MAX) {
			s->dist[g] = k;
			s->order[n++] = g;
		}
	}
	s->n_order = n;
}

void gp_schedule_recount(struct gp_schedule *s, const struct gp_policy *p)
{
	s->n_over = 0;
	for (uint32_t g = 0; g < p->n_groups; g++) {
		uint32_t first = p->group_first[g];

		s->over[g] = 0;
		for (uint32_t c = first + s->keep[g]; c < first + p->group_count[g]; c++)
			s->over[g] += p->resident[c];
		s->n_over += s->over[g];
	}
}

void gp_schedule_count(struct gp_schedule *s, const struct gp_policy *p, uint32_t chunk,
		       int delta)
{
	uint32_t g = p->chunk_group[chunk];

	if (g == GP_POLICY_NONE || chunk - p->group_first[g] < s->keep[g])
		return;
	s->over[g] += (uint32_t)delta;
	s->n_over += (uint64_t)(int64_t)delta;
}

/* The highest chunk of group in [lo, hi) (offsets in the group) that may be evicted. */
static uint32_t group_victim(const struct gp_policy *p, uint32_t group, uint32_t lo, uint32_t hi,
			     gp_policy_can_evict_fn can_evict, void *ctx)
{
	uint32_t first = p->group_first[group];

	for (uint32_t c = first + hi; c-- > first + lo;)
		if (p->resident[c] && can_evict(ctx, c))
			return c;
	return GP_POLICY_NONE;
}

/* gp_schedule_planned's choice, GP_POLICY_NONE for none. */
static uint32_t planned(const struct gp_schedule *s, const struct gp_policy *p,
			gp_policy_can_evict_fn can_evict, void *ctx)
{
	uint32_t c = GP_POLICY_NONE;

	for (uint32_t i = s->n_orphans; c == GP_POLICY_NONE && i-- > 0;)
		if (p->resident[s->orphans[i]] && can_evict(ctx, s->orphans[i]))
			c = s->orphans[i];
	for (uint32_t i = s->n_absent; c == GP_POLICY_NONE && i-- > 0;)
		if (p->group_resident[s->absent[i]])
			c = group_victim(p, s->absent[i], 0, p->group_count[s->absent[i]], can_evict,
					 ctx);
	for (uint32_t i = s->n_order; c == GP_POLICY_NONE && i-- > 0;) {
		uint32_t g = s->order[i];

		if (s->over[g])
			c = group_victim(p, g, s->keep[g], p->group_count[g], can_evict, ctx);
	}
	return c;
}

/* c, a chunk or GP_POLICY_NONE, as a victim function's result. */
static int found(uint32_t c, uint32_t *chunk)
{
	if (c == GP_POLICY_NONE)
		return GP_ENOENT;
	*chunk = c;
	return 0;
}

int gp_schedule_planned(const struct gp_schedule *s, const struct gp_policy *p,
			gp_policy_can_evict_fn can_evict, void *ctx, uint32_t *chunk)
{
	return found(planned(s, p, can_evict, ctx), chunk);
}

int gp_schedule_victim(const struct gp_schedule *s, const struct gp_policy *p,
		       gp_policy_can_evict_fn can_evict, void *ctx, uint32_t *chunk)
{
	uint32_t c = planned(s, p, can_evict, ctx);

	for (uint32_t i = s->n_order; c == GP_POLICY_NONE && i-- > 0;) {
		uint32_t g = s->order[i];

		if (p->group_resident[g] > s->over[g])
			c = group_victim(p, g, 0, s->keep[g], can_evict, ctx);
	}
	return found(c, chunk);
}

int64_t gp_schedule_room(const struct gp_schedule *s, const struct gp_policy *p, uint32_t cur)
{
	int64_t room = (int64_t)s->n_over - s->over[cur];

	if (p->capacity > p->n_resident)
		room += (int64_t)(p->capacity - p->n_resident);
	return room;
}

uint32_t gp_schedule_prefetch_cost(const struct gp_schedule *s, const struct gp_policy *p,
				   uint32_t group)
{
	return s->over[group] + (p->group_count[group] - p->group_resident[group]);
}
