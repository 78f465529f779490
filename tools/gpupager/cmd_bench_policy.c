/* cmd_bench_policy.c - placeholder until the benchmark lands. */
#include "commands.h"

int bench_policy_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("bench", "'policy' is not implemented yet");
}
