/*
 * shim_run.h - how tests/test_shim_*.c run the shim's test programs
 * (tests/apps/) on the simulator: without the shim, or under
 * `gpupager exec`, capturing what they print (common/cli_run.h).
 */
#ifndef SHIM_RUN_H
#define SHIM_RUN_H

#include "../common/cli_run.h"

#define SHIM_TEST_APPS GP_BUILD_DIR "/tests/apps/"
#define SHIM_TEST_PRELOAD GP_BUILD_DIR "/lib/libgpupager-preload.so"
#define SHIM_TEST_SIM_DIR GP_BUILD_DIR "/lib/sim"

/*
 * The environment of every run (a suite's .init): the simulator, found
 * through LD_LIBRARY_PATH by the programs and GPUPAGER_CUDA_LIB by the
 * shim; no VRAM headroom (budgets here are a few MiB); a 256M host tier;
 * under SAN=1, ASan not insisting on coming first in the load order.
 */
void shim_test_env(void);

/* Skip the current test unless the shim is built. */
void shim_test_require_shim(void);

/*
 * Run tests/apps/APP with args (NULL-terminated) on a simulated device of
 * sim_vram: without the shim when budget is NULL, else under
 * `gpupager exec --budget budget --`.
 */
struct gp_test_cli shim_test_run(const char *sim_vram, const char *budget, const char *app,
				 const char *const *args);

/*
 * Write a llama3-8b model at scale with `gpupager mkmodel` into a new
 * directory (*dir, for gp_test_st_dir_remove); its model.safetensors.
 */
char *shim_test_model_new(const char *scale, char **dir);

#endif
