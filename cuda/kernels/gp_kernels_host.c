/*
 * gp_kernels_host.c - the test kernels for the simulated device (see
 * cuda/sim/sim_kernel.h).  Device pointers of the simulator are host
 * addresses, so each "grid" is the host reference function itself, run
 * once over the whole range.  Built as gpupager-kernels-sim.so.
 */
#include <stdint.h>

#include "gpupager.h"
#include "kernels.h"
#include "sim_kernel.h"

static void *device_pointer(void *param)
{
	return (void *)(uintptr_t)*(const uint64_t *)param;
}

static uint64_t u64_param(void *param)
{
	return *(const uint64_t *)param;
}

/* gp_checksum_kernel(const void *data, uint64_t len, uint64_t byte_offset, uint64_t *result) */
static void checksum_grid(void **params, const struct gp_sim_launch *launch)
{
	uint64_t sum = gp_checksum_at(device_pointer(params[0]), u64_param(params[1]),
				      u64_param(params[2]));

	(void)launch;
	/* Like the CUDA kernel's atomicAdd: launches on other streams may add concurrently. */
	__atomic_fetch_add((uint64_t *)device_pointer(params[3]), sum, __ATOMIC_RELAXED);
}

/* gp_fill_pattern_kernel(void *data, uint64_t len, uint64_t seed) */
static void fill_pattern_grid(void **params, const struct gp_sim_launch *launch)
{
	(void)launch;
	gp_pattern_fill(device_pointer(params[0]), u64_param(params[1]), u64_param(params[2]));
}

const struct gp_sim_kernel_desc gp_sim_kernels[] = {
	{ "gp_checksum_kernel", checksum_grid, 4, { 8, 8, 8, 8 } },
	{ "gp_fill_pattern_kernel", fill_pattern_grid, 3, { 8, 8, 8 } },
	{ NULL, NULL, 0, { 0 } },
};
