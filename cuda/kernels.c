/* kernels.c - load the test kernel module that fits the device, and launch its kernels. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "kernels.h"
#include "log.h"

#define BLOCK_THREADS 256u /* a multiple of the warp size, as the kernels require */
#define MAX_BLOCKS 4096u   /* enough to fill any current GPU; the loops stride */

struct gp_kernels {
	struct gp_gpu *gpu;
	CUmodule module;
	CUfunction checksum;
	CUfunction fill_pattern;
};

/* The directory holding the library's own code: the .so's (or the program's, when linked statically). */
static int own_dir(char *dir, size_t size)
{
	Dl_info info;
	char *slash;

	if (!dladdr((void *)gp_kernels_load, &info) || !info.dli_fname || !info.dli_fname[0])
		return -1;
	if (!realpath(info.dli_fname, dir) && (size_t)snprintf(dir, size, "%s", info.dli_fname) >= size)
		return -1;
	slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

/*
 * Where the modules are, first match: GPUPAGER_KERNELS; beside the library
 * as installed (LIBDIR/gpupager/kernels) or as built (BUILD/lib/kernels);
 * the build tree this library was compiled in.
 */
static int module_path(const struct gp_gpu *gpu, char *path, size_t size)
{
	const char *file = gpu->is_simulator ? GP_KERNELS_SIM_FILE : GP_KERNELS_CUDA_FILE;
	char here[PATH_MAX], tried[3 * PATH_MAX + 16] = "";
	const char *dirs[3];
	const struct gp_config *cfg;
	size_t n = 0;
	int err;

	err = gp_config_get(&cfg);
	if (err)
		return err;
	if (cfg->kernels_dir) {
		if ((size_t)snprintf(path, size, "%s/%s", cfg->kernels_dir, file) >= size)
			return gp_fail(GP_EINVAL, "GPUPAGER_KERNELS='%s': path too long",
				       cfg->kernels_dir);
		if (access(path, R_OK))
			return gp_fail(GP_ENOENT, "kernel module '%s' not found: set "
				       "GPUPAGER_KERNELS to the directory holding %s", path, file);
		return 0;
	}
	if (!own_dir(here, sizeof(here))) {
		dirs[n++] = "%s/gpupager/kernels";
		dirs[n++] = "%s/kernels";
	}
	dirs[n++] = GP_BUILD_DIR "/lib/kernels";
	for (size_t i = 0; i < n; i++) {
		char dir[PATH_MAX];
		size_t used = strlen(tried);

		snprintf(dir, sizeof(dir), dirs[i], here);
		if ((size_t)snprintf(path, size, "%s/%s", dir, file) >= size)
			continue;
		if (!access(path, R_OK))
			return 0;
		snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? ", " : "", dir);
	}
	return gp_fail(GP_ENOENT,
		       "kernel module %s not found in %s: build it with make%s, install it with "
		       "make install, or set GPUPAGER_KERNELS to the directory holding it",
		       file, tried, gpu->is_simulator ? "" : " (needs nvcc)");
}

static int get_function(struct gp_kernels *kernels, const char *name, CUfunction *out)
{
	struct gp_driver *drv = kernels->gpu->drv;
	CUresult res;

	res = drv->cuModuleGetFunction(out, kernels->module, name);
	if (res)
		return gp_cu_fail(drv, res, "cuModuleGetFunction", "%s", name);
	return 0;
}

int gp_kernels_load(struct gp_gpu *gpu, struct gp_kernels **out)
{
	struct gp_driver *drv = gpu->drv;
	struct gp_kernels *kernels;
	char path[4096];
	CUresult res;
	int err;

	err = gp_driver_require(drv, GP_CU_MODULE);
	if (err)
		return err;
	err = module_path(gpu, path, sizeof(path));
	if (err)
		return err;
	err = gp_gpu_bind(gpu);
	if (err)
		return err;
	kernels = calloc(1, sizeof(*kernels));
	if (!kernels)
		return gp_fail(GP_ENOMEM, "kernels: out of memory");
	kernels->gpu = gpu;
	res = drv->cuModuleLoad(&kernels->module, path);
	if (res) {
		err = gp_cu_fail(drv, res, "cuModuleLoad", "'%s'", path);
		goto fail;
	}
	err = get_function(kernels, "gp_checksum_kernel", &kernels->checksum);
	if (err)
		goto fail;
	err = get_function(kernels, "gp_fill_pattern_kernel", &kernels->fill_pattern);
	if (err)
		goto fail;
	gp_log_info("kernels: loaded '%s'", path);
	*out = kernels;
	return 0;
fail:
	gp_kernels_unload(kernels);
	return err;
}

void gp_kernels_unload(struct gp_kernels *kernels)
{
	struct gp_driver *drv;
	CUresult res;

	if (!kernels)
		return;
	drv = kernels->gpu->drv;
	if (kernels->module) {
		/* As for streams and events: a failed bind (logged) still unloads. */
		if (gp_gpu_bind(kernels->gpu))
			gp_log_warn("%s", gp_last_error());
		res = drv->cuModuleUnload(kernels->module);
		if (res) {
			gp_cu_fail(drv, res, "cuModuleUnload", NULL);
			gp_log_warn("%s", gp_last_error());
		}
	}
	free(kernels);
}

/* One thread per 64-bit word, up to MAX_BLOCKS blocks. */
static int launch(struct gp_kernels *kernels, CUfunction fn, const char *name, uint64_t len,
		  CUstream stream, void **args)
{
	struct gp_driver *drv = kernels->gpu->drv;
	uint64_t words = (len + 7) / 8;
	uint64_t blocks = (words + BLOCK_THREADS - 1) / BLOCK_THREADS;
	CUresult res;
	int err;

	if (blocks == 0)
		blocks = 1;
	if (blocks > MAX_BLOCKS)
		blocks = MAX_BLOCKS;
	err = gp_gpu_bind(kernels->gpu);
	if (err)
		return err;
	res = drv->cuLaunchKernel(fn, (unsigned)blocks, 1, 1, BLOCK_THREADS, 1, 1, 0, stream,
				  args, NULL);
	if (res)
		return gp_cu_fail(drv, res, "cuLaunchKernel", "%s over %llu bytes", name,
				  (unsigned long long)len);
	return 0;
}

int gp_kernel_checksum(struct gp_kernels *kernels, CUstream stream, CUdeviceptr data,
		       uint64_t len, uint64_t byte_offset, CUdeviceptr result)
{
	void *args[] = { &data, &len, &byte_offset, &result };

	if (byte_offset % 8)
		return gp_fail(GP_EINVAL,
			       "gp_checksum_kernel: byte offset %llu is not a multiple of 8",
			       (unsigned long long)byte_offset);
	if (result % 8)
		return gp_fail(GP_EINVAL,
			       "gp_checksum_kernel: result 0x%llx is not 8-byte aligned",
			       (unsigned long long)result);
	return launch(kernels, kernels->checksum, "gp_checksum_kernel", len, stream, args);
}

int gp_kernel_fill_pattern(struct gp_kernels *kernels, CUstream stream, CUdeviceptr data,
			   uint64_t len, uint64_t seed)
{
	void *args[] = { &data, &len, &seed };

	return launch(kernels, kernels->fill_pattern, "gp_fill_pattern_kernel", len, stream,
		      args);
}
