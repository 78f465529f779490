/*
 * io_pread.c - the fallback engine: a pool of threads, each taking one
 * piece at a time and reading it with pread(2).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io_internal.h"

struct pread_worker {
	struct gp_io *io;
	pthread_t tid;
	int started;
	char *bounce;           /* request_size bytes, page aligned */
};

struct pread_engine {
	unsigned n;
	struct pread_worker w[];
};

static void *worker_main(void *arg)
{
	struct pread_worker *w = arg;
	struct gp_io_piece *p;
	unsigned n;

	gp_io_bind_thread(w->io);
	while ((p = gp_io_queue_take(w->io, 1, 1, &n)))
		gp_io_piece_pread(w->io, p, w->bounce);
	return NULL;
}

static void pread_stop(struct gp_io *io)
{
	struct pread_engine *e = io->priv;

	for (unsigned i = 0; i < e->n; i++) {
		if (e->w[i].started)
			pthread_join(e->w[i].tid, NULL);
		if (e->w[i].bounce)
			munmap(e->w[i].bounce, io->request_size);
	}
	free(e);
	io->priv = NULL;
}

static int pread_start(struct gp_io *io, char *why, size_t why_len)
{
	struct pread_engine *e = calloc(1, sizeof(*e) + io->n_threads * sizeof(e->w[0]));
	int err;

	if (!e) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	io->priv = e;
	e->n = io->n_threads;
	for (unsigned i = 0; i < e->n; i++) {
		struct pread_worker *w = &e->w[i];

		w->io = io;
		w->bounce = mmap(NULL, io->request_size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (w->bounce == MAP_FAILED) {
			w->bounce = NULL;
			err = -errno;
			snprintf(why, why_len, "bounce buffer: %s", strerror(errno));
			goto fail;
		}
		madvise(w->bounce, io->request_size, MADV_DONTFORK);
		err = -pthread_create(&w->tid, NULL, worker_main, w);
		if (err) {
			snprintf(why, why_len, "I/O thread: %s", strerror(-err));
			goto fail;
		}
		w->started = 1;
	}
	return 0;

fail:
	pthread_mutex_lock(&io->qlock);
	io->stopping = 1;
	pthread_cond_broadcast(&io->qcond);
	pthread_mutex_unlock(&io->qlock);
	pread_stop(io);
	io->stopping = 0;
	return err;
}

const struct gp_io_engine gp_io_pread_engine = {
	.name = "pread",
	.start = pread_start,
	.stop = pread_stop,
};
