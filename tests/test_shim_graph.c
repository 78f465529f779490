/*
 * test_shim_graph.c - CUDA graphs under the shim (tests/apps/shim_graph.c
 * through `gpupager exec`): a captured graph launched several times under
 * a budget that evicts the other allocations between launches, its memory
 * pinned while the executable graph exists and released by its destroy.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "apps/shim_run.h"

TestSuite(shim_graph, .init = shim_test_env, .timeout = 120);

static void expect_launches_ok(const struct gp_test_cli *r)
{
	char line[32];

	for (int l = 0; l < 4; l++) {
		snprintf(line, sizeof(line), "launch %d: sum ok\n", l);
		cr_expect_neq(strstr(r->out, line), NULL, "no '%s' in: %s", line, r->out);
	}
	cr_expect_neq(strstr(r->out, "shim_graph: ok\n"), NULL, "%s", r->out);
}

Test(shim_graph, verifies_without_the_shim)
{
	struct gp_test_cli r = shim_test_run("64M", NULL, "shim_graph",
					     (const char *const[]){ "--hold", "4", NULL });

	cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	expect_launches_ok(&r);
	cr_expect_neq(strstr(r.out, "hold 4 with the graph: CUDA_SUCCESS\n"), NULL, "%s", r.out);
	gp_test_cli_free(&r);
}

/*
 * 10M is five chunks: the graph's three allocations pinned leave two for
 * six others, so they are evicted between launches; four of them at once
 * fit the budget but not beside the pins, until the exec is destroyed.
 */
Test(shim_graph, pinned_while_the_exec_exists_and_released_by_its_destroy)
{
	struct gp_test_cli r;

	shim_test_require_shim();
	r = shim_test_run("64M", "10M", "shim_graph",
			  (const char *const[]){ "--hold", "4", NULL });
	cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	expect_launches_ok(&r);
	cr_expect_neq(strstr(r.out, "hold 4 with the graph: CUDA_ERROR_OUT_OF_MEMORY\n"), NULL,
		      "the pins did not hold: %s", r.out);
	cr_expect_neq(strstr(r.out, "hold 4 after destroy: CUDA_SUCCESS\n"), NULL,
		      "the destroy did not release the pins: %s", r.out);
	gp_test_cli_free(&r);
}

Test(shim_graph, instantiate_is_out_of_memory_when_the_pins_exceed_the_budget)
{
	struct gp_test_cli r;

	shim_test_require_shim();
	r = shim_test_run("64M", "4M", "shim_graph", (const char *const[]){ NULL });
	cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
	cr_expect_neq(strstr(r.err, "cuGraphInstantiate (pinning its memory) needs"), NULL, "%s",
		      r.err);
	cr_expect_neq(strstr(r.err, "cuGraphInstantiate(&exec, graph, 0): "
				    "CUDA_ERROR_OUT_OF_MEMORY"), NULL, "%s", r.err);
	gp_test_cli_free(&r);
}
