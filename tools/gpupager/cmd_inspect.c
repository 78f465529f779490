/* cmd_inspect.c - `gpupager inspect` (placeholder until implemented). */
#include <stdio.h>

#include "commands.h"

int cmd_inspect(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "gpupager inspect: not implemented yet\n");
	return 1;
}
