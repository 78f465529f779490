/*
 * test_run.c - `gpupager run`, the main job, as a user runs it: every
 * policy with --verify on the simulator, the JSON report, the trace, and
 * each kind of bad input (exit status and message).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli_run.h"
#include "common/cuda_env.h"
#include "common/pager_fixture.h"
#include "common/st_fixture.h"

static char *model;

static void setup(void)
{
	gp_test_cuda_env();
	model = gp_test_model_new(GP_TEST_SCALE, GP_TEST_SEED);
}

static void teardown(void)
{
	gp_test_st_dir_remove(model);
}

TestSuite(run, .init = setup, .fini = teardown);

static json_t *run_json(const char *policy, const char *budget, const char *steps)
{
	const char *args[] = { "run", model, "--policy", policy, "--budget", budget, "--steps",
			       steps, "--verify", "--json", "--compute-ms-per-gb", "0", NULL };
	struct gp_test_cli r = gp_test_cli_run(args, 0);
	json_error_t jerr;
	json_t *root;

	cr_assert_eq(r.status, 0, "gpupager run --policy %s: exit %d: %s", policy, r.status, r.err);
	root = json_loads(r.out, 0, &jerr);
	cr_assert(root, "bad JSON (%s): %s", jerr.text, r.out);
	gp_test_cli_free(&r);
	return root;
}

static void verify_policy(const char *policy, const char *budget)
{
	json_t *root = run_json(policy, budget, "3");

	cr_expect_eq(json_integer_value(json_object_get(root, "mismatches")), 0, "%s", policy);
	cr_expect_gt(json_integer_value(json_object_get(root, "tensors_checked")), 0);
	cr_expect_eq(json_array_size(json_object_get(root, "steps")), 3);
	cr_expect_str_eq(json_string_value(json_object_get(root, "policy")), policy);
	cr_expect(json_is_true(json_object_get(root, "simulated")));
	cr_expect_gt(json_integer_value(json_object_get(root, "disk_bytes")), 0);
	cr_expect_gt(json_real_value(json_object_get(root, "lower_bound_seconds")), 0);
	json_decref(root);
}

Test(run, auto_verifies) { verify_policy("auto", "40%"); }
Test(run, lru_verifies) { verify_policy("lru", "40%"); }
Test(run, clock_verifies) { verify_policy("clock", "60%"); }
Test(run, static_verifies) { verify_policy("static", "60%"); }

/* Prefetch room: acquires wait on the prefetch worker's loads (a lost wake-up there once hung a run). */
Test(run, auto_with_prefetch_room_verifies, .timeout = 120)
{
	setenv("GPUPAGER_PREFETCH", "2", 1);
	verify_policy("auto", "40%");
}

Test(run, trace_has_a_line_per_group_access)
{
	char path[] = "/tmp/gp-run-trace-XXXXXX";
	int fd = mkstemp(path), groups;
	const char *args[] = { "run", model, "--steps", "2", "--trace", path, "--json",
			       "--compute-ms-per-gb", "0", NULL };
	struct gp_test_cli r;
	json_t *root;

	cr_assert_geq(fd, 0);
	close(fd);
	r = gp_test_cli_run(args, 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	root = json_loads(r.out, 0, NULL);
	cr_assert(root);
	groups = (int)json_integer_value(json_object_get(root, "groups"));
	json_decref(root);
	gp_test_cli_free(&r);
	/* v2: header, layout (1 + groups), 2 notes, an acquire and a release per access, end. */
	cr_expect_eq(gp_test_count_lines(path), 5 + groups + 2 * 2 * groups);
	{
		struct gp_trace *tr;
		struct gp_trace_info ti = { .struct_size = sizeof(ti) };

		cr_assert_eq(gp_trace_read(path, &tr), 0, "%s", gp_last_error());
		cr_assert_eq(gp_trace_get_info(tr, &ti), 0);
		cr_expect_eq(ti.n_acquires, 2 * (uint64_t)groups);
		cr_expect_gt(ti.link_gbps, 0);
		gp_trace_free(tr);
	}
	unlink(path);
}

static void expect_failure(const char *const *args, int status, const char *text)
{
	struct gp_test_cli r = gp_test_cli_run(args, 0);

	cr_expect_eq(r.status, status, "exit %d, expected %d: %s", r.status, status, r.err);
	cr_expect_neq(strstr(r.err, text), NULL, "stderr '%s' lacks '%s'", r.err, text);
	gp_test_cli_free(&r);
}

Test(run, usage_errors_exit_2)
{
	expect_failure((const char *const[]){ "run", NULL }, 2, "MODEL is required");
	expect_failure((const char *const[]){ "run", model, "--budget", "40", "x", NULL }, 2,
		       "one MODEL expected");
	expect_failure((const char *const[]){ "run", model, "--budget", "140%", NULL }, 2,
		       "--budget");
	expect_failure((const char *const[]){ "run", model, "--policy", "fifo", NULL }, 2,
		       "expected auto, lru, clock or static");
	expect_failure((const char *const[]){ "run", model, "--swap-blocks", "3-", NULL }, 2,
		       "Invalid range: '3-'");
	expect_failure((const char *const[]){ "run", model, "--swap-blocks", "a", NULL }, 2,
		       "Invalid integer: 'a'");
	expect_failure((const char *const[]){ "run", model, "--steps", "0", NULL }, 2,
		       "--steps");
	expect_failure((const char *const[]){ "run", model, "--compute-ms-per-gb", "-1", NULL },
		       2, "--compute-ms-per-gb");
}

Test(run, runtime_errors_exit_1)
{
	expect_failure((const char *const[]){ "run", "/nonexistent/model", NULL }, 1,
		       "/nonexistent/model");
	expect_failure((const char *const[]){ "run", model, "--budget", "17M", NULL }, 1,
		       "cannot hold the largest group");
	setenv("GPUPAGER_CUDA_LIB", "/nonexistent/libcuda.so.1", 1);
	expect_failure((const char *const[]){ "run", model, NULL }, 1, "libcuda.so.1");
}

Test(run, help_exits_0)
{
	struct gp_test_cli r = gp_test_cli_run((const char *const[]){ "run", "--help", NULL }, 0);

	cr_expect_eq(r.status, 0);
	cr_expect_neq(strstr(r.out, "--compute-ms-per-gb"), NULL);
	gp_test_cli_free(&r);
}
