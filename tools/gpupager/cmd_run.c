/* cmd_run.c - placeholder until the engine lands. */
#include "commands.h"

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("run", "not implemented yet");
}
