/*
 * io_internal.h - what the reader's files share: the reader, files, pieces
 * (one kernel read each), the piece queue the I/O threads take from, and
 * the engine operations (io_uring or pread).
 *
 * gp_io_read validates a batch, splits every request into pieces
 * (io_split.c), queues them and sleeps until the batch's count reaches
 * zero.  An engine thread takes pieces, reads them, and hands every kernel
 * completion to gp_io_piece_result(), which owns the rules both engines
 * follow: short reads resumed (through the buffered fd), end of file before
 * the needed bytes is an error, bounce buffers copied out, the batch told.
 */
#ifndef GP_URING_IO_INTERNAL_H
#define GP_URING_IO_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "io.h"

/* Files with a fixed-file slot (two table entries each: buffered, direct). */
#define GP_IO_MAX_FILES 512
/* Longest registered buffer the kernel accepts; the region is cut into these. */
#define GP_IO_FIXED_BUF_MAX (1ull << 30)
/* Bounce buffers are page aligned, so no file may ask for more memory alignment. */
#define GP_IO_BOUNCE_ALIGN 4096u

struct gp_io_file {
	struct gp_io *io;
	struct gp_io_file *next;
	char *path;
	int fd;                 /* buffered */
	int dfd;                /* O_DIRECT, or -1 */
	int slot;               /* fixed-file slot, or -1 */
	uint32_t off_align;     /* O_DIRECT file offset and length alignment */
	uint32_t mem_align;     /* O_DIRECT memory alignment */
	uint64_t size;
	/* What fstat said at open: a change means the file is not the one validated. */
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	atomic_int replaced_logged; /* the path names another file now (logged once) */
	atomic_int direct_refused; /* a direct read failed with EINVAL (warned once) */
	void *map;              /* never-touched mapping for mincore (O_DIRECT files), or NULL */
};

struct gp_io_batch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t left;            /* pieces not finished */
	int err;                /* first error */
	char msg[512];
};

/*
 * One kernel read: [off, off + len) of file into dst, or into the engine's
 * bounce buffer when dst is NULL (O_DIRECT alignment), from which bytes
 * [skip, skip + copy_len) go to copy_dst.  At least need bytes must arrive
 * (need < len only where the aligned superset passes the end of the file).
 */
struct gp_io_piece {
	struct gp_io_piece *next;
	struct gp_io_batch *batch;
	struct gp_io_file *file;
	uint64_t off;
	uint64_t len;
	uint64_t need;
	char *dst;
	char *copy_dst;
	uint64_t skip;
	uint64_t copy_len;
	int direct;             /* the first read goes through the O_DIRECT fd */
};

struct gp_io_engine {
	const char *name;
	/* Threads (and rings).  On failure, fill why (for the log) and return < 0. */
	int (*start)(struct gp_io *io, char *why, size_t why_len);
	/* Join the threads once the queue is stopped. */
	void (*stop)(struct gp_io *io);
	/* Optional: a file gained or is losing its fixed-file slot. */
	void (*file_added)(struct gp_io *io, struct gp_io_file *file);
	void (*file_removed)(struct gp_io *io, struct gp_io_file *file);
	/* Optional: io->region changed; no read is in progress. */
	void (*region_changed)(struct gp_io *io);
};

extern const struct gp_io_engine gp_io_uring_engine;
extern const struct gp_io_engine gp_io_pread_engine;

struct gp_io {
	const struct gp_io_engine *engine;
	void *priv;
	unsigned n_threads;
	unsigned queue_depth;
	uint64_t request_size;
	int numa_node;
	int use_direct;

	/* Pieces waiting for an I/O thread. */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct gp_io_piece *qhead, *qtail;
	int stopping;

	/* Files and fixed-file slots. */
	pthread_mutex_t flock;
	struct gp_io_file *files;
	unsigned char slot_used[GP_IO_MAX_FILES];

	/* Reads hold it shared; registering memory holds it exclusive. */
	pthread_rwlock_t rw;
	char *region;
	size_t region_len;

	_Atomic uint64_t bytes_read, bytes_device, requests, short_reads, direct_reads;

	/* Fault injection (io_fault.h): completions numbered from open. */
	_Atomic uint64_t completions;
	_Atomic uint64_t fault_from, fault_to;
	atomic_int fault_kind;
};

/*
 * Pieces request r needs; fills out[] (batch b) when out is not NULL.
 * direct 0 reads buffered even where the file has O_DIRECT.
 */
size_t gp_io_split(const struct gp_io *io, const struct gp_io_req *r,
		   struct gp_io_piece *out, struct gp_io_batch *b, int direct);

/* io_cached.c: whether [off, off + len) is wholly in the page cache (then read buffered). */
void gp_io_cache_map(struct gp_io_file *f);
void gp_io_cache_unmap(struct gp_io_file *f);
int gp_io_range_cached(const struct gp_io_file *f, uint64_t off, uint64_t len);

/* Queue a linked list of pieces and wake the I/O threads. */
void gp_io_queue_push(struct gp_io *io, struct gp_io_piece *head, struct gp_io_piece *tail);
/*
 * Take up to max pieces (a list, *n of them); when none is queued, sleep
 * if wait, else return NULL.  NULL with wait set: the reader is closing.
 */
struct gp_io_piece *gp_io_queue_take(struct gp_io *io, unsigned max, int wait, unsigned *n);

/*
 * Account one kernel read of piece p: asked bytes were read at
 * p->off + *done into buf + *done and res came back (bytes or -errno).
 * Returns 1 when the piece needs another read, through the buffered fd
 * from now on (gp_io_piece_next_len bytes), 0 when it is finished, well or
 * not: the bounce copy is done and the batch told.
 */
/*
 * Read piece p with pread(2), resuming short reads (bounce: request_size
 * bytes for a bounced O_DIRECT piece; NULL when p has a destination).
 */
void gp_io_piece_pread(struct gp_io *io, struct gp_io_piece *p, char *bounce);
int gp_io_piece_result(struct gp_io *io, struct gp_io_piece *p, char *buf, uint64_t *done,
		       int64_t res, uint64_t asked);

/*
 * 0 when the file still has the size and modification time it had when it
 * was added; else GP_EIO "<path> changed since it was opened (...): reopen
 * the model".  A path renamed over is logged once and is no error: reads
 * go on from the file as opened, through its descriptor.
 */
int gp_io_file_check(struct gp_io_file *f, int check_path);

/* Whether the first read of p goes through the O_DIRECT fd. */
static inline int gp_io_piece_direct(const struct gp_io_piece *p)
{
	return p->direct && !atomic_load(&p->file->direct_refused);
}

/* Bytes the next read asks for: the whole piece through O_DIRECT, else what is needed. */
static inline uint64_t gp_io_piece_next_len(const struct gp_io_piece *p, uint64_t done,
					    int buffered)
{
	return (buffered ? p->need : p->len) - done;
}

/* The injected fault for this completion, if any (io_fault.c). */
int64_t gp_io_fault_apply(struct gp_io *io, int64_t res, char *buf, uint64_t asked);

/* Run the calling I/O thread on io->numa_node's CPUs (no-op for -1). */
void gp_io_bind_thread(const struct gp_io *io);

#endif
