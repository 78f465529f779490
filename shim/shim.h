/*
 * shim.h - libgpupager-preload.so, the LD_PRELOAD shim (internal).
 *
 *   libc_syms.c   glibc's own dlsym/dlvsym (the shim defines both)
 *   real.c        the driver: its handle, the real entry points, contexts
 *   dlsym.c       dlsym/dlvsym: cu* lookups on the driver get the wrappers
 *   procaddr.c    cuGetProcAddress(_v2): the wrapper of the form returned
 *   engine.c      a pager and its heap per device, opened on first use; exit
 *   heap_alloc.c  the app's allocations carved out of the heap
 *   alloc.c       cuMemAlloc*, cuMemFree*, cuMemGetInfo, pointer queries
 *   resident.c    allocations made resident on a stream around a call
 *   launch.c      kernel launches: parameter words that point into the heap
 *   copy.c        copies and memsets
 *   backing.c     copies from .safetensors views: the heap's file-backed chunks
 *   graph.c       stream capture and graphs: allocations pinned while an exec exists
 *   peer.c        cuCtxEnablePeerAccess: the peer's pager grants the current device
 *
 * Every exported driver entry point is in SHIM_ENTRIES, the one list:
 * dlsym, cuGetProcAddress and the real-function table are made from it.
 */
#ifndef GP_SHIM_SHIM_H
#define GP_SHIM_SHIM_H

#include <cuda.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHIM_EXPORT __attribute__((visibility("default")))
/* Code that may run before a sanitizer runtime is initialised (its own dlsym calls). */
#define SHIM_NO_SAN __attribute__((no_sanitize("address", "undefined", "thread")))

#define SHIM_ENTRIES(X)                                                                   \
	X(cuGetProcAddress) X(cuGetProcAddress_v2)                                        \
	X(cuMemAlloc_v2) X(cuMemAllocPitch_v2)                                            \
	X(cuMemAllocAsync) X(cuMemAllocAsync_ptsz)                                        \
	X(cuMemAllocFromPoolAsync) X(cuMemAllocFromPoolAsync_ptsz)                        \
	X(cuMemFree_v2) X(cuMemFreeAsync) X(cuMemFreeAsync_ptsz)                          \
	X(cuMemGetInfo_v2) X(cuMemGetAddressRange_v2)                                     \
	X(cuPointerGetAttribute) X(cuPointerGetAttributes)                                \
	X(cuMemCreate) X(cuMemRelease)                                                    \
	X(cuLaunchKernel) X(cuLaunchKernel_ptsz)                                          \
	X(cuLaunchKernelEx) X(cuLaunchKernelEx_ptsz)                                      \
	X(cuLaunchCooperativeKernel) X(cuLaunchCooperativeKernel_ptsz)                    \
	X(cuMemcpy) X(cuMemcpy_ptds) X(cuMemcpyAsync) X(cuMemcpyAsync_ptsz)               \
	X(cuMemcpyHtoD_v2) X(cuMemcpyHtoD_v2_ptds)                                        \
	X(cuMemcpyDtoH_v2) X(cuMemcpyDtoH_v2_ptds)                                        \
	X(cuMemcpyDtoD_v2) X(cuMemcpyDtoD_v2_ptds)                                        \
	X(cuMemcpyHtoDAsync_v2) X(cuMemcpyHtoDAsync_v2_ptsz)                              \
	X(cuMemcpyDtoHAsync_v2) X(cuMemcpyDtoHAsync_v2_ptsz)                              \
	X(cuMemcpyDtoDAsync_v2) X(cuMemcpyDtoDAsync_v2_ptsz)                              \
	X(cuMemcpyPeer) X(cuMemcpyPeer_ptds) X(cuMemcpyPeerAsync) X(cuMemcpyPeerAsync_ptsz) \
	X(cuCtxEnablePeerAccess)                                                          \
	X(cuMemsetD8_v2) X(cuMemsetD8_v2_ptds)                                            \
	X(cuMemsetD16_v2) X(cuMemsetD16_v2_ptds)                                          \
	X(cuMemsetD32_v2) X(cuMemsetD32_v2_ptds)                                          \
	X(cuMemsetD8Async) X(cuMemsetD8Async_ptsz)                                        \
	X(cuMemsetD16Async) X(cuMemsetD16Async_ptsz)                                      \
	X(cuMemsetD32Async) X(cuMemsetD32Async_ptsz)                                      \
	X(cuStreamBeginCapture_v2) X(cuStreamBeginCapture_v2_ptsz)                        \
	X(cuStreamEndCapture) X(cuStreamEndCapture_ptsz)                                  \
	X(cuGraphAddKernelNode_v2) X(cuGraphInstantiateWithFlags)                         \
	X(cuGraphLaunch) X(cuGraphLaunch_ptsz)                                            \
	X(cuGraphExecDestroy) X(cuGraphDestroy)                                           \
	X(cuGraphAddMemcpyNode) X(cuGraphAddMemsetNode)                                   \
	X(cuGraphInstantiate) X(cuGraphInstantiate_v2)                                    \
	X(cuGraphInstantiateWithParams) X(cuGraphInstantiateWithParams_ptsz)

#define SHIM_ID(name) SHIM_ID_##name,
enum shim_entry_id { SHIM_ENTRIES(SHIM_ID) SHIM_N_ENTRIES };
#undef SHIM_ID

/* libc_syms.c */
typedef void *(*shim_dlsym_fn)(void *handle, const char *name);
typedef void *(*shim_dlvsym_fn)(void *handle, const char *name, const char *version);
/* Fill shim_real.dlsym and .dlvsym (atomically; idempotent); false when libc.so.6 lacks them. */
bool shim_libc_init(void);

/* real.c */
struct shim_real {
	shim_dlsym_fn dlsym;
	shim_dlvsym_fn dlvsym;
	void *driver;                           /* dlopen handle of the driver, or NULL */
	const char *driver_path;
	void *fn[SHIM_N_ENTRIES];               /* the driver's own entry points (NULL: absent) */
	void *wrapper[SHIM_N_ENTRIES];          /* the shim's */
	/* Called by the shim itself, never wrapped. */
	CUresult (*cuCtxGetCurrent)(CUcontext *);
	CUresult (*cuCtxSetCurrent)(CUcontext);
	CUresult (*cuCtxGetDevice)(CUdevice *);
	CUresult (*cuCtxPushCurrent)(CUcontext);
	CUresult (*cuCtxPopCurrent)(CUcontext *);
	CUresult (*cuDeviceGetDefaultMemPool)(CUmemoryPool *, CUdevice);
	CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
	CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
	CUresult (*cuEventCreate)(CUevent *, unsigned int);
	CUresult (*cuEventRecord)(CUevent, CUstream);
	CUresult (*cuEventQuery)(CUevent);
	CUresult (*cuEventSynchronize)(CUevent);
	CUresult (*cuEventDestroy)(CUevent);
	CUresult (*cuStreamSynchronize)(CUstream);
	CUresult (*cuFuncGetParamInfo)(CUfunction, size_t, size_t *, size_t *);
	CUresult (*cuKernelGetParamInfo)(CUkernel, size_t, size_t *, size_t *);
};
extern struct shim_real shim_real;

/* Load glibc's dl functions and the driver's entry points once; false: no driver. */
bool shim_real_init(void);
/* handle is the driver's (loading the shim's side of it if the app has loaded it). */
bool shim_real_is_driver(void *handle);
/*
 * The calling thread's current context (NULL: none), and putting it back
 * if another is current: an engine binds its device's primary context to
 * queue its copies and events, and the app must keep its own (another
 * device's, or one it created).
 */
CUcontext shim_ctx_get(void);
void shim_ctx_put_back(CUcontext ctx);
/*
 * real = the driver's entry point name, typed like the entry like (a
 * _ptsz/_ptds form is typed as its plain form), or return
 * CUDA_ERROR_NOT_INITIALIZED from the wrapper when there is no driver
 * (real.c logged why).
 */
#define SHIM_GET_REAL_AS(real, name, like)                                         \
	__typeof__(&like) real = shim_real_init() ?                                 \
		(__typeof__(&like))shim_real.fn[SHIM_ID_##name] : NULL;             \
	if (!real)                                                                  \
		return CUDA_ERROR_NOT_INITIALIZED
#define SHIM_GET_REAL(real, name) SHIM_GET_REAL_AS(real, name, name)
/* The entry whose name is name, or -1. */
int shim_entry_find(const char *name);
/* The shim's wrapper when fn is the driver's form of a wrapped entry point, else fn. */
void *shim_wrapper_of(void *fn);

/* engine.c */
struct gp_model;
struct gp_pager;
/* Devices the shim pages for (ordinals 0 .. SHIM_MAX_DEVICES-1; others pass through). */
#define SHIM_MAX_DEVICES 16
struct shim_engine {
	int device;                             /* its device's ordinal: one engine per device */
	struct gp_pager *pager;
	struct gp_model *heap;
	uint64_t heap_base, heap_size;
	uint64_t chunk_size;
	uint64_t budget;                        /* VRAM budget as configured (bytes) */
	int evict;                              /* enum gp_shim_evict */
};
/*
 * The engine of the current context's device (device 0 without one),
 * opened on the first call that needs it; NULL when it could not be
 * (logged once per device: the shim then passes that device's calls
 * through).
 */
struct shim_engine *shim_engine(void);
/* The current device's engine if it is open, without opening it. */
struct shim_engine *shim_engine_if_open(void);
/* The open engine whose heap holds ptr, whatever context is current; NULL if none. */
struct shim_engine *shim_engine_of(uint64_t ptr);
/* Passthrough or an error once the process has forked (see engine.c). */
bool shim_in_forked_child(void);
/* Device memory the app makes itself (cuMemCreate), counted against device's budget. */
void shim_outside_add(CUmemGenericAllocationHandle handle, uint64_t size, int device);
/*
 * Kernels on device peer may use device owner's memory (the program enabled
 * peer access): granted by owner's pager now if it is open, else when it opens.
 */
void shim_engine_grant_peer(int owner, int peer);
void shim_outside_remove(CUmemGenericAllocationHandle handle);
/* What the app made itself on e's device. */
uint64_t shim_engine_outside_total(const struct shim_engine *e);

/* heap_alloc.c (its own lock) */
struct shim_alloc {
	uint64_t addr, size;                    /* as returned to the app */
	uint64_t span_off, span_len;            /* whole chunks of the heap holding it */
};
/* A range of the heap for size bytes; 0 or CUDA_ERROR_OUT_OF_MEMORY. */
CUresult shim_heap_alloc(struct shim_engine *e, uint64_t size, uint64_t *addr);
/*
 * Forget the allocation at addr (its exact base); chunks no allocation uses
 * any more are discarded.  CUDA_ERROR_INVALID_VALUE for an unknown pointer.
 */
CUresult shim_heap_free(struct shim_engine *e, uint64_t addr);
/* The allocation holding ptr (anywhere inside it); false if none. */
bool shim_heap_lookup(struct shim_engine *e, uint64_t ptr, struct shim_alloc *out);
/* Bytes the app's live allocations hold (rounded to their alignment). */
uint64_t shim_heap_used(struct shim_engine *e);
/* Free the allocations whose stream-ordered free has been reached (cuMemFreeAsync). */
void shim_heap_reap(struct shim_engine *e);
/* Free addr once event has completed; CUDA_ERROR_INVALID_VALUE for an unknown pointer. */
CUresult shim_heap_free_after(struct shim_engine *e, uint64_t addr, CUevent event);

/* resident.c: chunk spans of the heap used by one call */
#define SHIM_MAX_SPANS 256
struct shim_use {
	uint32_t n;
	bool too_many;                          /* more than SHIM_MAX_SPANS: the call is refused */
	uint64_t off[SHIM_MAX_SPANS], len[SHIM_MAX_SPANS];
	struct shim_engine *engine[SHIM_MAX_SPANS]; /* whose heap: a copy may join two devices */
	CUcontext ctx;                          /* the caller's, set by shim_use_begin/_end */
};
/*
 * Add the allocation holding ptr, if any, to use; true if ptr is in any
 * device's heap (unified addressing: a copy or a kernel may touch another
 * device's memory).
 */
bool shim_use_add(struct shim_use *use, uint64_t ptr);
/*
 * Make use's spans resident for work about to be queued on stream, which
 * waits for their copies (the host does not).  CUDA_SUCCESS, or
 * CUDA_ERROR_OUT_OF_MEMORY (logged, naming call) when they cannot fit.
 */
CUresult shim_use_begin(struct shim_use *use, CUstream stream, const char *call);
/*
 * The work is queued on stream: record it as the spans' last use and let
 * them go.  Both leave the caller's current context as they found it (the
 * engines bind their own to queue copies and events).
 */
void shim_use_end(struct shim_use *use, CUstream stream);

/*
 * The body of a wrapper: fill (a statement adding to use_ with e_; it may
 * set fres_ to refuse the call, and checked_ when the driver checks that
 * memory even when the call is captured: copies, memsets) names the
 * allocations the call uses; they are made resident on stream, queue (the
 * driver's call, an expression) runs, and is recorded as their last use.
 * Without an engine, or using none of its memory, queue alone.
 */
#define SHIM_AROUND(call, stream, fill, queue)                                    \
	do {                                                                        \
		struct shim_engine *e_ = shim_engine_if_open();                     \
		struct shim_use use_; /* not zeroed: 4 KiB a call; n says what is set */ \
		CUresult res_, fres_ = CUDA_SUCCESS;                                \
		bool checked_ = false;                                              \
                                                                                    \
		use_.n = 0;                                                         \
		use_.too_many = false;                                              \
                                                                                    \
		if (shim_in_forked_child())                                         \
			return CUDA_ERROR_NOT_INITIALIZED;                          \
		if (!e_)                                                            \
			return queue;                                               \
		fill;                                                               \
		if (fres_ != CUDA_SUCCESS)                                          \
			return fres_;                                               \
		if (!use_.n && !use_.too_many)                                      \
			return queue;                                               \
		if (shim_graph_capture(&use_, (stream), checked_, call, &res_)) {   \
			if (res_ != CUDA_SUCCESS)                                   \
				return res_;                                        \
			res_ = queue;                                               \
			shim_graph_captured(&use_, checked_);                       \
			return res_;                                                \
		}                                                                   \
		res_ = shim_use_begin(&use_, (stream), call);                       \
		if (res_ != CUDA_SUCCESS)                                           \
			return res_;                                                \
		res_ = queue;                                                       \
		shim_use_end(&use_, (stream));                                      \
		return res_;                                                        \
	} while (0)

/* launch.c: add the allocations a launch's parameters point into to use. */
CUresult shim_launch_collect(struct shim_engine *e, const void *fn, void **params, void **extra,
			     struct shim_use *use);

/*
 * graph.c: when stream is capturing, record use's allocations on the graph
 * being captured (pinned once it is instantiated) and return true: the
 * work only runs when the graph is launched.  When the driver checks them
 * (checked), they are made resident for the call to be captured, with
 * nothing queued on any of the app's streams: *res says whether they
 * were, and shim_graph_captured lets them go once it is.
 */
bool shim_graph_capture(struct shim_use *use, CUstream stream, bool checked, const char *call,
			CUresult *res);
void shim_graph_captured(struct shim_use *use, bool checked);

/* The stream a call means: a _ptsz/_ptds form's null stream is the thread's. */
static inline CUstream shim_stream(CUstream s, bool per_thread)
{
	return !s && per_thread ? CU_STREAM_PER_THREAD : s;
}

/* backing.c (file-backed weights): the heap learns what a queued copy or memset wrote. */
/* n bytes at dst (if in the heap) came from host memory src, or from anything else when NULL. */
void shim_backing_copy(CUdeviceptr dst, const void *src, size_t n);

/* gp_log_* with the "shim: " prefix lives in engine.c's messages; errors as CUresult. */
CUresult shim_cu_error(int gp_err);

#endif
