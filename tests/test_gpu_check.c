/*
 * test_gpu_check.c - the GPU bundle (make gpu-bundle) and its gpu-check.sh,
 * end to end on the bundle's simulated device: the bundle's ldd check, its
 * contents and size, --dry-run, a --quick --simulator run checked through
 * its JSON report, a failing run (no GPU here) and usage errors.
 *
 * Skipped under sanitizers: the bundle is a release build.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cli_run.h"

#define BUNDLE GP_BUILD_DIR "/gpu-bundle"
#define SCRIPT BUNDLE "/gpu-check.sh"

static void skip_under_sanitizers(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	cr_skip_test("the GPU bundle is a release build");
#endif
}

static char *scratch(void)
{
	char *dir = strdup("/tmp/gp-gpucheck-XXXXXX");

	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

static void rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

static json_t *load_report(const char *out)
{
	char path[512];
	json_error_t e;
	json_t *r;

	snprintf(path, sizeof(path), "%s/gpu-check.json", out);
	r = json_load_file(path, 0, &e);
	cr_assert_not_null(r, "%s: line %d: %s", path, e.line, e.text);
	return r;
}

/* The step named name in the report. */
static json_t *step(json_t *report, const char *name)
{
	json_t *steps = json_object_get(report, "steps"), *s;
	size_t i;

	json_array_foreach(steps, i, s)
		if (!strcmp(json_string_value(json_object_get(s, "step")), name))
			return s;
	cr_assert_fail("no step %s in the report", name);
	return NULL;
}

static const char *status_of(json_t *report, const char *name)
{
	return json_string_value(json_object_get(step(report, name), "status"));
}

Test(gpu_bundle, ldd_check_passes)
{
	const char *args[] = { NULL };
	struct gp_test_cli r;

	skip_under_sanitizers();
	r = gp_test_cli_run_bin(BUNDLE "/check-bundle.sh", args, 0);
	cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_expect_neq(strstr(r.out, "only glibc outside: ok"), NULL, "%s", r.out);
	gp_test_cli_free(&r);
}

Test(gpu_bundle, contents_and_size)
{
	static const char *const files[] = {
		"gpu-check.sh", "check-bundle.sh", "MANIFEST", "bin/gpupager",
		"lib/libgpupager.so.0", "lib/sim/libcuda.so.1",
		"lib/kernels/gpupager-kernels-sim.so", "tests/gpu_measure", "tests/pager_stress",
		"tests/test_cuda_driver", "tests/test_cuda_kernels", "tests/test_cuda_vmm",
		"tests/test_cuda_um", "tests/test_pager", "tests/test_pager_threads",
		"lib/libcriterion.so.3", "lib/liburing.so.2", "lib/libnuma.so.1",
		"lib/libjansson.so.4", "include/gpupager.h",
	};
	const char *args[] = { "-sk", BUNDLE, NULL };
	char path[512];
	struct gp_test_cli r;
	struct stat st;
	long kib;

	skip_under_sanitizers();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", BUNDLE, files[i]);
		cr_expect_eq(stat(path, &st), 0, "%s missing from the bundle", files[i]);
	}
	/* With nvcc (as here and in CI) the real kernels are in it too. */
	if (!access(GP_BUILD_DIR "/lib/kernels/gpupager-kernels.fatbin", R_OK))
		cr_expect_eq(access(BUNDLE "/lib/kernels/gpupager-kernels.fatbin", R_OK), 0);
	r = gp_test_cli_run_bin("/usr/bin/du", args, 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	kib = strtol(r.out, NULL, 10);
	cr_expect(kib > 1024 && kib < 48 * 1024, "bundle is %ld KiB", kib);
	gp_test_cli_free(&r);
}

Test(gpu_check, dry_run_lists_steps)
{
	char *out = scratch(), dir[600];
	const char *args[] = { "--dry-run", "--out", dir, NULL };
	static const char *const steps[] = { "bundle", "device", "tests", "measure", "run",
					     "shim", "python", "report" };
	struct gp_test_cli r;
	struct stat st;

	skip_under_sanitizers();
	snprintf(dir, sizeof(dir), "%s/out", out);
	r = gp_test_cli_run_bin(SCRIPT, args, 0);
	cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		cr_expect_neq(strstr(r.out, steps[i]), NULL, "no step %s in:\n%s", steps[i], r.out);
	cr_expect_neq(strstr(r.out, "[present]"), NULL, "the shim is not listed as present");
	cr_expect_neq(stat(dir, &st), 0, "--dry-run wrote %s", dir);
	gp_test_cli_free(&r);
	rm_rf(out);
	free(out);
}

Test(gpu_check, usage_errors)
{
	const char *bad_opt[] = { "--frobnicate", NULL };
	const char *bad_step[] = { "--only", "nosuchstep", "--dry-run", NULL };
	const char *bad_gib[] = { "--model-gib", "lots", "--dry-run", NULL };
	const char *const *cases[] = { bad_opt, bad_step, bad_gib };
	struct gp_test_cli r;

	skip_under_sanitizers();
	for (size_t i = 0; i < 3; i++) {
		r = gp_test_cli_run_bin(SCRIPT, cases[i], 0);
		cr_expect_eq(r.status, 2, "case %zu: exit %d: %s", i, r.status, r.err);
		gp_test_cli_free(&r);
	}
}

/* Every step but Python on the simulator; the report says what each did. */
Test(gpu_check, quick_simulator_run, .timeout = 150)
{
	char *tmp = scratch(), out[600], work[600], txt[700];
	const char *args[] = { "--quick", "--simulator", "--skip", "python", "--out", out,
			       "--work", work, NULL };
	json_t *rep, *data, *runs, *run, *dev, *copy, *vmm;
	struct gp_test_cli r;
	struct stat st;
	size_t i;

	skip_under_sanitizers();
	snprintf(out, sizeof(out), "%s/out", tmp);
	snprintf(work, sizeof(work), "%s/work", tmp);
	r = gp_test_cli_run_bin(SCRIPT, args, 0);
	cr_expect_eq(r.status, 0, "exit %d:\n%s%s", r.status, r.out, r.err);
	cr_expect_neq(strstr(r.out, "5 passed, 0 failed, 2 skipped"), NULL, "%s", r.out);
	gp_test_cli_free(&r);

	rep = load_report(out);
	cr_expect_str_eq(json_string_value(json_object_get(rep, "mode")), "simulator");
	cr_expect(json_is_true(json_object_get(rep, "ok")));
	cr_expect(json_is_true(json_object_get(rep, "quick")));
	cr_expect_eq(json_integer_value(json_object_get(rep, "failed")), 0);
	cr_expect_eq(json_array_size(json_object_get(rep, "steps")), 7);
	for (const char *const *s = (const char *const[]){ "bundle", "device", "tests",
							    "measure", "run", NULL }; *s; s++)
		cr_expect_str_eq(status_of(rep, *s), "pass", "step %s", *s);
	/* The shim is in the bundle; the runtime client it runs cannot start on the simulator. */
	cr_expect_str_eq(status_of(rep, "shim"), "skip");
	cr_expect_neq(strstr(json_string_value(json_object_get(step(rep, "shim"), "summary")),
			     "simulator"), NULL);
	cr_expect_str_eq(status_of(rep, "python"), "skip");

	/* Step 1: the driver's view of the simulated device. */
	dev = json_object_get(json_object_get(json_object_get(step(rep, "device"), "data"),
					      "driver_view"), "device");
	cr_expect(json_is_true(json_object_get(dev, "simulated")));
	cr_expect_gt(json_integer_value(json_object_get(dev, "total_bytes")), 0);

	/* Step 2: every program ran, none failed. */
	data = json_object_get(step(rep, "tests"), "data");
	cr_expect_geq(json_array_size(data), 7);
	json_array_foreach(data, i, run) {
		cr_expect_eq(json_integer_value(json_object_get(run, "rc")), 0);
		cr_expect_gt(json_integer_value(json_object_get(run, "passed")), 0);
	}

	/* Step 3: numbers for every measure, every check passed. */
	data = json_object_get(json_object_get(step(rep, "measure"), "data"), "device");
	cr_expect(json_is_true(json_object_get(data, "ok")));
	copy = json_object_get(data, "copy");
	for (const char *const *k = (const char *const[]){ "pinned_h2d_gbps", "pinned_d2h_gbps",
							    "pageable_h2d_gbps",
							    "pageable_d2h_gbps", NULL }; *k; k++)
		cr_expect_gt(json_real_value(json_object_get(copy, *k)), 0, "%s", *k);
	vmm = json_object_get(data, "vmm");
	cr_expect_eq(json_array_size(vmm), 2);
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(vmm, 0), "chunk_bytes")),
		     2 << 20);
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(vmm, 1), "chunk_bytes")),
		     32 << 20);
	cr_expect_gt(json_real_value(json_object_get(json_object_get(data, "kernels"),
						     "checksum_gbps")), 0);

	/* Step 4: each policy at each budget, then the model larger than (simulated) VRAM. */
	data = json_object_get(step(rep, "run"), "data");
	runs = json_object_get(data, "runs");
	cr_expect_eq(json_array_size(runs), 14);
	json_array_foreach(runs, i, run) {
		json_t *res = json_object_get(run, "result");

		cr_expect_str_eq(json_string_value(json_object_get(run, "status")), "pass",
				 "run %zu", i);
		cr_expect_eq(json_integer_value(json_object_get(res, "mismatches")), 0);
		cr_expect(json_is_true(json_object_get(res, "verified")));
		cr_expect(json_is_true(json_object_get(res, "simulated")));
		cr_expect_str_neq(json_string_value(json_object_get(run, "reader")), "unknown");
	}
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(runs, 13), "model")),
			 "big");
	json_decref(rep);

	snprintf(txt, sizeof(txt), "%s/gpu-check.txt", out);
	cr_expect_eq(stat(txt, &st), 0);
	snprintf(txt, sizeof(txt), "%s/gpu-check-logs.tar.gz", out);
	cr_expect_eq(stat(txt, &st), 0);
	/* The models are removed without --keep. */
	snprintf(txt, sizeof(txt), "ls %s | grep -q wan2.1", work);
	cr_expect_neq(system(txt), 0, "models left in %s", work);
	rm_rf(tmp);
	free(tmp);
}

/* Without --simulator this machine has no GPU: the device step fails, and so does the run. */
Test(gpu_check, no_gpu_fails, .timeout = 60)
{
	char *tmp = scratch(), out[600];
	const char *args[] = { "--quick", "--only", "device,shim", "--out", out, NULL };
	struct gp_test_cli r;
	json_t *rep;

	skip_under_sanitizers();
	if (!access("/dev/nvidiactl", F_OK))
		cr_skip_test("this machine has an NVIDIA device");
	snprintf(out, sizeof(out), "%s/out", tmp);
	r = gp_test_cli_run_bin(SCRIPT, args, 0);
	cr_expect_eq(r.status, 1, "exit %d:\n%s%s", r.status, r.out, r.err);
	cr_expect_neq(strstr(r.out, "0 passed, 1 failed"), NULL, "%s", r.out);
	gp_test_cli_free(&r);
	rep = load_report(out);
	cr_expect_str_eq(json_string_value(json_object_get(rep, "mode")), "real");
	cr_expect(json_is_false(json_object_get(rep, "ok")));
	cr_expect_str_eq(status_of(rep, "device"), "fail");
	cr_expect_str_eq(status_of(rep, "tests"), "skip");
	json_decref(rep);
	rm_rf(tmp);
	free(tmp);
}

/* A step that hangs is killed at its limit; the report says so and stays valid. */
Test(gpu_check, hung_step_is_killed, .timeout = 60)
{
	char *tmp = scratch(), out[600], py[600];
	FILE *f;
	const char *args[] = { "--quick", "--simulator", "--only", "python", "--deadline", "11",
			       "--out", out, NULL };
	struct gp_test_cli r;
	json_t *rep, *s;

	skip_under_sanitizers();
	if (access(BUNDLE "/python/gpupager", F_OK))
		cr_skip_test("no python/ in the bundle");
	snprintf(out, sizeof(out), "%s/out", tmp);
	snprintf(py, sizeof(py), "%s/python", tmp);
	f = fopen(py, "w");
	cr_assert_not_null(f);
	fputs("#!/bin/sh\nexec sleep 100\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(py, 0755), 0);
	setenv("GPUPAGER_PYTHON", py, 1);
	r = gp_test_cli_run_bin(SCRIPT, args, 0);
	cr_expect_eq(r.status, 1, "exit %d:\n%s%s", r.status, r.out, r.err);
	gp_test_cli_free(&r);
	rep = load_report(out);
	s = step(rep, "python");
	cr_expect_str_eq(json_string_value(json_object_get(s, "status")), "fail");
	cr_expect_neq(strstr(json_string_value(json_object_get(s, "summary")), "timed out after "),
		      NULL, "%s", json_string_value(json_object_get(s, "summary")));
	cr_expect(json_real_value(json_object_get(s, "seconds")) < 20);
	json_decref(rep);
	rm_rf(tmp);
	free(tmp);
}

/* A python that cannot import pytest: the step is skipped and says why. */
Test(gpu_check, python_without_pytest_skips, .timeout = 60)
{
	char *tmp = scratch(), out[600];
	const char *args[] = { "--quick", "--simulator", "--only", "python", "--out", out, NULL };
	struct gp_test_cli r;
	json_t *rep;

	skip_under_sanitizers();
	snprintf(out, sizeof(out), "%s/out", tmp);
	setenv("GPUPAGER_PYTHON", "/bin/false", 1);
	r = gp_test_cli_run_bin(SCRIPT, args, 0);
	cr_expect_eq(r.status, 0, "exit %d:\n%s%s", r.status, r.out, r.err);
	gp_test_cli_free(&r);
	rep = load_report(out);
	cr_expect_str_eq(status_of(rep, "python"), "skip");
	cr_expect_neq(strstr(json_string_value(json_object_get(step(rep, "python"), "summary")),
			     access(BUNDLE "/python/gpupager", F_OK) ? "not built" :
								       "cannot import pytest"),
		      NULL);
	json_decref(rep);
	rm_rf(tmp);
	free(tmp);
}
