/*
 * policy_internal.h - what the policies (policy_*.c) share: the layout copy
 * and residency bookkeeping done once in policy.c, a per-policy operation
 * table, and an intrusive recency list over chunk indices.
 */
#ifndef GP_PAGER_POLICY_INTERNAL_H
#define GP_PAGER_POLICY_INTERNAL_H

#include "gpupager.h"
#include "policy.h"

#define GP_POLICY_NONE UINT32_MAX
/* auto's default number of groups to prefetch ahead. */
#define GP_POLICY_DEFAULT_PREFETCH 2u

/*
 * Chunks in recency order, least recent at head.  The links live in the
 * policy (prev/next arrays), so a chunk is on at most one list at a time.
 */
struct gp_chunk_list {
	uint32_t head, tail;
};

struct gp_policy_ops {
	const char *name;
	int (*init)(struct gp_policy *p, const struct gp_policy_opts *opts);
	void (*fini)(struct gp_policy *p);
	/* Called after the common bookkeeping has been updated. */
	void (*access)(struct gp_policy *p, uint32_t group);
	void (*loaded)(struct gp_policy *p, uint32_t chunk);
	void (*evicted)(struct gp_policy *p, uint32_t chunk);
	int (*victim)(struct gp_policy *p, gp_policy_can_evict_fn can_evict, void *ctx,
		      uint32_t *chunk);
	/* Optional: NULL means no prefetch / next use unknown / nothing pinned / no plan. */
	int (*planned_victim)(struct gp_policy *p, gp_policy_can_evict_fn can_evict, void *ctx,
			      uint32_t *chunk);
	size_t (*prefetch)(struct gp_policy *p, uint32_t *groups, size_t max);
	uint64_t (*next_use)(const struct gp_policy *p, uint32_t chunk);
	bool (*group_pinned)(const struct gp_policy *p, uint32_t group);
};

struct gp_policy {
	const struct gp_policy_ops *ops;
	struct gp_policy_opts opts;     /* as created (gp_policy_regroup makes it again) */
	uint64_t capacity;
	uint32_t n_groups, n_chunks;
	uint32_t *group_first;          /* [n_groups] */
	uint32_t *group_count;          /* [n_groups] */
	int64_t *group_block;           /* [n_groups] */
	uint32_t *chunk_group;          /* [n_chunks], GP_POLICY_NONE outside every group */
	uint8_t *resident;              /* [n_chunks] */
	uint32_t *group_resident;       /* [n_groups] resident chunks of each group */
	uint64_t n_resident;
	/* Timing (gp_policy_set_link, gp_policy_group_time); compute_ns 0: not learned. */
	double chunk_ns;
	bool link_known;
	uint64_t *compute_ns;           /* [n_groups] */
	uint64_t timing_gen;            /* bumped by every change of the two */
	uint64_t *stamps;               /* [2 * n_stamps] the engine's, see gp_policy_stamps */
	uint32_t n_stamps;              /* groups it has room for: max(n_groups, n_chunks) */
	/* Recency links, used by every policy but clock. */
	uint32_t *prev, *next;          /* [n_chunks] */
	struct gp_chunk_list lru;
	void *priv;                     /* the policy's own state */
};

extern const struct gp_policy_ops gp_policy_lru_ops;
extern const struct gp_policy_ops gp_policy_clock_ops;
extern const struct gp_policy_ops gp_policy_static_ops;
extern const struct gp_policy_ops gp_policy_auto_ops;
extern const struct gp_policy_ops gp_policy_plan_ops;

void gp_chunk_list_init(struct gp_chunk_list *list);
void gp_chunk_list_remove(struct gp_policy *p, struct gp_chunk_list *list, uint32_t chunk);
/* Append as most recent; the chunk must not be on a list. */
void gp_chunk_list_push(struct gp_policy *p, struct gp_chunk_list *list, uint32_t chunk);
/* Least recent chunk of list that can_evict accepts, or GP_POLICY_NONE. */
uint32_t gp_chunk_list_oldest(const struct gp_policy *p, const struct gp_chunk_list *list,
			      gp_policy_can_evict_fn can_evict, void *ctx);

/* Move group's resident chunks, in chunk order, to the recent end of the list list_of names. */
void gp_chunk_lists_touch_group(struct gp_policy *p, uint32_t group,
				struct gp_chunk_list *(*list_of)(struct gp_policy *, uint32_t));

/*
 * The plain LRU behaviour on p->lru, which static and auto reuse: access
 * moves the group's resident chunks to the recent end, a load appends, an
 * eviction unlinks.
 */
void gp_lru_access(struct gp_policy *p, uint32_t group);
void gp_lru_loaded(struct gp_policy *p, uint32_t chunk);
void gp_lru_evicted(struct gp_policy *p, uint32_t chunk);
int gp_lru_victim(struct gp_policy *p, gp_policy_can_evict_fn can_evict, void *ctx,
		  uint32_t *chunk);

#endif
