/*
 * devmem.h - device memory as the pager uses it: a reserved virtual range
 * per model, whose chunk-sized slots are backed by physical chunks from a
 * pool.  Two backends (GPUPAGER_BACKEND):
 *
 *   vmm  cuMemAddressReserve + cuMemCreate/cuMemMap/cuMemSetAccess/cuMemUnmap.
 *        A slot without a chunk is not accessible; its data is gone once
 *        unmapped, and the chunk holds whatever it last held when remapped.
 *   um   one cuMemAllocManaged allocation per range; "mapping" a chunk
 *        advises the device as preferred location and prefetches the slot
 *        there, "unmapping" prefers and prefetches to host.  Chunks are only
 *        accounting, so that both backends obey the same budget.
 *
 * The rules, the same for both backends and checked here: a range is a
 * whole number of chunks (with vmm, the chunk size is a multiple of the
 * device's granularity); chunks are mapped at chunk-aligned offsets, one
 * chunk per slot and one slot per chunk; only whole chunks are unmapped,
 * and only once the GPU is done with them (pass the chunk's last-use event
 * and it is waited for); callers treat a slot's contents as undefined
 * after unmapping it.
 *
 * A backend's bookkeeping is not locked: one thread at a time may call
 * these functions for a given gp_devmem (the pager serialises residency
 * changes anyway).
 */
#ifndef GP_CUDA_DEVMEM_H
#define GP_CUDA_DEVMEM_H

#include <stdint.h>

#include "config.h"
#include "gpu.h"

struct gp_devmem;

/* Physical memory for one chunk. */
struct gp_dev_chunk {
	CUmemGenericAllocationHandle handle;    /* vmm only */
	struct gp_dev_range *range;             /* where it is mapped, or NULL */
	uint64_t offset;                        /* its offset in range */
};

/* A reserved virtual range: addresses in it stay valid until it is freed. */
struct gp_dev_range {
	CUdeviceptr base;
	uint64_t size;                  /* a multiple of the chunk size */
	uint64_t n_slots;               /* size / chunk size */
	struct gp_dev_chunk **slots;    /* the chunk mapped in each slot, or NULL */
};

/*
 * Open a backend (the pager passes GPUPAGER_BACKEND's choice) on gpu with
 * chunks of chunk_size bytes; vmm rounds it up to the device's granularity
 * (see gp_devmem_chunk_size).  GP_ENOSYS if the driver or device lacks what
 * the backend needs.
 */
int gp_devmem_open(struct gp_gpu *gpu, enum gp_backend_kind kind, uint64_t chunk_size,
		   struct gp_devmem **out);
/* Close the backend; free its ranges and release its chunks first (leftovers are logged). */
void gp_devmem_close(struct gp_devmem *dm);

const char *gp_devmem_name(const struct gp_devmem *dm);
uint64_t gp_devmem_chunk_size(const struct gp_devmem *dm);
/* Physical chunks created and not yet released. */
uint64_t gp_devmem_chunk_count(const struct gp_devmem *dm);

/* Reserve a range of at least size bytes (rounded up to whole chunks). */
int gp_devmem_reserve(struct gp_devmem *dm, uint64_t size, struct gp_dev_range **out);
/* Unmap whatever is still mapped in range (the GPU must be done with it) and free it. */
void gp_devmem_free_range(struct gp_devmem *dm, struct gp_dev_range *range);

/* Create one chunk of physical memory; GP_EDEVMEM when the device is full. */
int gp_devmem_chunk_create(struct gp_devmem *dm, struct gp_dev_chunk **out);
/* Release a chunk, dropped even when the driver fails; GP_EBUSY while it is mapped. */
int gp_devmem_chunk_release(struct gp_devmem *dm, struct gp_dev_chunk *chunk);

/*
 * Back the slot at offset of range with chunk and make it accessible from
 * the device.  The um backend's prefetch is queued on stream; copies into
 * the slot queued after it on the same stream are ordered after it.
 */
int gp_devmem_map(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset,
		  struct gp_dev_chunk *chunk, CUstream stream);

/*
 * Wait for last_use (if not NULL), then take the chunk at offset out of
 * range; the chunk is free to be mapped elsewhere.  The um backend's
 * prefetch to host is queued on stream.
 */
int gp_devmem_unmap(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset,
		    CUevent last_use, CUstream stream);

/*
 * Kernels on device peer may read and write every chunk mapped from now
 * on (a program enabled peer access to this device: with vmm, mappings are
 * only accessible to the devices cuMemSetAccess names).  1 when peer is
 * new (then call gp_devmem_refresh_access on the ranges already mapped),
 * 0 when it was granted already; GP_ERANGE past GP_DEVMEM_MAX_PEERS.
 */
#define GP_DEVMEM_MAX_PEERS 16
int gp_devmem_add_peer(struct gp_devmem *dm, CUdevice peer);
/* Give every mapped slot of range the access of new mappings. */
int gp_devmem_refresh_access(struct gp_devmem *dm, struct gp_dev_range *range);

#endif
