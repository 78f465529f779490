/* run_args.c - `gpupager run` options. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "commands.h"
#include "run.h"

static void help(void)
{
	printf("usage: gpupager run MODEL [--budget SIZE|PCT] [--policy lru|clock|static|auto]\n"
	       "                    [--swap-blocks RANGES] [--steps N] [--compute-ms-per-gb X]\n"
	       "                    [--host-budget SIZE] [--load-all] [--verify] [--trace FILE]\n"
	       "                    [--plan FILE] [--json]\n\n"
	       "Open MODEL through the pager and run N steps of a forward pass: for each group\n"
	       "in model order, acquire it on a compute stream, checksum every tensor's bytes\n"
	       "on the device, add the simulated compute time, and release it.  Runs on the\n"
	       "CUDA device the driver offers (GPUPAGER_CUDA_LIB; the simulator when that names\n"
	       "build/lib/sim/libcuda.so.1).\n\n"
	       "  --budget SIZE|PCT      VRAM for weights: a size (1.2G) or a percentage of the\n"
	       "                         model's size (40%%); default GPUPAGER_VRAM_BUDGET\n"
	       "  --policy NAME          auto (default: learn the order, evict by MIN, prefetch),\n"
	       "                         lru, clock, or static (block swap)\n"
	       "  --swap-blocks RANGES   static: the blocks to stream, e.g. 20-39 or 0-5,7\n"
	       "                         (default GPUPAGER_SWAP_BLOCKS, else chosen for the budget)\n"
	       "  --plan FILE            follow a plan compiled by pagerstat plan (the plan\n"
	       "                         policy; the plan's budget unless --budget is given)\n"
	       "  --steps N              forward passes (default 3)\n"
	       "  --compute-ms-per-gb X  simulated compute per GB of weights used (default 40)\n"
	       "  --host-budget SIZE     pinned host tier (default: the model's size, at most\n"
	       "                         GPUPAGER_HOST_BUDGET)\n"
	       "  --load-all             load the whole model at open when it fits the budget\n"
	       "                         (no paging afterwards)\n"
	       "  --verify               compare every tensor's device checksum with the file's\n"
	       "  --trace FILE           write the access trace (format v2, for pagerstat mrc)\n"
	       "  --json                 one JSON object on stdout, for scripts\n"
	       "  --help                 this text\n\n"
	       "The report: device, bytes read from disk, H2D bytes per step, hit rate,\n"
	       "prefetch accuracy, stall time, step time and its ratio to the lower bound\n"
	       "max(compute, bytes moved / link bandwidth).\n\n"
	       "Environment: every GPUPAGER_* variable applies (`gpupager env`), notably\n"
	       "GPUPAGER_CUDA_LIB (the driver), GPUPAGER_PREFETCH (auto's prefetch room: more\n"
	       "overlap of copies and compute for a few percent more bytes) and GPUPAGER_IO.\n\n"
	       "Exit status: 0 success, 1 runtime failure or checksum mismatch, 2 usage error.\n");
}

/* 0 to go on, 2 after a usage error, -1 after --help. */
int run_parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "budget", required_argument, NULL, 'b' },
		{ "policy", required_argument, NULL, 'p' },
		{ "swap-blocks", required_argument, NULL, 's' },
		{ "steps", required_argument, NULL, 'n' },
		{ "compute-ms-per-gb", required_argument, NULL, 'c' },
		{ "host-budget", required_argument, NULL, 'H' },
		{ "verify", no_argument, NULL, 'v' },
		{ "load-all", no_argument, NULL, 'L' },
		{ "trace", required_argument, NULL, 't' },
		{ "plan", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gp_ranges *ranges;
	char *end;
	int c;

	*o = (struct run_opts){ .steps = 3, .compute_ms_per_gb = 40.0 };
	o->progress = isatty(2);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (gp_parse_budget(optarg, &o->budget, &o->budget_pct))
				return cli_usage_error("run", "--budget: %s", gp_last_error());
			break;
		case 'p':
			o->policy = optarg;
			break;
		case 's':
			if (gp_ranges_parse(optarg, &ranges))
				return cli_usage_error("run", "--swap-blocks: %s", gp_last_error());
			gp_ranges_free(ranges);
			o->swap_blocks = optarg;
			break;
		case 'n':
			o->steps = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || o->steps < 1 || o->steps > 100000)
				return cli_usage_error("run", "--steps: expected 1..100000, got '%s'",
						       optarg);
			break;
		case 'c':
			o->compute_ms_per_gb = strtod(optarg, &end);
			if (*end || !*optarg || !(o->compute_ms_per_gb >= 0) ||
			    o->compute_ms_per_gb > 1e6)
				return cli_usage_error("run", "--compute-ms-per-gb: expected a number "
						       ">= 0, got '%s'", optarg);
			break;
		case 'H':
			if (gp_parse_size(optarg, &o->host_budget))
				return cli_usage_error("run", "--host-budget: %s", gp_last_error());
			break;
		case 'v':
			o->verify = true;
			break;
		case 'L':
			o->load_all = true;
			break;
		case 't':
			o->trace = optarg;
			break;
		case 'P':
			o->plan = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			help();
			return -1;
		default:
			return cli_usage_error("run", "unknown option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("run", optind >= argc ? "MODEL is required" :
					      "one MODEL expected");
	o->model = argv[optind];
	if (o->plan && o->policy)
		return cli_usage_error("run", "--plan and --policy: the plan policy follows the "
				       "plan, give one of them");
	if (o->policy && gp_policy_check(o->policy))
		return cli_usage_error("run", "--policy: expected auto, lru, clock or static, got "
				       "'%s'", o->policy);
	return 0;
}
