/*
 * backing.c - which host buffers are views of .safetensors files, and
 * what the app's copies into the heap therefore hold (pager/heap_back.c).
 *
 * A copy's source is looked up in /proc/self/maps, and only for copies to
 * the heap: processes that never copy to a GPU pay nothing, and no libc
 * call is wrapped.  A mapping of a file whose name ends in .safetensors is
 * a view; the heap opens its own descriptor of the same inode at once, so
 * what it re-reads later cannot be a file renamed over the path.  Mappings
 * found are cached, views and others alike (one copy per tensor, tensors
 * in few mappings; a staging buffer reused every step).  A stale entry
 * (the range unmapped and mapped again) can only be wrong in a way the
 * device checksum before every drop catches: the chunk is then swapped.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "heap.h"
#include "log.h"
#include "shim.h"

#define SUFFIX ".safetensors"
#define MAX_VIEWS 64

struct view {
	struct gp_model *heap;          /* whose file handle: one heap per device */
	uintptr_t start, end;
	uint64_t file_off;              /* of start */
	struct gp_heap_file *file;      /* NULL: not a view */
};

static pthread_mutex_t views_lock = PTHREAD_MUTEX_INITIALIZER;
static struct view views[MAX_VIEWS];
static size_t n_views, next_view;

static bool is_weights_path(const char *path)
{
	size_t n = strlen(path), s = sizeof(SUFFIX) - 1;

	return n > s && !strcmp(path + n - s, SUFFIX);
}

/* A cached view of heap's holding [src, src + n) (views_lock held). */
static const struct view *cached(struct gp_model *heap, uintptr_t src, size_t n)
{
	for (size_t i = 0; i < n_views; i++)
		if (views[i].heap == heap && src >= views[i].start && n <= views[i].end - src)
			return &views[i];
	return NULL;
}

static struct view *remember(struct view v)
{
	struct view *slot = &views[n_views < MAX_VIEWS ? n_views++ : next_view++ % MAX_VIEWS];

	*slot = v;
	return slot;
}

/* The mapping holding [src, src + n), from /proc/self/maps; a view's file opened (views_lock held). */
static const struct view *find_view(struct shim_engine *e, uintptr_t src, size_t n)
{
	char line[4352], path[4096];
	struct view *found = NULL;
	FILE *f = fopen("/proc/self/maps", "re");

	while (f && !found && fgets(line, sizeof(line), f)) {
		uintptr_t start, end;
		unsigned long long off, ino;
		unsigned int major, minor;
		struct gp_heap_file *file;
		struct stat st;
		int fd;

		path[0] = 0;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %llx %x:%x %llu %4095[^\n]", &start,
			   &end, &off, &major, &minor, &ino, path) < 6)
			continue;
		if (src < start || src >= end)
			continue;
		if (n > end - src)
			break;
		found = remember((struct view){ e->heap, start, end, off, NULL });
		if (!ino || !is_weights_path(path))
			break;
		/* The path must still name the mapped inode; a renamed-over file stays anonymous. */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		if (!fstat(fd, &st) && st.st_ino == ino &&
		    !gp_heap_file_get(e->heap, fd, (uint64_t)st.st_dev, ino, &file))
			found->file = file;
		gp_clear_error();
		close(fd);
	}
	if (f)
		fclose(f);
	return found;
}

void shim_backing_copy(CUdeviceptr dst, const void *src, size_t n)
{
	/* The heap holding dst, whichever device's context made the call. */
	struct shim_engine *e = shim_engine_of(dst);
	uintptr_t s = (uintptr_t)src;
	const struct view *v;
	uint64_t off;

	if (!e || !n)
		return;
	off = dst - e->heap_base;
	if (n > e->heap_size - off)
		n = e->heap_size - off;
	if (e->evict == GP_SHIM_EVICT_NONE || !src) {
		gp_heap_note_write(e->heap, off, n);
		return;
	}
	pthread_mutex_lock(&views_lock);
	v = cached(e->heap, s, n);
	if (!v)
		v = find_view(e, s, n);
	if (v && v->file)
		gp_heap_note_file(e->heap, off, n, v->file, v->file_off + (s - v->start));
	else
		gp_heap_note_write(e->heap, off, n);
	pthread_mutex_unlock(&views_lock);
}
