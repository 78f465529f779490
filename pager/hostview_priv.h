/* hostview_priv.h - the host view's state, shared by its setup and its fault handler. */
#ifndef GP_PAGER_HOSTVIEW_PRIV_H
#define GP_PAGER_HOSTVIEW_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/userfaultfd.h>

#include "hostview.h"

/* UFFDIO_POISON came with Linux 6.6; older uapi headers lack it. */
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#define _UFFDIO_POISON (0x08)
struct uffdio_poison {
	struct uffdio_range range;
	__u64 mode;
	__s64 updated;
};
#define UFFDIO_POISON _IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif

/*
 * Per chunk.  DONE means the chunk's pages are in the view: the handler
 * sets it right after resolving, the evict callback clears it right
 * before dropping the pages, both under view->lock, so a fault message
 * for a DONE chunk is always a stale duplicate.
 */
enum gp_chunk_state { GP_CHUNK_EMPTY, GP_CHUNK_INFLIGHT, GP_CHUNK_DONE, GP_CHUNK_POISONED };

struct gp_host_view {
	enum gp_host_view_kind kind;
	char *base;
	uint64_t size;          /* the file's size */
	uint64_t map_len;       /* size rounded up to pages */
	uint64_t chunk;         /* the pool's slot size */
	uint64_t n_chunks;
	struct gp_host_pool *pool;
	struct gp_io *io;
	struct gp_io_file *file;
	uint32_t owner;
	unsigned readahead;
	int uffd;
	int stop_fd;            /* eventfd: the handler's signal to exit */
	pthread_t handler;
	bool handler_running, owner_added;
	pthread_mutex_t lock;   /* chunk states and the pages behind them */
	uint8_t *state;
	int64_t prev_end;       /* last chunk made resident by the previous fault */
	struct gp_host_view_stats stats;        /* updated with __atomic builtins */
};

/* The handler thread: resolves faults until stop_fd is signalled. */
void *gp_host_view_handler(void *arg);

/* The pool's evict callback for the view's owner: drop chunk index from the view. */
void gp_host_view_evict(void *ctx, uint64_t index);

#endif
