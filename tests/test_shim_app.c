/*
 * test_shim_app.c - the LD_PRELOAD shim under an unmodified driver-API
 * program (tests/apps/shim_app.c) that loads a generated model as apps do
 * and runs passes of kernels on several streams.  On a simulated device
 * smaller than what the program allocates, it runs out of memory without
 * the shim; under `gpupager exec` at budgets of 30%, 50% and 70% of its
 * allocations it completes with every checksum equal to the file's and
 * every activation intact, for each way of binding the driver (linked,
 * dlopen + dlsym, cuGetProcAddress_v2 with flags 0 and with the per-thread
 * default stream flag) and for the packed `extra` launch form: its output
 * is byte for byte that of a run without the shim on a device that holds
 * everything.  Tests that need the shim skip until it is built.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/shim_run.h"
#include "common/st_fixture.h"

static char *dir, *model;

static void setup(void)
{
	shim_test_env();
	model = shim_test_model_new("0.04", &dir);
}

static void teardown(void)
{
	free(model);
	gp_test_st_dir_remove(dir);
}

TestSuite(shim_app, .init = setup, .fini = teardown, .timeout = 300);

static const char *const modes[] = { "link", "dlsym", "procaddr", "procaddr-ptds" };
#define N_MODES (sizeof(modes) / sizeof(modes[0]))

static struct gp_test_cli run_app(const char *sim_vram, const char *budget, const char *mode,
				  int extra)
{
	const char *args[] = { model, "--resolve", mode, extra ? "--extra" : NULL, NULL };

	return shim_test_run(sim_vram, budget, "shim_app", args);
}

/*
 * stdout of a run without the shim on a device that holds everything (the
 * reference for every other run); *total: the bytes the program allocates.
 */
static char *reference(uint64_t *total)
{
	struct gp_test_cli r = run_app("1G", NULL, "link", 0);
	const char *line = strstr(r.out, "\nallocations: ");
	unsigned long long n, bytes;

	cr_assert_eq(r.status, 0, "shim_app without the shim: exit %d\n%s%s", r.status, r.out,
		     r.err);
	cr_assert(line && sscanf(line, "\nallocations: %llu, %llu bytes", &n, &bytes) == 2,
		  "no allocations line: %s", r.out);
	cr_assert_neq(strstr(r.out, "\nok\n"), NULL, "%s", r.out);
	*total = bytes;
	free(r.err);
	return r.out;
}

/* A simulated device below what the program allocates (90%, in MiB). */
static void small_device(uint64_t total, char *sim_vram, size_t size)
{
	snprintf(sim_vram, size, "%lluM", (unsigned long long)(total * 9 / 10 >> 20));
}

static void expect_same(const struct gp_test_cli *r, const char *ref, const char *what)
{
	cr_expect_eq(r->status, 0, "%s: exit %d\n%s%s", what, r->status, r->out, r->err);
	cr_expect_str_eq(r->out, ref, "%s: stdout differs from the run without the shim:\n%s",
			 what, r->out);
}

Test(shim_app, every_binding_verifies_without_the_shim)
{
	uint64_t total;
	char *ref = reference(&total);

	for (size_t m = 0; m < N_MODES; m++) {
		for (int extra = 0; extra <= 1; extra++) {
			struct gp_test_cli r = run_app("1G", NULL, modes[m], extra);

			expect_same(&r, ref, modes[m]);
			gp_test_cli_free(&r);
		}
	}
	free(ref);
}

Test(shim_app, a_device_smaller_than_the_allocations_is_out_of_memory_without_the_shim)
{
	uint64_t total;
	char *ref = reference(&total), sim_vram[32];
	struct gp_test_cli r;

	small_device(total, sim_vram, sizeof(sim_vram));
	r = run_app(sim_vram, NULL, "link", 0);
	cr_expect_eq(r.status, 3, "exit %d on a device of %s for %llu bytes: %s", r.status,
		     sim_vram, (unsigned long long)total, r.err);
	cr_expect_neq(strstr(r.err, "shim_app: cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY"), NULL,
		      "%s", r.err);
	gp_test_cli_free(&r);
	free(ref);
}

/* Under a budget of pct% of the allocations, on a device smaller than them. */
static void verify_under_budget(unsigned pct)
{
	uint64_t total;
	char *ref, sim_vram[32], budget[32];

	shim_test_require_shim();
	ref = reference(&total);
	small_device(total, sim_vram, sizeof(sim_vram));
	snprintf(budget, sizeof(budget), "%llu", (unsigned long long)(total * pct / 100));
	for (size_t m = 0; m < N_MODES; m++) {
		struct gp_test_cli r = run_app(sim_vram, budget, modes[m], 0);
		char what[96];

		snprintf(what, sizeof(what), "--resolve %s, budget %s of %llu bytes", modes[m],
			 budget, (unsigned long long)total);
		expect_same(&r, ref, what);
		gp_test_cli_free(&r);
	}
	{
		struct gp_test_cli r = run_app(sim_vram, budget, "link", 1);

		expect_same(&r, ref, "--extra");
		gp_test_cli_free(&r);
	}
	free(ref);
}

Test(shim_app, budget_of_30_percent) { verify_under_budget(30); }
Test(shim_app, budget_of_50_percent) { verify_under_budget(50); }
Test(shim_app, budget_of_70_percent) { verify_under_budget(70); }

Test(shim_app, output_identical_when_everything_fits)
{
	uint64_t total;
	char *ref, budget[32];

	shim_test_require_shim();
	ref = reference(&total);
	snprintf(budget, sizeof(budget), "%llu", (unsigned long long)(2 * total));
	for (size_t m = 0; m < N_MODES; m++) {
		struct gp_test_cli r = run_app("1G", budget, modes[m], 0);

		expect_same(&r, ref, modes[m]);
		gp_test_cli_free(&r);
	}
	free(ref);
}
