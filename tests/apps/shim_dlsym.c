/*
 * shim_dlsym.c - how lookups reach the shim.  Run under the shim, it
 * checks, printing one line per check and exiting 1 if any fails:
 *
 *   - dlsym on a handle of the driver gives the shim's wrapper, through a
 *     reference bound to dlsym@GLIBC_2.34 (the default) and one bound to
 *     dlsym@GLIBC_2.2.5 (programs linked before glibc 2.34); dlvsym of a
 *     version the driver lacks finds nothing, as without the shim;
 *   - the wrapper of cuGetProcAddress_v2 hands out wrappers too;
 *   - dlsym(RTLD_NEXT, ...) is resolved relative to this program, not to
 *     the shim: the next definition of cuMemAlloc_v2 after the program is
 *     the shim's own;
 *   - a cu* name that is not the driver's (libc's cuserid) is glibc's.
 *
 * Without the shim (--no-shim) it checks the same lookups give the driver.
 */
#include <cuda.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* The pre-2.34 version of dlsym, as old binaries reference it. */
void *old_dlsym(void *handle, const char *name);
__asm__(".symver old_dlsym, dlsym@GLIBC_2.2.5");

typedef CUresult (*get_proc_fn)(const char *, void **, int, cuuint64_t,
				CUdriverProcAddressQueryResult *);

static int failures;

static const char *object_of(const void *p)
{
	Dl_info info;

	return p && dladdr(p, &info) && info.dli_fname ? info.dli_fname : "(none)";
}

/* p should be defined in the object whose path contains want. */
static void check(const char *what, const void *p, const char *want)
{
	const char *got = object_of(p);
	int ok = strstr(got, want) != NULL;

	printf("%s %s: %s\n", ok ? "ok" : "FAIL", what, got);
	failures += !ok;
}

int main(int argc, char **argv)
{
	const char *expect = argc > 1 && strcmp(argv[1], "--no-shim") == 0 ?
			     "libcuda.so" : "libgpupager-preload.so";
	void *driver, *p = NULL, *next;
	get_proc_fn get_proc;
	CUdriverProcAddressQueryResult status;

	/* A libc name starting with "cu" is glibc's. */
	check("dlsym(RTLD_DEFAULT, cuserid)", dlsym(RTLD_DEFAULT, "cuserid"), "libc.so");
	driver = dlopen("libcuda.so.1", RTLD_NOW);
	if (!driver) {
		printf("FAIL dlopen(libcuda.so.1): %s\n", dlerror());
		return 1;
	}
	check("dlsym@GLIBC_2.34(driver, cuMemAlloc_v2)", dlsym(driver, "cuMemAlloc_v2"), expect);
	check("dlsym@GLIBC_2.2.5(driver, cuMemAlloc_v2)", old_dlsym(driver, "cuMemAlloc_v2"),
	      expect);
	/* The driver defines no such version: none, with the shim as without it. */
	check("dlvsym(driver, cuLaunchKernel, NOSUCH_1.0)",
	      dlvsym(driver, "cuLaunchKernel", "NOSUCH_1.0"), "(none)");
	/* Not wrapped: the driver's own. */
	check("dlsym(driver, cuCtxGetCurrent)", dlsym(driver, "cuCtxGetCurrent"), "libcuda.so");
	get_proc = (get_proc_fn)dlsym(driver, "cuGetProcAddress_v2");
	check("dlsym(driver, cuGetProcAddress_v2)", (void *)get_proc, expect);
	if (get_proc && get_proc("cuMemFree", &p, 3020, 0, &status) == CUDA_SUCCESS)
		check("cuGetProcAddress_v2(cuMemFree, 3020)", p, expect);
	else
		printf("FAIL cuGetProcAddress_v2(cuMemFree, 3020)\n"), failures++;
	/* RTLD_NEXT from here: the objects after this program, the shim first when preloaded. */
	next = dlsym(RTLD_NEXT, "cuMemAlloc_v2");
	check("dlsym(RTLD_NEXT, cuMemAlloc_v2)", next, expect);
	return failures ? 1 : 0;
}
