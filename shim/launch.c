/*
 * launch.c - kernel launches.  Each parameter's offset and size come from
 * cuFuncGetParamInfo (cuKernelGetParamInfo for a CUkernel), asked once per
 * function and cached; the packed `extra` form gives its buffer directly.
 * Every 8-byte aligned word of the parameter block that points anywhere
 * inside an allocation of the heap makes that whole allocation resident on
 * the launch's stream first: a kernel may index anywhere in it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "heap.h"
#include "launch_extra.h"
#include "log.h"
#include "shim.h"

struct param_layout {
	const void *fn;                 /* CUfunction or CUkernel; NULL: empty slot */
	uint32_t n;
	bool known;                     /* false: the driver cannot say (kernelParams not scanned) */
	uint32_t *offset, *size;
};

static pthread_mutex_t layout_lock = PTHREAD_MUTEX_INITIALIZER;
static struct param_layout *layouts;    /* open addressing, a power of two */
static size_t n_layouts, cap_layouts;

typedef CUresult (*param_info_fn)(void *fn, size_t i, size_t *offset, size_t *size);

/*
 * Ask the driver for every parameter, until it says there is no such one.
 * CUDA_ERROR_NOT_SUPPORTED: it has no way to say (a driver older than
 * CUDA 12.4); another error is the driver's, for this launch to return.
 */
static CUresult query_layout(const void *fn, struct param_layout *l)
{
	param_info_fn info = (param_info_fn)shim_real.cuFuncGetParamInfo;
	size_t off, size, cap = 0;
	CUresult res;

	if (info && info((void *)fn, 0, &off, &size) == CUDA_ERROR_INVALID_HANDLE)
		info = (param_info_fn)shim_real.cuKernelGetParamInfo;
	if (!info)
		return CUDA_ERROR_NOT_SUPPORTED;
	for (size_t i = 0;; i++) {
		res = info((void *)fn, i, &off, &size);
		if (res == CUDA_ERROR_INVALID_VALUE)
			return CUDA_SUCCESS;
		if (res != CUDA_SUCCESS)
			return res;
		if (l->n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			uint32_t *o = realloc(l->offset, ncap * sizeof(*o));
			uint32_t *s = o ? realloc(l->size, ncap * sizeof(*s)) : NULL;

			if (o)
				l->offset = o;
			if (!s)
				return CUDA_ERROR_OUT_OF_MEMORY;
			l->size = s;
			cap = ncap;
		}
		l->offset[l->n] = (uint32_t)off;
		l->size[l->n] = (uint32_t)size;
		l->n++;
	}
}

static size_t slot_of(const void *fn, size_t cap)
{
	uintptr_t h = (uintptr_t)fn;

	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 20) & (cap - 1);
}

static bool grow_layouts(void)
{
	size_t cap = cap_layouts ? cap_layouts * 2 : 64;
	struct param_layout *t = calloc(cap, sizeof(*t));

	if (!t)
		return false;
	for (size_t i = 0; i < cap_layouts; i++) {
		size_t j;

		if (!layouts[i].fn)
			continue;
		for (j = slot_of(layouts[i].fn, cap); t[j].fn; j = (j + 1) & (cap - 1))
			;
		t[j] = layouts[i];
	}
	free(layouts);
	layouts = t;
	cap_layouts = cap;
	return true;
}

/*
 * The layout of fn, queried on first sight and cached, copied to *out.
 * CUDA_ERROR_NOT_SUPPORTED (cached) when the driver cannot give one;
 * another error (not cached) when its query failed.
 */
static CUresult layout_of(const void *fn, struct param_layout *out)
{
	struct param_layout l = { .fn = fn };
	CUresult res;
	size_t j;

	pthread_mutex_lock(&layout_lock);
	for (j = cap_layouts ? slot_of(fn, cap_layouts) : 0; cap_layouts && layouts[j].fn;
	     j = (j + 1) & (cap_layouts - 1)) {
		if (layouts[j].fn == fn) {
			*out = layouts[j];
			pthread_mutex_unlock(&layout_lock);
			return out->known ? CUDA_SUCCESS : CUDA_ERROR_NOT_SUPPORTED;
		}
	}
	res = query_layout(fn, &l);
	if (res != CUDA_SUCCESS && res != CUDA_ERROR_NOT_SUPPORTED) {
		pthread_mutex_unlock(&layout_lock);
		free(l.offset);
		free(l.size);
		return res;
	}
	l.known = res == CUDA_SUCCESS;
	if ((n_layouts + 1) * 2 > cap_layouts && !grow_layouts()) {
		pthread_mutex_unlock(&layout_lock);
		free(l.offset);
		free(l.size);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	for (j = slot_of(fn, cap_layouts); layouts[j].fn; j = (j + 1) & (cap_layouts - 1))
		;
	layouts[j] = l;
	n_layouts++;
	*out = l;
	pthread_mutex_unlock(&layout_lock);
	return res;
}

/* Words at 8-byte aligned offsets of the parameter block (base is the block offset of bytes). */
static void scan_bytes(struct shim_use *use, const uint8_t *bytes, size_t base, size_t len)
{
	for (size_t off = (base + 7) / 8 * 8; off + 8 <= base + len; off += 8) {
		uint64_t word;

		memcpy(&word, bytes + (off - base), sizeof(word));
		shim_use_add(use, word);
	}
}

/* The packed form (launch_extra.h); a malformed one is the driver's to refuse. */
static void scan_extra(struct shim_use *use, void **extra)
{
	const void *buffer, *unknown;
	const size_t *size;

	if (gp_launch_extra_parse(extra, &buffer, &size, &unknown) && buffer && size)
		scan_bytes(use, buffer, 0, *size);
}

/*
 * Weights copied in since the last launch: the heap regroups its chunks by
 * tensor name before this launch's accesses teach the policy their order.
 * A failure keeps the old groups (slower learning, never wrong bytes).
 */
static void regroup(struct shim_engine *e, const struct shim_use *use)
{
	static bool told;

	if (!use->n || !gp_heap_regroup(e->heap))
		return;
	if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		gp_log_warn("shim: %s", gp_last_error());
	gp_clear_error();
}

/*
 * The allocations a launch uses.  Without a parameter layout its words
 * cannot be read: refused while anything may be evicted (logged once).
 */
CUresult shim_launch_collect(struct shim_engine *e, const void *fn, void **params, void **extra,
			     struct shim_use *use)
{
	static bool told;
	struct param_layout l;
	CUresult res;

	if (extra) {
		scan_extra(use, extra);
		regroup(e, use);
		return CUDA_SUCCESS;
	}
	if (!params)
		return CUDA_SUCCESS;
	res = layout_of(fn, &l);
	if (res == CUDA_ERROR_NOT_SUPPORTED && e->evict == GP_SHIM_EVICT_NONE)
		return CUDA_SUCCESS;
	if (res == CUDA_ERROR_NOT_SUPPORTED && !__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		gp_log_error("shim: the driver gives no kernel parameter layout "
			     "(cuFuncGetParamInfo needs CUDA 12.4), so the memory a launch uses "
			     "is unknown: launches with kernelParams fail with "
			     "CUDA_ERROR_NOT_SUPPORTED; run with GPUPAGER_SHIM_EVICT=none");
	if (res != CUDA_SUCCESS)
		return res;
	for (uint32_t i = 0; i < l.n; i++)
		if (params[i])
			scan_bytes(use, params[i], l.offset[i], l.size[i]);
	regroup(e, use);
	return CUDA_SUCCESS;
}

#define SHIM_LAUNCH(call, fn, stream, params, extra, queue) \
	SHIM_AROUND(call, stream,                                                    \
		    fres_ = shim_launch_collect(e_, (fn), (params), (extra), &use_), queue)

SHIM_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy,
				    unsigned int gz, unsigned int bx, unsigned int by,
				    unsigned int bz, unsigned int shared, CUstream s,
				    void **params, void **extra)
{
	SHIM_GET_REAL(real, cuLaunchKernel);
	SHIM_LAUNCH("cuLaunchKernel", f, s, params, extra,
		    real(f, gx, gy, gz, bx, by, bz, shared, s, params, extra));
}

SHIM_EXPORT CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy,
					 unsigned int gz, unsigned int bx, unsigned int by,
					 unsigned int bz, unsigned int shared, CUstream s,
					 void **params, void **extra)
{
	SHIM_GET_REAL_AS(real, cuLaunchKernel_ptsz, cuLaunchKernel);
	SHIM_LAUNCH("cuLaunchKernel", f, shim_stream(s, true), params, extra,
		    real(f, gx, gy, gz, bx, by, bz, shared, s, params, extra));
}

SHIM_EXPORT CUresult cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f, void **params,
				      void **extra)
{
	SHIM_GET_REAL(real, cuLaunchKernelEx);
	if (!config)
		return real(config, f, params, extra);
	SHIM_LAUNCH("cuLaunchKernelEx", f, config->hStream, params, extra,
		    real(config, f, params, extra));
}

SHIM_EXPORT CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig *config, CUfunction f,
					   void **params, void **extra)
{
	SHIM_GET_REAL_AS(real, cuLaunchKernelEx_ptsz, cuLaunchKernelEx);
	if (!config)
		return real(config, f, params, extra);
	SHIM_LAUNCH("cuLaunchKernelEx", f, shim_stream(config->hStream, true), params, extra,
		    real(config, f, params, extra));
}

SHIM_EXPORT CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned int gx, unsigned int gy,
					       unsigned int gz, unsigned int bx, unsigned int by,
					       unsigned int bz, unsigned int shared, CUstream s,
					       void **params)
{
	SHIM_GET_REAL(real, cuLaunchCooperativeKernel);
	SHIM_LAUNCH("cuLaunchCooperativeKernel", f, s, params, NULL,
		    real(f, gx, gy, gz, bx, by, bz, shared, s, params));
}

SHIM_EXPORT CUresult cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned int gx,
						    unsigned int gy, unsigned int gz,
						    unsigned int bx, unsigned int by,
						    unsigned int bz, unsigned int shared, CUstream s,
						    void **params)
{
	SHIM_GET_REAL_AS(real, cuLaunchCooperativeKernel_ptsz, cuLaunchCooperativeKernel);
	SHIM_LAUNCH("cuLaunchCooperativeKernel", f, shim_stream(s, true), params, NULL,
		    real(f, gx, gy, gz, bx, by, bz, shared, s, params));
}
