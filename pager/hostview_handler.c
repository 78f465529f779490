/*
 * hostview_handler.c - the host view's fault handler thread.
 *
 * A fault on chunk c: the chunk is loaded into a pool slot (read from the
 * file when the slot is fresh), copied into the view with UFFDIO_COPY for
 * the whole chunk at once, and the slot unpinned.  The pool may later
 * evict the slot; the evict callback then drops the chunk's pages so the
 * next touch faults again.  A chunk that cannot be loaded is poisoned:
 * touching it raises SIGBUS rather than showing zeros.
 *
 * One handler thread per view, so chunk states only move EMPTY ->
 * INFLIGHT -> DONE/POISONED here, and DONE -> EMPTY in the evict callback.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "hostpool.h"
#include "hostview_priv.h"
#include "io.h"
#include "log.h"

/* How long a load waits for a slot while every slot is pinned (1 ms steps). */
#define SLOT_WAIT_STEPS 2000
#define MAX_READAHEAD 16

static void count(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static void set_state(struct gp_host_view *view, uint64_t c, uint8_t state)
{
	pthread_mutex_lock(&view->lock);
	view->state[c] = state;
	pthread_mutex_unlock(&view->lock);
}

static uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Bytes of the file in chunk c, and the page-rounded length resolved in the view. */
static uint64_t chunk_bytes(const struct gp_host_view *view, uint64_t c)
{
	uint64_t off = c * view->chunk;

	return view->size - off < view->chunk ? view->size - off : view->chunk;
}

static uint64_t chunk_span(const struct gp_host_view *view, uint64_t c)
{
	uint64_t page = page_size();

	return (chunk_bytes(view, c) + page - 1) / page * page;
}

/*
 * Fill [dst, dst+len) of the view with an UFFDIO_COPY or UFFDIO_POISON
 * loop: EAGAIN (the address space changed under us) retries from the
 * count done, EEXIST (a page is there already) skips that page.
 */
static int uffd_fill(struct gp_host_view *view, char *dst, const char *src, uint64_t len)
{
	uint64_t page = page_size(), done = 0;
	int64_t progress;
	int rc;

	while (done < len) {
		if (src) {
			struct uffdio_copy copy = { .dst = (uintptr_t)(dst + done),
						    .src = (uintptr_t)(src + done),
						    .len = len - done };

			rc = ioctl(view->uffd, UFFDIO_COPY, &copy);
			progress = copy.copy;
		} else {
			struct uffdio_poison poison = { .range = { (uintptr_t)(dst + done),
								   len - done } };

			rc = ioctl(view->uffd, UFFDIO_POISON, &poison);
			progress = poison.updated;
		}
		if (rc == 0) {
			done = len;
		} else if (progress > 0) {
			done += (uint64_t)progress;
		} else if (errno == EEXIST) {
			done += page;
		} else if (errno == EAGAIN) {
			sched_yield();
		} else {
			return -errno;
		}
	}
	return 0;
}

/* Poison chunk c after a failed load, so touching it raises SIGBUS. */
static void poison_chunk(struct gp_host_view *view, uint64_t c)
{
	char *dst = view->base + c * view->chunk;
	int rc;

	gp_log_error("host view: %s: loading %" PRIu64 " bytes at offset %" PRIu64
		     " failed: %s; reads of [%p, +%" PRIu64 ") raise SIGBUS",
		     gp_io_file_path(view->file), chunk_bytes(view, c), c * view->chunk,
		     gp_last_error(), (void *)dst, chunk_span(view, c));
	count(&view->stats.errors, 1);
	pthread_mutex_lock(&view->lock);
	rc = uffd_fill(view, dst, NULL, chunk_span(view, c));
	view->state[c] = GP_CHUNK_POISONED;
	pthread_mutex_unlock(&view->lock);
	/* Without the poison the toucher would wait forever: nothing else can wake it. */
	if (rc)
		gp_log_error("host view: UFFDIO_POISON at %p: %s; the touching thread stays blocked",
			     (void *)dst, strerror(-rc));
}

/* Copy chunk c from its slot into the view and mark it DONE. */
static int resolve_chunk(struct gp_host_view *view, uint64_t c, uint32_t slot)
{
	char *dst = view->base + c * view->chunk;
	int rc;

	pthread_mutex_lock(&view->lock);
	rc = uffd_fill(view, dst, gp_host_pool_slot_addr(view->pool, slot), chunk_span(view, c));
	view->state[c] = rc ? GP_CHUNK_EMPTY : GP_CHUNK_DONE;
	pthread_mutex_unlock(&view->lock);
	gp_host_pool_put(view->pool, slot);
	if (rc)
		return gp_fail(GP_EIO, "host view: UFFDIO_COPY of %" PRIu64 " bytes at %p: %s",
			       chunk_span(view, c), (void *)dst, strerror(-rc));
	return 0;
}

/* The read of chunk c into slot; the bytes past the file's end up to the page end are zero. */
static struct gp_io_req chunk_req(struct gp_host_view *view, uint64_t c, uint32_t slot)
{
	char *dst = gp_host_pool_slot_addr(view->pool, slot);
	uint64_t len = chunk_bytes(view, c);

	memset(dst + len, 0, chunk_span(view, c) - len);
	return (struct gp_io_req){ view->file, c * view->chunk, len, dst };
}

/* Pin chunk c's slot, loading it from the file when fresh; waits a while for a free slot. */
static int load_chunk(struct gp_host_view *view, uint64_t c, uint32_t *slot)
{
	struct gp_io_req req;
	bool fresh;
	int err;

	for (int step = 0;; step++) {
		err = gp_host_pool_get(view->pool, view->owner, c, slot, &fresh);
		if (err != GP_EHOSTMEM || step == SLOT_WAIT_STEPS)
			break;
		usleep(1000);
	}
	if (err || !fresh)
		return err;
	req = chunk_req(view, c, *slot);
	err = gp_io_read(view->io, &req, 1);
	gp_host_pool_filled(view->pool, *slot, err);
	if (!err)
		count(&view->stats.loads, 1);
	return err;
}

/*
 * Load and resolve the EMPTY chunks of [first, last] with one batch of
 * reads; stops at the first chunk that is not EMPTY or finds no slot.
 * Failures leave chunks EMPTY: a fault on them retries (and poisons).
 * Returns the last chunk made resident, or first - 1.
 */
static uint64_t read_ahead(struct gp_host_view *view, uint64_t first, uint64_t last)
{
	struct gp_io_req reqs[MAX_READAHEAD];
	uint32_t slots[MAX_READAHEAD];
	bool fresh[MAX_READAHEAD];
	size_t n = 0, n_reqs = 0;
	uint64_t end = first - 1;
	int err = 0;

	for (uint64_t c = first; c <= last && n < MAX_READAHEAD; c++, n++) {
		bool empty;

		pthread_mutex_lock(&view->lock);
		empty = view->state[c] == GP_CHUNK_EMPTY;
		if (empty)
			view->state[c] = GP_CHUNK_INFLIGHT;
		pthread_mutex_unlock(&view->lock);
		if (!empty)
			break;
		if (gp_host_pool_get(view->pool, view->owner, c, &slots[n], &fresh[n])) {
			gp_clear_error();
			set_state(view, c, GP_CHUNK_EMPTY);
			break;
		}
		if (fresh[n])
			reqs[n_reqs++] = chunk_req(view, c, slots[n]);
	}
	if (n_reqs)
		err = gp_io_read(view->io, reqs, n_reqs);
	for (size_t i = 0; i < n; i++) {
		uint64_t c = first + i;

		if (fresh[i])
			gp_host_pool_filled(view->pool, slots[i], err);
		if (fresh[i] && err) {
			set_state(view, c, GP_CHUNK_EMPTY);
			continue;
		}
		/* Counted first: the copy wakes the toucher, which may read the stats at once. */
		count(&view->stats.readaheads, 1);
		count(&view->stats.loads, fresh[i]);
		if (resolve_chunk(view, c, slots[i])) {
			gp_log_warn("%s", gp_last_error());
			continue;
		}
		if (c == end + 1)
			end = c;
	}
	if (err)
		gp_log_debug("host view: read-ahead of chunks %" PRIu64 "-%" PRIu64 " failed: %s",
			     first, last, gp_last_error());
	return end;
}

static void handle_fault(struct gp_host_view *view, uint64_t addr)
{
	uint64_t c = (addr - (uintptr_t)view->base) / view->chunk, end = c;
	bool sequential;
	uint32_t slot;
	uint8_t state;

	count(&view->stats.faults, 1);
	pthread_mutex_lock(&view->lock);
	state = view->state[c];
	if (state == GP_CHUNK_EMPTY)
		view->state[c] = GP_CHUNK_INFLIGHT;
	pthread_mutex_unlock(&view->lock);
	/* DONE or POISONED: a duplicate of a fault resolved already (the copy woke it). */
	if (state != GP_CHUNK_EMPTY)
		return;
	/* The start of the file counts as sequential: models are mostly read front to back. */
	sequential = (int64_t)c == view->prev_end + 1;
	if (load_chunk(view, c, &slot) || resolve_chunk(view, c, slot)) {
		poison_chunk(view, c);
		view->prev_end = (int64_t)c;
		return;
	}
	if (sequential && view->readahead && c + 1 < view->n_chunks) {
		uint64_t last = c + view->readahead;

		end = read_ahead(view, c + 1, last < view->n_chunks ? last : view->n_chunks - 1);
	}
	view->prev_end = (int64_t)(end > c ? end : c);
}

void *gp_host_view_handler(void *arg)
{
	struct gp_host_view *view = arg;
	struct pollfd fds[2] = { { view->uffd, POLLIN, 0 }, { view->stop_fd, POLLIN, 0 } };
	struct uffd_msg msgs[16];
	ssize_t n;

	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			gp_log_error("host view: poll: %s; fault handler stopped", strerror(errno));
			break;
		}
		if (fds[1].revents)
			break;
		n = read(view->uffd, msgs, sizeof(msgs));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			gp_log_error("host view: reading userfaultfd: %s; fault handler stopped",
				     strerror(errno));
			break;
		}
		for (size_t i = 0; i < (size_t)n / sizeof(msgs[0]); i++)
			if (msgs[i].event == UFFD_EVENT_PAGEFAULT)
				handle_fault(view, msgs[i].arg.pagefault.address);
	}
	return NULL;
}

void gp_host_view_evict(void *ctx, uint64_t index)
{
	struct gp_host_view *view = ctx;

	pthread_mutex_lock(&view->lock);
	if (view->state[index] == GP_CHUNK_DONE) {
		view->state[index] = GP_CHUNK_EMPTY;
		/* The next touch faults again; no UFFD_FEATURE_EVENT_REMOVE, so no event for this. */
		if (madvise(view->base + index * view->chunk, chunk_span(view, index), MADV_DONTNEED))
			gp_log_warn("host view: dropping chunk %" PRIu64 ": %s", index,
				    strerror(errno));
		count(&view->stats.drops, 1);
	}
	pthread_mutex_unlock(&view->lock);
}
