/* cmd_bench_fault.c - placeholder until the benchmark lands. */
#include "commands.h"

int bench_fault_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("bench", "'fault' is not implemented yet");
}
