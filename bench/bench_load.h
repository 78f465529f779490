/* bench_load.h - `gpupager bench load`'s state, shared by cmd_bench_load.c and its printing. */
#ifndef GP_TOOLS_BENCH_LOAD_H
#define GP_TOOLS_BENCH_LOAD_H

#include "bench_cmd.h"

#define BENCH_LOAD_MAX_BATCH 32u

enum load_method { M_DIRECT, M_URING, M_PREAD, M_MMAP, N_METHODS };

extern const char *const load_method_names[N_METHODS];

struct load {
	struct bench b;                 /* first: the run function gets &l->b */
	uint64_t data_bytes;
	char *buf;                      /* pread's and mmap's destination, pieces cycled */
	uint64_t buf_len;               /* as large as the pool */
	unsigned batch;                 /* pieces per gp_io_read */
	double excluded;                /* checksum seconds in the current run */
};

/* The report on stdout: a table for people, or one JSON object. */
void bench_load_print_text(const struct load *l);
void bench_load_print_json(const struct load *l);

#endif
