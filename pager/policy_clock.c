/*
 * policy_clock.c - second chance: a hand sweeps the chunks in index order;
 * a resident chunk whose reference bit is set (by an access or its load)
 * has the bit cleared and is passed over once, the first one found with
 * the bit clear is the victim.
 */
#include <stdlib.h>

#include "error.h"
#include "policy_internal.h"

struct clock_state {
	uint8_t *referenced;    /* [n_chunks] */
	uint32_t hand;
};

static int clock_init(struct gp_policy *p, const struct gp_policy_opts *opts)
{
	struct clock_state *s = calloc(1, sizeof(*s));

	(void)opts;
	if (!s)
		return gp_fail(GP_ENOMEM, "policy clock: out of memory");
	s->referenced = calloc(p->n_chunks, 1);
	if (!s->referenced) {
		free(s);
		return gp_fail(GP_ENOMEM, "policy clock: out of memory for %u chunks", p->n_chunks);
	}
	p->priv = s;
	return 0;
}

static void clock_fini(struct gp_policy *p)
{
	struct clock_state *s = p->priv;

	free(s->referenced);
	free(s);
}

static void clock_access(struct gp_policy *p, uint32_t group)
{
	struct clock_state *s = p->priv;
	uint32_t first = p->group_first[group], n = p->group_count[group];

	for (uint32_t c = first; c < first + n; c++)
		if (p->resident[c])
			s->referenced[c] = 1;
}

static void clock_loaded(struct gp_policy *p, uint32_t chunk)
{
	struct clock_state *s = p->priv;

	s->referenced[chunk] = 1;
}

static void clock_evicted(struct gp_policy *p, uint32_t chunk)
{
	struct clock_state *s = p->priv;

	s->referenced[chunk] = 0;
}

static int clock_victim(struct gp_policy *p, gp_policy_can_evict_fn can_evict, void *ctx,
			uint32_t *chunk)
{
	struct clock_state *s = p->priv;
	/* The first turn clears every evictable chunk's bit, the second finds one. */
	uint64_t steps = 2 * (uint64_t)p->n_chunks + 1;

	for (uint64_t i = 0; i < steps; i++) {
		uint32_t c = s->hand;

		s->hand = c + 1 == p->n_chunks ? 0 : c + 1;
		if (!p->resident[c] || !can_evict(ctx, c))
			continue;
		if (s->referenced[c]) {
			s->referenced[c] = 0;
			continue;
		}
		*chunk = c;
		return 0;
	}
	return GP_ENOENT;
}

const struct gp_policy_ops gp_policy_clock_ops = {
	.name = "clock",
	.init = clock_init,
	.fini = clock_fini,
	.access = clock_access,
	.loaded = clock_loaded,
	.evicted = clock_evicted,
	.victim = clock_victim,
};
