/*
 * heap.h - anonymous device memory the pager may evict (internal; the
 * shim's allocations).  A heap is a gp_model: acquire its ranges with
 * gp_acquire_range_on(..., GP_ACCESS_WRITE, stream) before the GPU uses
 * them and release them after, as for weights.
 */
#ifndef GP_PAGER_HEAP_H
#define GP_PAGER_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gp_model;
struct gp_pager;

/* A heap of size bytes (rounded up to chunks) named name in stats and messages. */
int gp_heap_open(struct gp_pager *p, const char *name, uint64_t size, struct gp_model **out);

/*
 * The whole chunks [offset, offset + len) hold nothing wanted any more:
 * unmapped once the GPU is past their last use, host copies dropped,
 * nothing written back.  They read as zeros when next acquired.
 */
int gp_heap_discard(struct gp_model *m, uint64_t offset, uint64_t len);

/*
 * File-backed chunks (heap_back.c).  The shim tells the heap where the
 * bytes the app copies in come from; a chunk every written byte of which
 * came from files is dropped on eviction (after a device checksum shows
 * it unchanged) and re-read from the files, never swapped.  Calls other
 * than gp_heap_back_free take the pager's lock.
 */
struct gp_heap_file;

/* Track file backing for heap m; evict_anon: other chunks may be evicted (swapped) too. */
int gp_heap_back_enable(struct gp_model *m, bool evict_anon);
void gp_heap_back_free(struct gp_model *m);
/*
 * The file open as fd (the caller's; it is not kept), which must still be
 * the inode (dev, ino) the app mapped: the heap reads it through its own
 * descriptor from now on.  Files are shared by identity.  GP_ENOENT when
 * fd is another file now.
 */
int gp_heap_file_get(struct gp_model *m, int fd, uint64_t dev, uint64_t ino,
		     struct gp_heap_file **out);
/* Heap bytes [off, off + len) now hold file's bytes at file_off. */
void gp_heap_note_file(struct gp_model *m, uint64_t off, uint64_t len, struct gp_heap_file *file,
		       uint64_t file_off);
/* Heap bytes [off, off + len) were written with something else: their chunks are anonymous. */
void gp_heap_note_write(struct gp_model *m, uint64_t off, uint64_t len);

/*
 * Group the heap's chunks by the tensors they hold: a run of file-backed
 * chunks holding only tensors of one of the file's groups ("blocks.3",
 * found by the model's own group detection) becomes one group, named so;
 * every other chunk is a group alone.  The policy then learns the order of
 * blocks, as for a model's gp_acquire_group.  Does nothing unless copies
 * changed what chunks hold since the last call, or the grouping is the
 * same; the shim calls it before each launch.  On error the groups are kept.
 */
int gp_heap_regroup(struct gp_model *m);

struct gp_heap_back_stats {
	uint64_t dropped;               /* file-backed chunks evicted without a copy */
	uint64_t written;               /* file-backed chunks found written: swapped instead */
	uint64_t file_chunks;           /* chunks file-backed now */
};
void gp_heap_back_get_stats(struct gp_model *m, struct gp_heap_back_stats *out);

/* For residency.c (lock held). */
struct gp_io_req;
/* Chunk c is file-backed: its image (zeroed here first) is read from its files. */
bool gp_heap_back_is_file(const struct gp_model *m, uint32_t c);
/* Append chunk c's file reads into image to reqs; GP_EIO when a file changed since mapped. */
int gp_heap_back_reads(struct gp_model *m, uint32_t c, uint8_t *image,
		       int (*add)(struct gp_io_req **, size_t *, size_t *, struct gp_io_req),
		       struct gp_io_req **reqs, size_t *n, size_t *cap, uint64_t *bytes);
/* Chunk c's file image was read: its checksum, once. */
void gp_heap_back_filled(struct gp_model *m, uint32_t c, const uint8_t *image);
/* The policy may evict chunk c under this heap's mode. */
bool gp_heap_back_evictable(const struct gp_model *m, uint32_t c);
/*
 * Chunk c (resident, idle) is about to be evicted: true when it is
 * file-backed and its device bytes still equal its files' (it is dropped);
 * false, and the chunk made anonymous, when it must be swapped.
 */
bool gp_heap_back_may_drop(struct gp_model *m, uint32_t c);
/* Chunk c holds nothing any more (freed). */
void gp_heap_back_reset(struct gp_model *m, uint32_t c);
/*
 * The group (of its file's tensor names) every file byte of chunk c belongs
 * to; NULL when the chunk is not file-backed, holds pieces of several
 * groups (small tensors of different blocks packed together: such a chunk
 * is used by each of them, so it is no part of one block's run) or bytes
 * outside any tensor.
 */
struct gp_group;
const struct gp_group *gp_heap_back_group(const struct gp_model *m, uint32_t c);
/* Whether a chunk changed kind or pieces since the last call (then cleared). */
bool gp_heap_back_take_regroup(struct gp_model *m);
/*
 * Whether an access of group should reach the policy (acquire.c): not a
 * repeat of the group reported last (a launch after a launch on the same
 * block says nothing about the order), and, when only file-backed chunks
 * may be evicted, only their groups.  True for a model without backing.
 */
bool gp_heap_back_reports(struct gp_model *m, uint32_t group);

#endif
