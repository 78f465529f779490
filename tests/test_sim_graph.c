/*
 * test_sim_graph.c - simulated device: stream capture, explicit graphs,
 * instantiate and launch, and the errors capture imposes.
 */
#include <criterion/criterion.h>
#include <cudaTypedefs.h>
#include <string.h>

#include "common/sim_test.h"

/* cuda.h declares the per-thread and old forms only for the driver's own build. */
CUresult cuStreamBeginCapture_v2_ptsz(CUstream hstream, CUstreamCaptureMode mode);
CUresult cuGraphLaunch_ptsz(CUgraphExec exec, CUstream hstream);
CUresult cuGraphInstantiateWithParams_ptsz(CUgraphExec *exec, CUgraph graph,
					   CUDA_GRAPH_INSTANTIATE_PARAMS *params);
CUresult cuGraphInstantiate_v2(CUgraphExec *exec, CUgraph graph, CUgraphNode *error_node,
			       char *log, size_t log_size);
CUresult graph_instantiate_v10000(CUgraphExec *exec, CUgraph graph, CUgraphNode *error_node,
				  char *log, size_t log_size) __asm__("cuGraphInstantiate");

#define N_WORDS 1024u
#define BYTES (N_WORDS * sizeof(uint32_t))

static CUmodule module;
static CUfunction fill;

static void setup(void)
{
	sim_test_init();
	sim_assert_ok(cuModuleLoad(&module, SIM_TEST_KERNELS));
	sim_assert_ok(cuModuleGetFunction(&fill, module, "fill_u32"));
}

TestSuite(sim_graph, .init = setup);

static void count_call(void *arg)
{
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

/* FNV-1a over n words of device memory. */
static uint64_t checksum(CUdeviceptr dev, size_t n)
{
	uint32_t *words = malloc(n * sizeof(*words));
	uint64_t h = 1469598103934665603ull;

	cr_assert_not_null(words);
	sim_assert_ok(cuMemcpyDtoH(words, dev, n * sizeof(*words)));
	for (size_t i = 0; i < n; i++)
		h = (h ^ words[i]) * 1099511628211ull;
	free(words);
	return h;
}

/* The words fill_u32 value over the first half, then zeros, would make. */
static uint64_t expected_checksum(uint32_t value)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < N_WORDS; i++)
		h = (h ^ (i < N_WORDS / 2 ? value : 0)) * 1099511628211ull;
	return h;
}

Test(sim_graph, captured_work_runs_at_each_launch_not_at_capture)
{
	uint32_t value = 7;
	uint64_t count = N_WORDS / 2;
	CUdeviceptr a, b;
	void *params[] = { &a, &value, &count };
	CUstreamCaptureStatus status;
	const CUgraphNode *deps;
	CUgraphNode nodes[8];
	size_t n_deps = 0, n_nodes = 8;
	CUgraphNodeType type;
	cuuint64_t id = 0;
	CUgraphExec exec;
	CUgraph graph, in_capture = NULL;
	int calls = 0;
	CUstream s;

	sim_assert_ok(cuMemAlloc(&a, BYTES));
	sim_assert_ok(cuMemAlloc(&b, BYTES));
	sim_assert_ok(cuMemsetD32(a, 0xdeadbeef, N_WORDS));
	sim_assert_ok(cuMemsetD32(b, 0xdeadbeef, N_WORDS));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuStreamIsCapturing(s, &status));
	cr_assert_eq(status, CU_STREAM_CAPTURE_STATUS_NONE);

	sim_assert_ok(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
	sim_assert_result(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL),
			  CUDA_ERROR_ILLEGAL_STATE);
	sim_assert_ok(cuMemsetD32Async(a, 0, N_WORDS, s));
	sim_assert_ok(cuLaunchKernel(fill, 1, 1, 1, 32, 1, 1, 0, s, params, NULL));
	sim_assert_ok(cuMemcpyDtoDAsync(b, a, BYTES, s));
	sim_assert_ok(cuLaunchHostFunc(s, count_call, &calls));
	sim_assert_ok(cuStreamIsCapturing(s, &status));
	cr_assert_eq(status, CU_STREAM_CAPTURE_STATUS_ACTIVE);
	sim_assert_ok(cuStreamGetCaptureInfo(s, &status, &id, &in_capture, &deps, NULL, &n_deps));
	cr_assert_eq(status, CU_STREAM_CAPTURE_STATUS_ACTIVE);
	cr_assert_neq(id, 0);
	cr_assert_not_null(in_capture);
	cr_assert_eq(n_deps, 1, "the host node is the next one's only dependency");
	sim_assert_ok(cuGraphNodeGetType(deps[0], &type));
	cr_assert_eq(type, CU_GRAPH_NODE_TYPE_HOST);
	sim_assert_ok(cuStreamEndCapture(s, &graph));
	cr_assert_eq(graph, in_capture);
	sim_assert_ok(cuStreamIsCapturing(s, &status));
	cr_assert_eq(status, CU_STREAM_CAPTURE_STATUS_NONE);

	/* Nothing ran during capture. */
	sim_assert_ok(cuStreamSynchronize(s));
	cr_assert_eq(calls, 0);
	cr_assert_neq(checksum(b, N_WORDS), expected_checksum(7));

	sim_assert_ok(cuGraphGetNodes(graph, nodes, &n_nodes));
	cr_assert_eq(n_nodes, 4);
	sim_assert_ok(cuGraphNodeGetType(nodes[0], &type));
	cr_assert_eq(type, CU_GRAPH_NODE_TYPE_MEMSET);
	sim_assert_ok(cuGraphNodeGetType(nodes[1], &type));
	cr_assert_eq(type, CU_GRAPH_NODE_TYPE_KERNEL);
	sim_assert_ok(cuGraphNodeGetType(nodes[2], &type));
	cr_assert_eq(type, CU_GRAPH_NODE_TYPE_MEMCPY);

	/* Argument values were copied at capture time. */
	value = 99;
	sim_assert_ok(cuGraphInstantiate(&exec, graph, 0));
	for (int i = 1; i <= 3; i++) {
		sim_assert_ok(cuMemsetD32(b, 0xdeadbeef, N_WORDS));
		sim_assert_ok(cuGraphLaunch(exec, s));
		sim_assert_ok(cuStreamSynchronize(s));
		cr_assert_eq(checksum(b, N_WORDS), expected_checksum(7), "launch %d", i);
		cr_assert_eq(calls, i);
	}
	/* The executable graph is independent of its graph. */
	sim_assert_ok(cuGraphDestroy(graph));
	sim_assert_ok(cuGraphLaunch(exec, s));
	sim_assert_ok(cuGraphExecDestroy(exec));
	sim_assert_ok(cuStreamSynchronize(s));
	cr_assert_eq(calls, 4);
	sim_assert_result(cuGraphLaunch(exec, s), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuGraphExecDestroy(exec), CUDA_ERROR_INVALID_VALUE);
	sim_assert_result(cuGraphDestroy(graph), CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(a));
	sim_assert_ok(cuMemFree(b));
}

Test(sim_graph, events_fork_and_join_streams_into_a_capture)
{
	uint32_t value = 5;
	uint64_t count = N_WORDS / 2;
	CUdeviceptr a;
	void *params[] = { &a, &value, &count };
	CUstreamCaptureStatus status;
	CUevent fork, join;
	CUgraphExec exec;
	CUstream s1, s2;
	CUgraph graph;
	size_t n = 0;

	sim_assert_ok(cuMemAlloc(&a, BYTES));
	sim_assert_ok(cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuStreamCreate(&s2, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuEventCreate(&fork, CU_EVENT_DISABLE_TIMING));
	sim_assert_ok(cuEventCreate(&join, CU_EVENT_DISABLE_TIMING));

	sim_assert_ok(cuStreamBeginCapture(s1, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
	sim_assert_ok(cuMemsetD32Async(a, 0, N_WORDS, s1));
	sim_assert_ok(cuEventRecord(fork, s1));
	sim_assert_ok(cuStreamWaitEvent(s2, fork, 0));
	sim_assert_ok(cuStreamIsCapturing(s2, &status));
	cr_assert_eq(status, CU_STREAM_CAPTURE_STATUS_ACTIVE);
	sim_assert_ok(cuLaunchKernel(fill, 1, 1, 1, 32, 1, 1, 0, s2, params, NULL));
	sim_assert_ok(cuEventRecord(join, s2));
	sim_assert_ok(cuStreamWaitEvent(s1, join, 0));
	sim_assert_ok(cuStreamEndCapture(s1, &graph));
	sim_assert_ok(cuStreamIsCapturing(s2, &status));
	cr_assert_eq(status, CU_STREAM_CAPTURE_STATUS_NONE, "ending the capture ends it on s2");
	sim_assert_ok(cuGraphGetNodes(graph, NULL, &n));
	cr_assert_eq(n, 2);
	sim_assert_ok(cuGraphInstantiateWithFlags(&exec, graph, 0));
	sim_assert_ok(cuGraphLaunch(exec, s2));
	sim_assert_ok(cuStreamSynchronize(s2));
	cr_assert_eq(checksum(a, N_WORDS), expected_checksum(5));
	sim_assert_ok(cuGraphExecDestroy(exec));
	sim_assert_ok(cuGraphDestroy(graph));

	/* A stream forked and never joined back. */
	sim_assert_ok(cuStreamBeginCapture(s1, CU_STREAM_CAPTURE_MODE_GLOBAL));
	sim_assert_ok(cuEventRecord(fork, s1));
	sim_assert_ok(cuStreamWaitEvent(s2, fork, 0));
	sim_assert_ok(cuLaunchKernel(fill, 1, 1, 1, 32, 1, 1, 0, s2, params, NULL));
	sim_assert_result(cuStreamEndCapture(s2, &graph), CUDA_ERROR_STREAM_CAPTURE_UNMATCHED);
	sim_assert_result(cuStreamEndCapture(s1, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
	cr_assert_null(graph);

	sim_assert_ok(cuStreamBeginCapture(s1, CU_STREAM_CAPTURE_MODE_GLOBAL));
	sim_assert_ok(cuEventRecord(fork, s1));
	sim_assert_ok(cuStreamWaitEvent(s2, fork, 0));
	sim_assert_ok(cuLaunchKernel(fill, 1, 1, 1, 32, 1, 1, 0, s2, params, NULL));
	sim_assert_result(cuStreamEndCapture(s1, &graph), CUDA_ERROR_STREAM_CAPTURE_UNJOINED);
	cr_assert_null(graph);
	sim_assert_ok(cuStreamIsCapturing(s2, &status));
	cr_assert_eq(status, CU_STREAM_CAPTURE_STATUS_NONE);
	/* The event's capture has ended. */
	sim_assert_result(cuStreamWaitEvent(s2, fork, 0), CUDA_ERROR_CAPTURED_EVENT);

	sim_assert_ok(cuEventDestroy(fork));
	sim_assert_ok(cuEventDestroy(join));
	sim_assert_ok(cuStreamDestroy(s1));
	sim_assert_ok(cuStreamDestroy(s2));
	sim_assert_ok(cuMemFree(a));
}

Test(sim_graph, waiting_calls_invalidate_the_capture)
{
	uint32_t host[4] = { 0 };
	CUstreamCaptureStatus status;
	CUstream s, blocking;
	CUdeviceptr a;
	CUgraph graph = (CUgraph)1;

	sim_assert_ok(cuMemAlloc(&a, BYTES));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_result(cuStreamEndCapture(s, &graph), CUDA_ERROR_ILLEGAL_STATE);
	sim_assert_result(cuStreamBeginCapture(NULL, CU_STREAM_CAPTURE_MODE_GLOBAL),
			  CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	sim_assert_result(cuStreamBeginCapture(s, (CUstreamCaptureMode)7),
			  CUDA_ERROR_INVALID_VALUE);

	/* cuStreamSynchronize on the capturing stream. */
	sim_assert_ok(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
	sim_assert_ok(cuMemsetD32Async(a, 1, N_WORDS, s));
	sim_assert_result(cuStreamSynchronize(s), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	sim_assert_ok(cuStreamIsCapturing(s, &status));
	cr_assert_eq(status, CU_STREAM_CAPTURE_STATUS_INVALIDATED);
	sim_assert_result(cuMemsetD32Async(a, 1, N_WORDS, s),
			  CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
	sim_assert_result(cuStreamEndCapture(s, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
	cr_assert_null(graph);
	sim_assert_ok(cuStreamSynchronize(s));

	/* A synchronous copy during a global capture. */
	sim_assert_ok(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
	sim_assert_result(cuMemcpyDtoH(host, a, sizeof(host)),
			  CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	sim_assert_result(cuStreamEndCapture(s, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);

	/* An async copy to pageable memory is captured: it returns at once. */
	sim_assert_ok(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
	sim_assert_ok(cuMemcpyDtoHAsync(host, a, sizeof(host), s));
	sim_assert_ok(cuStreamEndCapture(s, &graph));
	cr_assert_not_null(graph);
	sim_assert_ok(cuGraphDestroy(graph));

	/* Relaxed mode allows it. */
	sim_assert_ok(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_RELAXED));
	sim_assert_ok(cuMemcpyDtoH(host, a, sizeof(host)));
	sim_assert_ok(cuStreamEndCapture(s, &graph));
	cr_assert_not_null(graph);
	sim_assert_ok(cuGraphDestroy(graph));

	/* The legacy stream would synchronise with a capturing blocking stream. */
	sim_assert_ok(cuStreamCreate(&blocking, 0));
	sim_assert_ok(cuStreamBeginCapture(blocking, CU_STREAM_CAPTURE_MODE_RELAXED));
	sim_assert_result(cuStreamIsCapturing(NULL, &status), CUDA_ERROR_STREAM_CAPTURE_IMPLICIT);
	sim_assert_result(cuMemsetD32Async(a, 2, N_WORDS, NULL),
			  CUDA_ERROR_STREAM_CAPTURE_IMPLICIT);
	sim_assert_result(cuStreamEndCapture(blocking, &graph),
			  CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
	sim_assert_ok(cuStreamIsCapturing(NULL, &status));
	cr_assert_eq(status, CU_STREAM_CAPTURE_STATUS_NONE);

	sim_assert_ok(cuStreamDestroy(blocking));
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(a));
}

Test(sim_graph, explicit_nodes_run_in_dependency_order)
{
	uint32_t value = 0x1234, back[N_WORDS];
	uint64_t count = N_WORDS / 2;
	CUdeviceptr a;
	void *params[] = { &a, &value, &count };
	CUgraphNode set, kernel, copy, host, empty, list[5];
	CUDA_KERNEL_NODE_PARAMS kp = {
		.func = fill,
		.gridDimX = 1, .gridDimY = 1, .gridDimZ = 1,
		.blockDimX = 32, .blockDimY = 1, .blockDimZ = 1,
		.kernelParams = params,
	}, got;
	CUDA_MEMSET_NODE_PARAMS mp = {
		.dst = 0, .value = 0, .elementSize = 4, .width = N_WORDS, .height = 1,
	};
	CUDA_MEMCPY3D cp = {
		.srcMemoryType = CU_MEMORYTYPE_DEVICE,
		.dstMemoryType = CU_MEMORYTYPE_HOST, .dstHost = back,
		.WidthInBytes = BYTES, .Height = 1, .Depth = 1,
	};
	CUDA_HOST_NODE_PARAMS hp = { 0 };
	CUgraphNodeType type;
	CUgraphExec exec;
	CUgraph graph, other;
	int calls = 0;
	size_t n = 5;
	CUstream s;

	sim_assert_ok(cuMemAlloc(&a, BYTES));
	mp.dst = a;
	cp.srcDevice = a;
	hp.fn = count_call;
	hp.userData = &calls;
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	sim_assert_ok(cuGraphCreate(&graph, 0));
	sim_assert_ok(cuGraphCreate(&other, 0));
	sim_assert_ok(cuGraphAddMemsetNode(&set, graph, NULL, 0, &mp, NULL));
	sim_assert_ok(cuGraphAddKernelNode(&kernel, graph, &set, 1, &kp));
	value = 0; /* copied when the node was added */
	sim_assert_ok(cuGraphAddMemcpyNode(&copy, graph, &kernel, 1, &cp, NULL));
	sim_assert_ok(cuGraphAddHostNode(&host, graph, &copy, 1, &hp));
	sim_assert_ok(cuGraphAddEmptyNode(&empty, graph, &host, 1));
	sim_assert_result(cuGraphAddEmptyNode(&empty, other, &host, 1), CUDA_ERROR_INVALID_VALUE);
	mp.elementSize = 3;
	sim_assert_result(cuGraphAddMemsetNode(&set, graph, NULL, 0, &mp, NULL),
			  CUDA_ERROR_INVALID_VALUE);

	sim_assert_ok(cuGraphGetNodes(graph, list, &n));
	cr_assert_eq(n, 5);
	sim_assert_ok(cuGraphNodeGetType(list[4], &type));
	cr_assert_eq(type, CU_GRAPH_NODE_TYPE_EMPTY);
	sim_assert_ok(cuGraphKernelNodeGetParams(kernel, &got));
	cr_assert_eq(got.func, fill);
	cr_assert_eq(got.blockDimX, 32);
	cr_assert_eq(*(uint32_t *)got.kernelParams[1], 0x1234);
	cr_assert_eq(*(uint64_t *)got.kernelParams[2], N_WORDS / 2);
	sim_assert_result(cuGraphKernelNodeGetParams(set, &got), CUDA_ERROR_INVALID_VALUE);

	sim_assert_ok(cuGraphInstantiate(&exec, graph, 0));
	for (int i = 1; i <= 2; i++) {
		memset(back, 0xff, sizeof(back));
		sim_assert_ok(cuGraphLaunch(exec, s));
		sim_assert_ok(cuStreamSynchronize(s));
		cr_assert_eq(calls, i);
		for (size_t w = 0; w < N_WORDS; w++)
			cr_assert_eq(back[w], w < N_WORDS / 2 ? 0x1234u : 0u, "word %zu", w);
	}
	sim_assert_ok(cuGraphExecDestroy(exec));
	sim_assert_ok(cuGraphDestroy(graph));
	sim_assert_ok(cuGraphDestroy(other));
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(a));
}

/* A graph of one memset node setting N_WORDS words of dev to value. */
static CUgraph memset_graph(CUdeviceptr dev, uint32_t value)
{
	CUDA_MEMSET_NODE_PARAMS mp = {
		.dst = dev, .value = value, .elementSize = 4, .width = N_WORDS, .height = 1,
	};
	CUgraphNode node;
	CUgraph graph;

	sim_assert_ok(cuGraphCreate(&graph, 0));
	sim_assert_ok(cuGraphAddMemsetNode(&node, graph, NULL, 0, &mp, NULL));
	return graph;
}

/* Launch exec on s over a zeroed dev: whether it then holds value in every word. */
static bool sets(CUgraphExec exec, CUstream s, CUdeviceptr dev, uint32_t value)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < N_WORDS; i++)
		h = (h ^ value) * 1099511628211ull;
	sim_assert_ok(cuMemsetD32(dev, 0, N_WORDS));
	sim_assert_ok(cuGraphLaunch(exec, s));
	sim_assert_ok(cuStreamSynchronize(s));
	return checksum(dev, N_WORDS) == h;
}

/* result_out and hErrNode_out are set either way; the upload needs its flag. */
Test(sim_graph, instantiate_with_params_reports_its_result)
{
	CUDA_GRAPH_INSTANTIATE_PARAMS p;
	CUgraphNode junk = (CUgraphNode)&p;
	CUgraphExec exec;
	CUdeviceptr a;
	CUgraph graph;
	CUstream s;

	sim_assert_ok(cuMemAlloc(&a, BYTES));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	graph = memset_graph(a, 0x600d);

	p = (CUDA_GRAPH_INSTANTIATE_PARAMS){ .flags = CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD,
					     .hUploadStream = s, .hErrNode_out = junk,
					     .result_out = CUDA_GRAPH_INSTANTIATE_ERROR };
	sim_assert_ok(cuGraphInstantiateWithParams(&exec, graph, &p));
	cr_assert_eq(p.result_out, CUDA_GRAPH_INSTANTIATE_SUCCESS);
	cr_assert_null(p.hErrNode_out);
	cr_assert(sets(exec, s, a, 0x600d));
	sim_assert_ok(cuGraphExecDestroy(exec));

	/* The per-thread form's null upload stream is the thread's. */
	p = (CUDA_GRAPH_INSTANTIATE_PARAMS){ .flags = CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD,
					     .hErrNode_out = junk };
	sim_assert_ok(cuGraphInstantiateWithParams_ptsz(&exec, graph, &p));
	cr_assert_eq(p.result_out, CUDA_GRAPH_INSTANTIATE_SUCCESS);
	cr_assert_null(p.hErrNode_out);
	cr_assert(sets(exec, s, a, 0x600d));
	sim_assert_ok(cuGraphExecDestroy(exec));

	/* Device launch is not simulated: an error the returned code describes. */
	p = (CUDA_GRAPH_INSTANTIATE_PARAMS){ .flags = CUDA_GRAPH_INSTANTIATE_FLAG_DEVICE_LAUNCH,
					     .hErrNode_out = junk };
	sim_assert_result(cuGraphInstantiateWithParams(&exec, graph, &p),
			  CUDA_ERROR_INVALID_VALUE);
	cr_assert_eq(p.result_out, CUDA_GRAPH_INSTANTIATE_ERROR);
	cr_assert_null(p.hErrNode_out);
	sim_assert_result(cuGraphInstantiateWithParams(&exec, graph, NULL),
			  CUDA_ERROR_INVALID_VALUE);
	/* Only cuGraphInstantiateWithParams takes the upload flag. */
	sim_assert_result(cuGraphInstantiate(&exec, graph, CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD),
			  CUDA_ERROR_INVALID_VALUE);

	sim_assert_ok(cuGraphDestroy(graph));
	p = (CUDA_GRAPH_INSTANTIATE_PARAMS){ .result_out = CUDA_GRAPH_INSTANTIATE_SUCCESS };
	sim_assert_result(cuGraphInstantiateWithParams(&exec, graph, &p),
			  CUDA_ERROR_INVALID_VALUE);
	cr_assert_eq(p.result_out, CUDA_GRAPH_INSTANTIATE_ERROR);
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(a));
}

/* The 10.0 and 11.0 forms: no error node and an empty log on success. */
Test(sim_graph, old_instantiate_forms_take_an_error_node_and_a_log)
{
	CUresult (*const forms[])(CUgraphExec *, CUgraph, CUgraphNode *, char *, size_t) = {
		graph_instantiate_v10000, cuGraphInstantiate_v2,
	};
	CUgraphNode err_node;
	CUgraphExec exec;
	CUdeviceptr a;
	CUgraph graph;
	char log[64];
	CUstream s;

	sim_assert_ok(cuMemAlloc(&a, BYTES));
	sim_assert_ok(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	graph = memset_graph(a, 0x01d);
	for (int i = 0; i < 2; i++) {
		err_node = (CUgraphNode)log;
		memset(log, 'x', sizeof(log));
		sim_assert_ok(forms[i](&exec, graph, &err_node, log, sizeof(log)));
		cr_assert_null(err_node, "form %d", i);
		cr_assert_str_empty(log, "form %d", i);
		cr_assert(sets(exec, s, a, 0x01d), "form %d", i);
		sim_assert_ok(cuGraphExecDestroy(exec));
	}
	sim_assert_ok(cuGraphDestroy(graph));
	sim_assert_result(cuGraphInstantiate_v2(&exec, graph, NULL, NULL, 0),
			  CUDA_ERROR_INVALID_VALUE);
	sim_assert_ok(cuStreamDestroy(s));
	sim_assert_ok(cuMemFree(a));
}

Test(sim_graph, proc_address_knows_the_forms)
{
	void *fn = NULL;
	CUdriverProcAddressQueryResult status;

	sim_assert_ok(cuGetProcAddress("cuStreamBeginCapture", &fn, 13000,
				       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &status));
	cr_assert_eq(fn, (void *)cuStreamBeginCapture_v2_ptsz);
	sim_assert_ok(cuGetProcAddress("cuStreamGetCaptureInfo", &fn, 13000, 0, &status));
	cr_assert_eq(fn, (void *)cuStreamGetCaptureInfo_v3);
	sim_assert_ok(cuGetProcAddress("cuGraphInstantiate", &fn, 13000, 0, &status));
	cr_assert_eq(fn, (void *)cuGraphInstantiateWithFlags);
	sim_assert_ok(cuGetProcAddress("cuGraphLaunch", &fn, 13000,
				       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &status));
	cr_assert_eq(fn, (void *)cuGraphLaunch_ptsz);
	sim_assert_ok(cuGetProcAddress("cuGraphAddKernelNode", &fn, 12000, 0, &status));
	cr_assert_eq(fn, (void *)cuGraphAddKernelNode_v2);
	sim_assert_ok(cuGetProcAddress("cuGraphInstantiate", &fn, 10000, 0, &status));
	cr_assert_eq(fn, (void *)graph_instantiate_v10000);
	sim_assert_ok(cuGetProcAddress("cuGraphInstantiate", &fn, 11000, 0, &status));
	cr_assert_eq(fn, (void *)cuGraphInstantiate_v2);
	sim_assert_ok(cuGetProcAddress("cuGraphInstantiateWithParams", &fn, 12000, 0, &status));
	cr_assert_eq(fn, (void *)cuGraphInstantiateWithParams);
	sim_assert_ok(cuGetProcAddress("cuGraphInstantiateWithParams", &fn, 12000,
				       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &status));
	cr_assert_eq(fn, (void *)cuGraphInstantiateWithParams_ptsz);
	sim_assert_result(cuGetProcAddress("cuGraphInstantiateWithParams", &fn, 11080, 0,
					   &status), CUDA_ERROR_NOT_FOUND);
	cr_assert_eq(status, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
}
