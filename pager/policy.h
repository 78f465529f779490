/*
 * policy.h - which device chunks to evict and which groups to prefetch
 * (internal).  One interface, four policies (GPUPAGER_POLICY):
 *
 *   lru     evict the least recently used chunk (baseline)
 *   clock   second-chance approximation of LRU (baseline)
 *   static  block swap: the groups of the swap-block ranges are streamed,
 *           every other group stays resident once loaded (evicted only
 *           when nothing streamed is left to evict)
 *   auto    (default) learns one iteration's group access sequence, then
 *           evicts the chunk whose next use in that sequence lies furthest
 *           ahead (Belady's MIN over the learned sequence) and prefetches
 *           the next groups; when accesses stop matching the sequence it
 *           behaves as LRU and learns again
 *   plan    follows a compiled plan (plan.h, `pagerstat plan`): its
 *           resident set, eviction order and prefetch distances; falls
 *           back to auto (one log line) when the accesses depart from it
 *
 * The unit of residency is a chunk, the unit of access a group (a
 * contiguous run of chunks).  A policy only decides: the engine tells it
 * what happened (access, load, evict) and asks it for a victim among the
 * chunks it may evict.  Not thread-safe: the engine calls a model's policy
 * under its lock.  Policies are pure CPU code: decide.h makes the engine's
 * choices from them, and its replay drives them without a device for the
 * policy benchmark and the tests.
 */
#ifndef GP_PAGER_POLICY_H
#define GP_PAGER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct gp_policy;
struct gp_plan;

/* The shape a policy works over: groups as runs of chunks. */
struct gp_policy_layout {
	uint32_t n_groups;
	uint32_t n_chunks;
	const uint32_t *group_first_chunk;      /* [n_groups] */
	const uint32_t *group_chunk_count;      /* [n_groups] */
	/* Block index of each group (-1: not a repeated block), for static's ranges. */
	const int64_t *group_block_index;       /* [n_groups] */
};

struct gp_policy_opts {
	int kind;                       /* enum gp_policy_kind */
	uint64_t capacity_chunks;       /* device chunks this model may hold */
	const char *swap_blocks;        /* static: block ranges to stream ("20-39"); NULL: chosen from capacity */
	uint32_t prefetch_groups;       /* auto: groups ahead to prefetch at most; 0: default (2) */
	const struct gp_plan *plan;     /* plan: the compiled plan (plan.h), not owned; kept while the policy lives */
};

/* The name of a policy kind ("auto"), or NULL for none. */
const char *gp_policy_kind_name(int kind);
/* The kind called name; GP_EINVAL naming the accepted ones otherwise. */
int gp_policy_kind_parse(const char *name, int *kind);

/* GP_EINVAL for a bad swap-blocks text (messages exactly as gp_ranges_parse). */
int gp_policy_create(const struct gp_policy_layout *layout, const struct gp_policy_opts *opts,
		     struct gp_policy **out);
void gp_policy_destroy(struct gp_policy *policy);
/*
 * Replace the groups over the same chunks (a heap grouped by tensor names
 * once the app has copied its weights in): the policy starts learning
 * again, with the resident chunks in their recency order and the link
 * kept.  All or nothing: on error (GP_ENOMEM, GP_EINVAL for another chunk
 * count) the policy is unchanged.
 */
int gp_policy_regroup(struct gp_policy *policy, const struct gp_policy_layout *layout);
const char *gp_policy_name(const struct gp_policy *policy);

/* The app acquires group: called once per acquire, before its chunks are loaded. */
void gp_policy_access(struct gp_policy *policy, uint32_t group);
/* A chunk became resident (demand or prefetch) / was evicted. */
void gp_policy_loaded(struct gp_policy *policy, uint32_t chunk);
void gp_policy_evicted(struct gp_policy *policy, uint32_t chunk);

/*
 * Choose a resident chunk to evict among those with can_evict(ctx, chunk)
 * true (the engine excludes chunks in use or in flight).  GP_ENOENT when
 * there is none.
 */
typedef bool (*gp_policy_can_evict_fn)(void *ctx, uint32_t chunk);
int gp_policy_victim(struct gp_policy *policy, gp_policy_can_evict_fn can_evict, void *ctx,
		     uint32_t *chunk);

/*
 * A victim among can_evict's chunks that the policy plans to evict anyway
 * in this iteration, in any order (auto: chunks beyond a group's kept
 * head, or outside the learned sequence; static: streamed blocks).
 * GP_ENOENT, without a message, when there is none or the policy has no
 * plan (lru, clock: every resident chunk is a candidate in LRU order).
 * The engine's decision (decide.h) asks this with "idle on the GPU" added
 * to can_evict, so that it evicts without waiting when the plan allows.
 */
int gp_policy_victim_planned(struct gp_policy *policy, gp_policy_can_evict_fn can_evict,
			     void *ctx, uint32_t *chunk);

/*
 * Groups worth prefetching now, nearest first (at most max): auto returns
 * the next groups of the learned sequence after the last access, others
 * return 0.  The engine loads them only into free chunks or by evicting
 * chunks whose next use is later (gp_policy_next_use tells).
 */
size_t gp_policy_prefetch(struct gp_policy *policy, uint32_t *groups, size_t max);

/*
 * Distance (in group accesses) until chunk is next used, as far as the
 * policy knows; UINT64_MAX when unknown or never.  Lets the engine refuse
 * a prefetch that would evict something needed sooner.
 */
uint64_t gp_policy_next_use(const struct gp_policy *policy, uint32_t chunk);

/*
 * The times auto's cost model weighs (other policies keep them unused):
 * the link's time to copy one chunk, and a group's compute per use,
 * learned (each sample moves the estimate a quarter of the way).  A group
 * not timed yet counts as computing in no time (nothing to hide copies
 * behind: auto then plans the fewest bytes).  The engine gives the pager's measured link, else
 * GP_POLICY_DEFAULT_LINK_GBPS (a PCIe 4.0 x16 link).
 */
#define GP_POLICY_DEFAULT_LINK_GBPS 25.0
void gp_policy_set_link(struct gp_policy *policy, double chunk_ns);
void gp_policy_group_time(struct gp_policy *policy, uint32_t group, uint64_t compute_ns);
/* Whether gp_policy_set_link has been called. */
bool gp_policy_link_known(const struct gp_policy *policy);

/*
 * Two slots per group, [2 * group] for the start of its compute on the
 * GPU and [2 * group + 1] for its end, written (__atomic, CLOCK_MONOTONIC
 * ns) by the engine's stream callbacks (prefetch.c); the policy never
 * reads them.  They live as long as the policy.
 */
uint64_t *gp_policy_stamps(struct gp_policy *policy);

/* static: true if the group is kept resident (not in the swap ranges). */
bool gp_policy_group_pinned(const struct gp_policy *policy, uint32_t group);

#endif
