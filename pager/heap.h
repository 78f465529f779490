/*
 * heap.h - anonymous device memory the pager may evict (internal; the
 * shim's allocations).  A heap is a gp_model: acquire its ranges with
 * gp_acquire_range_on(..., GP_ACCESS_WRITE, stream) before the GPU uses
 * them and release them after, as for weights.
 */
#ifndef GP_PAGER_HEAP_H
#define GP_PAGER_HEAP_H

#include <stdint.h>

struct gp_model;
struct gp_pager;

/* A heap of size bytes (rounded up to chunks) named name in stats and messages. */
int gp_heap_open(struct gp_pager *p, const char *name, uint64_t size, struct gp_model **out);

/*
 * The whole chunks [offset, offset + len) hold nothing wanted any more:
 * unmapped once the GPU is past their last use, host copies dropped,
 * nothing written back.  They read as zeros when next acquired.
 */
int gp_heap_discard(struct gp_model *m, uint64_t offset, uint64_t len);

#endif
