/*
 * managed.c - managed (unified) memory.  Managed memory lives in the
 * device address space like cuMemAlloc memory and counts against the same
 * capacity; the host can touch it at any time.  Advice and prefetches are
 * validated and recorded per granule (readable with
 * cuMemRangeGetAttribute), and a prefetch costs copy time on its stream
 * for the granules that move.
 */
#include <stdlib.h>

#include "sim.h"

enum { LOC_INVALID = CU_DEVICE_INVALID, LOC_HOST = CU_DEVICE_CPU, LOC_DEVICE = 0 };

#define ACCESSED_BY_HOST 0x1
#define ACCESSED_BY_DEVICE 0x2

struct managed_granule {
	signed char read_mostly;
	signed char preferred;     /* LOC_* */
	signed char accessed_by;   /* ACCESSED_BY_* bits */
	signed char last_prefetch; /* LOC_*, LOC_INVALID before any prefetch */
};

struct sim_managed {
	size_t n;
	struct managed_granule granules[]; /* one per granule of the allocation */
};

struct prefetch_op {
	struct sim_op op;
	uintptr_t ptr;
	size_t count;
	int location;
};

void sim_managed_release(struct sim_managed *managed)
{
	free(managed);
}

CUresult cuMemAllocManaged(CUdeviceptr *dptr, size_t bytesize, unsigned int flags)
{
	CUresult err = sim_enter("cuMemAllocManaged", SIM_NEED_CTX);
	struct sim_managed *managed;
	struct sim_resv *resv;
	size_t n;

	if (err)
		return err;
	if (!dptr || (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuMemAllocManaged: bad flags %#x",
				 flags);
	err = sim_dev_alloc(bytesize, SIM_RESV_MANAGED, sim_current_device(), &resv);
	if (err)
		return err;
	n = resv->size / SIM_GRANULARITY;
	managed = malloc(sizeof(*managed) + n * sizeof(managed->granules[0]));
	if (!managed) {
		sim_dev_free(resv->base);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	managed->n = n;
	for (size_t i = 0; i < n; i++)
		managed->granules[i] = (struct managed_granule){ 0, LOC_INVALID, 0, LOC_INVALID };
	sim_vm_lock();
	resv->managed = managed;
	sim_vm_unlock();
	*dptr = (CUdeviceptr)resv->base;
	return CUDA_SUCCESS;
}

static CUresult location_of(const CUmemLocation *loc, int *out, const char *func)
{
	switch (loc->type) {
	case CU_MEM_LOCATION_TYPE_DEVICE:
		if (loc->id != 0)
			return sim_error(CUDA_ERROR_INVALID_DEVICE, "%s: device %d does not exist",
					 func, loc->id);
		*out = LOC_DEVICE;
		return CUDA_SUCCESS;
	case CU_MEM_LOCATION_TYPE_HOST_NUMA:
		if (loc->id < 0)
			return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: NUMA node %d", func,
					 loc->id);
		*out = LOC_HOST;
		return CUDA_SUCCESS;
	case CU_MEM_LOCATION_TYPE_HOST:
	case CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT:
		*out = LOC_HOST;
		return CUDA_SUCCESS;
	default:
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: bad location type %d", func,
				 (int)loc->type);
	}
}

/*
 * With sim_vm_lock held: the managed allocation holding all of
 * [ptr, ptr+count), and the index range of the granules it touches.
 */
static CUresult managed_range(uintptr_t ptr, size_t count, const char *func,
			      struct sim_managed **managed, size_t *first, size_t *end)
{
	struct sim_resv *resv = sim_resv_find(ptr);

	if (!resv || resv->kind != SIM_RESV_MANAGED || !resv->managed || count == 0 ||
	    count > resv->bytes - (ptr - resv->base))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "%s: [%#lx, +%zu) is not inside one managed allocation", func,
				 (unsigned long)ptr, count);
	*managed = resv->managed;
	*first = (ptr - resv->base) / SIM_GRANULARITY;
	*end = (ptr + count - 1 - resv->base) / SIM_GRANULARITY + 1;
	return CUDA_SUCCESS;
}

static void apply_advice(struct managed_granule *g, CUmem_advise advice, int location)
{
	int bit = location == LOC_DEVICE ? ACCESSED_BY_DEVICE : ACCESSED_BY_HOST;

	switch (advice) {
	case CU_MEM_ADVISE_SET_READ_MOSTLY:
		g->read_mostly = 1;
		break;
	case CU_MEM_ADVISE_UNSET_READ_MOSTLY:
		g->read_mostly = 0;
		break;
	case CU_MEM_ADVISE_SET_PREFERRED_LOCATION:
		g->preferred = (signed char)location;
		break;
	case CU_MEM_ADVISE_UNSET_PREFERRED_LOCATION:
		g->preferred = LOC_INVALID;
		break;
	case CU_MEM_ADVISE_SET_ACCESSED_BY:
		g->accessed_by |= (signed char)bit;
		break;
	case CU_MEM_ADVISE_UNSET_ACCESSED_BY:
		g->accessed_by &= (signed char)~bit;
		break;
	}
}

static bool advice_uses_location(CUmem_advise advice)
{
	return advice == CU_MEM_ADVISE_SET_PREFERRED_LOCATION ||
	       advice == CU_MEM_ADVISE_SET_ACCESSED_BY || advice == CU_MEM_ADVISE_UNSET_ACCESSED_BY;
}

CUresult cuMemAdvise_v2(CUdeviceptr devptr, size_t count, CUmem_advise advice,
			CUmemLocation location)
{
	CUresult err = sim_enter("cuMemAdvise", SIM_NEED_CTX);
	struct sim_managed *managed;
	int loc = LOC_INVALID;
	size_t first, end;

	if (err)
		return err;
	if (advice < CU_MEM_ADVISE_SET_READ_MOSTLY || advice > CU_MEM_ADVISE_UNSET_ACCESSED_BY)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuMemAdvise: unknown advice %d",
				 (int)advice);
	if (advice_uses_location(advice)) {
		err = location_of(&location, &loc, "cuMemAdvise");
		if (err)
			return err;
	}
	sim_vm_lock();
	err = managed_range((uintptr_t)devptr, count, "cuMemAdvise", &managed, &first, &end);
	for (size_t i = first; !err && i < end; i++)
		apply_advice(&managed->granules[i], advice, loc);
	sim_vm_unlock();
	return err;
}

static uint64_t run_prefetch(struct sim_op *op, uint64_t start_ns)
{
	struct prefetch_op *pf = (struct prefetch_op *)op;
	struct sim_managed *managed;
	size_t first, end, moved = 0;
	uint64_t end_ns = start_ns;

	sim_vm_lock();
	/* cuMemFree drains the streams first, so the allocation is still there. */
	if (!managed_range(pf->ptr, pf->count, "cuMemPrefetchAsync", &managed, &first, &end)) {
		for (size_t i = first; i < end; i++) {
			struct managed_granule *g = &managed->granules[i];
			int was = g->last_prefetch == LOC_INVALID ? LOC_HOST : g->last_prefetch;

			if (was != pf->location)
				moved += SIM_GRANULARITY;
			g->last_prefetch = (signed char)pf->location;
		}
	}
	sim_vm_unlock();
	if (moved) {
		end_ns = sim_link_book(pf->location == LOC_DEVICE ? SIM_COPY_H2D_PINNED :
								    SIM_COPY_D2H_PINNED,
				       moved, start_ns);
		sim_sleep_until(end_ns);
	}
	free(pf);
	return end_ns;
}

CUresult cuMemPrefetchAsync_v2(CUdeviceptr devptr, size_t count, CUmemLocation location,
			       unsigned int flags, CUstream hstream)
{
	CUresult err = sim_enter("cuMemPrefetchAsync", SIM_NEED_CTX);
	struct sim_managed *managed;
	struct prefetch_op *pf;
	size_t first, end;
	int loc;
	CUstream s;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	if (flags)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuMemPrefetchAsync: flags must be 0");
	err = location_of(&location, &loc, "cuMemPrefetchAsync");
	if (err)
		return err;
	sim_vm_lock();
	err = managed_range((uintptr_t)devptr, count, "cuMemPrefetchAsync", &managed, &first, &end);
	sim_vm_unlock();
	if (err)
		return err;
	pf = calloc(1, sizeof(*pf));
	if (!pf)
		return CUDA_ERROR_OUT_OF_MEMORY;
	pf->op.run = run_prefetch;
	pf->ptr = (uintptr_t)devptr;
	pf->count = count;
	pf->location = loc;
	err = sim_stream_submit(s, &pf->op, NULL);
	if (err)
		free(pf);
	return err;
}

/* The per-thread-default-stream form (sim.h). */
CUresult cuMemPrefetchAsync_v2_ptsz(CUdeviceptr devptr, size_t count, CUmemLocation location,
				    unsigned int flags, CUstream hstream)
{
	return cuMemPrefetchAsync_v2(devptr, count, location, flags, sim_per_thread(hstream));
}

/* The recorded value a single-valued range attribute reads. */
static int granule_value(const struct managed_granule *g, CUmem_range_attribute attribute)
{
	switch (attribute) {
	case CU_MEM_RANGE_ATTRIBUTE_READ_MOSTLY:
		return g->read_mostly;
	case CU_MEM_RANGE_ATTRIBUTE_PREFERRED_LOCATION:
		return g->preferred;
	default:
		return g->last_prefetch;
	}
}

/* The value if it is the same over the whole range, else CU_DEVICE_INVALID. */
static int uniform(const struct sim_managed *managed, size_t first, size_t end,
		   CUmem_range_attribute attribute)
{
	int value = granule_value(&managed->granules[first], attribute);

	for (size_t i = first + 1; i < end; i++)
		if (granule_value(&managed->granules[i], attribute) != value)
			return LOC_INVALID;
	return value;
}

static CUresult range_attribute(void *data, size_t size, CUmem_range_attribute attribute,
				const struct sim_managed *managed, size_t first, size_t end)
{
	int *out = data;
	int bits = ACCESSED_BY_HOST | ACCESSED_BY_DEVICE;
	size_t n = 0;

	if (size < sizeof(int) || size % sizeof(int))
		return CUDA_ERROR_INVALID_VALUE;
	switch (attribute) {
	case CU_MEM_RANGE_ATTRIBUTE_READ_MOSTLY:
		*out = uniform(managed, first, end, attribute) == 1;
		return CUDA_SUCCESS;
	case CU_MEM_RANGE_ATTRIBUTE_PREFERRED_LOCATION:
	case CU_MEM_RANGE_ATTRIBUTE_LAST_PREFETCH_LOCATION:
		*out = uniform(managed, first, end, attribute);
		return CUDA_SUCCESS;
	case CU_MEM_RANGE_ATTRIBUTE_ACCESSED_BY:
		/* The processors set for the whole range, then CU_DEVICE_INVALID. */
		for (size_t i = first; i < end; i++)
			bits &= managed->granules[i].accessed_by;
		for (size_t i = 0; i < size / sizeof(int); i++)
			out[i] = CU_DEVICE_INVALID;
		if ((bits & ACCESSED_BY_DEVICE) && n < size / sizeof(int))
			out[n++] = 0;
		if ((bits & ACCESSED_BY_HOST) && n < size / sizeof(int))
			out[n++] = CU_DEVICE_CPU;
		return CUDA_SUCCESS;
	default:
		return sim_error(CUDA_ERROR_NOT_SUPPORTED,
				 "cuMemRangeGetAttribute: attribute %d is not simulated",
				 (int)attribute);
	}
}

CUresult cuMemRangeGetAttribute(void *data, size_t datasize, CUmem_range_attribute attribute,
				CUdeviceptr devptr, size_t count)
{
	CUresult err = sim_enter("cuMemRangeGetAttribute", SIM_NEED_CTX);
	struct sim_managed *managed;
	size_t first, end;

	if (err)
		return err;
	if (!data)
		return CUDA_ERROR_INVALID_VALUE;
	sim_vm_lock();
	err = managed_range((uintptr_t)devptr, count, "cuMemRangeGetAttribute", &managed, &first,
			    &end);
	if (!err)
		err = range_attribute(data, datasize, attribute, managed, first, end);
	sim_vm_unlock();
	return err;
}
