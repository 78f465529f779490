/*
 * real.c - what the shim wraps: the driver library (GPUPAGER_CUDA_LIB,
 * default libcuda.so.1, the one the app loads too), each wrapped entry
 * point's real address looked up by its exported name, and the few calls
 * the shim makes itself.  Loaded once, from whichever call comes first.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "driver.h"
#include "log.h"
#include "shim.h"

#define SHIM_NAME(name) #name,
static const char *const entry_names[SHIM_N_ENTRIES] = { SHIM_ENTRIES(SHIM_NAME) };
#undef SHIM_NAME

struct shim_real shim_real;

static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static bool real_ok;
/* Set while this thread loads: lookups the driver's constructors make are glibc's. */
static __thread bool loading;

/* The engine's driver layer looks the driver up with the real dlsym, not the shim's. */
static void *engine_symbol_lookup(void *handle, const char *name)
{
	return shim_real.dlsym(handle, name);
}

static void *own(const char *name)
{
	return shim_real.dlsym(shim_real.driver, name);
}

/* The shim's own wrappers, looked up in the shim itself (whatever comes first in the process). */
static void *own_wrappers_handle(void)
{
	Dl_info info;

	if (!dladdr((void *)shim_real_init, &info) || !info.dli_fname)
		return NULL;
	return dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
}

static void real_load(void)
{
	const struct gp_config *cfg;
	const char *path = "libcuda.so.1";
	void *self;

	loading = true;
	if (!shim_libc_init()) {
		gp_log_error("shim: glibc's dlsym was not found in libc.so.6: the shim cannot run");
		loading = false;
		return;
	}
	gp_driver_set_symbol_lookup(engine_symbol_lookup);
	/* A bad variable is reported when the engine opens; the driver path is all that counts here. */
	if (!gp_config_get(&cfg))
		path = cfg->cuda_lib;
	shim_real.driver_path = path;
	shim_real.driver = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	self = own_wrappers_handle();
	if (!shim_real.driver || !self) {
		gp_log_error("shim: cannot load the CUDA driver '%s' (%s): every CUDA call will "
			     "fail; install the NVIDIA driver or set GPUPAGER_CUDA_LIB", path,
			     self ? dlerror() : "the shim cannot find itself");
		loading = false;
		return;
	}
	for (int i = 0; i < SHIM_N_ENTRIES; i++) {
		shim_real.fn[i] = own(entry_names[i]);
		shim_real.wrapper[i] = shim_real.dlsym(self, entry_names[i]);
	}
	*(void **)&shim_real.cuCtxGetCurrent = own("cuCtxGetCurrent");
	*(void **)&shim_real.cuCtxSetCurrent = own("cuCtxSetCurrent");
	*(void **)&shim_real.cuCtxGetDevice = own("cuCtxGetDevice");
	*(void **)&shim_real.cuCtxPushCurrent = own("cuCtxPushCurrent_v2");
	*(void **)&shim_real.cuCtxPopCurrent = own("cuCtxPopCurrent_v2");
	*(void **)&shim_real.cuDeviceGetDefaultMemPool = own("cuDeviceGetDefaultMemPool");
	*(void **)&shim_real.cuDevicePrimaryCtxRetain = own("cuDevicePrimaryCtxRetain");
	*(void **)&shim_real.cuDevicePrimaryCtxRelease = own("cuDevicePrimaryCtxRelease_v2");
	*(void **)&shim_real.cuEventCreate = own("cuEventCreate");
	*(void **)&shim_real.cuEventRecord = own("cuEventRecord");
	*(void **)&shim_real.cuEventQuery = own("cuEventQuery");
	*(void **)&shim_real.cuEventSynchronize = own("cuEventSynchronize");
	*(void **)&shim_real.cuEventDestroy = own("cuEventDestroy_v2");
	*(void **)&shim_real.cuStreamSynchronize = own("cuStreamSynchronize");
	*(void **)&shim_real.cuFuncGetParamInfo = own("cuFuncGetParamInfo");
	*(void **)&shim_real.cuKernelGetParamInfo = own("cuKernelGetParamInfo");
	real_ok = true;
	loading = false;
}

bool shim_real_init(void)
{
	pthread_once(&real_once, real_load);
	return real_ok;
}

bool shim_real_is_driver(void *handle)
{
	const struct gp_config *cfg;
	void *h;
	bool same;

	if (loading || !handle || handle == RTLD_DEFAULT || handle == RTLD_NEXT)
		return false;
	if (real_ok)
		return handle == shim_real.driver;
	/* Not loaded yet: only a handle of the driver the app has loaded itself starts it. */
	if (gp_config_get(&cfg) || !shim_libc_init())
		return false;
	h = dlopen(cfg->cuda_lib, RTLD_NOW | RTLD_NOLOAD);
	same = h == handle;
	if (h)
		dlclose(h);
	return same && shim_real_init() && handle == shim_real.driver;
}

CUcontext shim_ctx_get(void)
{
	CUcontext ctx = NULL;

	if (shim_real.cuCtxGetCurrent(&ctx))
		ctx = NULL;
	return ctx;
}

void shim_ctx_put_back(CUcontext ctx)
{
	if (shim_ctx_get() != ctx)
		shim_real.cuCtxSetCurrent(ctx);
}

int shim_entry_find(const char *name)
{
	for (int i = 0; i < SHIM_N_ENTRIES; i++)
		if (strcmp(entry_names[i], name) == 0)
			return i;
	return -1;
}

void *shim_wrapper_of(void *fn)
{
	for (int i = 0; fn && i < SHIM_N_ENTRIES; i++)
		if (shim_real.fn[i] == fn)
			return shim_real.wrapper[i] ? shim_real.wrapper[i] : fn;
	return fn;
}
