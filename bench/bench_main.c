/*
 * bench_main.c - gpupager-bench: `gpupager bench load|fault|policy|shim`
 * dispatches here (the gpupager tool execs this program, argv unchanged
 * from "bench" on), and it can be run directly as `gpupager-bench load ...`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "gpupager.h"

static void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: gpupager bench load MODEL [OPTIONS]    disk -> host: io_uring vs pread, mmap, O_DIRECT\n"
		"       gpupager bench fault MODEL [OPTIONS]   userfaultfd view vs plain mmap, first touch\n"
		"       gpupager bench policy [OPTIONS]        bytes moved per step: lru, clock, static, auto, MIN\n"
		"       gpupager bench shim [OPTIONS]          the LD_PRELOAD shim: call cost, paging vs gpupager run\n"
		"\nEach takes --help for its options and --json for scripts.\n"
		"The benchmarks are the developer program gpupager-bench (bench/), which\n"
		"`gpupager bench` runs.  Results are recorded in tools/bench/RESULTS.md.\n");
}

int cli_fail(const char *cmd, int err)
{
	const char *msg = gp_last_error();

	fprintf(stderr, "gpupager %s: %s\n", cmd, *msg ? msg : gp_strerror(err));
	return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gpupager %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'gpupager %s --help'.\n", cmd);
	return 2;
}

/* argv[1] names the benchmark; argv[0] is "bench" (from gpupager) or the program's path. */
int main(int argc, char **argv)
{
	if (argc < 2) {
		bench_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		bench_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "load"))
		return bench_load_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "fault"))
		return bench_fault_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "policy"))
		return bench_policy_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "shim"))
		return bench_shim_main(argc - 1, argv + 1);
	return cli_usage_error("bench", "unknown benchmark '%s' (load, fault, policy or shim)",
			       argv[1]);
}
