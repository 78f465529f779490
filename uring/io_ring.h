/*
 * io_ring.h - one I/O thread's io_uring (io_uring.c runs it, io_ring.c
 * sets it up and keeps its registered files and buffers).
 *
 * Fixed files: a sparse table of 2 * GP_IO_MAX_FILES entries, file slot s
 * at 2s (buffered) and 2s + 1 (O_DIRECT).  Fixed buffers: index 0 is the
 * thread's bounce area, 1.. the registered region cut into 1 GiB pieces.
 */
#ifndef GP_URING_IO_RING_H
#define GP_URING_IO_RING_H

#include <liburing.h>

#include "io_internal.h"

/* One request in flight. */
struct gp_ring_slot {
	struct gp_io_piece *p;
	char *bounce;           /* request_size bytes of the ring's bounce area */
	char *buf;              /* the piece's destination, or bounce */
	uint64_t done;
	uint64_t asked;
	int buffered;           /* reads go through the buffered fd */
	struct gp_ring_slot *next_free;
};

struct gp_ring {
	struct gp_io *io;
	struct io_uring ring;
	int ring_ok;
	pthread_t tid;
	int started;
	char *bounce;           /* queue_depth buffers of request_size */
	size_t bounce_len;
	struct gp_ring_slot *slots;
	struct gp_ring_slot *free;
	unsigned inflight;
	int fixed_files;        /* the sparse file table is registered */
	int fixed_bounce;       /* buffer 0 is registered */
	int fixed_region;       /* buffers 1.. are registered */
	unsigned char file_ok[GP_IO_MAX_FILES]; /* the slot's entries hold the file */
};

/* Ring, slots, bounce area, file table; why says what failed. */
int gp_ring_setup(struct gp_ring *r, struct gp_io *io, char *why, size_t why_len);
void gp_ring_teardown(struct gp_ring *r);
/* Register the bounce area and io->region (if any) as fixed buffers. */
void gp_ring_register_buffers(struct gp_ring *r);
/* Point file's fixed-file entries at its descriptors, or clear them. */
void gp_ring_set_file(struct gp_ring *r, const struct gp_io_file *f, int present);
/* Fixed-buffer index holding [buf, buf + len), or -1. */
int gp_ring_buf_index(const struct gp_ring *r, const char *buf, uint64_t len);

#endif
