/*
 * io_uring.c - the io_uring engine: one ring per I/O thread, each keeping
 * up to queue_depth pieces in flight (fixed files, fixed buffers where the
 * memory is registered, O_DIRECT first for direct pieces, short reads
 * resumed through the buffered fd).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_ring.h"
#include "log.h"

struct ring_engine {
	unsigned n;
	struct gp_ring r[];
};

static void submit_slot(struct gp_ring *r, struct gp_ring_slot *s)
{
	struct gp_io *io = r->io;
	struct gp_io_piece *p = s->p;
	struct gp_io_file *f = p->file;
	/* Never NULL: the ring has queue_depth entries and each slot uses at most one. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	int direct = !s->buffered;
	int fixed = r->fixed_files && f->slot >= 0 && r->file_ok[f->slot];
	int fd = fixed ? 2 * f->slot + direct : direct ? f->dfd : f->fd;
	char *buf = s->buf + s->done;
	int idx;

	s->asked = gp_io_piece_next_len(p, s->done, s->buffered);
	idx = gp_ring_buf_index(r, buf, s->asked);
	if (idx >= 0)
		io_uring_prep_read_fixed(sqe, fd, buf, s->asked, p->off + s->done, idx);
	else
		io_uring_prep_read(sqe, fd, buf, s->asked, p->off + s->done);
	if (fixed)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, s);
	atomic_fetch_add(&io->requests, 1);
	if (direct)
		atomic_fetch_add(&io->direct_reads, 1);
}

static void reap(struct gp_ring *r)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
		struct gp_ring_slot *s = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&r->ring, cqe);
		if (gp_io_piece_result(r->io, s->p, s->buf, &s->done, res, s->asked)) {
			s->buffered = 1;
			submit_slot(r, s);
		} else {
			s->next_free = r->free;
			r->free = s;
			r->inflight--;
		}
	}
}

static void *ring_main(void *arg)
{
	struct gp_ring *r = arg;
	struct gp_io *io = r->io;

	gp_io_bind_thread(io);
	for (;;) {
		unsigned room = io->queue_depth - r->inflight, n;
		struct gp_io_piece *p = NULL, *next;
		int ret;

		if (room)
			p = gp_io_queue_take(io, room, r->inflight == 0, &n);
		if (!p && !r->inflight)
			break;
		for (; p; p = next) {
			struct gp_ring_slot *s = r->free;

			next = p->next;
			r->free = s->next_free;
			s->p = p;
			s->buf = p->dst ? p->dst : s->bounce;
			s->done = 0;
			s->buffered = !gp_io_piece_direct(p);
			submit_slot(r, s);
			r->inflight++;
		}
		ret = io_uring_submit_and_wait(&r->ring, 1);
		if (ret == -ENOMEM) {
			/* The kernel is short of memory for the requests: retry shortly. */
			usleep(1000);
			continue;
		}
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			/* Only a bug gets here (bad ring or SQE): pieces would never finish. */
			gp_log_error("io: io_uring_enter: %s", strerror(-ret));
			abort();
		}
		reap(r);
	}
	return NULL;
}

static void ring_stop(struct gp_io *io)
{
	struct ring_engine *e = io->priv;

	for (unsigned i = 0; i < e->n; i++) {
		if (e->r[i].started)
			pthread_join(e->r[i].tid, NULL);
		gp_ring_teardown(&e->r[i]);
	}
	free(e);
	io->priv = NULL;
}

static int ring_start(struct gp_io *io, char *why, size_t why_len)
{
	struct ring_engine *e = calloc(1, sizeof(*e) + io->n_threads * sizeof(e->r[0]));
	int err = 0;

	if (!e) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	io->priv = e;
	for (e->n = 0; e->n < io->n_threads && !err; e->n++)
		err = gp_ring_setup(&e->r[e->n], io, why, why_len);
	for (unsigned i = 0; i < e->n && !err; i++) {
		err = -pthread_create(&e->r[i].tid, NULL, ring_main, &e->r[i]);
		if (err)
			snprintf(why, why_len, "I/O thread: %s", strerror(-err));
		e->r[i].started = !err;
	}
	if (!err)
		return 0;
	pthread_mutex_lock(&io->qlock);
	io->stopping = 1;
	pthread_cond_broadcast(&io->qcond);
	pthread_mutex_unlock(&io->qlock);
	ring_stop(io);
	io->stopping = 0;
	return err;
}

static void ring_file(struct gp_io *io, struct gp_io_file *f, int present)
{
	struct ring_engine *e = io->priv;

	for (unsigned i = 0; i < e->n; i++)
		gp_ring_set_file(&e->r[i], f, present);
}

static void ring_file_added(struct gp_io *io, struct gp_io_file *f)
{
	ring_file(io, f, 1);
}

static void ring_file_removed(struct gp_io *io, struct gp_io_file *f)
{
	ring_file(io, f, 0);
}

static void ring_region_changed(struct gp_io *io)
{
	struct ring_engine *e = io->priv;

	for (unsigned i = 0; i < e->n; i++)
		gp_ring_register_buffers(&e->r[i]);
}

const struct gp_io_engine gp_io_uring_engine = {
	.name = "io_uring",
	.start = ring_start,
	.stop = ring_stop,
	.file_added = ring_file_added,
	.file_removed = ring_file_removed,
	.region_changed = ring_region_changed,
};
