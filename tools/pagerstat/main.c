/* main.c - `pagerstat [-p PID] [INTERVAL [COUNT]]`: live statistics of libgpupager processes. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <gpupager.h>
#include "pagerstat.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pagerstat [--json] [--groups] -p PID [INTERVAL [COUNT]]\n"
		"       pagerstat [--json]          list the processes using libgpupager\n"
		"       pagerstat --clean           remove segments left by exited processes\n"
		"       pagerstat mrc TRACE ...     miss-ratio curves of a trace (mrc --help)\n"
		"       pagerstat advise TRACE ...  the budget and settings to use (advise --help)\n"
		"       pagerstat plan TRACE ...    compile a plan the pager follows (plan --help)\n\n"
		"Shows the counters a process using libgpupager (%s) keeps in\n"
		"/dev/shm/gpupager.PID, in the spirit of vmstat: the first line covers the time\n"
		"since the process opened its first pager, then one line every INTERVAL seconds\n"
		"(decimals allowed), COUNT lines in all or until the process exits.\n\n"
		"options:\n"
		"  -p, --pid PID   watch this process\n"
		"      --json      one JSON object per sample per line: every counter by name,\n"
		"                  per-second rates, models and per-group residency\n"
		"      --groups    per-group residency bars of each model instead of the line view\n"
		"      --clean     remove /dev/shm/gpupager.* of processes that are not running\n"
		"  -h, --help      this text\n\n"
		"columns: hit%% (acquires served without loading), miss/s, disk_MB/s (file to\n"
		"host), h2d_MB/s, d2h_MB/s (MB = 10^6 bytes), evict/s (device chunks unmapped),\n"
		"pf_hit%% (prefetched chunks used / used + wasted), stall_ms/s (time acquires\n"
		"waited per second), vram_used, host_used (binary units: 1.0G = 2^30 bytes).\n",
		gp_version());
}

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pagerstat: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pagerstat --help'.\n");
	return 2;
}

static int parse_long(const char *text, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	return end != text && !*end && !errno && *out > 0 && *out <= max ? 0 : -1;
}

static int parse_interval(const char *text, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	/* A day at most, and at least a millisecond, so the loop neither hangs nor spins. */
	return end != text && !*end && !errno && isfinite(*out) && *out >= 0.001 &&
	       *out <= 86400 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "groups", no_argument, NULL, 'g' },
		{ "clean", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ps_opts opts = { 0 };
	int opt, clean = 0, nargs;
	long value;

	if (argc > 1 && !strcmp(argv[1], "mrc"))
		return ps_mrc(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "advise"))
		return ps_advise(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "plan"))
		return ps_plan(argc - 1, argv + 1);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_long(optarg, INT_MAX, &value))
				return usage_error("bad PID '%s': expected a process id", optarg);
			opts.pid = (int)value;
			break;
		case 'j':
			opts.json = 1;
			break;
		case 'g':
			opts.groups = 1;
			break;
		case 'c':
			clean = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (optopt == 'p')
				return usage_error("-p needs a PID");
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	nargs = argc - optind;
	if (clean)
		return opts.pid || opts.json || opts.groups || nargs ?
		       usage_error("--clean takes no other argument") : ps_clean();
	if (nargs > 2)
		return usage_error("too many arguments: '%s'", argv[optind + 2]);
	if (nargs >= 1 && parse_interval(argv[optind], &opts.interval))
		return usage_error("bad INTERVAL '%s': expected seconds, 0.001 to 86400",
				   argv[optind]);
	if (nargs == 2 && parse_long(argv[optind + 1], LONG_MAX, &opts.count))
		return usage_error("bad COUNT '%s': expected a positive number of lines",
				   argv[optind + 1]);
	if (!opts.pid) {
		if (nargs || opts.groups)
			return usage_error("%s needs -p PID (without it pagerstat lists the "
					   "processes using libgpupager)",
					   nargs ? "INTERVAL" : "--groups");
		return ps_list(&opts);
	}
	return ps_watch(&opts);
}
