/*
 * bench_policy_device.c - see bench_policy_device.h.  The forward-pass loop
 * and its lower bound have one source, `gpupager run`: this runs that
 * command with --json and reads its ratio_to_bound.
 */
#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_child.h"
#include "bench_policy_device.h"
#include "error.h"
#include "sample.h"
#include "st_writer.h"

#define SIM_DRIVER GP_BUILD_DIR "/lib/sim/libcuda.so.1"

/* The gpupager binary in this program's directory. */
static int find_gpupager(struct bench_device *d)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return gp_fail(GP_EIO, "cannot find this program (/proc/self/exe): %s",
			       strerror(errno));
	self[n] = '\0';
	if ((size_t)snprintf(d->gpupager, sizeof(d->gpupager), "%s/gpupager", dirname(self)) >=
	    sizeof(d->gpupager))
		return gp_fail(GP_EINVAL, "path of gpupager too long");
	if (access(d->gpupager, X_OK))
		return gp_fail(GP_ENOENT, "%s: %s (--device runs `gpupager run`, built beside "
			       "gpupager-bench by make)", d->gpupager, strerror(errno));
	return 0;
}

int bench_device_open(struct bench_device *d, const char *arch, double scale)
{
	struct gp_sample_model sm = { .arch = arch, .scale = scale, .seed = 1, .dtype = -1 };
	struct gp_st_write_opts wo = { .shard_size = 1ull << 30, .force = 1 };
	struct gp_st_write_result res;
	int err;

	err = find_gpupager(d);
	if (err)
		return err;
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
		       double compute_ms_per_gb, double *ratio)
{
	char budget[64], steps[16], compute[64], driver[4200];
	char *argv[] = { d->gpupager, "run", d->dir, "--budget", budget, "--policy",
			 (char *)policy, "--steps", steps, "--compute-ms-per-gb", compute, "--json",
			 NULL };
	char *env[] = { driver, NULL };
	json_t *root, *v;
	int err;

	snprintf(budget, sizeof(budget), "%.17g%%", budget_pct);
	snprintf(steps, sizeof(steps), "%u", d->steps);
	snprintf(compute, sizeof(compute), "%.17g", compute_ms_per_gb);
	snprintf(driver, sizeof(driver), "GPUPAGER_CUDA_LIB=%s", d->driver);
	err = bench_child_json(argv, env, "gpupager run", &root);
	if (err)
		return err;
	v = json_object_get(root, "ratio_to_bound");
	if (json_is_number(v))
		*ratio = json_number_value(v);
	else
		err = gp_fail(GP_EFORMAT, "gpupager run --json: no ratio_to_bound in its output");
	json_decref(root);
	return err;
}
