/*
 * test_shim_weights.c - weights backed by their files under the shim:
 * tests/apps/shim_app maps a generated model, copies each tensor from the
 * mapping and runs passes that checksum every tensor on the device, under
 * a budget that forces evictions.  The shim's exit line
 * (GPUPAGER_SHIM_STATS=1) says what was dropped, found written and swapped,
 * and read from disk; the app's checksums say the bytes were right.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/shim_run.h"
#include "common/st_fixture.h"

/* A device too small for the app's 33 MB, and a budget holding its activations and some weights. */
#define SIM_VRAM "30M"
#define BUDGET "20M"

static char *dir, *model;

static void setup(void)
{
	shim_test_env();
	setenv("GPUPAGER_SHIM_STATS", "1", 1);
	model = shim_test_model_new("0.04", &dir);
}

static void teardown(void)
{
	free(model);
	gp_test_st_dir_remove(dir);
}

TestSuite(shim_weights, .init = setup, .fini = teardown, .timeout = 300);

struct fb_stats {
	unsigned long long dropped, written, disk;
	bool swapped_nothing;
};

static struct gp_test_cli run_on(const char *sim_vram, const char *mode, const char *budget,
				 const char *opt, const char *val)
{
	const char *args[] = { model, "--passes", "3", opt, val, NULL };

	setenv("GPUPAGER_SHIM_EVICT", mode, 1);
	return shim_test_run(sim_vram, budget, "shim_app", args);
}

static struct gp_test_cli run(const char *mode, const char *budget, const char *opt,
			      const char *val)
{
	return run_on(SIM_VRAM, mode, budget, opt, val);
}

static struct fb_stats stats_of(const struct gp_test_cli *r)
{
	const char *line = strstr(r->err, "; weights: ");
	struct fb_stats s = { 0 };
	unsigned long long chunks;

	cr_assert(line && sscanf(line, "; weights: %llu chunks from files, %llu dropped, %llu "
				 "found written and swapped, %llu bytes read from disk", &chunks,
				 &s.dropped, &s.written, &s.disk) == 4,
		  "no shim stats line:\n%s", r->err);
	s.swapped_nothing = strstr(r->err, ", swapped out 0 B, ") != NULL;
	return s;
}

static void expect_ok(const struct gp_test_cli *r, const char *what)
{
	cr_expect_eq(r->status, 0, "%s: exit %d\n%s%s", what, r->status, r->out, r->err);
	cr_expect_neq(strstr(r->out, "\nok\n"), NULL, "%s: wrong bytes:\n%s", what, r->out);
}

Test(shim_weights, dropped_and_reread_from_the_file_never_swapped)
{
	struct gp_test_cli r;
	struct fb_stats s;

	shim_test_require_shim();
	/* A host tier smaller than the model: what is dropped is read from the disk again. */
	setenv("GPUPAGER_HOST_BUDGET", "8M", 1);
	r = run("weights", BUDGET, NULL, NULL);
	expect_ok(&r, "weights");
	s = stats_of(&r);
	cr_expect_gt(s.dropped, 0, "no chunk dropped:\n%s", r.err);
	cr_expect_eq(s.written, 0, "%s", r.err);
	cr_expect(s.swapped_nothing, "weights mode swapped:\n%s", r.err);
	/* The model's 25 MB, some of them more than once. */
	cr_expect_gt(s.disk, 26ull << 20, "disk bytes %llu:\n%s", s.disk, r.err);
	gp_test_cli_free(&r);
}

Test(shim_weights, a_weight_written_by_a_kernel_is_swapped_and_survives)
{
	struct gp_test_cli r;
	struct fb_stats s;

	shim_test_require_shim();
	r = run("weights", BUDGET, "--write-weight", "3");
	expect_ok(&r, "--write-weight");
	cr_expect_neq(strstr(r.out, "wrote tensor"), NULL, "%s", r.out);
	s = stats_of(&r);
	cr_expect_geq(s.written, 1, "the written chunk was not caught:\n%s", r.err);
	cr_expect_gt(s.dropped, 0, "%s", r.err);
	cr_expect(!s.swapped_nothing, "the written chunk was not swapped:\n%s", r.err);
	gp_test_cli_free(&r);
}

Test(shim_weights, a_file_renamed_over_the_model_changes_nothing)
{
	struct gp_test_cli r;

	shim_test_require_shim();
	setenv("GPUPAGER_HOST_BUDGET", "8M", 1);
	r = run("weights", BUDGET, "--after-pass1", "replace");
	expect_ok(&r, "replaced");
	cr_expect_gt(stats_of(&r).dropped, 0, "%s", r.err);
	gp_test_cli_free(&r);
}

Test(shim_weights, a_file_truncated_in_place_fails_the_next_launch)
{
	struct gp_test_cli r;

	shim_test_require_shim();
	/* A host tier smaller than the model: pass 2 must read the file again. */
	setenv("GPUPAGER_HOST_BUDGET", "8M", 1);
	r = run("weights", BUDGET, "--after-pass1", "truncate");
	cr_expect_eq(r.status, 1, "exit %d, not a CUDA error:\n%s%s", r.status, r.out, r.err);
	cr_expect_neq(strstr(r.err, "changed in place"), NULL, "%s", r.err);
	cr_expect_eq(strstr(r.out, "pass 2: "), NULL, "a pass ran on other bytes:\n%s", r.out);
	gp_test_cli_free(&r);
}

Test(shim_weights, all_also_swaps_and_none_evicts_nothing)
{
	struct gp_test_cli r;
	struct fb_stats s;

	shim_test_require_shim();
	r = run("all", BUDGET, NULL, NULL);
	expect_ok(&r, "all");
	s = stats_of(&r);
	cr_expect_gt(s.dropped, 0, "%s", r.err);
	cr_expect(!s.swapped_nothing, "all swapped nothing:\n%s", r.err);
	gp_test_cli_free(&r);

	r = run("none", BUDGET, NULL, NULL);
	cr_expect_eq(r.status, 3, "none over its budget: exit %d\n%s", r.status, r.err);
	gp_test_cli_free(&r);

	r = run_on("1G", "none", "64M", NULL, NULL);
	expect_ok(&r, "none");
	s = stats_of(&r);
	cr_expect_eq(s.dropped, 0, "%s", r.err);
	cr_expect_neq(strstr(r.err, " 0 evictions;"), NULL, "%s", r.err);
	gp_test_cli_free(&r);
}

Test(shim_weights, other_memory_over_the_budget_says_to_swap_it)
{
	/* 24 MiB of activations: more than the 20M budget, which weights mode never evicts. */
	const char *args[] = { model, "--passes", "1", "--acts", "4", "--act-size", "6291456",
			       NULL };
	struct gp_test_cli r;

	shim_test_require_shim();
	setenv("GPUPAGER_SHIM_EVICT", "weights", 1);
	r = shim_test_run(SIM_VRAM, BUDGET, "shim_app", args);
	cr_expect_eq(r.status, 3, "exit %d, not out of device memory:\n%s%s", r.status, r.out,
		     r.err);
	cr_expect_neq(strstr(r.err, "--evict all"), NULL, "no hint to swap the rest:\n%s",
		      r.err);
	gp_test_cli_free(&r);
	setenv("GPUPAGER_SHIM_EVICT", "all", 1);
	r = shim_test_run(SIM_VRAM, BUDGET, "shim_app", args);
	expect_ok(&r, "the same under all");
	gp_test_cli_free(&r);
}
