/*
 * copy.c - copies and memsets.  A heap allocation on either side is made
 * resident on the call's stream first (the synchronous forms run on the
 * legacy default stream, or the thread's for the _ptds forms) and the
 * call is recorded as its last use.
 */
#include "shim.h"

/*
 * Both ends of a copy; a host pointer is simply not in the heap.  The
 * driver checks them even when the call is only captured (checked_).
 */
#define ENDS(a, b) \
	(checked_ = true, shim_use_add(&use_, (uint64_t)(a)), shim_use_add(&use_, (uint64_t)(b)))
#define END(a) (checked_ = true, shim_use_add(&use_, (uint64_t)(a)))

/*
 * What a queued copy or memset put into the heap (backing.c): src is the
 * host bytes copied to dst, NULL for anything else (a memset, a copy from
 * device memory).  The call's result is passed through.
 */
static CUresult noted(CUresult res, CUdeviceptr dst, const void *src, size_t n)
{
	if (res == CUDA_SUCCESS)
		shim_backing_copy(dst, src, n);
	return res;
}

/* cuMemcpy with unified addressing: a source in no device's heap is host memory. */
static const void *host_src(CUdeviceptr src)
{
	return shim_engine_of(src) ? NULL : (const void *)src;
}

/*
 * A call and its per-thread form, on stream and form_stream: a synchronous
 * call's are the legacy and the thread's default stream (_ptds), an
 * asynchronous one's the stream given (_ptsz: its null stream the thread's).
 */
#define PAIR(name, form, params, fill, queue, stream, form_stream)                       \
	SHIM_EXPORT CUresult name params                                                \
	{                                                                               \
		SHIM_GET_REAL(real, name);                                              \
		SHIM_AROUND(#name, stream, fill, queue);                                \
	}                                                                               \
	SHIM_EXPORT CUresult form params                                                \
	{                                                                               \
		SHIM_GET_REAL_AS(real, form, name);                                     \
		SHIM_AROUND(#name, form_stream, fill, queue);                           \
	}
#define SYNC_PAIR(name, ptds, params, fill, queue) \
	PAIR(name, ptds, params, fill, queue, NULL, CU_STREAM_PER_THREAD)
#define ASYNC_PAIR(name, ptsz, params, fill, queue) \
	PAIR(name, ptsz, params, fill, queue, s, shim_stream(s, true))

SYNC_PAIR(cuMemcpy, cuMemcpy_ptds, (CUdeviceptr dst, CUdeviceptr src, size_t n),
	  ENDS(dst, src), noted(real(dst, src, n), dst, host_src(src), n))
SYNC_PAIR(cuMemcpyHtoD_v2, cuMemcpyHtoD_v2_ptds, (CUdeviceptr dst, const void *src, size_t n),
	  END(dst), noted(real(dst, src, n), dst, src, n))
SYNC_PAIR(cuMemcpyDtoH_v2, cuMemcpyDtoH_v2_ptds, (void *dst, CUdeviceptr src, size_t n),
	  END(src), real(dst, src, n))
SYNC_PAIR(cuMemcpyDtoD_v2, cuMemcpyDtoD_v2_ptds, (CUdeviceptr dst, CUdeviceptr src, size_t n),
	  ENDS(dst, src), noted(real(dst, src, n), dst, NULL, n))
SYNC_PAIR(cuMemsetD8_v2, cuMemsetD8_v2_ptds, (CUdeviceptr dst, unsigned char v, size_t n),
	  END(dst), noted(real(dst, v, n), dst, NULL, n * 1))
SYNC_PAIR(cuMemsetD16_v2, cuMemsetD16_v2_ptds, (CUdeviceptr dst, unsigned short v, size_t n),
	  END(dst), noted(real(dst, v, n), dst, NULL, n * 2))
SYNC_PAIR(cuMemsetD32_v2, cuMemsetD32_v2_ptds, (CUdeviceptr dst, unsigned int v, size_t n),
	  END(dst), noted(real(dst, v, n), dst, NULL, n * 4))

ASYNC_PAIR(cuMemcpyAsync, cuMemcpyAsync_ptsz,
	   (CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s), ENDS(dst, src),
	   noted(real(dst, src, n, s), dst, host_src(src), n))
ASYNC_PAIR(cuMemcpyHtoDAsync_v2, cuMemcpyHtoDAsync_v2_ptsz,
	   (CUdeviceptr dst, const void *src, size_t n, CUstream s), END(dst),
	   noted(real(dst, src, n, s), dst, src, n))
ASYNC_PAIR(cuMemcpyDtoHAsync_v2, cuMemcpyDtoHAsync_v2_ptsz,
	   (void *dst, CUdeviceptr src, size_t n, CUstream s), END(src), real(dst, src, n, s))
ASYNC_PAIR(cuMemcpyDtoDAsync_v2, cuMemcpyDtoDAsync_v2_ptsz,
	   (CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s), ENDS(dst, src),
	   noted(real(dst, src, n, s), dst, NULL, n))
/* Between contexts: each side's span made resident by its own device's engine. */
SYNC_PAIR(cuMemcpyPeer, cuMemcpyPeer_ptds,
	  (CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src, CUcontext src_ctx, size_t n),
	  ENDS(dst, src), noted(real(dst, dst_ctx, src, src_ctx, n), dst, NULL, n))
ASYNC_PAIR(cuMemcpyPeerAsync, cuMemcpyPeerAsync_ptsz,
	   (CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src, CUcontext src_ctx, size_t n,
	    CUstream s),
	   ENDS(dst, src), noted(real(dst, dst_ctx, src, src_ctx, n, s), dst, NULL, n))
ASYNC_PAIR(cuMemsetD8Async, cuMemsetD8Async_ptsz,
	   (CUdeviceptr dst, unsigned char v, size_t n, CUstream s), END(dst),
	   noted(real(dst, v, n, s), dst, NULL, n * 1))
ASYNC_PAIR(cuMemsetD16Async, cuMemsetD16Async_ptsz,
	   (CUdeviceptr dst, unsigned short v, size_t n, CUstream s), END(dst),
	   noted(real(dst, v, n, s), dst, NULL, n * 2))
ASYNC_PAIR(cuMemsetD32Async, cuMemsetD32Async_ptsz,
	   (CUdeviceptr dst, unsigned int v, size_t n, CUstream s), END(dst),
	   noted(real(dst, v, n, s), dst, NULL, n * 4))
