/*
 * peer.c - cuCtxEnablePeerAccess.  The shim's memory is VMM mappings
 * accessible only to the devices cuMemSetAccess names, so peer access the
 * program enables would not reach it: once the driver has enabled it, the
 * peer context's device's pager grants the current device access to its
 * chunks (mapped now and later).  Disabling keeps the grant: it only
 * allows more than the program asks.
 */
#include "shim.h"

/* The device of context ctx, made current for the question only. */
static bool context_device(CUcontext ctx, CUdevice *dev)
{
	CUcontext popped;
	bool ok;

	if (shim_real.cuCtxPushCurrent(ctx))
		return false;
	ok = !shim_real.cuCtxGetDevice(dev);
	shim_real.cuCtxPopCurrent(&popped);
	return ok;
}

SHIM_EXPORT CUresult cuCtxEnablePeerAccess(CUcontext peer, unsigned int flags)
{
	CUdevice self, owner;
	CUcontext ctx;
	CUresult res;

	SHIM_GET_REAL(real, cuCtxEnablePeerAccess);
	res = real(peer, flags);
	if ((res != CUDA_SUCCESS && res != CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED) ||
	    shim_in_forked_child() || shim_real.cuCtxGetDevice(&self))
		return res;
	ctx = shim_ctx_get();
	if (context_device(peer, &owner))
		shim_engine_grant_peer((int)owner, (int)self);
	shim_ctx_put_back(ctx);
	return res;
}
