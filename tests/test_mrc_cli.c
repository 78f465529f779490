/*
 * test_mrc_cli.c - `pagerstat mrc` and `pagerstat advise` on traces
 * recorded by `gpupager run --trace` of every generated architecture (the
 * checks hold: exact LRU equals the replay, MIN below every policy and
 * convex), GPUPAGER_TRACE, the SVG and PNG charts, and the exit codes and
 * messages of bad traces and bad arguments.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli_run.h"
#include "common/cuda_env.h"
#include "common/st_fixture.h"

static void setup(void)
{
	gp_test_cuda_env();
}

TestSuite(mrc_cli, .init = setup, .timeout = 120);

/* A model of arch written to a scratch dir and run with --trace; returns the trace path. */
static char *record(const char *arch, double scale, const char *budget, char **dir)
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
		const char *run[] = { "run", *dir, "--budget", budget, "--steps", "3", "--trace", trace,
				      "--compute-ms-per-gb", "1", NULL };

		r = gp_test_cli_run(run, 0);
		cr_assert_eq(r.status, 0, "run %s: %s", arch, r.err);
		gp_test_cli_free(&r);
	}
	return trace;
}

static json_t *mrc_json(const char *trace, const char *extra)
{
	const char *args[] = { "mrc", trace, "--json", "--points", "24", extra, NULL };
	struct gp_test_cli r = gp_test_cli_run_bin(GP_TEST_PAGERSTAT, args, 0);
	json_t *root;

	cr_assert_eq(r.status, 0, "pagerstat mrc: exit %d: %s", r.status, r.err);
	root = json_loads(r.out, 0, NULL);
	cr_assert(root, "bad JSON: %s", r.out);
	gp_test_cli_free(&r);
	return root;
}

Test(mrc_cli, every_architecture_checks_hold)
{
	static const char *const archs[] = { "wan2.1-14b", "flux-dev", "sdxl-unet", "llama3-8b" };

	for (size_t a = 0; a < sizeof(archs) / sizeof(archs[0]); a++) {
		char *dir, *trace = record(archs[a], 0.03, "1G", &dir);
		json_t *root = mrc_json(trace, NULL), *curves, *pts;
		size_t n;

		cr_expect(json_is_true(json_object_get(root, "lru_matches_replay")), "%s", archs[a]);
		cr_expect(json_is_true(json_object_get(root, "min_below_all")), "%s", archs[a]);
		cr_expect(json_is_true(json_object_get(root, "min_convex")), "%s", archs[a]);
		cr_expect(json_is_true(json_object_get(root, "periodic")), "%s", archs[a]);
		cr_expect_eq(json_integer_value(json_object_get(root, "steps")), 3, "%s", archs[a]);
		curves = json_object_get(root, "curves");
		cr_expect_eq(json_object_size(curves), 5);
		pts = json_object_get(curves, "min");
		n = json_array_size(pts);
		cr_assert_eq(n, 24);
		/* At the whole model nothing moves in steady state. */
		cr_expect_eq(json_integer_value(json_object_get(json_array_get(pts, n - 1),
								"bytes_per_step")), 0, "%s", archs[a]);
		json_decref(root);
		gp_test_st_dir_remove(dir);
		free(trace);
	}
}

Test(mrc_cli, table_plot_and_charts)
{
	char *dir, *trace = record("wan2.1-14b", 0.03, "1G", &dir), *svg, *png;
	const char *args[] = { "mrc", trace, "--points", "8", "--svg", NULL, "--png", NULL, NULL };
	struct gp_test_cli r;
	unsigned char sig[8];
	FILE *f;

	cr_assert(asprintf(&svg, "%s/c.svg", dir) > 0 && asprintf(&png, "%s/c.png", dir) > 0);
	args[5] = svg;
	args[7] = png;
	r = gp_test_cli_run_bin(GP_TEST_PAGERSTAT, args, 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "H2D MiB per step"), "%s", r.out);
	cr_expect(strstr(r.out, "exact LRU = replay yes"), "%s", r.out);
	cr_expect(strstr(r.out, "budget GiB"), "%s", r.out);
	gp_test_cli_free(&r);
	f = fopen(svg, "r");
	cr_assert(f);
	{
		char buf[8192];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);

		buf[n] = '\0';
		cr_expect(strstr(buf, "<svg"), "%s", buf);
		cr_expect(strstr(buf, "VRAM budget (GiB)"));
	}
	fclose(f);
	f = fopen(png, "rb");
	cr_assert(f);
	cr_assert_eq(fread(sig, 1, 8, f), 8);
	cr_expect_eq(memcmp(sig, "\x89PNG\r\n\x1a\n", 8), 0);
	fclose(f);
	gp_test_st_dir_remove(dir);
	free(svg);
	free(png);
	free(trace);
}

Test(mrc_cli, advise_prints_settings)
{
	char *dir, *trace = record("llama3-8b", 0.03, "1G", &dir);
	const char *args[] = { "advise", trace, "--target-ratio", "1000", "--json", NULL };
	const char *text[] = { "advise", trace, "--target-ratio", "1000", NULL };
	struct gp_test_cli r = gp_test_cli_run_bin(GP_TEST_PAGERSTAT, args, 0);
	json_t *root;

	cr_assert_eq(r.status, 0, "%s", r.err);
	root = json_loads(r.out, 0, NULL);
	cr_assert(root, "%s", r.out);
	cr_expect(json_integer_value(json_object_get(root, "budget")) > 0);
	cr_expect(json_integer_value(json_object_get(root, "min_budget")) <=
		  json_integer_value(json_object_get(root, "budget")));
	cr_expect(json_is_string(json_object_get(json_object_get(root, "settings"),
						 "GPUPAGER_VRAM_BUDGET")));
	json_decref(root);
	gp_test_cli_free(&r);
	r = gp_test_cli_run_bin(GP_TEST_PAGERSTAT, text, 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "GPUPAGER_VRAM_BUDGET="), "%s", r.out);
	gp_test_cli_free(&r);
	gp_test_st_dir_remove(dir);
	free(trace);
}

/* GPUPAGER_TRACE: any process (here gpupager run without --trace) writes a readable trace. */
Test(mrc_cli, gpupager_trace_variable)
{
	char *dir = gp_test_st_dir_new(), *trace;
	const char *mk[] = { "mkmodel", "--arch", "sdxl-unet", "--scale", "0.05", dir, NULL };
	const char *run[] = { "run", dir, "--budget", "1G", "--steps", "2", NULL };
	struct gp_test_cli r = gp_test_cli_run(mk, 0);
	struct gp_trace *t;
	struct gp_trace_info ti = { .struct_size = sizeof(ti) };

	cr_assert_eq(r.status, 0, "%s", r.err);
	gp_test_cli_free(&r);
	cr_assert(asprintf(&trace, "%s/env.trace", dir) > 0);
	setenv("GPUPAGER_TRACE", trace, 1);
	r = gp_test_cli_run(run, 0);
	unsetenv("GPUPAGER_TRACE");
	cr_assert_eq(r.status, 0, "%s", r.err);
	gp_test_cli_free(&r);
	cr_assert_eq(gp_trace_read(trace, &t), 0, "%s", gp_last_error());
	gp_trace_get_info(t, &ti);
	cr_expect_eq(ti.complete, 1, "the pager's close ends the trace");
	cr_expect_gt(ti.n_acquires, 0);
	gp_trace_free(t);
	gp_test_st_dir_remove(dir);
	free(trace);
}

static void expect_exit(const char *const *args, int status, const char *text)
{
	struct gp_test_cli r = gp_test_cli_run_bin(GP_TEST_PAGERSTAT, args, 0);

	cr_expect_eq(r.status, status, "%s: exit %d, expected %d: %s", args[0], r.status, status,
		     r.err);
	cr_expect(strstr(r.err, text), "'%s' not in '%s'", text, r.err);
	gp_test_cli_free(&r);
}

Test(mrc_cli, errors_and_exit_codes)
{
	char *dir = gp_test_st_dir_new(), *bad, *trunc;
	FILE *f;

	cr_assert(asprintf(&bad, "%s/bad.trace", dir) > 0 && asprintf(&trunc, "%s/t.trace", dir) > 0);
	f = fopen(bad, "w");
	fputs("# gpupager trace v7\n", f);
	fclose(f);
	f = fopen(trunc, "w");
	fputs("# gpupager trace v2\nmodel 0 1048576 2 2 2097152 0 m\ngroup 0 0 0 1 0 -1 a\n", f);
	fclose(f);
	expect_exit((const char *[]){ "mrc", bad, NULL }, 1, ":1: trace format v7 is newer");
	expect_exit((const char *[]){ "mrc", trunc, NULL }, 1, "t.trace:3: truncated");
	expect_exit((const char *[]){ "mrc", "/nonexistent.trace", NULL }, 1, "/nonexistent.trace");
	expect_exit((const char *[]){ "mrc", NULL }, 2, "missing TRACE");
	expect_exit((const char *[]){ "mrc", bad, "--policies", "lru,optimal", NULL }, 2,
		    "unknown policy 'optimal'");
	expect_exit((const char *[]){ "mrc", bad, "--points", "0", NULL }, 2, "bad --points");
	expect_exit((const char *[]){ "mrc", bad, "--budgets", "1G", "--from", "1G", NULL }, 2,
		    "exclude");
	expect_exit((const char *[]){ "mrc", bad, "--target-ratio", "2", NULL }, 2,
		    "unknown option");
	expect_exit((const char *[]){ "advise", bad, "--target-ratio", "0.5", NULL }, 2,
		    "bad --target-ratio");
	expect_exit((const char *[]){ "advise", bad, "--policy", "min", NULL }, 2, "bad --policy");
	expect_exit((const char *[]){ "mrc", bad, "--budgets", "12Q", NULL }, 1, "newer");
	gp_test_st_dir_remove(dir);
	free(bad);
	free(trunc);
}
