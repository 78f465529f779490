/*
 * bench.h - gpupager-bench, the developer benchmarks (load, fault, policy, shim).
 * They measure internals (the reader, the host view, the policies through
 * decide.h's replay), so they are built with the library's internal headers,
 * like the tests; `gpupager bench ...` forwards here.
 */
#ifndef GP_BENCH_BENCH_H
#define GP_BENCH_BENCH_H

/*
 * `gpupager bench NAME`: argv[0] is NAME.  Each returns the exit status:
 * 0 success, 1 runtime failure, 2 usage error.
 */
int bench_load_main(int argc, char **argv);
int bench_fault_main(int argc, char **argv);
int bench_policy_main(int argc, char **argv);
int bench_shim_main(int argc, char **argv);

/* Print "gpupager CMD: <gp_last_error()>" to stderr; returns 1. */
int cli_fail(const char *cmd, int err);
/* Print a usage error and the hint to run --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
