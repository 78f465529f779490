/*
 * hostmem.c - page-locked ("pinned") host memory: cuMemAllocHost,
 * cuMemHostAlloc and cuMemHostRegister.  The simulator keeps the ranges
 * so that copies can be classified as pinned (full bandwidth, truly
 * asynchronous) or pageable (half bandwidth, synchronous for the host).
 * Registering populates the pages for writing, as pinning does, so a
 * range the kernel cannot fault in fails here too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim.h"

struct host_range {
	uintptr_t start;
	size_t len;
	bool allocated; /* by the driver (cuMemAllocHost/cuMemHostAlloc), not registered */
};

static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static struct host_range *ranges; /* sorted by start, disjoint */
static size_t n_ranges;
static size_t cap_ranges;

/* Index of the first range starting after p. */
static size_t upper_bound(uintptr_t p)
{
	size_t lo = 0, hi = n_ranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ranges[mid].start <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* With host_lock held: the range containing p, or NULL. */
static struct host_range *find_locked(uintptr_t p)
{
	size_t i = upper_bound(p);

	if (i == 0 || p - ranges[i - 1].start >= ranges[i - 1].len)
		return NULL;
	return &ranges[i - 1];
}

bool sim_host_find(const void *p, uintptr_t *start, size_t *len)
{
	struct host_range *r;

	pthread_mutex_lock(&host_lock);
	r = find_locked((uintptr_t)p);
	if (r) {
		*start = r->start;
		*len = r->len;
	}
	pthread_mutex_unlock(&host_lock);
	return r != NULL;
}

bool sim_host_is_pinned(const void *p, size_t len)
{
	uintptr_t start;
	size_t range_len;

	return sim_host_find(p, &start, &range_len) &&
	       len <= range_len - ((uintptr_t)p - start);
}

static CUresult add_range(uintptr_t start, size_t len, bool allocated)
{
	CUresult err = CUDA_SUCCESS;
	size_t i;

	pthread_mutex_lock(&host_lock);
	i = upper_bound(start);
	if ((i > 0 && start - ranges[i - 1].start < ranges[i - 1].len) ||
	    (i < n_ranges && ranges[i].start - start < len)) {
		err = sim_error(CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED,
				"host range [%#lx, +%zu) overlaps a page-locked range",
				(unsigned long)start, len);
		goto out;
	}
	if (n_ranges == cap_ranges) {
		size_t cap = cap_ranges ? cap_ranges * 2 : 16;
		struct host_range *grown = realloc(ranges, cap * sizeof(*grown));

		if (!grown) {
			err = CUDA_ERROR_OUT_OF_MEMORY;
			goto out;
		}
		ranges = grown;
		cap_ranges = cap;
	}
	memmove(&ranges[i + 1], &ranges[i], (n_ranges - i) * sizeof(*ranges));
	ranges[i] = (struct host_range){ start, len, allocated };
	n_ranges++;
out:
	pthread_mutex_unlock(&host_lock);
	return err;
}

/* Remove the range starting exactly at p, if it was made the given way. */
static bool remove_range(uintptr_t p, bool allocated, size_t *len)
{
	struct host_range *r;
	bool found;

	pthread_mutex_lock(&host_lock);
	r = find_locked(p);
	found = r && r->start == p && r->allocated == allocated;
	if (found) {
		*len = r->len;
		memmove(r, r + 1, (size_t)(&ranges[n_ranges] - (r + 1)) * sizeof(*r));
		n_ranges--;
	}
	pthread_mutex_unlock(&host_lock);
	return found;
}

static CUresult host_alloc(void **pp, size_t size, const char *func)
{
	void *p;
	CUresult err;

	if (!pp || !size)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: no pointer or zero size", func);
	/* Pinned memory is resident, so populate it now. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		 -1, 0);
	if (p == MAP_FAILED)
		return sim_error(CUDA_ERROR_OUT_OF_MEMORY, "%s: %zu bytes: %s", func, size,
				 strerror(errno));
	err = add_range((uintptr_t)p, size, true);
	if (err) {
		munmap(p, size);
		return err;
	}
	*pp = p;
	return CUDA_SUCCESS;
}

CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
{
	CUresult err = sim_enter("cuMemAllocHost", SIM_NEED_CTX);

	if (err)
		return err;
	return host_alloc(pp, bytesize, "cuMemAllocHost");
}

CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int flags)
{
	CUresult err = sim_enter("cuMemHostAlloc", SIM_NEED_CTX);

	if (err)
		return err;
	if (flags & ~(unsigned)(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP |
				CU_MEMHOSTALLOC_WRITECOMBINED))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuMemHostAlloc: bad flags %#x", flags);
	return host_alloc(pp, bytesize, "cuMemHostAlloc");
}

CUresult cuMemFreeHost(void *p)
{
	CUresult err = sim_enter("cuMemFreeHost", SIM_NEED_CTX);
	size_t len;

	if (err)
		return err;
	if (!remove_range((uintptr_t)p, true, &len))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemFreeHost: %p is not from cuMemAllocHost/cuMemHostAlloc", p);
	munmap(p, len);
	return CUDA_SUCCESS;
}

static pthread_once_t populate_once = PTHREAD_ONCE_INIT;
static bool populate_supported;

/* MADV_POPULATE_* came with Linux 5.14; a zero-length call only checks the advice. */
static void probe_populate(void)
{
	populate_supported = madvise(NULL, 0, MADV_POPULATE_WRITE) == 0;
}

CUresult cuMemHostRegister_v2(void *p, size_t bytesize, unsigned int flags)
{
	CUresult err = sim_enter("cuMemHostRegister", SIM_NEED_CTX);
	uintptr_t page = (uintptr_t)p & ~((uintptr_t)sysconf(_SC_PAGESIZE) - 1);
	int advice;

	if (err)
		return err;
	if (!p || !bytesize || sim_vspace_contains((uintptr_t)p) ||
	    (flags & ~(unsigned)(CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP |
				 CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_READ_ONLY)))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemHostRegister: bad range %p +%zu or flags %#x", p, bytesize,
				 flags);
	if (flags & CU_MEMHOSTREGISTER_IOMEMORY)
		return sim_error(CUDA_ERROR_NOT_SUPPORTED,
				 "cuMemHostRegister: I/O memory is not simulated");
	advice = (flags & CU_MEMHOSTREGISTER_READ_ONLY) ? MADV_POPULATE_READ : MADV_POPULATE_WRITE;
	pthread_once(&populate_once, probe_populate);
	if (populate_supported && madvise((void *)page, (uintptr_t)p + bytesize - page, advice))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemHostRegister: cannot pin %p +%zu: %s", p, bytesize,
				 strerror(errno));
	return add_range((uintptr_t)p, bytesize, false);
}

CUresult cuMemHostUnregister(void *p)
{
	CUresult err = sim_enter("cuMemHostUnregister", SIM_NEED_CTX);
	size_t len;

	if (err)
		return err;
	if (!remove_range((uintptr_t)p, false, &len))
		return sim_error(CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED,
				 "cuMemHostUnregister: %p is not the start of a registered range",
				 p);
	return CUDA_SUCCESS;
}
