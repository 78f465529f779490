/*
 * mrc.c - `pagerstat mrc TRACE` and `pagerstat advise TRACE`: the library
 * computes (gp_mrc_*), this file only parses arguments and formats: a
 * table, a terminal plot, JSON, and an SVG chart (chart.c).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pagerstat.h"

static int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pagerstat %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pagerstat %s --help'.\n", cmd);
	return 2;
}

static int fail(const char *cmd)
{
	fprintf(stderr, "pagerstat %s: %s\n", cmd, gp_last_error());
	return 1;
}

static void mrc_usage(FILE *out)
{
	fprintf(out,
		"usage: pagerstat mrc TRACE [--policies lru,clock,static,auto,min]\n"
		"                      [--budgets LIST | --from A --to B --points N] [--model N]\n"
		"                      [--link-gbps X] [--compute-ms X] [--threads N]\n"
		"                      [--json] [--svg FILE] [--png FILE]\n\n"
		"The miss-ratio curve of a trace (gpupager run --trace, GPUPAGER_TRACE): H2D bytes\n"
		"per steady-state step against the VRAM budget, for each policy and for Belady's\n"
		"MIN, and the step time bound max(compute, bytes / link).  lru and min are exact\n"
		"at every chunk count (stack algorithms); clock, static and auto are the engine's\n"
		"own policy code replayed at each budget.\n\n"
		"options:\n"
		"  --policies LIST   curves to compute (default: all)\n"
		"  --budgets LIST    comma-separated sizes (8G) or percentages of the model (40%%)\n"
		"  --from A --to B   budget range (default: the largest group to the whole model)\n"
		"  --points N        points in the range, 1 to %d (default 64)\n"
		"  --model N         model of the trace (default 0)\n"
		"  --link-gbps X     H2D link in GB/s (default: the trace's, else 25)\n"
		"  --compute-ms X    compute per step in ms (default: the trace's)\n"
		"  --threads N       replays in parallel (default: CPUs, at most 8)\n"
		"  --json            print the curves as one JSON object\n"
		"  --svg FILE        write a chart (axes in GiB, the advised budget marked)\n"
		"  --png FILE        the same chart as a PNG image\n\n"
		"Exit status: 0 success, 1 a bad trace or an I/O error, 2 a usage error.\n",
		GP_MRC_MAX_POINTS);
}

static void advise_usage(FILE *out)
{
	fprintf(out,
		"usage: pagerstat advise TRACE [--target-ratio R] [--policy auto|lru|clock|static]\n"
		"                         [--model N] [--link-gbps X] [--compute-ms X] [--points N]\n"
		"                         [--json]\n\n"
		"The smallest VRAM budget at which the policy's step time is within R (default\n"
		"1.10) of the compute-only time, given the link bandwidth (the trace's, or\n"
		"--link-gbps), the budget at which static block swap moves as few bytes, the\n"
		"least any policy could need (MIN), and the GPUPAGER_* settings to use.\n\n"
		"Exit status: 0 success, 1 a bad trace or no budget meets the target, 2 usage.\n");
}

struct mrc_args {
	const char *cmd;
	const char *trace;
	const char *policies;
	const char *budgets;
	const char *from, *to;
	const char *svg, *png;
	long points;
	long model;
	long threads;
	double link_gbps, compute_ms, target_ratio;
	int json;
	const char *policy;     /* advise */
};

static int parse_pos_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return end != s && !*end && !errno && isfinite(*out) && *out > 0 ? 0 : -1;
}

static int parse_count(const char *s, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return end != s && !*end && !errno && *out >= 0 && *out <= max ? 0 : -1;
}

/* A size or a percentage of model_bytes; -1 after a message. */
static int budget_value(const char *cmd, const char *text, uint64_t model_bytes, uint64_t *out)
{
	uint64_t bytes;
	double pct;

	if (gp_parse_budget(text, &bytes, &pct) < 0)
		return cmd_usage_error(cmd, "bad budget '%s': %s", text, gp_last_error());
	*out = bytes ? bytes : (uint64_t)((double)model_bytes * pct / 100.0 + 0.5);
	if (!*out)
		return cmd_usage_error(cmd, "budget '%s' is 0 bytes", text);
	return 0;
}

static int parse_args(int argc, char **argv, struct mrc_args *a, int advise)
{
	static const struct option longopts[] = {
		{ "policies", required_argument, NULL, 'P' },
		{ "policy", required_argument, NULL, 'y' },
		{ "budgets", required_argument, NULL, 'b' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "points", required_argument, NULL, 'n' },
		{ "model", required_argument, NULL, 'm' },
		{ "link-gbps", required_argument, NULL, 'l' },
		{ "compute-ms", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 'T' },
		{ "target-ratio", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "svg", required_argument, NULL, 's' },
		{ "png", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = a->cmd;
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int only_mrc = 0, only_advise = 0;

		switch (opt) {
		case 'P':
			a->policies = optarg;
			only_mrc = 1;
			break;
		case 'y':
			a->policy = optarg;
			only_advise = 1;
			break;
		case 'b':
			a->budgets = optarg;
			only_mrc = 1;
			break;
		case 'f':
			a->from = optarg;
			only_mrc = 1;
			break;
		case 't':
			a->to = optarg;
			only_mrc = 1;
			break;
		case 'n':
			if (parse_count(optarg, GP_MRC_MAX_POINTS, &a->points) || !a->points)
				return cmd_usage_error(cmd, "bad --points '%s': expected 1 to %d",
						       optarg, GP_MRC_MAX_POINTS);
			break;
		case 'm':
			if (parse_count(optarg, 1 << 20, &a->model))
				return cmd_usage_error(cmd, "bad --model '%s': expected a model "
						       "number", optarg);
			break;
		case 'T':
			if (parse_count(optarg, 16, &a->threads) || !a->threads)
				return cmd_usage_error(cmd, "bad --threads '%s': expected 1 to 16",
						       optarg);
			break;
		case 'l':
			if (parse_pos_double(optarg, &a->link_gbps))
				return cmd_usage_error(cmd, "bad --link-gbps '%s': expected a "
						       "positive number", optarg);
			break;
		case 'c':
			if (parse_pos_double(optarg, &a->compute_ms))
				return cmd_usage_error(cmd, "bad --compute-ms '%s': expected a "
						       "positive number", optarg);
			break;
		case 'r':
			if (parse_pos_double(optarg, &a->target_ratio) || a->target_ratio < 1)
				return cmd_usage_error(cmd, "bad --target-ratio '%s': expected a "
						       "number of at least 1", optarg);
			only_advise = 1;
			break;
		case 'j':
			a->json = 1;
			break;
		case 's':
			a->svg = optarg;
			only_mrc = 1;
			break;
		case 'g':
			a->png = optarg;
			only_mrc = 1;
			break;
		case 'h':
			if (advise)
				advise_usage(stdout);
			else
				mrc_usage(stdout);
			return -1;
		default:
			if (optopt)
				return cmd_usage_error(cmd, "option '%s' needs a value",
						       argv[optind - 1]);
			return cmd_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
		if ((only_mrc && advise) || (only_advise && !advise))
			return cmd_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		return cmd_usage_error(cmd, "missing TRACE");
	if (argc - optind > 1)
		return cmd_usage_error(cmd, "too many arguments: '%s'", argv[optind + 1]);
	a->trace = argv[optind];
	if (a->budgets && (a->from || a->to))
		return cmd_usage_error(cmd, "--budgets and --from/--to exclude each other");
	if (a->budgets && a->points)
		return cmd_usage_error(cmd, "--budgets and --points exclude each other");
	return 0;
}

/* Read the trace and compute the curves; 0, 1 (message printed) or 2. */
static int compute(const struct mrc_args *a, uint32_t curves, struct gp_trace **tp,
		   struct gp_mrc **mp)
{
	struct gp_trace_model_info mi = { .struct_size = sizeof(mi) };
	struct gp_trace_info ti = { .struct_size = sizeof(ti) };
	struct gp_mrc_options o;
	uint64_t *budgets = NULL;
	int rc = 0;

	*tp = NULL;
	*mp = NULL;
	if (gp_trace_read(a->trace, tp) < 0)
		return fail(a->cmd);
	gp_trace_get_info(*tp, &ti);
	if (!ti.complete)
		fprintf(stderr, "pagerstat %s: warning: %s has no end line (its process did not "
			"stop the trace); using the accesses it has\n", a->cmd, a->trace);
	if ((uint64_t)a->model >= ti.n_models) {
		fprintf(stderr, "pagerstat %s: %s: no model %ld (the trace has %u)\n", a->cmd,
			a->trace, a->model, ti.n_models);
		return 1;
	}
	gp_trace_model(*tp, (uint32_t)a->model, &mi);
	gp_mrc_options_init(&o);
	o.model = (uint32_t)a->model;
	o.curves = curves;
	o.points = (uint32_t)a->points;
	o.link_gbps = a->link_gbps;
	o.compute_ns_per_step = a->compute_ms * 1e6;
	o.threads = (uint32_t)a->threads;
	if (a->from && budget_value(a->cmd, a->from, mi.range_size, &o.from))
		return 2;
	if (a->to && budget_value(a->cmd, a->to, mi.range_size, &o.to))
		return 2;
	if (a->budgets) {
		const char *p = a->budgets;
		uint32_t n = 0;

		budgets = calloc(GP_MRC_MAX_POINTS, sizeof(*budgets));
		if (!budgets)
			return 1;
		while (*p) {
			char part[64];
			size_t len = strcspn(p, ",");

			if (n == GP_MRC_MAX_POINTS || !len || len >= sizeof(part)) {
				rc = cmd_usage_error(a->cmd, "bad --budgets '%s': expected 1 to %d "
						     "sizes or percentages, comma-separated",
						     a->budgets, GP_MRC_MAX_POINTS);
				goto out;
			}
			memcpy(part, p, len);
			part[len] = '\0';
			if (budget_value(a->cmd, part, mi.range_size, &budgets[n++])) {
				rc = 2;
				goto out;
			}
			p += len;
			if (*p == ',' && !*++p) {
				rc = cmd_usage_error(a->cmd, "bad --budgets '%s': empty part at the end",
						     a->budgets);
				goto out;
			}
		}
		o.budgets = budgets;
		o.n_budgets = n;
	}
	if (gp_mrc_compute(*tp, &o, mp) < 0)
		rc = fail(a->cmd);
out:
	free(budgets);
	return rc;
}

static double gib(uint64_t b)
{
	return (double)b / (double)(1ull << 30);
}

static void print_table(FILE *out, const struct gp_mrc *m, const struct gp_mrc_info *info,
			const char *trace)
{
	fprintf(out, "trace %s: %u groups, %u chunks of %llu KiB (%.2f GiB); %llu accesses, "
		"%llu steps of %llu (%s), %llu measured\n", trace, info->n_groups, info->n_chunks,
		(unsigned long long)(info->chunk_size >> 10), gib(info->model_bytes),
		(unsigned long long)info->accesses, (unsigned long long)info->steps,
		(unsigned long long)info->step_accesses,
		info->periodic ? "periodic" : "cut at the first group",
		(unsigned long long)info->measured_steps);
	if (info->compute_ns_per_step > 0)
		fprintf(out, "link %.2f GB/s, compute %.3f ms per step; computed in %.3f s\n",
			info->link_gbps, info->compute_ns_per_step / 1e6, info->seconds);
	else
		fprintf(out, "link %.2f GB/s, compute not recorded; computed in %.3f s\n",
			info->link_gbps, info->seconds);
	fprintf(out, "H2D MiB per step\n%12s", "budget GiB");
	for (int c = 0; c < GP_MRC_CURVES; c++)
		if (info->curves & (1u << c))
			fprintf(out, " %10s", gp_mrc_curve_name(c));
	if (info->compute_ns_per_step > 0)
		fprintf(out, " %12s", "min step ms");
	fputc('\n', out);
	for (uint32_t i = 0; i < info->n_points; i++) {
		struct gp_mrc_point pt = { .struct_size = sizeof(pt) };
		double min_step = 0;

		for (int c = 0; c < GP_MRC_CURVES; c++) {
			if (!(info->curves & (1u << c)))
				continue;
			gp_mrc_point(m, c, i, &pt);
			if (c == GP_MRC_MIN)
				min_step = pt.step_ns;
		}
		fprintf(out, "%12.3f", gib(pt.budget));
		for (int c = 0; c < GP_MRC_CURVES; c++) {
			if (!(info->curves & (1u << c)))
				continue;
			gp_mrc_point(m, c, i, &pt);
			if (pt.valid)
				fprintf(out, " %10.1f", (double)pt.bytes_per_step / (1 << 20));
			else
				fprintf(out, " %10s", "-");
		}
		if (info->compute_ns_per_step > 0 && (info->curves & (1u << GP_MRC_MIN)))
			fprintf(out, " %12.3f", pt.valid ? min_step / 1e6 : 0);
		fputc('\n', out);
	}
	fprintf(out, "checks: MIN convex %s, MIN below every policy %s, exact LRU = replay %s "
		"(%u budgets)\n",
		info->min_convex < 0 ? "-" : info->min_convex ? "yes" : "NO",
		info->min_below_all < 0 ? "-" : info->min_below_all ? "yes" : "NO",
		info->lru_matches_replay < 0 ? "-" : info->lru_matches_replay ? "yes" : "NO",
		info->lru_checked);
}

/* The curves as letters on a 64 x 16 grid: x the budget, y the bytes per step. */
static void print_plot(FILE *out, const struct gp_mrc *m, const struct gp_mrc_info *info)
{
	enum { W = 64, H = 16 };
	static const char letter[GP_MRC_CURVES] = { 'l', 'c', 's', 'a', 'M' };
	char grid[H][W + 1];
	uint64_t lo = UINT64_MAX, hi = 0, ymax = 1;

	for (uint32_t i = 0; i < info->n_points; i++) {
		for (int c = 0; c < GP_MRC_CURVES; c++) {
			struct gp_mrc_point pt = { .struct_size = sizeof(pt) };

			if (!(info->curves & (1u << c)) || gp_mrc_point(m, c, i, &pt) || !pt.valid)
				continue;
			lo = pt.budget < lo ? pt.budget : lo;
			hi = pt.budget > hi ? pt.budget : hi;
			ymax = pt.bytes_per_step > ymax ? pt.bytes_per_step : ymax;
		}
	}
	if (lo > hi)
		return;
	memset(grid, ' ', sizeof(grid));
	for (int r = 0; r < H; r++)
		grid[r][W] = '\0';
	for (int c = GP_MRC_CURVES - 1; c >= 0; c--) {
		for (uint32_t i = 0; i < info->n_points; i++) {
			struct gp_mrc_point pt = { .struct_size = sizeof(pt) };
			int x, y;

			if (!(info->curves & (1u << c)) || gp_mrc_point(m, c, i, &pt) || !pt.valid)
				continue;
			x = hi > lo ? (int)((double)(pt.budget - lo) * (W - 1) / (double)(hi - lo)) : 0;
			y = (int)((double)pt.bytes_per_step * (H - 1) / (double)ymax + 0.5);
			grid[H - 1 - y][x] = letter[c];
		}
	}
	fprintf(out, "\nGiB per step (l lru, c clock, s static, a auto, M min)\n");
	for (int r = 0; r < H; r++)
		fprintf(out, "%8.2f |%s\n", gib(ymax) * (H - 1 - r) / (H - 1), grid[r]);
	fprintf(out, "%8s +", "");
	for (int x = 0; x < W; x++)
		fputc('-', out);
	fprintf(out, "\n%9s %-10.2f%*s%10.2f  budget GiB\n", "", gib(lo), W - 20, "", gib(hi));
}

static json_t *curves_json(const struct gp_mrc *m, const struct gp_mrc_info *info)
{
	json_t *curves = json_object();

	for (int c = 0; c < GP_MRC_CURVES; c++) {
		json_t *pts;

		if (!(info->curves & (1u << c)))
			continue;
		pts = json_array();
		for (uint32_t i = 0; i < info->n_points; i++) {
			struct gp_mrc_point pt = { .struct_size = sizeof(pt) };

			gp_mrc_point(m, c, i, &pt);
			json_array_append_new(pts, pt.valid ?
				json_pack("{s:I,s:I,s:I,s:f,s:f}", "budget", (json_int_t)pt.budget,
					  "capacity_chunks", (json_int_t)pt.capacity_chunks,
					  "bytes_per_step", (json_int_t)pt.bytes_per_step,
					  "miss_ratio", pt.miss_ratio, "step_seconds", pt.step_ns / 1e9) :
				json_pack("{s:I,s:I,s:n}", "budget", (json_int_t)pt.budget,
					  "capacity_chunks", (json_int_t)pt.capacity_chunks,
					  "bytes_per_step"));
		}
		json_object_set_new(curves, gp_mrc_curve_name(c), pts);
	}
	return curves;
}

static json_t *check_json(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

/* The budget a user should pick: auto (else the first curve) within 1.10 of compute. */
static int suggested(const struct gp_mrc *m, const struct gp_mrc_info *info,
		     struct gp_mrc_advice *adv)
{
	int curve = (info->curves & (1u << GP_MRC_AUTO)) ? GP_MRC_AUTO : -1;

	for (int c = 0; c < GP_MRC_CURVES && curve < 0; c++)
		if (info->curves & (1u << c))
			curve = c;
	adv->struct_size = sizeof(*adv);
	return gp_mrc_advise(m, curve, 1.10, adv);
}

int ps_mrc(int argc, char **argv)
{
	struct mrc_args a = { .cmd = "mrc" };
	struct gp_mrc_info info = { .struct_size = sizeof(info) };
	struct gp_mrc_advice adv = { 0 };
	struct gp_trace *t = NULL;
	struct gp_mrc *m = NULL;
	uint32_t curves = 0;
	int rc, have_adv;

	rc = parse_args(argc, argv, &a, 0);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (a.policies && gp_mrc_parse_curves(a.policies, &curves) < 0)
		return cmd_usage_error(a.cmd, "bad --policies: %s", gp_last_error());
	rc = compute(&a, curves, &t, &m);
	if (rc)
		goto out;
	gp_mrc_get_info(m, &info);
	have_adv = suggested(m, &info, &adv) == 0;
	if (a.svg && ps_chart_svg(a.svg, m, &info, have_adv ? &adv : NULL) < 0) {
		rc = 1;
		goto out;
	}
	if (a.png && ps_chart_png(a.png, m, &info, have_adv ? &adv : NULL) < 0) {
		rc = 1;
		goto out;
	}
	if (a.json) {
		json_t *root = json_pack(
			"{s:s,s:i,s:I,s:I,s:I,s:i,s:i,s:I,s:I,s:I,s:b,s:f,s:f,s:o,s:o,s:o,s:i,s:f,"
			"s:o,s:o}",
			"trace", a.trace, "model", (int)a.model,
			"chunk_size", (json_int_t)info.chunk_size,
			"model_bytes", (json_int_t)info.model_bytes,
			"min_budget", (json_int_t)info.min_budget, "groups", (int)info.n_groups,
			"chunks", (int)info.n_chunks, "accesses", (json_int_t)info.accesses,
			"steps", (json_int_t)info.steps,
			"measured_steps", (json_int_t)info.measured_steps,
			"periodic", info.periodic, "link_gbps", info.link_gbps,
			"compute_seconds_per_step", info.compute_ns_per_step / 1e9,
			"min_convex", check_json(info.min_convex),
			"min_below_all", check_json(info.min_below_all),
			"lru_matches_replay", check_json(info.lru_matches_replay),
			"lru_checked", (int)info.lru_checked, "seconds", info.seconds,
			"suggested_budget", have_adv ? json_integer((json_int_t)adv.budget) : json_null(),
			"curves", curves_json(m, &info));

		json_dumpf(root, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(root);
	} else {
		print_table(stdout, m, &info, a.trace);
		print_plot(stdout, m, &info);
		if (have_adv)
			printf("suggested budget (%s within 1.10 of compute): %.3f GiB\n",
			       gp_mrc_curve_name(adv.curve), gib(adv.budget));
	}
out:
	gp_mrc_free(m);
	gp_trace_free(t);
	return rc;
}

static void size_text(uint64_t bytes, char *buf, size_t len)
{
	/* GPUPAGER_VRAM_BUDGET in whole MiB, rounded up, so the budget is not undercut. */
	snprintf(buf, len, "%lluM", (unsigned long long)((bytes + (1 << 20) - 1) >> 20));
}

int ps_advise(int argc, char **argv)
{
	struct mrc_args a = { .cmd = "advise", .target_ratio = 1.10 };
	struct gp_mrc_info info = { .struct_size = sizeof(info) };
	struct gp_mrc_advice adv = { .struct_size = sizeof(adv) };
	struct gp_trace *t = NULL;
	struct gp_mrc *m = NULL;
	uint32_t curves;
	int rc, curve = GP_MRC_AUTO, err;
	char budget[32], static_budget[32];

	rc = parse_args(argc, argv, &a, 1);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (a.policy) {
		if (gp_mrc_parse_curves(a.policy, &curves) < 0 || (curves & (curves - 1)) ||
		    (curves & (1u << GP_MRC_MIN)))
			return cmd_usage_error(a.cmd, "bad --policy '%s': expected one of auto, lru, "
					       "clock, static", a.policy);
		curve = __builtin_ctz(curves);
	}
	curves = (1u << curve) | (1u << GP_MRC_STATIC) | (1u << GP_MRC_MIN);
	rc = compute(&a, curves, &t, &m);
	if (rc)
		goto out;
	gp_mrc_get_info(m, &info);
	err = gp_mrc_advise(m, curve, a.target_ratio, &adv);
	if (err < 0 && err != GP_ENOENT) {
		rc = fail(a.cmd);
		goto out;
	}
	size_text(adv.budget, budget, sizeof(budget));
	size_text(adv.static_budget, static_budget, sizeof(static_budget));
	if (a.json) {
		json_t *root = json_pack(
			"{s:s,s:s,s:f,s:f,s:f,s:o,s:o,s:o,s:o,s:o,s:I}",
			"trace", a.trace, "policy", gp_mrc_curve_name(curve),
			"target_ratio", a.target_ratio, "link_gbps", info.link_gbps,
			"compute_seconds_per_step", info.compute_ns_per_step / 1e9,
			"budget", adv.budget ? json_integer((json_int_t)adv.budget) : json_null(),
			"step_seconds", adv.budget ? json_real(adv.step_ns / 1e9) : json_null(),
			"bytes_per_step", adv.budget ? json_integer((json_int_t)adv.bytes_per_step) :
				json_null(),
			"static_budget", adv.static_budget ?
				json_integer((json_int_t)adv.static_budget) : json_null(),
			"min_budget", adv.min_budget ? json_integer((json_int_t)adv.min_budget) :
				json_null(),
			"model_bytes", (json_int_t)info.model_bytes);

		if (adv.budget)
			json_object_set_new(root, "settings", json_pack("{s:s,s:s}",
					    "GPUPAGER_VRAM_BUDGET", budget, "GPUPAGER_POLICY",
					    gp_mrc_curve_name(curve)));
		json_dumpf(root, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(root);
	} else if (adv.budget) {
		printf("%s: %s reaches a step time within %.2fx of compute (%.3f ms) at %.3f GiB "
		       "(%.1f MiB per step, %.3f ms per step at %.2f GB/s)\n", a.trace,
		       gp_mrc_curve_name(curve), a.target_ratio, info.compute_ns_per_step / 1e6,
		       gib(adv.budget), (double)adv.bytes_per_step / (1 << 20), adv.step_ns / 1e6,
		       info.link_gbps);
		if (adv.static_budget)
			printf("static block swap moves as few bytes at %.3f GiB\n",
			       gib(adv.static_budget));
		else
			printf("static block swap does not move as few bytes at any budget up to "
			       "the whole model\n");
		if (adv.min_budget)
			printf("no policy can do it below %.3f GiB (MIN)\n", gib(adv.min_budget));
		printf("\n    GPUPAGER_VRAM_BUDGET=%s GPUPAGER_POLICY=%s\n", budget,
		       gp_mrc_curve_name(curve));
	}
	if (!adv.budget) {
		fprintf(stderr, "pagerstat advise: %s\n", gp_last_error());
		rc = 1;
	}
out:
	gp_mrc_free(m);
	gp_trace_free(t);
	return rc;
}
