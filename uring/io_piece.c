/*
 * io_piece.c - what a kernel completion means for a piece, the same for
 * both engines: resume short reads, name the file and offset on errors,
 * copy bounce buffers out, tell the batch.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpupager.h"
#include "io_internal.h"
#include "log.h"

static void piece_done(struct gp_io_piece *p, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void piece_done(struct gp_io_piece *p, int err, const char *fmt, ...)
{
	struct gp_io_batch *b = p->batch;
	va_list ap;

	pthread_mutex_lock(&b->lock);
	if (err && !b->err) {
		b->err = err;
		va_start(ap, fmt);
		vsnprintf(b->msg, sizeof(b->msg), fmt, ap);
		va_end(ap);
	}
	/* The caller frees the pieces once left is 0: p is not touched after this. */
	if (--b->left == 0)
		pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* Where the file ends now: its size, or where the read hit the end. */
static uint64_t file_end(const struct gp_io_piece *p, uint64_t done)
{
	struct stat st;

	if (fstat(p->file->fd, &st) == 0 && (uint64_t)st.st_size < p->off + done)
		return st.st_size;
	return p->off + done;
}

int gp_io_piece_result(struct gp_io *io, struct gp_io_piece *p, char *buf, uint64_t *done,
		       int64_t res, uint64_t asked)
{
	struct gp_io_file *f = p->file;

	res = gp_io_fault_apply(io, res, buf + *done, asked);
	if (res == -EINTR || res == -EAGAIN)
		return 1;
	if (res == -EINVAL && p->direct && *done == 0 && !atomic_load(&f->direct_refused)) {
		if (!atomic_exchange(&f->direct_refused, 1))
			gp_log_warn("io: %s: O_DIRECT read refused (EINVAL), reading buffered",
				    f->path);
		return 1;
	}
	if (res < 0) {
		piece_done(p, GP_EIO, "%s: read at offset %llu: %s", f->path,
			   (unsigned long long)(p->off + *done), strerror((int)-res));
		return 0;
	}
	if (res == 0 && *done < p->need) {
		piece_done(p, GP_EIO, "%s: file ends at %llu, read needs %llu (truncated or "
			   "replaced while open?)", f->path, (unsigned long long)file_end(p, *done),
			   (unsigned long long)(p->off + p->need));
		return 0;
	}
	*done += res;
	atomic_fetch_add(&io->bytes_device, (uint64_t)res);
	if (*done < p->need) {
		atomic_fetch_add(&io->short_reads, 1);
		return 1;
	}
	if (!p->dst)
		memcpy(p->copy_dst, buf + p->skip, p->copy_len);
	atomic_fetch_add(&io->bytes_read, p->copy_len);
	piece_done(p, 0, "%s", "");
	return 0;
}

void gp_io_piece_pread(struct gp_io *io, struct gp_io_piece *p, char *bounce)
{
	char *buf = p->dst ? p->dst : bounce;
	int buffered = !gp_io_piece_direct(p);
	uint64_t done = 0, asked;
	ssize_t r;

	do {
		asked = gp_io_piece_next_len(p, done, buffered);
		atomic_fetch_add(&io->requests, 1);
		if (!buffered)
			atomic_fetch_add(&io->direct_reads, 1);
		r = pread(buffered ? p->file->fd : p->file->dfd, buf + done, asked, p->off + done);
		buffered = 1;
	} while (gp_io_piece_result(io, p, buf, &done, r < 0 ? -errno : r, asked));
}
