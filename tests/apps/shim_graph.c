/*
 * shim_graph.c - a CUDA graph under the shim: fill two buffers and sum
 * each, captured once on a stream and launched several times, with
 * other allocations filled and checked between launches so that a budget
 * smaller than all of them forces evictions.  Prints one line per check.
 *
 *   shim_graph [--hold N]
 *
 * --hold N: after the launches, run one kernel over N other allocations at
 * once, first while the executable graph exists, then after destroying
 * it; with a budget of N + 2 chunks the first fails (the graph's three
 * allocations are pinned) and the second succeeds (the pins are gone).
 * Exit 0 when every check passes, 1 on a wrong result, 2 on a driver error.
 */
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_app_sum.h"
#include "shim_cuda.h"

#define BUF_BYTES (2u << 20)
#define N_OTHERS 6
#define LAUNCHES 4
#define SEED 0x5eed

#define CHECK(call)                                                                   \
	do {                                                                          \
		CUresult r_ = (call);                                                 \
		if (r_ != CUDA_SUCCESS) {                                             \
			const char *name_ = "?";                                      \
			cuGetErrorName(r_, &name_);                                   \
			fprintf(stderr, "shim_graph: %s: %s\n", #call, name_);        \
			exit(2);                                                      \
		}                                                                     \
	} while (0)

static CUfunction fill, checksum, check, nop8;
static uint64_t words = BUF_BYTES / 8;

static void launch_fill(CUdeviceptr buf, uint64_t seed, CUstream s)
{
	void *params[] = { &buf, &words, &seed };

	CHECK(cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 0, s, params, NULL));
}

/* Whether buf still holds fill's pattern for seed. */
static int verify(CUdeviceptr buf, uint64_t seed, CUdeviceptr out, CUstream s)
{
	uint64_t tag = seed, result[2];
	void *params[] = { &buf, &words, &seed, &tag, &out };

	CHECK(cuLaunchKernel(check, 1, 1, 1, 1, 1, 1, 0, s, params, NULL));
	CHECK(cuMemcpyDtoHAsync(result, out, sizeof(result), s));
	CHECK(cuStreamSynchronize(s));
	return result[0] == tag && result[1] == 0;
}

/* One kernel using the first n others at once (nop8 takes 8 pointers). */
static CUresult hold_others(CUdeviceptr *others, int n, CUstream s)
{
	CUdeviceptr p[8];
	void *params[8];
	CUresult r;

	for (int i = 0; i < 8; i++) {
		p[i] = others[i < n ? i : 0];
		params[i] = &p[i];
	}
	r = cuLaunchKernel(nop8, 1, 1, 1, 1, 1, 1, 0, s, params, NULL);
	if (r == CUDA_SUCCESS)
		r = cuStreamSynchronize(s);
	return r;
}

static const char *name_of(CUresult r)
{
	const char *name = "?";

	cuGetErrorName(r, &name);
	return name;
}

int main(int argc, char **argv)
{
	CUdeviceptr a, b, out, scratch, others[N_OTHERS];
	uint64_t len = BUF_BYTES, tag_a = 42, tag_b = 43, result[4], *expect_a, *expect_b;
	CUdeviceptr out_b;
	void *sum_a[] = { &a, &len, &tag_a, &out };
	void *sum_b[] = { &b, &len, &tag_b, &out_b };
	CUgraphExec exec;
	CUmodule mod;
	CUgraph graph;
	int hold = 0, bad = 0;
	CUstream s;

	if (argc == 3 && strcmp(argv[1], "--hold") == 0)
		hold = atoi(argv[2]);
	if (argc != 1 + 2 * !!hold || hold < 0 || hold > N_OTHERS) {
		fprintf(stderr, "usage: shim_graph [--hold N<=%d]\n", N_OTHERS);
		return 2;
	}
	/* Linked symbols (LD_LIBRARY_PATH picks the driver): the graph calls are direct. */
	if (shim_cuda_resolve("link"))
		return 2;
	shim_cuda_start();
	mod = shim_cuda_load_kernels("shim_app_kernels.so");
	CHECK(cuModuleGetFunction(&fill, mod, "fill"));
	CHECK(cuModuleGetFunction(&checksum, mod, "checksum"));
	CHECK(cuModuleGetFunction(&check, mod, "check"));
	CHECK(cuModuleGetFunction(&nop8, mod, "nop8"));
	CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	CHECK(cuMemAlloc(&a, BUF_BYTES));
	CHECK(cuMemAlloc(&b, BUF_BYTES));
	CHECK(cuMemAlloc(&out, 32));
	out_b = out + 16;
	CHECK(cuMemAlloc(&scratch, 16));
	for (int i = 0; i < N_OTHERS; i++)
		CHECK(cuMemAlloc(&others[i], BUF_BYTES));

	/* The expected sum, from the same pattern on the host. */
	expect_a = malloc(BUF_BYTES);
	expect_b = malloc(BUF_BYTES);
	if (!expect_a || !expect_b)
		return 2;
	for (uint64_t i = 0; i < words; i++) {
		expect_a[i] = shim_pattern(SEED, i);
		expect_b[i] = shim_pattern(SEED + 100, i);
	}

	/* Kernels only: nothing runs (or is made resident) until the graph is launched. */
	CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
	launch_fill(a, SEED, s);
	launch_fill(b, SEED + 100, s);
	CHECK(cuLaunchKernel(checksum, 1, 1, 1, 1, 1, 1, 0, s, sum_a, NULL));
	CHECK(cuLaunchKernel(checksum, 1, 1, 1, 1, 1, 1, 0, s, sum_b, NULL));
	CHECK(cuStreamEndCapture(s, &graph));
	CHECK(cuGraphInstantiate(&exec, graph, 0));

	for (int l = 0; l < LAUNCHES; l++) {
		CHECK(cuMemsetD8(a, 0, BUF_BYTES));
		CHECK(cuMemsetD8(b, 0, BUF_BYTES));
		CHECK(cuMemsetD8(out, 0, 32));
		CHECK(cuGraphLaunch(exec, s));
		CHECK(cuMemcpyDtoHAsync(result, out, sizeof(result), s));
		CHECK(cuStreamSynchronize(s));
		if (result[0] != tag_a || result[1] != shim_sum(expect_a, BUF_BYTES) ||
		    result[2] != tag_b || result[3] != shim_sum(expect_b, BUF_BYTES)) {
			printf("launch %d: wrong sum\n", l);
			bad = 1;
		} else {
			printf("launch %d: sum ok\n", l);
		}
		/* Touch every other allocation: more than the budget left holds. */
		for (int i = 0; i < N_OTHERS; i++)
			launch_fill(others[i], SEED + 1 + i, s);
		for (int i = 0; i < N_OTHERS; i++) {
			if (!verify(others[i], SEED + 1 + i, scratch, s)) {
				printf("launch %d: other %d wrong\n", l, i);
				bad = 1;
			}
		}
	}
	if (hold)
		printf("hold %d with the graph: %s\n", hold, name_of(hold_others(others, hold, s)));
	CHECK(cuGraphExecDestroy(exec));
	CHECK(cuGraphDestroy(graph));
	if (hold)
		printf("hold %d after destroy: %s\n", hold, name_of(hold_others(others, hold, s)));
	for (int i = 0; i < N_OTHERS; i++) {
		if (!verify(others[i], SEED + 1 + i, scratch, s)) {
			printf("end: other %d wrong\n", i);
			bad = 1;
		}
	}
	CHECK(cuStreamDestroy(s));
	for (int i = 0; i < N_OTHERS; i++)
		CHECK(cuMemFree(others[i]));
	CHECK(cuMemFree(a));
	CHECK(cuMemFree(b));
	CHECK(cuMemFree(out));
	CHECK(cuMemFree(scratch));
	CHECK(cuModuleUnload(mod));
	free(expect_a);
	free(expect_b);
	printf("shim_graph: %s\n", bad ? "FAILED" : "ok");
	return bad;
}
