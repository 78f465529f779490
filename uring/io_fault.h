/*
 * io_fault.h - fault injection for the reader's tests (internal only).
 *
 * Kernel completions are numbered from the reader's open.  After the next
 * after_n_requests completions, the following count completions are
 * altered before either engine looks at them:
 *
 *   GP_IO_FAULT_EIO    the read fails with EIO;
 *   GP_IO_FAULT_SHORT  the read returns half of its bytes (at least one
 *                      byte short when it returned two or more) and the
 *                      bytes it no longer claims are overwritten, so a
 *                      read that is not resumed shows as wrong data.
 *
 * A new call replaces the previous one.
 */
#ifndef GP_URING_IO_FAULT_H
#define GP_URING_IO_FAULT_H

#include <stdint.h>

#include "io.h"

enum gp_io_fault { GP_IO_FAULT_EIO, GP_IO_FAULT_SHORT };

void gp_io_inject(struct gp_io *io, enum gp_io_fault kind, uint64_t after_n_requests,
		  uint64_t count);

#endif
