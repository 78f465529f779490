/*
 * cmd_bench_policy.c - `gpupager bench policy`: bytes moved per step by each
 * eviction policy, against Belady's MIN, on the group layouts of the real
 * architectures (sizes only: no files, no device).
 *
 * A step is one forward pass: every group once, in forward order.  Each
 * policy is driven by the engine's own decisions (decide.h's replay, with
 * the group just released still busy on the GPU, as in `gpupager run`) for
 * the warm-up steps and then the measured ones; MIN runs over the chunk
 * trace of the same steps plus one more, so the end of the trace does not
 * flatter it, and its misses are counted over the same measured steps.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "arch.h"
#include "belady.h"
#include "bench.h"
#include "bench_policy_device.h"
#include "bench_util.h"
#include "config.h"
#include "decide.h"
#include "error.h"
#include "format.h"
#include "model.h"

#define WARMUP_STEPS 2u
#define DEFAULT_STEPS 8u
#define MAX_STEPS 1000u
#define MAX_BUDGETS 16
#define N_POLICIES 4
/* Groups before the current one still running on the GPU (gp_replay's busy_groups). */
#define BUSY_GROUPS 1u

static const int policy_kinds[N_POLICIES] = {
	GP_POLICY_LRU, GP_POLICY_CLOCK, GP_POLICY_STATIC, GP_POLICY_AUTO,
};
static const char *const policy_names[N_POLICIES] = { "lru", "clock", "static", "auto" };

struct bench_opts {
	const char *arch;       /* NULL: all */
	double scale;
	uint64_t chunk_size;
	double budgets[MAX_BUDGETS];
	unsigned n_budgets;
	unsigned steps;
	int json;
	double device_scale;    /* --device: also time each policy on the device; 0: not */
	double compute_ms_per_gb;       /* the clock's compute, and --device's run */
	double link_gbps;               /* the clock's link */
};

/* One architecture's layout, as the policies see it. */
struct bench_model {
	const char *arch;
	struct gp_model_desc *desc;
	struct gp_policy_layout layout;
	uint32_t *first, *count;
	int64_t *block;
	uint64_t largest_group;         /* chunks */
	double build_seconds;
};

struct policy_result {
	int err;                        /* 0, or why it could not run */
	char error[256];
	uint64_t demand, prefetch;      /* chunk loads over the measured steps */
	double step_s;                  /* the replay's clock: seconds per measured step */
	double step_bound;              /* that over max(compute, bytes / link) */
	double step_ratio;              /* --device: step time / lower bound, NAN if not run */
	char device_error[256];         /* --device: why it could not run, or "" */
};

/* One (architecture, budget) case. */
struct bench_case {
	double percent;
	uint64_t capacity;              /* chunks */
	uint64_t min_misses;            /* over the measured steps */
	uint64_t group_estimate;        /* chunks per step, see whole_group_estimate() */
	struct policy_result policy[N_POLICIES];
	char swap_blocks[256];          /* static's streamed blocks as ranges */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void help(void)
{
	printf("usage: gpupager bench policy [OPTIONS]\n\n"
	       "Bytes moved host -> device per steady-state step by the eviction policies\n"
	       "lru, clock, static (block swap, streamed blocks chosen for the budget) and\n"
	       "auto, against Belady's MIN (the optimum) on the same trace.  The layout of\n"
	       "each architecture is computed from tensor sizes only: no files, no device.\n"
	       "A step is one forward pass, every group once in forward order; the average\n"
	       "is over the measured steps after %u warm-up steps.  Bytes moved count every\n"
	       "chunk load, demand and prefetch.\n\n"
	       "  --arch NAME|all   architecture (default all):", WARMUP_STEPS);
	for (const char *const *name = gp_arch_names(); *name; name++)
		printf(" %s", *name);
	printf("\n"
	       "  --scale S         hidden sizes x S, 0 < S <= 1 (default 1: the real model)\n"
	       "  --chunk-size SIZE residency unit (default GPUPAGER_CHUNK_SIZE, 2M)\n"
	       "  --budgets LIST    device budgets in percent of the model's range\n"
	       "                    (default 25,50,75)\n"
	       "  --steps N         measured steps, 1 to %u (default %u)\n"
	       "  --compute-ms-per-gb X  compute per GB of a group's weights (default 40, as\n"
	       "                    gpupager run): the replay's clock, and the --device runs\n"
	       "  --link-gbps G     the replay's clock: host -> device link (default 25)\n"
	       "  --device SCALE    also run each policy on the device (the simulator unless\n"
	       "                    GPUPAGER_CUDA_LIB names a driver) with the architecture\n"
	       "                    generated at SCALE in /var/tmp, 4 steps of `gpupager run`,\n"
	       "                    and report the steady step time over the lower bound\n"
	       "  --json            every number as JSON\n"
	       "  --help            this text\n\n"
	       "The replay also keeps a clock (one copy engine, one compute engine; see\n"
	       "pager/decide.h) and reports each policy's modelled step time over the lower\n"
	       "bound max(compute, bytes moved / link).\n\n"
	       "Exit status: 0 success, 1 runtime error, 2 usage error.\n", MAX_STEPS, DEFAULT_STEPS);
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option opts[] = {
		{ "arch", required_argument, NULL, 'a' },
		{ "scale", required_argument, NULL, 's' },
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "budgets", required_argument, NULL, 'b' },
		{ "steps", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "device", required_argument, NULL, 'd' },
		{ "compute-ms-per-gb", required_argument, NULL, 'C' },
		{ "link-gbps", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->arch = strcmp(optarg, "all") ? optarg : NULL;
			break;
		case 's':
			errno = 0;
			o->scale = strtod(optarg, &end);
			if (end == optarg || *end || errno || !isfinite(o->scale) || o->scale <= 0.0 ||
			    o->scale > 1.0)
				return cli_usage_error("bench", "bad --scale '%s': expected a number "
						       "with 0 < S <= 1", optarg);
			break;
		case 'c':
			if (gp_parse_size(optarg, &o->chunk_size))
				return cli_usage_error("bench", "bad --chunk-size: %s", gp_last_error());
			break;
		case 'b':
			if (bench_parse_percents(optarg, o->budgets, MAX_BUDGETS, &o->n_budgets))
				return cli_usage_error("bench", "bad --budgets '%s': expected up to %d "
						       "percentages 0 < P <= 100, comma-separated",
						       optarg, MAX_BUDGETS);
			break;
		case 'n': {
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || errno || *optarg == '-' || v < 1 || v > MAX_STEPS)
				return cli_usage_error("bench", "bad --steps '%s': expected 1 to %u",
						       optarg, MAX_STEPS);
			o->steps = (unsigned)v;
			break;
		}
		case 'j':
			o->json = 1;
			break;
		case 'd':
			errno = 0;
			o->device_scale = strtod(optarg, &end);
			if (end == optarg || *end || errno || !isfinite(o->device_scale) ||
			    o->device_scale <= 0.0 || o->device_scale > 1.0)
				return cli_usage_error("bench", "bad --device '%s': expected a scale "
						       "with 0 < S <= 1", optarg);
			break;
		case 'C':
		case 'L': {
			double v;

			errno = 0;
			v = strtod(optarg, &end);
			if (end == optarg || *end || errno || !isfinite(v) || v < 0.0 ||
			    (c == 'L' && v == 0.0))
				return cli_usage_error("bench", "bad --%s '%s': expected a %s number",
						       c == 'C' ? "compute-ms-per-gb" : "link-gbps",
						       optarg, c == 'C' ? "non-negative" : "positive");
			if (c == 'C')
				o->compute_ms_per_gb = v;
			else
				o->link_gbps = v;
			break;
		}
		case 'h':
			help();
			return -1;
		default:
			return cli_usage_error("bench", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
	if (o->arch) {
		const char *const *name = gp_arch_names();

		while (*name && strcmp(*name, o->arch))
			name++;
		if (!*name)
			return cli_usage_error("bench", "unknown architecture '%s' (see --help)",
					       o->arch);
	}
	return 0;
}

/* The description of arch at scale: tensors from the table, grouped and laid out. */
static int model_build(struct bench_model *m, const char *arch, const struct bench_opts *o)
{
	struct gp_arch_tensor *list = NULL;
	struct gp_model_desc *desc;
	uint64_t offset = 0;
	size_t count;
	double t0 = now();
	int err;

	memset(m, 0, sizeof(*m));
	m->arch = arch;
	desc = calloc(1, sizeof(*desc));
	if (!desc)
		return gp_fail(GP_ENOMEM, "out of memory");
	m->desc = desc;
	desc->source = strdup(arch);
	err = gp_arch_tensors(arch, o->scale, &list, &count);
	if (err)
		return err;
	desc->tensors = calloc(count ? count : 1, sizeof(*desc->tensors));
	if (!desc->source || !desc->tensors) {
		free(list);
		return gp_fail(GP_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		struct gp_st_tensor *t = &desc->tensors[i];

		t->name = strdup(list[i].name);
		if (!t->name) {
			free(list);
			return gp_fail(GP_ENOMEM, "out of memory");
		}
		desc->n_tensors++;
		t->dtype = list[i].dtype;
		t->ndim = list[i].ndim;
		t->nbytes = gp_dtype_size(list[i].dtype);
		for (int d = 0; d < t->ndim; d++) {
			t->shape[d] = list[i].shape[d];
			t->nbytes *= (uint64_t)list[i].shape[d];
		}
		t->file_offset = offset;
		offset += t->nbytes;
		desc->tensor_bytes += t->nbytes;
	}
	free(list);
	err = gp_model_group(desc, NULL);
	if (!err)
		err = gp_layout_plan(desc, o->chunk_size);
	if (err)
		return err;

	m->first = malloc(desc->n_groups * sizeof(*m->first));
	m->count = malloc(desc->n_groups * sizeof(*m->count));
	m->block = malloc(desc->n_groups * sizeof(*m->block));
	if (!m->first || !m->count || !m->block)
		return gp_fail(GP_ENOMEM, "out of memory");
	for (uint32_t g = 0; g < desc->n_groups; g++) {
		m->first[g] = (uint32_t)(desc->groups[g].range_offset / desc->chunk_size);
		m->count[g] = (uint32_t)(desc->groups[g].range_size / desc->chunk_size);
		m->block[g] = desc->groups[g].block_index;
		if (m->count[g] > m->largest_group)
			m->largest_group = m->count[g];
	}
	m->layout = (struct gp_policy_layout){
		.n_groups = desc->n_groups,
		.n_chunks = (uint32_t)(desc->range_size / desc->chunk_size),
		.group_first_chunk = m->first,
		.group_chunk_count = m->count,
		.group_block_index = m->block,
	};
	m->build_seconds = now() - t0;
	return 0;
}

static void model_free(struct bench_model *m)
{
	gp_model_desc_free(m->desc);
	free(m->first);
	free(m->count);
	free(m->block);
}

/* "20-39" / "0-5,7": the block indices static streams. */
static void format_streamed(const struct gp_policy *policy, const struct bench_model *m,
			    char *buf, size_t len)
{
	int64_t lo = -1, hi = -1, max_block = -1;
	size_t used = 0;

	buf[0] = '\0';
	for (uint32_t g = 0; g < m->layout.n_groups; g++)
		if (m->block[g] > max_block)
			max_block = m->block[g];
	/* A block index is streamed when any group carrying it is. */
	for (int64_t b = 0; b <= max_block + 1; b++) {
		bool streamed = false;

		for (uint32_t g = 0; g < m->layout.n_groups && b <= max_block; g++)
			streamed |= m->block[g] == b && !gp_policy_group_pinned(policy, g);
		if (streamed) {
			if (lo < 0)
				lo = b;
			hi = b;
			continue;
		}
		if (lo < 0)
			continue;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, lo == hi ? "%s%" PRId64 :
						 "%s%" PRId64 "-%" PRId64, used ? "," : "", lo, hi);
		lo = -1;
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

static void run_policy(const struct bench_model *m, const struct bench_opts *o, int i,
		       struct bench_case *bc)
{
	struct policy_result *r = &bc->policy[i];
	struct gp_policy_opts popts = { .kind = policy_kinds[i], .capacity_chunks = bc->capacity };
	struct gp_policy *policy;
	struct gp_replay sim;
	uint64_t demand0 = 0, prefetch0 = 0, *compute = NULL;
	double chunk_ns = (double)m->desc->chunk_size / o->link_gbps, end0 = 0, compute_ns = 0;

	r->err = gp_policy_create(&m->layout, &popts, &policy);
	if (r->err)
		goto fail;
	r->err = gp_replay_init(&sim, &m->layout, policy, bc->capacity, BUSY_GROUPS);
	compute = calloc(m->layout.n_groups ? m->layout.n_groups : 1, sizeof(*compute));
	if (!r->err && !compute)
		r->err = gp_fail(GP_ENOMEM, "out of memory");
	for (uint32_t g = 0; !r->err && g < m->layout.n_groups; g++) {
		/* ms per GB is ns per 1000 bytes, as gpupager run counts it. */
		compute[g] = (uint64_t)((double)m->count[g] * (double)m->desc->chunk_size *
					o->compute_ms_per_gb / 1000.0);
		compute_ns += (double)compute[g];
	}
	if (!r->err)
		r->err = gp_replay_set_times(&sim, compute, chunk_ns);
	for (unsigned step = 0; step < WARMUP_STEPS + o->steps && !r->err; step++) {
		if (step == WARMUP_STEPS) {
			demand0 = sim.counts.demand_loads;
			prefetch0 = sim.counts.prefetch_loads;
			end0 = sim.end;
		}
		for (uint32_t g = 0; g < m->layout.n_groups && !r->err; g++)
			r->err = gp_replay_access(&sim, g);
	}
	r->demand = sim.counts.demand_loads - demand0;
	r->prefetch = sim.counts.prefetch_loads - prefetch0;
	r->step_s = (sim.end - end0) / o->steps / 1e9;
	r->step_bound = r->step_s * 1e9 /
			fmax(compute_ns, (double)(r->demand + r->prefetch) / o->steps * chunk_ns);
	free(compute);
	if (policy_kinds[i] == GP_POLICY_STATIC)
		format_streamed(policy, m, bc->swap_blocks, sizeof(bc->swap_blocks));
	gp_replay_free(&sim);
	gp_policy_destroy(policy);
	if (!r->err)
		return;
fail:
	snprintf(r->error, sizeof(r->error), "%s", gp_last_error());
}

static int run_min(const struct bench_model *m, const struct bench_opts *o,
		   struct bench_case *bc)
{
	size_t n_steps = WARMUP_STEPS + o->steps + 1, n_access = n_steps * m->layout.n_groups;
	uint32_t *groups = malloc(n_access * sizeof(*groups)), *trace = NULL;
	uint8_t *miss = NULL;
	size_t len, per_step;
	int err;

	if (!groups)
		return gp_fail(GP_ENOMEM, "out of memory");
	for (size_t i = 0; i < n_access; i++)
		groups[i] = (uint32_t)(i % m->layout.n_groups);
	err = gp_belady_chunk_trace(&m->layout, groups, n_access, &trace, &len);
	if (err)
		goto out;
	miss = malloc(len);
	if (!miss) {
		err = gp_fail(GP_ENOMEM, "out of memory");
		goto out;
	}
	err = gp_belady_run(trace, len, m->layout.n_chunks, bc->capacity, &(uint64_t){ 0 }, miss);
	if (err)
		goto out;
	per_step = len / n_steps;
	bc->min_misses = 0;
	for (size_t i = WARMUP_STEPS * per_step; i < (WARMUP_STEPS + o->steps) * per_step; i++)
		bc->min_misses += miss[i];
out:
	free(groups);
	free(trace);
	free(miss);
	return err;
}

/*
 * Chunks per step of the best steady state that keeps the same chunks
 * every step when each group must be wholly resident while in use (MIN may
 * evict a chunk of the group being read, the engine may not): if every
 * group keeps all but x of its chunks, a step loads L(x) = sum min(size, x),
 * and the group in use fits next to the kept chunks when
 * range - L(x) + x <= capacity; dropping evenly is the best such plan, so
 * the estimate is L at the smallest such x.  A policy whose kept set varies
 * from step to step can do slightly better.  UINT64_MAX when the largest
 * group does not fit at all.
 */
static uint64_t whole_group_estimate(const struct bench_model *m, uint64_t capacity)
{
	uint64_t lo = 0, hi = m->largest_group, total = 0;

	if (capacity < m->largest_group)
		return UINT64_MAX;
	for (uint32_t g = 0; g < m->layout.n_groups; g++)
		total += m->count[g];
	for (;;) {
		uint64_t x = lo + (hi - lo) / 2, loads = 0;

		for (uint32_t g = 0; g < m->layout.n_groups; g++)
			loads += m->count[g] < x ? m->count[g] : x;
		if (lo == hi)
			return loads;
		if (total - loads + x <= capacity)
			hi = x;
		else
			lo = x + 1;
	}
}

/* --device: each policy's step time over the bound at this case's budget. */
static void run_on_device(struct bench_device *dev, const struct bench_opts *o,
			  struct bench_case *bc)
{
	for (int i = 0; i < N_POLICIES; i++) {
		struct policy_result *r = &bc->policy[i];
		int err = bench_device_ratio(dev, policy_names[i], bc->percent, o->compute_ms_per_gb,
					     &r->step_ratio);

		if (err) {
			r->step_ratio = NAN;
			snprintf(r->device_error, sizeof(r->device_error), "%s", gp_last_error());
		}
	}
}

static double per_step_bytes(uint64_t chunks, const struct bench_model *m,
			     const struct bench_opts *o)
{
	return (double)chunks * (double)m->desc->chunk_size / o->steps;
}

/* Loads over MIN's misses; 1 when both are 0, NAN when only MIN's are. */
static double ratio_to_min(uint64_t loads, uint64_t min)
{
	if (!min)
		return loads ? NAN : 1.0;
	return (double)loads / (double)min;
}

static json_t *case_json(const struct bench_model *m, const struct bench_opts *o,
			 const struct bench_case *bc)
{
	json_t *policies = json_object(), *row;

	for (int i = 0; i < N_POLICIES; i++) {
		const struct policy_result *r = &bc->policy[i];
		uint64_t loads = r->demand + r->prefetch;
		double ratio = ratio_to_min(loads, bc->min_misses);

		json_object_set_new(policies, policy_names[i],
			r->err ? json_pack("{s:s}", "error", r->error)
			       : json_pack("{s:f, s:f, s:f, s:I, s:o, s:o, s:o, s:o}",
					   "bytes_per_step", per_step_bytes(loads, m, o),
					   "demand_bytes_per_step", per_step_bytes(r->demand, m, o),
					   "prefetch_bytes_per_step",
					   per_step_bytes(r->prefetch, m, o),
					   "chunk_loads", (json_int_t)loads,
					   "ratio_to_min", isnan(ratio) ? json_null() : json_real(ratio),
					   "modelled_step_s", json_real(r->step_s),
					   "modelled_vs_lower_bound", json_real(r->step_bound),
					   "step_time_vs_lower_bound",
					   isnan(r->step_ratio) ? json_null()
								: json_real(r->step_ratio)));
	}
	row = json_pack("{s:s, s:I, s:I, s:I, s:f, s:I, s:I, s:f, s:I, s:o, s:o, s:s}",
			"arch", m->arch, "groups", (json_int_t)m->layout.n_groups,
			"chunks", (json_int_t)m->layout.n_chunks,
			"largest_group_chunks", (json_int_t)m->largest_group,
			"budget_percent", bc->percent,
			"capacity_chunks", (json_int_t)bc->capacity,
			"capacity_bytes", (json_int_t)(bc->capacity * m->desc->chunk_size),
			"min_bytes_per_step", per_step_bytes(bc->min_misses, m, o),
			"min_chunk_misses", (json_int_t)bc->min_misses,
			"whole_group_estimate_bytes_per_step",
			bc->group_estimate == UINT64_MAX ? json_null()
				: json_real(per_step_bytes(bc->group_estimate * o->steps, m, o)),
			"policies", policies, "static_swap_blocks", bc->swap_blocks);
	return row;
}

/* "20.02 GiB", "512.00 MiB". */
static const char *size_text(double bytes, char buf[32])
{
	return gp_format_size((uint64_t)bytes, buf, 32);
}

static void print_header(const struct bench_opts *o)
{
	printf("gpupager bench policy: bytes moved per step (average of %u steps after %u "
	       "warm-up),\nchunk %" PRIu64 " KiB, scale %g; simulated trace, no device.  "
	       "(x) = ratio to MIN;\n"
	       "grp est. = best fixed plan when each group must be whole while in use.\n",
	       o->steps, WARMUP_STEPS, o->chunk_size >> 10, o->scale);
}

static void print_model(const struct bench_model *m)
{
	char a[32], b[32];

	printf("\n%s: %u groups, %u chunks, range %s, largest group %s (layout in %.2f s)\n",
	       m->arch, m->layout.n_groups, m->layout.n_chunks,
	       size_text((double)m->desc->range_size, a),
	       size_text((double)(m->largest_group * m->desc->chunk_size), b), m->build_seconds);
	printf("  %-7s %-10s %-10s %-10s %-18s %-18s %-18s %-18s %s\n", "budget", "capacity",
	       "MIN", "grp est.", "lru", "clock", "static", "auto", "static streams blocks");
}

static bool all_same_error(const struct bench_case *bc)
{
	for (int i = 1; i < N_POLICIES; i++)
		if (strcmp(bc->policy[i].device_error, bc->policy[0].device_error))
			return false;
	return true;
}

static void print_case(const struct bench_model *m, const struct bench_opts *o,
		       const struct bench_case *bc)
{
	char pct[16], a[32], b[32], cell[64];

	snprintf(pct, sizeof(pct), "%g%%", bc->percent);
	printf("  %-7s %-10s %-10s", pct, size_text((double)(bc->capacity * m->desc->chunk_size), a),
	       size_text(per_step_bytes(bc->min_misses, m, o), b));
	if (bc->group_estimate != UINT64_MAX)
		printf(" %-10s", size_text((double)(bc->group_estimate * m->desc->chunk_size), a));
	else
		printf(" %-10s", "n/a");
	for (int i = 0; i < N_POLICIES; i++) {
		const struct policy_result *r = &bc->policy[i];
		uint64_t loads = r->demand + r->prefetch;

		if (r->err)
			snprintf(cell, sizeof(cell), "n/a");
		else
			snprintf(cell, sizeof(cell), "%s (%.2fx)", size_text(per_step_bytes(loads, m, o), a),
				 ratio_to_min(loads, bc->min_misses));
		printf(" %-18s", cell);
	}
	printf(" %s\n", bc->swap_blocks);
	for (int i = 0; i < N_POLICIES; i++)
		if (bc->policy[i].err)
			printf("    %s: %s\n", policy_names[i], bc->policy[i].error);
	printf("          modelled step, s (/ lower bound), %g ms/GB, %g GB/s:",
	       o->compute_ms_per_gb, o->link_gbps);
	for (int i = 0; i < N_POLICIES; i++)
		if (!bc->policy[i].err)
			printf("  %s %.3f (%.2fx)", policy_names[i], bc->policy[i].step_s,
			       bc->policy[i].step_bound);
	printf("\n");
	if (!o->device_scale)
		return;
	printf("          step time / lower bound on the device (scale %g):", o->device_scale);
	for (int i = 0; i < N_POLICIES; i++)
		if (!isnan(bc->policy[i].step_ratio))
			printf("  %s %.2fx", policy_names[i], bc->policy[i].step_ratio);
	printf("\n");
	for (int i = 0; i < N_POLICIES; i++) {
		const char *e = bc->policy[i].device_error;

		if (!e[0])
			continue;
		/* The usual case, a group larger than the budget, fails every policy alike. */
		if (i > 0 && !strcmp(e, bc->policy[0].device_error))
			continue;
		printf("    %s on the device: %s\n", i == 0 && all_same_error(bc) ? "every policy" :
		       policy_names[i], e);
	}
}

static int bench_model(const char *arch, const struct bench_opts *o, json_t *results)
{
	struct bench_device dev = { .dir = "" };
	struct bench_model m;
	int err = model_build(&m, arch, o);

	if (!err && o->device_scale)
		err = bench_device_open(&dev, arch, o->device_scale);
	if (err)
		goto out;
	if (!o->json)
		print_model(&m);
	for (unsigned b = 0; b < o->n_budgets; b++) {
		struct bench_case bc = { .percent = o->budgets[b] };

		bc.capacity = (uint64_t)(o->budgets[b] / 100.0 * m.layout.n_chunks);
		err = run_min(&m, o, &bc);
		if (err)
			goto out;
		bc.group_estimate = whole_group_estimate(&m, bc.capacity);
		for (int i = 0; i < N_POLICIES; i++) {
			bc.policy[i].step_ratio = NAN;
			run_policy(&m, o, i, &bc);
		}
		if (o->device_scale)
			run_on_device(&dev, o, &bc);
		if (o->json) {
			json_t *row = case_json(&m, o, &bc);

			if (!row || json_array_append_new(results, row)) {
				err = gp_fail(GP_ENOMEM, "out of memory building JSON");
				goto out;
			}
		} else {
			print_case(&m, o, &bc);
			fflush(stdout);
		}
	}
out:
	if (err)
		gp_fail_context(err, "%s: ", arch);
	bench_device_close(&dev);
	model_free(&m);
	return err;
}

int bench_policy_main(int argc, char **argv)
{
	struct bench_opts o = { .scale = 1.0, .budgets = { 25, 50, 75 }, .n_budgets = 3,
				.steps = DEFAULT_STEPS, .compute_ms_per_gb = 40.0, .link_gbps = 25.0 };
	const struct gp_config *cfg;
	json_t *results = NULL, *root;
	char *text;
	int err;

	err = parse_args(argc, argv, &o);
	if (err)
		return err < 0 ? 0 : err;
	if (!o.chunk_size) {
		err = gp_config_get(&cfg);
		if (err)
			return cli_fail("bench", err);
		o.chunk_size = cfg->chunk_size;
	}
	if (o.json)
		results = json_array();
	else
		print_header(&o);
	for (const char *const *name = gp_arch_names(); *name; name++) {
		if (o.arch && strcmp(o.arch, *name))
			continue;
		err = bench_model(*name, &o, results);
		if (err) {
			json_decref(results);
			return cli_fail("bench", err);
		}
	}
	if (!o.json)
		return 0;
	root = json_pack("{s:s, s:f, s:I, s:I, s:I, s:f, s:f, s:o}", "benchmark", "policy", "scale",
			 o.scale, "chunk_size", (json_int_t)o.chunk_size, "warmup_steps",
			 (json_int_t)WARMUP_STEPS, "steps", (json_int_t)o.steps, "compute_ms_per_gb",
			 o.compute_ms_per_gb, "link_gbps", o.link_gbps, "results", results);
	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (!text) {
		fprintf(stderr, "gpupager bench: out of memory printing JSON\n");
		return 1;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}
