/* bench_policy_device.c - see bench_policy_device.h. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_policy_device.h"
#include "error.h"
#include "run.h"
#include "sample.h"
#include "st_writer.h"

#define SIM_DRIVER GP_BUILD_DIR "/lib/sim/libcuda.so.1"

int bench_device_open(struct bench_device *d, const char *arch, double scale)
{
	struct gp_sample_model sm = { .arch = arch, .scale = scale, .seed = 1, .dtype = -1 };
	struct gp_st_write_opts wo = { .shard_size = 1ull << 30, .force = 1 };
	struct gp_st_write_result res;
	int err;

	snprintf(d->dir, sizeof(d->dir), "/var/tmp/gp-bench-policy-XXXXXX");
	if (!mkdtemp(d->dir))
		return gp_fail(GP_EIO, "%s: cannot create a directory for the model", d->dir);
	wo.out_dir = d->dir;
	d->driver = getenv("GPUPAGER_CUDA_LIB");
	if (!d->driver || !*d->driver)
		d->driver = SIM_DRIVER;
	d->steps = 4;
	err = gp_sample_write_model(&sm, &wo, &res);
	if (err)
		bench_device_close(d);
	return err;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void bench_device_close(struct bench_device *d)
{
	if (d->dir[0])
		nftw(d->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	d->dir[0] = '\0';
}

int bench_device_ratio(struct bench_device *d, const char *policy, double budget_pct,
		       double *ratio)
{
	struct run_opts o = { .model = d->dir, .budget_pct = budget_pct, .policy = policy,
			      .steps = d->steps, .compute_ms_per_gb = 40.0,
			      .driver_path = d->driver };
	struct run_result r = { 0 };
	double step_s, bound_s;
	int err = run_model(&o, &r);

	if (!err) {
		run_steady(&r, &step_s, &bound_s);
		*ratio = bound_s > 0 ? step_s / bound_s : 0.0;
	}
	run_result_free(&r);
	return err;
}
