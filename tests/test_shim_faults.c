/*
 * test_shim_faults.c - the LD_PRELOAD shim on bad input and faults, with
 * the small programs of tests/apps/ on the simulator: bad frees get the
 * driver's error and the process goes on; a launch larger than the budget
 * fails with CUDA_ERROR_OUT_OF_MEMORY and the next ones work; a driver
 * failure injected (GPUPAGER_SIM_FAIL) at the first, middle and last call
 * of every driver function a run makes ends in an error the program sees,
 * or in the right output, never in a crash or wrong bytes; a fork; the
 * memory and pointer queries; a thousand small allocations; threads on
 * their own streams.  Each runs without the shim (what the driver does)
 * and, once the shim is built, under `gpupager exec`.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/shim_run.h"
#include "common/st_fixture.h"

TestSuite(shim_faults, .init = shim_test_env, .timeout = 300);

#define NO_ARGS ((const char *const[]){ NULL })

/* Run app without the shim on a device of sim_vram; it must exit 0. */
static char *reference(const char *sim_vram, const char *app)
{
	struct gp_test_cli r = shim_test_run(sim_vram, NULL, app, NO_ARGS);

	cr_assert_eq(r.status, 0, "%s without the shim: exit %d\n%s%s", app, r.status, r.out,
		     r.err);
	free(r.err);
	return r.out;
}

/* Run app under the shim; it must exit 0 and print what it printed without it. */
static void expect_same_under_shim(const char *sim_vram, const char *budget, const char *app,
				   const char *ref)
{
	struct gp_test_cli r = shim_test_run(sim_vram, budget, app, NO_ARGS);

	cr_expect_eq(r.status, 0, "%s under a budget of %s: exit %d\n%s%s", app, budget, r.status,
		     r.out, r.err);
	cr_expect_str_eq(r.out, ref, "%s under a budget of %s: stdout differs from the run "
			 "without the shim:\n%s", app, budget, r.out);
	gp_test_cli_free(&r);
}

/* ------------------------------------------------------------- bad frees */

Test(shim_faults, bad_frees_get_the_drivers_error)
{
	char *ref = reference("64M", "shim_free");

	cr_expect_str_eq(ref, "cuMemFree(allocation): CUDA_SUCCESS\n"
			      "cuMemFree(allocation) again: CUDA_ERROR_INVALID_VALUE\n"
			      "cuMemFree(allocation + 256): CUDA_ERROR_INVALID_VALUE\n"
			      "cuMemFree(never allocated): CUDA_ERROR_INVALID_VALUE\n"
			      "cuMemFree(0): CUDA_ERROR_INVALID_VALUE\n"
			      "allocation beside the bad frees intact: yes\n"
			      "new allocation works: yes\n");
	free(ref);
}

Test(shim_faults, bad_frees_under_the_shim)
{
	char *ref;

	shim_test_require_shim();
	ref = reference("64M", "shim_free");
	expect_same_under_shim("64M", "8M", "shim_free", ref);
	free(ref);
}

/* ------------------------------------------------- a launch over budget */

/* Whether a line of text holds both a and b. */
static int has_line_with(const char *text, const char *a, const char *b)
{
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");

		if (memmem(line, len, a, strlen(a)) && memmem(line, len, b, strlen(b)))
			return 1;
		line += len + (line[len] == '\n');
	}
	return 0;
}

static void expect_pairs_ok(const char *out)
{
	for (int pair = 0; pair < 4; pair++) {
		char line[64];

		snprintf(line, sizeof(line), "sum8 over buffers %d and %d: ok\n", 2 * pair,
			 2 * pair + 1);
		cr_expect_neq(strstr(out, line), NULL, "no '%s' in:\n%s", line, out);
	}
}

Test(shim_faults, a_launch_that_fits_the_device_runs_without_the_shim)
{
	char *ref = reference("64M", "shim_big_launch");

	cr_expect_neq(strstr(ref, "sum8 over 8 buffers of 4194304 bytes: CUDA_SUCCESS\n"
				  "its sums: ok\n"), NULL, "%s", ref);
	expect_pairs_ok(ref);
	free(ref);
}

Test(shim_faults, a_launch_over_the_budget_is_out_of_memory_and_the_next_ones_work)
{
	struct gp_test_cli r;

	shim_test_require_shim();
	r = shim_test_run("64M", "16M", "shim_big_launch", NO_ARGS);
	cr_expect_eq(r.status, 0, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_expect_neq(strstr(r.out, "sum8 over 8 buffers of 4194304 bytes: "
				    "CUDA_ERROR_OUT_OF_MEMORY\n"), NULL, "%s", r.out);
	expect_pairs_ok(r.out);
	cr_expect(has_line_with(r.err, "cuLaunchKernel", "budget"),
		  "no log line names cuLaunchKernel and the budget: %s", r.err);
	gp_test_cli_free(&r);
}

/* ----------------------------------------------------- injected faults */

struct call_count {
	char name[64];
	unsigned long long calls;
};

#define MAX_COUNTED 128

/*
 * Run shim_app cleanly with GPUPAGER_FAULT_LOG: what it prints (returned)
 * and how often it called each driver function (calls[], *n).
 */
static char *count_calls(const char *sim_vram, const char *budget, const char *const *args,
			 struct call_count *calls, size_t *n)
{
	char log[] = "/tmp/gp-shim-calls-XXXXXX", line[256];
	int fd = mkstemp(log);
	struct gp_test_cli r;
	FILE *f;

	cr_assert_geq(fd, 0, "mkstemp: %m");
	close(fd);
	setenv("GPUPAGER_FAULT_LOG", log, 1);
	r = shim_test_run(sim_vram, budget, "shim_app", args);
	unsetenv("GPUPAGER_FAULT_LOG");
	cr_assert_eq(r.status, 0, "clean run: exit %d\n%s%s", r.status, r.out, r.err);
	f = fopen(log, "r");
	cr_assert_not_null(f, "%s: %m", log);
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		cr_assert_lt(*n, MAX_COUNTED);
		if (sscanf(line, "sim calls %63s %llu", calls[*n].name, &calls[*n].calls) == 2)
			++*n;
	}
	fclose(f);
	unlink(log);
	cr_assert_gt(*n, 10, "the fault log counted only %zu functions", *n);
	free(r.err);
	return r.out;
}

/*
 * The outcome of a run with NAME:N failing.  It must not crash or print
 * wrong bytes (exit 4); it either prints the clean run's output (the shim
 * absorbed the failure) or exits 1 or 3 with the call and the error the
 * program saw.  Without the shim nothing absorbs it: the program's own
 * call of NAME reports it.
 */
static void expect_fault_outcome(const struct gp_test_cli *r, const char *spec, const char *clean,
				 const char *name, int shim)
{
	char own_call[96];

	snprintf(own_call, sizeof(own_call), "shim_app: %.63s", name);
	if (r->status >= 128) {
		cr_expect_fail("%s: killed by signal %d\n%s", spec, r->status - 128, r->err);
	} else if (r->status == 4) {
		cr_expect_fail("%s: wrong bytes\n%s%s", spec, r->out, r->err);
	} else if (r->status == 0) {
		cr_expect(shim, "%s: the failure was not reported without the shim", spec);
		cr_expect_str_eq(r->out, clean, "%s: exit 0 with other output:\n%s", spec, r->out);
	} else {
		cr_expect(r->status == 1 || r->status == 3, "%s: exit %d\n%s", spec, r->status,
			  r->err);
		cr_expect(strstr(r->err, "shim_app: cu") && strstr(r->err, ": CUDA_ERROR_"),
			  "%s: exit %d without the call and error the program saw:\n%s", spec,
			  r->status, r->err);
		cr_expect(shim || strstr(r->err, own_call),
			  "%s: not reported by the program's %s:\n%s", spec, name, r->err);
	}
}

/* Fail the first, middle and last call of every driver function the clean run made. */
static void sweep(const char *sim_vram, const char *budget, const char *const *args)
{
	struct call_count calls[MAX_COUNTED];
	char *clean;
	size_t n;

	clean = count_calls(sim_vram, budget, args, calls, &n);
	for (size_t i = 0; i < n; i++) {
		unsigned long long at[] = { 1, (calls[i].calls + 1) / 2, calls[i].calls };

		for (int k = 0; k < 3; k++) {
			struct gp_test_cli r;
			char spec[96];

			if (k && at[k] == at[k - 1])
				continue;
			snprintf(spec, sizeof(spec), "%.63s:%llu", calls[i].name, at[k]);
			setenv("GPUPAGER_SIM_FAIL", spec, 1);
			r = shim_test_run(sim_vram, budget, "shim_app", args);
			unsetenv("GPUPAGER_SIM_FAIL");
			expect_fault_outcome(&r, spec, clean, calls[i].name, budget != NULL);
			gp_test_cli_free(&r);
		}
	}
	free(clean);
}

static char *model_dir, *model;

static void with_model(void)
{
	shim_test_env();
	model = shim_test_model_new("0.04", &model_dir);
}

static void remove_model(void)
{
	free(model);
	gp_test_st_dir_remove(model_dir);
}

Test(shim_faults, each_driver_call_failing_without_the_shim, .init = with_model,
     .fini = remove_model)
{
	sweep("1G", NULL, (const char *const[]){ model, "--passes", "2", NULL });
}

Test(shim_faults, each_driver_call_failing_under_the_shim, .init = with_model,
     .fini = remove_model)
{
	shim_test_require_shim();
	/* 16M of a model of 24 MiB and activations of 8 MiB, on a device of 28M. */
	sweep("28M", "16M", (const char *const[]){ model, "--passes", "2", NULL });
}

/* ------------------------------------------------------------------ fork */

Test(shim_faults, fork_without_the_shim)
{
	char *ref = reference("64M", "shim_fork");

	cr_expect_str_eq(ref, "before fork: 0 of 8 buffers wrong\nchild: exit 0\n"
			      "after fork: 0 of 16 buffers wrong\n");
	free(ref);
}

Test(shim_faults, fork_under_the_shim)
{
	char *ref;

	shim_test_require_shim();
	ref = reference("64M", "shim_fork");
	/* 16 buffers of 2 MiB after the fork, 8 before: 4 chunks of budget. */
	expect_same_under_shim("64M", "8M", "shim_fork", ref);
	free(ref);
}

/* --------------------------------------------------------------- queries */

/* What shim_query prints on the simulator: each answer is the driver's. */
static char *expected_queries(void)
{
	static const size_t sizes[] = { 100000, (3u << 20) + 5, 1000 };
	char *text;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	for (int i = 0; i < 3; i++) {
		size_t offsets[] = { 0, 1, sizes[i] / 2, sizes[i] - 1 };

		fprintf(f, "allocation %d: %zu bytes, aligned to 256: yes\n", i, sizes[i]);
		for (int k = 0; k < 4; k++)
			fprintf(f, "  +%zu, range base +0, range size %zu, device pointer +0, "
				"memory type device, range start +0, range size attribute %zu\n",
				offsets[k], sizes[i], sizes[i]);
	}
	fclose(f);
	return text;
}

/* Run shim_query; expect the driver's answers and cuMemGetInfo_v2's total to be total. */
static void expect_queries(const char *sim_vram, const char *budget, unsigned long long total)
{
	struct gp_test_cli r = shim_test_run(sim_vram, budget, "shim_query", NO_ARGS);
	unsigned long long got_total, free_before, free_after, allocated;
	const char *line = strstr(r.err, "shim_query: meminfo: ");
	char *expected = expected_queries();

	cr_assert_eq(r.status, 0, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_expect_str_eq(r.out, expected, "budget %s: answers differ from the driver's:\n%s",
			 budget ? budget : "(no shim)", r.out);
	cr_assert(line && sscanf(line, "shim_query: meminfo: total %llu, free before %llu, free "
				 "after %llu, allocated %llu", &got_total, &free_before,
				 &free_after, &allocated) == 4, "%s", r.err);
	cr_expect_eq(got_total, total, "cuMemGetInfo_v2 total %llu, expected %llu", got_total,
		     total);
	cr_expect_leq(free_before, got_total, "free %llu over total %llu", free_before, got_total);
	cr_expect_leq(free_after + allocated, free_before,
		      "free %llu after allocating %llu bytes, %llu before", free_after, allocated,
		      free_before);
	free(expected);
	gp_test_cli_free(&r);
}

Test(shim_faults, pointer_and_memory_queries_without_the_shim)
{
	expect_queries("128M", NULL, 128ull << 20);
}

Test(shim_faults, pointer_and_memory_queries_under_the_shim)
{
	shim_test_require_shim();
	expect_queries("128M", "32M", 32ull << 20);
}

/* -------------------------------------------- a thousand small allocations */

#define MANY_BYTES (1000ull * 102400)

Test(shim_faults, a_thousand_small_allocations_need_2000M_without_the_shim)
{
	struct gp_test_cli r = shim_test_run("512M", NULL, "shim_many", NO_ARGS);

	cr_expect_eq(r.status, 3, "exit %d: %s", r.status, r.err);
	cr_expect_neq(strstr(r.err, "cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY"), NULL, "%s", r.err);
	gp_test_cli_free(&r);
}

Test(shim_faults, a_thousand_small_allocations_share_chunks_under_the_shim)
{
	unsigned long long in_use;
	struct gp_test_cli r;
	const char *line;

	shim_test_require_shim();
	/* Packed, 98 MiB; 1000 chunks of 2 MiB would be 2000 MiB. */
	r = shim_test_run("512M", "160M", "shim_many", NO_ARGS);
	cr_assert_eq(r.status, 0, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_expect_neq(strstr(r.out, "1000 allocations of 102400 bytes: 1000 checksums match\n"),
		      NULL, "%s", r.out);
	line = strstr(r.out, "device memory in use: ");
	cr_assert(line && sscanf(line, "device memory in use: %llu", &in_use) == 1, "%s", r.out);
	cr_expect_leq(in_use, MANY_BYTES + (8u << 20),
		      "%llu bytes in use for %llu bytes allocated: not packed", in_use, MANY_BYTES);
	gp_test_cli_free(&r);
}

/* ------------------------------------------------------------ threads */

Test(shim_faults, threads_on_their_own_streams_without_the_shim)
{
	char *ref = reference("256M", "shim_threads");

	cr_expect_str_eq(ref, "shim_threads: 4 threads, 12 rounds, 0 failures\n");
	free(ref);
}

Test(shim_faults, threads_on_their_own_streams_under_the_shim)
{
	char *ref;

	shim_test_require_shim();
	ref = reference("256M", "shim_threads");
	/* About 28 MiB allocated by four threads, 16M of budget. */
	expect_same_under_shim("64M", "16M", "shim_threads", ref);
	free(ref);
}
