/* run.h - `gpupager run`: options, the forward-pass loop and its report. */
#ifndef GP_TOOLS_RUN_H
#define GP_TOOLS_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include <gpupager.h>

struct run_opts {
	const char *model;
	uint64_t budget;        /* bytes, or ... */
	double budget_pct;      /* ... percent of the model's size (0: GPUPAGER_VRAM_BUDGET) */
	uint64_t host_budget;   /* 0: the model's size, within GPUPAGER_HOST_BUDGET */
	const char *policy;
	const char *swap_blocks;
	const char *plan;       /* --plan FILE: follow it (its budget unless --budget) */
	unsigned steps;
	double compute_ms_per_gb;
	bool verify;
	bool load_all;          /* load the model whole at open when it fits */
	const char *trace;
	bool json;
	bool progress;          /* stderr is a terminal */
	const char *driver_path;        /* NULL: GPUPAGER_CUDA_LIB */
};

struct run_result {
	char device[256];
	bool simulated;
	char policy[16];
	uint64_t model_bytes;           /* the model's device range */
	uint64_t vram_budget;
	uint32_t n_groups, n_tensors;
	unsigned steps;
	double *step_s;                 /* [steps] */
	uint64_t *step_h2d;             /* [steps] bytes copied host -> device */
	uint64_t *step_disk;            /* [steps] bytes read from files */
	double simulated_s_per_step;    /* --compute-ms-per-gb's share */
	double kernel_s_per_step;       /* checksum kernels over the model, as measured */
	double link_gbps;               /* H2D bandwidth measured at start */
	double expected_s;              /* expected-checksum pass (--verify) */
	uint64_t verified, mismatches;  /* tensor checksums compared / wrong */
	struct gp_pager_stats stats;
	char stats_line[256];
	char error[512];                /* the run's own failure message, or empty */
};

int run_parse_args(int argc, char **argv, struct run_opts *o);
/* Open the pager and model, run the steps, fill r; 0 or a GP_E* code. */
int run_model(const struct run_opts *o, struct run_result *r);
void run_report(const struct run_opts *o, const struct run_result *r);
/* The steady step time (steps after the first) and the lower bound, in seconds. */
void run_steady(const struct run_result *r, double *step_s, double *bound_s);
void run_result_free(struct run_result *r);
/* Why run_model failed: the run's own message, else the library's (gp_last_error). */
const char *run_error(const struct run_result *r);
/* Record the run's own failure message; returns err. */
int run_fail(struct run_result *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
