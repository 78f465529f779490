/*
 * test_bench_shim.c - `gpupager bench shim` on a small generated model:
 * its --json output has every field; the interception runs measured both
 * ways; under the weights mode nothing is swapped and, with a host tier as
 * large as the model, nothing is read from disk after the first passes,
 * while chunks are dropped each pass at a budget below the model.  Figures
 * are not compared: no timing assertions.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <jansson.h>

#include "apps/shim_run.h"

/* The shim tests' environment; the benchmark sets each run's mode and host tier itself. */
static void setup(void)
{
	shim_test_env();
	setenv("GPUPAGER_SIM_VRAM", "1G", 1);
	unsetenv("GPUPAGER_SHIM_STATS_FILE");
}

TestSuite(bench_shim, .init = setup, .timeout = 600);

static double number(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	cr_assert(json_is_number(v), "JSON key '%s' is not a number", key);
	return json_number_value(v);
}

Test(bench_shim, json_reports_both_ways_and_pages_weights_from_files)
{
	const char *args[] = { "bench", "shim", "--scale", "0.04", "--budgets", "40",
			       "--passes", "2", "--launches", "2000", "--repeat", "1",
			       "--json", NULL };
	struct gp_test_cli r = gp_test_cli_run(args, 0);
	json_t *root, *cost, *rows;
	json_error_t jerr;
	size_t i;
	json_t *row;
	int modes = 0;

	cr_assert_eq(r.status, 0, "gpupager bench shim exited %d: %s", r.status, r.err);
	root = json_loads(r.out, 0, &jerr);
	cr_assert_not_null(root, "not JSON (%s): %s", jerr.text, r.out);
	cost = json_object_get(root, "interception");
	cr_assert_gt(number(cost, "launch_ns_plain"), 0);
	cr_assert_gt(number(cost, "launch_ns_shim"), 0);
	cr_assert_gt(number(cost, "h2d_async_ns_plain"), 0);
	cr_assert_gt(number(cost, "h2d_async_ns_shim"), 0);
	cr_assert_gt(number(root, "resident_pass_seconds"), 0);
	rows = json_object_get(root, "paging");
	cr_assert_eq(json_array_size(rows), 2, "one row per mode at one budget");
	json_array_foreach(rows, i, row) {
		const char *mode = json_string_value(json_object_get(row, "mode"));

		cr_assert(json_is_true(json_object_get(row, "ok")), "%s: %s", mode,
			  json_string_value(json_object_get(row, "error")));
		cr_expect_eq(number(row, "budget_percent"), 40);
		cr_expect_gt(number(row, "h2d_bytes_per_pass"), 0, "%s: under budget, chunks move", mode);
		cr_expect_gt(number(row, "run_h2d_bytes_per_step"), 0);
		cr_expect_eq(number(row, "disk_bytes_per_pass"), 0,
			     "%s: the host tier holds the model: no disk reads after the first passes",
			     mode);
		cr_expect_gt(number(row, "ratio_to_bound"), 0);
		if (!strcmp(mode, "weights")) {
			modes++;
			cr_expect_eq(number(row, "d2h_bytes_per_pass"), 0, "weights are never swapped");
			cr_expect_gt(number(row, "dropped_per_pass"), 0, "weights are dropped");
			cr_expect_eq(number(row, "written_per_pass"), 0, "the kernels only read");
		} else {
			cr_expect_str_eq(mode, "all");
			modes++;
		}
	}
	cr_expect_eq(modes, 2);
	json_decref(root);
	gp_test_cli_free(&r);
}

Test(bench_shim, bad_arguments_are_usage_errors)
{
	const char *bad[][4] = {
		{ "bench", "shim", "--budgets", "0" },
		{ "bench", "shim", "--scale", "2" },
		{ "bench", "shim", "--repeat", "0" },
		{ "bench", "shim", "extra", NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[5] = { bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL };
		struct gp_test_cli r = gp_test_cli_run(args, 0);

		cr_expect_eq(r.status, 2, "%s %s: exit %d", args[2], args[3] ? args[3] : "", r.status);
		cr_expect(strstr(r.err, "gpupager bench shim:") != NULL, "%s", r.err);
		gp_test_cli_free(&r);
	}
}
