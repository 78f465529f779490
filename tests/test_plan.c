/*
 * test_plan.c - compiled plans: `pagerstat plan` on traces recorded from
 * `gpupager run` of every generated architecture, `gpupager run --plan`
 * moving the bytes the plan predicted, GPUPAGER_PLAN, the fallback to
 * auto when the accesses depart from the plan (one log line), the plan
 * file round trip through the API, and every error with its exit code.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli_run.h"
#include "common/cuda_env.h"
#include "common/st_fixture.h"
#include "gpupager.h"

static void setup(void)
{
	gp_test_cuda_env();
}

TestSuite(plan, .init = setup, .timeout = 240);

/* A model of arch in a scratch dir, run with --trace; returns the trace's path. */
static char *record(const char *arch, double scale, char **dir)
{
	char sc[32], *trace;
	const char *mk[] = { "mkmodel", "--arch", arch, "--scale", sc, NULL, NULL };
	struct gp_test_cli r;

	snprintf(sc, sizeof(sc), "%g", scale);
	*dir = gp_test_st_dir_new();
	mk[5] = *dir;
	r = gp_test_cli_run(mk, 0);
	cr_assert_eq(r.status, 0, "mkmodel %s: %s", arch, r.err);
	gp_test_cli_free(&r);
	cr_assert(asprintf(&trace, "%s/run.trace", *dir) > 0);
	{
		const char *run[] = { "run", *dir, "--budget", "1G", "--steps", "3", "--trace", trace,
				      "--compute-ms-per-gb", "1", NULL };

		r = gp_test_cli_run(run, 0);
		cr_assert_eq(r.status, 0, "run %s: %s", arch, r.err);
		gp_test_cli_free(&r);
	}
	return trace;
}

static struct gp_test_cli pagerstat(const char *const *args)
{
	return gp_test_cli_run_bin(GP_TEST_PAGERSTAT, args, 0);
}

static json_t *load_json(const char *text, const char *what)
{
	json_t *root = json_loads(text, 0, NULL);

	cr_assert(root, "%s: not JSON: %s", what, text);
	return root;
}

/* Compile a plan at budget into dir/name; returns its path. */
static char *compile(const char *trace, const char *dir, const char *budget, const char *name)
{
	char *out;
	const char *args[] = { "plan", trace, "--budget", budget, "-o", NULL, NULL };
	struct gp_test_cli r;

	cr_assert(asprintf(&out, "%s/%s", dir, name) > 0);
	args[5] = out;
	r = pagerstat(args);
	if (r.status == 1 && strstr(r.err, "cannot hold the largest group")) {
		gp_test_cli_free(&r);
		free(out);
		return NULL;    /* a budget below the largest group: no plan */
	}
	cr_assert_eq(r.status, 0, "pagerstat plan %s: exit %d: %s", budget, r.status, r.err);
	cr_expect(strstr(r.out, "wrote "), "summary: %s", r.out);
	gp_test_cli_free(&r);
	return out;
}

Test(plan, run_moves_the_predicted_bytes_for_every_architecture)
{
	static const struct { const char *arch; double scale; } archs[] = {
		{ "wan2.1-14b", 0.03 }, { "flux-dev", 0.03 }, { "sdxl-unet", 0.1 },
		{ "llama3-8b", 0.03 },
	};
	static const char *const budgets[] = { "25%", "50%", "75%" };
	unsigned runs = 0;

	for (size_t a = 0; a < sizeof(archs) / sizeof(archs[0]); a++) {
		char *dir, *trace = record(archs[a].arch, archs[a].scale, &dir);

		for (size_t b = 0; b < 3; b++) {
			char *path = compile(trace, dir, budgets[b], "plan.json");
			const char *run[] = { "run", dir, "--plan", path, "--steps", "3",
					      "--compute-ms-per-gb", "1", "--json", NULL };
			struct gp_test_cli r;
			json_t *plan, *res;
			double predicted, moved;
			FILE *f = path ? fopen(path, "r") : NULL;

			if (!path)
				continue;
			cr_assert(f);
			plan = json_loadf(f, 0, NULL);
			fclose(f);
			cr_assert(plan, "%s", path);
			cr_expect_eq(json_integer_value(json_object_get(plan, "version")), 1);
			cr_expect_eq(json_array_size(json_object_get(plan, "candidates")), 10);
			r = gp_test_cli_run(run, 0);
			if (r.status == 1 && strstr(r.err, "cannot hold the largest group")) {
				/* The run's 16 MiB of result words beside the largest group. */
				gp_test_cli_free(&r);
				json_decref(plan);
				free(path);
				continue;
			}
			cr_assert_eq(r.status, 0, "%s %s: run --plan: %s", archs[a].arch, budgets[b],
				     r.err);
			res = load_json(r.out, "run --json");
			cr_expect_str_eq(json_string_value(json_object_get(res, "policy")), "plan");
			cr_expect(!strstr(r.err, "falling back"), "%s: %s", archs[a].arch, r.err);
			predicted = (double)json_integer_value(json_object_get(plan, "bytes_per_step"));
			moved = json_number_value(json_object_get(res, "h2d_bytes_per_step"));
			cr_expect(fabs(moved - predicted) <= 0.02 * predicted + 1,
				  "%s at %s: the plan predicted %.0f bytes per step, the run moved %.0f",
				  archs[a].arch, budgets[b], predicted, moved);
			runs++;
			json_decref(res);
			json_decref(plan);
			gp_test_cli_free(&r);
			free(path);
		}
		free(trace);
		gp_test_st_dir_remove(dir);
	}
	cr_expect_geq(runs, 10, "only %u runs could be compared", runs);
}

Test(plan, api_round_trip_and_groups)
{
	char *dir, *trace = record("wan2.1-14b", 0.03, &dir), *path;
	struct gp_trace *t;
	struct gp_plan *pl, *back;
	struct gp_plan_options o;
	struct gp_plan_info a = { .struct_size = sizeof(a) }, b = { .struct_size = sizeof(b) };
	uint64_t sum = 0;

	cr_assert_eq(gp_trace_read(trace, &t), 0, "%s", gp_last_error());
	gp_plan_options_init(&o);
	o.budget_pct = 50;
	o.options_json = "{\"schedules\": [\"min\"], \"max_prefetch\": 2}";
	cr_assert_eq(gp_plan_compile(t, &o, &pl), 0, "%s", gp_last_error());
	cr_assert_eq(gp_plan_get_info(pl, &a), 0);
	cr_expect_str_eq(a.schedule, "min");
	cr_expect_eq(a.n_candidates, 3);
	cr_expect_leq(a.prefetch, 2);
	cr_expect_eq(a.resident_groups + a.streamed_groups, a.n_groups);
	for (uint32_t g = 0; g < a.n_groups; g++) {
		struct gp_plan_group gi = { .struct_size = sizeof(gi) };

		cr_assert_eq(gp_plan_group(pl, g, &gi), 0);
		cr_expect_leq(gi.keep_chunks, gi.chunks);
		cr_expect_eq(gi.resident, gi.keep_chunks == gi.chunks);
		sum += gi.bytes_per_step;
	}
	cr_expect_eq(sum, a.bytes_per_step, "per-group bytes add up to the step's");
	cr_assert(asprintf(&path, "%s/p.json", dir) > 0);
	cr_assert_eq(gp_plan_write(pl, path), 0, "%s", gp_last_error());
	cr_assert_eq(gp_plan_read(path, &back), 0, "%s", gp_last_error());
	cr_assert_eq(gp_plan_get_info(back, &b), 0);
	cr_expect_eq(b.fingerprint, a.fingerprint);
	cr_expect_eq(b.bytes_per_step, a.bytes_per_step);
	cr_expect_eq(b.capacity_chunks, a.capacity_chunks);
	cr_expect_eq(b.period, a.period);
	cr_expect_eq(gp_plan_group(back, a.n_groups, &(struct gp_plan_group){ .struct_size = 64 }),
		     GP_ENOENT);
	/* Options errors through the API. */
	o.options_json = "{\"max_prefetch\": ";
	cr_expect_eq(gp_plan_compile(t, &o, &back), GP_EINVAL);
	cr_expect(strstr(gp_last_error(), "plan options are not valid JSON: "), "%s",
		  gp_last_error());
	o.options_json = "{\"prefetch\": 2}";
	cr_expect_eq(gp_plan_compile(t, &o, &back), GP_EINVAL);
	cr_expect(strstr(gp_last_error(), "unknown key 'prefetch'"), "%s", gp_last_error());
	gp_plan_free(back);
	gp_plan_free(pl);
	gp_trace_free(t);
	free(path);
	free(trace);
	gp_test_st_dir_remove(dir);
}

/* Replace the first occurrence of from by to in the file at path. */
static void edit_file(const char *path, const char *from, const char *to)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 1 << 20), *at;
	size_t n;

	cr_assert(f && text);
	n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[n] = 0;
	at = strstr(text, from);
	cr_assert(at, "'%s' not in %s", from, path);
	f = fopen(path, "w");
	cr_assert(f);
	fwrite(text, 1, (size_t)(at - text), f);
	fputs(to, f);
	fputs(at + strlen(from), f);
	fclose(f);
	free(text);
}

Test(plan, errors_and_exit_codes)
{
	char *dir, *trace = record("wan2.1-14b", 0.03, &dir), *path, *other;
	struct gp_test_cli r;

	{
		const char *args[] = { "plan", trace, "--budget", "50%", "--options", "{nope", NULL };

		r = pagerstat(args);
		cr_expect_eq(r.status, 2, "bad JSON: exit %d", r.status);
		cr_expect(strstr(r.err, "plan options are not valid JSON: "), "%s", r.err);
		gp_test_cli_free(&r);
	}
	{
		const char *args[] = { "plan", trace, "--budget", "50%", "--options",
				       "{\"max_prefetch\": 1, \"colour\": 3}", NULL };

		r = pagerstat(args);
		cr_expect_eq(r.status, 2, "unknown key: exit %d", r.status);
		cr_expect(strstr(r.err, "unknown key 'colour'"), "%s", r.err);
		gp_test_cli_free(&r);
	}
	{
		const char *args[] = { "plan", trace, "--budget", "1M", NULL };

		r = pagerstat(args);
		cr_expect_eq(r.status, 1, "small budget: exit %d", r.status);
		cr_expect(strstr(r.err, "cannot hold the largest group, '"), "%s", r.err);
		gp_test_cli_free(&r);
	}
	{
		const char *args[] = { "plan", trace, NULL };

		r = pagerstat(args);
		cr_expect_eq(r.status, 2, "no budget: exit %d", r.status);
		gp_test_cli_free(&r);
	}
	path = compile(trace, dir, "50%", "plan.json");
	/* --plan with --policy is a usage error. */
	{
		const char *run[] = { "run", dir, "--plan", path, "--policy", "lru", NULL };

		r = gp_test_cli_run(run, 0);
		cr_expect_eq(r.status, 2, "--plan --policy: exit %d", r.status);
		gp_test_cli_free(&r);
	}
	/* A plan for another model: the layout fingerprint differs. */
	{
		char *fdir, *ftrace = record("flux-dev", 0.03, &fdir);
		const char *run[] = { "run", fdir, "--plan", path, "--steps", "1", NULL };

		r = gp_test_cli_run(run, 0);
		cr_expect_eq(r.status, 1, "another model: exit %d", r.status);
		cr_expect(strstr(r.err, "compiled for another model") &&
			  strstr(r.err, "fingerprint"), "%s", r.err);
		gp_test_cli_free(&r);
		free(ftrace);
		gp_test_st_dir_remove(fdir);
	}
	/* A newer format version. */
	cr_assert(asprintf(&other, "%s/newer.json", dir) > 0);
	{
		char cmd[1024];
		const char *run[] = { "run", dir, "--plan", other, "--budget", "50%", "--steps", "1",
				      NULL };

		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path, other);
		cr_assert_eq(system(cmd), 0);
		edit_file(other, "\"version\": 1", "\"version\": 7");
		r = gp_test_cli_run(run, 0);
		cr_expect_eq(r.status, 1, "newer plan: exit %d", r.status);
		cr_expect(strstr(r.err, "plan format v7 is newer than this library reads"), "%s",
			  r.err);
		gp_test_cli_free(&r);
	}
	free(other);
	free(path);
	free(trace);
	gp_test_st_dir_remove(dir);
}

Test(plan, env_and_fallback_to_auto_with_one_line)
{
	char *dir, *trace = record("wan2.1-14b", 0.03, &dir), *path = compile(trace, dir, "50%",
									 "plan.json");
	const char *run[] = { "run", dir, "--budget", "50%", "--steps", "3", "--json", NULL };
	struct gp_test_cli r;
	json_t *res;
	const char *at;
	int lines = 0;

	/* GPUPAGER_PLAN selects the plan policy. */
	setenv("GPUPAGER_PLAN", path, 1);
	r = gp_test_cli_run(run, 0);
	cr_assert_eq(r.status, 0, "GPUPAGER_PLAN: %s", r.err);
	res = load_json(r.out, "run --json");
	cr_expect_str_eq(json_string_value(json_object_get(res, "policy")), "plan");
	cr_expect(!strstr(r.err, "falling back"), "%s", r.err);
	json_decref(res);
	gp_test_cli_free(&r);
	/* A plan whose step is not the run's: the policy falls back to auto, saying so once. */
	edit_file(path, "\"sequence\": [\n  0,\n  1,", "\"sequence\": [\n  1,\n  0,");
	r = gp_test_cli_run(run, 0);
	cr_assert_eq(r.status, 0, "departed plan: %s", r.err);
	for (at = r.err; (at = strstr(at, "falling back to auto")); at++)
		lines++;
	cr_expect_eq(lines, 1, "one fallback line, got %d: %s", lines, r.err);
	gp_test_cli_free(&r);
	unsetenv("GPUPAGER_PLAN");
	free(path);
	free(trace);
	gp_test_st_dir_remove(dir);
}

Test(plan, options_struct_grows_at_the_end)
{
	struct gp_pager_options o;

	gp_pager_options_init(&o);
	cr_expect_eq(o.struct_size, sizeof(o));
	cr_expect_null(o.plan);
	cr_expect_gt(offsetof(struct gp_pager_options, plan),
		     offsetof(struct gp_pager_options, load_all));
	cr_expect_eq(offsetof(struct gp_pager_options, plan) + sizeof(o.plan), sizeof(o),
		     "plan is the last field");
}
