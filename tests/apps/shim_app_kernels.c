/*
 * shim_app_kernels.c - the simulator kernel module of the shim's test
 * programs (format in cuda/sim/sim_kernel.h), loaded with cuModuleLoad
 * from beside the program.  Every parameter is 8 bytes: a device pointer
 * or a uint64_t.  Results are pairs {tag, value}: the tag is the caller's
 * (its pass number), so a result the kernel did not write this time is
 * told from one it did.
 */
#include <stdint.h>

#include "shim_app_sum.h"
#include "sim_kernel.h"

#define ARG(i) (*(uint64_t *)params[i])
#define PTR(i) ((uint64_t *)(uintptr_t)ARG(i))

/* checksum(const void *data, uint64_t len, uint64_t tag, uint64_t *out) */
static void checksum(void **params, const struct gp_sim_launch *launch)
{
	uint64_t *out = PTR(3);

	(void)launch;
	out[1] = shim_sum(PTR(0), ARG(1));
	out[0] = ARG(2);
}

/* fill(uint64_t *words, uint64_t n, uint64_t seed) */
static void fill(void **params, const struct gp_sim_launch *launch)
{
	uint64_t *words = PTR(0);

	(void)launch;
	for (uint64_t i = 0; i < ARG(1); i++)
		words[i] = shim_pattern(ARG(2), i);
}

/* check(const uint64_t *words, uint64_t n, uint64_t seed, uint64_t tag, uint64_t *out) */
static void check(void **params, const struct gp_sim_launch *launch)
{
	uint64_t *out = PTR(4);

	(void)launch;
	out[1] = shim_pattern_bad_bytes(PTR(0), ARG(1), ARG(2));
	out[0] = ARG(3);
}

/*
 * sum8(const void *b0, ..., const void *b7, uint64_t len, uint64_t *out):
 * out[i] = the checksum of len bytes at bi, 0 where bi is NULL
 */
static void sum8(void **params, const struct gp_sim_launch *launch)
{
	uint64_t *out = PTR(9);

	(void)launch;
	for (int i = 0; i < 8; i++)
		out[i] = PTR(i) ? shim_sum(PTR(i), ARG(8)) : 0;
}

/* nop8(const void *b0, ..., const void *b7): nothing; what a launch costs (shim_cost) */
static void nop8(void **params, const struct gp_sim_launch *launch)
{
	(void)params;
	(void)launch;
}

#define P8 sizeof(uint64_t)

const struct gp_sim_kernel_desc gp_sim_kernels[] = {
	{ "checksum", checksum, 4, { P8, P8, P8, P8 } },
	{ "fill", fill, 3, { P8, P8, P8 } },
	{ "check", check, 5, { P8, P8, P8, P8, P8 } },
	{ "sum8", sum8, 10, { P8, P8, P8, P8, P8, P8, P8, P8, P8, P8 } },
	{ "nop8", nop8, 8, { P8, P8, P8, P8, P8, P8, P8, P8 } },
	{ NULL, NULL, 0, { 0 } },
};
