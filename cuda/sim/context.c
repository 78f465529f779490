/*
 * context.c - the primary context of device 0 and each thread's stack of
 * current contexts.  Calls that need a context fail with
 * CUDA_ERROR_INVALID_CONTEXT on a thread that has not made one current, as
 * with a real driver.
 */
#include "sim.h"

/* The opaque type behind CUcontext. */
struct CUctx_st {
	int refs; /* primary-context retains */
};

static struct CUctx_st primary;
/*
 * The thread's context stack.  The primary context is the only one, so
 * the stack is that context depth times over, and the current context is
 * its top: the primary one, or none when the stack is empty.
 */
static __thread unsigned int depth;

CUresult sim_context_check(void)
{
	if (!depth)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (__atomic_load_n(&primary.refs, __ATOMIC_ACQUIRE) == 0)
		return CUDA_ERROR_CONTEXT_IS_DESTROYED;
	return CUDA_SUCCESS;
}

CUcontext sim_primary_context(void)
{
	return &primary;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
	CUresult err = sim_enter("cuDevicePrimaryCtxRetain", SIM_NEED_INIT);

	if (err)
		return err;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	err = sim_check_device(dev, "cuDevicePrimaryCtxRetain");
	if (err)
		return err;
	__atomic_add_fetch(&primary.refs, 1, __ATOMIC_ACQ_REL);
	*pctx = &primary;
	return CUDA_SUCCESS;
}

/*
 * The last release makes the context unusable until it is retained again;
 * unlike a real driver, allocations and streams survive it.
 */
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
	CUresult err = sim_enter("cuDevicePrimaryCtxRelease", SIM_NEED_INIT);
	int refs;

	if (err)
		return err;
	err = sim_check_device(dev, "cuDevicePrimaryCtxRelease");
	if (err)
		return err;
	refs = __atomic_load_n(&primary.refs, __ATOMIC_ACQUIRE);
	do {
		if (refs == 0)
			return sim_error(CUDA_ERROR_INVALID_CONTEXT,
					 "cuDevicePrimaryCtxRelease: primary context not retained");
	} while (!__atomic_compare_exchange_n(&primary.refs, &refs, refs - 1, false,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return CUDA_SUCCESS;
}

/* Replaces the top of the stack (pushes onto an empty one); NULL pops. */
CUresult cuCtxSetCurrent(CUcontext ctx)
{
	CUresult err = sim_enter("cuCtxSetCurrent", SIM_NEED_INIT);

	if (err)
		return err;
	if (ctx && ctx != &primary)
		return sim_error(CUDA_ERROR_INVALID_CONTEXT, "cuCtxSetCurrent: unknown context %p",
				 (void *)ctx);
	if (!ctx && depth)
		depth--;
	else if (ctx && !depth)
		depth = 1;
	return CUDA_SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext *pctx)
{
	CUresult err = sim_enter("cuCtxGetCurrent", SIM_NEED_INIT);

	if (err)
		return err;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	*pctx = depth ? &primary : NULL;
	return CUDA_SUCCESS;
}

CUresult cuCtxPushCurrent_v2(CUcontext ctx)
{
	CUresult err = sim_enter("cuCtxPushCurrent", SIM_NEED_INIT);

	if (err)
		return err;
	if (ctx != &primary)
		return sim_error(CUDA_ERROR_INVALID_CONTEXT, "cuCtxPushCurrent: unknown context %p",
				 (void *)ctx);
	depth++;
	return CUDA_SUCCESS;
}

/* pctx may be NULL: the popped context is then not returned. */
CUresult cuCtxPopCurrent_v2(CUcontext *pctx)
{
	CUresult err = sim_enter("cuCtxPopCurrent", SIM_NEED_INIT);

	if (err)
		return err;
	if (!depth)
		return sim_error(CUDA_ERROR_INVALID_CONTEXT,
				 "cuCtxPopCurrent: no current context on this thread");
	if (pctx)
		*pctx = &primary;
	depth--;
	return CUDA_SUCCESS;
}

CUresult cuCtxGetDevice(CUdevice *device)
{
	CUresult err = sim_enter("cuCtxGetDevice", SIM_NEED_CTX);

	if (err)
		return err;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	*device = 0;
	return CUDA_SUCCESS;
}

/* CUDA 13: the device of a given context, current or not (NULL: the current one). */
CUresult cuCtxGetDevice_v2(CUdevice *device, CUcontext ctx)
{
	CUresult err;

	if (!ctx)
		return cuCtxGetDevice(device);
	err = sim_enter("cuCtxGetDevice", SIM_NEED_INIT);
	if (err)
		return err;
	if (ctx != &primary)
		return sim_error(CUDA_ERROR_INVALID_CONTEXT, "cuCtxGetDevice: unknown context %p",
				 (void *)ctx);
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	*device = 0;
	return CUDA_SUCCESS;
}

static CUresult synchronize(void)
{
	CUresult err = sim_streams_drain();

	if (err)
		return err;
	return sim_sticky_error();
}

CUresult cuCtxSynchronize(void)
{
	CUresult err = sim_enter("cuCtxSynchronize", SIM_NEED_CTX);

	if (err)
		return err;
	return synchronize();
}

/* CUDA 13: synchronise a given context, current or not (NULL: the current one). */
CUresult cuCtxSynchronize_v2(CUcontext ctx)
{
	CUresult err;

	if (!ctx)
		return cuCtxSynchronize();
	err = sim_enter("cuCtxSynchronize", SIM_NEED_INIT);
	if (err)
		return err;
	if (ctx != &primary)
		return sim_error(CUDA_ERROR_INVALID_CONTEXT, "cuCtxSynchronize: unknown context %p",
				 (void *)ctx);
	if (__atomic_load_n(&primary.refs, __ATOMIC_ACQUIRE) == 0)
		return CUDA_ERROR_CONTEXT_IS_DESTROYED;
	return synchronize();
}
