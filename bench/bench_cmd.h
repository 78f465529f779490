/*
 * bench_cmd.h - the frame of `gpupager bench load` and `bench fault`: the
 * options they share, a grid of runs (each way of reading, cold and warm),
 * the loop that runs them and the checksum check across them.
 *
 * A command embeds struct bench first in its own state, describes itself in
 * a struct bench_cmd and gives a run function; bench_run_all() prepares the
 * page cache, shows progress and calls it for each way and mode asked for.
 */
#ifndef GP_TOOLS_BENCH_CMD_H
#define GP_TOOLS_BENCH_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "bench_reader.h"
#include "bench_util.h"
#include "model.h"

enum bench_mode { BENCH_COLD, BENCH_WARM, BENCH_N_MODES };
extern const char *const bench_mode_names[BENCH_N_MODES];       /* "cold", "warm" */

#define BENCH_MAX_WAYS 16
#define BENCH_MAX_REPEAT 25

/* Help text of the shared options: the first line of the list, and its end. */
#define BENCH_HELP_MODES "  --cold, --warm    only cold or only warm runs (--both, the default: both)\n"
#define BENCH_HELP_END \
	"  --repeat N        N interleaved repetitions of every run (1-25, default 1);\n" \
	"                    figures are medians\n" \
	"  --json            one JSON object on stdout, for scripts\n" \
	"  --help            this text\n\n" \
	"Exit status: 0 success, 1 I/O error or checksum mismatch, 2 usage error.\n"

struct bench_opts {
	const char *model;
	unsigned modes;         /* bit per enum bench_mode */
	uint64_t slot;          /* --slot-size, else GPUPAGER_CHUNK_SIZE */
	uint64_t pool;          /* --pool: most host pool memory */
	int buffered;           /* the reader without O_DIRECT */
	int json;
	unsigned repeat;        /* --repeat: repetitions of every run */
};

struct bench_run {
	bool done;                      /* every repetition ran */
	double seconds;                 /* the median of samples */
	double samples[BENCH_MAX_REPEAT];
	unsigned n_samples;
	uint64_t bytes;
	uint64_t sum;
	struct bench_cache cache;       /* the page cache before the last repetition */
};

struct bench;

struct bench_cmd {
	const char *name;               /* "bench load": messages start "gpupager bench load: " */
	void (*help)(void);
	/* The command's own long options, { 0 }-terminated, vals other than "bcjhpsuw". */
	const struct option *options;
	/* One of them given: 0, or cli_usage_error()'s status. */
	int (*option)(struct bench *b, int c, const char *arg);
	/* --slot-size (and GPUPAGER_CHUNK_SIZE) must pass slot_ok; slot_rule says what it wants. */
	bool (*slot_ok)(uint64_t slot);
	const char *slot_rule;          /* "a power of two from 2M to 1G" */
	unsigned n_ways;
	const char *const *way_names;
	/*
	 * Run way in mode into r (bytes and sum zeroed; seconds its figure;
	 * cache, progress, samples and r->done are done around it).
	 */
	int (*run)(struct bench *b, unsigned way, enum bench_mode mode, struct bench_run *r);
	/* The files way reads (their cache is dropped or warmed); NULL: b->desc for every way. */
	const struct gp_model_desc *(*way_desc)(const struct bench *b, unsigned way);
};

struct bench {
	const struct bench_cmd *cmd;
	struct bench_opts o;
	unsigned ways;                  /* bit per way to run */
	struct gp_model_desc *desc;
	struct bench_reader rd;
	uint64_t progress_total;        /* bytes a run goes through */
	struct bench_progress progress;
	struct bench_run runs[BENCH_MAX_WAYS][BENCH_N_MODES];
};

/*
 * Parse argv into b->o (b->cmd set, the command's own defaults set), then
 * resolve and check the slot size.  0 to go on; -1 after --help; else the
 * exit status (2 usage error, 1 configuration error), the message printed.
 */
int bench_args(struct bench *b, int argc, char **argv);

/*
 * --repeat times: each mode asked for (warm: the files read once first),
 * each way in b->ways; a repetition that reads other bytes than the first
 * is an error.  Then each run's seconds is its median.
 */
int bench_run_all(struct bench *b);

/* The first done run that disagrees in checksum or bytes with the first done run (*ref), or NULL. */
const struct bench_run *bench_mismatch(const struct bench *b, const struct bench_run **ref);

/* "uring cold": the run's way and mode. */
const char *bench_run_label(const struct bench *b, const struct bench_run *r, char buf[32]);

/* Print root on stdout, indented, keys in order, and free it. */
void bench_json_print(json_t *root);

/* Close the reader and free the model's description. */
void bench_close(struct bench *b);

#endif
