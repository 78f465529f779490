/*
 * io_file.c - files of the reader: open, size check, the O_DIRECT
 * descriptor with its alignment (statx STATX_DIOALIGN), fixed-file slots.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "io_internal.h"
#include "log.h"

/* Where the file system reports no alignment: page size for both. */
#define GP_IO_DEFAULT_DIO_ALIGN 4096u

static int pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

/*
 * Open a second, O_DIRECT descriptor of the same inode (through
 * /proc/self/fd, so a file renamed over the path meanwhile is not picked
 * up) when the file system allows it; otherwise the file stays buffered.
 */
static void open_direct(struct gp_io *io, struct gp_io_file *f)
{
	struct statx stx;
	struct stat a, b;
	char proc[64];
	uint32_t off_align = GP_IO_DEFAULT_DIO_ALIGN, mem_align = GP_IO_DEFAULT_DIO_ALIGN;
	int dfd;

	if (statx(f->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN)) {
		if (!stx.stx_dio_offset_align) {
			gp_log_debug("io: %s: the file system has no O_DIRECT, reading buffered",
				     f->path);
			return;
		}
		off_align = stx.stx_dio_offset_align;
		mem_align = stx.stx_dio_mem_align;
	}
	if (!pow2(off_align) || !pow2(mem_align) || mem_align > GP_IO_BOUNCE_ALIGN ||
	    io->request_size % off_align) {
		gp_log_debug("io: %s: O_DIRECT alignment %u/%u unusable, reading buffered",
			     f->path, off_align, mem_align);
		return;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
	dfd = open(proc, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (dfd < 0) {
		gp_log_debug("io: %s: O_DIRECT open: %s, reading buffered", f->path,
			     strerror(errno));
		return;
	}
	if (fstat(f->fd, &a) || fstat(dfd, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(dfd);
		return;
	}
	f->dfd = dfd;
	f->off_align = off_align;
	f->mem_align = mem_align;
}

static int open_file(const char *path, uint64_t expected_size, int *fd_out,
		     struct gp_io_file *f)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return gp_fail(errno == ENOENT ? GP_ENOENT : GP_EIO, "%s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st)) {
		int e = errno;

		close(fd);
		return gp_fail(GP_EIO, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return gp_fail(GP_EIO, "%s: not a regular file", path);
	}
	if (expected_size != UINT64_MAX && (uint64_t)st.st_size != expected_size) {
		close(fd);
		return gp_fail(GP_EIO, "%s: size %llu, expected %llu: the file changed since it "
			       "was opened", path, (unsigned long long)st.st_size,
			       (unsigned long long)expected_size);
	}
	*fd_out = fd;
	f->size = st.st_size;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->mtime = st.st_mtim;
	return 0;
}

int gp_io_file_check(struct gp_io_file *f, int check_path)
{
	struct stat st;

	if (fstat(f->fd, &st))
		return gp_fail(GP_EIO, "%s: fstat: %s", f->path, strerror(errno));
	if ((uint64_t)st.st_size != f->size)
		return gp_fail(GP_EIO, "%s changed since it was opened (size %llu -> %llu): "
			       "reopen the model", f->path, (unsigned long long)f->size,
			       (unsigned long long)st.st_size);
	if (st.st_mtim.tv_sec != f->mtime.tv_sec || st.st_mtim.tv_nsec != f->mtime.tv_nsec)
		return gp_fail(GP_EIO, "%s changed since it was opened (same size, modified at "
			       "%lld.%09ld, opened at %lld.%09ld): reopen the model", f->path,
			       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			       (long long)f->mtime.tv_sec, f->mtime.tv_nsec);
	if (check_path && !atomic_load(&f->replaced_logged) &&
	    (stat(f->path, &st) || st.st_dev != f->dev || st.st_ino != f->ino) &&
	    !atomic_exchange(&f->replaced_logged, 1))
		gp_log_warn("io: %s was replaced or removed since it was opened; reading on from "
			    "the file as opened (reopen the model to see the new one)", f->path);
	return 0;
}

int gp_io_add_file(struct gp_io *io, const char *path, uint64_t expected_size,
		   struct gp_io_file **out)
{
	struct gp_io_file *f = calloc(1, sizeof(*f));
	int err;

	if (!f || !(f->path = strdup(path))) {
		free(f);
		return gp_fail(GP_ENOMEM, "%s: out of memory", path);
	}
	f->io = io;
	f->dfd = -1;
	f->slot = -1;
	err = open_file(path, expected_size, &f->fd, f);
	if (err) {
		free(f->path);
		free(f);
		return err;
	}
	if (io->use_direct)
		open_direct(io, f);
	gp_io_cache_map(f);

	pthread_mutex_lock(&io->flock);
	for (int i = 0; i < GP_IO_MAX_FILES; i++) {
		if (!io->slot_used[i]) {
			io->slot_used[i] = 1;
			f->slot = i;
			break;
		}
	}
	f->next = io->files;
	io->files = f;
	pthread_mutex_unlock(&io->flock);
	if (f->slot >= 0 && io->engine->file_added)
		io->engine->file_added(io, f);
	gp_log_debug("io: %s: %llu bytes, %s", path, (unsigned long long)f->size,
		     f->dfd >= 0 ? "O_DIRECT" : "buffered");
	*out = f;
	return 0;
}

void gp_io_remove_file(struct gp_io *io, struct gp_io_file *file)
{
	struct gp_io_file **p;

	if (!file)
		return;
	if (file->slot >= 0 && io->engine->file_removed)
		io->engine->file_removed(io, file);
	pthread_mutex_lock(&io->flock);
	for (p = &io->files; *p; p = &(*p)->next) {
		if (*p == file) {
			*p = file->next;
			break;
		}
	}
	if (file->slot >= 0)
		io->slot_used[file->slot] = 0;
	pthread_mutex_unlock(&io->flock);
	if (file->dfd >= 0)
		close(file->dfd);
	gp_io_cache_unmap(file);
	close(file->fd);
	free(file->path);
	free(file);
}

const char *gp_io_file_path(const struct gp_io_file *file)
{
	return file->path;
}

uint64_t gp_io_file_size(const struct gp_io_file *file)
{
	return file->size;
}

int gp_io_file_direct(const struct gp_io_file *file)
{
	return file->dfd >= 0;
}
