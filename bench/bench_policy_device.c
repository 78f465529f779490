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
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_policy_device.h"
#include "error.h"
#include "sample.h"
#include "st_writer.h"

#define SIM_DRIVER GP_BUILD_DIR "/lib/sim/libcuda.so.1"
#define OUTPUT_MAX (1u << 20)

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

/* What the child wrote to fd (a memfd), NUL-terminated, malloc'ed; NULL when out of memory. */
static char *slurp(int fd)
{
	char *buf = malloc(OUTPUT_MAX + 1);
	size_t len = 0;
	ssize_t n;

	if (!buf)
		return NULL;
	while (len < OUTPUT_MAX && (n = pread(fd, buf + len, OUTPUT_MAX - len, (off_t)len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

/* Run argv with GPUPAGER_CUDA_LIB=driver; its exit status and output. */
static int run_child(const char *driver, char *const *argv, int *status, char **out, char **err)
{
	int fd_out = memfd_create("gp-bench-out", MFD_CLOEXEC);
	int fd_err = memfd_create("gp-bench-err", MFD_CLOEXEC);
	pid_t pid;
	int rc = 0;

	*out = *err = NULL;
	if (fd_out < 0 || fd_err < 0) {
		rc = gp_fail(GP_EIO, "memfd_create: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = gp_fail(GP_EIO, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (dup2(fd_out, STDOUT_FILENO) < 0 || dup2(fd_err, STDERR_FILENO) < 0 ||
		    setenv("GPUPAGER_CUDA_LIB", driver, 1))
			_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			rc = gp_fail(GP_EIO, "waitpid: %s", strerror(errno));
			goto out;
		}
	}
	*out = slurp(fd_out);
	*err = slurp(fd_err);
	if (!*out || !*err)
		rc = gp_fail(GP_ENOMEM, "out of memory");
out:
	if (fd_out >= 0)
		close(fd_out);
	if (fd_err >= 0)
		close(fd_err);
	return rc;
}

/* run's message without "gpupager run: " and the trailing newline. */
static int run_failed(int status, char *err)
{
	const char *prefix = "gpupager run: ";
	char *msg = err, *nl;

	if (!strncmp(msg, prefix, strlen(prefix)))
		msg += strlen(prefix);
	nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	if (WIFEXITED(status))
		return gp_fail(GP_EIO, "%s", *msg ? msg : "gpupager run failed");
	return gp_fail(GP_EIO, "gpupager run: killed by signal %d", WTERMSIG(status));
}

int bench_device_ratio(struct bench_device *d, const char *policy, double budget_pct,
		       double compute_ms_per_gb, double *ratio)
{
	char budget[64], steps[16], compute[64], *out = NULL, *err_text = NULL;
	char *argv[] = { d->gpupager, "run", d->dir, "--budget", budget, "--policy",
			 (char *)policy, "--steps", steps, "--compute-ms-per-gb", compute, "--json",
			 NULL };
	json_t *root = NULL, *v;
	json_error_t jerr;
	int status = 0, err;

	snprintf(budget, sizeof(budget), "%.17g%%", budget_pct);
	snprintf(steps, sizeof(steps), "%u", d->steps);
	snprintf(compute, sizeof(compute), "%.17g", compute_ms_per_gb);
	err = run_child(d->driver, argv, &status, &out, &err_text);
	if (err)
		goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		err = run_failed(status, err_text);
		goto out;
	}
	root = json_loads(out, 0, &jerr);
	v = root ? json_object_get(root, "ratio_to_bound") : NULL;
	if (!json_is_number(v)) {
		err = gp_fail(GP_EFORMAT, "gpupager run --json: no ratio_to_bound in its output (%s)",
			      root ? "key missing" : jerr.text);
		goto out;
	}
	*ratio = json_number_value(v);
out:
	json_decref(root);
	free(out);
	free(err_text);
	return err;
}
