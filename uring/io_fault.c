/* io_fault.c - injected EIO and short reads, applied at completion time (io_fault.h). */
#include <errno.h>
#include <string.h>

#include "io_fault.h"
#include "io_internal.h"

void gp_io_inject(struct gp_io *io, enum gp_io_fault kind, uint64_t after_n_requests,
		  uint64_t count)
{
	uint64_t from = atomic_load(&io->completions) + after_n_requests;

	atomic_store(&io->fault_to, 0);
	atomic_store(&io->fault_kind, kind);
	atomic_store(&io->fault_from, from);
	atomic_store(&io->fault_to, from + count);
}

int64_t gp_io_fault_apply(struct gp_io *io, int64_t res, char *buf, uint64_t asked)
{
	uint64_t n = atomic_fetch_add(&io->completions, 1);
	int64_t cut;

	if (n < atomic_load(&io->fault_from) || n >= atomic_load(&io->fault_to))
		return res;
	if (atomic_load(&io->fault_kind) == GP_IO_FAULT_EIO)
		return -EIO;
	if (res < 2 || (uint64_t)res > asked)
		return res;
	cut = res / 2;
	memset(buf + cut, 0xa5, res - cut);
	return cut;
}
