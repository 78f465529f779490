/*
 * shim_graph.c - a CUDA graph under the shim, launched several times, with
 * other allocations filled and checked between launches so that a budget
 * smaller than all of them forces evictions.  Prints one line per check.
 *
 *   shim_graph [--graph kernels|copies|nodes] [--instantiate FORM] [--hold N]
 *
 * --graph: what the graph does with its three allocations a, b, out
 *   kernels  fill a and b and sum each into out (captured launches)
 *   copies   a from a host buffer, b copied from a, out set to a word:
 *            captured cuMemcpyHtoDAsync, cuMemcpyDtoDAsync, cuMemsetD32Async
 *   nodes    the same as explicit memcpy and memset nodes
 *   For copies and nodes, a and b are filled and then evicted (the others
 *   touched) before the graph is made.
 * --instantiate: flags (cuGraphInstantiate, cuda.h's WithFlags), params
 *   (cuGraphInstantiateWithParams, uploading on the stream), params-ptsz
 *   (its per-thread form), v2 and v1 (cuGraphInstantiate at 11.0 and 10.0,
 *   with error node and log); the last three through cuGetProcAddress.
 * --hold N: after the launches, run one kernel over N other allocations at
 *   once, first while the executable graph exists, then after destroying
 *   it; with a budget of N + 2 chunks the first fails (the graph's three
 *   allocations are pinned) and the second succeeds (the pins are gone).
 * Exit 0 when every check passes, 1 on a wrong result, 2 on a driver error.
 */
#include <cuda.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_app_sum.h"
#include "shim_cuda.h"

#define BUF_BYTES (2u << 20)
#define N_OTHERS 6
#define LAUNCHES 4
#define SEED 0x5eed
#define SET_WORD 0xa5c3e10fu

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

enum graph_kind { KERNELS, COPIES, NODES };

static CUfunction fill, checksum, check, nop8;
static uint64_t words = BUF_BYTES / 8;
static CUdeviceptr a, b, out, scratch, others[N_OTHERS];
/* fill's for SEED (a; copies and nodes: b too) and for SEED + 100 (kernels' b). */
static uint64_t *pattern, *pattern_b;
static CUstream s;

static const char *name_of(CUresult r)
{
	const char *name = "?";

	cuGetErrorName(r, &name);
	return name;
}

static void launch_fill(CUdeviceptr buf, uint64_t seed, CUstream stream)
{
	void *params[] = { &buf, &words, &seed };

	CHECK(cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 0, stream, params, NULL));
}

/* Whether buf still holds fill's pattern for seed. */
static int verify(CUdeviceptr buf, uint64_t seed)
{
	uint64_t tag = seed, result[2];
	void *params[] = { &buf, &words, &seed, &tag, &scratch };

	CHECK(cuLaunchKernel(check, 1, 1, 1, 1, 1, 1, 0, s, params, NULL));
	CHECK(cuMemcpyDtoHAsync(result, scratch, sizeof(result), s));
	CHECK(cuStreamSynchronize(s));
	return result[0] == tag && result[1] == 0;
}

/* The device's checksum of buf (BUF_BYTES), 0 when the kernel's tag did not come back. */
static uint64_t device_sum(CUdeviceptr buf)
{
	uint64_t len = BUF_BYTES, tag = 77, result[2];
	void *params[] = { &buf, &len, &tag, &scratch };

	CHECK(cuLaunchKernel(checksum, 1, 1, 1, 1, 1, 1, 0, s, params, NULL));
	CHECK(cuMemcpyDtoHAsync(result, scratch, sizeof(result), s));
	CHECK(cuStreamSynchronize(s));
	return result[0] == tag ? result[1] : 0;
}

/* Fill and check every other allocation: more than the budget left holds. */
static int touch_others(int l)
{
	int bad = 0;

	for (int i = 0; i < N_OTHERS; i++)
		launch_fill(others[i], SEED + 1 + i, s);
	for (int i = 0; i < N_OTHERS; i++) {
		if (!verify(others[i], SEED + 1 + i)) {
			printf("launch %d: other %d wrong\n", l, i);
			bad = 1;
		}
	}
	return bad;
}

/* Kernels only: nothing runs (or is made resident) until the graph is launched. */
static CUgraph capture_kernels(uint64_t *tags)
{
	uint64_t len = BUF_BYTES;
	CUdeviceptr out_b = out + 16;
	void *sum_a[] = { &a, &len, &tags[0], &out };
	void *sum_b[] = { &b, &len, &tags[1], &out_b };
	CUgraph graph;

	CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
	launch_fill(a, SEED, s);
	launch_fill(b, SEED + 100, s);
	CHECK(cuLaunchKernel(checksum, 1, 1, 1, 1, 1, 1, 0, s, sum_a, NULL));
	CHECK(cuLaunchKernel(checksum, 1, 1, 1, 1, 1, 1, 0, s, sum_b, NULL));
	CHECK(cuStreamEndCapture(s, &graph));
	return graph;
}

/* Copies into a and b, which are evicted now, and a memset of out. */
static CUgraph capture_copies(void)
{
	CUgraph graph;

	CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
	CHECK(cuMemcpyHtoDAsync(a, pattern, BUF_BYTES, s));
	CHECK(cuMemcpyDtoDAsync(b, a, BUF_BYTES, s));
	CHECK(cuMemsetD32Async(out, SET_WORD, 8, s));
	CHECK(cuStreamEndCapture(s, &graph));
	return graph;
}

/* The same graph as capture_copies, node by node. */
static CUgraph add_nodes(void)
{
	CUDA_MEMCPY3D up = {
		.srcMemoryType = CU_MEMORYTYPE_HOST, .srcHost = pattern,
		.dstMemoryType = CU_MEMORYTYPE_DEVICE, .dstDevice = a,
		.WidthInBytes = BUF_BYTES, .Height = 1, .Depth = 1,
	};
	CUDA_MEMCPY3D across = {
		.srcMemoryType = CU_MEMORYTYPE_DEVICE, .srcDevice = a,
		.dstMemoryType = CU_MEMORYTYPE_DEVICE, .dstDevice = b,
		.WidthInBytes = BUF_BYTES, .Height = 1, .Depth = 1,
	};
	CUDA_MEMSET_NODE_PARAMS set = {
		.dst = out, .value = SET_WORD, .elementSize = 4, .width = 8, .height = 1,
	};
	CUgraphNode n_up, n_set, n_across;
	CUcontext ctx;
	CUgraph graph;

	CHECK(cuCtxGetCurrent(&ctx));
	CHECK(cuGraphCreate(&graph, 0));
	CHECK(cuGraphAddMemcpyNode(&n_up, graph, NULL, 0, &up, ctx));
	CHECK(cuGraphAddMemcpyNode(&n_across, graph, &n_up, 1, &across, ctx));
	CHECK(cuGraphAddMemsetNode(&n_set, graph, NULL, 0, &set, ctx));
	return graph;
}

/* Fill a and b, then the others after them: a and b are evicted. */
static void evict_ab(void)
{
	launch_fill(a, SEED + 50, s);
	launch_fill(b, SEED + 51, s);
	CHECK(cuStreamSynchronize(s));
	if (touch_others(-1))
		exit(1);
}

typedef CUresult (*instantiate_old_fn)(CUgraphExec *, CUgraph, CUgraphNode *, char *, size_t);
typedef CUresult (*instantiate_params_fn)(CUgraphExec *, CUgraph, CUDA_GRAPH_INSTANTIATE_PARAMS *);

static void *proc(const char *name, int version, cuuint64_t flags)
{
	CUdriverProcAddressQueryResult status;
	void *fn = NULL;

	CHECK(cuGetProcAddress(name, &fn, version, flags, &status));
	return fn;
}

/* One of the old forms: on failure, the error node and the log are printed too. */
static void instantiate_old(CUgraphExec *exec, CUgraph graph, int version)
{
	instantiate_old_fn fn = (instantiate_old_fn)proc("cuGraphInstantiate", version, 0);
	CUgraphNode err_node = (CUgraphNode)1;
	char log[256] = "unset";
	CUresult r = fn(exec, graph, &err_node, log, sizeof(log));

	if (r == CUDA_SUCCESS)
		return;
	fprintf(stderr, "shim_graph: cuGraphInstantiate (%d): %s, error node %p, log '%s'\n",
		version, name_of(r), (void *)err_node, log);
	exit(2);
}

/* cuGraphInstantiateWithParams, uploading on s: on failure, result_out is printed too. */
static void instantiate_params(CUgraphExec *exec, CUgraph graph, bool per_thread)
{
	instantiate_params_fn fn = cuGraphInstantiateWithParams;
	CUDA_GRAPH_INSTANTIATE_PARAMS p = {
		.flags = CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD, .hUploadStream = s,
		.hErrNode_out = (CUgraphNode)1, .result_out = CUDA_GRAPH_INSTANTIATE_SUCCESS,
	};
	CUresult r;

	if (per_thread)
		fn = (instantiate_params_fn)proc("cuGraphInstantiateWithParams", 12000,
						 CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
	r = fn(exec, graph, &p);
	if (r == CUDA_SUCCESS && p.result_out == CUDA_GRAPH_INSTANTIATE_SUCCESS && !p.hErrNode_out)
		return;
	fprintf(stderr, "shim_graph: cuGraphInstantiateWithParams%s: %s, result_out %d, "
		"hErrNode_out %p\n", per_thread ? " (ptsz)" : "", name_of(r), (int)p.result_out,
		(void *)p.hErrNode_out);
	exit(2);
}

static void instantiate(CUgraphExec *exec, CUgraph graph, const char *form)
{
	if (strcmp(form, "params") == 0)
		instantiate_params(exec, graph, false);
	else if (strcmp(form, "params-ptsz") == 0)
		instantiate_params(exec, graph, true);
	else if (strcmp(form, "v2") == 0)
		instantiate_old(exec, graph, 11000);
	else if (strcmp(form, "v1") == 0)
		instantiate_old(exec, graph, 10000);
	else
		CHECK(cuGraphInstantiate(exec, graph, 0));
}

/* One kernel using the first n others at once (nop8 takes 8 pointers). */
static CUresult hold_others(int n)
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

/* Whether one launch of the graph wrote what it should, from zeroed buffers. */
static int launch_once(CUgraphExec exec, enum graph_kind kind, const uint64_t *tags)
{
	uint64_t result[4], expect = shim_sum(pattern, BUF_BYTES);
	uint32_t set[8];

	CHECK(cuMemsetD8(a, 0, BUF_BYTES));
	CHECK(cuMemsetD8(b, 0, BUF_BYTES));
	CHECK(cuMemsetD8(out, 0, 32));
	CHECK(cuGraphLaunch(exec, s));
	CHECK(cuStreamSynchronize(s));
	CHECK(cuMemcpyDtoHAsync(result, out, sizeof(result), s));
	CHECK(cuStreamSynchronize(s));
	if (kind == KERNELS)
		return result[0] == tags[0] && result[1] == expect && result[2] == tags[1] &&
		       result[3] == shim_sum(pattern_b, BUF_BYTES);
	for (int i = 0; i < 8; i++)
		set[i] = SET_WORD;
	return device_sum(a) == expect && device_sum(b) == expect &&
	       memcmp(result, set, sizeof(set)) == 0;
}

static void expected_init(void)
{
	pattern = malloc(BUF_BYTES);
	pattern_b = malloc(BUF_BYTES);
	if (!pattern || !pattern_b)
		exit(2);
	for (uint64_t i = 0; i < words; i++) {
		pattern[i] = shim_pattern(SEED, i);
		pattern_b[i] = shim_pattern(SEED + 100, i);
	}
}

static int parse(int argc, char **argv, enum graph_kind *kind, const char **form, int *hold)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--hold") == 0)
			*hold = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--instantiate") == 0)
			*form = argv[i + 1];
		else if (strcmp(argv[i], "--graph") == 0 && strcmp(argv[i + 1], "kernels") == 0)
			*kind = KERNELS;
		else if (strcmp(argv[i], "--graph") == 0 && strcmp(argv[i + 1], "copies") == 0)
			*kind = COPIES;
		else if (strcmp(argv[i], "--graph") == 0 && strcmp(argv[i + 1], "nodes") == 0)
			*kind = NODES;
		else
			return -1;
	}
	return argc % 2 == 1 && *hold >= 0 && *hold <= N_OTHERS ? 0 : -1;
}

int main(int argc, char **argv)
{
	enum graph_kind kind = KERNELS;
	const char *form = "flags";
	uint64_t tags[2] = { 42, 43 };
	int hold = 0, bad = 0;
	CUgraphExec exec;
	CUmodule mod;
	CUgraph graph;

	if (parse(argc, argv, &kind, &form, &hold)) {
		fprintf(stderr, "usage: shim_graph [--graph kernels|copies|nodes] "
				"[--instantiate FORM] [--hold N<=%d]\n", N_OTHERS);
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
	CHECK(cuMemAlloc(&scratch, 16));
	for (int i = 0; i < N_OTHERS; i++)
		CHECK(cuMemAlloc(&others[i], BUF_BYTES));
	expected_init();

	if (kind != KERNELS)
		evict_ab();
	graph = kind == KERNELS ? capture_kernels(tags) :
		kind == COPIES	? capture_copies() :
				  add_nodes();
	instantiate(&exec, graph, form);
	for (int l = 0; l < LAUNCHES; l++) {
		if (!launch_once(exec, kind, tags)) {
			printf("launch %d: wrong sum\n", l);
			bad = 1;
		} else {
			printf("launch %d: sum ok\n", l);
		}
		bad |= touch_others(l);
	}
	if (hold)
		printf("hold %d with the graph: %s\n", hold, name_of(hold_others(hold)));
	CHECK(cuGraphExecDestroy(exec));
	CHECK(cuGraphDestroy(graph));
	if (hold)
		printf("hold %d after destroy: %s\n", hold, name_of(hold_others(hold)));
	for (int i = 0; i < N_OTHERS; i++) {
		if (!verify(others[i], SEED + 1 + i)) {
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
	free(pattern);
	free(pattern_b);
	printf("shim_graph: %s\n", bad ? "FAILED" : "ok");
	return bad;
}
