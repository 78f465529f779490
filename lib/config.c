/* config.c - the table of GPUPAGER_* variables and their strict parsers. */
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"

enum var_kind {
	KIND_ENUM,      /* one of the '|'-separated words in accepted */
	KIND_SIZE,      /* gp_parse_size */
	KIND_SIZE_AUTO, /* "auto" (0) or a non-zero gp_parse_size */
	KIND_POW2_SIZE, /* gp_parse_size, power of two in [64 KiB, 1 GiB] */
	KIND_BUDGET,    /* gp_parse_budget: field is a uint64_t followed by a double */
	KIND_NODE,      /* "auto" (-1) or a non-negative int */
	KIND_GBPS,      /* positive decimal */
	KIND_STRING,    /* any non-empty text */
	KIND_RANGES,    /* block ranges, validated */
	KIND_REGEX,     /* POSIX extended regex, validated */
	KIND_SHARE,     /* "off" (0) or a percentage in (0, 100]: a double */
	KIND_IO_FAIL,   /* eio:N or short:N: an int kind followed by a uint64_t N */
};

struct var {
	struct gp_env_doc doc;
	enum var_kind kind;
	size_t offset;
};

#define FIELD(f) offsetof(struct gp_config, f)

static const struct var vars[] = {
	{ { "GPUPAGER_LOG", "error|warn|info|debug", "warn",
	    "Log level; messages go to stderr, one line each, prefixed 'gpupager:'." },
	  KIND_ENUM, FIELD(log_level) },
	{ { "GPUPAGER_CHUNK_SIZE", "size, power of two, 64K..1G (e.g. 2M)", "2M",
	    "Residency unit in the device range; groups start on a chunk boundary. "
	    "Rounded up to the device's allocation granularity." },
	  KIND_POW2_SIZE, FIELD(chunk_size) },
	{ { "GPUPAGER_VRAM_BUDGET", "size (8G) or percent of free device memory (40%)", "90%",
	    "Device memory the pager may use for weights." },
	  KIND_BUDGET, FIELD(vram_budget) },
	{ { "GPUPAGER_VRAM_HEADROOM", "size", "256M",
	    "Device memory always left free below cuMemGetInfo's free figure." },
	  KIND_SIZE, FIELD(vram_headroom) },
	{ { "GPUPAGER_HOST_BUDGET", "size (16G) or percent of MemAvailable (50%)", "50%",
	    "Pinned host memory for the host tier (slots)." },
	  KIND_BUDGET, FIELD(host_budget) },
	{ { "GPUPAGER_IO", "auto|uring|pread", "auto",
	    "File reads: io_uring, or a pread thread pool; auto picks io_uring when available." },
	  KIND_ENUM, FIELD(io_mode) },
	{ { "GPUPAGER_BACKEND", "vmm|um", "vmm",
	    "Device memory backend: VMM ranges with a physical chunk pool, or managed memory." },
	  KIND_ENUM, FIELD(backend) },
	{ { "GPUPAGER_POLICY", "auto|lru|clock|static", "auto", "Eviction policy." },
	  KIND_ENUM, FIELD(policy) },
	{ { "GPUPAGER_PREFETCH", "auto|1|2|3|4", "auto",
	    "Groups ahead the auto policy keeps room to prefetch. auto chooses 0 to 2 by "
	    "the modelled step time (link and learned compute); N always reserves room for N "
	    "groups, so copies overlap compute at about N/groups more bytes per step." },
	  KIND_ENUM, FIELD(prefetch_groups) },
	{ { "GPUPAGER_SWAP_BLOCKS", "block ranges, e.g. 0-5,7,9-11", "(none)",
	    "Blocks streamed by the static policy (block swap); the rest stay resident." },
	  KIND_RANGES, FIELD(swap_blocks) },
	{ { "GPUPAGER_GROUP_PATTERN", "POSIX extended regex with one capture group", "(built-in)",
	    "Overrides block detection: a tensor whose name matches belongs to the block named by "
	    "the text up to the end of the capture group, which must be the block index." },
	  KIND_REGEX, FIELD(group_pattern) },
	{ { "GPUPAGER_GROUP_SPLIT", "percent of the model (5%) or off", "5%",
	    "A group larger than this share of the model's tensor bytes is split into sub-groups "
	    "at its next name level (up_blocks.0 into up_blocks.0.resnets.0, "
	    "up_blocks.0.attentions.0, ...), again while a sub-group is still larger; off keeps "
	    "every group whole." },
	  KIND_SHARE, FIELD(group_split_pct) },
	{ { "GPUPAGER_TRACE", "path", "(none)",
	    "Write the access trace (format v2) of every pager the process opens to this file "
	    "(the second pager to FILE.2, ...), as gp_trace_start does." },
	  KIND_STRING, FIELD(trace_path) },
	{ { "GPUPAGER_PLAN", "path to a plan file (pagerstat plan -o FILE)", "(none)",
	    "Follow this compiled plan: the plan policy keeps its resident groups, evicts in its "
	    "order and prefetches its distances, and falls back to auto (one log line) when the "
	    "accesses depart from it. The model must have the plan's layout." },
	  KIND_STRING, FIELD(plan_path) },
	{ { "GPUPAGER_NUMA_NODE", "auto|N", "auto",
	    "NUMA node for host slots and I/O threads; auto reads the GPU's node from sysfs." },
	  KIND_NODE, FIELD(numa_node) },
	{ { "GPUPAGER_CUDA_LIB", "path", "libcuda.so.1",
	    "CUDA driver library to load (e.g. build/lib/sim/libcuda.so.1 for the simulator)." },
	  KIND_STRING, FIELD(cuda_lib) },
	{ { "GPUPAGER_KERNELS", "directory", "(beside the library)",
	    "Where the test kernels are: gpupager-kernels.fatbin (real GPUs) and "
	    "gpupager-kernels-sim.so (the simulator)." },
	  KIND_STRING, FIELD(kernels_dir) },
	{ { "GPUPAGER_SHIM_EVICT", "all|none|weights", "weights",
	    "What the shim (LD_PRELOAD, gpupager exec) may evict: weights, only chunks filled "
	    "from .safetensors files and proved unchanged by a device checksum, dropped and "
	    "re-read from the file; all, also any other app allocation, swapped to the host "
	    "tier before its memory is reused; none, nothing (allocations are only counted "
	    "against the budget)." },
	  KIND_ENUM, FIELD(shim_evict) },
	{ { "GPUPAGER_SHIM_STATS", "0|1", "0",
	    "1: the shim prints the pager's one-line stats to stderr when the process exits "
	    "(gpupager exec --stats)." },
	  KIND_ENUM, FIELD(shim_stats) },
	{ { "GPUPAGER_SHIM_STATS_FILE", "path", "(none)",
	    "The shim appends one JSON object per device to this file when the process exits: "
	    "the pager's byte counters and what became of file-backed chunks, for scripts "
	    "(gpupager bench shim reads it)." },
	  KIND_STRING, FIELD(shim_stats_file) },
	{ { "GPUPAGER_SHIM_HEAP", "auto|size (e.g. 64G)", "auto",
	    "Virtual address space the shim reserves for the app's device allocations; auto: "
	    "the device's total memory plus the host budget (what VRAM and the host tier can "
	    "hold)." },
	  KIND_SIZE_AUTO, FIELD(shim_heap) },
	{ { "GPUPAGER_SIM_VRAM", "size", "4G",
	    "Simulated device: memory capacity (of each device, unless GPUPAGER_SIM_DEVICES "
	    "lists them)." },
	  KIND_SIZE, FIELD(sim_vram) },
	{ { "GPUPAGER_SIM_DEVICES", "N or SIZE[@NODE],SIZE[@NODE]...", "1",
	    "Simulated devices: N (1 to 8) of GPUPAGER_SIM_VRAM each with no NUMA affinity, or "
	    "one entry a device giving its memory and, after @, its host NUMA node "
	    "(e.g. 4G,2G@1)." },
	  KIND_STRING, FIELD(sim_devices) },
	{ { "GPUPAGER_SIM_H2D_GBPS", "positive number (GB/s)", "25",
	    "Simulated device: host-to-device copy bandwidth from pinned memory "
	    "(pageable memory gets half)." },
	  KIND_GBPS, FIELD(sim_h2d_gbps) },
	{ { "GPUPAGER_SIM_FAIL", "NAME:N[,NAME:N...] or NAME:P% (see README)", "(none)",
	    "Simulated device: fault injection (fail the Nth call of a driver function, "
	    "or each call with a probability)." },
	  KIND_STRING, FIELD(sim_fail) },
	{ { "GPUPAGER_IO_FAIL", "eio:N|short:N (testing only)", "(none)",
	    "Testing only: the Nth read completion of the process (counting from 1) fails with "
	    "EIO, or comes back short (half its bytes, the rest overwritten)." },
	  KIND_IO_FAIL, FIELD(io_fail_kind) },
	{ { "GPUPAGER_FAULT_LOG", "path (testing only)", "(none)",
	    "Testing only: fault injectors (GPUPAGER_SIM_FAIL, GPUPAGER_IO_FAIL) append a line "
	    "to this file when they fire, and their call counts at exit." },
	  KIND_STRING, FIELD(fault_log) },
	{ { NULL, NULL, NULL, NULL }, 0, 0 },
};

static int bad_value(const struct var *v, const char *value, const char *why)
{
	char reason[256];

	/* why may be gp_last_error() itself, which gp_fail overwrites. */
	snprintf(reason, sizeof(reason), "%s", why ? why : "invalid value");
	return gp_fail(GP_ECONFIG, "%s='%s': %s; accepted: %s", v->doc.name, value, reason,
		       v->doc.accepted);
}

static int parse_enum(const struct var *v, const char *value, int *out)
{
	const char *p = v->doc.accepted;
	int index = 0;

	while (*p) {
		size_t len = strcspn(p, "|");
		if (strlen(value) == len && strncmp(p, value, len) == 0) {
			*out = index;
			return 0;
		}
		p += len;
		if (*p == '|')
			p++;
		index++;
	}
	return bad_value(v, value, "unknown value");
}

static int parse_var(const struct var *v, const char *value, struct gp_config *cfg)
{
	char *field = (char *)cfg + v->offset;
	uint64_t size;
	double pct;
	char *end;

	switch (v->kind) {
	case KIND_ENUM:
		return parse_enum(v, value, (int *)field);
	case KIND_SIZE:
		if (gp_parse_size(value, &size))
			return bad_value(v, value, "not a size");
		*(uint64_t *)field = size;
		return 0;
	case KIND_SIZE_AUTO:
		if (strcmp(value, "auto") == 0) {
			*(uint64_t *)field = 0;
			return 0;
		}
		if (gp_parse_size(value, &size))
			return bad_value(v, value, "not a size");
		if (!size)
			return bad_value(v, value, "must be more than 0");
		*(uint64_t *)field = size;
		return 0;
	case KIND_POW2_SIZE:
		if (gp_parse_size(value, &size))
			return bad_value(v, value, "not a size");
		if (size < (64u << 10) || size > (1u << 30) || (size & (size - 1)))
			return bad_value(v, value, "must be a power of two from 64K to 1G");
		*(uint64_t *)field = size;
		return 0;
	case KIND_BUDGET:
		if (gp_parse_budget(value, &size, &pct))
			return bad_value(v, value, "not a size or percentage");
		*(uint64_t *)field = size;
		*(double *)(field + sizeof(uint64_t)) = pct;
		return 0;
	case KIND_NODE: {
		long node;
		if (strcmp(value, "auto") == 0) {
			*(int *)field = -1;
			return 0;
		}
		errno = 0;
		node = strtol(value, &end, 10);
		if (errno || *end || end == value || node < 0 || node > 4095)
			return bad_value(v, value, "not a NUMA node number");
		*(int *)field = (int)node;
		return 0;
	}
	case KIND_GBPS: {
		double gbps;
		errno = 0;
		gbps = strtod(value, &end);
		if (errno || *end || end == value || !(gbps > 0 && gbps < 1e6))
			return bad_value(v, value, "not a positive number");
		*(double *)field = gbps;
		return 0;
	}
	case KIND_STRING:
		*(const char **)field = value;
		return 0;
	case KIND_RANGES: {
		struct gp_ranges *r;
		if (gp_ranges_parse(value, &r))
			return bad_value(v, value, gp_last_error());
		gp_ranges_free(r);
		*(const char **)field = value;
		return 0;
	}
	case KIND_REGEX: {
		regex_t re;
		if (regcomp(&re, value, REG_EXTENDED))
			return bad_value(v, value, "not a valid regular expression");
		if (re.re_nsub < 1) {
			regfree(&re);
			return bad_value(v, value, "needs one capture group for the block index");
		}
		regfree(&re);
		*(const char **)field = value;
		return 0;
	}
	case KIND_SHARE:
		if (strcmp(value, "off") == 0) {
			*(double *)field = 0;
			return 0;
		}
		errno = 0;
		pct = strtod(value, &end);
		if (errno || end == value || strcmp(end, "%") || !(pct > 0 && pct <= 100))
			return bad_value(v, value, "not a percentage over 0 and at most 100");
		*(double *)field = pct;
		return 0;
	case KIND_IO_FAIL: {
		const char *colon = strchr(value, ':');
		unsigned long long n;
		int kind;

		if (colon && colon - value == 3 && strncmp(value, "eio", 3) == 0)
			kind = GP_IO_FAIL_EIO;
		else if (colon && colon - value == 5 && strncmp(value, "short", 5) == 0)
			kind = GP_IO_FAIL_SHORT;
		else
			return bad_value(v, value, "unknown fault kind");
		errno = 0;
		n = strtoull(colon + 1, &end, 10);
		if (errno || *end || colon[1] < '1' || colon[1] > '9')
			return bad_value(v, value, "N must be a positive integer");
		*(int *)field = kind;
		*(uint64_t *)((char *)cfg + FIELD(io_fail_n)) = n;
		return 0;
	}
	}
	return bad_value(v, value, NULL);
}

/*
 * The defaults are the table's default texts, parsed like a value: one
 * source for what `gpupager env` and the README say and what is used.  A
 * text in parentheses ("(none)", "(built-in)") means unset.
 */
static int set_defaults(struct gp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (const struct var *v = vars; v->doc.name; v++) {
		if (v->doc.default_text[0] == '(')
			continue;
		if (parse_var(v, v->doc.default_text, cfg))
			return gp_fail_context(GP_ECONFIG, "built-in default of %s does not parse: ",
					       v->doc.name);
	}
	return 0;
}

int gp_config_parse(struct gp_config *cfg)
{
	int err = set_defaults(cfg);

	if (err)
		return err;
	for (const struct var *v = vars; v->doc.name; v++) {
		const char *value = getenv(v->doc.name);

		if (!value || !*value)
			continue;
		err = parse_var(v, value, cfg);
		if (err)
			return err;
	}
	return 0;
}

static struct gp_config process_config;
static int process_config_err;
static char process_config_msg[1024];
static pthread_once_t process_config_once = PTHREAD_ONCE_INIT;

static void load_process_config(void)
{
	process_config_err = gp_config_parse(&process_config);
	if (process_config_err)
		strncpy(process_config_msg, gp_last_error(), sizeof(process_config_msg) - 1);
}

int gp_config_get(const struct gp_config **cfg)
{
	pthread_once(&process_config_once, load_process_config);
	if (process_config_err)
		return gp_fail(process_config_err, "%s", process_config_msg);
	*cfg = &process_config;
	return 0;
}

const struct gp_env_doc *gp_config_doc(size_t i)
{
	if (i >= sizeof(vars) / sizeof(vars[0]) - 1)
		return NULL;
	return &vars[i].doc;
}

