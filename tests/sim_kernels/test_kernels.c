/*
 * test_kernels.c - the kernel module the simulator's tests load with
 * cuModuleLoad (format in cuda/sim/sim_kernel.h).
 */
#include <stdint.h>
#include <string.h>

#include "sim_kernel.h"

/* fill_u32(uint32_t *dst, uint32_t value, uint64_t count) */
static void fill_u32(void **params, const struct gp_sim_launch *launch)
{
	uint32_t *dst = *(uint32_t **)params[0];
	uint32_t value = *(uint32_t *)params[1];
	uint64_t count = *(uint64_t *)params[2];

	(void)launch;
	for (uint64_t i = 0; i < count; i++)
		dst[i] = value;
}

/* What record_args saw, for the tests to compare. */
struct recorded_args {
	uint8_t a;
	uint16_t b;
	double c;
	uint32_t d;
	struct gp_sim_launch launch;
};

/* record_args(uint8_t a, uint16_t b, double c, struct recorded_args *out, uint32_t d) */
static void record_args(void **params, const struct gp_sim_launch *launch)
{
	struct recorded_args *out = *(struct recorded_args **)params[3];

	out->a = *(uint8_t *)params[0];
	out->b = *(uint16_t *)params[1];
	memcpy(&out->c, params[2], sizeof(out->c));
	out->d = *(uint32_t *)params[4];
	out->launch = *launch;
}

/* touch(uint8_t *p): writes one byte, so a test can touch memory it may not. */
static void touch(void **params, const struct gp_sim_launch *launch)
{
	volatile uint8_t *p = *(uint8_t **)params[0];

	(void)launch;
	*p = 1;
}

const struct gp_sim_kernel_desc gp_sim_kernels[] = {
	{ "fill_u32", fill_u32, 3, { sizeof(uint32_t *), sizeof(uint32_t), sizeof(uint64_t) } },
	{ "record_args", record_args, 5,
	  { sizeof(uint8_t), sizeof(uint16_t), sizeof(double), sizeof(void *), sizeof(uint32_t) } },
	{ "touch", touch, 1, { sizeof(uint8_t *) } },
	{ NULL, NULL, 0, { 0 } },
};
