/*
 * io.h - reading model files into host memory (internal).
 *
 * One reader serves every model of a pager.  Two implementations behind
 * this interface, chosen by GPUPAGER_IO (auto | uring | pread):
 *
 *   io_uring  one ring per I/O thread, fixed files and fixed buffers,
 *             O_DIRECT where the file system supports it (alignment from
 *             statx STATX_DIOALIGN; an aligned superset is read and the
 *             unaligned range handed out: straight into the destination
 *             when it is placed as the file is, see gp_io_place), buffered
 *             reads otherwise;
 *             requests of 1-4 MiB, several in flight, short reads resumed.
 *   pread     a thread pool of pread(2) calls: the fallback where io_uring
 *             cannot be set up (ENOSYS, EPERM, kernel.io_uring_disabled).
 *
 * With "auto" io_uring is tried first and the log says which path is used.
 * Every call is thread-safe; gp_io_read blocks the caller until its whole
 * batch is done (other callers' batches proceed in parallel).
 */
#ifndef GP_URING_IO_H
#define GP_URING_IO_H

#include <stddef.h>
#include <stdint.h>

struct gp_io;
struct gp_io_file;

struct gp_io_opts {
	int mode;               /* enum gp_io_mode (config.h); GP_IO_AUTO tries uring first */
	unsigned n_threads;     /* I/O threads (rings or pread workers); 0: default (2) */
	unsigned queue_depth;   /* requests in flight per thread; 0: default (8) */
	uint64_t request_size;  /* bytes per request, 1-4 MiB; 0: default (2 MiB); a read
				 * into the caller's memory takes a remainder of up to 1/16
				 * along rather than issue a piece of a few blocks */
	int numa_node;          /* run I/O threads on this node; -1: anywhere */
	int use_direct;         /* 1: O_DIRECT where possible (default), 0: buffered only */
};

/* Defaults, with mode from GPUPAGER_IO. */
void gp_io_opts_default(struct gp_io_opts *opts);

/* GP_ENOSYS when mode is GP_IO_URING and io_uring cannot be set up (message says why). */
int gp_io_open(const struct gp_io_opts *opts, struct gp_io **out);
/* Close the reader; files still added are closed too. */
void gp_io_close(struct gp_io *io);

/* "io_uring" or "pread": the path in use. */
const char *gp_io_name(const struct gp_io *io);

/*
 * Open path for reading.  expected_size (UINT64_MAX: any) is the size the
 * model's header was validated against; a different size is GP_EIO
 * ("<path>: size X, expected Y: the file changed since it was opened").
 * GP_ENOENT / GP_EIO with the path and strerror otherwise.
 */
int gp_io_add_file(struct gp_io *io, const char *path, uint64_t expected_size,
		   struct gp_io_file **out);
void gp_io_remove_file(struct gp_io *io, struct gp_io_file *file);
const char *gp_io_file_path(const struct gp_io_file *file);
uint64_t gp_io_file_size(const struct gp_io_file *file);
/* 1 when reads of this file go through O_DIRECT. */
int gp_io_file_direct(const struct gp_io_file *file);

/*
 * Register [base, base+len) as fixed buffers (the host slot pool's memory,
 * once, at start).  Reads into other memory still work, through bounce
 * buffers when O_DIRECT needs alignment.  At most one region.
 */
int gp_io_register_memory(struct gp_io *io, void *base, size_t len);
void gp_io_unregister_memory(struct gp_io *io);

/*
 * A destination placed at the same offset modulo GP_IO_PLACE_ALIGN as its
 * file offset is read without bounce buffers: O_DIRECT straight into it,
 * and a warm (page cache) copy with source and destination equally
 * aligned.  With scratch set, the caller also gives the reader the bytes
 * around [dst, dst + len) up to the enclosing GP_IO_PLACE_ALIGN blocks:
 * the reader may write the file's bytes there (the whole aligned superset
 * in one read, no bounced head or tail).  A host pool slot has that room
 * (hostpool.h).  Without scratch only [dst, dst + len) is written.
 */
#define GP_IO_PLACE_ALIGN 4096u

struct gp_io_req {
	struct gp_io_file *file;
	uint64_t offset;        /* any byte offset in the file */
	uint64_t len;           /* any length; offset + len must not pass the file's end */
	void *dst;              /* any address; len bytes are written there */
	int scratch;            /* the blocks around the range are the reader's to write */
};

/* Where in a buffer aligned to GP_IO_PLACE_ALIGN the bytes at file offset go: offset % align. */
static inline uint64_t gp_io_place(uint64_t offset)
{
	return offset % GP_IO_PLACE_ALIGN;
}

/*
 * Read every request of the batch; returns once all are done.  On failure
 * returns GP_EIO (the first error) naming the file and offset, e.g.
 * "model.safetensors: read at offset 4194304: Input/output error" or
 * "model.safetensors: file ends at 1000, read needs 4096 (truncated?)";
 * the bytes at dst are then undefined, never silently wrong.  A request
 * past the file's end as opened is GP_EINVAL.
 */
int gp_io_read(struct gp_io *io, const struct gp_io_req *reqs, size_t n);

/* Totals since open, for stats and benchmarks. */
struct gp_io_stats {
	uint64_t bytes_read;    /* bytes handed to callers */
	uint64_t bytes_device;  /* bytes the kernel read (aligned supersets included) */
	uint64_t requests;      /* requests submitted to the kernel */
	uint64_t short_reads;   /* resumed short reads */
	uint64_t direct_reads;  /* requests that went through O_DIRECT */
};
void gp_io_get_stats(const struct gp_io *io, struct gp_io_stats *out);

#endif
