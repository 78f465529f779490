/*
 * test_policy.c - the eviction policies (lru, clock, static, auto) checked
 * call by call and over traces driven by the engine's own decisions
 * (pager/decide.h's replay), the decision's preferences, the replay against
 * the engine on the simulated device, exact MIN on textbook traces, auto
 * against MIN, random traces for the victim contract, and
 * `gpupager bench policy --json`.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "belady.h"
#include "common/cli_run.h"
#include "common/cuda_env.h"
#include "common/pager_fixture.h"
#include "common/st_fixture.h"
#include "config.h"
#include "decide.h"
#include "policy.h"
#include "policy_internal.h"

#define MAX_GROUPS 256

struct test_layout {
	struct gp_policy_layout l;
	uint32_t first[MAX_GROUPS], count[MAX_GROUPS];
	int64_t block[MAX_GROUPS];
};

/* Groups of sizes[i] chunks back to back; blocks NULL: group i is block i. */
static void layout_init(struct test_layout *t, uint32_t n, const uint32_t *sizes,
			const int64_t *blocks)
{
	uint32_t next = 0;

	cr_assert_leq(n, MAX_GROUPS);
	for (uint32_t g = 0; g < n; g++) {
		t->first[g] = next;
		t->count[g] = sizes[g];
		t->block[g] = blocks ? blocks[g] : g;
		next += sizes[g];
	}
	t->l = (struct gp_policy_layout){ .n_groups = n, .n_chunks = next,
					  .group_first_chunk = t->first,
					  .group_chunk_count = t->count,
					  .group_block_index = t->block };
}

static void layout_uniform(struct test_layout *t, uint32_t n, uint32_t size)
{
	uint32_t sizes[MAX_GROUPS];

	for (uint32_t g = 0; g < n; g++)
		sizes[g] = size;
	layout_init(t, n, sizes, NULL);
}

static struct gp_policy *make_policy(const struct test_layout *t, int kind, uint64_t capacity,
				     const char *swap_blocks)
{
	struct gp_policy_opts opts = { .kind = kind, .capacity_chunks = capacity,
				       .swap_blocks = swap_blocks };
	struct gp_policy *p;

	cr_assert_eq(gp_policy_create(&t->l, &opts, &p), 0, "%s", gp_last_error());
	return p;
}

/* can_evict over a bit mask of forbidden chunks (chunks < 64). */
static bool mask_can_evict(void *ctx, uint32_t chunk)
{
	uint64_t forbidden = *(uint64_t *)ctx;

	return chunk >= 64 || !(forbidden >> chunk & 1);
}

static uint32_t victim(struct gp_policy *p, uint64_t forbidden)
{
	uint32_t c;

	cr_assert_eq(gp_policy_victim(p, mask_can_evict, &forbidden, &c), 0, "%s",
		     gp_last_error());
	return c;
}

/* Chunk loads of kind over reps passes of seq after warm passes. */
static uint64_t sim_loads(const struct test_layout *t, int kind, uint64_t capacity,
			  const uint32_t *seq, size_t len, unsigned warm, unsigned reps)
{
	struct gp_policy *p = make_policy(t, kind, capacity, NULL);
	struct gp_replay sim;
	uint64_t before = 0;

	cr_assert_eq(gp_replay_init(&sim, &t->l, p, capacity, 0), 0);
	for (unsigned r = 0; r < warm + reps; r++) {
		if (r == warm)
			before = gp_replay_loads(&sim);
		for (size_t i = 0; i < len; i++)
			cr_assert_eq(gp_replay_access(&sim, seq[i]), 0, "%s", gp_last_error());
		cr_assert_leq(sim.n_resident, capacity);
	}
	before = gp_replay_loads(&sim) - before;
	gp_replay_free(&sim);
	gp_policy_destroy(p);
	return before;
}

/* MIN's misses over the same passes (the trace runs one pass longer). */
static uint64_t min_loads(const struct test_layout *t, uint64_t capacity, const uint32_t *seq,
			  size_t len, unsigned warm, unsigned reps)
{
	size_t n = len * (warm + reps + 1), tlen, per_pass = 0, from, to;
	uint32_t *groups = malloc(n * sizeof(*groups)), *trace;
	uint64_t misses = 0, all;
	uint8_t *miss;

	cr_assert(groups);
	for (size_t i = 0; i < n; i++)
		groups[i] = seq[i % len];
	for (size_t i = 0; i < len; i++)
		per_pass += t->count[seq[i]];
	cr_assert_eq(gp_belady_chunk_trace(&t->l, groups, n, &trace, &tlen), 0);
	cr_assert_eq(tlen, per_pass * (warm + reps + 1));
	miss = malloc(tlen);
	cr_assert(miss);
	cr_assert_eq(gp_belady_run(trace, tlen, t->l.n_chunks, capacity, &all, miss), 0);
	from = per_pass * warm;
	to = per_pass * (warm + reps);
	for (size_t i = from; i < to; i++)
		misses += miss[i];
	free(groups);
	free(trace);
	free(miss);
	return misses;
}

/* ------------------------------------------------------------------- lru */

Test(policy, lru_evicts_least_recently_loaded_or_accessed)
{
	struct test_layout t;
	struct gp_policy *p;

	layout_uniform(&t, 4, 1);
	p = make_policy(&t, GP_POLICY_LRU, 3, NULL);
	cr_assert_str_eq(gp_policy_name(p), "lru");
	for (uint32_t g = 0; g < 3; g++) {
		gp_policy_access(p, g);
		gp_policy_loaded(p, g);
	}
	cr_assert_eq(victim(p, 0), 0);
	gp_policy_access(p, 0);                 /* 0 becomes the most recent */
	cr_assert_eq(victim(p, 0), 1);
	cr_assert_eq(victim(p, 1u << 1), 2);    /* 1 may not be evicted */
	gp_policy_evicted(p, 1);
	cr_assert_eq(victim(p, 0), 2);
	cr_assert_eq(gp_policy_prefetch(p, (uint32_t[4]){ 0 }, 4), 0);
	cr_assert_eq(gp_policy_next_use(p, 0), UINT64_MAX);
	gp_policy_destroy(p);
}

Test(policy, lru_misses_every_access_of_a_loop_longer_than_the_capacity)
{
	struct test_layout t;
	uint32_t seq[10];

	layout_uniform(&t, 10, 3);
	for (uint32_t g = 0; g < 10; g++)
		seq[g] = g;
	/* Room for 9 of the 10 groups: still every chunk of every pass is loaded. */
	cr_assert_eq(sim_loads(&t, GP_POLICY_LRU, 27, seq, 10, 1, 5), 5 * 30);
	cr_assert_eq(sim_loads(&t, GP_POLICY_CLOCK, 27, seq, 10, 1, 5), 5 * 30);
	/* MIN loses only the chunks that do not fit, plus one. */
	cr_assert_leq(min_loads(&t, 27, seq, 10, 1, 5), 5 * 4);
}

Test(policy, no_victim_when_nothing_may_be_evicted)
{
	struct test_layout t;
	const int kinds[] = { GP_POLICY_LRU, GP_POLICY_CLOCK, GP_POLICY_STATIC, GP_POLICY_AUTO };

	layout_uniform(&t, 2, 2);
	for (size_t k = 0; k < 4; k++) {
		struct gp_policy *p = make_policy(&t, kinds[k], 4, k == 2 ? "0" : NULL);
		uint64_t forbidden = 0xf;
		uint32_t c;

		cr_assert_eq(gp_policy_victim(p, mask_can_evict, &forbidden, &c), GP_ENOENT);
		gp_policy_loaded(p, 1);
		gp_policy_loaded(p, 2);
		cr_assert_eq(gp_policy_victim(p, mask_can_evict, &forbidden, &c), GP_ENOENT);
		forbidden = 1u << 1;
		cr_assert_eq(gp_policy_victim(p, mask_can_evict, &forbidden, &c), 0);
		cr_assert_eq(c, 2, "%s", gp_policy_name(p));
		gp_policy_destroy(p);
	}
}

/* ----------------------------------------------------------------- clock */

Test(policy, clock_gives_referenced_chunks_a_second_chance)
{
	struct test_layout t;
	struct gp_policy *p;

	layout_uniform(&t, 4, 1);
	p = make_policy(&t, GP_POLICY_CLOCK, 3, NULL);
	cr_assert_str_eq(gp_policy_name(p), "clock");
	for (uint32_t c = 0; c < 3; c++)
		gp_policy_loaded(p, c);
	/* Every bit set by the loads: one turn clears them, the hand stops at 0. */
	cr_assert_eq(victim(p, 0), 0);
	gp_policy_evicted(p, 0);
	gp_policy_loaded(p, 3);
	gp_policy_access(p, 1);                 /* sets 1's bit again */
	/* The hand is at 1: referenced, passed over; 2 was cleared by the first turn. */
	cr_assert_eq(victim(p, 0), 2);
	gp_policy_evicted(p, 2);
	/* 3 was loaded with its bit set, 1's was cleared a moment ago. */
	cr_assert_eq(victim(p, 0), 1);
	gp_policy_destroy(p);
}

/* ---------------------------------------------------------------- static */

Test(policy, static_streams_the_swap_blocks_and_keeps_the_rest)
{
	struct test_layout t;
	const uint32_t sizes[5] = { 1, 2, 2, 2, 2 };
	const int64_t blocks[5] = { -1, 0, 1, 2, 3 };
	struct gp_policy *p;

	layout_init(&t, 5, sizes, blocks);      /* chunks: g0 0, g1 1-2, g2 3-4, g3 5-6, g4 7-8 */
	p = make_policy(&t, GP_POLICY_STATIC, 9, "1-2");
	cr_assert_str_eq(gp_policy_name(p), "static");
	cr_assert(gp_policy_group_pinned(p, 0));
	cr_assert(gp_policy_group_pinned(p, 1));
	cr_assert_not(gp_policy_group_pinned(p, 2));
	cr_assert_not(gp_policy_group_pinned(p, 3));
	cr_assert(gp_policy_group_pinned(p, 4));
	for (uint32_t g = 0; g < 5; g++) {
		gp_policy_access(p, g);
		for (uint32_t k = 0; k < t.count[g]; k++)
			gp_policy_loaded(p, t.first[g] + k);
	}
	/* Pinned chunks 0-2 were loaded first, yet the streamed ones go first, oldest first. */
	cr_assert_eq(victim(p, 0), 3);
	gp_policy_access(p, 2);                 /* streamed g2 becomes recent: g3 is older */
	cr_assert_eq(victim(p, 0), 5);
	/* Streamed chunks all protected: the least recent pinned one. */
	cr_assert_eq(victim(p, 0x78), 0);
	gp_policy_destroy(p);
}

Test(policy, static_chooses_the_fewest_blocks_for_the_capacity)
{
	struct test_layout t;
	const uint32_t sizes[7] = { 1, 2, 2, 2, 2, 2, 2 };
	const int64_t blocks[7] = { -1, 0, 1, 2, 3, 4, 5 };
	struct gp_policy *p;

	layout_init(&t, 7, sizes, blocks);
	/* 13 chunks in 9: pinned + 2 x 2 <= 9 leaves 5 pinned: g0 and blocks 0-1. */
	p = make_policy(&t, GP_POLICY_STATIC, 9, NULL);
	for (uint32_t g = 0; g < 7; g++)
		cr_assert_eq(gp_policy_group_pinned(p, g), g <= 2, "group %u", g);
	gp_policy_destroy(p);
	/* Everything fits: nothing streamed. */
	p = make_policy(&t, GP_POLICY_STATIC, 13, NULL);
	for (uint32_t g = 0; g < 7; g++)
		cr_assert(gp_policy_group_pinned(p, g));
	gp_policy_destroy(p);
	/* A bigger block goes first. */
	layout_init(&t, 7, (const uint32_t[7]){ 1, 2, 4, 2, 2, 2, 2 }, blocks);
	/*
	 * 15 chunks in 14: block 1 (4 chunks) goes first, then the highest of the
	 * 2-chunk ones until pinned + 2 x 4 fits: 5, 4, 3 (13 <= 14).
	 */
	p = make_policy(&t, GP_POLICY_STATIC, 14, NULL);
	for (uint32_t g = 0; g < 7; g++)
		cr_assert_eq(gp_policy_group_pinned(p, g), g == 0 || g == 1 || g == 3, "group %u", g);
	gp_policy_destroy(p);
}

Test(policy, static_bad_ranges_fail_as_gp_ranges_parse)
{
	const char *bad[] = { "1-x", "x", "", "3-1", "1,,2", "-4", "5-" };
	struct test_layout t;

	layout_uniform(&t, 4, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gp_policy_opts opts = { .kind = GP_POLICY_STATIC, .capacity_chunks = 4,
					       .swap_blocks = bad[i] };
		struct gp_ranges *r;
		struct gp_policy *p = (struct gp_policy *)&t;
		char expected[256];
		int code = gp_ranges_parse(bad[i], &r);

		cr_assert_lt(code, 0, "'%s' parses", bad[i]);
		snprintf(expected, sizeof(expected), "%s", gp_last_error());
		cr_assert_eq(gp_policy_create(&t.l, &opts, &p), GP_EINVAL, "'%s'", bad[i]);
		cr_assert_eq(code, GP_EINVAL);
		cr_assert_null(p);
		cr_assert_str_eq(gp_last_error(), expected);
		cr_assert(!strncmp(expected, "Invalid ", 8), "%s", expected);
	}
}

Test(policy, create_rejects_bad_layouts_and_kinds)
{
	struct test_layout t;
	struct gp_policy_opts opts = { .kind = 42, .capacity_chunks = 4 };
	struct gp_policy *p;

	layout_uniform(&t, 4, 1);
	cr_assert_eq(gp_policy_create(&t.l, &opts, &p), GP_EINVAL);
	opts.kind = GP_POLICY_LRU;
	t.count[3] = 2;                         /* runs past the last chunk */
	cr_assert_eq(gp_policy_create(&t.l, &opts, &p), GP_EINVAL);
	cr_assert_null(p);
}

/* ------------------------------------------------------------------- MIN */

static uint64_t min_of(const uint32_t *trace, size_t len, uint64_t capacity)
{
	uint64_t misses;

	cr_assert_eq(gp_belady_run(trace, len, 16, capacity, &misses, NULL), 0);
	return misses;
}

Test(policy, min_on_textbook_traces)
{
	/* Silberschatz's reference string: 9 faults with 3 frames. */
	const uint32_t a[] = { 7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1 };
	/* Belady's anomaly string: OPT faults 7 with 3 frames, 6 with 4. */
	const uint32_t b[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };
	const uint32_t c[] = { 1, 2, 1, 3, 1 };
	uint8_t miss[5];
	uint64_t misses;

	cr_assert_eq(min_of(a, 20, 3), 9);
	cr_assert_eq(min_of(a, 20, 4), 8);
	cr_assert_eq(min_of(b, 12, 3), 7);
	cr_assert_eq(min_of(b, 12, 4), 6);
	cr_assert_eq(min_of(b, 12, 5), 5);      /* only the cold misses */
	cr_assert_eq(min_of(b, 12, 0), 12);
	cr_assert_eq(gp_belady_run(c, 5, 16, 2, &misses, miss), 0);
	cr_assert_eq(misses, 3);
	cr_assert_arr_eq(miss, ((uint8_t[5]){ 1, 1, 0, 1, 0 }), 5);
	cr_assert_eq(gp_belady_run(c, 5, 3, 2, &misses, NULL), GP_EINVAL);
}

Test(policy, chunk_trace_reads_each_group_in_order)
{
	struct test_layout t;
	uint32_t *trace;
	size_t len;

	layout_init(&t, 3, (const uint32_t[3]){ 2, 1, 3 }, NULL);
	cr_assert_eq(gp_belady_chunk_trace(&t.l, (const uint32_t[3]){ 2, 0, 2 }, 3, &trace, &len), 0);
	cr_assert_eq(len, 8);
	cr_assert_arr_eq(trace, ((uint32_t[8]){ 3, 4, 5, 0, 1, 3, 4, 5 }), 8 * sizeof(uint32_t));
	free(trace);
	cr_assert_eq(gp_belady_chunk_trace(&t.l, (const uint32_t[1]){ 3 }, 1, &trace, &len),
		     GP_EINVAL);
}

/* ------------------------------------------------------------------ auto */

static void check_near_min(const struct test_layout *t, const uint32_t *seq, size_t len,
			   uint64_t capacity)
{
	uint64_t mine = sim_loads(t, GP_POLICY_AUTO, capacity, seq, len, 3, 6);
	uint64_t min = min_loads(t, capacity, seq, len, 3, 6);

	cr_assert_geq(mine, min, "auto below MIN?");
	cr_assert_leq((double)mine, 1.05 * (double)min,
		      "capacity %llu: auto loads %llu chunks, MIN %llu (%.3fx)",
		      (unsigned long long)capacity, (unsigned long long)mine,
		      (unsigned long long)min, (double)mine / (double)min);
}

Test(policy, auto_within_5_percent_of_min_on_loops)
{
	struct test_layout t;
	uint32_t seq[MAX_GROUPS], sizes[MAX_GROUPS];

	for (uint32_t g = 0; g < 40; g++)
		seq[g] = g;
	layout_uniform(&t, 40, 16);
	for (uint64_t pct = 20; pct <= 90; pct += 10)
		check_near_min(&t, seq, 40, 640 * pct / 100);
	/* Unequal groups, with small ones (embeddings, heads) at the ends. */
	for (uint32_t g = 0; g < 40; g++)
		sizes[g] = g == 0 || g == 39 ? 2 : 12 + (g * 7) % 9;
	layout_init(&t, 40, sizes, NULL);
	for (uint64_t pct = 25; pct <= 75; pct += 25)
		check_near_min(&t, seq, 40, t.l.n_chunks * pct / 100);
}

/*
 * The engine's loop with the GPU behind: the chunks of the two groups
 * before the one acquired are still in use there, so the decision prefers
 * planned victims outside them (decide.h), as it does in `gpupager run`.
 */
static uint64_t busy_loads(const struct test_layout *t, uint64_t capacity, const uint32_t *seq,
			   size_t len, unsigned warm, unsigned reps)
{
	struct gp_replay_opts o = { .policy = { .kind = GP_POLICY_AUTO, .capacity_chunks = capacity },
				    .busy_groups = 2, .warm_accesses = len * warm };
	struct gp_replay_result res;
	uint32_t *groups = malloc(len * (warm + reps) * sizeof(*groups));

	cr_assert(groups);
	for (size_t i = 0; i < len * (warm + reps); i++)
		groups[i] = seq[i % len];
	cr_assert_eq(gp_replay_trace(&t->l, &o, groups, len * (warm + reps), &res), 0, "%s",
		     gp_last_error());
	cr_assert_eq(res.counts.accesses, len * reps);
	free(groups);
	return res.counts.demand_loads + res.counts.prefetch_loads;
}

/* Preferring idle planned victims, as the engine does, costs no bytes. */
Test(policy, auto_idle_planned_victims_stay_near_min)
{
	struct test_layout t;
	uint32_t seq[40];

	for (uint32_t g = 0; g < 40; g++)
		seq[g] = g;
	layout_uniform(&t, 40, 16);
	for (uint64_t pct = 30; pct <= 80; pct += 25) {
		uint64_t cap = 640 * pct / 100;
		uint64_t mine = busy_loads(&t, cap, seq, 40, 3, 6);
		uint64_t min = min_loads(&t, cap, seq, 40, 3, 6);

		cr_expect_leq((double)mine, 1.05 * (double)min, "%llu%%: %llu loads, MIN %llu",
			      (unsigned long long)pct, (unsigned long long)mine,
			      (unsigned long long)min);
	}
}

Test(policy, auto_within_5_percent_of_min_on_a_palindrome)
{
	struct test_layout t;
	uint32_t seq[80];

	/* A UNet-like iteration: down 0..39 then up 39..0; every group twice. */
	for (uint32_t g = 0; g < 40; g++) {
		seq[g] = g;
		seq[79 - g] = g;
	}
	layout_uniform(&t, 40, 16);
	for (uint64_t pct = 20; pct <= 80; pct += 20)
		check_near_min(&t, seq, 80, 640 * pct / 100);
}

Test(policy, auto_prefetches_ahead_when_asked_to)
{
	struct gp_policy_opts opts = { .kind = GP_POLICY_AUTO, .capacity_chunks = 320,
				       .prefetch_groups = 1 };
	struct test_layout t;
	struct gp_policy *p;
	struct gp_replay sim;
	uint32_t seq[40];
	uint64_t demand = 0, prefetch = 0, min;

	layout_uniform(&t, 40, 16);
	for (uint32_t g = 0; g < 40; g++)
		seq[g] = g;
	cr_assert_eq(gp_policy_create(&t.l, &opts, &p), 0);
	cr_assert_eq(gp_replay_init(&sim, &t.l, p, 320, 0), 0);
	for (int pass = 0; pass < 9; pass++) {
		if (pass == 3) {
			demand = sim.counts.demand_loads;
			prefetch = sim.counts.prefetch_loads;
		}
		for (uint32_t g = 0; g < 40; g++)
			cr_assert_eq(gp_replay_access(&sim, g), 0);
	}
	demand = sim.counts.demand_loads - demand;
	prefetch = sim.counts.prefetch_loads - prefetch;
	/* Every load ahead of its access, at about N/(N-2) of MIN. */
	min = min_loads(&t, 320, seq, 40, 3, 6);
	cr_assert_eq(demand, 0, "%llu chunks loaded on demand", (unsigned long long)demand);
	cr_assert_leq((double)prefetch, 1.08 * (double)min, "prefetch %llu, MIN %llu",
		      (unsigned long long)prefetch, (unsigned long long)min);
	gp_replay_free(&sim);
	gp_policy_destroy(p);
}

static struct gp_policy *learn(const struct test_layout *t, uint64_t capacity,
			       const uint32_t *seq, size_t len, size_t accesses,
			       struct gp_replay *sim)
{
	struct gp_policy *p = make_policy(t, GP_POLICY_AUTO, capacity, NULL);

	cr_assert_eq(gp_replay_init(sim, &t->l, p, capacity, 0), 0);
	for (size_t i = 0; i < accesses; i++)
		cr_assert_eq(gp_replay_access(sim, seq[i % len]), 0, "%s", gp_last_error());
	return p;
}

Test(policy, auto_learns_the_iteration_then_predicts_it)
{
	struct test_layout t;
	uint32_t seq[10], groups[8];
	struct gp_replay sim;
	struct gp_policy *p;

	/* Groups 0-9 in the loop, 10 never used. */
	layout_uniform(&t, 11, 2);
	for (uint32_t g = 0; g < 10; g++)
		seq[g] = g;
	/* The first pass: nothing known, LRU, no prefetch. */
	p = learn(&t, 22, seq, 10, 10, &sim);
	cr_assert_str_eq(gp_policy_name(p), "auto");
	cr_assert_eq(gp_policy_prefetch(p, groups, 8), 0);
	cr_assert_eq(gp_policy_next_use(p, 0), UINT64_MAX);
	/* Eight accesses of the second pass match: locked, after group 7. */
	for (uint32_t g = 0; g < 8; g++)
		cr_assert_eq(gp_replay_access(&sim, g), 0);
	cr_assert_eq(gp_policy_next_use(p, t.first[8]), 1);
	cr_assert_eq(gp_policy_next_use(p, t.first[9] + 1), 2);
	cr_assert_eq(gp_policy_next_use(p, t.first[7]), 10);
	cr_assert_eq(gp_policy_next_use(p, t.first[0]), 3);
	cr_assert_eq(gp_policy_next_use(p, t.first[10]), UINT64_MAX);
	/* Everything fits: room to prefetch as far ahead as a request takes. */
	cr_assert_eq(gp_policy_prefetch(p, groups, 8), 8);
	cr_assert_eq(groups[0], 8);
	cr_assert_eq(groups[1], 9);
	cr_assert_eq(groups[7], 5);
	cr_assert_eq(gp_policy_prefetch(p, groups, 1), 1);
	/* Victim: the unused group first, then the furthest next use, highest chunk first. */
	gp_policy_loaded(p, t.first[10] + 1);
	cr_assert_eq(victim(p, 0), t.first[10] + 1);
	gp_policy_evicted(p, t.first[10] + 1);
	/* Group 7 is the one in use (next use 10): the engine protects it. */
	cr_assert_eq(victim(p, 3ull << t.first[7]), t.first[6] + 1);
	cr_assert_eq(victim(p, 3ull << t.first[7] | 1ull << (t.first[6] + 1)), t.first[6]);
	cr_assert_eq(victim(p, 3ull << t.first[7] | 3ull << t.first[6]), t.first[5] + 1);
	/* An access out of sequence: back to LRU, nothing predicted. */
	cr_assert_eq(gp_replay_access(&sim, 3), 0);
	cr_assert_eq(gp_policy_next_use(p, t.first[8]), UINT64_MAX);
	cr_assert_eq(gp_policy_prefetch(p, groups, 8), 0);
	gp_replay_free(&sim);
	gp_policy_destroy(p);
}

Test(policy, auto_learns_a_sequence_that_revisits_groups)
{
	struct test_layout t;
	uint32_t seq[8] = { 0, 1, 2, 3, 3, 2, 1, 0 }, groups[8];
	struct gp_replay sim;
	struct gp_policy *p;

	layout_uniform(&t, 4, 1);
	/* Locked at the end of the second pass, then 5 more: the second 3 was the last. */
	p = learn(&t, 4, seq, 8, 16 + 5, &sim);
	cr_assert_eq(gp_policy_next_use(p, 2), 1);      /* 2 1 0 0 1 2 3 3 */
	cr_assert_eq(gp_policy_next_use(p, 1), 2);
	cr_assert_eq(gp_policy_next_use(p, 0), 3);
	cr_assert_eq(gp_policy_next_use(p, 3), 7);
	/* Each group once, the one in use (3) not. */
	cr_assert_eq(gp_policy_prefetch(p, groups, 8), 3);
	cr_assert_eq(groups[0], 2);
	cr_assert_eq(groups[1], 1);
	cr_assert_eq(groups[2], 0);
	/* Two more passes keep matching. */
	for (size_t i = 21; i < 21 + 16; i++)
		cr_assert_eq(gp_replay_access(&sim, seq[i % 8]), 0);
	cr_assert_eq(gp_policy_next_use(p, 1), 2);
	gp_replay_free(&sim);
	gp_policy_destroy(p);
}

Test(policy, auto_recovers_after_the_sequence_changes)
{
	struct test_layout t;
	uint32_t a[40], b[40], *trace_groups, *trace;
	size_t n = 40 * (5 + 7), tlen, per_pass = 40 * 16;
	struct gp_policy *p;
	struct gp_replay sim;
	uint64_t capacity = 320, before = 0, mine, min = 0, all;
	uint8_t *miss;

	layout_uniform(&t, 40, 16);
	for (uint32_t g = 0; g < 40; g++) {
		a[g] = g;
		b[g] = g < 20 ? 2 * g : 2 * (g - 20) + 1;       /* evens then odds */
	}
	trace_groups = malloc(n * sizeof(*trace_groups));
	cr_assert(trace_groups);
	for (size_t i = 0; i < n; i++)
		trace_groups[i] = i < 200 ? a[i % 40] : b[(i - 200) % 40];
	/* 5 passes of A, then B: 2 passes to relearn, 4 measured, 1 more for MIN's sake. */
	p = make_policy(&t, GP_POLICY_AUTO, capacity, NULL);
	cr_assert_eq(gp_replay_init(&sim, &t.l, p, capacity, 0), 0);
	for (size_t i = 0; i < n - 40; i++) {
		if (i == 40 * 7)
			before = gp_replay_loads(&sim);
		cr_assert_eq(gp_replay_access(&sim, trace_groups[i]), 0, "%s", gp_last_error());
	}
	mine = gp_replay_loads(&sim) - before;
	gp_replay_free(&sim);
	gp_policy_destroy(p);
	cr_assert_eq(gp_belady_chunk_trace(&t.l, trace_groups, n, &trace, &tlen), 0);
	miss = malloc(tlen);
	cr_assert(miss);
	cr_assert_eq(gp_belady_run(trace, tlen, t.l.n_chunks, capacity, &all, miss), 0);
	for (size_t i = per_pass * 7; i < per_pass * 11; i++)
		min += miss[i];
	cr_assert_leq((double)mine, 1.05 * (double)min, "auto %llu, MIN %llu",
		      (unsigned long long)mine, (unsigned long long)min);
	free(trace_groups);
	free(trace);
	free(miss);
}

Test(policy, auto_history_wraps_on_long_irregular_runs)
{
	struct test_layout t;
	uint32_t seq[12];
	struct gp_replay sim;
	struct gp_policy *p;
	uint64_t capacity = 40, before, min;

	layout_uniform(&t, 12, 8);
	for (uint32_t g = 0; g < 12; g++)
		seq[g] = (g * 5) % 12;
	/* 70000 random accesses (past the learning history's size), then the loop. */
	p = make_policy(&t, GP_POLICY_AUTO, capacity, NULL);
	cr_assert_eq(gp_replay_init(&sim, &t.l, p, capacity, 0), 0);
	srand(7);
	for (int i = 0; i < 70000; i++)
		cr_assert_eq(gp_replay_access(&sim, (uint32_t)rand() % 12), 0);
	for (int i = 0; i < 12 * 3; i++)
		cr_assert_eq(gp_replay_access(&sim, seq[i % 12]), 0);
	before = gp_replay_loads(&sim);
	for (int i = 0; i < 12 * 6; i++)
		cr_assert_eq(gp_replay_access(&sim, seq[i % 12]), 0);
	min = min_loads(&t, capacity, seq, 12, 3, 6);
	/* 12 groups only: the group in use costs more than 5%, but far from LRU's 96. */
	cr_assert_leq(gp_replay_loads(&sim) - before, min * 6 / 5, "auto %llu, MIN %llu",
		      (unsigned long long)(gp_replay_loads(&sim) - before),
		      (unsigned long long)min);
	gp_replay_free(&sim);
	gp_policy_destroy(p);
}

/* -------------------------------------------------------------- property */

Test(policy, random_traces_victims_are_resident_and_evictable)
{
	const int kinds[] = { GP_POLICY_LRU, GP_POLICY_CLOCK, GP_POLICY_STATIC, GP_POLICY_AUTO };

	srand(12345);
	for (int round = 0; round < 40; round++) {
		struct test_layout t;
		uint32_t n = 2 + (uint32_t)rand() % 30, sizes[MAX_GROUPS], largest = 0, len;
		uint32_t seq[64];
		uint64_t capacity;

		for (uint32_t g = 0; g < n; g++) {
			sizes[g] = 1 + (uint32_t)rand() % 6;
			if (sizes[g] > largest)
				largest = sizes[g];
		}
		layout_init(&t, n, sizes, NULL);
		capacity = largest + (uint64_t)rand() % t.l.n_chunks;
		/* A loop with random detours, so auto locks and unlocks. */
		len = 1 + (uint32_t)rand() % 64;
		for (uint32_t i = 0; i < len; i++)
			seq[i] = (uint32_t)rand() % n;
		for (size_t k = 0; k < 4; k++) {
			struct gp_policy_opts opts = { .kind = kinds[k], .capacity_chunks = capacity,
						       .prefetch_groups = 1 + (uint32_t)(round % 3) };
			struct gp_policy *p;
			struct gp_replay sim;

			cr_assert_eq(gp_policy_create(&t.l, &opts, &p), 0);
			/* Every GPU model: keeping up, one or two groups behind. */
			cr_assert_eq(gp_replay_init(&sim, &t.l, p, capacity, (unsigned)(round % 3)), 0);
			for (int i = 0; i < 600; i++) {
				uint32_t g = rand() % 8 ? seq[i % len] : (uint32_t)rand() % n;
				uint64_t forbidden = (uint64_t)rand() << 31 ^ (uint64_t)rand();
				uint32_t c;

				/* GP_ESTATE from the simulator: a victim not resident or protected. */
				cr_assert_eq(gp_replay_access(&sim, g), 0, "%s: %s", gp_policy_name(p),
					     gp_last_error());
				cr_assert_leq(sim.n_resident, capacity);
				/* Any mask: a victim must be resident and allowed. */
				if (!gp_policy_victim(p, mask_can_evict, &forbidden, &c)) {
					cr_assert(gp_replay_resident(&sim, c), "%s: chunk %u", gp_policy_name(p), c);
					cr_assert(mask_can_evict(&forbidden, c));
				} else {
					for (uint32_t x = 0; x < t.l.n_chunks; x++)
						cr_assert(!gp_replay_resident(&sim, x) ||
							  !mask_can_evict(&forbidden, x));
				}
			}
			gp_replay_free(&sim);
			gp_policy_destroy(p);
		}
	}
}

/* -------------------------------------------------------------- decision */

/* Chunks (< 64) as masks: which the engine could evict, which the GPU still uses. */
struct mask_model {
	uint64_t evictable, busy;
	unsigned queries;       /* idle asked */
};

static bool mask_evictable(void *ctx, uint32_t chunk)
{
	return chunk < 64 && (((struct mask_model *)ctx)->evictable >> chunk & 1);
}

static bool mask_idle(void *ctx, uint32_t chunk)
{
	((struct mask_model *)ctx)->queries++;
	return chunk >= 64 || !(((struct mask_model *)ctx)->busy >> chunk & 1);
}

static struct gp_decide_model decide_of(const struct test_layout *t, struct gp_policy *p,
					const bool *done, struct mask_model *mm)
{
	return (struct gp_decide_model){ .policy = p, .n_groups = t->l.n_groups,
					 .group_first_chunk = t->first,
					 .group_chunk_count = t->count, .done_hint = done,
					 .evictable = mask_evictable, .idle = mask_idle, .ctx = mm };
}

static uint32_t decide(const struct gp_decide_model *dm)
{
	uint32_t v = UINT32_MAX;

	cr_assert_eq(gp_decide_victim(dm, 0, false, &v), 0, "%s", gp_last_error());
	return v;
}

Test(decide, done_hint_then_idle_planned_then_the_policys_choice)
{
	struct test_layout t;
	struct gp_policy *p;
	struct mask_model mm = { .evictable = 0xff };
	bool done[4] = { false };
	struct gp_decide_model dm;
	uint32_t v;

	/* static streams groups 1-2 (chunks 2-5) and keeps 0 and 3 (chunks 0-1, 6-7). */
	layout_uniform(&t, 4, 2);
	p = make_policy(&t, GP_POLICY_STATIC, 8, "1-2");
	for (uint32_t c = 0; c < 8; c++)
		gp_policy_loaded(p, c);
	dm = decide_of(&t, p, done, &mm);
	cr_assert_eq(decide(&dm), 2, "the oldest streamed chunk");
	/* Group 1 still computing: the next planned chunk the GPU is done with. */
	mm.busy = 0x0c;
	cr_assert_eq(decide(&dm), 4);
	/* Every planned chunk busy: the policy's own choice, busy or not. */
	mm.busy = 0x3c;
	cr_assert_eq(decide(&dm), 2);
	/* Not evictable (acquired, loading) is never chosen, whatever else. */
	mm.evictable = 0xc2;
	cr_assert_eq(decide(&dm), 1, "the oldest kept chunk");
	/* A done group goes first: its first evictable chunk. */
	mm.evictable = 0xff;
	mm.busy = 0;
	done[3] = true;
	cr_assert_eq(decide(&dm), 6);
	mm.evictable = 0xbf;
	cr_assert_eq(decide(&dm), 7);
	mm.evictable = 0x3f;
	cr_assert_eq(decide(&dm), 2, "done group held: back to the plan");
	/* Nothing evictable: a demand load fails, a prefetch is refused. */
	mm.evictable = 0;
	cr_assert_eq(gp_decide_victim(&dm, 0, false, &v), GP_ENOENT);
	cr_assert_eq(gp_decide_victim(&dm, 0, true, &v), GP_EBUSY);
	cr_assert_eq(gp_decide_victim_for_other(&dm, &v), GP_ENOENT);
	/* Another model's load takes the policy's choice, not the done group's chunk. */
	mm.evictable = 0xff;
	cr_assert_eq(gp_decide_victim_for_other(&dm, &v), 0);
	cr_assert_eq(v, 2);
	gp_policy_destroy(p);
}

/* A busy group is asked about once per decision, not once per chunk. */
Test(decide, a_busy_group_is_queried_once)
{
	struct test_layout t;
	struct gp_policy *p;
	struct mask_model mm = { .evictable = 0xffff, .busy = 0x0ff0 };
	struct gp_decide_model dm;
	uint32_t chunk_group[16];

	/* static streams groups 1-2 (chunks 4-11), both still computing. */
	layout_uniform(&t, 4, 4);
	for (uint32_t c = 0; c < 16; c++)
		chunk_group[c] = c / 4;
	p = make_policy(&t, GP_POLICY_STATIC, 16, "1-2");
	for (uint32_t c = 0; c < 16; c++)
		gp_policy_loaded(p, c);
	dm = decide_of(&t, p, NULL, &mm);
	/* The control: without the chunks' groups, every planned chunk is asked. */
	cr_assert_eq(decide(&dm), 4, "no idle planned chunk: the policy's choice");
	cr_assert_eq(mm.queries, 8);
	mm.queries = 0;
	dm.chunk_group = chunk_group;
	cr_assert_eq(decide(&dm), 4, "the same choice");
	cr_assert_eq(mm.queries, 2, "one query per busy group");
	/* Group 2 done on the GPU: its first planned chunk, after one query for group 1. */
	mm.queries = 0;
	mm.busy = 0x00f0;
	cr_assert_eq(decide(&dm), 8);
	cr_assert_eq(mm.queries, 2);
	/* Trimming idle chunks only asks the same way. */
	mm.queries = 0;
	mm.busy = 0xffff;
	cr_assert_eq(gp_decide_victim_for_trim(&dm, true, &(uint32_t){ 0 }), GP_ENOENT);
	cr_assert_eq(mm.queries, 4, "four groups, one query each");
	gp_policy_destroy(p);
}

/* ------------------------------------------------------------ cost model */

/* Modelled ns per step and chunk loads per step of kind over a loop of seq (replay's clock). */
struct timed {
	double step_ns;
	uint64_t loads, prefetch_loads;
	double bound_ns;        /* max(compute, loads x chunk_ns) per step */
};

static struct timed timed_run(const struct test_layout *t, int kind, uint64_t capacity,
			      const uint32_t *seq, size_t len, const uint64_t *compute,
			      double chunk_ns)
{
	const unsigned warm = 3, reps = 5;
	struct gp_replay_opts o = { .policy = { .kind = kind, .capacity_chunks = capacity },
				    .busy_groups = 1, .warm_accesses = len * warm,
				    .compute_ns = compute, .chunk_ns = chunk_ns };
	struct gp_replay_result res;
	uint32_t *groups = malloc(len * (warm + reps) * sizeof(*groups));
	double compute_ns = 0;
	struct timed out;

	cr_assert(groups);
	for (size_t i = 0; i < len * (warm + reps); i++)
		groups[i] = seq[i % len];
	for (size_t i = 0; i < len; i++)
		compute_ns += (double)compute[seq[i]];
	cr_assert_eq(gp_replay_trace(&t->l, &o, groups, len * (warm + reps), &res), 0, "%s",
		     gp_last_error());
	free(groups);
	out.step_ns = res.elapsed_ns / reps;
	out.loads = (res.counts.demand_loads + res.counts.prefetch_loads) / reps;
	out.prefetch_loads = res.counts.prefetch_loads / reps;
	out.bound_ns = compute_ns > out.loads * chunk_ns ? compute_ns : out.loads * chunk_ns;
	return out;
}

/* The clock on a case small enough to follow by hand. */
Test(replay, the_clock_overlaps_copies_with_compute)
{
	struct test_layout t;
	uint64_t compute[2] = { 100, 100 };
	struct gp_replay_opts o = { .policy = { .kind = GP_POLICY_LRU, .capacity_chunks = 2 },
				    .warm_accesses = 2, .compute_ns = compute, .chunk_ns = 10 };
	struct gp_replay_result res;
	uint32_t groups[6] = { 0, 1, 0, 1, 0, 1 };

	layout_uniform(&t, 2, 1);
	/* Copies at 0-10 and 10-20; computes 10-110, 110-210; then all resident. */
	cr_assert_eq(gp_replay_trace(&t.l, &o, groups, 6, &res), 0, "%s", gp_last_error());
	cr_assert_eq(res.elapsed_ns, 400.0, "%g", res.elapsed_ns);
	/* One chunk of room: each load waits for the other group's compute. */
	o.policy.capacity_chunks = 1;
	cr_assert_eq(gp_replay_trace(&t.l, &o, groups, 6, &res), 0, "%s", gp_last_error());
	cr_assert_eq(res.elapsed_ns, 4 * 110.0, "%g", res.elapsed_ns);
}

/*
 * At 25%, 50% and 75% of the layout, over one pass of every group in
 * order, each group computing compute_per_chunk ns per chunk: auto
 * prefetches, its modelled step is no longer than lru's, clock's or
 * static's, within 1.10x the bound, at no more than 1.10x MIN's bytes.
 */
static void check_auto_fastest(const struct test_layout *t, double compute_per_chunk)
{
	static const int others[] = { GP_POLICY_LRU, GP_POLICY_CLOCK, GP_POLICY_STATIC };
	uint32_t n = t->l.n_groups, seq[MAX_GROUPS];
	uint64_t compute[MAX_GROUPS];
	const double chunk_ns = 1000;

	for (uint32_t g = 0; g < n; g++) {
		seq[g] = g;
		compute[g] = (uint64_t)(t->count[g] * compute_per_chunk);
	}
	for (uint64_t pct = 25; pct <= 75; pct += 25) {
		uint64_t cap = t->l.n_chunks * pct / 100, min = min_loads(t, cap, seq, n, 3, 5) / 5;
		struct timed a = timed_run(t, GP_POLICY_AUTO, cap, seq, n, compute, chunk_ns);

		cr_expect_gt(a.prefetch_loads, 0, "%llu%%: no prefetch", (unsigned long long)pct);
		for (size_t i = 0; i < 3; i++) {
			struct timed o = timed_run(t, others[i], cap, seq, n, compute, chunk_ns);

			cr_expect_leq(a.step_ns, o.step_ns, "%llu%%: auto %.0f ns, policy %d %.0f",
				      (unsigned long long)pct, a.step_ns, others[i], o.step_ns);
		}
		cr_expect_leq(a.step_ns, 1.10 * a.bound_ns, "%llu%%: auto %.0f ns, bound %.0f",
			      (unsigned long long)pct, a.step_ns, a.bound_ns);
		cr_expect_leq((double)a.loads, 1.10 * (double)min, "%llu%%: %llu loads, MIN %llu",
			      (unsigned long long)pct, (unsigned long long)a.loads,
			      (unsigned long long)min);
	}
}

/* Compute as long as the copies, equal groups: copies overlap compute. */
Test(policy, auto_prefetches_when_copies_can_hide_behind_compute)
{
	struct test_layout t;

	layout_uniform(&t, 40, 16);
	check_auto_fastest(&t, 1000);
}

/*
 * Wan's layout in small: an embedding, small groups, then 40 blocks.  With
 * prefetch counted in groups, the copies at the start of each pass waited
 * for the compute of the tiny groups before them (auto 0.5-1.8% slower
 * than the others, all at the bound); prefetching as far as the room
 * holds starts them during the last block's compute.
 */
static void layout_wan_small(struct test_layout *t)
{
	uint32_t sizes[45] = { 1, 3, 19, 6 };

	for (uint32_t g = 4; g < 44; g++)
		sizes[g] = 42;
	sizes[44] = 1;
	layout_init(t, 45, sizes, NULL);
}

Test(policy, auto_is_fastest_when_small_groups_come_before_large_ones)
{
	struct test_layout t;

	layout_wan_small(&t);
	check_auto_fastest(&t, 1000);
}

/*
 * Compute 57 times the copies (Wan 14B on a GPU): any prefetch hides them.
 * A plan with more room was taken only when 2% faster, and room counted in
 * groups left the start of each pass waiting (auto 0.4-1.3% slower than
 * the others).
 */
Test(policy, auto_is_fastest_when_compute_dominates)
{
	struct test_layout t;

	layout_wan_small(&t);
	check_auto_fastest(&t, 57000);
}

/*
 * Flux's layout in small: 19 large blocks, then 38 of two fifths their
 * size, compute a quarter of the copies' time per chunk so the bound is
 * the link.  Drops capped alike give the small blocks copies longer than
 * their compute (auto 1.20x the bound at 75%); drops that grow with size
 * keep the copies in step with the compute.
 */
Test(policy, auto_keeps_copies_in_step_with_compute_of_unequal_groups)
{
	uint32_t sizes[62] = { 1, 2, 2, 3, 3 };
	struct test_layout t;

	for (uint32_t g = 5; g < 24; g++)
		sizes[g] = 40;
	for (uint32_t g = 24; g < 62; g++)
		sizes[g] = 16;
	layout_init(&t, 62, sizes, NULL);
	check_auto_fastest(&t, 250);
}

/* Compute next to nothing: nothing to hide copies behind, so auto buys no room. */
Test(policy, auto_plans_no_prefetch_room_when_nothing_hides_the_copies)
{
	struct test_layout t;
	uint32_t seq[40];
	uint64_t compute[40], slow[40];

	layout_uniform(&t, 40, 16);
	for (uint32_t g = 0; g < 40; g++) {
		seq[g] = g;
		compute[g] = 1;
		slow[g] = 16000;
	}
	struct timed fast = timed_run(&t, GP_POLICY_AUTO, 320, seq, 40, compute, 1000);
	struct timed hidden = timed_run(&t, GP_POLICY_AUTO, 320, seq, 40, slow, 1000);

	cr_expect_eq(fast.prefetch_loads, 0);
	cr_expect_gt(hidden.prefetch_loads, 0);
	cr_expect_lt(fast.loads, hidden.loads, "the room costs bytes: %llu against %llu",
		     (unsigned long long)fast.loads, (unsigned long long)hidden.loads);
}

/* gp_policy_group_time: the first sample, then a quarter of the way to each new one. */
Test(policy, learned_compute_moves_a_quarter_of_the_way)
{
	struct test_layout t;
	struct gp_policy *p;

	layout_uniform(&t, 2, 1);
	p = make_policy(&t, GP_POLICY_AUTO, 2, NULL);
	cr_assert_not(gp_policy_link_known(p));
	gp_policy_set_link(p, 500);
	cr_assert(gp_policy_link_known(p));
	gp_policy_group_time(p, 1, 1000);
	cr_assert_eq(p->compute_ns[1], 1000);
	gp_policy_group_time(p, 1, 2000);
	cr_assert_eq(p->compute_ns[1], 1250);
	gp_policy_group_time(p, 1, 250);
	cr_assert_eq(p->compute_ns[1], 1000);
	gp_policy_group_time(p, 7, 250);
	cr_assert_eq(p->compute_ns[0], 0, "a group out of range changes nothing");
	gp_policy_destroy(p);
}

Test(decide, without_a_plan_the_busy_first_choice_goes)
{
	struct test_layout t;
	struct gp_policy *p;
	struct mask_model mm = { .evictable = 0xf, .busy = 0x1 };
	struct gp_decide_model dm;

	layout_uniform(&t, 4, 1);
	p = make_policy(&t, GP_POLICY_LRU, 4, NULL);
	for (uint32_t c = 0; c < 4; c++)
		gp_policy_loaded(p, c);
	dm = decide_of(&t, p, NULL, &mm);
	/* lru plans nothing: chunk 0 goes although the GPU still uses it. */
	cr_assert_eq(decide(&dm), 0);
	gp_policy_destroy(p);
}

Test(decide, a_prefetch_evicts_only_what_is_needed_later)
{
	struct test_layout t;
	struct gp_replay sim;
	struct gp_policy *p;
	struct mask_model mm = { 0 };
	struct gp_decide_model dm;
	uint32_t seq[10], v;

	layout_uniform(&t, 11, 2);
	for (uint32_t g = 0; g < 10; g++)
		seq[g] = g;
	/* Locked after group 7 of the third pass: next uses 8 -> 1, 9 -> 2, 0 -> 3, 7 -> 10. */
	p = learn(&t, 22, seq, 10, 18, &sim);
	cr_assert_eq(gp_policy_next_use(p, t.first[9]), 2);
	cr_assert(gp_decide_prefetch_admits(p, t.first[0], t.first[8]));
	cr_assert_not(gp_decide_prefetch_admits(p, t.first[8], t.first[9]));
	cr_assert_not(gp_decide_prefetch_admits(p, t.first[9] + 1, t.first[9]), "same group");
	cr_assert(gp_decide_prefetch_admits(p, t.first[10], t.first[9]), "never used again");
	cr_assert_not(gp_decide_prefetch_admits(p, t.first[10], t.first[10]));
	/* Only group 8 may go: loading group 9 ahead may not evict it, a demand load may. */
	mm.evictable = 3ull << t.first[8];
	dm = decide_of(&t, p, NULL, &mm);
	cr_assert_eq(gp_decide_victim(&dm, t.first[9], true, &v), GP_EBUSY);
	cr_assert_eq(gp_decide_victim(&dm, t.first[9], false, &v), 0);
	cr_assert_eq(v, t.first[8] + 1, "highest chunk first");
	/* Group 0 (needed after 9) may go for it. */
	mm.evictable = 3ull << t.first[0];
	cr_assert_eq(gp_decide_victim(&dm, t.first[9], true, &v), 0);
	cr_assert_lt(v, 2, "a chunk of group 0");
	gp_replay_free(&sim);
	gp_policy_destroy(p);
}

/* ---------------------------------------------------------------- replay */

Test(replay, trace_counts_from_the_warm_access_on)
{
	struct test_layout t;
	uint32_t seq[40 * 6];
	struct gp_replay_opts o = { .policy = { .kind = GP_POLICY_AUTO, .capacity_chunks = 320 },
				    .warm_accesses = 40 * 2, .chunk_size = 2u << 20 };
	struct gp_replay_result res;
	uint64_t loads;

	layout_uniform(&t, 40, 16);
	for (size_t i = 0; i < 40 * 6; i++)
		seq[i] = (uint32_t)(i % 40);
	/* The same passes through the incremental interface, counted from the same access. */
	loads = sim_loads(&t, GP_POLICY_AUTO, 320, seq, 40, 2, 4);
	cr_assert_eq(gp_replay_trace(&t.l, &o, seq, 40 * 6, &res), 0, "%s", gp_last_error());
	cr_assert_eq(res.counts.accesses, 40 * 4);
	cr_assert_eq(res.counts.demand_loads + res.counts.prefetch_loads, loads);
	cr_assert_eq(res.bytes_moved, loads * (2u << 20));
	/* Half the model each pass: every access misses, and each eviction made room for a load. */
	cr_assert_eq(res.counts.miss_accesses, 40 * 4);
	cr_assert_eq(res.counts.evictions, loads);
	/* MIN is the floor. */
	cr_assert_geq(loads, min_loads(&t, 320, seq, 40, 2, 4));
}

Test(replay, a_group_that_does_not_fit_leaves_nothing_behind)
{
	struct test_layout t;
	struct gp_replay sim;
	struct gp_policy *p;

	layout_init(&t, 3, (const uint32_t[3]){ 2, 5, 2 }, NULL);
	p = make_policy(&t, GP_POLICY_LRU, 4, NULL);
	cr_assert_eq(gp_replay_init(&sim, &t.l, p, 4, 1), 0);
	cr_assert_eq(gp_replay_access(&sim, 0), 0);
	cr_assert_eq(gp_replay_access(&sim, 1), GP_ENOENT);
	cr_assert(strstr(gp_last_error(), "group 1 (5 chunks) does not fit in 4 chunks"), "%s",
		  gp_last_error());
	/* Group 0 made room and went; none of group 1 stays half loaded. */
	cr_assert_eq(sim.n_resident, 0);
	for (uint32_t c = 0; c < t.l.n_chunks; c++)
		cr_assert_eq(sim.state[c], GP_REPLAY_ABSENT, "chunk %u", c);
	cr_assert_eq(gp_replay_access(&sim, 2), 0);
	cr_assert_eq(sim.n_resident, 2);
	cr_assert_eq(gp_replay_access(&sim, 3), GP_EINVAL);
	gp_replay_free(&sim);
	gp_policy_destroy(p);
	cr_assert_eq(gp_replay_init(&sim, &t.l, NULL, 4, GP_REPLAY_BUSY_MAX + 1), GP_EINVAL);
}

/*
 * The replay is the engine: the same accesses through the real engine on
 * the simulated device load the same chunks.  The engine runs as the
 * replay assumes: the prefetch worker finishes before the group is
 * released, and the GPU keeps up (streams synchronized after each access,
 * so every chunk not acquired is idle: busy_groups 0).
 */
static void engine_wait_prefetch(struct gp_pager *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->n_prefetch || p->prefetch_current)
		pthread_cond_wait(&p->changed, &p->lock);
	pthread_mutex_unlock(&p->lock);
	cr_assert_eq(gp_stream_sync(p->gpu, p->copy_stream), 0);
}

struct engine_loads {
	uint64_t loads, prefetch_loads, evictions;
};

/* Four forward passes, a detour (auto relearns), two more passes. */
static size_t engine_seq(uint32_t n_groups, uint32_t *seq, size_t max)
{
	size_t n = 0;

	for (int pass = 0; pass < 6; pass++) {
		for (uint32_t g = 0; g < n_groups && n < max; g++)
			seq[n++] = g;
		if (pass == 3)
			for (uint32_t g = 0; g < n_groups && n < max; g += 3)
				seq[n++] = n_groups - 1 - g;
	}
	return n;
}

static struct engine_loads engine_run(const char *dir, uint64_t range, const char *policy,
				      double pct, struct gp_replay_result *replayed)
{
	uint32_t seq[512];
	size_t n;
	struct gp_pager_options po;
	struct gp_pager *p;
	struct gp_model *m;
	struct gp_pager_stats a = { .struct_size = sizeof(a) }, b = { .struct_size = sizeof(b) };
	struct engine_loads got;

	gp_pager_options_init(&po);
	po.policy = policy;
	po.vram_budget = (uint64_t)((double)range * pct / 100.0);
	po.host_budget = range + (32u << 20);
	cr_assert_eq(gp_pager_open(&po, &p), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_open(p, dir, &m), 0, "%s", gp_last_error());
	n = engine_seq(m->desc->n_groups, seq, 512);
	cr_assert_gt(n, 4 * m->desc->n_groups);
	cr_assert_eq(gp_pager_get_stats(p, &a), 0, "%s", gp_last_error());
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(gp_acquire_group(m, seq[i], NULL), 0, "%s at %.0f%%: access %zu: %s",
			     policy, pct, i, gp_last_error());
		engine_wait_prefetch(p);
		cr_assert_eq(gp_release_group(m, seq[i], NULL), 0);
		cr_assert_eq(gp_stream_sync(p->gpu, p->own_stream), 0);
	}
	cr_assert_eq(gp_pager_get_stats(p, &b), 0, "%s", gp_last_error());
	got = (struct engine_loads){ (b.bytes_h2d - a.bytes_h2d) / p->chunk_size,
				     b.prefetch_issued - a.prefetch_issued,
				     b.dev_evictions - a.dev_evictions };
	{
		/* The replay of the same model's layout and the engine's own policy options. */
		struct gp_policy_layout layout = {
			.n_groups = m->desc->n_groups, .n_chunks = m->n_chunks,
			.group_first_chunk = m->group_first_chunk,
			.group_chunk_count = m->group_chunk_count,
			.group_block_index = m->group_block_index,
		};
		struct gp_replay_opts o = {
			.policy = { .kind = p->cfg.policy, .capacity_chunks = p->max_chunks,
				    .swap_blocks = p->swap_blocks,
				    .prefetch_groups = (uint32_t)p->cfg.prefetch_groups },
			.chunk_size = p->chunk_size,
		};

		cr_assert_eq(gp_replay_trace(&layout, &o, seq, n, replayed), 0, "%s",
			     gp_last_error());
	}
	gp_model_close(m);
	gp_pager_close(p);
	return got;
}

static void engine_agrees(bool expect_prefetch)
{
	const char *policies[] = { "lru", "clock", "static", "auto" };
	const double budgets[] = { 40, 70 };
	struct gp_model_desc *desc;
	uint64_t range, prefetched = 0;
	char *dir;

	gp_test_cuda_env();
	/* Twice the fixture's scale: blocks of two or three 2 MiB chunks. */
	dir = gp_test_model_new(2 * GP_TEST_SCALE, GP_TEST_SEED);
	cr_assert_eq(gp_model_desc_load(dir, 0, NULL, &desc), 0, "%s", gp_last_error());
	range = desc->range_size;
	gp_model_desc_free(desc);
	for (size_t k = 0; k < 4; k++) {
		for (size_t b = 0; b < 2; b++) {
			struct gp_replay_result r;
			struct engine_loads e = engine_run(dir, range, policies[k], budgets[b], &r);

			cr_expect_eq(e.loads, r.counts.demand_loads + r.counts.prefetch_loads,
				     "%s at %.0f%%: engine %llu chunk loads, replay %llu",
				     policies[k], budgets[b], (unsigned long long)e.loads,
				     (unsigned long long)(r.counts.demand_loads +
							  r.counts.prefetch_loads));
			cr_expect_eq(e.prefetch_loads, r.counts.prefetch_loads, "%s at %.0f%%",
				     policies[k], budgets[b]);
			cr_expect_eq(e.evictions, r.counts.evictions, "%s at %.0f%%", policies[k],
				     budgets[b]);
			cr_expect_gt(r.counts.evictions, 0, "%s at %.0f%%: nothing evicted",
				     policies[k], budgets[b]);
			prefetched += r.counts.prefetch_loads;
		}
	}
	if (expect_prefetch)
		cr_expect_gt(prefetched, 0, "the prefetch path ran");
	gp_test_st_dir_remove(dir);
}

Test(replay, agrees_with_the_engine_on_the_simulated_device, .timeout = 120)
{
	engine_agrees(false);
}

static void prefetch_two(void)
{
	setenv("GPUPAGER_PREFETCH", "2", 1);
}

Test(replay, agrees_with_the_engine_when_it_prefetches, .init = prefetch_two, .timeout = 120)
{
	engine_agrees(true);
}

/* ------------------------------------------------------------------- CLI */

static json_t *run_bench(const char *const *args)
{
	struct gp_test_cli r = gp_test_cli_run(args, 0);
	json_error_t jerr;
	json_t *root;

	cr_assert_eq(r.status, 0, "gpupager bench policy: %s", r.err);
	root = json_loads(r.out, 0, &jerr);
	cr_assert(root, "bad JSON: %s", jerr.text);
	gp_test_cli_free(&r);
	return root;
}

static double num(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	cr_assert(json_is_number(v), "JSON key '%s' missing or not a number", key);
	return json_number_value(v);
}

Test(policy, bench_json_has_every_number)
{
	json_t *root = run_bench((const char *const[]){ "bench", "policy", "--arch", "sdxl-unet",
							"--json", NULL });
	json_t *results = json_object_get(root, "results"), *row;
	const char *names[] = { "lru", "clock", "static", "auto" };
	size_t i, measured = 0;

	cr_assert_str_eq(json_string_value(json_object_get(root, "benchmark")), "policy");
	cr_assert_eq(num(root, "warmup_steps"), 2);
	cr_assert_gt(num(root, "steps"), 0);
	cr_assert_gt(num(root, "chunk_size"), 0);
	cr_assert(json_is_array(results));
	cr_assert_eq(json_array_size(results), 3, "one row per default budget");
	json_array_foreach(results, i, row) {
		json_t *policies = json_object_get(row, "policies");
		json_t *est = json_object_get(row, "whole_group_estimate_bytes_per_step");
		double min = num(row, "min_bytes_per_step"), chunks = num(row, "chunks");

		cr_assert_str_eq(json_string_value(json_object_get(row, "arch")), "sdxl-unet");
		cr_assert_eq(num(row, "budget_percent"), 25.0 * (double)(i + 1));
		cr_assert_eq(num(row, "capacity_chunks"), (double)(uint64_t)(chunks * 0.25 * (i + 1)));
		cr_assert(json_is_string(json_object_get(row, "static_swap_blocks")));
		cr_assert_gt(min, 0);
		for (size_t k = 0; k < 4; k++) {
			json_t *pol = json_object_get(policies, names[k]);

			cr_assert(json_is_object(pol), "%s", names[k]);
			if (json_object_get(pol, "error"))
				continue;       /* a group larger than the budget */
			/* Without --device the step time is not measured. */
			cr_assert(json_is_null(json_object_get(pol, "step_time_vs_lower_bound")));
			cr_assert_geq(num(pol, "bytes_per_step"), min, "%s under MIN", names[k]);
			cr_assert_eq(num(pol, "bytes_per_step"),
				     num(pol, "demand_bytes_per_step") +
				     num(pol, "prefetch_bytes_per_step"));
			cr_assert_gt(num(pol, "ratio_to_min"), 0.999);
		}
		if (json_object_get(json_object_get(policies, "auto"), "error"))
			continue;
		/*
		 * A group must be whole while in use, which MIN need not respect:
		 * auto is held to the best plan under that rule instead.
		 */
		cr_assert(json_is_number(est));
		/* The clock's compute hides copies: auto buys room to prefetch, within 10%. */
		cr_assert_leq(num(json_object_get(policies, "auto"), "bytes_per_step"),
			      1.10 * json_number_value(est));
		measured++;
	}
	cr_assert_eq(measured, 3, "every budget runs (large groups are split)");
	json_decref(root);
}

/*
 * With the clock's default compute (40 ms/GB, as gpupager run) beside a
 * 25 GB/s link auto buys room to prefetch: within 10% of MIN's bytes, and
 * its modelled step within 10% of the bound.  With no compute it buys
 * none and stays within 5%.
 */
Test(policy, bench_auto_within_10_percent_of_min_on_a_transformer)
{
	json_t *root = run_bench((const char *const[]){ "bench", "policy", "--arch", "llama3-8b",
							"--json", NULL });
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(root, "results"), i, row) {
		json_t *pol = json_object_get(json_object_get(row, "policies"), "auto");

		cr_assert_leq(num(pol, "ratio_to_min"), 1.10, "budget %g%%",
			      num(row, "budget_percent"));
		cr_assert_gt(num(pol, "prefetch_bytes_per_step"), 0, "budget %g%%",
			     num(row, "budget_percent"));
		cr_assert_leq(num(pol, "modelled_vs_lower_bound"), 1.10, "budget %g%%",
			      num(row, "budget_percent"));
	}
	cr_assert_eq(i, 3);
	json_decref(root);
	root = run_bench((const char *const[]){ "bench", "policy", "--arch", "llama3-8b",
						"--compute-ms-per-gb", "0", "--json", NULL });
	json_array_foreach(json_object_get(root, "results"), i, row) {
		json_t *pol = json_object_get(json_object_get(row, "policies"), "auto");

		cr_assert_leq(num(pol, "ratio_to_min"), 1.05, "budget %g%%",
			      num(row, "budget_percent"));
		cr_assert_eq(num(pol, "prefetch_bytes_per_step"), 0, "budget %g%%",
			     num(row, "budget_percent"));
	}
	cr_assert_eq(i, 3);
	json_decref(root);
}

/* --device runs every policy on the simulator and reports step time over the bound. */
Test(policy, bench_device_times_every_policy)
{
	json_t *root;
	json_t *row, *pol;
	const char *name;

	unsetenv("GPUPAGER_CUDA_LIB");  /* the simulator */
	root = run_bench((const char *const[]){ "bench", "policy", "--arch", "llama3-8b",
						"--budgets", "60", "--device", "0.05", "--json",
						NULL });
	row = json_array_get(json_object_get(root, "results"), 0);
	cr_assert(row);
	json_object_foreach(json_object_get(row, "policies"), name, pol) {
		/* Measured (no timing assertion: only that there is a figure). */
		cr_expect_gt(num(pol, "step_time_vs_lower_bound"), 0, "%s", name);
	}
	json_decref(root);
}

Test(policy, bench_rejects_bad_options)
{
	const char *const bad[][5] = {
		{ "bench", "policy", "--arch", "nope", NULL },
		{ "bench", "policy", "--budgets", "0", NULL },
		{ "bench", "policy", "--budgets", "50,x", NULL },
		{ "bench", "policy", "--steps", "0", NULL },
		{ "bench", "policy", "--scale", "2", NULL },
		{ "bench", "policy", "extra", NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gp_test_cli r = gp_test_cli_run(bad[i], 0);

		cr_assert_eq(r.status, 2, "%s %s: %d", bad[i][2], bad[i][3] ? bad[i][3] : "",
			     r.status);
		cr_assert(strstr(r.err, "--help"), "%s", r.err);
		gp_test_cli_free(&r);
	}
}
