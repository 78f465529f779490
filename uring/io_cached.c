/*
 * io_cached.c - is a file range in the page cache?  O_DIRECT bypasses the
 * cache: right for a cold file (the disk's full speed, no cache pollution),
 * wrong for a warm one, where a buffered read is a memory copy at many
 * times the disk's speed.  A read of a range that is wholly resident goes
 * buffered, and a batch that is wholly resident is copied by the caller
 * itself.  mincore(2) answers for a mapping of the file that is never
 * touched (address space only; reads never go through it, so a file
 * truncated meanwhile gives an error, not SIGBUS).
 */
#include <sys/mman.h>
#include <unistd.h>

#include "io_internal.h"

void gp_io_cache_map(struct gp_io_file *f)
{
	void *map;

	f->map = NULL;
	if (!f->size)
		return;
	map = mmap(NULL, f->size, PROT_READ, MAP_SHARED, f->fd, 0);
	if (map != MAP_FAILED)
		f->map = map;
}

void gp_io_cache_unmap(struct gp_io_file *f)
{
	if (f->map)
		munmap(f->map, f->size);
	f->map = NULL;
}

/*
 * Residency is sampled, one page in SAMPLE_STRIDE plus the last: the answer
 * only picks the faster way to read correct bytes either way, and a full
 * mincore walk costs one page-cache lookup per page, as much as the read.
 */
#define SAMPLE_STRIDE 64u

int gp_io_range_cached(const struct gp_io_file *f, uint64_t off, uint64_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char v;
	uint64_t first, last;

	if (!f->map || !len || off + len > f->size)
		return 0;
	first = off / (uint64_t)page;
	last = (off + len - 1) / (uint64_t)page;
	for (uint64_t p = first;; p += SAMPLE_STRIDE) {
		if (p > last)
			p = last;
		if (mincore((char *)f->map + p * (uint64_t)page, (size_t)page, &v) || !(v & 1))
			return 0;
		if (p == last)
			return 1;
	}
}
