/*
 * cmd_bench.c - `gpupager bench ...` runs the developer program
 * gpupager-bench (bench/ in the source tree), found next to this binary,
 * with the same arguments: the benchmarks measure the library's internals,
 * which this tool does not link against.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

int cmd_bench(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)argc;
	if (n < 0) {
		fprintf(stderr, "gpupager bench: cannot find this program (/proc/self/exe): %s\n",
			strerror(errno));
		return 1;
	}
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/gpupager-bench", dirname(self));
	/* argv[0] is "bench"; gpupager-bench reads the benchmark's name from argv[1]. */
	argv[0] = path;
	execv(path, argv);
	fprintf(stderr, "gpupager bench: cannot run %s: %s\n"
		"The benchmarks are a developer program: build it with `make` in the source "
		"tree\n(it is build/bin/gpupager-bench, next to build/bin/gpupager).\n", path,
		strerror(errno));
	return 1;
}
