/*
 * config.h - every GPUPAGER_* environment variable, parsed in one place.
 *
 * The table in config.c is the single list: it drives parsing, the error
 * messages ("GPUPAGER_X='v': expected ...") and `gpupager env`, and
 * test_config checks README.md's Environment table against it.  To add a
 * variable, add a field here, a row there and its row in README.md.
 */
#ifndef GP_LIB_CONFIG_H
#define GP_LIB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "gpupager.h"

enum gp_io_mode { GP_IO_AUTO, GP_IO_URING, GP_IO_PREAD };
enum gp_backend_kind { GP_BACKEND_VMM, GP_BACKEND_UM };
/* The order of GPUPAGER_POLICY's words; plan comes from GPUPAGER_PLAN or the options. */
enum gp_policy_kind { GP_POLICY_AUTO, GP_POLICY_LRU, GP_POLICY_CLOCK, GP_POLICY_STATIC,
		      GP_POLICY_PLAN };
/* The order of GPUPAGER_SHIM_EVICT's words. */
enum gp_shim_evict { GP_SHIM_EVICT_ALL, GP_SHIM_EVICT_NONE, GP_SHIM_EVICT_WEIGHTS };
enum gp_io_fail_kind { GP_IO_FAIL_NONE, GP_IO_FAIL_EIO, GP_IO_FAIL_SHORT };

struct gp_config {
	int log_level;              /* enum gp_log_level */
	uint64_t chunk_size;        /* bytes, power of two */
	uint64_t vram_budget;       /* bytes, or 0 when vram_budget_pct is set */
	double vram_budget_pct;     /* percent of free device memory */
	uint64_t vram_headroom;     /* bytes kept free under cuMemGetInfo */
	uint64_t host_budget;       /* bytes, or 0 when host_budget_pct is set */
	double host_budget_pct;     /* percent of MemAvailable */
	int io_mode;                /* enum gp_io_mode */
	int backend;                /* enum gp_backend_kind */
	int policy;                 /* enum gp_policy_kind */
	int prefetch_groups;        /* auto policy's prefetch room in groups; 0: its cost rule */
	int numa_node;              /* -1: from the GPU's PCI bus id */
	const char *cuda_lib;       /* driver library to dlopen */
	const char *kernels_dir;    /* kernel modules' directory, or NULL: the build's */
	const char *swap_blocks;    /* validated range text, or NULL */
	const char *group_pattern;  /* validated regex, or NULL */
	double group_split_pct;     /* split groups over this percent of the model; 0: off */
	const char *trace_path;     /* GPUPAGER_TRACE: trace every pager to this file, or NULL */
	const char *plan_path;      /* GPUPAGER_PLAN: the plan policy's plan file, or NULL */
	/* Read by the LD_PRELOAD shim (shim/) only. */
	int shim_evict;             /* enum gp_shim_evict: what the shim may evict */
	int shim_stats;             /* 1: print the pager's stats line to stderr at exit */
	const char *shim_stats_file; /* GPUPAGER_SHIM_STATS_FILE: JSON stats appended at exit, or NULL */
	uint64_t shim_heap;         /* bytes of address space for app allocations; 0: auto */
	/* Read by the simulated device (cuda/sim) only. */
	uint64_t sim_vram;
	double sim_h2d_gbps;
	const char *sim_devices;    /* GPUPAGER_SIM_DEVICES, parsed by the simulator */
	const char *sim_fail;       /* fault-injection spec, validated by the simulator */
	/* Testing only: injected read faults (uring/io_fault.c) and their log. */
	int io_fail_kind;           /* enum gp_io_fail_kind */
	uint64_t io_fail_n;         /* the Nth read completion of the process fails (1-based) */
	const char *fault_log;      /* file injectors append to, or NULL */
};

/* One documented variable, for `gpupager env` and the README. */
struct gp_env_doc {
	const char *name;
	const char *accepted;      /* accepted forms */
	const char *default_text;
	const char *help;
};

/*
 * Parse the environment into *cfg (defaults where unset or empty).  On a bad
 * value returns GP_ECONFIG; gp_last_error() names the variable, the value
 * and the accepted forms.
 */
int gp_config_parse(struct gp_config *cfg);

/*
 * The process-wide configuration, parsed once on first use.  Returns the
 * parse error (every time) if the environment is invalid.
 */
int gp_config_get(const struct gp_config **cfg);

/* The i-th documented variable, or NULL past the last. */
const struct gp_env_doc *gp_config_doc(size_t i);

#endif
