/* test_config.c - strict parsing of the GPUPAGER_* environment. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void clear_env(void)
{
	for (size_t i = 0; gp_config_doc(i); i++)
		unsetenv(gp_config_doc(i)->name);
}

TestSuite(config, .init = clear_env);

static void expect_bad(const char *name, const char *value)
{
	struct gp_config cfg;

	setenv(name, value, 1);
	cr_assert_eq(gp_config_parse(&cfg), GP_ECONFIG, "%s=%s accepted", name, value);
	cr_assert(strstr(gp_last_error(), name), "message does not name the variable: %s",
		  gp_last_error());
	cr_assert(strstr(gp_last_error(), "accepted:"), "message lacks accepted forms: %s",
		  gp_last_error());
	unsetenv(name);
}

Test(config, defaults)
{
	struct gp_config cfg;

	cr_assert_eq(gp_config_parse(&cfg), 0);
	cr_assert_eq(cfg.log_level, GP_LOG_WARN);
	cr_assert_eq(cfg.chunk_size, 2u << 20);
	cr_assert_float_eq(cfg.vram_budget_pct, 90.0, 1e-9);
	cr_assert_eq(cfg.io_mode, GP_IO_AUTO);
	cr_assert_eq(cfg.backend, GP_BACKEND_VMM);
	cr_assert_eq(cfg.policy, GP_POLICY_AUTO);
	cr_assert_eq(cfg.numa_node, -1);
	cr_assert_str_eq(cfg.cuda_lib, "libcuda.so.1");
	cr_assert_null(cfg.swap_blocks);
	cr_assert_eq(cfg.sim_vram, 4ull << 30);
	cr_assert_eq(cfg.shim_evict, GP_SHIM_EVICT_WEIGHTS);
	cr_assert_eq(cfg.shim_stats, 0);
	cr_assert_eq(cfg.shim_heap, 0, "auto is 0");
}

Test(config, valid_values)
{
	struct gp_config cfg;

	setenv("GPUPAGER_LOG", "debug", 1);
	setenv("GPUPAGER_CHUNK_SIZE", "4MiB", 1);
	setenv("GPUPAGER_VRAM_BUDGET", "6G", 1);
	setenv("GPUPAGER_HOST_BUDGET", "25%", 1);
	setenv("GPUPAGER_IO", "pread", 1);
	setenv("GPUPAGER_POLICY", "static", 1);
	setenv("GPUPAGER_SWAP_BLOCKS", "20-39", 1);
	setenv("GPUPAGER_NUMA_NODE", "1", 1);
	setenv("GPUPAGER_GROUP_PATTERN", "^(stage[0-9]+)\\.", 1);
	setenv("GPUPAGER_SIM_H2D_GBPS", "12.5", 1);
	setenv("GPUPAGER_VRAM_HEADROOM", "", 1); /* empty means unset */
	cr_assert_eq(gp_config_parse(&cfg), 0, "%s", gp_last_error());
	cr_assert_eq(cfg.log_level, GP_LOG_DEBUG);
	cr_assert_eq(cfg.chunk_size, 4u << 20);
	cr_assert_eq(cfg.vram_budget, 6ull << 30);
	cr_assert_eq(cfg.vram_budget_pct, 0.0);
	cr_assert_float_eq(cfg.host_budget_pct, 25.0, 1e-9);
	cr_assert_eq(cfg.io_mode, GP_IO_PREAD);
	cr_assert_eq(cfg.policy, GP_POLICY_STATIC);
	cr_assert_str_eq(cfg.swap_blocks, "20-39");
	cr_assert_eq(cfg.numa_node, 1);
	cr_assert_float_eq(cfg.sim_h2d_gbps, 12.5, 1e-9);
	cr_assert_eq(cfg.vram_headroom, 256u << 20);
}

Test(config, bad_values_name_the_variable)
{
	expect_bad("GPUPAGER_LOG", "verbose");
	expect_bad("GPUPAGER_LOG", "WARN");
	expect_bad("GPUPAGER_CHUNK_SIZE", "3M");
	expect_bad("GPUPAGER_CHUNK_SIZE", "4K");
	expect_bad("GPUPAGER_CHUNK_SIZE", "2Gi");
	expect_bad("GPUPAGER_VRAM_BUDGET", "lots");
	expect_bad("GPUPAGER_VRAM_BUDGET", "150%");
	expect_bad("GPUPAGER_HOST_BUDGET", "-1G");
	expect_bad("GPUPAGER_IO", "aio");
	expect_bad("GPUPAGER_BACKEND", "hmm");
	expect_bad("GPUPAGER_POLICY", "fifo");
	expect_bad("GPUPAGER_NUMA_NODE", "-2");
	expect_bad("GPUPAGER_NUMA_NODE", "one");
	expect_bad("GPUPAGER_SIM_H2D_GBPS", "0");
	expect_bad("GPUPAGER_SIM_VRAM", "4 G");
	expect_bad("GPUPAGER_GROUP_PATTERN", "blocks\\.[0-9]+");
	expect_bad("GPUPAGER_GROUP_PATTERN", "(unclosed");
}

/* name=value fails with exactly this message. */
static void expect_error(const char *name, const char *value, const char *msg)
{
	struct gp_config cfg;

	setenv(name, value, 1);
	cr_assert_eq(gp_config_parse(&cfg), GP_ECONFIG, "%s=%s accepted", name, value);
	cr_expect_str_eq(gp_last_error(), msg);
	unsetenv(name);
}

Test(config, shim_values)
{
	struct gp_config cfg;

	setenv("GPUPAGER_SHIM_EVICT", "none", 1);
	setenv("GPUPAGER_SHIM_STATS", "1", 1);
	setenv("GPUPAGER_SHIM_HEAP", "64G", 1);
	cr_assert_eq(gp_config_parse(&cfg), 0, "%s", gp_last_error());
	cr_expect_eq(cfg.shim_evict, GP_SHIM_EVICT_NONE);
	cr_expect_eq(cfg.shim_stats, 1);
	cr_expect_eq(cfg.shim_heap, 64ull << 30);
	setenv("GPUPAGER_SHIM_EVICT", "all", 1);
	setenv("GPUPAGER_SHIM_STATS", "0", 1);
	setenv("GPUPAGER_SHIM_HEAP", "auto", 1);
	cr_assert_eq(gp_config_parse(&cfg), 0, "%s", gp_last_error());
	cr_expect_eq(cfg.shim_evict, GP_SHIM_EVICT_ALL);
	cr_expect_eq(cfg.shim_stats, 0);
	setenv("GPUPAGER_SHIM_EVICT", "weights", 1);
	cr_assert_eq(gp_config_parse(&cfg), 0, "%s", gp_last_error());
	cr_expect_eq(cfg.shim_evict, GP_SHIM_EVICT_WEIGHTS);
	cr_expect_eq(cfg.shim_heap, 0);
	setenv("GPUPAGER_SHIM_HEAP", "1536M", 1);
	cr_assert_eq(gp_config_parse(&cfg), 0, "%s", gp_last_error());
	cr_expect_eq(cfg.shim_heap, 1536ull << 20);
}

Test(config, shim_bad_values)
{
	unsetenv("GPUPAGER_SHIM_HEAP");
	expect_error("GPUPAGER_SHIM_EVICT", "weight",
		     "GPUPAGER_SHIM_EVICT='weight': unknown value; accepted: all|none|weights");
	expect_error("GPUPAGER_SHIM_EVICT", "ALL",
		     "GPUPAGER_SHIM_EVICT='ALL': unknown value; accepted: all|none|weights");
	expect_error("GPUPAGER_SHIM_STATS", "yes",
		     "GPUPAGER_SHIM_STATS='yes': unknown value; accepted: 0|1");
	expect_error("GPUPAGER_SHIM_STATS", "2",
		     "GPUPAGER_SHIM_STATS='2': unknown value; accepted: 0|1");
	expect_error("GPUPAGER_SHIM_HEAP", "lots",
		     "GPUPAGER_SHIM_HEAP='lots': not a size; accepted: auto|size (e.g. 64G)");
	expect_error("GPUPAGER_SHIM_HEAP", "Auto",
		     "GPUPAGER_SHIM_HEAP='Auto': not a size; accepted: auto|size (e.g. 64G)");
	expect_error("GPUPAGER_SHIM_HEAP", "50%",
		     "GPUPAGER_SHIM_HEAP='50%': not a size; accepted: auto|size (e.g. 64G)");
	expect_error("GPUPAGER_SHIM_HEAP", "0",
		     "GPUPAGER_SHIM_HEAP='0': must be more than 0; accepted: auto|size (e.g. 64G)");
}

Test(config, swap_blocks_error_carries_range_message)
{
	struct gp_config cfg;

	setenv("GPUPAGER_SWAP_BLOCKS", "0-5,9-3", 1);
	cr_assert_eq(gp_config_parse(&cfg), GP_ECONFIG);
	cr_assert(strstr(gp_last_error(), "Invalid range: '9-3'"), "%s", gp_last_error());
}

Test(config, process_config_reports_error_every_time)
{
	const struct gp_config *cfg = NULL;

	setenv("GPUPAGER_IO", "nope", 1);
	cr_assert_eq(gp_config_get(&cfg), GP_ECONFIG);
	cr_assert_eq(gp_config_get(&cfg), GP_ECONFIG);
	cr_assert(strstr(gp_last_error(), "GPUPAGER_IO"));
	cr_assert_null(cfg);
}

Test(config, every_variable_is_documented)
{
	size_t n = 0;

	for (size_t i = 0; gp_config_doc(i); i++, n++) {
		const struct gp_env_doc *d = gp_config_doc(i);
		cr_assert(strncmp(d->name, "GPUPAGER_", 9) == 0);
		cr_assert(d->accepted && *d->accepted && d->help && *d->help && d->default_text);
	}
	cr_assert_geq(n, 10);
}

/* A variable's README row up to its default: "| `NAME` | accepted (| escaped) | `default`". */
static void readme_row_head(const struct gp_env_doc *d, char *head, size_t size)
{
	size_t len = (size_t)snprintf(head, size, "| `%s` | ", d->name);

	for (const char *p = d->accepted; *p && len < size - 3; p++) {
		if (*p == '|')
			head[len++] = '\\';
		head[len++] = *p;
	}
	snprintf(head + len, size - len, " | `%s`", d->default_text);
}

/* Cells of a Markdown table row: its unescaped '|' less one. */
static int row_cells(const char *line)
{
	int pipes = 0;

	for (const char *p = line; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '|')
			pipes++;
	}
	return pipes - 1;
}

/*
 * Every four-cell README row that names a variable (the Environment table,
 * the shim's table) says what the config table says: "| `NAME` | accepted
 * (| escaped) | `default`", then " | help |" (a default may be followed by
 * more words, as GPUPAGER_KERNELS's is); and every variable has a row.
 */
Test(config, readme_documents_every_variable)
{
	FILE *f = fopen(GP_SOURCE_DIR "/README.md", "r");
	static char text[1 << 20];
	unsigned rows[64] = { 0 };
	char *line, *save;
	size_t n, i;

	cr_assert_not_null(f, "README.md not found");
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	cr_assert_null(gp_config_doc(sizeof(rows) / sizeof(rows[0])), "rows[] too short");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char head[512], help[1024];
		size_t len;

		if (strncmp(line, "| `GPUPAGER_", 12) || row_cells(line) != 4)
			continue;
		len = strcspn(line + 3, "`");
		for (i = 0; gp_config_doc(i); i++)
			if (strlen(gp_config_doc(i)->name) == len &&
			    !strncmp(gp_config_doc(i)->name, line + 3, len))
				break;
		cr_expect(gp_config_doc(i), "README.md has a row for an unknown variable: %s", line);
		if (!gp_config_doc(i))
			continue;
		rows[i]++;
		readme_row_head(gp_config_doc(i), head, sizeof(head));
		snprintf(help, sizeof(help), " | %s |", gp_config_doc(i)->help);
		cr_expect(!strncmp(line, head, strlen(head)),
			  "README.md's row of %.*s does not start: %s", (int)len, line + 3, head);
		cr_expect(strstr(line, help), "README.md's row of %.*s lacks the help: %s",
			  (int)len, line + 3, help);
	}
	for (i = 0; gp_config_doc(i); i++)
		cr_expect(rows[i], "README.md has no row for %s", gp_config_doc(i)->name);
}
