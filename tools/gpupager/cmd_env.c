/* cmd_env.c - `gpupager env`: the documented environment variables and their values. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "config.h"

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

	for (size_t i = 0; gp_config_doc(i); i++) {
		const struct gp_env_doc *d = gp_config_doc(i);
		const char *value = getenv(d->name);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s?}", "name", d->name,
						     "accepted", d->accepted, "default", d->default_text,
						     "help", d->help, "value", value));
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
	struct gp_config cfg;
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
	err = gp_config_parse(&cfg);
	if (check)
		return err ? cli_fail("env", err) : 0;
	if (json)
		return print_json();
	for (size_t i = 0; gp_config_doc(i); i++) {
		const struct gp_env_doc *d = gp_config_doc(i);
		const char *value = getenv(d->name);
		printf("%s=%s\n    accepted: %s\n    default:  %s\n    %s\n\n", d->name,
		       value ? value : "", d->accepted, d->default_text, d->help);
	}
	if (err)
		cli_fail("env", err);
	return err ? 1 : 0;
}
