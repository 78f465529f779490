/* main.c - `gpupager COMMAND ...`: dispatch to the subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include <gpupager.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "inspect", cmd_inspect, "describe a safetensors model: files, tensors, groups, layout" },
	{ "mkmodel", cmd_mkmodel, "generate a sample model with a real architecture's tensor structure" },
	{ "run", cmd_run, "run forward passes of a model through the pager (the main job)" },
	{ "exec", cmd_exec, "run an unmodified CUDA program with the shim (LD_PRELOAD) under a budget" },
	{ "bench", cmd_bench, "benchmarks: load, fault, policy (see tools/bench/RESULTS.md)" },
	{ "env", cmd_env, "list the GPUPAGER_* environment variables and their current values" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: gpupager COMMAND [ARGS...]\n"
		     "       gpupager COMMAND --help\n\n"
		     "A userspace pager for GPU model weights (libgpupager %s).\n\ncommands:\n",
		gp_version());
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nSee README.md for the environment variables (or `gpupager env`).\n");
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

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("gpupager %s\n", gp_version());
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "gpupager: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
