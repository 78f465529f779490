/*
 * decide.h - the engine's residency decisions as pure code (internal):
 * which chunk to evict for a load, and whether a prefetch may evict it.
 * No driver calls, no locks, no I/O: the caller describes its chunks with
 * two predicates and owns the policy.
 *
 * One decision loop: residency.c calls gp_decide_victim under the pager
 * lock; the replay below drives the same functions over a simulated
 * device, and the policy benchmark (gpupager-bench policy), the tests and
 * trace tools use the replay, so what they measure is the code that runs.
 */
#ifndef GP_PAGER_DECIDE_H
#define GP_PAGER_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* Most groups one prefetch round takes from gp_policy_prefetch (the engine's request size). */
#define GP_DECIDE_PREFETCH_MAX 8

/* One model's chunks as the decision sees them. */
struct gp_decide_model {
	struct gp_policy *policy;
	uint32_t n_groups;
	const uint32_t *group_first_chunk;      /* [n_groups] */
	const uint32_t *group_chunk_count;      /* [n_groups] */
	/* [n_groups] gp_hint_done since the group's last acquire; NULL: no hints. */
	const bool *done_hint;
	/* Resident and free to go: not acquired, not being loaded or evicted. */
	gp_policy_can_evict_fn evictable;
	/*
	 * Asked only of evictable chunks: the GPU is past the chunk's last use,
	 * so evicting it does not wait.  NULL: every evictable chunk is idle.
	 * A group's chunks are released together, so within one decision a
	 * group found busy is not asked again (GP_DECIDE_BUSY_MEMO groups are
	 * remembered): one query per busy group instead of one per chunk.
	 */
	gp_policy_can_evict_fn idle;
	const uint32_t *chunk_group;            /* [chunks] UINT32_MAX outside every group */
	void *ctx;                              /* passed to both */
};

#define GP_DECIDE_BUSY_MEMO 8

/*
 * The chunk to evict so that chunk for_chunk of the model can be loaded:
 *
 *   1. the first evictable chunk of a group with a done hint;
 *   2. else a chunk the policy plans to drop anyway that is idle
 *      (gp_policy_victim_planned), so the load need not wait for the
 *      compute still using the policy's first choice;
 *   3. else the policy's choice among the evictable chunks.
 *
 * A prefetch then admits the victim only when gp_decide_prefetch_admits.
 * Returns 0 with *victim set; GP_EBUSY (no new message) for a prefetch
 * refused or with nothing to evict; GP_ENOENT (gp_policy_victim's message)
 * for a demand load with nothing to evict.
 */
int gp_decide_victim(const struct gp_decide_model *m, uint32_t for_chunk, bool prefetch,
		     uint32_t *victim);

/*
 * A prefetch of for_chunk may evict victim only when the victim is needed
 * later than for_chunk, as far as the policy knows (gp_policy_next_use).
 */
bool gp_decide_prefetch_admits(const struct gp_policy *policy, uint32_t victim,
			       uint32_t for_chunk);

/*
 * A chunk of this model given up for another model's demand load: the
 * policy's first choice among the evictable chunks, nothing preferred.
 * GP_ENOENT (with gp_policy_victim's message) when there is none.
 */
int gp_decide_victim_for_other(const struct gp_decide_model *m, uint32_t *victim);

/*
 * A chunk of this model given back to the device (gp_pager_trim, a lowered
 * budget): the first evictable chunk of a done group, else the policy's
 * choice.  idle_only considers only chunks the GPU is past (nothing to
 * wait for); the caller asks every model so before asking for any
 * evictable one.  GP_ENOENT (gp_policy_victim's message) when there is
 * none.
 */
int gp_decide_victim_for_trim(const struct gp_decide_model *m, bool idle_only, uint32_t *victim);

/* ---------------------------------------------------------------- replay */

/*
 * The engine's loop over a sequence of group accesses on a simulated
 * device of capacity chunks, built only on the functions above and the
 * policy.  One access of group g, as gp_acquire_group then the prefetch
 * worker do it:
 *
 *   gp_policy_access(g); g is pinned; for each absent chunk of g in order,
 *   a free chunk while fewer than capacity are held, else gp_decide_victim
 *   (evicted at once); then every chunk taken is loaded (gp_policy_loaded,
 *   in order).  Then each group gp_policy_prefetch names is loaded the same
 *   way as a prefetch: a refusal ends that group, and the next one is
 *   tried, as the worker does.  Then g is released.
 *
 * The replay runs the prefetch before the next access and to its end (the
 * worker keeps up).  busy_groups models the GPU: the chunks of the
 * busy_groups groups accessed before the current one count as still in use
 * on the GPU (not idle), the rest as idle.  0: the GPU keeps up (an app
 * that waits for each group); 1: the group just released is still
 * computing while the next is acquired (`gpupager run`'s loop).
 */
#define GP_REPLAY_BUSY_MAX 4

enum gp_replay_chunk { GP_REPLAY_ABSENT, GP_REPLAY_RESIDENT, GP_REPLAY_LOADING };

struct gp_replay_counts {
	uint64_t accesses;              /* group accesses */
	uint64_t miss_accesses;         /* of them, those that loaded a chunk on demand */
	uint64_t demand_loads;          /* chunk loads for an access */
	uint64_t prefetch_loads;        /* chunk loads ahead of one */
	uint64_t evictions;
	uint64_t prefetch_refusals;     /* prefetched groups stopped by gp_decide_victim */
};

struct gp_replay {
	struct gp_policy *policy;               /* not owned */
	const struct gp_policy_layout *layout;  /* not owned */
	uint64_t capacity;                      /* chunks */
	unsigned busy_groups;
	uint32_t *chunk_group;                  /* [n_chunks], UINT32_MAX outside every group */
	uint8_t *state;                         /* [n_chunks] enum gp_replay_chunk */
	uint64_t n_resident;                    /* chunks held: resident or loading */
	uint32_t *list;                         /* chunks being loaded, [largest group] */
	uint32_t pinned;                        /* the group acquired now, UINT32_MAX: none */
	uint32_t busy[GP_REPLAY_BUSY_MAX];      /* groups accessed before it, latest first */
	struct gp_decide_model model;
	struct gp_replay_counts counts;
	/* The clock (gp_replay_set_times); compute_ns NULL: none. */
	const uint64_t *compute_ns;             /* [n_groups], not owned */
	double chunk_ns;
	double *ready, *queued;                 /* [n_chunks] its latest copy's end, start */
	double *group_end;                      /* [n_groups] end of its latest compute */
	double copy_free, host, end;            /* copy engine free, latest acquire, compute */
};

/* GP_EINVAL for busy_groups above GP_REPLAY_BUSY_MAX, GP_ENOMEM. */
int gp_replay_init(struct gp_replay *r, const struct gp_policy_layout *layout,
		   struct gp_policy *policy, uint64_t capacity, unsigned busy_groups);
void gp_replay_free(struct gp_replay *r);
/* Keep the clock (above) from now on; compute_ns must outlive r.  GP_ENOMEM. */
int gp_replay_set_times(struct gp_replay *r, const uint64_t *compute_ns, double chunk_ns);

/*
 * One access of group (above).  GP_EINVAL for a group out of range,
 * GP_ENOENT when the group does not fit in the capacity (nothing of it
 * stays loading), GP_ESTATE when the decision names a chunk not
 * evictable (a broken policy).
 */
int gp_replay_access(struct gp_replay *r, uint32_t group);

static inline bool gp_replay_resident(const struct gp_replay *r, uint32_t chunk)
{
	return r->state[chunk] == GP_REPLAY_RESIDENT;
}

static inline uint64_t gp_replay_loads(const struct gp_replay *r)
{
	return r->counts.demand_loads + r->counts.prefetch_loads;
}

/* A whole trace at one budget: the entry point for a miss-ratio curve. */
struct gp_replay_opts {
	struct gp_policy_opts policy;   /* capacity_chunks is also the device's capacity */
	unsigned busy_groups;
	size_t warm_accesses;           /* accesses before these are not counted */
	uint64_t chunk_size;            /* bytes per chunk, for bytes_moved (0: bytes_moved 0) */
	const uint64_t *compute_ns;     /* [n_groups] the clock's (gp_replay_set_times); NULL: none */
	double chunk_ns;
};

struct gp_replay_result {
	struct gp_replay_counts counts; /* over the accesses from warm_accesses on */
	uint64_t bytes_moved;           /* (demand + prefetch loads) x chunk_size */
	double elapsed_ns;              /* the clock over the counted accesses (0: no clock) */
};

/*
 * Create the policy, replay groups[0..n) from an empty device and count
 * from access warm_accesses on.  Errors as gp_policy_create and
 * gp_replay_access; the message names the failing access.
 */
int gp_replay_trace(const struct gp_policy_layout *layout, const struct gp_replay_opts *o,
		    const uint32_t *groups, size_t n, struct gp_replay_result *res);

#endif
