/* shim_run.c - run the shim's test programs from the Criterion tests (shim_run.h). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../common/st_fixture.h"
#include "shim_run.h"

/* name=value:OLD, or name=value when name is unset or empty. */
static void prepend_env(const char *name, const char *value)
{
	const char *old = getenv(name);
	char *text;

	cr_assert_geq(asprintf(&text, "%s%s%s", value, old && *old ? ":" : "",
			       old && *old ? old : ""), 0);
	setenv(name, text, 1);
	free(text);
}

void shim_test_env(void)
{
	prepend_env("LD_LIBRARY_PATH", SHIM_TEST_SIM_DIR);
	/* Under SAN=1 the shim comes before the program's ASan runtime in the load order. */
	prepend_env("ASAN_OPTIONS", "verify_asan_link_order=0");
	setenv("GPUPAGER_CUDA_LIB", SHIM_TEST_SIM_DIR "/libcuda.so.1", 1);
	setenv("GPUPAGER_VRAM_HEADROOM", "0", 1);
	setenv("GPUPAGER_HOST_BUDGET", "256M", 1);
	/* Tests of anonymous memory swap it; the weights tests choose their mode. */
	setenv("GPUPAGER_SHIM_EVICT", "all", 1);
}

void shim_test_require_shim(void)
{
	if (access(SHIM_TEST_PRELOAD, R_OK))
		cr_skip_test("the shim is not built (%s missing): skipped until it is",
			     SHIM_TEST_PRELOAD);
}

struct gp_test_cli shim_test_run(const char *sim_vram, const char *budget, const char *app,
				 const char *const *args)
{
	const char *argv[32] = { "exec", "--budget", budget, "--" };
	char path[PATH_MAX];
	size_t n = 5;

	snprintf(path, sizeof(path), SHIM_TEST_APPS "%s", app);
	setenv("GPUPAGER_SIM_VRAM", sim_vram, 1);
	if (!budget)
		return gp_test_cli_run_bin(path, args, 0);
	argv[4] = path;
	for (; *args; args++) {
		cr_assert_lt(n, 31, "too many arguments");
		argv[n++] = *args;
	}
	argv[n] = NULL;
	return gp_test_cli_run(argv, 0);
}

char *shim_test_model_new(const char *scale, char **dir)
{
	struct gp_test_cli r;

	*dir = gp_test_st_dir_new();
	r = gp_test_cli_run((const char *const[]){ "mkmodel", "--arch", "llama3-8b", "--scale",
						   scale, "--seed", "5", *dir, NULL }, 0);
	cr_assert_eq(r.status, 0, "gpupager mkmodel: exit %d: %s", r.status, r.err);
	gp_test_cli_free(&r);
	return gp_test_st_path(*dir, "model.safetensors");
}
