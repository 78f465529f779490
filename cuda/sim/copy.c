/*
 * copy.c - memory copies and sets, synchronous and asynchronous.
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

#include "log.h"
#include "sim.h"

struct copy_op {
	struct sim_op op;
	const char *func;
	void *dst;
	const void *src;      /* NULL for a memset */
	size_t bytes;
	unsigned set_width;   /* memset element size: 1 or 4 */
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

static CUresult check_ranges(const struct copy_op *c)
{
	CUresult err = CUDA_SUCCESS;

	sim_vm_lock();
	if (dst_on_device(c->kind))
		err = sim_dev_check((uintptr_t)c->dst, c->bytes, PROT_READ | PROT_WRITE, NULL);
	if (!err && c->src && src_on_device(c->kind))
		err = sim_dev_check((uintptr_t)c->src, c->bytes, PROT_READ, NULL);
	sim_vm_unlock();
	return err;
}

static void fill(const struct copy_op *c)
{
	if (c->set_width == 1) {
		memset(c->dst, (int)c->set_value, c->bytes);
		return;
	}
	for (size_t i = 0; i < c->bytes / 4; i++)
		((uint32_t *)c->dst)[i] = c->set_value;
}

static uint64_t run_copy(struct sim_op *op, uint64_t start_ns)
{
	struct copy_op *c = (struct copy_op *)op;
	uint64_t end_ns = start_ns, now;

	if (check_ranges(c)) {
		gp_log_error("simulated device: %s: illegal address: %zu bytes from %p to %p: "
			     "device memory lost its mapping or access before the queued "
			     "operation ran", c->func, c->bytes, c->src, c->dst);
		sim_set_sticky_error(CUDA_ERROR_ILLEGAL_ADDRESS);
		goto out;
	}
	if (c->src)
		memcpy(c->dst, c->src, c->bytes);
	else
		fill(c);
	end_ns = sim_link_book(c->kind, c->bytes, start_ns);
	sim_sleep_until(end_ns);
	now = sim_now_ns();
	if (now > end_ns)
		end_ns = now;
out:
	free(c);
	return end_ns;
}

static enum sim_copy_kind classify(const void *dst, const void *src, size_t bytes)
{
	bool dst_dev = sim_vspace_contains((uintptr_t)dst);
	bool src_dev = sim_vspace_contains((uintptr_t)src);

	if (dst_dev && src_dev)
		return SIM_COPY_D2D;
	if (dst_dev)
		return sim_host_is_pinned(src, bytes) ? SIM_COPY_H2D_PINNED : SIM_COPY_H2D_PAGEABLE;
	if (src_dev)
		return sim_host_is_pinned(dst, bytes) ? SIM_COPY_D2H_PINNED : SIM_COPY_D2H_PAGEABLE;
	return SIM_COPY_H2H;
}

/* Queue c on hstream; wait for it when the call is synchronous for the host. */
static CUresult submit(struct copy_op *c, CUstream hstream, bool async)
{
	/* Decided now: once queued, c belongs to the stream's worker. */
	bool wait = !async || pageable(c->kind);
	CUresult err;
	CUstream s;
	uint64_t seq;

	err = check_ranges(c);
	if (!err)
		err = sim_stream_get(async ? hstream : NULL, &s);
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

enum side { ANY, DEVICE };

static CUresult copy(const char *func, void *dst, enum side dst_side, const void *src,
		     enum side src_side, size_t bytes, CUstream hstream, bool async)
{
	CUresult err = sim_enter(func, SIM_NEED_CTX);
	struct copy_op *c;

	if (err || bytes == 0)
		return err;
	if (!dst || !src)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: NULL pointer", func);
	if ((dst_side == DEVICE && !sim_vspace_contains((uintptr_t)dst)) ||
	    (src_side == DEVICE && !sim_vspace_contains((uintptr_t)src)))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: %p is not device memory", func,
				 dst_side == DEVICE && !sim_vspace_contains((uintptr_t)dst) ?
					 dst : src);
	c = calloc(1, sizeof(*c));
	if (!c)
		return CUDA_ERROR_OUT_OF_MEMORY;
	c->op.run = run_copy;
	c->func = func;
	c->dst = dst;
	c->src = src;
	c->bytes = bytes;
	c->kind = classify(dst, src, bytes);
	return submit(c, hstream, async);
}

static CUresult set(const char *func, CUdeviceptr dst, unsigned width, uint32_t value, size_t n,
		    CUstream hstream, bool async)
{
	CUresult err = sim_enter(func, SIM_NEED_CTX);
	struct copy_op *c;

	if (err || n == 0)
		return err;
	if (dst % width || n > SIZE_MAX / width)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: %#llx is not %u-byte aligned", func,
				 dst, width);
	if (!sim_vspace_contains((uintptr_t)dst))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: %#llx is not device memory", func,
				 dst);
	c = calloc(1, sizeof(*c));
	if (!c)
		return CUDA_ERROR_OUT_OF_MEMORY;
	c->op.run = run_copy;
	c->func = func;
	c->dst = (void *)(uintptr_t)dst;
	c->bytes = n * width;
	c->set_width = width;
	c->set_value = value;
	c->kind = SIM_COPY_D2D;
	return submit(c, hstream, async);
}

#define DEV(p) ((void *)(uintptr_t)(p))

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

CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t n)
{
	return set("cuMemsetD8", dst, 1, value, n, NULL, false);
}

CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t n, CUstream hstream)
{
	return set("cuMemsetD8Async", dst, 1, value, n, hstream, true);
}

CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int value, size_t n)
{
	return set("cuMemsetD32", dst, 4, value, n, NULL, false);
}

CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t n, CUstream hstream)
{
	return set("cuMemsetD32Async", dst, 4, value, n, hstream, true);
}
