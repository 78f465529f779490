/*
 * sim_kernel.h - how the simulated device runs "kernels".
 *
 * A kernel module for the simulator is a host shared object, loaded with
 * cuModuleLoad(path).  It exports one table, gp_sim_kernels, ending with a
 * row whose name is NULL.  Each row names a kernel, gives the host function
 * that runs the whole grid, and the byte size of each parameter (in order)
 * so that cuFuncGetParamInfo can answer and cuLaunchKernel can copy the
 * argument values at launch time, as the real driver does.  Parameters are
 * laid out with natural alignment (each at a multiple of its size, max 8).
 *
 * The function runs on the launch stream's worker thread, in stream order,
 * with params[i] pointing at a copy of argument i.
 */
#ifndef GP_SIM_KERNEL_H
#define GP_SIM_KERNEL_H

#include <stddef.h>

#define GP_SIM_MAX_PARAMS 16

struct gp_sim_dim3 {
	unsigned x, y, z;
};

struct gp_sim_launch {
	struct gp_sim_dim3 grid;
	struct gp_sim_dim3 block;
	unsigned shared_bytes;
};

typedef void (*gp_sim_kernel_fn)(void **params, const struct gp_sim_launch *launch);

struct gp_sim_kernel_desc {
	const char *name;
	gp_sim_kernel_fn fn;
	unsigned n_params;
	size_t param_sizes[GP_SIM_MAX_PARAMS];
};

/* The symbol a kernel module exports. */
#define GP_SIM_KERNEL_TABLE "gp_sim_kernels"

#endif
