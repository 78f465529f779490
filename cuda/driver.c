/* driver.c - dlopen the CUDA driver and resolve its entry points through cuGetProcAddress. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "driver.h"
#include "error.h"
#include "log.h"

struct entry {
	const char *symbol;
	int version;
	enum gp_cu_group group;
	size_t offset;
};

#define GP_DRIVER_ROW(symbol, version, group) \
	{ #symbol, version, GP_CU_##group, offsetof(struct gp_driver, symbol) },

static const struct entry entries[] = { GP_DRIVER_ENTRIES(GP_DRIVER_ROW) };

static const char *const group_names[GP_CU_GROUP_COUNT] = {
	[GP_CU_CORE] = "the driver core",
	[GP_CU_VMM] = "the vmm backend (virtual memory management)",
	[GP_CU_MANAGED] = "the um backend (managed memory)",
	[GP_CU_MODULE] = "kernel launches",
};

/* cuGetProcAddress as CUDA 12.0 defined it, or the CUDA 11.3 form without a status. */
struct proc_lookup {
	PFN_cuGetProcAddress_v12000 v2;
	PFN_cuGetProcAddress_v11030 v1;
};

static int no_driver(const char *path, const char *why)
{
	return gp_fail(GP_ENODRIVER,
		       "cannot load CUDA driver '%s': %s; install the NVIDIA driver, or set "
		       "GPUPAGER_CUDA_LIB=<path>/libcuda.so.1 (the simulator is "
		       "build/lib/sim/libcuda.so.1)",
		       path, why);
}

static gp_driver_symbol_fn symbol_lookup = dlsym;

void gp_driver_set_symbol_lookup(gp_driver_symbol_fn fn)
{
	symbol_lookup = fn ? fn : dlsym;
}

static int find_proc_lookup(struct gp_driver *drv, struct proc_lookup *lookup)
{
	memset(lookup, 0, sizeof(*lookup));
	*(void **)&lookup->v2 = symbol_lookup(drv->handle, "cuGetProcAddress_v2");
	if (lookup->v2)
		return 0;
	*(void **)&lookup->v1 = symbol_lookup(drv->handle, "cuGetProcAddress");
	if (lookup->v1)
		return 0;
	return no_driver(drv->path, "it exports neither cuGetProcAddress_v2 nor cuGetProcAddress "
			 "(a CUDA 11.3 or newer driver is needed)");
}

/* Resolve one entry; a symbol the driver lacks leaves the field NULL and is not an error. */
static int resolve(struct gp_driver *drv, const struct proc_lookup *lookup,
		   const struct entry *e)
{
	CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SUCCESS;
	void *fn = NULL;
	char why[128];
	CUresult res;

	if (lookup->v2)
		res = lookup->v2(e->symbol, &fn, e->version, CU_GET_PROC_ADDRESS_LEGACY_STREAM,
				 &status);
	else
		res = lookup->v1(e->symbol, &fn, e->version, CU_GET_PROC_ADDRESS_LEGACY_STREAM);
	if (res == CUDA_ERROR_NOT_FOUND || status != CU_GET_PROC_ADDRESS_SUCCESS) {
		fn = NULL;
	} else if (res != CUDA_SUCCESS) {
		/* cuGetErrorName may not be resolved yet: report the number. */
		snprintf(why, sizeof(why), "cuGetProcAddress(\"%s\", %d) returned CUresult %d",
			 e->symbol, e->version, (int)res);
		return no_driver(drv->path, why);
	}
	memcpy((char *)drv + e->offset, &fn, sizeof(fn));
	if (!fn && !drv->missing[e->group]) {
		drv->missing[e->group] = e->symbol;
		gp_log_debug("CUDA driver '%s' lacks %s (CUDA %d.%d ABI)", drv->path, e->symbol,
			     e->version / 1000, e->version % 1000 / 10);
	}
	return 0;
}

static int resolve_all(struct gp_driver *drv)
{
	struct proc_lookup lookup;
	char why[256];
	int err;

	err = find_proc_lookup(drv, &lookup);
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		err = resolve(drv, &lookup, &entries[i]);
		if (err)
			return err;
	}
	if (drv->missing[GP_CU_CORE]) {
		snprintf(why, sizeof(why), "it lacks %s, which libgpupager requires",
			 drv->missing[GP_CU_CORE]);
		return no_driver(drv->path, why);
	}
	return 0;
}

static int init_driver(struct gp_driver *drv)
{
	CUresult res;

	res = drv->cuInit(0);
	if (res) {
		gp_cu_fail(drv, res, "cuInit", "driver '%s'", drv->path);
		return gp_fail_context(GP_ENODRIVER, "CUDA driver unusable (is a GPU present?): ");
	}
	res = drv->cuDriverGetVersion(&drv->version);
	if (res)
		return gp_cu_fail(drv, res, "cuDriverGetVersion", NULL);
	return 0;
}

int gp_driver_open(const char *path, struct gp_driver **out)
{
	const struct gp_config *cfg;
	struct gp_driver *drv;
	int err;

	if (!path) {
		err = gp_config_get(&cfg);
		if (err)
			return err;
		path = cfg->cuda_lib;
	}
	drv = calloc(1, sizeof(*drv));
	if (!drv)
		return gp_fail(GP_ENOMEM, "CUDA driver: out of memory");
	drv->path = strdup(path);
	if (!drv->path) {
		err = gp_fail(GP_ENOMEM, "CUDA driver: out of memory");
		goto fail;
	}
	drv->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!drv->handle) {
		err = no_driver(path, dlerror());
		goto fail;
	}
	err = resolve_all(drv);
	if (err)
		goto fail;
	/*
	 * From cuInit on, the library has process-wide state and threads that
	 * no call undoes, so it is never unloaded; opening it again only
	 * takes another reference.
	 */
	drv->initialized = true;
	err = init_driver(drv);
	if (err)
		goto fail;
	gp_log_info("CUDA driver '%s', version %d.%d", path, drv->version / 1000,
		    drv->version % 1000 / 10);
	*out = drv;
	return 0;
fail:
	gp_driver_close(drv);
	return err;
}

void gp_driver_close(struct gp_driver *drv)
{
	if (!drv)
		return;
	if (drv->handle && !drv->initialized)
		dlclose(drv->handle);
	free(drv->path);
	free(drv);
}

int gp_driver_require(const struct gp_driver *drv, enum gp_cu_group group)
{
	if (!drv->missing[group])
		return 0;
	return gp_fail(GP_ENOSYS, "CUDA driver '%s' (version %d.%d) lacks %s, needed for %s",
		       drv->path, drv->version / 1000, drv->version % 1000 / 10,
		       drv->missing[group], group_names[group]);
}

int gp_cu_fail(const struct gp_driver *drv, CUresult res, const char *call, const char *fmt,
	       ...)
{
	const char *name = NULL, *text = NULL;
	char context[512] = "";
	int code = res == CUDA_ERROR_OUT_OF_MEMORY ? GP_EDEVMEM : GP_ECUDA;
	va_list ap;

	if (drv->cuGetErrorName(res, &name) != CUDA_SUCCESS || !name)
		name = "unknown CUresult";
	if (drv->cuGetErrorString(res, &text) != CUDA_SUCCESS || !text)
		text = "no description";
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(context, sizeof(context), fmt, ap);
		va_end(ap);
	}
	return gp_fail(code, "%s: %s (%s, CUresult %d)%s%s", call, name, text, (int)res,
		       fmt ? ": " : "", context);
}
