/*
 * copy.c - copies and memsets.  A heap allocation on either side is made
 * resident on the call's stream first (the synchronous forms run on the
 * legacy default stream, or the thread's for the _ptds forms) and the
 * call is recorded as its last use.
 */
#include "shim.h"

/* Both ends of a copy; a host pointer is simply not in the heap. */
#define ENDS(a, b) (shim_use_add(e_, &use_, (uint64_t)(a)), shim_use_add(e_, &use_, (uint64_t)(b)))
#define END(a) shim_use_add(e_, &use_, (uint64_t)(a))

/*
 * A call and its per-thread form, on stream and form_stream: a synchronous
 * call's are the legacy and the thread's default stream (_ptds), an
 * asynchronous one's the stream given (_ptsz: its null stream the thread's).
 */
#define PAIR(name, form, params, fill, args, stream, form_stream)                        \
	SHIM_EXPORT CUresult name params                                                \
	{                                                                               \
		SHIM_GET_REAL(real, name);                                              \
		SHIM_AROUND(#name, stream, fill, real args);                            \
	}                                                                               \
	SHIM_EXPORT CUresult form params                                                \
	{                                                                               \
		SHIM_GET_REAL_AS(real, form, name);                                     \
		SHIM_AROUND(#name, form_stream, fill, real args);                       \
	}
#define SYNC_PAIR(name, ptds, params, fill, args) \
	PAIR(name, ptds, params, fill, args, NULL, CU_STREAM_PER_THREAD)
#define ASYNC_PAIR(name, ptsz, params, fill, args) \
	PAIR(name, ptsz, params, fill, args, s, shim_stream(s, true))

SYNC_PAIR(cuMemcpy, cuMemcpy_ptds, (CUdeviceptr dst, CUdeviceptr src, size_t n),
	  ENDS(dst, src), (dst, src, n))
SYNC_PAIR(cuMemcpyHtoD_v2, cuMemcpyHtoD_v2_ptds, (CUdeviceptr dst, const void *src, size_t n),
	  END(dst), (dst, src, n))
SYNC_PAIR(cuMemcpyDtoH_v2, cuMemcpyDtoH_v2_ptds, (void *dst, CUdeviceptr src, size_t n),
	  END(src), (dst, src, n))
SYNC_PAIR(cuMemcpyDtoD_v2, cuMemcpyDtoD_v2_ptds, (CUdeviceptr dst, CUdeviceptr src, size_t n),
	  ENDS(dst, src), (dst, src, n))
SYNC_PAIR(cuMemsetD8_v2, cuMemsetD8_v2_ptds, (CUdeviceptr dst, unsigned char v, size_t n),
	  END(dst), (dst, v, n))
SYNC_PAIR(cuMemsetD16_v2, cuMemsetD16_v2_ptds, (CUdeviceptr dst, unsigned short v, size_t n),
	  END(dst), (dst, v, n))
SYNC_PAIR(cuMemsetD32_v2, cuMemsetD32_v2_ptds, (CUdeviceptr dst, unsigned int v, size_t n),
	  END(dst), (dst, v, n))

ASYNC_PAIR(cuMemcpyAsync, cuMemcpyAsync_ptsz,
	   (CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s), ENDS(dst, src),
	   (dst, src, n, s))
ASYNC_PAIR(cuMemcpyHtoDAsync_v2, cuMemcpyHtoDAsync_v2_ptsz,
	   (CUdeviceptr dst, const void *src, size_t n, CUstream s), END(dst), (dst, src, n, s))
ASYNC_PAIR(cuMemcpyDtoHAsync_v2, cuMemcpyDtoHAsync_v2_ptsz,
	   (void *dst, CUdeviceptr src, size_t n, CUstream s), END(src), (dst, src, n, s))
ASYNC_PAIR(cuMemcpyDtoDAsync_v2, cuMemcpyDtoDAsync_v2_ptsz,
	   (CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s), ENDS(dst, src),
	   (dst, src, n, s))
ASYNC_PAIR(cuMemsetD8Async, cuMemsetD8Async_ptsz,
	   (CUdeviceptr dst, unsigned char v, size_t n, CUstream s), END(dst), (dst, v, n, s))
ASYNC_PAIR(cuMemsetD16Async, cuMemsetD16Async_ptsz,
	   (CUdeviceptr dst, unsigned short v, size_t n, CUstream s), END(dst), (dst, v, n, s))
ASYNC_PAIR(cuMemsetD32Async, cuMemsetD32Async_ptsz,
	   (CUdeviceptr dst, unsigned int v, size_t n, CUstream s), END(dst), (dst, v, n, s))
