/*
 * plan.h - compiled residency plans (internal; the API is in gpupager.h,
 * "plans"): what `pagerstat plan` compiles from a trace and the plan
 * policy (policy_plan.c) follows.
 *
 * A plan is, for one model layout and one budget: the step's group
 * access sequence, how many head chunks of each group stay resident
 * across the step (all of them: the group is resident; fewer: streamed),
 * and how many accesses ahead each group is prefetched.  Eviction order
 * follows from it: chunks outside the plan, then the chunks beyond each
 * group's kept head, then kept chunks; within each, the group needed
 * furthest ahead in the sequence first, its highest chunk first.
 */
#ifndef GP_PAGER_PLAN_H
#define GP_PAGER_PLAN_H

#include <stdint.h>

#include "gpupager.h"

/* Most groups ahead a plan prefetches. */
#define GP_PLAN_PREFETCH_MAX 4u
#define GP_PLAN_CANDIDATES_MAX 16u

struct gp_plan_cand {
	char schedule[16];              /* "static" or "min" */
	uint32_t prefetch;
	uint64_t bytes_per_step;
	double step_ns;
};

struct gp_plan {
	uint32_t version;
	char *source;                   /* the traced model's path */
	uint64_t fingerprint, chunk_size;
	uint32_t n_chunks, n_groups;
	uint64_t budget, capacity;      /* bytes; chunks */
	double link_gbps, compute_ns;
	char schedule[16];
	uint32_t prefetch;              /* the schedule's prefetch distance */
	uint64_t bytes_per_step;
	double step_ns;
	uint32_t *seq;                  /* [period] the step's accesses, model group indices */
	uint32_t period;
	char **name;                    /* [n_groups] */
	uint32_t *first, *count;        /* [n_groups] chunks */
	uint32_t *keep;                 /* [n_groups] head chunks kept across the step */
	uint32_t *pf;                   /* [n_groups] accesses ahead the group is prefetched */
	uint64_t *group_bytes;          /* [n_groups] predicted H2D bytes per step */
	double *group_compute_ns, *group_load_ns;       /* [n_groups] per step */
	struct gp_plan_cand cand[GP_PLAN_CANDIDATES_MAX];
	uint32_t n_cand;
	int chosen;                     /* index in cand */
};

/* A plan with n_groups groups and a sequence of period accesses, arrays zeroed. */
int gp_plan_alloc(uint32_t n_groups, uint32_t period, struct gp_plan **out);

/*
 * Whether a model's layout is the plan's: 0, or GP_EINVAL naming both
 * fingerprints ("plan ... was compiled for another model").
 */
int gp_plan_check_layout(const struct gp_plan *plan, uint64_t fingerprint, const char *model);

/* The plan policy's load counters, per group (policy_plan.c; for the compiler). */
struct gp_policy;
const uint64_t *gp_policy_plan_group_loads(const struct gp_policy *policy);
/* 1 once the plan policy has fallen back to auto. */
int gp_policy_plan_departed(const struct gp_policy *policy);

#endif
