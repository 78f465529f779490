/*
 * hostview.c - opening and closing a host view: the userfaultfd range and
 * its handler thread, or the plain mmap fallback.  The fault handling is
 * in hostview_handler.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "hostpool.h"
#include "hostview_priv.h"
#include "io.h"
#include "log.h"

#define DEFAULT_READAHEAD 2

/* A fresh userfaultfd with the POISON feature, or -1 with *why set. */
static int open_uffd(char *why, size_t why_len)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_POISON };
	int dev, fd;

	/* /dev/userfaultfd's descriptors handle kernel-mode faults without the sysctl. */
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	fd = dev >= 0 ? ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK) : -1;
	if (fd < 0) {
		snprintf(why, why_len, "/dev/userfaultfd: %s", strerror(errno));
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			size_t n = strlen(why);

			snprintf(why + n, why_len - n, ", userfaultfd(2): %s", strerror(errno));
		}
	}
	if (dev >= 0)
		close(dev);
	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api)) {
		snprintf(why, why_len, "UFFDIO_API with UFFD_FEATURE_POISON: %s (kernel < 6.6?)",
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Map the view's range and register it for missing-page faults; *why on failure. */
static int map_uffd_range(struct gp_host_view *view, char *why, size_t why_len)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	const uint64_t needed = (1ull << _UFFDIO_COPY) | (1ull << _UFFDIO_POISON);

	view->base = mmap(NULL, view->map_len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	if (view->base == MAP_FAILED) {
		view->base = NULL;
		return gp_fail(GP_EHOSTMEM, "host view: reserving %" PRIu64 " bytes: %s",
			       view->map_len, strerror(errno));
	}
	/* A fork()ed child gets SIGSEGV on the range, never silent zeros. */
	if (madvise(view->base, view->map_len, MADV_DONTFORK))
		return gp_fail(GP_EIO, "host view: MADV_DONTFORK: %s", strerror(errno));
	reg.range.start = (uintptr_t)view->base;
	reg.range.len = view->map_len;
	if (ioctl(view->uffd, UFFDIO_REGISTER, &reg)) {
		snprintf(why, why_len, "UFFDIO_REGISTER: %s", strerror(errno));
		return 1;
	}
	if ((reg.ioctls & needed) != needed) {
		snprintf(why, why_len, "UFFDIO_COPY/UFFDIO_POISON not offered on the range");
		return 1;
	}
	return 0;
}

static int open_mmap(struct gp_host_view *view, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return gp_fail(errno == ENOENT ? GP_ENOENT : GP_EIO, "host view: %s: %s", path,
			       strerror(errno));
	view->base = mmap(NULL, view->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (view->base == MAP_FAILED) {
		view->base = NULL;
		return gp_fail(GP_EIO, "host view: mmap of %s: %s", path, strerror(errno));
	}
	view->kind = GP_VIEW_MMAP;
	return 0;
}

static int start_handler(struct gp_host_view *view)
{
	int rc;

	view->state = calloc(view->n_chunks, 1);
	if (!view->state)
		return gp_fail(GP_ENOMEM, "host view: out of memory for %" PRIu64 " chunks",
			       view->n_chunks);
	rc = gp_host_pool_owner_add(view->pool, gp_host_view_evict, view, &view->owner);
	if (rc)
		return rc;
	view->owner_added = true;
	view->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (view->stop_fd < 0)
		return gp_fail(GP_EIO, "host view: eventfd: %s", strerror(errno));
	rc = pthread_create(&view->handler, NULL, gp_host_view_handler, view);
	if (rc)
		return gp_fail(GP_ENOMEM, "host view: starting the fault handler: %s", strerror(rc));
	view->handler_running = true;
	return 0;
}

int gp_host_view_open(const struct gp_host_view_opts *opts, struct gp_host_view **out)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	const char *path = opts->path ? opts->path : gp_io_file_path(opts->file);
	struct gp_host_view *view;
	char why[256] = "";
	uint32_t slots;
	int err;

	view = calloc(1, sizeof(*view));
	if (!view)
		return gp_fail(GP_ENOMEM, "host view: out of memory");
	view->uffd = view->stop_fd = -1;
	view->prev_end = -1;
	pthread_mutex_init(&view->lock, NULL);
	view->pool = opts->pool;
	view->io = opts->io;
	view->file = opts->file;
	view->size = gp_io_file_size(opts->file);
	view->chunk = gp_host_pool_slot_size(opts->pool);
	view->map_len = (view->size + page - 1) / page * page;
	view->n_chunks = (view->size + view->chunk - 1) / view->chunk;
	/* Read-ahead must leave room in the pool for the chunk being touched. */
	slots = gp_host_pool_slot_count(opts->pool);
	view->readahead = opts->readahead_chunks ? opts->readahead_chunks : DEFAULT_READAHEAD;
	if (view->readahead > slots / 4)
		view->readahead = slots / 4;
	if (!view->size) {
		err = gp_fail(GP_EINVAL, "host view: %s is empty", path);
		goto fail;
	}

	if (opts->force_mmap)
		snprintf(why, sizeof(why), "force_mmap");
	else
		view->uffd = open_uffd(why, sizeof(why));
	if (view->uffd >= 0) {
		err = map_uffd_range(view, why, sizeof(why));
		if (err < 0)
			goto fail;
		if (err > 0) {
			munmap(view->base, view->map_len);
			view->base = NULL;
			close(view->uffd);
			view->uffd = -1;
		}
	}
	if (view->uffd < 0) {
		gp_log_info("host view: userfaultfd %s (%s); using a plain mmap of %s",
			    opts->force_mmap ? "off" : "not permitted", why, path);
		err = open_mmap(view, path);
		if (err)
			goto fail;
		*out = view;
		return 0;
	}
	view->kind = GP_VIEW_UFFD;
	err = start_handler(view);
	if (err)
		goto fail;
	gp_log_debug("host view: %s through userfaultfd, %" PRIu64 " chunks, read-ahead %u",
		     path, view->n_chunks, view->readahead);
	*out = view;
	return 0;
fail:
	gp_host_view_close(view);
	return err;
}

void gp_host_view_close(struct gp_host_view *view)
{
	uint64_t one = 1;

	if (!view)
		return;
	if (view->handler_running) {
		if (write(view->stop_fd, &one, sizeof(one)) != sizeof(one))
			gp_log_warn("host view: signalling the fault handler: %s", strerror(errno));
		pthread_join(view->handler, NULL);
	}
	/* Waits for evict callbacks running on other threads. */
	if (view->owner_added)
		gp_host_pool_owner_remove(view->pool, view->owner);
	if (view->base)
		munmap(view->base, view->kind == GP_VIEW_MMAP ? view->size : view->map_len);
	if (view->stop_fd >= 0)
		close(view->stop_fd);
	if (view->uffd >= 0)
		close(view->uffd);
	pthread_mutex_destroy(&view->lock);
	free(view->state);
	free(view);
}

const void *gp_host_view_base(const struct gp_host_view *view)
{
	return view->base;
}

uint64_t gp_host_view_size(const struct gp_host_view *view)
{
	return view->size;
}

enum gp_host_view_kind gp_host_view_kind(const struct gp_host_view *view)
{
	return view->kind;
}

void gp_host_view_get_stats(const struct gp_host_view *view, struct gp_host_view_stats *out)
{
	out->faults = __atomic_load_n(&view->stats.faults, __ATOMIC_RELAXED);
	out->loads = __atomic_load_n(&view->stats.loads, __ATOMIC_RELAXED);
	out->readaheads = __atomic_load_n(&view->stats.readaheads, __ATOMIC_RELAXED);
	out->drops = __atomic_load_n(&view->stats.drops, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&view->stats.errors, __ATOMIC_RELAXED);
}
