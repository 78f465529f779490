/*
 * cmd_bench_shim.c - `gpupager bench shim`: what the LD_PRELOAD shim costs
 * and how well it pages, measured on the shim's own test programs
 * (tests/apps/, plain driver-API programs built by make) run with and
 * without `gpupager exec` in the same run.
 *
 *   interception  shim_cost (an 8-parameter launch, a 256-byte async H2D
 *                 copy; everything fits) plain and under the shim,
 *                 interleaved --repeat times: the time each call adds.
 *   paging        shim_app on a generated model (mmap, cuMemAlloc and
 *                 cuMemcpyHtoD per tensor, passes that checksum every
 *                 tensor) under a budget of each percentage of the model,
 *                 per eviction mode, against `gpupager run` on the same model
 *                 and budget: H2D bytes and time per steady pass, each over
 *                 run's.  Steady bytes are the difference of a run of
 *                 FIRST + N passes and one of FIRST passes, over N, so loading
 *                 cancels out (exact counters from GPUPAGER_SHIM_STATS_FILE);
 *                 the steady time is the median of the app's own pass times.
 *                 Each repetition runs run, the app and the app's floor back
 *                 to back; the ratios are medians over --repeat of them, as
 *                 on 2 shared cores one measurement of each says little.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "bench_child.h"
#include "bench_policy_device.h"
#include "bench_util.h"
#include "error.h"

#define CMD "bench shim"
#define APPS_DIR GP_BUILD_DIR "/tests/apps"
#define MAX_BUDGETS 8
#define N_MODES 2
#define FIRST_PASSES 2
#define MAX_REPEAT 50

static const char *const mode_names[N_MODES] = { "weights", "all" };

struct shim_opts {
	const char *arch;
	double scale;
	double budgets[MAX_BUDGETS];
	unsigned n_budgets;
	unsigned passes;                /* steady passes measured */
	unsigned long launches;
	unsigned repeat;
	int json;
};

/* Where the programs are and what they run on. */
struct shim_env {
	struct bench_device dev;        /* the model and the gpupager binary */
	char model[128];                /* dev.dir's model.safetensors */
	char cost[4096], app[4096];
	char driver_env[4200], libpath_env[4200];
	double floor_seconds;           /* shim_app's steady pass with everything resident */
};

struct cost_result {
	double launch_ns[2], h2d_ns[2];         /* [0] plain, [1] under the shim (medians) */
};

/* One budget and mode: the shim's steady pass against run's steady step. */
struct paging_result {
	double percent;
	const char *mode;
	uint64_t budget;
	double h2d, d2h, disk, seconds;         /* per steady pass, under the shim */
	double dropped, written;                /* file-backed chunks per steady pass */
	double run_h2d, run_seconds, run_ratio, link_gbps;
	double bound;                           /* max(kernels, h2d / link) for the shim */
	double ratio;                           /* the shim's step over its bound */
	int failed;
	char why[200];
};

static void help(void)
{
	printf("usage: gpupager bench shim [--arch NAME] [--scale S] [--budgets LIST]\n"
	       "                           [--passes N] [--launches N] [--repeat N] [--json]\n\n"
	       "What the LD_PRELOAD shim costs and how well it pages, on the shim's test\n"
	       "programs (build/tests/apps, built by make) and the simulated device (or\n"
	       "GPUPAGER_CUDA_LIB's driver), each against a baseline in the same run.\n\n"
	       "Interception: shim_cost times cuLaunchKernel with 8 pointer parameters and a\n"
	       "256-byte cuMemcpyHtoDAsync, plain and under `gpupager exec`, interleaved;\n"
	       "the difference is what the shim adds per call (target: at most 2 us a launch).\n\n"
	       "Paging: shim_app loads a generated model as apps do (mmap, cuMemAlloc and\n"
	       "cuMemcpyHtoD per tensor) and runs passes that checksum every tensor on the\n"
	       "device, under a budget of each percentage of the model, with\n"
	       "GPUPAGER_SHIM_EVICT=weights and =all, the host tier as large as the model;\n"
	       "`gpupager run` runs the same model and budget.  Per steady pass: H2D bytes\n"
	       "(target: within 1.10x of run's), time over the bound (target: within 1.15x\n"
	       "of run's ratio), disk bytes (target: 0) and bytes swapped D2H.  The bound is\n"
	       "run's: max(the kernels' time, bytes moved / link); the app's kernels' time is\n"
	       "its pass with the whole model resident.  No compute is simulated on either\n"
	       "side (--compute-ms-per-gb 0).\n\n"
	       "  --arch NAME     architecture of the generated model (default llama3-8b)\n"
	       "  --scale S       its scale (default 0.08, about 100 MB)\n"
	       "  --budgets LIST  percentages of the model (default 30,50,70)\n"
	       "  --passes N      steady passes measured (default 4)\n"
	       "  --launches N    calls timed per interception run (default 200000)\n"
	       "  --repeat N      runs of each measurement, interleaved; medians reported\n"
	       "                  (default 5)\n"
	       "  --json          one JSON object on stdout\n"
	       "  --help          this text\n");
}

static int parse_count(const char *arg, unsigned long max, unsigned long *out, const char *opt)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || !*out || *out > max)
		return cli_usage_error(CMD, "%s '%s': expected 1 to %lu", opt, arg, max);
	return 0;
}

static int parse_args(int argc, char **argv, struct shim_opts *o)
{
	static const struct option opts[] = {
		{ "arch", required_argument, NULL, 'a' },
		{ "scale", required_argument, NULL, 's' },
		{ "budgets", required_argument, NULL, 'b' },
		{ "passes", required_argument, NULL, 'p' },
		{ "launches", required_argument, NULL, 'l' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	char *end;
	int c, err = 0;

	optind = 1;
	while (!err && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->arch = optarg;
			break;
		case 's':
			errno = 0;
			o->scale = strtod(optarg, &end);
			if (end == optarg || *end || errno || !isfinite(o->scale) || o->scale <= 0.0 ||
			    o->scale > 1.0)
				err = cli_usage_error(CMD, "--scale '%s': expected 0 < S <= 1", optarg);
			break;
		case 'b':
			if (bench_parse_percents(optarg, o->budgets, MAX_BUDGETS, &o->n_budgets))
				err = cli_usage_error(CMD, "--budgets '%s': expected up to %d "
						      "percentages, e.g. 30,50,70", optarg, MAX_BUDGETS);
			break;
		case 'p':
			err = parse_count(optarg, 100, &v, "--passes");
			o->passes = (unsigned)v;
			break;
		case 'l':
			err = parse_count(optarg, 10000000, &o->launches, "--launches");
			break;
		case 'r':
			err = parse_count(optarg, MAX_REPEAT, &v, "--repeat");
			o->repeat = (unsigned)v;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'h':
			help();
			return -1;
		default:
			return 2;
		}
	}
	if (!err && optind < argc)
		err = cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	return err;
}

static int need_program(char *path, size_t size, const char *name)
{
	if ((size_t)snprintf(path, size, "%s/%s", APPS_DIR, name) >= size)
		return gp_fail(GP_EINVAL, "path of %s too long", name);
	if (access(path, X_OK))
		return gp_fail(GP_ENOENT, "%s: %s (the shim's test programs: `make` builds them)",
			       path, strerror(errno));
	return 0;
}

static int env_open(struct shim_env *s, const struct shim_opts *o)
{
	char driver_dir[4096];
	int err;

	err = need_program(s->cost, sizeof(s->cost), "shim_cost");
	if (!err)
		err = need_program(s->app, sizeof(s->app), "shim_app");
	if (!err)
		err = bench_device_open(&s->dev, o->arch, o->scale);
	if (err)
		return err;
	snprintf(s->model, sizeof(s->model), "%s/model.safetensors", s->dev.dir);
	if (access(s->model, R_OK)) {
		bench_device_close(&s->dev);
		return gp_fail(GP_EINVAL, "%s at scale %g is more than one file; use a smaller --scale",
			       o->arch, o->scale);
	}
	/* The programs link -lcuda: the driver's directory decides which one they get. */
	snprintf(driver_dir, sizeof(driver_dir), "%s", s->dev.driver);
	snprintf(s->driver_env, sizeof(s->driver_env), "GPUPAGER_CUDA_LIB=%s", s->dev.driver);
	snprintf(s->libpath_env, sizeof(s->libpath_env), "LD_LIBRARY_PATH=%s", dirname(driver_dir));
	return 0;
}

/* "KEY VALUE" on a line of text; false when absent. */
static int find_number(const char *text, const char *key, double *v)
{
	size_t len = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, len) && p[len] == ' ') {
			*v = strtod(p + len + 1, NULL);
			return 1;
		}
	}
	return 0;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), compare_doubles);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One shim_cost run, plain (shim 0) or under gpupager exec. */
static int cost_once(struct shim_env *s, const struct shim_opts *o, int shim, double *launch,
		     double *h2d)
{
	char n[32];
	char *plain[] = { s->cost, "--launches", n, "--copies", n, NULL };
	char *exec[] = { s->dev.gpupager, "exec", "--", s->cost, "--launches", n, "--copies", n,
			 NULL };
	char *env[] = { s->driver_env, s->libpath_env, NULL };
	struct bench_child c;
	int err;

	snprintf(n, sizeof(n), "%lu", o->launches);
	err = bench_child_run(shim ? exec : plain, env, &c);
	if (err)
		return err;
	if (!bench_child_ok(&c))
		err = bench_child_failed(&c, shim ? "shim_cost under gpupager exec" : "shim_cost",
					 "shim_cost");
	else if (!find_number(c.out, "launch_ns", launch) || !find_number(c.out, "h2d_async_ns", h2d))
		err = gp_fail(GP_EFORMAT, "shim_cost printed no launch_ns / h2d_async_ns");
	bench_child_free(&c);
	return err;
}

static int measure_cost(struct shim_env *s, const struct shim_opts *o, struct cost_result *r)
{
	double launch[2][MAX_REPEAT], h2d[2][MAX_REPEAT];
	int err;

	for (unsigned i = 0; i < o->repeat; i++) {
		for (int shim = 0; shim < 2; shim++) {
			if (!o->json)
				fprintf(stderr, "\rgpupager bench shim: interception %u/%u %s   ", i + 1,
					o->repeat, shim ? "shim" : "plain");
			err = cost_once(s, o, shim, &launch[shim][i], &h2d[shim][i]);
			if (err)
				return err;
		}
	}
	for (int shim = 0; shim < 2; shim++) {
		r->launch_ns[shim] = median(launch[shim], o->repeat);
		r->h2d_ns[shim] = median(h2d[shim], o->repeat);
	}
	return 0;
}

/* The counters of one shim_app run, from its stats file (device 0). */
struct app_counts {
	double h2d, d2h, disk, dropped, written;
	double seconds;         /* the median steady pass */
};

static int read_stats_file(const char *path, struct app_counts *a)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_DISABLE_EOF_CHECK, &jerr);
	int err = 0;

	if (!json_is_object(root)) {
		err = gp_fail(GP_EFORMAT, "%s (GPUPAGER_SHIM_STATS_FILE): %s", path, jerr.text);
		goto out;
	}
	a->h2d = (double)json_integer_value(json_object_get(root, "bytes_h2d"));
	a->d2h = (double)json_integer_value(json_object_get(root, "bytes_d2h"));
	a->disk = (double)json_integer_value(json_object_get(root, "bytes_disk"));
	a->dropped = (double)json_integer_value(json_object_get(root, "dropped"));
	a->written = (double)json_integer_value(json_object_get(root, "written"));
out:
	json_decref(root);
	return err;
}

/* The median of shim_app --time's pass times after the first FIRST_PASSES; 0 if none. */
static double steady_pass_seconds(const char *err, unsigned passes)
{
	double v[100];
	unsigned n = 0, pass;
	double sec;

	for (const char *p = err; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (sscanf(p, "shim_app: pass %u seconds %lf", &pass, &sec) == 2 &&
		    pass > FIRST_PASSES && pass <= passes && n < 100)
			v[n++] = sec;
	return n ? median(v, n) : 0;
}

/* shim_app with passes passes under gpupager exec at budget in mode. */
static int app_once(struct shim_env *s, uint64_t budget, uint64_t host, const char *mode,
		    unsigned passes, struct app_counts *a, char *why, size_t why_len)
{
	char b[32], h[32], p[16], stats_path[160], stats_env[200], evict_env[64];
	char *argv[] = { s->dev.gpupager, "exec", "--budget", b, "--host-budget", h, "--",
			 s->app, s->model, "--passes", p, "--streams", "0", "--acts", "0", "--time",
			 NULL };
	char *env[] = { s->driver_env, s->libpath_env, stats_env, evict_env,
			"GPUPAGER_VRAM_HEADROOM=0", NULL };
	struct bench_child c;
	int err;

	snprintf(b, sizeof(b), "%llu", (unsigned long long)budget);
	snprintf(h, sizeof(h), "%llu", (unsigned long long)host);
	snprintf(p, sizeof(p), "%u", passes);
	snprintf(stats_path, sizeof(stats_path), "%s/stats-%s-%u.json", s->dev.dir, mode, passes);
	snprintf(stats_env, sizeof(stats_env), "GPUPAGER_SHIM_STATS_FILE=%s", stats_path);
	snprintf(evict_env, sizeof(evict_env), "GPUPAGER_SHIM_EVICT=%s", mode);
	unlink(stats_path);
	err = bench_child_run(argv, env, &c);
	if (err)
		return err;
	if (!bench_child_ok(&c)) {
		err = bench_child_failed(&c, "shim_app under gpupager exec", "shim_app");
		snprintf(why, why_len, "%s", gp_last_error());
	} else {
		a->seconds = steady_pass_seconds(c.err, passes);
		err = read_stats_file(stats_path, a);
	}
	bench_child_free(&c);
	return err;
}

/* gpupager run at percent: its steady step, the model's range and the link. */
static int run_once(struct shim_env *s, const struct shim_opts *o, double percent,
		    struct paging_result *r, uint64_t *model_bytes)
{
	char budget[32], steps[16];
	char *argv[] = { s->dev.gpupager, "run", s->dev.dir, "--budget", budget, "--steps", steps,
			 "--compute-ms-per-gb", "0", "--json", NULL };
	char *env[] = { s->driver_env, "GPUPAGER_VRAM_HEADROOM=0", NULL };
	json_t *root;
	int err;

	snprintf(budget, sizeof(budget), "%g%%", percent);
	snprintf(steps, sizeof(steps), "%u", o->passes + 1);
	err = bench_child_json(argv, env, "gpupager run", &root);
	if (err)
		return err;
	*model_bytes = (uint64_t)json_integer_value(json_object_get(root, "model_bytes"));
	r->run_h2d = json_number_value(json_object_get(root, "h2d_bytes_per_step"));
	r->run_seconds = json_number_value(json_object_get(root, "step_seconds"));
	r->run_ratio = json_number_value(json_object_get(root, "ratio_to_bound"));
	r->link_gbps = json_number_value(json_object_get(root, "link_gbps"));
	json_decref(root);
	return 0;
}

/* The bound as run's: max(the kernels' time, the bytes moved over the link run measured). */
static double bound_of(double floor_seconds, double h2d, double link_gbps)
{
	double copies = link_gbps > 0 ? h2d / (link_gbps * 1e9) : 0;

	return copies > floor_seconds ? copies : floor_seconds;
}

/*
 * One repetition, back to back so that both sides see the same load:
 * gpupager run, the app at FIRST and at FIRST + N passes, and the app with
 * the whole model resident (its floor: the kernels' time).  Steady bytes
 * are the difference of the two app runs over N.
 */
static int paging_once(struct shim_env *s, const struct shim_opts *o, struct paging_result *r,
		       double *ratio, double *run_ratio, double *floor_seconds)
{
	struct app_counts first = { 0 }, more = { 0 }, fits = { 0 };
	uint64_t model_bytes = 0;
	double n = o->passes;
	int err;

	err = run_once(s, o, r->percent, r, &model_bytes);
	r->budget = (uint64_t)(r->percent / 100.0 * (double)model_bytes);
	if (!err)
		err = app_once(s, r->budget, model_bytes, r->mode, FIRST_PASSES, &first, r->why,
			       sizeof(r->why));
	if (!err)
		err = app_once(s, r->budget, model_bytes, r->mode, FIRST_PASSES + o->passes, &more,
			       r->why, sizeof(r->why));
	if (!err)
		err = app_once(s, 2 * model_bytes, model_bytes, r->mode, FIRST_PASSES + o->passes,
			       &fits, r->why, sizeof(r->why));
	if (err)
		return err;
	r->h2d = (more.h2d - first.h2d) / n;
	r->d2h = (more.d2h - first.d2h) / n;
	r->disk = (more.disk - first.disk) / n;
	r->dropped = (more.dropped - first.dropped) / n;
	r->written = (more.written - first.written) / n;
	r->seconds = more.seconds;
	r->bound = bound_of(fits.seconds, r->h2d, r->link_gbps);
	*ratio = r->bound > 0 ? r->seconds / r->bound : 0;
	*run_ratio = r->run_ratio;
	*floor_seconds = fits.seconds;
	return 0;
}

/* --repeat repetitions at one budget and mode; the ratios are their medians. */
static int measure_paging(struct shim_env *s, const struct shim_opts *o, double percent,
			  const char *mode, struct paging_result *r)
{
	double ratio[MAX_REPEAT], run_ratio[MAX_REPEAT], floors[MAX_REPEAT];
	int err = 0;

	*r = (struct paging_result){ .percent = percent, .mode = mode };
	for (unsigned i = 0; i < o->repeat && !err; i++) {
		if (!o->json)
			fprintf(stderr, "\r" CMD ": paging %g%% %s %u/%u   ", percent, mode,
				i + 1, o->repeat);
		err = paging_once(s, o, r, &ratio[i], &run_ratio[i], &floors[i]);
	}
	if (err) {
		r->failed = 1;
		if (!r->why[0])
			snprintf(r->why, sizeof(r->why), "%s", gp_last_error());
		gp_clear_error();
		return 0;
	}
	r->ratio = median(ratio, o->repeat);
	r->run_ratio = median(run_ratio, o->repeat);
	if (!s->floor_seconds)
		s->floor_seconds = median(floors, o->repeat);
	return 0;
}

static double over(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void print_text(const struct shim_opts *o, const struct shim_env *s,
		       const struct cost_result *c, const struct paging_result *p, unsigned n)
{
	struct bench_table t;
	static const char *const headers[] = { "budget/mode", "H2D/pass", "run's", "ratio",
					       "step/bound", "run's", "ratio", "disk, D2H/pass" };
	char cells[8][BENCH_TABLE_CELL];
	const char *row[8];

	printf("gpupager bench shim on %s (%s, scale %g), %s\n\n", s->model, o->arch, o->scale,
	       s->dev.driver);
	printf("interception, per call (median of %u runs of %lu calls):\n", o->repeat, o->launches);
	printf("  cuLaunchKernel, 8 params   %8.0f ns plain, %8.0f ns shim: +%.2f us\n",
	       c->launch_ns[0], c->launch_ns[1], (c->launch_ns[1] - c->launch_ns[0]) / 1000);
	printf("  cuMemcpyHtoDAsync, 256 B   %8.0f ns plain, %8.0f ns shim: +%.2f us\n\n",
	       c->h2d_ns[0], c->h2d_ns[1], (c->h2d_ns[1] - c->h2d_ns[0]) / 1000);
	printf("paging, per steady pass (%u passes after %u), against gpupager run, ratios the\n"
	       "medians of %u interleaved runs; the app's pass with everything resident:\n"
	       "%.1f ms (median of the first row's)\n", o->passes, FIRST_PASSES, o->repeat,
	       s->floor_seconds * 1e3);
	bench_table_init(&t, 8, headers);
	for (unsigned i = 0; i < n; i++) {
		snprintf(cells[0], sizeof(cells[0]), "%g%% %s", p[i].percent, p[i].mode);
		row[0] = cells[0];
		if (p[i].failed) {
			snprintf(cells[1], sizeof(cells[1]), "failed (below)");
			for (int k = 2; k < 8; k++)
				row[k] = "";
			row[1] = cells[1];
			bench_table_row(&t, row);
			continue;
		}
		snprintf(cells[1], sizeof(cells[1]), "%.1f MB", p[i].h2d / 1e6);
		snprintf(cells[2], sizeof(cells[2]), "%.1f MB", p[i].run_h2d / 1e6);
		snprintf(cells[3], sizeof(cells[3]), "%.2fx", over(p[i].h2d, p[i].run_h2d));
		snprintf(cells[4], sizeof(cells[4]), "%.2f", p[i].ratio);
		snprintf(cells[5], sizeof(cells[5]), "%.2f", p[i].run_ratio);
		snprintf(cells[6], sizeof(cells[6]), "%.2fx", over(p[i].ratio, p[i].run_ratio));
		snprintf(cells[7], sizeof(cells[7]), "%.1f MB, %.1f MB", p[i].disk / 1e6,
			 p[i].d2h / 1e6);
		for (int k = 1; k < 8; k++)
			row[k] = cells[k];
		bench_table_row(&t, row);
	}
	bench_table_print(&t, stdout);
	for (unsigned i = 0; i < n; i++)
		if (p[i].failed)
			printf("%g%% %s failed: %s\n", p[i].percent, p[i].mode, p[i].why);
	printf("\nweights: chunks dropped and re-read from their files; all: the app's other\n"
	       "memory swapped too.  Targets: H2D within 1.10x of run's, step/bound within\n"
	       "1.15x of run's, no disk reads after the first pass.\n");
}

static void print_json(const struct shim_opts *o, const struct shim_env *s,
		       const struct cost_result *c, const struct paging_result *p, unsigned n)
{
	json_t *root = json_object(), *rows = json_array();

	json_object_set_new(root, "model", json_string(s->model));
	json_object_set_new(root, "arch", json_string(o->arch));
	json_object_set_new(root, "scale", json_real(o->scale));
	json_object_set_new(root, "driver", json_string(s->dev.driver));
	json_object_set_new(root, "resident_pass_seconds", json_real(s->floor_seconds));
	json_object_set_new(root, "interception", json_pack(
		"{s:f, s:f, s:f, s:f, s:i, s:i}", "launch_ns_plain", c->launch_ns[0],
		"launch_ns_shim", c->launch_ns[1], "h2d_async_ns_plain", c->h2d_ns[0],
		"h2d_async_ns_shim", c->h2d_ns[1], "calls", (json_int_t)o->launches,
		"repeat", (json_int_t)o->repeat));
	for (unsigned i = 0; i < n; i++) {
		json_t *row = json_pack("{s:f, s:s, s:I, s:b}", "budget_percent", p[i].percent,
					"mode", p[i].mode, "budget_bytes", (json_int_t)p[i].budget,
					"ok", !p[i].failed);

		if (p[i].failed) {
			json_object_set_new(row, "error", json_string(p[i].why));
		} else {
			json_t *figures = json_pack(
				"{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
				"h2d_bytes_per_pass", p[i].h2d, "run_h2d_bytes_per_step", p[i].run_h2d,
				"d2h_bytes_per_pass", p[i].d2h, "disk_bytes_per_pass", p[i].disk,
				"dropped_per_pass", p[i].dropped, "written_per_pass", p[i].written,
				"pass_seconds", p[i].seconds, "run_step_seconds", p[i].run_seconds,
				"ratio_to_bound", p[i].ratio, "lower_bound_seconds", p[i].bound,
				"run_ratio_to_bound", p[i].run_ratio,
				"link_gbps", p[i].link_gbps);

			json_object_update(row, figures);       /* copies: figures is ours to drop */
			json_decref(figures);
		}
		json_array_append_new(rows, row);
	}
	json_object_set_new(root, "paging", rows);
	json_dumpf(root, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(root);
}

int bench_shim_main(int argc, char **argv)
{
	struct shim_opts o = { .arch = "llama3-8b", .scale = 0.08, .budgets = { 30, 50, 70 },
			       .n_budgets = 3, .passes = 4, .launches = 200000, .repeat = 5 };
	struct shim_env s = { .dev = { .dir = "" } };
	struct paging_result rows[MAX_BUDGETS * N_MODES];
	struct cost_result cost;
	unsigned n = 0;
	int err;

	err = parse_args(argc, argv, &o);
	if (err)
		return err < 0 ? 0 : err;
	err = env_open(&s, &o);
	if (err)
		return cli_fail(CMD, err);
	err = measure_cost(&s, &o, &cost);
	for (unsigned b = 0; !err && b < o.n_budgets; b++) {
		for (int m = 0; !err && m < N_MODES; m++, n++) {
			err = measure_paging(&s, &o, o.budgets[b], mode_names[m], &rows[n]);
		}
	}
	if (!o.json)
		fprintf(stderr, "\r%60s\r", "");
	if (!err) {
		if (o.json)
			print_json(&o, &s, &cost, rows, n);
		else
			print_text(&o, &s, &cost, rows, n);
	}
	bench_device_close(&s.dev);
	return err ? cli_fail(CMD, err) : 0;
}
