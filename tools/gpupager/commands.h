/* commands.h - the gpupager subcommands; each lives in cmd_NAME.c. */
#ifndef GP_TOOLS_COMMANDS_H
#define GP_TOOLS_COMMANDS_H

/*
 * Each command gets argv with argv[0] = its own name and returns the process
 * exit status: 0 success, 1 runtime failure (bad model, I/O), 2 usage error.
 */
int cmd_inspect(int argc, char **argv);
int cmd_mkmodel(int argc, char **argv);
int cmd_env(int argc, char **argv);
/* Runs gpupager-bench, next to this binary, with the same arguments (bench/). */
int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);
/* Replaces the process with CMD under the shim; returns only on failure. */
int cmd_exec(int argc, char **argv);

/* Print "gpupager CMD: <gp_last_error()>" (or msg) to stderr; returns 1. */
int cli_fail(const char *cmd, int err);
/* Print a usage error and the hint to run --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
