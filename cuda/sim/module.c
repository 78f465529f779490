/*
 * module.c - kernel modules.  In the simulator a module is a host shared
 * object exporting the table described in sim_kernel.h; cuModuleLoad
 * dlopens it, lays out each kernel's parameters with natural alignment,
 * and cuFuncGetParamInfo reports that layout as the driver does for real
 * kernels.  cuModuleLoadData (images in memory) is not simulated.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sim.h"

/* Largest parameter block a kernel may take (CUDA 12.1 and later). */
#define SIM_MAX_PARAM_BYTES 32764
/* A table without its NULL row would otherwise be read without end. */
#define SIM_MAX_KERNELS 4096

/* The opaque type behind CUmodule. */
struct CUmod_st {
	void *dl;
	size_t n_funcs;
	struct CUfunc_st funcs[];
};

/* Natural alignment: the largest power of two dividing the size, at most 8. */
static size_t param_align(size_t size)
{
	size_t align = size & -size;

	return align > 8 ? 8 : align;
}

static CUresult lay_out(const struct gp_sim_kernel_desc *desc, struct CUfunc_st *func,
			const char *path)
{
	size_t offset = 0;

	if (!desc->fn || desc->n_params > GP_SIM_MAX_PARAMS)
		return sim_error(CUDA_ERROR_INVALID_IMAGE,
				 "%s: kernel '%s': no function or more than %d parameters", path,
				 desc->name, GP_SIM_MAX_PARAMS);
	func->desc = desc;
	for (unsigned i = 0; i < desc->n_params; i++) {
		size_t size = desc->param_sizes[i], align = param_align(size);

		if (size == 0 || size > SIM_MAX_PARAM_BYTES)
			return sim_error(CUDA_ERROR_INVALID_IMAGE,
					 "%s: kernel '%s': parameter %u has size %zu", path,
					 desc->name, i, size);
		offset = (offset + align - 1) / align * align;
		func->offsets[i] = offset;
		offset += size;
	}
	if (offset > SIM_MAX_PARAM_BYTES)
		return sim_error(CUDA_ERROR_INVALID_IMAGE,
				 "%s: kernel '%s': %zu bytes of parameters (at most %d)", path,
				 desc->name, offset, SIM_MAX_PARAM_BYTES);
	func->param_bytes = offset;
	return CUDA_SUCCESS;
}

static size_t count_kernels(const struct gp_sim_kernel_desc *table)
{
	size_t n = 0;

	while (n < SIM_MAX_KERNELS && table[n].name)
		n++;
	return n;
}

CUresult cuModuleLoad(CUmodule *module, const char *fname)
{
	CUresult err = sim_enter("cuModuleLoad", SIM_NEED_CTX);
	const struct gp_sim_kernel_desc *table;
	CUmodule mod = NULL;
	size_t n;
	void *dl;

	if (err)
		return err;
	if (!module || !fname)
		return CUDA_ERROR_INVALID_VALUE;
	if (access(fname, R_OK))
		return sim_error(CUDA_ERROR_FILE_NOT_FOUND, "cuModuleLoad: %s: %s", fname,
				 strerror(errno));
	dl = dlopen(fname, RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return sim_error(CUDA_ERROR_INVALID_IMAGE,
				 "cuModuleLoad: %s is not a simulator kernel module: %s", fname,
				 dlerror());
	table = dlsym(dl, GP_SIM_KERNEL_TABLE);
	if (!table) {
		err = sim_error(CUDA_ERROR_INVALID_IMAGE, "cuModuleLoad: %s exports no %s table",
				fname, GP_SIM_KERNEL_TABLE);
		goto fail;
	}
	n = count_kernels(table);
	if (n == SIM_MAX_KERNELS) {
		err = sim_error(CUDA_ERROR_INVALID_IMAGE,
				"cuModuleLoad: %s: kernel table has no terminating NULL row", fname);
		goto fail;
	}
	mod = calloc(1, sizeof(*mod) + n * sizeof(mod->funcs[0]));
	if (!mod) {
		err = CUDA_ERROR_OUT_OF_MEMORY;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		err = lay_out(&table[i], &mod->funcs[i], fname);
		if (err)
			goto fail;
	}
	mod->dl = dl;
	mod->n_funcs = n;
	*module = mod;
	gp_log_debug("simulated device: loaded %zu kernels from %s", n, fname);
	return CUDA_SUCCESS;
fail:
	free(mod);
	dlclose(dl);
	return err;
}

CUresult cuModuleUnload(CUmodule hmod)
{
	CUresult err = sim_enter("cuModuleUnload", SIM_NEED_CTX);

	if (err)
		return err;
	if (!hmod)
		return CUDA_ERROR_INVALID_HANDLE;
	/* Queued launches may still call into the object. */
	err = sim_streams_drain();
	if (err)
		return err;
	dlclose(hmod->dl);
	free(hmod);
	return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
{
	CUresult err = sim_enter("cuModuleGetFunction", SIM_NEED_CTX);

	if (err)
		return err;
	if (!hfunc || !name)
		return CUDA_ERROR_INVALID_VALUE;
	if (!hmod)
		return CUDA_ERROR_INVALID_HANDLE;
	for (size_t i = 0; i < hmod->n_funcs; i++) {
		if (strcmp(hmod->funcs[i].desc->name, name) == 0) {
			*hfunc = &hmod->funcs[i];
			return CUDA_SUCCESS;
		}
	}
	return sim_error(CUDA_ERROR_NOT_FOUND, "cuModuleGetFunction: no kernel '%s'", name);
}

CUresult cuFuncGetParamInfo(CUfunction func, size_t index, size_t *offset, size_t *size)
{
	CUresult err = sim_enter("cuFuncGetParamInfo", SIM_NEED_INIT);

	if (err)
		return err;
	if (!func)
		return CUDA_ERROR_INVALID_HANDLE;
	if (!offset || index >= func->desc->n_params)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuFuncGetParamInfo: kernel '%s' has %u parameters, asked for %zu",
				 func->desc->name, func->desc->n_params, index);
	*offset = func->offsets[index];
	if (size)
		*size = func->desc->param_sizes[index];
	return CUDA_SUCCESS;
}
