/* cmd_env.c - `gpupager env`: the documented environment variables and their values. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include <gpupager.h>

static void help(void)
{
	printf("usage: gpupager env [--json] [--check]\n\n"
	       "List every GPUPAGER_* environment variable: accepted forms, default and the\n"
	       "value set in this environment.\n\n"
	       "  --check   only validate the environment (exit 1 naming the bad variable)\n"
	       "  --json    machine-readable output\n"
	       "  --help    this text\n");
}

static int print_json(void)
{
	json_t *arr = json_array();
	char *text;

	for (size_t i = 0; i < gp_env_count(); i++) {
		struct gp_env_var v = { .struct_size = sizeof(v) };

		if (gp_env_describe(i, &v))
			break;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s?}", "name", v.name,
						     "accepted", v.accepted, "default", v.default_value,
						     "help", v.help, "value", v.value));
	}
	text = json_dumps(arr, JSON_INDENT(2));
	json_decref(arr);
	if (!text)
		return 1;
	printf("%s\n", text);
	free(text);
	return 0;
}

int cmd_env(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, check = 0, c, err;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'c': check = 1; break;
		case 'h': help(); return 0;
		default: return cli_usage_error("env", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error("env", "unexpected argument '%s'", argv[optind]);
	err = gp_env_check();
	if (check)
		return err ? cli_fail("env", err) : 0;
	if (json)
		return print_json();
	for (size_t i = 0; i < gp_env_count(); i++) {
		struct gp_env_var v = { .struct_size = sizeof(v) };

		if (gp_env_describe(i, &v))
			break;
		printf("%s=%s\n    accepted: %s\n    default:  %s\n    %s\n\n", v.name,
		       v.value ? v.value : "", v.accepted, v.default_value, v.help);
	}
	if (err)
		cli_fail("env", err);
	return err ? 1 : 0;
}
