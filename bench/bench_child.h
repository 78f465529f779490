/*
 * bench_child.h - run another program with its output captured, for the
 * benchmarks that measure whole programs (`bench policy --device` runs
 * `gpupager run`, `bench shim` runs the shim's test programs).
 */
#ifndef GP_BENCH_CHILD_H
#define GP_BENCH_CHILD_H

#include <jansson.h>

struct bench_child {
	int status;             /* as waitpid() gives it */
	char *out, *err;        /* stdout and stderr, NUL-terminated (malloc'ed) */
	double seconds;         /* fork to exit */
};

/*
 * Run argv[0] (a path) with argv and, on top of this environment, each
 * "NAME=VALUE" of env (NULL-terminated; NULL for none).  0 when it ran,
 * whatever its exit status; GP_E* when it could not be run or waited for.
 * Output past 1 MiB per stream is dropped.
 */
int bench_child_run(char *const *argv, char *const *env, struct bench_child *c);
void bench_child_free(struct bench_child *c);
/* True when the child exited with status 0. */
int bench_child_ok(const struct bench_child *c);
/*
 * Fail (GP_EIO) with the child's own message: the first stderr line with
 * "PREFIX: " cut, else what killed it or its exit status; what names it.
 */
int bench_child_failed(const struct bench_child *c, const char *what, const char *prefix);

/*
 * Run a program that prints one JSON object (`gpupager run --json`): the
 * object (json_decref it), or GP_E* with its own message (its stderr line
 * without "PREFIX: ") when it fails or prints something else.
 */
int bench_child_json(char *const *argv, char *const *env, const char *prefix, json_t **root);

#endif
