/*
 * bench_util.h - what `gpupager bench load` and `bench fault` share: clocks,
 * an order-free streaming checksum, page-cache control for a model's files,
 * rates, a table printer and a progress line.
 */
#ifndef GP_TOOLS_BENCH_UTIL_H
#define GP_TOOLS_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include "model.h"

/* Monotonic seconds. */
double bench_now(void);
/* Decimal GB/s (1e9 bytes), 0 when seconds is 0. */
double bench_gbps(uint64_t bytes, double seconds);

/* "30,50,70": up to max percentages in (0, 100] into out; -1 when the text is not that. */
int bench_parse_percents(const char *text, double *out, unsigned max, unsigned *n);

/* Bytes of tensor data in the model: every file's [data_start, size). */
uint64_t bench_data_bytes(const struct gp_model_desc *desc);

/*
 * gp_checksum of a byte stream fed in pieces of any length: equal to the
 * sum of gp_checksum_at(piece, len, offset) over 8-byte aligned pieces, so
 * methods that cut the data differently agree.  Zero-initialise, feed, end.
 */
struct bench_sum {
	uint64_t sum;
	uint64_t offset;        /* bytes fed so far */
	unsigned char tail[8];  /* bytes of the word not complete yet */
	unsigned n_tail;
};
void bench_sum_feed(struct bench_sum *s, const void *data, size_t len);
uint64_t bench_sum_end(struct bench_sum *s);

/*
 * Page cache of the model's files.  bench_cache_drop() asks the kernel to
 * drop each file's pages (posix_fadvise DONTNEED) and checks with mincore
 * what is left; only if pages stay (dirty, or mapped elsewhere) and we are
 * root, it writes "1" to /proc/sys/vm/drop_caches (the whole page cache).
 * how says which was used: "fadvise" or "fadvise+drop_caches".
 * bench_cache_warm() reads every file once with buffered pread.
 * resident is the fraction of the files' pages in the page cache afterwards.
 */
struct bench_cache {
	const char *how;
	double resident;
};
int bench_cache_drop(const struct gp_model_desc *desc, struct bench_cache *out);
int bench_cache_warm(const struct gp_model_desc *desc, struct bench_cache *out);
int bench_cache_resident(const struct gp_model_desc *desc, double *fraction);

/* A text table: first column left-aligned, the others right-aligned. */
#define BENCH_TABLE_COLS 8
#define BENCH_TABLE_ROWS 40
#define BENCH_TABLE_CELL 48
struct bench_table {
	unsigned n_cols, n_rows;        /* rows include the header */
	char cell[BENCH_TABLE_ROWS][BENCH_TABLE_COLS][BENCH_TABLE_CELL];
};
void bench_table_init(struct bench_table *t, unsigned n_cols, const char *const *headers);
/* Add a row of n_cols strings (cut to BENCH_TABLE_CELL - 1 bytes; rows past the last are dropped). */
void bench_table_row(struct bench_table *t, const char *const *cells);
void bench_table_print(const struct bench_table *t, FILE *out);

/*
 * "\rgpupager bench load: uring cold  45% (1.35 of 3.01 GiB), 1.20 GB/s"
 * on stderr when it is a terminal, once a run has taken two seconds;
 * bench_progress_end() clears the line.
 */
struct bench_progress {
	const char *label;
	uint64_t total;
	double start, last;
	int enabled, shown;
};
void bench_progress_start(struct bench_progress *p, const char *label, uint64_t total);
void bench_progress_update(struct bench_progress *p, uint64_t done);
void bench_progress_end(struct bench_progress *p);

#endif
