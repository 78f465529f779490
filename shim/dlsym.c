/*
 * dlsym.c - dlsym and dlvsym for the whole process.  A lookup of a wrapped
 * cu* name on a handle of the CUDA driver answers with the shim's wrapper
 * (cuda-python, numba and the runtime dlopen the driver and dlsym
 * cuGetProcAddress_v2 this way); every other lookup is glibc's.  Being
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

/* The wrapper for name when handle is the driver's, else NULL. */
static void *wrapper_for(void *handle, const char *name)
{
	int id;

	if (!name || name[0] != 'c' || name[1] != 'u' || !shim_real_is_driver(handle))
		return NULL;
	id = shim_entry_find(name);
	/* A form the driver lacks stays absent, as without the shim. */
	return id >= 0 && shim_real.fn[id] ? shim_real.wrapper[id] : NULL;
}

SHIM_EXPORT void *dlsym(void *restrict handle, const char *restrict name)
{
	void *w;

	if (!shim_libc_init())
		return NULL;
	w = wrapper_for(handle, name);
	if (w)
		return w;
	return shim_real.dlsym(handle, name);
}

SHIM_EXPORT void *dlvsym(void *restrict handle, const char *restrict name,
			 const char *restrict version)
{
	void *w;

	if (!shim_libc_init())
		return NULL;
	w = wrapper_for(handle, name);
	if (w)
		return w;
	return shim_real.dlvsym(handle, name, version);
}
