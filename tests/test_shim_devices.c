/*
 * test_shim_devices.c - one pager per device: tests/apps/shim_devices.c
 * runs two simulated devices at once from two threads, each allocating
 * more than its device holds.  Without the shim it runs out of memory;
 * under `gpupager exec` every checksum matches, each device has its own
 * budget (a size, or a percentage of each device's memory) and evicts
 * within it, peer copies both ways between evicted buffers arrive byte
 * for byte (plain and per-thread forms), device 1's buffers are found,
 * named device 1's (ordinal and context) and freed from device 0's
 * context, and the exit stats give a line per device.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/shim_run.h"

static void setup(void)
{
	shim_test_env();
	setenv("GPUPAGER_SHIM_STATS", "1", 1);
}

TestSuite(shim_devices, .init = setup, .timeout = 300);

/* The evictions on device dev's stats line, its budget in budget; -1 without the line. */
static long long evictions(const char *err, int dev, char budget[32])
{
	char head[64];
	const char *line, *ev;
	long long n;

	snprintf(head, sizeof(head), "gpupager shim: device %d: VRAM ", dev);
	line = strstr(err, head);
	if (!line)
		return -1;
	ev = strstr(line, " evictions");
	while (ev > line && ev[-1] >= '0' && ev[-1] <= '9')
		ev--;
	if (sscanf(ev, "%lld", &n) != 1)
		return -1;
	/* The budget: what follows the '/' of "VRAM used/budget,". */
	if (sscanf(strchr(line + strlen(head), '/') + 1, "%31[^,]", budget) != 1)
		budget[0] = '\0';
	return n;
}

static void expect_run_ok(const struct gp_test_cli *r)
{
	cr_assert_eq(r->status, 0, "exit %d\n%s%s", r->status, r->out, r->err);
	cr_expect_neq(strstr(r->out, "shim_devices: 2 devices, 6 rounds, 0 failures"), NULL,
		      "%s", r->out);
}

Test(shim_devices, too_small_without_the_shim)
{
	struct gp_test_cli r;

	setenv("GPUPAGER_SIM_DEVICES", "2", 1);
	r = shim_test_run("16M", NULL, "shim_devices", (const char *const[]){ NULL });
	cr_expect_neq(r.status, 0, "it fit: %s", r.out);
	cr_expect_neq(strstr(r.err, "CUDA_ERROR_OUT_OF_MEMORY"), NULL, "%s", r.err);
	gp_test_cli_free(&r);
}

/* Each device over a 16M budget of its own, both at once. */
Test(shim_devices, two_devices_each_over_budget)
{
	char budget[32];
	struct gp_test_cli r;

	shim_test_require_shim();
	setenv("GPUPAGER_SIM_DEVICES", "2", 1);
	r = shim_test_run("64M", "16M", "shim_devices", (const char *const[]){ NULL });
	expect_run_ok(&r);
	for (int d = 0; d < 2; d++) {
		long long n = evictions(r.err, d, budget);

		cr_expect_gt(n, 0, "device %d: no stats line or no evictions:\n%s", d, r.err);
		cr_expect_str_eq(budget, "16.0 MiB", "device %d: %s", d, r.err);
	}
	gp_test_cli_free(&r);
}

/* A percentage budget is of each device's own memory. */
Test(shim_devices, percentage_budget_per_device)
{
	char budget[32];
	struct gp_test_cli r;

	shim_test_require_shim();
	setenv("GPUPAGER_SIM_DEVICES", "64M,48M", 1);
	r = shim_test_run("64M", "25%", "shim_devices", (const char *const[]){ NULL });
	expect_run_ok(&r);
	cr_expect_gt(evictions(r.err, 0, budget), 0, "%s", r.err);
	cr_expect_str_eq(budget, "16.0 MiB", "%s", r.err);
	cr_expect_gt(evictions(r.err, 1, budget), 0, "%s", r.err);
	cr_expect_str_eq(budget, "12.0 MiB", "%s", r.err);
	gp_test_cli_free(&r);
}

/* The same through cuGetProcAddress's per-thread forms: cuMemcpyPeer_ptds, cuMemcpyPeerAsync_ptsz. */
Test(shim_devices, peer_copies_through_the_per_thread_forms)
{
	char budget[32];
	struct gp_test_cli r;

	shim_test_require_shim();
	setenv("GPUPAGER_SIM_DEVICES", "2", 1);
	r = shim_test_run("64M", "16M", "shim_devices",
			  (const char *const[]){ "--resolve", "procaddr-ptds", NULL });
	expect_run_ok(&r);
	for (int d = 0; d < 2; d++)
		cr_expect_gt(evictions(r.err, d, budget), 0, "device %d:\n%s", d, r.err);
	gp_test_cli_free(&r);
}
