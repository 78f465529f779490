/*
 * policy_static.c - block swap.  The groups whose block index is in the
 * swap ranges are streamed; every other group stays resident once loaded.
 * Victims come from the streamed chunks first (least recent first), and
 * from the pinned ones only when no streamed chunk may be evicted.
 *
 * Without ranges the streamed set is chosen from the capacity: the fewest
 * blocks (largest first) such that the pinned groups plus two of the
 * largest streamed group (one in use, one loading) fit.
 */
#include <stdlib.h>

#include "error.h"
#include "log.h"
#include "policy_internal.h"

struct static_state {
	uint8_t *pinned;                /* [n_groups] */
	struct gp_chunk_list streamed;  /* resident chunks of streamed groups (and of none) */
	struct gp_chunk_list kept;      /* resident chunks of pinned groups */
};

/* One block index and the chunks of the groups carrying it. */
struct block_size {
	int64_t index;
	uint64_t chunks;        /* all its groups */
	uint64_t largest;       /* its largest group */
};

static int cmp_block_size(const void *a, const void *b)
{
	const struct block_size *x = a, *y = b;

	if (x->chunks != y->chunks)
		return x->chunks > y->chunks ? -1 : 1;
	return x->index > y->index ? -1 : x->index < y->index;
}

static int pin_from_ranges(struct gp_policy *p, struct static_state *s, const char *text)
{
	struct gp_ranges *ranges;
	int err = gp_ranges_parse(text, &ranges);

	if (err)
		return err;     /* gp_ranges_parse's message, unchanged */
	for (uint32_t g = 0; g < p->n_groups; g++)
		s->pinned[g] = !(p->group_block[g] >= 0 &&
				 gp_ranges_contains(ranges, (uint64_t)p->group_block[g]));
	gp_ranges_free(ranges);
	return 0;
}

static int pin_from_capacity(struct gp_policy *p, struct static_state *s)
{
	struct block_size *blocks = calloc(p->n_groups ? p->n_groups : 1, sizeof(*blocks));
	uint64_t pinned = 0, largest = 0;
	size_t n_blocks = 0, streamed = 0;

	if (!blocks)
		return gp_fail(GP_ENOMEM, "policy static: out of memory");
	for (uint32_t g = 0; g < p->n_groups; g++) {
		size_t b;

		s->pinned[g] = 1;
		pinned += p->group_count[g];
		if (p->group_block[g] < 0)
			continue;
		for (b = 0; b < n_blocks && blocks[b].index != p->group_block[g]; b++)
			;
		if (b == n_blocks)
			blocks[n_blocks++].index = p->group_block[g];
		blocks[b].chunks += p->group_count[g];
		if (p->group_count[g] > blocks[b].largest)
			blocks[b].largest = p->group_count[g];
	}
	qsort(blocks, n_blocks, sizeof(*blocks), cmp_block_size);
	while (streamed < n_blocks && pinned + 2 * largest > p->capacity) {
		struct block_size *b = &blocks[streamed++];

		pinned -= b->chunks;
		if (b->largest > largest)
			largest = b->largest;
		for (uint32_t g = 0; g < p->n_groups; g++)
			if (p->group_block[g] == b->index)
				s->pinned[g] = 0;
	}
	if (pinned + 2 * largest > p->capacity)
		gp_log_debug("policy static: %llu chunks do not hold the groups outside blocks plus "
			     "two streamed blocks; pinned groups will be evicted too",
			     (unsigned long long)p->capacity);
	free(blocks);
	return 0;
}

static int static_init(struct gp_policy *p, const struct gp_policy_opts *opts)
{
	struct static_state *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return gp_fail(GP_ENOMEM, "policy static: out of memory");
	s->pinned = calloc(p->n_groups ? p->n_groups : 1, 1);
	if (!s->pinned) {
		err = gp_fail(GP_ENOMEM, "policy static: out of memory");
		goto fail;
	}
	gp_chunk_list_init(&s->streamed);
	gp_chunk_list_init(&s->kept);
	err = opts->swap_blocks ? pin_from_ranges(p, s, opts->swap_blocks) : pin_from_capacity(p, s);
	if (err)
		goto fail;
	p->priv = s;
	return 0;
fail:
	free(s->pinned);
	free(s);
	return err;
}

static void static_fini(struct gp_policy *p)
{
	struct static_state *s = p->priv;

	free(s->pinned);
	free(s);
}

static struct gp_chunk_list *list_of(struct gp_policy *p, uint32_t chunk)
{
	struct static_state *s = p->priv;
	uint32_t g = p->chunk_group[chunk];

	return g != GP_POLICY_NONE && s->pinned[g] ? &s->kept : &s->streamed;
}

static void static_access(struct gp_policy *p, uint32_t group)
{
	gp_chunk_lists_touch_group(p, group, list_of);
}

static void static_loaded(struct gp_policy *p, uint32_t chunk)
{
	gp_chunk_list_push(p, list_of(p, chunk), chunk);
}

static void static_evicted(struct gp_policy *p, uint32_t chunk)
{
	gp_chunk_list_remove(p, list_of(p, chunk), chunk);
}

static int static_victim(struct gp_policy *p, gp_policy_can_evict_fn can_evict, void *ctx,
			 uint32_t *chunk)
{
	struct static_state *s = p->priv;
	uint32_t c = gp_chunk_list_oldest(p, &s->streamed, can_evict, ctx);

	if (c == GP_POLICY_NONE)
		c = gp_chunk_list_oldest(p, &s->kept, can_evict, ctx);
	if (c == GP_POLICY_NONE)
		return GP_ENOENT;
	*chunk = c;
	return 0;
}

/* The plan: streamed blocks go; kept ones stay. */
static int static_planned_victim(struct gp_policy *p, gp_policy_can_evict_fn can_evict,
				 void *ctx, uint32_t *chunk)
{
	struct static_state *s = p->priv;
	uint32_t c = gp_chunk_list_oldest(p, &s->streamed, can_evict, ctx);

	if (c == GP_POLICY_NONE)
		return GP_ENOENT;
	*chunk = c;
	return 0;
}

static bool static_group_pinned(const struct gp_policy *p, uint32_t group)
{
	const struct static_state *s = p->priv;

	return s->pinned[group];
}

const struct gp_policy_ops gp_policy_static_ops = {
	.name = "static",
	.init = static_init,
	.fini = static_fini,
	.access = static_access,
	.loaded = static_loaded,
	.evicted = static_evicted,
	.victim = static_victim,
	.planned_victim = static_planned_victim,
	.group_pinned = static_group_pinned,
};
