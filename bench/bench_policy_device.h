/*
 * bench_policy_device.h - `gpupager bench policy --device SCALE`: the step
 * time of each policy against the lower bound, measured by `gpupager run`
 * itself (the gpupager binary next to this program, run with --json) on the
 * simulated device (or GPUPAGER_CUDA_LIB's driver) with a model of the
 * architecture generated at SCALE in a temporary directory.
 */
#ifndef GP_BENCH_POLICY_DEVICE_H
#define GP_BENCH_POLICY_DEVICE_H

#include <stddef.h>

struct bench_device {
	char dir[64];           /* the generated model, removed by close */
	const char *driver;     /* GPUPAGER_CUDA_LIB, else the simulator */
	unsigned steps;         /* per run: one cold, the rest measured */
	char gpupager[4096];    /* the gpupager binary that runs the model */
};

/* Find gpupager and generate arch at scale; GP_E* with a message on failure. */
int bench_device_open(struct bench_device *d, const char *arch, double scale);
void bench_device_close(struct bench_device *d);

/*
 * Run policy at budget_pct of the model's size with compute_ms_per_gb of
 * simulated compute (run's --compute-ms-per-gb): the steady step time over
 * the lower bound max(compute, bytes / link), run's ratio_to_bound.  GP_E*
 * when the run cannot go (e.g. the largest group does not fit the budget);
 * the message is run's.
 */
int bench_device_ratio(struct bench_device *d, const char *policy, double budget_pct,
		       double compute_ms_per_gb, double *ratio);

#endif
