/* cmd_bench.c - `gpupager bench load|fault|policy`: dispatch to the benchmarks. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: gpupager bench load MODEL [OPTIONS]    disk -> host: io_uring vs pread, mmap, O_DIRECT\n"
		"       gpupager bench fault MODEL [OPTIONS]   userfaultfd view vs plain mmap, first touch\n"
		"       gpupager bench policy [OPTIONS]        bytes moved per step: lru, clock, static, auto, MIN\n"
		"\nEach takes --help for its options and --json for scripts.\n"
		"Results are recorded in tools/bench/RESULTS.md.\n");
}

int cmd_bench(int argc, char **argv)
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
	return cli_usage_error("bench", "unknown benchmark '%s' (load, fault or policy)", argv[1]);
}
