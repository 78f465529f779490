/*
 * plan.c - `pagerstat plan TRACE --budget SIZE|PCT [--options JSON]
 * [-o plan.json]`: the library compiles (gp_plan_compile) and writes the
 * plan; this file parses arguments and prints the summary.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pagerstat.h"

static void plan_usage(FILE *out)
{
	fprintf(out,
		"usage: pagerstat plan TRACE --budget SIZE|PCT [--options JSON] [--model N]\n"
		"                       [-o plan.json] [--json]\n\n"
		"Compile a residency plan for one VRAM budget from a trace (gpupager run --trace):\n"
		"which groups stay resident and which are streamed, the eviction order and each\n"
		"group's prefetch distance, chosen among candidate schedules (static block sets\n"
		"and auto's MIN schedule, prefetch 0..4) replayed with the engine's code, the\n"
		"fastest under the link model (the trace's compute_ns_per_step and link_gbps).\n"
		"Run it with GPUPAGER_PLAN=plan.json or gpupager run --plan plan.json.\n\n"
		"options:\n"
		"  --budget SIZE|PCT  VRAM for the model: a size (1.2G) or a percentage of it\n"
		"  --options JSON     {\"schedules\": [\"static\", \"min\"], \"max_prefetch\": 4,\n"
		"                     \"link_gbps\": X, \"compute_ms\": X} (every key optional)\n"
		"  --model N          model of the trace (default 0)\n"
		"  -o FILE            write the plan there (default: print it on stdout)\n"
		"  --json             with -o: print the plan on stdout too\n\n"
		"Exit status: 0 success, 1 a bad trace, a budget the plan cannot meet or an I/O\n"
		"error, 2 a usage error (bad options JSON, unknown option keys).\n");
}

static int plan_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pagerstat plan: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pagerstat plan --help'.\n");
	return 2;
}

static void print_summary(FILE *out, const struct gp_plan *plan, const char *path)
{
	struct gp_plan_info info = { .struct_size = sizeof(info) };
	char b1[32], b2[32];

	gp_plan_get_info(plan, &info);
	fprintf(out, "plan for %s at %s (%llu chunks): schedule %s, prefetch %u\n", info.source,
		gp_format_size(info.budget, b1, sizeof(b1)),
		(unsigned long long)info.capacity_chunks, info.schedule, info.prefetch);
	fprintf(out, "groups: %u resident, %u streamed; predicted %s per step, step %.2f ms "
		"(compute %.2f ms, link %.1f GB/s)\n", info.resident_groups, info.streamed_groups,
		gp_format_size(info.bytes_per_step, b2, sizeof(b2)), info.step_ns / 1e6,
		info.compute_ns_per_step / 1e6, info.link_gbps);
	fprintf(out, "%-8s %8s %16s %12s\n", "schedule", "prefetch", "bytes/step", "step_ms");
	for (uint32_t i = 0; i < info.n_candidates; i++) {
		struct gp_plan_candidate c = { .struct_size = sizeof(c) };

		if (gp_plan_candidate(plan, i, &c))
			break;
		fprintf(out, "%-8s %8u %16llu %12.3f%s\n", c.schedule, c.prefetch,
			(unsigned long long)c.bytes_per_step, c.step_ns / 1e6,
			c.chosen ? "  <- chosen" : "");
	}
	if (path)
		fprintf(out, "wrote %s\n", path);
}

int ps_plan(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "budget", required_argument, NULL, 'b' },
		{ "options", required_argument, NULL, 'O' },
		{ "model", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gp_plan_options po;
	struct gp_trace *trace = NULL;
	struct gp_plan *plan = NULL;
	const char *budget = NULL, *output = NULL;
	int opt, json = 0, err, rc = 1;
	uint64_t bytes = 0;
	double pct = 0;

	gp_plan_options_init(&po);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			budget = optarg;
			if (gp_parse_budget(optarg, &bytes, &pct) < 0)
				return plan_usage_error("bad budget '%s': %s", optarg, gp_last_error());
			break;
		case 'O':
			po.options_json = optarg;
			break;
		case 'm': {
			char *end;

			errno = 0;
			long m = strtol(optarg, &end, 10);
			if (end == optarg || *end || errno || m < 0 || m > 1000000)
				return plan_usage_error("bad --model '%s'", optarg);
			po.model = (uint32_t)m;
			break;
		}
		case 'o':
			output = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			plan_usage(stdout);
			return 0;
		default:
			return plan_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return plan_usage_error(optind >= argc ? "TRACE is required" : "one TRACE expected");
	if (!budget)
		return plan_usage_error("--budget is required");
	po.budget = bytes;
	po.budget_pct = pct;
	err = gp_trace_read(argv[optind], &trace);
	if (err)
		goto fail;
	err = gp_plan_compile(trace, &po, &plan);
	if (err) {
		/* Options are the user's text: a usage error; the rest is the trace or budget. */
		if (err == GP_EINVAL && !strncmp(gp_last_error(), "plan options", 12)) {
			rc = plan_usage_error("%s", gp_last_error());
			goto out;
		}
		goto fail;
	}
	if (output) {
		err = gp_plan_write(plan, output);
		if (err)
			goto fail;
		if (json)
			err = gp_plan_write(plan, "-");
		else
			print_summary(stdout, plan, output);
	} else {
		err = gp_plan_write(plan, "-");
		if (!err)
			print_summary(stderr, plan, NULL);
	}
	if (err)
		goto fail;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "pagerstat plan: %s\n", gp_last_error());
	rc = 1;
out:
	gp_plan_free(plan);
	gp_trace_free(trace);
	return rc;
}
