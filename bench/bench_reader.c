/* bench_reader.c - the reader and host pool of `gpupager bench load` and `bench fault`. */
#include <stdlib.h>

#include "bench_reader.h"
#include "error.h"

uint64_t bench_pool_bytes(uint64_t need, uint64_t limit, uint64_t slot)
{
	uint64_t n = (need + slot - 1) / slot * slot;

	n = n < limit ? n : limit / slot * slot;
	return n > slot ? n : slot;
}

int bench_reader_open(struct bench_reader *r, const struct gp_model_desc *desc, bool buffered,
		      uint64_t budget, uint64_t slot)
{
	struct gp_io_opts io_opts;
	struct gp_host_pool_opts pool_opts = { 0 };
	int err;

	gp_io_opts_default(&io_opts);
	io_opts.use_direct = !buffered;
	err = gp_io_open(&io_opts, &r->io);
	if (err)
		return err;
	r->files = calloc(desc->n_files, sizeof(*r->files));
	if (!r->files)
		return gp_fail(GP_ENOMEM, "out of memory");
	for (uint32_t k = 0; k < desc->n_files; k++) {
		err = gp_io_add_file(r->io, desc->files[k].path, desc->files[k].size, &r->files[k]);
		if (err)
			return err;
	}
	pool_opts.budget = budget;
	pool_opts.slot_size = slot;
	pool_opts.numa_node = -1;
	pool_opts.io = r->io;
	return gp_host_pool_open(&pool_opts, &r->pool);
}

void bench_reader_close(struct bench_reader *r)
{
	if (r->pool)
		gp_host_pool_close(r->pool);
	if (r->io)
		gp_io_close(r->io);
	free(r->files);
}

uint64_t bench_reader_pool_bytes(const struct bench_reader *r, uint64_t slot)
{
	return (uint64_t)gp_host_pool_slot_count(r->pool) * slot;
}
