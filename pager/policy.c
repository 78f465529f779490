/*
 * policy.c - create/destroy a policy, keep the bookkeeping every policy
 * needs (layout copy, which chunks are resident, per group counts) and
 * dispatch to the chosen policy's operations.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "policy_internal.h"

static const struct gp_policy_ops *policy_ops(int kind)
{
	switch (kind) {
	case GP_POLICY_AUTO:
		return &gp_policy_auto_ops;
	case GP_POLICY_LRU:
		return &gp_policy_lru_ops;
	case GP_POLICY_CLOCK:
		return &gp_policy_clock_ops;
	case GP_POLICY_STATIC:
		return &gp_policy_static_ops;
	case GP_POLICY_PLAN:
		return &gp_policy_plan_ops;
	default:
		return NULL;
	}
}

const char *gp_policy_kind_name(int kind)
{
	const struct gp_policy_ops *ops = policy_ops(kind);

	return ops ? ops->name : NULL;
}

int gp_policy_kind_parse(const char *name, int *kind)
{
	for (int k = 0; policy_ops(k); k++) {
		if (!strcmp(name, policy_ops(k)->name)) {
			*kind = k;
			return 0;
		}
	}
	return gp_fail(GP_EINVAL, "unknown policy '%s': expected auto, lru, clock or static", name);
}

static int check_layout(const struct gp_policy_layout *layout)
{
	if (!layout->n_chunks)
		return gp_fail(GP_EINVAL, "policy: the layout has no chunks");
	for (uint32_t g = 0; g < layout->n_groups; g++) {
		uint64_t end = (uint64_t)layout->group_first_chunk[g] + layout->group_chunk_count[g];

		if (!layout->group_chunk_count[g] || end > layout->n_chunks)
			return gp_fail(GP_EINVAL, "policy: group %u covers chunks [%u, %llu), outside "
				       "the layout's %u chunks or empty", g,
				       layout->group_first_chunk[g], (unsigned long long)end,
				       layout->n_chunks);
	}
	return 0;
}

static int copy_layout(struct gp_policy *p, const struct gp_policy_layout *layout)
{
	uint32_t ng = layout->n_groups, nc = layout->n_chunks;

	p->n_groups = ng;
	p->n_chunks = nc;
	p->group_first = malloc((ng ? ng : 1) * sizeof(*p->group_first));
	p->group_count = malloc((ng ? ng : 1) * sizeof(*p->group_count));
	p->group_block = malloc((ng ? ng : 1) * sizeof(*p->group_block));
	p->group_resident = calloc(ng ? ng : 1, sizeof(*p->group_resident));
	p->chunk_group = malloc(nc * sizeof(*p->chunk_group));
	p->resident = calloc(nc, sizeof(*p->resident));
	p->compute_ns = calloc(ng ? ng : 1, sizeof(*p->compute_ns));
	/* Room for any regrouping (gp_policy_regroup keeps the array: callbacks write into it). */
	p->n_stamps = ng > nc ? ng : nc;
	p->stamps = calloc(2 * (size_t)p->n_stamps, sizeof(*p->stamps));
	p->prev = malloc(nc * sizeof(*p->prev));
	p->next = malloc(nc * sizeof(*p->next));
	if (!p->group_first || !p->group_count || !p->group_block || !p->group_resident ||
	    !p->chunk_group || !p->resident || !p->compute_ns || !p->stamps || !p->prev ||
	    !p->next)
		return gp_fail(GP_ENOMEM, "policy: out of memory for %u groups, %u chunks", ng, nc);
	memcpy(p->group_first, layout->group_first_chunk, ng * sizeof(*p->group_first));
	memcpy(p->group_count, layout->group_chunk_count, ng * sizeof(*p->group_count));
	for (uint32_t g = 0; g < ng; g++)
		p->group_block[g] = layout->group_block_index ? layout->group_block_index[g] : -1;
	for (uint32_t c = 0; c < nc; c++)
		p->chunk_group[c] = GP_POLICY_NONE;
	/* Groups do not overlap in a layout; if they did, the later one owns the chunk. */
	for (uint32_t g = 0; g < ng; g++)
		for (uint32_t i = 0; i < p->group_count[g]; i++)
			p->chunk_group[p->group_first[g] + i] = g;
	for (uint32_t c = 0; c < nc; c++)
		p->prev[c] = p->next[c] = GP_POLICY_NONE;
	gp_chunk_list_init(&p->lru);
	return 0;
}

int gp_policy_create(const struct gp_policy_layout *layout, const struct gp_policy_opts *opts,
		     struct gp_policy **out)
{
	const struct gp_policy_ops *ops = policy_ops(opts->kind);
	struct gp_policy *p;
	int err;

	*out = NULL;
	if (!ops)
		return gp_fail(GP_EINVAL, "policy: unknown policy kind %d (auto, lru, clock, static, plan)",
			       opts->kind);
	err = check_layout(layout);
	if (err)
		return err;
	p = calloc(1, sizeof(*p));
	if (!p)
		return gp_fail(GP_ENOMEM, "policy: out of memory");
	p->opts = *opts;
	p->capacity = opts->capacity_chunks;
	p->chunk_ns = 1.0;
	err = copy_layout(p, layout);
	if (err)
		goto fail;
	p->ops = ops;
	err = ops->init(p, opts);
	if (err) {
		p->ops = NULL;  /* init cleaned up after itself */
		goto fail;
	}
	*out = p;
	return 0;
fail:
	gp_policy_destroy(p);
	return err;
}

void gp_policy_destroy(struct gp_policy *policy)
{
	if (!policy)
		return;
	if (policy->ops)
		policy->ops->fini(policy);
	free(policy->group_first);
	free(policy->group_count);
	free(policy->group_block);
	free(policy->group_resident);
	free(policy->chunk_group);
	free(policy->resident);
	free(policy->compute_ns);
	free(policy->stamps);
	free(policy->prev);
	free(policy->next);
	free(policy);
}

/* Resident chunks of old in recency order (its LRU list, then the rest by index). */
static uint32_t *recency_order(const struct gp_policy *old, uint32_t *n)
{
	uint32_t *order = malloc((old->n_chunks ? old->n_chunks : 1) * sizeof(*order));
	uint8_t *seen = calloc(old->n_chunks ? old->n_chunks : 1, 1);

	*n = 0;
	if (!order || !seen) {
		free(order);
		free(seen);
		return NULL;
	}
	for (uint32_t c = old->lru.head; c != GP_POLICY_NONE; c = old->next[c]) {
		if (old->resident[c] && !seen[c]) {
			seen[c] = 1;
			order[(*n)++] = c;
		}
	}
	for (uint32_t c = 0; c < old->n_chunks; c++)
		if (old->resident[c] && !seen[c])
			order[(*n)++] = c;
	free(seen);
	return order;
}

int gp_policy_regroup(struct gp_policy *policy, const struct gp_policy_layout *layout)
{
	struct gp_policy *fresh = NULL, tmp;
	uint32_t *order, n;
	uint64_t *stamps;
	int err;

	if (layout->n_chunks != policy->n_chunks || layout->n_groups > policy->n_stamps)
		return gp_fail(GP_EINVAL, "policy: regrouping %u chunks into %u groups does not fit "
			       "a policy made for %u chunks", layout->n_chunks, layout->n_groups,
			       policy->n_chunks);
	err = gp_policy_create(layout, &policy->opts, &fresh);
	if (err)
		return err;
	order = recency_order(policy, &n);
	if (!order) {
		gp_policy_destroy(fresh);
		return gp_fail(GP_ENOMEM, "policy: out of memory regrouping %u chunks",
			       policy->n_chunks);
	}
	for (uint32_t i = 0; i < n; i++)
		gp_policy_loaded(fresh, order[i]);
	free(order);
	if (policy->link_known)
		gp_policy_set_link(fresh, policy->chunk_ns);
	/* Stream callbacks may still stamp the old array: the policy keeps it. */
	stamps = fresh->stamps;
	fresh->stamps = policy->stamps;
	policy->stamps = stamps;
	for (uint32_t i = 0; i < 2 * fresh->n_stamps; i++)
		__atomic_store_n(&fresh->stamps[i], 0, __ATOMIC_RELAXED);
	tmp = *policy;
	*policy = *fresh;
	*fresh = tmp;
	gp_policy_destroy(fresh);
	return 0;
}

const char *gp_policy_name(const struct gp_policy *policy)
{
	return policy->ops->name;
}

void gp_policy_access(struct gp_policy *policy, uint32_t group)
{
	if (group >= policy->n_groups)
		return;
	policy->ops->access(policy, group);
}

void gp_policy_loaded(struct gp_policy *policy, uint32_t chunk)
{
	uint32_t g;

	if (chunk >= policy->n_chunks)
		return;
	/* Loaded again without an eviction: forget the old load first. */
	if (policy->resident[chunk])
		gp_policy_evicted(policy, chunk);
	policy->resident[chunk] = 1;
	policy->n_resident++;
	g = policy->chunk_group[chunk];
	if (g != GP_POLICY_NONE)
		policy->group_resident[g]++;
	policy->ops->loaded(policy, chunk);
}

void gp_policy_evicted(struct gp_policy *policy, uint32_t chunk)
{
	uint32_t g;

	if (chunk >= policy->n_chunks || !policy->resident[chunk])
		return;
	policy->ops->evicted(policy, chunk);
	policy->resident[chunk] = 0;
	policy->n_resident--;
	g = policy->chunk_group[chunk];
	if (g != GP_POLICY_NONE)
		policy->group_resident[g]--;
}

int gp_policy_victim(struct gp_policy *policy, gp_policy_can_evict_fn can_evict, void *ctx,
		     uint32_t *chunk)
{
	if (policy->n_resident && !policy->ops->victim(policy, can_evict, ctx, chunk))
		return 0;
	return gp_fail(GP_ENOENT, "policy %s: none of the %llu resident chunks may be evicted",
		       policy->ops->name, (unsigned long long)policy->n_resident);
}

int gp_policy_victim_planned(struct gp_policy *policy, gp_policy_can_evict_fn can_evict,
			     void *ctx, uint32_t *chunk)
{
	if (!policy->ops->planned_victim)
		return GP_ENOENT;
	if (policy->n_resident && !policy->ops->planned_victim(policy, can_evict, ctx, chunk))
		return 0;
	return GP_ENOENT;
}

size_t gp_policy_prefetch(struct gp_policy *policy, uint32_t *groups, size_t max)
{
	if (!policy->ops->prefetch || !max)
		return 0;
	return policy->ops->prefetch(policy, groups, max);
}

uint64_t gp_policy_next_use(const struct gp_policy *policy, uint32_t chunk)
{
	if (!policy->ops->next_use || chunk >= policy->n_chunks)
		return UINT64_MAX;
	return policy->ops->next_use(policy, chunk);
}

bool gp_policy_group_pinned(const struct gp_policy *policy, uint32_t group)
{
	if (!policy->ops->group_pinned || group >= policy->n_groups)
		return false;
	return policy->ops->group_pinned(policy, group);
}

void gp_policy_set_link(struct gp_policy *policy, double chunk_ns)
{
	if (!(chunk_ns > 0) || (policy->link_known && policy->chunk_ns == chunk_ns))
		return;
	policy->chunk_ns = chunk_ns;
	policy->link_known = true;
	policy->timing_gen++;
}

bool gp_policy_link_known(const struct gp_policy *policy)
{
	return policy->link_known;
}

void gp_policy_group_time(struct gp_policy *policy, uint32_t group, uint64_t compute_ns)
{
	uint64_t *est;

	if (group >= policy->n_groups || !compute_ns)
		return;
	est = &policy->compute_ns[group];
	if (!*est)
		*est = compute_ns;
	else if (compute_ns > *est)
		*est += (compute_ns - *est + 3) / 4;
	else
		*est -= (*est - compute_ns) / 4;
	policy->timing_gen++;
}

uint64_t *gp_policy_stamps(struct gp_policy *policy)
{
	return policy->stamps;
}
