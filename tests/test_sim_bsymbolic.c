/*
 * test_sim_bsymbolic.c - the simulator's cuGetProcAddress hands out its own
 * functions even when a preloaded library defines the same names, as a real
 * driver does (it is linked -Bsymbolic-functions).  Without that, a naive
 * preload defining only cuMemAlloc_v2 would be reached by every client that
 * binds through cuGetProcAddress (cuda-python, the CUDA runtime) on the
 * simulator, and never on a GPU.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cli_run.h"

#define SIM_LIB GP_BUILD_DIR "/lib/sim/libcuda.so.1"
#define NAIVE_PRELOAD GP_BUILD_DIR "/tests/naive_preload/libnaive.so"
#define NAIVE_CLIENT GP_BUILD_DIR "/tests/naive_preload/client"

/* The client's "reached=N" line under LD_PRELOAD=libnaive.so; how it bound is mode. */
static int preload_reached(const char *mode)
{
	const char *args[] = { SIM_LIB, mode, NULL };
	const char *asan = getenv("ASAN_OPTIONS");
	char options[512];
	struct gp_test_cli r;
	int reached = -1;

	/* Under SAN=1 the client's ASan runtime does not come first: tell it so. */
	snprintf(options, sizeof(options), "%s%sverify_asan_link_order=0", asan ? asan : "",
		 asan ? ":" : "");
	setenv("ASAN_OPTIONS", options, 1);
	setenv("LD_PRELOAD", NAIVE_PRELOAD, 1);
	r = gp_test_cli_run_bin(NAIVE_CLIENT, args, 0);
	unsetenv("LD_PRELOAD");
	cr_assert_eq(r.status, 0, "client %s: status %d: %s", mode, r.status, r.err);
	cr_assert_eq(sscanf(r.out, "reached=%d", &reached), 1, "client printed '%s'", r.out);
	gp_test_cli_free(&r);
	return reached;
}

Test(sim_bsymbolic, proc_address_bypasses_a_preload)
{
	cr_assert_eq(preload_reached("proc"), 0,
		     "cuGetProcAddress_v2(\"cuMemAlloc\") returned the preload's cuMemAlloc_v2: "
		     "is the simulator linked -Bsymbolic-functions?");
}

/* The control: the preload is there and reachable by the exported name. */
Test(sim_bsymbolic, exported_symbol_reaches_the_preload)
{
	cr_assert_eq(preload_reached("default"), 1);
}
