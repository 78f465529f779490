/*
 * hostview.h - a model file presented as host memory through userfaultfd
 * (internal).  For code that reads weights from host memory: the shim's
 * mmap interception and CPU consumers.
 *
 * The view is a read-only range of the file's size whose bytes equal the
 * file's.  The first touch of an absent chunk (the host pool's slot size,
 * >= 2 MiB) faults; a handler thread loads the chunk through a host pool
 * slot and resolves the fault for the whole chunk; sequential touches
 * trigger read-ahead of the next chunks.  When the pool evicts a chunk's
 * slot, the view drops that chunk, so the next touch faults again.
 *
 * Rules measured on this kernel (../shared/DESIGN.md): resolve >= 2 MiB per
 * fault; never let io_uring, mlock or cuMemHostRegister touch unpopulated
 * registered pages (load into slots, then resolve); UFFDIO_COPY may return
 * EAGAIN with a partial count and EEXIST; duplicate faults from several
 * threads are normal (per-chunk EMPTY/INFLIGHT/DONE); MADV_DONTFORK on the
 * range, so a fork()ed child never sees silent zeros.
 *
 * Where userfaultfd is not permitted (no /dev/userfaultfd access, syscall
 * blocked), the view falls back to a plain read-only mmap of the file and
 * logs it; gp_host_view_kind says which.
 */
#ifndef GP_PAGER_HOSTVIEW_H
#define GP_PAGER_HOSTVIEW_H

#include <stddef.h>
#include <stdint.h>

struct gp_host_pool;
struct gp_io;
struct gp_io_file;
struct gp_host_view;

enum gp_host_view_kind { GP_VIEW_UFFD, GP_VIEW_MMAP };

struct gp_host_view_opts {
	struct gp_host_pool *pool;      /* slots to load through (chunk = slot size) */
	struct gp_io *io;               /* reader for the file */
	struct gp_io_file *file;        /* the file shown; its size is the view's */
	const char *path;               /* the same file, for the mmap fallback */
	unsigned readahead_chunks;      /* chunks loaded ahead on sequential faults; 0: default (2) */
	int force_mmap;                 /* 1: skip userfaultfd (tests, benchmarks) */
};

int gp_host_view_open(const struct gp_host_view_opts *opts, struct gp_host_view **out);
/* Stop the handler, unmap the range, release the pool owner. */
void gp_host_view_close(struct gp_host_view *view);

/* The range: valid until close; read-only. */
const void *gp_host_view_base(const struct gp_host_view *view);
uint64_t gp_host_view_size(const struct gp_host_view *view);
enum gp_host_view_kind gp_host_view_kind(const struct gp_host_view *view);

struct gp_host_view_stats {
	uint64_t faults;        /* fault messages handled (duplicates included) */
	uint64_t loads;         /* chunks loaded from the file */
	uint64_t readaheads;    /* chunks loaded ahead of a fault */
	uint64_t drops;         /* chunks dropped after host slot eviction */
	uint64_t errors;        /* chunks that could not be loaded */
};
void gp_host_view_get_stats(const struct gp_host_view *view, struct gp_host_view_stats *out);

#endif
