/*
 * test_shim_graph.c - CUDA graphs under the shim (tests/apps/shim_graph.c
 * through `gpupager exec`): a graph launched several times under a budget
 * that evicts the other allocations between launches, its memory pinned
 * while the executable graph exists and released by its destroy, whether
 * it was captured from launches or from copies into evicted memory, or
 * made of memcpy and memset nodes, and by every form of instantiate.
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
	static const char *const kinds[] = { "kernels", "copies", "nodes" };

	for (int i = 0; i < 3; i++) {
		struct gp_test_cli r = shim_test_run(
			"64M", NULL, "shim_graph",
			(const char *const[]){ "--graph", kinds[i], "--hold", "4", NULL });

		cr_expect_eq(r.status, 0, "%s: exit %d: %s", kinds[i], r.status, r.err);
		expect_launches_ok(&r);
		cr_expect_neq(strstr(r.out, "hold 4 with the graph: CUDA_SUCCESS\n"), NULL,
			      "%s: %s", kinds[i], r.out);
		gp_test_cli_free(&r);
	}
}

/*
 * 10M is five chunks: the graph's three allocations pinned leave two for
 * six others, so they are evicted between launches; four of them at once
 * fit the budget but not beside the pins, until the exec is destroyed.
 */
static void expect_pinned(const char *kind, const char *form)
{
	struct gp_test_cli r;

	shim_test_require_shim();
	r = shim_test_run("64M", "10M", "shim_graph",
			  (const char *const[]){ "--graph", kind, "--instantiate", form, "--hold",
						 "4", NULL });
	cr_expect_eq(r.status, 0, "%s, %s: exit %d: %s", kind, form, r.status, r.err);
	expect_launches_ok(&r);
	cr_expect_neq(strstr(r.out, "hold 4 with the graph: CUDA_ERROR_OUT_OF_MEMORY\n"), NULL,
		      "%s, %s: the pins did not hold: %s", kind, form, r.out);
	cr_expect_neq(strstr(r.out, "hold 4 after destroy: CUDA_SUCCESS\n"), NULL,
		      "%s, %s: the destroy did not release the pins: %s", kind, form, r.out);
	gp_test_cli_free(&r);
}

Test(shim_graph, pinned_while_the_exec_exists_and_released_by_its_destroy)
{
	expect_pinned("kernels", "flags");
}

Test(shim_graph, instantiate_with_params_pins)
{
	expect_pinned("kernels", "params");
}

Test(shim_graph, instantiate_with_params_ptsz_pins)
{
	expect_pinned("kernels", "params-ptsz");
}

Test(shim_graph, instantiate_v2_pins)
{
	expect_pinned("kernels", "v2");
}

Test(shim_graph, instantiate_v10000_pins)
{
	expect_pinned("kernels", "v1");
}

/* a and b are evicted when the copies into them are captured: the driver checks them then. */
Test(shim_graph, captured_copies_into_evicted_memory_are_captured_and_pinned)
{
	expect_pinned("copies", "flags");
}

Test(shim_graph, memcpy_and_memset_nodes_are_pinned)
{
	expect_pinned("nodes", "flags");
}

Test(shim_graph, instantiate_is_out_of_memory_when_the_pins_exceed_the_budget)
{
	struct gp_test_cli r;

	shim_test_require_shim();
	r = shim_test_run("64M", "4M", "shim_graph", (const char *const[]){ NULL });
	cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
	cr_expect_neq(strstr(r.err, "cuGraphInstantiate (pinning its memory) needs"), NULL, "%s",
		      r.err);
	cr_expect_neq(strstr(r.err, "cuGraphInstantiate(exec, graph, 0): "
				    "CUDA_ERROR_OUT_OF_MEMORY"), NULL, "%s", r.err);
	gp_test_cli_free(&r);
}

/* Each form says so its own way: result_out, or the error node and the log. */
Test(shim_graph, every_instantiate_form_reports_the_pins_exceeding_the_budget)
{
	static const char *const forms[][2] = {
		{ "params", "cuGraphInstantiateWithParams: CUDA_ERROR_OUT_OF_MEMORY, "
			    "result_out 1, hErrNode_out (nil)\n" },
		{ "params-ptsz", "cuGraphInstantiateWithParams (ptsz): CUDA_ERROR_OUT_OF_MEMORY, "
				 "result_out 1, hErrNode_out (nil)\n" },
		{ "v2", "cuGraphInstantiate (11000): CUDA_ERROR_OUT_OF_MEMORY, error node (nil), "
			"log 'libgpupager: the graph's memory could not be pinned in VRAM" },
		{ "v1", "cuGraphInstantiate (10000): CUDA_ERROR_OUT_OF_MEMORY, error node (nil), "
			"log 'libgpupager: the graph's memory could not be pinned in VRAM" },
	};

	shim_test_require_shim();
	for (int i = 0; i < 4; i++) {
		struct gp_test_cli r = shim_test_run(
			"64M", "4M", "shim_graph",
			(const char *const[]){ "--instantiate", forms[i][0], NULL });

		cr_expect_eq(r.status, 2, "%s: exit %d: %s", forms[i][0], r.status, r.err);
		cr_expect_neq(strstr(r.err, "cuGraphInstantiate (pinning its memory) needs"), NULL,
			      "%s: %s", forms[i][0], r.err);
		cr_expect_neq(strstr(r.err, forms[i][1]), NULL, "%s: %s", forms[i][0], r.err);
		gp_test_cli_free(&r);
	}
}
