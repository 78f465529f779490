/*
 * context.c - the primary context of each device, each thread's stack of
 * current contexts, and peer access between contexts.  Calls that need a
 * context fail with CUDA_ERROR_INVALID_CONTEXT on a thread that has not
 * made one current, as with a real driver.
 */
#include "sim.h"

/* The opaque type behind CUcontext. */
struct CUctx_st {
	int refs;       /* primary-context retains */
	unsigned peers; /* bit d: cuCtxEnablePeerAccess of device d's context done here */
};

static struct CUctx_st primaries[SIM_MAX_DEVICES];

/*
 * The thread's context stack, run-length coded: runs[i] is pushed count[i]
 * times in a row, so pushing one context again and again (the common use)
 * never fills it.  The current context is the top run's.
 */
#define SIM_CTX_RUNS 64
struct ctx_stack {
	CUcontext ctx[SIM_CTX_RUNS];
	unsigned int count[SIM_CTX_RUNS];
	unsigned int runs;
};
static __thread struct ctx_stack stack;

static CUcontext top(void)
{
	return stack.runs ? stack.ctx[stack.runs - 1] : NULL;
}

static CUresult push(CUcontext ctx)
{
	if (stack.runs && stack.ctx[stack.runs - 1] == ctx) {
		stack.count[stack.runs - 1]++;
		return CUDA_SUCCESS;
	}
	if (stack.runs == SIM_CTX_RUNS)
		return sim_error(CUDA_ERROR_OUT_OF_MEMORY,
				 "cuCtxPushCurrent: more than %d alternations on the context stack",
				 SIM_CTX_RUNS);
	stack.ctx[stack.runs] = ctx;
	stack.count[stack.runs++] = 1;
	return CUDA_SUCCESS;
}

static void pop(void)
{
	if (--stack.count[stack.runs - 1] == 0)
		stack.runs--;
}

/* A primary context's device is its index. */
static int device_of(CUcontext ctx)
{
	return (int)(ctx - primaries);
}

/* ctx if it is one of the primary contexts, else NULL. */
static struct CUctx_st *known(CUcontext ctx)
{
	for (int d = 0; d < sim_device_count(); d++)
		if (ctx == &primaries[d])
			return ctx;
	return NULL;
}

CUresult sim_context_check(void)
{
	CUcontext ctx = top();

	if (!ctx)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (__atomic_load_n(&ctx->refs, __ATOMIC_ACQUIRE) == 0)
		return CUDA_ERROR_CONTEXT_IS_DESTROYED;
	return CUDA_SUCCESS;
}

CUresult sim_context_live(CUcontext ctx, const char *func)
{
	if (!ctx || !known(ctx))
		return sim_error(CUDA_ERROR_INVALID_CONTEXT, "%s: unknown context %p", func,
				 (void *)ctx);
	if (__atomic_load_n(&ctx->refs, __ATOMIC_ACQUIRE) == 0)
		return sim_error(CUDA_ERROR_INVALID_CONTEXT, "%s: context %p is not retained",
				 func, (void *)ctx);
	return CUDA_SUCCESS;
}

bool sim_peer_enabled(int dev, int peer)
{
	return dev == peer ||
	       (__atomic_load_n(&primaries[dev].peers, __ATOMIC_ACQUIRE) >> peer & 1u);
}

CUcontext sim_primary_context(int dev)
{
	return &primaries[dev];
}

int sim_current_device(void)
{
	CUcontext ctx = top();

	return ctx ? device_of(ctx) : 0;
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
	__atomic_add_fetch(&primaries[dev].refs, 1, __ATOMIC_ACQ_REL);
	*pctx = &primaries[dev];
	return CUDA_SUCCESS;
}

/* A destroyed context's peer access, both ways, goes with it: a new one starts with none. */
static void forget_peers(int dev)
{
	__atomic_store_n(&primaries[dev].peers, 0, __ATOMIC_RELEASE);
	for (int d = 0; d < sim_device_count(); d++)
		__atomic_and_fetch(&primaries[d].peers, ~(1u << dev), __ATOMIC_ACQ_REL);
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
	refs = __atomic_load_n(&primaries[dev].refs, __ATOMIC_ACQUIRE);
	do {
		if (refs == 0)
			return sim_error(CUDA_ERROR_INVALID_CONTEXT,
					 "cuDevicePrimaryCtxRelease: primary context not retained");
	} while (!__atomic_compare_exchange_n(&primaries[dev].refs, &refs, refs - 1, false,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	if (refs == 1)
		forget_peers(dev);
	return CUDA_SUCCESS;
}

/* Replaces the top of the stack (pushes onto an empty one); NULL pops. */
CUresult cuCtxSetCurrent(CUcontext ctx)
{
	CUresult err = sim_enter("cuCtxSetCurrent", SIM_NEED_INIT);

	if (err)
		return err;
	if (ctx && !known(ctx))
		return sim_error(CUDA_ERROR_INVALID_CONTEXT, "cuCtxSetCurrent: unknown context %p",
				 (void *)ctx);
	if (!stack.runs)
		return ctx ? push(ctx) : CUDA_SUCCESS;
	pop();
	return ctx ? push(ctx) : CUDA_SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext *pctx)
{
	CUresult err = sim_enter("cuCtxGetCurrent", SIM_NEED_INIT);

	if (err)
		return err;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	*pctx = top();
	return CUDA_SUCCESS;
}

CUresult cuCtxPushCurrent_v2(CUcontext ctx)
{
	CUresult err = sim_enter("cuCtxPushCurrent", SIM_NEED_INIT);

	if (err)
		return err;
	if (!known(ctx))
		return sim_error(CUDA_ERROR_INVALID_CONTEXT, "cuCtxPushCurrent: unknown context %p",
				 (void *)ctx);
	return push(ctx);
}

/* pctx may be NULL: the popped context is then not returned. */
CUresult cuCtxPopCurrent_v2(CUcontext *pctx)
{
	CUresult err = sim_enter("cuCtxPopCurrent", SIM_NEED_INIT);

	if (err)
		return err;
	if (!stack.runs)
		return sim_error(CUDA_ERROR_INVALID_CONTEXT,
				 "cuCtxPopCurrent: no current context on this thread");
	if (pctx)
		*pctx = top();
	pop();
	return CUDA_SUCCESS;
}

CUresult cuCtxGetDevice(CUdevice *device)
{
	CUresult err = sim_enter("cuCtxGetDevice", SIM_NEED_CTX);

	if (err)
		return err;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	*device = device_of(top());
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
	if (!known(ctx))
		return sim_error(CUDA_ERROR_INVALID_CONTEXT, "cuCtxGetDevice: unknown context %p",
				 (void *)ctx);
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	*device = device_of(ctx);
	return CUDA_SUCCESS;
}

/*
 * The device supports no stream priorities
 * (CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED is 0): as the driver
 * documents for such a device, both ends of the range are 0.
 */
CUresult cuCtxGetStreamPriorityRange(int *least, int *greatest)
{
	CUresult err = sim_enter("cuCtxGetStreamPriorityRange", SIM_NEED_CTX);

	if (err)
		return err;
	if (least)
		*least = 0;
	if (greatest)
		*greatest = 0;
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
	if (!known(ctx))
		return sim_error(CUDA_ERROR_INVALID_CONTEXT, "cuCtxSynchronize: unknown context %p",
				 (void *)ctx);
	if (__atomic_load_n(&ctx->refs, __ATOMIC_ACQUIRE) == 0)
		return CUDA_ERROR_CONTEXT_IS_DESTROYED;
	return synchronize();
}

/*
 * Access from the current context to peer_ctx's memory (one way, as
 * documented).  Every pair of devices here can, so PEER_ACCESS_UNSUPPORTED
 * never arises: the only unsupported pair is a device with itself, whose
 * one context is then the current one (INVALID_CONTEXT, as documented).
 */
CUresult cuCtxEnablePeerAccess(CUcontext peer_ctx, unsigned int flags)
{
	CUresult err = sim_enter("cuCtxEnablePeerAccess", SIM_NEED_CTX);
	unsigned bit;

	if (!err)
		err = sim_context_live(peer_ctx, "cuCtxEnablePeerAccess");
	if (err)
		return err;
	if (peer_ctx == top())
		return sim_error(CUDA_ERROR_INVALID_CONTEXT,
				 "cuCtxEnablePeerAccess: the current context is the peer");
	if (flags)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuCtxEnablePeerAccess: flags %#x",
				 flags);
	bit = 1u << device_of(peer_ctx);
	if (__atomic_fetch_or(&top()->peers, bit, __ATOMIC_ACQ_REL) & bit)
		return sim_error(CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED,
				 "cuCtxEnablePeerAccess: already enabled to device %d",
				 device_of(peer_ctx));
	return CUDA_SUCCESS;
}

CUresult cuCtxDisablePeerAccess(CUcontext peer_ctx)
{
	CUresult err = sim_enter("cuCtxDisablePeerAccess", SIM_NEED_CTX);
	unsigned bit;

	if (!err)
		err = sim_context_live(peer_ctx, "cuCtxDisablePeerAccess");
	if (err)
		return err;
	bit = 1u << device_of(peer_ctx);
	if (!(__atomic_fetch_and(&top()->peers, ~bit, __ATOMIC_ACQ_REL) & bit))
		return sim_error(CUDA_ERROR_PEER_ACCESS_NOT_ENABLED,
				 "cuCtxDisablePeerAccess: not enabled to device %d",
				 device_of(peer_ctx));
	return CUDA_SUCCESS;
}
