/*
 * io_cached.c - is a file range in the page cache?  O_DIRECT bypasses the
 * cache: right for a cold file (the disk's full speed, no cache pollution),
 * wrong for a warm one, where a buffered read is a memory copy at many
 * times the disk's speed.  A read of a range that is wholly resident goes
 * buffered.  mincore(2) answers for a mapping of the file that is never
 * touched (address space only).
 */
#include <sys/mman.h>
#include <unistd.h>

#include "io_internal.h"

#define WINDOW_PAGES 4096u      /* mincore vector per call: 16 MiB of file with 4 KiB pages */

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

int gp_io_range_cached(const struct gp_io_file *f, uint64_t off, uint64_t len)
{
	static long page;
	unsigned char vec[WINDOW_PAGES];
	uint64_t first, last;

	if (!f->map || !len || off + len > f->size)
		return 0;
	if (!page)
		page = sysconf(_SC_PAGESIZE);
	first = off / (uint64_t)page;
	last = (off + len - 1) / (uint64_t)page;
	for (uint64_t p = first; p <= last; p += WINDOW_PAGES) {
		uint64_t n = last - p + 1 < WINDOW_PAGES ? last - p + 1 : WINDOW_PAGES;

		if (mincore((char *)f->map + p * (uint64_t)page, n * (uint64_t)page, vec))
			return 0;
		for (uint64_t i = 0; i < n; i++)
			if (!(vec[i] & 1))
				return 0;
	}
	return 1;
}
