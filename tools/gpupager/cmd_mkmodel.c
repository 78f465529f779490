/* cmd_mkmodel.c - `gpupager mkmodel` (placeholder until implemented). */
#include <stdio.h>

#include "commands.h"

int cmd_mkmodel(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "gpupager mkmodel: not implemented yet\n");
	return 1;
}
