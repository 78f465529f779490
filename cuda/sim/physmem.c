/*
 * physmem.c - simulated VRAM: a memfd whose slices are the physical
 * allocations.  Mapping a slice moves no data, so a chunk unmapped at one
 * address and mapped at another keeps its contents, as on a GPU.  Freed
 * slices are hole-punched, so host RAM use follows simulated VRAM use.
 *
 * Every device's memory is a slice of the one memfd; each device has its
 * own capacity (GPUPAGER_SIM_VRAM, or its entry of GPUPAGER_SIM_DEVICES),
 * shared by cuMemCreate, cuMemAlloc and cuMemAllocManaged on it.  Callers
 * hold sim_vm_lock.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "extent.h"
#include "log.h"
#include "sim.h"

/* The file is larger than the capacity so that fragmentation never fails an allocation. */
#define SIM_PHYS_FILE_FACTOR 2

static int memfd = -1;
/* Address space mirroring the memfd, where unmapped chunks' mappings are parked. */
static uintptr_t park_base;
static struct sim_extents slices;
static uint64_t capacity[SIM_MAX_DEVICES], total_capacity;
static uint64_t used[SIM_MAX_DEVICES];
/* Handle table: a handle is (generation << 32) | (slot + 1). */
static struct sim_phys **slots;
static uint32_t n_slots;
static uint32_t next_generation = 1;

/* Granule-aligned, so parked mappings move whole page tables (see vspace.c). */
static CUresult park_init(void)
{
	size_t size = total_capacity * SIM_PHYS_FILE_FACTOR;
	void *p = mmap(NULL, size + SIM_GRANULARITY, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		gp_log_error("simulated device: cannot reserve address space to park mappings: %m");
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	park_base = ((uintptr_t)p + SIM_GRANULARITY - 1) & ~((uintptr_t)SIM_GRANULARITY - 1);
	return CUDA_SUCCESS;
}

void *sim_phys_park_addr(const struct sim_phys *phys)
{
	return (void *)(park_base + phys->offset);
}

CUresult sim_physmem_init(void)
{
	for (int d = 0; d < sim_device_count(); d++) {
		uint64_t bytes = sim_device_capacity(d);

		capacity[d] = bytes / SIM_GRANULARITY * SIM_GRANULARITY;
		if (capacity[d] == 0) {
			gp_log_error("simulated device %d: %llu bytes of memory; it needs at least 2M",
				     d, (unsigned long long)bytes);
			return CUDA_ERROR_INVALID_VALUE;
		}
		total_capacity += capacity[d];
	}
	memfd = memfd_create("gpupager-sim-vram", MFD_CLOEXEC);
	if (memfd < 0) {
		gp_log_error("simulated device: memfd_create: %m");
		return CUDA_ERROR_OPERATING_SYSTEM;
	}
	if (ftruncate(memfd, (off_t)(total_capacity * SIM_PHYS_FILE_FACTOR)) ||
	    sim_extents_init(&slices, 0, total_capacity * SIM_PHYS_FILE_FACTOR)) {
		gp_log_error("simulated device: cannot size the VRAM file: %m");
		close(memfd);
		memfd = -1;
		return CUDA_ERROR_OPERATING_SYSTEM;
	}
	return park_init();
}

int sim_physmem_fd(void)
{
	return memfd;
}

void sim_physmem_usage(int dev, size_t *used_bytes, size_t *capacity_bytes)
{
	if (dev >= 0) {
		*used_bytes = used[dev];
		*capacity_bytes = capacity[dev];
		return;
	}
	*used_bytes = 0;
	for (int d = 0; d < sim_device_count(); d++)
		*used_bytes += used[d];
	*capacity_bytes = total_capacity;
}

static int take_slot(struct sim_phys *phys)
{
	struct sim_phys **grown;

	for (uint32_t i = 0; i < n_slots; i++) {
		if (!slots[i]) {
			phys->slot = i;
			slots[i] = phys;
			return 0;
		}
	}
	grown = realloc(slots, (n_slots + 64) * sizeof(*slots));
	if (!grown)
		return -1;
	slots = grown;
	for (uint32_t i = n_slots; i < n_slots + 64; i++)
		slots[i] = NULL;
	phys->slot = n_slots;
	slots[n_slots] = phys;
	n_slots += 64;
	return 0;
}

CUresult sim_phys_create(size_t size, int dev, struct sim_phys **out)
{
	struct sim_phys *phys;
	uint64_t offset;

	if (size > capacity[dev] - used[dev])
		return sim_error(CUDA_ERROR_OUT_OF_MEMORY,
				 "out of memory on device %d: %zu bytes asked, %llu of %llu free",
				 dev, size, (unsigned long long)(capacity[dev] - used[dev]),
				 (unsigned long long)capacity[dev]);
	phys = calloc(1, sizeof(*phys));
	if (!phys)
		return CUDA_ERROR_OUT_OF_MEMORY;
	if (sim_extents_alloc(&slices, size, SIM_GRANULARITY, 0, &offset))
		goto fail;
	if (take_slot(phys)) {
		sim_extents_free(&slices, offset, size);
		goto fail;
	}
	phys->offset = offset;
	phys->size = size;
	phys->refs = 1;
	phys->handle_live = true;
	phys->generation = next_generation++;
	phys->device = dev;
	used[dev] += size;
	*out = phys;
	return CUDA_SUCCESS;
fail:
	free(phys);
	return sim_error(CUDA_ERROR_OUT_OF_MEMORY, "no room for %zu bytes in the VRAM file", size);
}

void sim_phys_put(struct sim_phys *phys)
{
	if (--phys->refs > 0)
		return;
	if (phys->parked)
		sim_va_placeholder(sim_phys_park_addr(phys), phys->size);
	if (fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)phys->offset,
		      (off_t)phys->size))
		gp_log_warn("simulated device: cannot release VRAM pages: %m");
	sim_extents_free(&slices, phys->offset, phys->size);
	used[phys->device] -= phys->size;
	slots[phys->slot] = NULL;
	free(phys);
}

CUmemGenericAllocationHandle sim_phys_handle(const struct sim_phys *phys)
{
	return ((CUmemGenericAllocationHandle)phys->generation << 32) | (phys->slot + 1ull);
}

struct sim_phys *sim_phys_lookup(CUmemGenericAllocationHandle handle)
{
	uint64_t slot = (handle & 0xffffffffull) - 1;
	struct sim_phys *phys;

	if (slot >= n_slots)
		return NULL;
	phys = slots[slot];
	if (!phys || phys->generation != (uint32_t)(handle >> 32) || !phys->handle_live)
		return NULL;
	return phys;
}
