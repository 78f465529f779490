/*
 * devmem_ops.h - what a device memory backend implements (see devmem.h).
 *
 * devmem.c checks every argument and the mapping rules before calling an
 * operation, and keeps the slot/chunk bookkeeping; a backend only talks to
 * the driver.  The context is already current when an operation runs.
 */
#ifndef GP_CUDA_DEVMEM_OPS_H
#define GP_CUDA_DEVMEM_OPS_H

#include "devmem.h"

struct gp_devmem_ops {
	const char *name;
	/* Check that gpu supports the backend; may round *chunk_size up. */
	int (*probe)(struct gp_gpu *gpu, uint64_t *chunk_size);
	int (*reserve)(struct gp_devmem *dm, struct gp_dev_range *range);
	int (*free_range)(struct gp_devmem *dm, struct gp_dev_range *range);
	int (*chunk_create)(struct gp_devmem *dm, struct gp_dev_chunk *chunk);
	int (*chunk_release)(struct gp_devmem *dm, struct gp_dev_chunk *chunk);
	int (*map)(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset,
		   struct gp_dev_chunk *chunk, CUstream stream);
	int (*unmap)(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset,
		     CUstream stream);
	/* Optional: give the mapped slot at offset the access its mappings get now. */
	int (*set_access)(struct gp_devmem *dm, struct gp_dev_range *range, uint64_t offset);
};

struct gp_devmem {
	struct gp_gpu *gpu;
	const struct gp_devmem_ops *ops;
	uint64_t chunk_size;
	uint64_t n_chunks;      /* created, not released */
	uint64_t n_ranges;      /* reserved, not freed */
	CUdevice peers[GP_DEVMEM_MAX_PEERS];    /* other devices granted access (gp_devmem_add_peer) */
	int n_peers;
};

extern const struct gp_devmem_ops gp_devmem_vmm_ops;
extern const struct gp_devmem_ops gp_devmem_um_ops;

#endif
