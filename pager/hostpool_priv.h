/* hostpool_priv.h - what hostpool*.c share: the budget check and the pool's memory. */
#ifndef GP_PAGER_HOSTPOOL_PRIV_H
#define GP_PAGER_HOSTPOOL_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostpool.h"

/* MemAvailable from /proc/meminfo, in bytes. */
int gp_host_mem_available(uint64_t *bytes);

/* GP_EHOSTMEM with the documented message when need exceeds MemAvailable. */
int gp_host_budget_check(uint64_t need);

/* The pool's one allocation: placed, first-touched, registered. */
struct gp_host_mem {
	void *base;
	size_t len;
	int numa_node;          /* where it was placed, -1: not placed */
	struct gp_gpu *gpu;     /* registered with the driver when not NULL */
	struct gp_io *io;       /* registered with the reader when not NULL */
};

int gp_host_mem_alloc(struct gp_host_mem *mem, size_t len, int numa_node, struct gp_gpu *gpu,
		      struct gp_io *io);
void gp_host_mem_free(struct gp_host_mem *mem);

#endif
