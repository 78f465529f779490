/*
 * cmd_exec.c - `gpupager exec [OPTIONS] -- CMD [ARGS...]`: run an unmodified
 * CUDA program with the shim (libgpupager-preload.so) preloaded.  The
 * options become GPUPAGER_* variables, the shim goes first in LD_PRELOAD,
 * and CMD replaces this process (execvp), so its exit status and signals
 * are its own.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include <gpupager.h>

#define PRELOAD_NAME "libgpupager-preload.so"

static void help(void)
{
	printf("usage: gpupager exec [--budget SIZE|PCT] [--host-budget SIZE|PCT] [--policy P]\n"
	       "                     [--stats] [--evict weights|all|none] -- CMD [ARGS...]\n\n"
	       "Run CMD, an unmodified CUDA program, with the shim " PRELOAD_NAME "\n"
	       "preloaded: its device allocations are served from the pager, evicted under\n"
	       "the VRAM budget to the host tier and copied back before the GPU touches them\n"
	       "(README.md, \"The shim\").  CMD replaces this process, so its exit status and\n"
	       "signals are its own.\n\n"
	       "  --budget SIZE|PCT       VRAM the pager may use: a size (8G) or a percentage of\n"
	       "                          the device's free memory (50%%); sets\n"
	       "                          GPUPAGER_VRAM_BUDGET\n"
	       "  --host-budget SIZE|PCT  pinned host tier that evicted allocations go to: a\n"
	       "                          size or a percentage of MemAvailable; sets\n"
	       "                          GPUPAGER_HOST_BUDGET\n"
	       "  --policy P              eviction policy: auto, lru, clock or static; sets\n"
	       "                          GPUPAGER_POLICY\n"
	       "  --stats                 print the pager's one-line stats to stderr when CMD\n"
	       "                          exits; sets GPUPAGER_SHIM_STATS=1\n"
	       "  --evict MODE            what the shim may evict: weights (the default:\n"
	       "                          chunks copied from .safetensors files, dropped and\n"
	       "                          re-read from them), all (also any other allocation,\n"
	       "                          swapped to the host tier first) or none (allocations\n"
	       "                          only counted, for apps that keep device pointers in\n"
	       "                          device memory); sets GPUPAGER_SHIM_EVICT\n"
	       "  --help                  this text\n\n"
	       "Unset options leave the variables as they are in the environment; every\n"
	       "GPUPAGER_* variable applies to the shim (`gpupager env`), and the environment\n"
	       "CMD gets is validated first.  LD_PRELOAD becomes the shim, found beside the\n"
	       "library (BINDIR/../lib/" PRELOAD_NAME "), followed by what LD_PRELOAD held.\n\n"
	       "Exit status: CMD's; 2 for a usage error, a bad GPUPAGER_* variable or a missing\n"
	       "shim (nothing is run); 126 when CMD cannot be executed, 127 when it is not found.\n");
}

/* The shim beside this program's library: dirname(/proc/self/exe)/../lib; 0 or 2. */
static int find_preload(char *path, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0) {
		fprintf(stderr, "gpupager exec: cannot find this program (/proc/self/exe): %s\n",
			strerror(errno));
		return 2;
	}
	self[n] = '\0';
	if ((size_t)snprintf(path, size, "%s/lib/" PRELOAD_NAME, dirname(dirname(self))) >= size) {
		fprintf(stderr, "gpupager exec: the path of %s is too long\n", PRELOAD_NAME);
		return 2;
	}
	if (access(path, R_OK)) {
		fprintf(stderr, "gpupager exec: the shim %s is missing (%s); build it with `make` "
			"in the source tree (`make install` puts it in PREFIX/lib)\n", path,
			strerror(errno));
		return 2;
	}
	/* ld.so splits LD_PRELOAD at spaces and colons and has no quoting. */
	if (strpbrk(path, " :")) {
		fprintf(stderr, "gpupager exec: the shim's path %s holds a space or a colon, "
			"which LD_PRELOAD cannot carry; install it under another directory\n", path);
		return 2;
	}
	return 0;
}

/* LD_PRELOAD=PRELOAD, or PRELOAD:previous; 0, or -1 with errno set. */
static int set_preload(const char *preload)
{
	const char *old = getenv("LD_PRELOAD");
	char *value;
	int err;

	if (!old || !*old)
		return setenv("LD_PRELOAD", preload, 1);
	if (asprintf(&value, "%s:%s", preload, old) < 0)
		return -1;
	err = setenv("LD_PRELOAD", value, 1);
	free(value);
	return err;
}

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "budget", required_argument, NULL, 'b' },
		{ "host-budget", required_argument, NULL, 'H' },
		{ "policy", required_argument, NULL, 'p' },
		{ "stats", no_argument, NULL, 's' },
		{ "evict", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *budget = NULL, *host_budget = NULL, *policy = NULL, *evict = NULL;
	char preload[PATH_MAX + 32];
	int stats = 0, dashdash, c, rc;
	uint64_t bytes;
	double pct;

	optind = 1;
	/* "+": stop at the first non-option, so CMD's own options stay CMD's. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (gp_parse_budget(optarg, &bytes, &pct))
				return cli_usage_error("exec", "--budget: %s", gp_last_error());
			budget = optarg;
			break;
		case 'H':
			if (gp_parse_budget(optarg, &bytes, &pct))
				return cli_usage_error("exec", "--host-budget: %s", gp_last_error());
			host_budget = optarg;
			break;
		case 'p':
			if (gp_policy_check(optarg))
				return cli_usage_error("exec", "--policy: %s", gp_last_error());
			policy = optarg;
			break;
		case 's':
			stats = 1;
			break;
		case 'e':
			evict = optarg;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cli_usage_error("exec", "unknown option");
		}
	}
	dashdash = !strcmp(argv[optind - 1], "--");
	if (optind >= argc)
		return cli_usage_error("exec", dashdash ? "CMD is required after '--'" :
				       "CMD is required: gpupager exec [OPTIONS] -- CMD [ARGS...]");
	if (!dashdash)
		return cli_usage_error("exec", "'--' is required before CMD ('%s'): gpupager exec "
				       "[OPTIONS] -- CMD [ARGS...]", argv[optind]);
	if ((budget && setenv("GPUPAGER_VRAM_BUDGET", budget, 1)) ||
	    (host_budget && setenv("GPUPAGER_HOST_BUDGET", host_budget, 1)) ||
	    (policy && setenv("GPUPAGER_POLICY", policy, 1)) ||
	    (stats && setenv("GPUPAGER_SHIM_STATS", "1", 1)) ||
	    (evict && setenv("GPUPAGER_SHIM_EVICT", evict, 1))) {
		fprintf(stderr, "gpupager exec: setenv: %s\n", strerror(errno));
		return 2;
	}
	/* What the shim will parse in CMD: --evict's word and anything inherited. */
	if (gp_env_check())
		return cli_usage_error("exec", "%s", gp_last_error());
	rc = find_preload(preload, sizeof(preload));
	if (rc)
		return rc;
	if (set_preload(preload)) {
		fprintf(stderr, "gpupager exec: cannot set LD_PRELOAD: %s\n", strerror(errno));
		return 2;
	}
	execvp(argv[optind], argv + optind);
	rc = errno == ENOENT ? 127 : 126;
	fprintf(stderr, "gpupager exec: cannot run '%s': %s\n", argv[optind], strerror(errno));
	return rc;
}
