/* bench_load.h - `gpupager bench load`'s state, shared by cmd_bench_load.c and its printing. */
#ifndef GP_TOOLS_BENCH_LOAD_H
#define GP_TOOLS_BENCH_LOAD_H

#include "bench_cmd.h"
#include "bench_peers.h"

#define BENCH_LOAD_MAX_BATCH 32u

enum load_method { M_DIRECT, M_URING, M_PREAD, M_MMAP, N_METHODS };
/* The model as written, and its --pad-header copy. */
enum load_layout { L_FILE, L_PADDED, N_LAYOUTS };

/* Ways: layout * N_METHODS + method, then the peers. */
#define LOAD_WAY(layout, method) ((layout) * N_METHODS + (method))
#define LOAD_PEER_WAY(p) (N_LAYOUTS * N_METHODS + (p))
#define LOAD_N_WAYS (N_LAYOUTS * N_METHODS + BENCH_N_PEERS)

extern const char *const load_way_names[LOAD_N_WAYS];

struct load {
	struct bench b;                 /* first: the run function gets &l->b */
	uint64_t data_bytes;
	char *buf;                      /* pread's and mmap's destination, pieces cycled */
	uint64_t buf_len;               /* as large as the pool */
	unsigned batch;                 /* pieces per gp_io_read */
	double excluded;                /* checksum seconds in the current run */
	/* The run's files: the model's, or the padded copy's. */
	const struct gp_model_desc *desc;
	struct gp_io_file **files;
	/* --pad-header */
	const char *scratch;            /* where the copy goes */
	char *pad_dir;
	struct gp_model_desc *padded;
	struct gp_io_file **pad_files;  /* the copy's files in the reader */
	/* --peers */
	const char *python;
	bool peers;
	char peer_version[BENCH_N_PEERS][64];
	char peer_skipped[BENCH_N_PEERS][256];
};

/* The report on stdout: a table for people, or one JSON object. */
void bench_load_print_text(const struct load *l);
void bench_load_print_json(const struct load *l);

#endif
