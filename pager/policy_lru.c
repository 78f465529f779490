/*
 * policy_lru.c - least recently used: the victim is the chunk loaded or
 * accessed longest ago.  Also the recency list the other policies reuse.
 */
#include "policy_internal.h"

void gp_chunk_list_init(struct gp_chunk_list *list)
{
	list->head = list->tail = GP_POLICY_NONE;
}

void gp_chunk_list_remove(struct gp_policy *p, struct gp_chunk_list *list, uint32_t chunk)
{
	uint32_t prev = p->prev[chunk], next = p->next[chunk];

	if (prev != GP_POLICY_NONE)
		p->next[prev] = next;
	else
		list->head = next;
	if (next != GP_POLICY_NONE)
		p->prev[next] = prev;
	else
		list->tail = prev;
	p->prev[chunk] = p->next[chunk] = GP_POLICY_NONE;
}

void gp_chunk_list_push(struct gp_policy *p, struct gp_chunk_list *list, uint32_t chunk)
{
	p->prev[chunk] = list->tail;
	p->next[chunk] = GP_POLICY_NONE;
	if (list->tail != GP_POLICY_NONE)
		p->next[list->tail] = chunk;
	else
		list->head = chunk;
	list->tail = chunk;
}

uint32_t gp_chunk_list_oldest(const struct gp_policy *p, const struct gp_chunk_list *list,
			      gp_policy_can_evict_fn can_evict, void *ctx)
{
	for (uint32_t c = list->head; c != GP_POLICY_NONE; c = p->next[c])
		if (can_evict(ctx, c))
			return c;
	return GP_POLICY_NONE;
}

void gp_chunk_lists_touch_group(struct gp_policy *p, uint32_t group,
				struct gp_chunk_list *(*list_of)(struct gp_policy *, uint32_t))
{
	uint32_t first = p->group_first[group], n = p->group_count[group];

	if (!p->group_resident[group])
		return;
	/* In chunk order, so within a group the head is the least recent. */
	for (uint32_t c = first; c < first + n; c++) {
		if (!p->resident[c])
			continue;
		gp_chunk_list_remove(p, list_of(p, c), c);
		gp_chunk_list_push(p, list_of(p, c), c);
	}
}

static struct gp_chunk_list *the_lru(struct gp_policy *p, uint32_t chunk)
{
	(void)chunk;
	return &p->lru;
}

void gp_lru_access(struct gp_policy *p, uint32_t group)
{
	gp_chunk_lists_touch_group(p, group, the_lru);
}

void gp_lru_loaded(struct gp_policy *p, uint32_t chunk)
{
	gp_chunk_list_push(p, &p->lru, chunk);
}

void gp_lru_evicted(struct gp_policy *p, uint32_t chunk)
{
	gp_chunk_list_remove(p, &p->lru, chunk);
}

int gp_lru_victim(struct gp_policy *p, gp_policy_can_evict_fn can_evict, void *ctx,
		  uint32_t *chunk)
{
	uint32_t c = gp_chunk_list_oldest(p, &p->lru, can_evict, ctx);

	if (c == GP_POLICY_NONE)
		return GP_ENOENT;
	*chunk = c;
	return 0;
}

static int lru_init(struct gp_policy *p, const struct gp_policy_opts *opts)
{
	(void)p;
	(void)opts;
	return 0;
}

static void lru_fini(struct gp_policy *p)
{
	(void)p;
}

const struct gp_policy_ops gp_policy_lru_ops = {
	.name = "lru",
	.init = lru_init,
	.fini = lru_fini,
	.access = gp_lru_access,
	.loaded = gp_lru_loaded,
	.evicted = gp_lru_evicted,
	.victim = gp_lru_victim,
};
