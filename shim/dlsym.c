/*
 * dlsym.c - dlsym and dlvsym for the whole process.  A cu* lookup on a
 * handle of the CUDA driver is glibc's, and when what it finds is a
 * wrapped entry point the caller gets the shim's wrapper instead
 * (cuda-python, numba and the runtime dlopen the driver and dlsym
 * cuGetProcAddress_v2 this way); every other lookup is glibc's alone.  Being
 * unversioned, these definitions also satisfy references bound to
 * dlsym@GLIBC_2.2.5 and dlsym@GLIBC_2.34 (and the same for dlvsym).
 *
 * glibc resolves RTLD_NEXT relative to its caller's return address, so
 * the forwarding calls below are tail calls: the caller glibc sees is the
 * app, not the shim.
 */
#include <dlfcn.h>
#include <string.h>

#include "shim.h"

/*
 * A cu* lookup on a handle of the driver (whose answer may be swapped for
 * a wrapper).  Only such a lookup leaves uninstrumented code: a sanitizer
 * runtime's early lookups (RTLD_NEXT, libc names) never get that far.
 */
SHIM_NO_SAN static bool driver_lookup(void *handle, const char *name)
{
	return name && name[0] == 'c' && name[1] == 'u' && handle != RTLD_NEXT &&
	       handle != RTLD_DEFAULT && shim_real_is_driver(handle);
}

SHIM_NO_SAN SHIM_EXPORT void *dlsym(void *restrict handle, const char *restrict name)
{
	if (!shim_libc_init())
		return NULL;
	if (driver_lookup(handle, name))
		return shim_wrapper_of(shim_real.dlsym(handle, name));
	return shim_real.dlsym(handle, name);
}

SHIM_NO_SAN SHIM_EXPORT void *dlvsym(void *restrict handle, const char *restrict name,
				     const char *restrict version)
{
	if (!shim_libc_init())
		return NULL;
	if (driver_lookup(handle, name))
		return shim_wrapper_of(shim_real.dlvsym(handle, name, version));
	return shim_real.dlvsym(handle, name, version);
}
