/*
 * bench_policy_device.h - `gpupager bench policy --device SCALE`: the step
 * time of each policy against the lower bound, measured by `gpupager run`'s
 * loop on the simulated device (or GPUPAGER_CUDA_LIB's driver) with a model
 * of the architecture generated at SCALE in a temporary directory.
 */
#ifndef GP_TOOLS_BENCH_POLICY_DEVICE_H
#define GP_TOOLS_BENCH_POLICY_DEVICE_H

#include <stddef.h>

struct bench_device {
	char dir[64];           /* the generated model, removed by close */
	const char *driver;     /* GPUPAGER_CUDA_LIB, else the simulator */
	unsigned steps;         /* per run: one cold, the rest measured */
};

/* Generate arch at scale; GP_E* with a message on failure. */
int bench_device_open(struct bench_device *d, const char *arch, double scale);
void bench_device_close(struct bench_device *d);

/*
 * Run policy at budget_pct of the model's size: the steady step time over
 * the lower bound max(compute, bytes / link).  GP_E* when the run cannot
 * go (e.g. the largest group does not fit the budget); the message says why.
 */
int bench_device_ratio(struct bench_device *d, const char *policy, double budget_pct,
		       double *ratio);

#endif
