/*
 * policy_schedule.h - a schedule over a cyclic access sequence, what auto
 * (over the iteration it learned) and plan (over the compiled one) share:
 * each group's distance to its next use and the groups ordered by it, the
 * head chunks of each group kept across the iteration and the resident
 * chunks beyond them, the victim choice that follows, and the room the
 * schedule leaves for prefetch.  The sequence itself stays with the policy.
 */
#ifndef GP_PAGER_POLICY_SCHEDULE_H
#define GP_PAGER_POLICY_SCHEDULE_H

#include "policy_internal.h"

struct gp_schedule {
	uint64_t *dist;                 /* [n_groups] accesses until next use; UINT64_MAX: never */
	uint32_t *order;                /* [n_groups] groups of seq, nearest next use first */
	uint32_t n_order;
	uint32_t *absent;               /* [n_groups] groups not in seq */
	uint32_t n_absent;
	uint32_t *orphans;              /* chunks outside every group */
	uint32_t n_orphans;
	uint32_t *keep;                 /* [n_groups] head chunks kept across the iteration */
	uint32_t *over;                 /* [n_groups] resident chunks beyond keep */
	uint64_t n_over;
};

/*
 * Allocate for p's layout and list its orphans; GP_ENOMEM (not reported) on
 * failure, after which gp_schedule_fini still frees what was allocated.
 * The schedule must start zeroed, so that fini is safe before init.
 */
int gp_schedule_init(struct gp_schedule *s, const struct gp_policy *p);
void gp_schedule_fini(struct gp_schedule *s);

/* A new sequence whose latest access is seq[pos]: distances, order and absent groups. */
void gp_schedule_start(struct gp_schedule *s, const struct gp_policy *p, const uint32_t *seq,
		       uint32_t period, uint32_t pos);
/* The latest access moved to seq[pos] of the same sequence: distances and order again. */
void gp_schedule_at(struct gp_schedule *s, const uint32_t *seq, uint32_t period, uint32_t pos);

/* Recount over[] and n_over from residency after keep[] changed. */
void gp_schedule_recount(struct gp_schedule *s, const struct gp_policy *p);
/* A chunk was loaded (delta 1) or evicted (-1): count it if it lies beyond its group's keep. */
void gp_schedule_count(struct gp_schedule *s, const struct gp_policy *p, uint32_t chunk,
		       int delta);

/*
 * The schedule's victims that cost no kept chunk: chunks outside every
 * group, then groups the sequence never uses, then chunks beyond each
 * group's kept head.  GP_ENOENT (not reported) when can_evict accepts none.
 */
int gp_schedule_planned(const struct gp_schedule *s, const struct gp_policy *p,
			gp_policy_can_evict_fn can_evict, void *ctx, uint32_t *chunk);
/* gp_schedule_planned, then kept chunks; GP_ENOENT (not reported) when none may go. */
int gp_schedule_victim(const struct gp_schedule *s, const struct gp_policy *p,
		       gp_policy_can_evict_fn can_evict, void *ctx, uint32_t *chunk);

/*
 * Chunks a prefetch may fill while group cur is in use without evicting a
 * kept chunk: the free ones and those beyond the kept heads outside cur.
 */
int64_t gp_schedule_room(const struct gp_schedule *s, const struct gp_policy *p, uint32_t cur);
/*
 * What prefetching group takes from that room: its chunks not resident,
 * and its chunks beyond keep, which the room counted as free to evict.
 */
uint32_t gp_schedule_prefetch_cost(const struct gp_schedule *s, const struct gp_policy *p,
				   uint32_t group);

#endif
