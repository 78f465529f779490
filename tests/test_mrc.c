/*
 * test_mrc.c - miss-ratio curves: the exact LRU (weighted stack distances)
 * against the replayed lru policy, and the OPT stack against gp_belady_run,
 * at every capacity of random small traces (many seeds); MIN never above a
 * policy; gp_mrc_compute's budgets, steps, checks and advice on traces
 * built in memory.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "belady.h"
#include "decide.h"
#include "gpupager.h"
#include "mrc.h"
#include "trace.h"

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)((rng_state >> 33) % n);
}

struct rlayout {
	uint32_t first[16], count[16];
	int64_t block[16];
	struct gp_policy_layout l;
	uint32_t largest;
};

static void random_layout(struct rlayout *r, uint32_t n_groups)
{
	uint32_t c = 0;

	r->largest = 0;
	for (uint32_t g = 0; g < n_groups; g++) {
		r->first[g] = c;
		r->count[g] = 1 + rnd(4);
		r->block[g] = g;
		c += r->count[g];
		if (r->count[g] > r->largest)
			r->largest = r->count[g];
	}
	r->l = (struct gp_policy_layout){ .n_groups = n_groups, .n_chunks = c,
					  .group_first_chunk = r->first,
					  .group_chunk_count = r->count,
					  .group_block_index = r->block };
}

static uint64_t replay_loads(const struct gp_policy_layout *l, int kind, uint64_t cap,
			     const uint32_t *seq, size_t n, size_t warm, uint64_t *demand)
{
	struct gp_replay_opts o = { .policy = { .kind = kind, .capacity_chunks = cap },
				    .busy_groups = 1, .warm_accesses = warm, .chunk_size = 1 };
	struct gp_replay_result res;

	cr_assert_eq(gp_replay_trace(l, &o, seq, n, &res), 0, "%s", gp_last_error());
	if (demand)
		*demand = res.counts.demand_loads;
	return res.counts.demand_loads + res.counts.prefetch_loads;
}

/* Exact LRU equals the engine's lru replayed, at every capacity, random traces and layouts. */
Test(mrc, lru_exact_equals_replay_on_random_traces)
{
	for (uint64_t seed = 1; seed <= 300; seed++) {
		struct rlayout r;
		uint32_t seq[200];
		size_t n = 20 + seed % 180, warm = seed % 7;
		uint64_t misses[80];

		rng_state = seed;
		random_layout(&r, 2 + rnd(14));
		for (size_t i = 0; i < n; i++)
			seq[i] = seed % 3 ? rnd(r.l.n_groups) : (uint32_t)(i % r.l.n_groups);
		cr_assert_eq(gp_mrc_lru_exact(&r.l, seq, n, warm, misses), 0);
		for (uint64_t c = r.largest; c <= r.l.n_chunks; c++) {
			uint64_t demand;

			replay_loads(&r.l, GP_POLICY_LRU, c, seq, n, warm, &demand);
			cr_assert_eq(misses[c], demand, "seed %llu capacity %llu: exact %llu, replay %llu",
				     (unsigned long long)seed, (unsigned long long)c,
				     (unsigned long long)misses[c], (unsigned long long)demand);
		}
	}
}

/* The OPT stack gives gp_belady_run's misses at every capacity, counting a window. */
Test(mrc, min_exact_equals_belady_on_random_traces)
{
	for (uint64_t seed = 1; seed <= 400; seed++) {
		uint32_t trace[300], nc;
		size_t len, from, to;
		uint64_t misses[40];
		uint8_t miss[300];

		rng_state = seed * 977;
		nc = 1 + rnd(30);
		len = 1 + rnd(300);
		for (size_t i = 0; i < len; i++)
			trace[i] = seed % 4 ? rnd(nc) : (uint32_t)((i + rnd(2)) % nc);
		from = rnd((uint32_t)len);
		to = from + rnd((uint32_t)(len - from) + 1);
		cr_assert_eq(gp_mrc_min_exact(trace, len, nc, from, to, misses), 0);
		for (uint64_t c = 1; c <= nc; c++) {
			uint64_t total, win = 0;

			cr_assert_eq(gp_belady_run(trace, len, nc, c, &total, miss), 0);
			for (size_t i = from; i < to; i++)
				win += miss[i];
			cr_assert_eq(misses[c], win, "seed %llu capacity %llu: stack %llu, belady %llu",
				     (unsigned long long)seed, (unsigned long long)c,
				     (unsigned long long)misses[c], (unsigned long long)win);
		}
	}
}

/* MIN over the chunk trace never loads more than a replayed policy (counted from the start). */
Test(mrc, min_never_above_a_policy)
{
	static const int kinds[] = { GP_POLICY_LRU, GP_POLICY_CLOCK, GP_POLICY_STATIC,
				     GP_POLICY_AUTO };

	for (uint64_t seed = 1; seed <= 150; seed++) {
		struct rlayout r;
		uint32_t seq[120], *trace;
		size_t n = 30 + seed % 90, len;
		uint64_t misses[80];

		rng_state = seed * 31;
		random_layout(&r, 2 + rnd(14));
		for (size_t i = 0; i < n; i++)
			seq[i] = seed % 2 ? rnd(r.l.n_groups) : (uint32_t)(i % r.l.n_groups);
		cr_assert_eq(gp_belady_chunk_trace(&r.l, seq, n, &trace, &len), 0);
		cr_assert_eq(gp_mrc_min_exact(trace, len, r.l.n_chunks, 0, len, misses), 0);
		for (uint64_t c = r.largest; c <= r.l.n_chunks; c++)
			for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
				uint64_t loads = replay_loads(&r.l, kinds[k], c, seq, n, 0, NULL);

				cr_assert_leq(misses[c], loads, "seed %llu cap %llu kind %d",
					      (unsigned long long)seed, (unsigned long long)c, kinds[k]);
			}
		free(trace);
	}
}

Test(mrc, steps_of_periodic_and_other_sequences)
{
	uint32_t per[] = { 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1 };
	uint32_t unet[] = { 0, 1, 2, 1, 0, 0, 1, 2, 1, 0, 0, 1, 2, 1, 0 };
	uint32_t other[] = { 0, 1, 2, 0, 2, 1, 0, 1 };
	struct gp_mrc_steps s;

	cr_assert_eq(gp_mrc_steps(per, 14, &s), 0);
	cr_expect_eq(s.periodic, 1);
	cr_expect_eq(s.step_accesses, 4);
	cr_expect_eq(s.steps, 3);
	cr_expect_eq(s.used, 12);
	cr_expect_eq(s.measured_steps, 2);
	cr_assert_eq(gp_mrc_steps(unet, 15, &s), 0);
	cr_expect_eq(s.step_accesses, 5);
	cr_expect_eq(s.steps, 3);
	cr_assert_eq(gp_mrc_steps(other, 8, &s), 0);
	cr_expect_eq(s.periodic, 0);
	cr_expect_eq(s.steps, 3);
	cr_expect_eq(s.warm, 3);
	cr_expect_eq(s.measured_steps, 2);
}

/* ------------------------------------------------- traces built in memory */

/* A v2 trace of groups of the given chunk counts, steps passes in order. */
static char *make_trace(const uint32_t *counts, uint32_t n_groups, unsigned steps,
			double compute_ns, size_t *len)
{
	char *buf;
	FILE *f = open_memstream(&buf, len);
	uint32_t first = 0;
	uint64_t t = 0;
	struct gp_fp fp;

	for (uint32_t g = 0; g < n_groups; g++)
		first += counts[g];
	gp_fp_init(&fp, 1 << 20, first, n_groups);
	first = 0;
	for (uint32_t g = 0; g < n_groups; g++) {
		char name[16];

		snprintf(name, sizeof(name), "blocks.%u", g);
		gp_fp_group(&fp, name, first, counts[g]);
		first += counts[g];
	}
	fprintf(f, "# gpupager trace v2\nmodel 0 1048576 %u %u %llu %016llx /m/x\\x20y\n", first,
		n_groups, (unsigned long long)first << 20, (unsigned long long)gp_fp_done(&fp));
	first = 0;
	for (uint32_t g = 0; g < n_groups; g++) {
		fprintf(f, "group 0 %u %u %u %u %u blocks.%u\n", g, first, counts[g], counts[g] << 20,
			g, g);
		first += counts[g];
	}
	if (compute_ns > 0)
		fprintf(f, "note 0 compute_ns_per_step %g\nnote 0 link_gbps 10\n", compute_ns);
	for (unsigned s = 0; s < steps; s++) {
		first = 0;
		for (uint32_t g = 0; g < n_groups; g++) {
			fprintf(f, "a %llu 0 %u %u %u 0 0 0 0\n", (unsigned long long)t++, g, first,
				counts[g]);
			fprintf(f, "r %llu 0 %u %u %u 0\n", (unsigned long long)t++, g, first,
				counts[g]);
			first += counts[g];
		}
	}
	fprintf(f, "end %llu\n", (unsigned long long)t);
	fclose(f);
	return buf;
}

Test(mrc, compute_on_a_cyclic_trace)
{
	uint32_t counts[] = { 2, 3, 3, 3, 3, 3, 3, 2 };
	size_t len;
	char *text = make_trace(counts, 8, 5, 0, &len);
	struct gp_trace *t;
	struct gp_mrc_options o;
	struct gp_mrc *m;
	struct gp_mrc_info info = { .struct_size = sizeof(info) };
	struct gp_mrc_point pt = { .struct_size = sizeof(pt) };

	cr_assert_eq(gp_trace_parse(text, len, "cyc", &t), 0, "%s", gp_last_error());
	gp_mrc_options_init(&o);
	o.points = 17;
	cr_assert_eq(gp_mrc_compute(t, &o, &m), 0, "%s", gp_last_error());
	cr_assert_eq(gp_mrc_get_info(m, &info), 0);
	cr_expect_eq(info.n_chunks, 22);
	cr_expect_eq(info.step_accesses, 8);
	cr_expect_eq(info.steps, 5);
	cr_expect_eq(info.measured_steps, 4);
	cr_expect_eq(info.min_budget, 3 << 20);
	cr_expect_eq(info.lru_matches_replay, 1);
	cr_expect_eq(info.min_below_all, 1);
	cr_expect_eq(info.min_convex, 1);
	cr_expect_eq(info.n_points, 17);
	/*
	 * The whole model: nothing moves in steady state.  At 20 of 22 chunks the
	 * engine's lru keeps all but 2 chunks of each group (a group's resident
	 * chunks are touched before its absent ones load): 8 x 2 chunks per step.
	 */
	cr_assert_eq(gp_mrc_point(m, GP_MRC_LRU, info.n_points - 1, &pt), 0);
	cr_expect_eq(pt.bytes_per_step, 0);
	cr_assert_eq(gp_mrc_point(m, GP_MRC_LRU, info.n_points - 2, &pt), 0);
	cr_expect_eq(pt.capacity_chunks, 20);
	cr_expect_eq(pt.bytes_per_step, 16ull << 20);
	cr_assert_eq(gp_mrc_point(m, GP_MRC_MIN, 0, &pt), 0);
	cr_expect(pt.valid);
	cr_expect_lt(pt.bytes_per_step, 22ull << 20);
	cr_expect_eq(gp_mrc_point(m, GP_MRC_MIN, 99, &pt), GP_ENOENT);
	gp_mrc_free(m);
	/* Only some curves; explicit budgets, one below the largest group. */
	o.curves = (1u << GP_MRC_MIN) | (1u << GP_MRC_AUTO);
	o.budgets = (const uint64_t[]){ 10 << 20, 1 << 20, 22 << 20 };
	o.n_budgets = 3;
	cr_assert_eq(gp_mrc_compute(t, &o, &m), 0, "%s", gp_last_error());
	cr_assert_eq(gp_mrc_point(m, GP_MRC_AUTO, 0, &pt), 0);
	cr_expect_eq(pt.budget, 1 << 20);
	cr_expect_eq(pt.valid, 0);
	cr_expect_eq(gp_mrc_point(m, GP_MRC_LRU, 0, &pt), GP_ENOENT);
	gp_mrc_free(m);
	o.budgets = NULL;
	o.model = 1;
	cr_expect_eq(gp_mrc_compute(t, &o, &m), GP_ENOENT);
	gp_trace_free(t);
	free(text);
}

Test(mrc, advise_with_and_without_compute_time)
{
	uint32_t counts[] = { 4, 4, 4, 4, 4, 4, 4, 4, 4, 4 };
	size_t len;
	char *text = make_trace(counts, 10, 4, 0, &len);
	struct gp_trace *t;
	struct gp_mrc_options o;
	struct gp_mrc *m;
	struct gp_mrc_advice a = { .struct_size = sizeof(a) };

	cr_assert_eq(gp_trace_parse(text, len, "adv", &t), 0, "%s", gp_last_error());
	gp_mrc_options_init(&o);
	o.points = 11;
	cr_assert_eq(gp_mrc_compute(t, &o, &m), 0, "%s", gp_last_error());
	/* No compute time: the budget where nothing moves, the whole model. */
	cr_assert_eq(gp_mrc_advise(m, GP_MRC_AUTO, 1.1, &a), 0, "%s", gp_last_error());
	cr_expect_eq(a.budget, 40 << 20);
	cr_expect_eq(a.min_budget, 40 << 20);
	cr_expect_eq(gp_mrc_advise(m, GP_MRC_AUTO, 0.5, &a), GP_EINVAL);
	gp_mrc_free(m);
	gp_trace_free(t);
	free(text);
	/* 1 ms of compute per step at 10 GB/s: 11 MB per step are hidden within 1.10. */
	text = make_trace(counts, 10, 4, 1e6, &len);
	cr_assert_eq(gp_trace_parse(text, len, "adv", &t), 0, "%s", gp_last_error());
	o.points = 37;
	cr_assert_eq(gp_mrc_compute(t, &o, &m), 0, "%s", gp_last_error());
	cr_assert_eq(gp_mrc_advise(m, GP_MRC_MIN, 1.1, &a), 0, "%s", gp_last_error());
	cr_expect_lt(a.budget, 40 << 20);
	cr_expect_leq(a.step_ns, 1.1e6);
	cr_expect_leq(a.min_budget, a.budget);
	cr_expect_leq(a.bytes_per_step, 11000000);
	gp_mrc_free(m);
	gp_trace_free(t);
	free(text);
}

Test(mrc, parse_curve_lists)
{
	uint32_t mask;

	cr_assert_eq(gp_mrc_parse_curves("lru,min", &mask), 0);
	cr_expect_eq(mask, (1u << GP_MRC_LRU) | (1u << GP_MRC_MIN));
	cr_expect_eq(gp_mrc_parse_curves("lru,belady", &mask), GP_EINVAL);
	cr_expect(strstr(gp_last_error(), "'belady'"), "%s", gp_last_error());
	cr_expect_eq(gp_mrc_parse_curves("lru,", &mask), GP_EINVAL);
	cr_expect_eq(gp_mrc_parse_curves("", &mask), GP_EINVAL);
	cr_expect_str_eq(gp_mrc_curve_name(GP_MRC_STATIC), "static");
	cr_expect_null(gp_mrc_curve_name(GP_MRC_CURVES));
}
