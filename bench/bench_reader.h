/*
 * bench_reader.h - the pager's reader and host pool as `gpupager bench load`
 * and `bench fault` set them up: every file of the model added to one
 * reader, and a pool of slot-size slots filled by it.
 */
#ifndef GP_TOOLS_BENCH_READER_H
#define GP_TOOLS_BENCH_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "hostpool.h"
#include "io.h"
#include "model.h"

struct bench_reader {
	struct gp_io *io;
	struct gp_io_file **files;      /* one per file of the model, in order */
	struct gp_host_pool *pool;
};

/*
 * The pool's size for need bytes: need rounded up to whole slots, but no
 * more than the whole slots of limit (--pool), and at least one slot.
 */
uint64_t bench_pool_bytes(uint64_t need, uint64_t limit, uint64_t slot);

/*
 * Open the reader (O_DIRECT unless buffered) with every file of desc, then a
 * pool of budget bytes in slot-size slots.  On failure what was opened stays
 * in r: bench_reader_close() it.  r must start zeroed.
 */
int bench_reader_open(struct bench_reader *r, const struct gp_model_desc *desc, bool buffered,
		      uint64_t budget, uint64_t slot);
void bench_reader_close(struct bench_reader *r);

/* Bytes the pool holds: its slots times slot. */
uint64_t bench_reader_pool_bytes(const struct bench_reader *r, uint64_t slot);

#endif
