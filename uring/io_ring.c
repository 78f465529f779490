/*
 * io_ring.c - setting up one I/O thread's ring: the ring itself, its
 * request slots and bounce area, fixed files and fixed buffers (io_ring.h).
 */
#include <errno.h>
#include <numa.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "io_ring.h"
#include "log.h"

/* Why io_uring_setup failed, for "io: io_uring unavailable (<why>)". */
static void describe_failure(int e, char *why, size_t why_len)
{
	FILE *fp;
	int disabled = 0;

	if (e == EPERM && (fp = fopen("/proc/sys/kernel/io_uring_disabled", "r"))) {
		if (fscanf(fp, "%d", &disabled) != 1)
			disabled = 0;
		fclose(fp);
	}
	if (disabled)
		snprintf(why, why_len, "kernel.io_uring_disabled=%d", disabled);
	else if (e == EPERM)
		snprintf(why, why_len, "io_uring_setup: %s (seccomp or container policy?)",
			 strerror(e));
	else if (e == ENOSYS)
		snprintf(why, why_len, "io_uring_setup: %s (kernel without io_uring?)",
			 strerror(e));
	else
		snprintf(why, why_len, "io_uring_setup: %s", strerror(e));
}

/* Let the ring's kernel workers (punted buffered reads) run on the I/O node too. */
static void set_worker_affinity(struct gp_ring *r)
{
	struct bitmask *cpus;
	cpu_set_t set;

	if (r->io->numa_node < 0 || numa_available() < 0 || r->io->numa_node > numa_max_node())
		return;
	cpus = numa_allocate_cpumask();
	if (!cpus)
		return;
	CPU_ZERO(&set);
	if (numa_node_to_cpus(r->io->numa_node, cpus) == 0) {
		for (unsigned c = 0; c < CPU_SETSIZE && c < cpus->size; c++)
			if (numa_bitmask_isbitset(cpus, c))
				CPU_SET(c, &set);
		if (CPU_COUNT(&set))
			io_uring_register_iowq_aff(&r->ring, sizeof(set), &set);
	}
	numa_free_cpumask(cpus);
}

int gp_ring_setup(struct gp_ring *r, struct gp_io *io, char *why, size_t why_len)
{
	uint64_t rs = io->request_size;
	int ret;

	r->io = io;
	ret = io_uring_queue_init(io->queue_depth, &r->ring, 0);
	if (ret < 0) {
		describe_failure(-ret, why, why_len);
		return ret;
	}
	r->ring_ok = 1;
	r->slots = calloc(io->queue_depth, sizeof(*r->slots));
	r->bounce_len = io->queue_depth * rs;
	r->bounce = mmap(NULL, r->bounce_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!r->slots || r->bounce == MAP_FAILED) {
		r->bounce = NULL;
		snprintf(why, why_len, "out of memory for %u request slots", io->queue_depth);
		return -ENOMEM;
	}
	madvise(r->bounce, r->bounce_len, MADV_DONTFORK);
	for (unsigned i = 0; i < io->queue_depth; i++) {
		r->slots[i].bounce = r->bounce + i * rs;
		r->slots[i].next_free = r->free;
		r->free = &r->slots[i];
	}
	ret = io_uring_register_files_sparse(&r->ring, 2 * GP_IO_MAX_FILES);
	if (ret < 0)
		gp_log_debug("io: fixed files unavailable: %s", strerror(-ret));
	r->fixed_files = ret == 0;
	gp_ring_register_buffers(r);
	set_worker_affinity(r);
	return 0;
}

void gp_ring_teardown(struct gp_ring *r)
{
	if (r->ring_ok)
		io_uring_queue_exit(&r->ring);
	if (r->bounce)
		munmap(r->bounce, r->bounce_len);
	free(r->slots);
}

void gp_ring_register_buffers(struct gp_ring *r)
{
	struct gp_io *io = r->io;
	size_t n_region = (io->region_len + GP_IO_FIXED_BUF_MAX - 1) / GP_IO_FIXED_BUF_MAX;
	struct iovec *iov = calloc(1 + n_region, sizeof(*iov));
	int ret;

	if (r->fixed_bounce)
		io_uring_unregister_buffers(&r->ring);
	r->fixed_bounce = r->fixed_region = 0;
	if (!iov)
		return;
	iov[0] = (struct iovec){ r->bounce, r->bounce_len };
	for (size_t i = 0; i < n_region; i++) {
		size_t at = i * GP_IO_FIXED_BUF_MAX, left = io->region_len - at;

		iov[1 + i].iov_base = io->region + at;
		iov[1 + i].iov_len = left < GP_IO_FIXED_BUF_MAX ? left : GP_IO_FIXED_BUF_MAX;
	}
	ret = io_uring_register_buffers(&r->ring, iov, 1 + n_region);
	if (ret < 0 && n_region) {
		gp_log_warn("io: registering %zu bytes at %p as fixed buffers: %s; reads into "
			    "them use plain buffers", io->region_len, (void *)io->region,
			    strerror(-ret));
		ret = io_uring_register_buffers(&r->ring, iov, 1);
		n_region = 0;
	}
	if (ret < 0)
		gp_log_debug("io: fixed bounce buffers unavailable: %s", strerror(-ret));
	r->fixed_bounce = ret == 0;
	r->fixed_region = ret == 0 && n_region;
	free(iov);
}

void gp_ring_set_file(struct gp_ring *r, const struct gp_io_file *f, int present)
{
	int fds[2] = { present ? f->fd : -1, present ? f->dfd : -1 };
	int ret;

	r->file_ok[f->slot] = 0;
	if (!r->fixed_files)
		return;
	ret = io_uring_register_files_update(&r->ring, 2 * f->slot, fds, 2);
	if (ret < 0)
		gp_log_debug("io: %s: fixed file: %s", f->path, strerror(-ret));
	r->file_ok[f->slot] = present && ret == 2;
}

int gp_ring_buf_index(const struct gp_ring *r, const char *buf, uint64_t len)
{
	const char *region = r->io->region;
	size_t i;

	if (r->fixed_bounce && buf >= r->bounce && buf + len <= r->bounce + r->bounce_len)
		return 0;
	if (!r->fixed_region || buf < region || buf + len > region + r->io->region_len)
		return -1;
	i = (size_t)(buf - region) / GP_IO_FIXED_BUF_MAX;
	if (buf + len > region + (i + 1) * GP_IO_FIXED_BUF_MAX)
		return -1;
	return 1 + (int)i;
}
