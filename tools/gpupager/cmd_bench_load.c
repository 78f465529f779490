/* cmd_bench_load.c - placeholder until the benchmark lands. */
#include "commands.h"

int bench_load_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("bench", "'load' is not implemented yet");
}
