/*
 * vspace.c - the device's virtual address space.
 *
 * One PROT_NONE, MAP_NORESERVE reservation of host address space is the
 * device's; device pointers are host addresses inside it.  A table with
 * one entry per granule (2 MiB) records which reservation and which
 * mapping covers it and the access granted, so that the VMM rules (no
 * mapping over a mapping, no partial unmap, no access before
 * cuMemSetAccess) are checked exactly and copies can be validated.
 *
 * Unmapping parks a chunk's mapping (mremap, page tables and all) at its
 * park address instead of dropping it, and mapping the chunk again moves
 * it from there: a GPU's map is a page-table update, and rebuilding 512
 * page-table entries by faults per 2 MiB remap made the simulator, not the
 * pager, the bottleneck of every paging run.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "extent.h"
#include "log.h"
#include "sim.h"

/* Room for reservations much larger than the memory, as a pager makes. */
#define SIM_VA_MIN_SIZE (256ull << 30)
#define SIM_VA_PER_CAPACITY 4

struct granule {
	struct sim_resv *resv;
	struct sim_mapping *mapping;
	unsigned char prot; /* PROT_READ / PROT_WRITE granted to any device: the host's */
	unsigned char dev_prot[SIM_MAX_DEVICES]; /* each device's (cuMemSetAccess) */
};

static pthread_mutex_t vm_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t va_base;
static size_t va_size;
static struct granule *granules;
static struct sim_extents va_free;

void sim_vm_lock(void)
{
	pthread_mutex_lock(&vm_lock);
}

void sim_vm_unlock(void)
{
	pthread_mutex_unlock(&vm_lock);
}

CUresult sim_vspace_init(void)
{
	size_t used, capacity;
	void *p;

	sim_physmem_usage(-1, &used, &capacity);
	va_size = capacity * SIM_VA_PER_CAPACITY;
	if (va_size < SIM_VA_MIN_SIZE)
		va_size = SIM_VA_MIN_SIZE;
	/* One granule extra so the base can be aligned to a granule. */
	p = mmap(NULL, va_size + SIM_GRANULARITY, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		gp_log_error("simulated device: cannot reserve %zu GiB of address space: %m",
			     va_size >> 30);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	va_base = ((uintptr_t)p + SIM_GRANULARITY - 1) & ~(uintptr_t)(SIM_GRANULARITY - 1);
	granules = calloc(va_size / SIM_GRANULARITY, sizeof(*granules));
	if (!granules || sim_extents_init(&va_free, va_base, va_size)) {
		free(granules);
		munmap(p, va_size + SIM_GRANULARITY);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	return CUDA_SUCCESS;
}

bool sim_vspace_contains(uintptr_t ptr)
{
	return ptr >= va_base && ptr - va_base < va_size;
}

static struct granule *granule_at(uintptr_t ptr)
{
	return &granules[(ptr - va_base) / SIM_GRANULARITY];
}

static void no_access(struct granule *g)
{
	g->prot = PROT_NONE;
	memset(g->dev_prot, PROT_NONE, sizeof(g->dev_prot));
}

/* Whether [va, va+size) is granule-aligned and inside the address space. */
static bool range_ok(uintptr_t va, size_t size)
{
	return size && va % SIM_GRANULARITY == 0 && size % SIM_GRANULARITY == 0 &&
	       sim_vspace_contains(va) && size <= va_base + va_size - va;
}

CUresult sim_resv_create(size_t size, size_t align, uintptr_t hint, enum sim_resv_kind kind,
			 struct sim_resv **out)
{
	struct sim_resv *resv = calloc(1, sizeof(*resv));
	uint64_t base;

	if (!resv)
		return CUDA_ERROR_OUT_OF_MEMORY;
	/* The address asked for is a hint: fall back to any free range. */
	if ((!hint || !range_ok(hint, size) ||
	     sim_extents_alloc(&va_free, size, align, hint, &base)) &&
	    sim_extents_alloc(&va_free, size, align, 0, &base)) {
		free(resv);
		return sim_error(CUDA_ERROR_OUT_OF_MEMORY,
				 "no free device address range of %zu bytes", size);
	}
	resv->base = (uintptr_t)base;
	resv->size = size;
	resv->bytes = size;
	resv->kind = kind;
	for (uintptr_t va = resv->base; va < resv->base + size; va += SIM_GRANULARITY)
		granule_at(va)->resv = resv;
	*out = resv;
	return CUDA_SUCCESS;
}

CUresult sim_resv_destroy(struct sim_resv *resv)
{
	for (uintptr_t va = resv->base; va < resv->base + resv->size; va += SIM_GRANULARITY)
		if (granule_at(va)->mapping)
			return sim_error(CUDA_ERROR_INVALID_VALUE,
					 "range at %#lx is still mapped at %#lx: unmap it first",
					 (unsigned long)resv->base, (unsigned long)va);
	for (uintptr_t va = resv->base; va < resv->base + resv->size; va += SIM_GRANULARITY)
		granule_at(va)->resv = NULL;
	sim_extents_free(&va_free, resv->base, resv->size);
	free(resv);
	return CUDA_SUCCESS;
}

struct sim_resv *sim_resv_find(uintptr_t ptr)
{
	if (!sim_vspace_contains(ptr))
		return NULL;
	return granule_at(ptr)->resv;
}

int sim_va_placeholder(void *addr, size_t size)
{
	if (mmap(addr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		 -1, 0) == MAP_FAILED) {
		gp_log_warn("simulated device: cannot reset %zu bytes of address space: %m", size);
		return -1;
	}
	return 0;
}

/*
 * Move a mapping, page tables included, from one granule-aligned range to
 * another; the source becomes a placeholder again, and the destination has
 * no access until cuMemSetAccess.
 */
static int move_mapping(void *from, void *to, size_t size)
{
	if (mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, to) == MAP_FAILED)
		return -1;
	sim_va_placeholder(from, size);
	mprotect(to, size, PROT_NONE);
	return 0;
}

CUresult sim_map(uintptr_t va, size_t size, struct sim_phys *phys)
{
	struct sim_resv *resv = sim_resv_find(va);
	struct sim_mapping *mapping;

	if (!range_ok(va, size))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemMap: [%#lx, +%zu) is not granule-aligned device address space",
				 (unsigned long)va, size);
	if (size > phys->size)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemMap: size %zu exceeds the allocation's %zu bytes", size,
				 phys->size);
	for (uintptr_t p = va; p < va + size; p += SIM_GRANULARITY) {
		struct granule *g = granule_at(p);

		if (!resv || g->resv != resv)
			return sim_error(CUDA_ERROR_INVALID_VALUE,
					 "cuMemMap: [%#lx, +%zu) is not inside one reserved range",
					 (unsigned long)va, size);
		if (g->mapping)
			return sim_error(CUDA_ERROR_INVALID_VALUE,
					 "cuMemMap: %#lx is already mapped", (unsigned long)p);
	}
	mapping = calloc(1, sizeof(*mapping));
	if (!mapping)
		return CUDA_ERROR_OUT_OF_MEMORY;
	if (phys->parked && size == phys->size && !move_mapping(sim_phys_park_addr(phys),
								  (void *)va, size)) {
		phys->parked = false;
	} else if (mmap((void *)va, size, PROT_NONE, MAP_SHARED | MAP_FIXED, sim_physmem_fd(),
			(off_t)phys->offset) == MAP_FAILED) {
		free(mapping);
		/* Usually vm.max_map_count: each mapping is at least one VMA. */
		gp_log_warn("simulated device: cuMemMap: mmap of %zu bytes failed: %m", size);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	mapping->va = va;
	mapping->size = size;
	mapping->phys = phys;
	phys->refs++;
	for (uintptr_t p = va; p < va + size; p += SIM_GRANULARITY) {
		granule_at(p)->mapping = mapping;
		no_access(granule_at(p));
	}
	return CUDA_SUCCESS;
}

/* [va, va+size) must be mapped throughout and contain whole mappings only. */
static CUresult check_whole_mappings(uintptr_t va, size_t size)
{
	if (!range_ok(va, size))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemUnmap: [%#lx, +%zu) is not granule-aligned device address space",
				 (unsigned long)va, size);
	for (uintptr_t p = va; p < va + size; p += SIM_GRANULARITY) {
		struct sim_mapping *m = granule_at(p)->mapping;

		if (!m)
			return sim_error(CUDA_ERROR_INVALID_VALUE, "cuMemUnmap: %#lx is not mapped",
					 (unsigned long)p);
		if (m->va < va || m->va + m->size > va + size)
			return sim_error(CUDA_ERROR_INVALID_VALUE,
					 "cuMemUnmap: partial unmap of the mapping [%#lx, +%zu)",
					 (unsigned long)m->va, m->size);
	}
	return CUDA_SUCCESS;
}

CUresult sim_unmap(uintptr_t va, size_t size)
{
	CUresult err = check_whole_mappings(va, size);

	if (err)
		return err;
	for (uintptr_t p = va; p < va + size;) {
		struct sim_mapping *m = granule_at(p)->mapping;

		/* Parked while the chunk lives on (the handle or another mapping holds it). */
		if (m->phys->refs > 1 && !m->phys->parked && m->size == m->phys->size &&
		    !move_mapping((void *)m->va, sim_phys_park_addr(m->phys), m->size))
			m->phys->parked = true;
		else if (sim_va_placeholder((void *)m->va, m->size))
			return CUDA_ERROR_OUT_OF_MEMORY;

		for (uintptr_t q = m->va; q < m->va + m->size; q += SIM_GRANULARITY) {
			granule_at(q)->mapping = NULL;
			no_access(granule_at(q));
		}
		p = m->va + m->size;
		sim_phys_put(m->phys);
		free(m);
	}
	return CUDA_SUCCESS;
}

CUresult sim_set_access(uintptr_t va, size_t size, int dev, int prot)
{
	if (!range_ok(va, size))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuMemSetAccess: [%#lx, +%zu) is not granule-aligned device memory",
				 (unsigned long)va, size);
	for (uintptr_t p = va; p < va + size; p += SIM_GRANULARITY)
		if (!granule_at(p)->mapping)
			return sim_error(CUDA_ERROR_INVALID_VALUE,
					 "cuMemSetAccess: %#lx is not mapped", (unsigned long)p);
	for (uintptr_t p = va; p < va + size; p += SIM_GRANULARITY) {
		struct granule *g = granule_at(p);
		int host = PROT_NONE;

		g->dev_prot[dev] = (unsigned char)prot;
		for (int d = 0; d < SIM_MAX_DEVICES; d++)
			host |= g->dev_prot[d];
		/* The host runs every device's kernels: it may touch what any device may. */
		if (host != g->prot && mprotect((void *)p, SIM_GRANULARITY, host)) {
			gp_log_warn("simulated device: cuMemSetAccess: mprotect failed: %m");
			return CUDA_ERROR_OUT_OF_MEMORY;
		}
		g->prot = (unsigned char)host;
	}
	return CUDA_SUCCESS;
}

int sim_vmm_access(uintptr_t ptr, int dev)
{
	struct granule *g;

	if (!sim_vspace_contains(ptr))
		return -1;
	g = granule_at(ptr);
	return g->mapping ? g->dev_prot[dev] : -1;
}

CUresult sim_dev_check(uintptr_t ptr, size_t len, int prot, struct sim_dev_range *where)
{
	uintptr_t last = ptr + len - 1;

	if (len == 0 || last < ptr || !sim_vspace_contains(ptr) || !sim_vspace_contains(last))
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "[%#lx, +%zu) is not device memory", (unsigned long)ptr, len);
	for (uintptr_t p = ptr & ~(uintptr_t)(SIM_GRANULARITY - 1); p <= last;
	     p += SIM_GRANULARITY) {
		struct granule *g = granule_at(p);

		if (!g->mapping)
			return sim_error(CUDA_ERROR_INVALID_VALUE,
					 "device address %#lx is not mapped",
					 (unsigned long)(p < ptr ? ptr : p));
		if ((g->prot & prot) != prot)
			return sim_error(CUDA_ERROR_ILLEGAL_ADDRESS,
					 "device address %#lx has no %s access (cuMemSetAccess)",
					 (unsigned long)(p < ptr ? ptr : p),
					 prot & PROT_WRITE ? "write" : "read");
	}
	if (where) {
		where->resv = granule_at(ptr)->resv;
		where->mapping = granule_at(ptr)->mapping;
	}
	return CUDA_SUCCESS;
}
