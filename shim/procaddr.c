/*
 * procaddr.c - cuGetProcAddress, as CUDA 11.3 (no status) and 12.0 (_v2)
 * defined it.  The driver is asked with the caller's exact symbol, version
 * and flags; when what it returns is the real form of a wrapped entry
 * point (cuMemAlloc_v2, cuLaunchKernel_ptsz, cuGetProcAddress itself, ...)
 * the caller gets the shim's wrapper of that very form instead.  The
 * status and every error pass through unchanged.
 */
#include "shim.h"

/* cuda.h renames cuGetProcAddress to its _v2; the CUDA 11.3 form is wrapped too. */
#undef cuGetProcAddress
SHIM_EXPORT CUresult cuGetProcAddress(const char *symbol, void **pfn, int version,
				      cuuint64_t flags);


SHIM_EXPORT CUresult cuGetProcAddress(const char *symbol, void **pfn, int version,
				      cuuint64_t flags)
{
	CUresult (*real)(const char *, void **, int, cuuint64_t) =
		shim_real_init() ? shim_real.fn[SHIM_ID_cuGetProcAddress] : NULL;
	CUresult res;

	if (!real)
		return CUDA_ERROR_NOT_INITIALIZED;
	res = real(symbol, pfn, version, flags);
	if (res == CUDA_SUCCESS && pfn)
		*pfn = shim_wrapper_of(*pfn);
	return res;
}

SHIM_EXPORT CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version,
					 cuuint64_t flags, CUdriverProcAddressQueryResult *status)
{
	SHIM_GET_REAL(real, cuGetProcAddress_v2);
	CUresult res = real(symbol, pfn, version, flags, status);

	if (res == CUDA_SUCCESS && pfn)
		*pfn = shim_wrapper_of(*pfn);
	return res;
}
