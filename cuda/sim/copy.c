/*
 * copy.c - memory copies and sets, synchronous and asynchronous, linear
 * or 2D (rows a pitch apart; CUDA arrays are not simulated).
 *
 * cuMemcpyPeer* copy between contexts (context.c checks them) whether or
 * not peer access is enabled, as a driver does.
 *
 * Device ranges are checked when a copy is queued (not mapped: invalid
 * value; mapped without access: illegal address) and again when it runs,
 * since the range may have been unmapped in between; a failure then is an
 * illegal address that sticks to the context, as on a GPU.  A copy takes
 * the time the bandwidth model gives it (timing.c): the data moves at
 * once, then the stream sleeps until the modelled completion.  Copies to
 * or from pageable host memory return only once done, as in CUDA.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "graph.h"
#include "log.h"
#include "sim.h"

/* Rows of a 2D copy or memset; a 1D one is one row. */
struct copy_op {
	struct sim_op op;
	const char *func;
	void *dst;
	const void *src;      /* NULL for a memset */
	size_t width;         /* bytes per row */
	size_t rows;
	size_t dst_pitch;     /* bytes from one row to the next */
	size_t src_pitch;
	unsigned set_width;   /* memset element size: 1, 2 or 4 */
	uint32_t set_value;
	enum sim_copy_kind kind;
};

/* Whether each side is device memory, by kind. */
static bool dst_on_device(enum sim_copy_kind kind)
{
	return kind == SIM_COPY_H2D_PINNED || kind == SIM_COPY_H2D_PAGEABLE ||
	       kind == SIM_COPY_D2D;
}

static bool src_on_device(enum sim_copy_kind kind)
{
	return kind == SIM_COPY_D2H_PINNED || kind == SIM_COPY_D2H_PAGEABLE ||
	       kind == SIM_COPY_D2D;
}

static bool pageable(enum sim_copy_kind kind)
{
	return kind == SIM_COPY_H2D_PAGEABLE || kind == SIM_COPY_D2H_PAGEABLE ||
	       kind == SIM_COPY_H2H;
}

/* Bytes from a side's first byte to the end of its last row; callers checked overflow. */
static size_t span(size_t width, size_t rows, size_t pitch)
{
	return (rows - 1) * pitch + width;
}

/* Whether that span fits in a size_t. */
static bool span_fits(size_t width, size_t rows, size_t pitch)
{
	return rows == 1 || (pitch <= (SIZE_MAX - width) / (rows - 1));
}

static CUresult check_ranges(const struct copy_op *c)
{
	CUresult err = CUDA_SUCCESS;

	sim_vm_lock();
	if (dst_on_device(c->kind))
		err = sim_dev_check((uintptr_t)c->dst, span(c->width, c->rows, c->dst_pitch),
				    PROT_READ | PROT_WRITE, NULL);
	if (!err && c->src && src_on_device(c->kind))
		err = sim_dev_check((uintptr_t)c->src, span(c->width, c->rows, c->src_pitch),
				    PROT_READ, NULL);
	sim_vm_unlock();
	return err;
}

static void fill(const struct copy_op *c, unsigned char *row)
{
	size_t n = c->width / c->set_width;

	switch (c->set_width) {
	case 1:
		memset(row, (int)c->set_value, c->width);
		break;
	case 2:
		for (size_t i = 0; i < n; i++)
			((uint16_t *)row)[i] = (uint16_t)c->set_value;
		break;
	default:
		for (size_t i = 0; i < n; i++)
			((uint32_t *)row)[i] = c->set_value;
	}
}

static uint64_t run_copy(struct sim_op *op, uint64_t start_ns)
{
	struct copy_op *c = (struct copy_op *)op;
	uint64_t end_ns = start_ns, now;

	if (check_ranges(c)) {
		gp_log_error("simulated device: %s: illegal address: %zu bytes from %p to %p: "
			     "device memory lost its mapping or access before the queued "
			     "operation ran", c->func, c->width * c->rows, c->src, c->dst);
		sim_set_sticky_error(CUDA_ERROR_ILLEGAL_ADDRESS);
		goto out;
	}
	for (size_t r = 0; r < c->rows; r++) {
		unsigned char *dst = (unsigned char *)c->dst + r * c->dst_pitch;

		if (c->src)
			memcpy(dst, (const unsigned char *)c->src + r * c->src_pitch, c->width);
		else
			fill(c, dst);
	}
	end_ns = sim_link_book(c->kind, c->width * c->rows, start_ns);
	sim_sleep_until(end_ns);
	now = sim_now_ns();
	if (now > end_ns)
		end_ns = now;
out:
	free(c);
	return end_ns;
}

static enum sim_copy_kind classify(const struct copy_op *c)
{
	bool dst_dev = sim_vspace_contains((uintptr_t)c->dst);
	bool src_dev = sim_vspace_contains((uintptr_t)c->src);

	if (dst_dev && src_dev)
		return SIM_COPY_D2D;
	if (dst_dev)
		return sim_host_is_pinned(c->src, span(c->width, c->rows, c->src_pitch)) ?
			       SIM_COPY_H2D_PINNED :
			       SIM_COPY_H2D_PAGEABLE;
	if (src_dev)
		return sim_host_is_pinned(c->dst, span(c->width, c->rows, c->dst_pitch)) ?
			       SIM_COPY_D2H_PINNED :
			       SIM_COPY_D2H_PAGEABLE;
	return SIM_COPY_H2H;
}

/*
 * Queue c on hstream; wait for it when the call is synchronous for the
 * host.  Synchronous calls pass the default stream they run on: NULL (the
 * legacy stream), or CU_STREAM_PER_THREAD in their _ptds forms.
 */
static CUresult submit(struct copy_op *c, CUstream hstream, bool async)
{
	/* Decided now: once queued, c belongs to the stream's worker. */
	bool wait = !async || pageable(c->kind);
	CUresult err;
	CUstream s;
	uint64_t seq;

	err = check_ranges(c);
	/* A synchronous call cannot be captured (an async one from pageable memory can). */
	if (!err && !async)
		err = sim_capture_check_unsafe(c->func);
	if (!err)
		err = sim_stream_get(hstream, &s);
	if (!err)
		err = sim_stream_submit(s, &c->op, &seq);
	if (err) {
		free(c);
		return err;
	}
	if (!wait)
		return CUDA_SUCCESS;
	sim_stream_wait(s, seq);
	return sim_sticky_error();
}

static struct sim_op *clone_copy(const struct sim_op *op)
{
	struct copy_op *c = malloc(sizeof(*c));

	if (c)
		memcpy(c, op, sizeof(*c));
	return c ? &c->op : NULL;
}

static struct copy_op *copy_op_new(const char *func, void *dst, const void *src, size_t width,
				   size_t rows, size_t dst_pitch, size_t src_pitch)
{
	struct copy_op *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->op.run = run_copy;
	c->op.clone = clone_copy;
	c->op.node_type = src ? CU_GRAPH_NODE_TYPE_MEMCPY : CU_GRAPH_NODE_TYPE_MEMSET;
	c->func = func;
	c->dst = dst;
	c->src = src;
	c->width = width;
	c->rows = rows;
	c->dst_pitch = dst_pitch;
	c->src_pitch = src_pitch;
	return c;
}

enum side { ANY, DEVICE };

#define DEV(p) ((void *)(uintptr_t)(p))

/* A linear copy, once sim_enter has let the call in. */
static CUresult copy_entered(const char *func, void *dst, enum side dst_side, const void *src,
			     enum side src_side, size_t bytes, CUstream hstream, bool async)
{
	struct copy_op *c;

	if (bytes == 0)
		return CUDA_SUCCESS;
	if (!dst || !src)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: NULL pointer", func);
	if ((dst_side == DEVICE && !sim_vspace_contains((uintptr_t)dst)) ||
	    (src_side == DEVICE && !sim_vspace_contains((uintptr_t)src)))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: %p is not device memory", func,
				 dst_side == DEVICE && !sim_vspace_contains((uintptr_t)dst) ?
					 dst : src);
	c = copy_op_new(func, dst, src, bytes, 1, 0, 0);
	if (!c)
		return CUDA_ERROR_OUT_OF_MEMORY;
	c->kind = classify(c);
	return submit(c, hstream, async);
}

static CUresult copy(const char *func, void *dst, enum side dst_side, const void *src,
		     enum side src_side, size_t bytes, CUstream hstream, bool async)
{
	CUresult err = sim_enter(func, SIM_NEED_CTX);

	return err ? err : copy_entered(func, dst, dst_side, src, src_side, bytes, hstream, async);
}

/*
 * Between two contexts: both must be live; the pointers name their devices
 * (unified addressing), as in cuMemcpyDtoD.  Without peer access a driver
 * stages the copy through the host, with it the link carries it: either
 * way the bytes arrive, booked here as one device-to-device copy.
 */
static CUresult copy_peer(const char *func, CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src,
			  CUcontext src_ctx, size_t bytes, CUstream hstream, bool async)
{
	CUresult err = sim_enter(func, SIM_NEED_CTX);

	if (!err)
		err = sim_context_live(dst_ctx, func);
	if (!err)
		err = sim_context_live(src_ctx, func);
	if (err)
		return err;
	return copy_entered(func, DEV(dst), DEVICE, DEV(src), DEVICE, bytes, hstream, async);
}

/* A memset operation, checked; *out NULL when there is nothing to set. */
CUresult sim_memset_op_new(const char *func, CUdeviceptr dst, unsigned width, uint32_t value,
			   size_t n, size_t rows, size_t pitch, struct sim_op **out)
{
	struct copy_op *c;
	CUresult err;

	*out = NULL;
	if (n == 0 || rows == 0)
		return CUDA_SUCCESS;
	if (width != 1 && width != 2 && width != 4)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: element size %u", func, width);
	if (dst % width || n > SIZE_MAX / width)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: %#llx is not %u-byte aligned", func,
				 dst, width);
	if (rows > 1 && (pitch % width || pitch < n * width || !span_fits(n * width, rows, pitch)))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "%s: pitch %zu for %zu rows of %zu bytes", func, pitch, rows,
				 n * width);
	if (!sim_vspace_contains((uintptr_t)dst))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: %#llx is not device memory", func,
				 dst);
	c = copy_op_new(func, (void *)(uintptr_t)dst, NULL, n * width, rows, pitch, 0);
	if (!c)
		return CUDA_ERROR_OUT_OF_MEMORY;
	c->set_width = width;
	c->set_value = value;
	c->kind = SIM_COPY_D2D;
	err = check_ranges(c);
	if (err) {
		free(c);
		return err;
	}
	*out = &c->op;
	return CUDA_SUCCESS;
}

/* n elements of width bytes per row, rows rows pitch bytes apart (unused for one row). */
static CUresult set(const char *func, CUdeviceptr dst, unsigned width, uint32_t value, size_t n,
		    size_t rows, size_t pitch, CUstream hstream, bool async)
{
	CUresult err = sim_enter(func, SIM_NEED_CTX);
	struct sim_op *op;

	if (!err)
		err = sim_memset_op_new(func, dst, width, value, n, rows, pitch, &op);
	if (err || !op)
		return err;
	return submit((struct copy_op *)op, hstream, async);
}

/* One side of a 2D copy: the address of its first byte, from the descriptor's fields. */
static CUresult side_start(const char *func, CUmemorytype type, const void *host,
			   CUdeviceptr device, size_t x, size_t y, size_t pitch, size_t width,
			   size_t height, const void **start)
{
	uintptr_t base;

	switch (type) {
	case CU_MEMORYTYPE_HOST:
		base = (uintptr_t)host;
		break;
	case CU_MEMORYTYPE_DEVICE:
		base = (uintptr_t)device;
		if (!sim_vspace_contains(base))
			return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: %#lx is not device memory",
					 func, (unsigned long)base);
		break;
	case CU_MEMORYTYPE_UNIFIED:
		base = (uintptr_t)device;
		break;
	case CU_MEMORYTYPE_ARRAY:
		return sim_error(CUDA_ERROR_NOT_SUPPORTED, "%s: CUDA arrays are not simulated",
				 func);
	default:
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: bad memory type %d", func,
				 (int)type);
	}
	if (!base)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: NULL pointer", func);
	/* The pitch only matters between rows. */
	if (height > 1 && (pitch > SIM_MAX_PITCH || pitch < width || pitch - width < x))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "%s: pitch %zu for rows of %zu bytes from x = %zu", func, pitch,
				 width, x);
	if (x > UINTPTR_MAX - base || (y && pitch > (UINTPTR_MAX - base - x) / y) ||
	    !span_fits(width, height, pitch))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: copy wraps the address space",
				 func);
	/* An offset must not lead from device memory to what would be taken for host memory. */
	if (sim_vspace_contains(base) && !sim_vspace_contains(base + y * pitch + x))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "%s: (%zu, %zu) is outside device memory", func, x, y);
	*start = (const void *)(base + y * pitch + x);
	return CUDA_SUCCESS;
}

/* A 2D copy operation, checked; *out NULL when there is nothing to copy. */
CUresult sim_copy_2d_op_new(const char *func, const CUDA_MEMCPY2D *p, struct sim_op **out)
{
	const void *src, *dst;
	struct copy_op *c;
	CUresult err;

	*out = NULL;
	if (!p)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: no descriptor", func);
	if (p->WidthInBytes == 0 || p->Height == 0)
		return CUDA_SUCCESS;
	err = side_start(func, p->srcMemoryType, p->srcHost, p->srcDevice, p->srcXInBytes,
			 p->srcY, p->srcPitch, p->WidthInBytes, p->Height, &src);
	if (!err)
		err = side_start(func, p->dstMemoryType, p->dstHost, p->dstDevice, p->dstXInBytes,
				 p->dstY, p->dstPitch, p->WidthInBytes, p->Height, &dst);
	if (err)
		return err;
	c = copy_op_new(func, (void *)dst, src, p->WidthInBytes, p->Height, p->dstPitch,
			p->srcPitch);
	if (!c)
		return CUDA_ERROR_OUT_OF_MEMORY;
	c->kind = classify(c);
	err = check_ranges(c);
	if (err) {
		free(c);
		return err;
	}
	*out = &c->op;
	return CUDA_SUCCESS;
}

static CUresult copy_2d(const char *func, const CUDA_MEMCPY2D *p, CUstream hstream, bool async)
{
	CUresult err = sim_enter(func, SIM_NEED_CTX);
	struct sim_op *op;

	if (!err)
		err = sim_copy_2d_op_new(func, p, &op);
	if (err || !op)
		return err;
	return submit((struct copy_op *)op, hstream, async);
}

#define PT CU_STREAM_PER_THREAD

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t bytes)
{
	return copy("cuMemcpyHtoD", DEV(dst), DEVICE, src, ANY, bytes, NULL, false);
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t bytes, CUstream hstream)
{
	return copy("cuMemcpyHtoDAsync", DEV(dst), DEVICE, src, ANY, bytes, hstream, true);
}

CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t bytes)
{
	return copy("cuMemcpyDtoH", dst, ANY, DEV(src), DEVICE, bytes, NULL, false);
}

CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t bytes, CUstream hstream)
{
	return copy("cuMemcpyDtoHAsync", dst, ANY, DEV(src), DEVICE, bytes, hstream, true);
}

CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes)
{
	return copy("cuMemcpyDtoD", DEV(dst), DEVICE, DEV(src), DEVICE, bytes, NULL, false);
}

CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream hstream)
{
	return copy("cuMemcpyDtoDAsync", DEV(dst), DEVICE, DEV(src), DEVICE, bytes, hstream, true);
}

/* Unified addressing: either side may be host or device memory. */
CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t bytes)
{
	return copy("cuMemcpy", DEV(dst), ANY, DEV(src), ANY, bytes, NULL, false);
}

CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream hstream)
{
	return copy("cuMemcpyAsync", DEV(dst), ANY, DEV(src), ANY, bytes, hstream, true);
}

CUresult cuMemcpyPeer(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src, CUcontext src_ctx,
		      size_t bytes)
{
	return copy_peer("cuMemcpyPeer", dst, dst_ctx, src, src_ctx, bytes, NULL, false);
}

CUresult cuMemcpyPeerAsync(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src,
			   CUcontext src_ctx, size_t bytes, CUstream hstream)
{
	return copy_peer("cuMemcpyPeerAsync", dst, dst_ctx, src, src_ctx, bytes, hstream, true);
}

CUresult cuMemcpy2D_v2(const CUDA_MEMCPY2D *p)
{
	return copy_2d("cuMemcpy2D", p, NULL, false);
}

CUresult cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *p, CUstream hstream)
{
	return copy_2d("cuMemcpy2DAsync", p, hstream, true);
}

CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t n)
{
	return set("cuMemsetD8", dst, 1, value, n, 1, 0, NULL, false);
}

CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t n, CUstream hstream)
{
	return set("cuMemsetD8Async", dst, 1, value, n, 1, 0, hstream, true);
}

CUresult cuMemsetD16_v2(CUdeviceptr dst, unsigned short value, size_t n)
{
	return set("cuMemsetD16", dst, 2, value, n, 1, 0, NULL, false);
}

CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t n, CUstream hstream)
{
	return set("cuMemsetD16Async", dst, 2, value, n, 1, 0, hstream, true);
}

CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int value, size_t n)
{
	return set("cuMemsetD32", dst, 4, value, n, 1, 0, NULL, false);
}

CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t n, CUstream hstream)
{
	return set("cuMemsetD32Async", dst, 4, value, n, 1, 0, hstream, true);
}

CUresult cuMemsetD2D8_v2(CUdeviceptr dst, size_t pitch, unsigned char value, size_t width,
			 size_t height)
{
	return set("cuMemsetD2D8", dst, 1, value, width, height, pitch, NULL, false);
}

CUresult cuMemsetD2D8Async(CUdeviceptr dst, size_t pitch, unsigned char value, size_t width,
			   size_t height, CUstream hstream)
{
	return set("cuMemsetD2D8Async", dst, 1, value, width, height, pitch, hstream, true);
}

/*
 * The per-thread-default-stream forms (sim.h): the synchronous _ptds ones
 * run on the calling thread's default stream, and in the _ptsz ones the
 * null stream is that stream.
 */

CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr dst, const void *src, size_t bytes)
{
	return copy("cuMemcpyHtoD", DEV(dst), DEVICE, src, ANY, bytes, PT, false);
}

CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dst, const void *src, size_t bytes,
				   CUstream hstream)
{
	return copy("cuMemcpyHtoDAsync", DEV(dst), DEVICE, src, ANY, bytes,
		    sim_per_thread(hstream), true);
}

CUresult cuMemcpyDtoH_v2_ptds(void *dst, CUdeviceptr src, size_t bytes)
{
	return copy("cuMemcpyDtoH", dst, ANY, DEV(src), DEVICE, bytes, PT, false);
}

CUresult cuMemcpyDtoHAsync_v2_ptsz(void *dst, CUdeviceptr src, size_t bytes, CUstream hstream)
{
	return copy("cuMemcpyDtoHAsync", dst, ANY, DEV(src), DEVICE, bytes,
		    sim_per_thread(hstream), true);
}

CUresult cuMemcpyDtoD_v2_ptds(CUdeviceptr dst, CUdeviceptr src, size_t bytes)
{
	return copy("cuMemcpyDtoD", DEV(dst), DEVICE, DEV(src), DEVICE, bytes, PT, false);
}

CUresult cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
				   CUstream hstream)
{
	return copy("cuMemcpyDtoDAsync", DEV(dst), DEVICE, DEV(src), DEVICE, bytes,
		    sim_per_thread(hstream), true);
}

CUresult cuMemcpy_ptds(CUdeviceptr dst, CUdeviceptr src, size_t bytes)
{
	return copy("cuMemcpy", DEV(dst), ANY, DEV(src), ANY, bytes, PT, false);
}

CUresult cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream hstream)
{
	return copy("cuMemcpyAsync", DEV(dst), ANY, DEV(src), ANY, bytes, sim_per_thread(hstream),
		    true);
}

CUresult cuMemcpyPeer_ptds(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src, CUcontext src_ctx,
			   size_t bytes)
{
	return copy_peer("cuMemcpyPeer", dst, dst_ctx, src, src_ctx, bytes, PT, false);
}

CUresult cuMemcpyPeerAsync_ptsz(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src,
				CUcontext src_ctx, size_t bytes, CUstream hstream)
{
	return copy_peer("cuMemcpyPeerAsync", dst, dst_ctx, src, src_ctx, bytes,
			 sim_per_thread(hstream), true);
}

CUresult cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D *p)
{
	return copy_2d("cuMemcpy2D", p, PT, false);
}

CUresult cuMemcpy2DAsync_v2_ptsz(const CUDA_MEMCPY2D *p, CUstream hstream)
{
	return copy_2d("cuMemcpy2DAsync", p, sim_per_thread(hstream), true);
}

CUresult cuMemsetD8_v2_ptds(CUdeviceptr dst, unsigned char value, size_t n)
{
	return set("cuMemsetD8", dst, 1, value, n, 1, 0, PT, false);
}

CUresult cuMemsetD8Async_ptsz(CUdeviceptr dst, unsigned char value, size_t n, CUstream hstream)
{
	return set("cuMemsetD8Async", dst, 1, value, n, 1, 0, sim_per_thread(hstream), true);
}

CUresult cuMemsetD16_v2_ptds(CUdeviceptr dst, unsigned short value, size_t n)
{
	return set("cuMemsetD16", dst, 2, value, n, 1, 0, PT, false);
}

CUresult cuMemsetD16Async_ptsz(CUdeviceptr dst, unsigned short value, size_t n,
			       CUstream hstream)
{
	return set("cuMemsetD16Async", dst, 2, value, n, 1, 0, sim_per_thread(hstream), true);
}

CUresult cuMemsetD32_v2_ptds(CUdeviceptr dst, unsigned int value, size_t n)
{
	return set("cuMemsetD32", dst, 4, value, n, 1, 0, PT, false);
}

CUresult cuMemsetD32Async_ptsz(CUdeviceptr dst, unsigned int value, size_t n, CUstream hstream)
{
	return set("cuMemsetD32Async", dst, 4, value, n, 1, 0, sim_per_thread(hstream), true);
}

CUresult cuMemsetD2D8_v2_ptds(CUdeviceptr dst, size_t pitch, unsigned char value, size_t width,
			      size_t height)
{
	return set("cuMemsetD2D8", dst, 1, value, width, height, pitch, PT, false);
}

CUresult cuMemsetD2D8Async_ptsz(CUdeviceptr dst, size_t pitch, unsigned char value,
				size_t width, size_t height, CUstream hstream)
{
	return set("cuMemsetD2D8Async", dst, 1, value, width, height, pitch,
		   sim_per_thread(hstream), true);
}
