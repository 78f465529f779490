/*
 * graph.c - CUDA graphs.  Captured work does not run at capture time, so
 * the allocations a captured launch, copy or memset uses are only recorded
 * on the graph being captured (SHIM_AROUND asks shim_graph_capture);
 * kernel, memcpy and memset nodes added explicitly are scanned the same
 * way.  The driver checks that a copy's or memset's memory is mapped when
 * the call is captured or the node added, so that memory is made resident
 * for the moment on the pager's own stream: nothing joins the capture (a
 * captured launch's memory is not looked at, so not loaded).  Instantiating
 * a graph (any of the four forms) pins every allocation it references
 * (acquired and held, so never evicted) until cuGraphExecDestroy; each
 * cuGraphLaunch acquires them on its stream first and records the launch
 * as their last use.  Each span names its engine, so a graph may use
 * several devices' memory.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pager.h"
#include "shim.h"

/* The 10.0 and 11.0 forms (cuda.h's cuGraphInstantiate is cuGraphInstantiateWithFlags). */
SHIM_EXPORT CUresult shim_graph_instantiate_v10000(CUgraphExec *exec, CUgraph g,
						   CUgraphNode *error_node, char *log,
						   size_t log_size) __asm__("cuGraphInstantiate");
SHIM_EXPORT CUresult cuGraphInstantiate_v2(CUgraphExec *exec, CUgraph g, CUgraphNode *error_node,
					   char *log, size_t log_size);
SHIM_EXPORT CUresult cuGraphInstantiateWithParams_ptsz(CUgraphExec *exec, CUgraph g,
						       CUDA_GRAPH_INSTANTIATE_PARAMS *params);

/* The allocations a graph references. */
struct graph_refs {
	CUgraph graph;
	struct shim_use use;
	struct graph_refs *next;
};

/* The pins an executable graph holds. */
struct exec_pins {
	CUgraphExec exec;
	struct shim_use use;
	CUstream last;          /* stream of the newest launch; pins are released on it */
	struct exec_pins *next;
};

typedef CUresult (*capture_info_fn)(CUstream, CUstreamCaptureStatus *, cuuint64_t *, CUgraph *,
				    const CUgraphNode **, const CUgraphEdgeData **, size_t *);

static pthread_mutex_t graph_lock = PTHREAD_MUTEX_INITIALIZER;
static struct graph_refs *graphs;
static struct exec_pins *execs;
/* Captures begun through the shim and not yet ended: launches ask the driver only then. */
static int capturing;

static struct graph_refs *refs_find(CUgraph g)
{
	for (struct graph_refs *r = graphs; r; r = r->next)
		if (r->graph == g)
			return r;
	return NULL;
}

/* Add use's spans to graph g's references; graph_lock held. */
static void refs_add(CUgraph g, const struct shim_use *use)
{
	struct graph_refs *r = refs_find(g);

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r) {
			gp_log_error("shim: out of memory recording a graph's allocations");
			return;
		}
		r->graph = g;
		r->next = graphs;
		graphs = r;
	}
	r->use.too_many |= use->too_many;
	for (uint32_t i = 0; i < use->n; i++) {
		uint32_t j;

		for (j = 0; j < r->use.n && (r->use.off[j] != use->off[i] ||
					     r->use.engine[j] != use->engine[i]); j++)
			;
		if (j < r->use.n)
			continue;
		if (r->use.n == SHIM_MAX_SPANS) {
			r->use.too_many = true;
			break;
		}
		r->use.off[r->use.n] = use->off[i];
		r->use.len[r->use.n] = use->len[i];
		r->use.engine[r->use.n] = use->engine[i];
		r->use.n++;
	}
}

static void record(CUgraph g, const struct shim_use *use)
{
	pthread_mutex_lock(&graph_lock);
	refs_add(g, use);
	pthread_mutex_unlock(&graph_lock);
}

/*
 * A call the driver checks without running it (a captured copy, a node)
 * holds its spans on the first span's pager's own stream: no app stream
 * gets an operation (a capture no node, the legacy stream nothing beside
 * it).  The driver needs the memory mapped, not filled: a launch waits for
 * the copies.
 */
static CUstream hold_stream(const struct shim_use *use)
{
	return use->n ? use->engine[0]->pager->own_stream : NULL;
}

static CUresult hold(struct shim_use *use, const char *call)
{
	if (!use->n && !use->too_many)
		return CUDA_SUCCESS;
	return shim_use_begin(use, hold_stream(use), call);
}

/* Nothing was queued on the hold stream: the spans are evictable at once. */
static void let_go(struct shim_use *use)
{
	if (use->n)
		shim_use_end(use, hold_stream(use));
}

static capture_info_fn capture_info(void)
{
	static capture_info_fn fn;
	capture_info_fn got = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);

	if (!got && shim_real_init() && shim_real.driver) {
		got = (capture_info_fn)shim_real.dlsym(shim_real.driver,
						       "cuStreamGetCaptureInfo_v3");
		__atomic_store_n(&fn, got, __ATOMIC_RELEASE);
	}
	return got;
}

bool shim_graph_capture(struct shim_use *use, CUstream stream, bool checked, const char *call,
			CUresult *res)
{
	CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
	capture_info_fn info;
	CUgraph g = NULL;

	if (!__atomic_load_n(&capturing, __ATOMIC_ACQUIRE))
		return false;
	info = capture_info();
	/* An error (the legacy stream beside a capture) is the call's own to return. */
	if (!info || info(stream, &status, NULL, &g, NULL, NULL, NULL) != CUDA_SUCCESS ||
	    status == CU_STREAM_CAPTURE_STATUS_NONE || !g)
		return false;
	*res = checked ? hold(use, call) : CUDA_SUCCESS;
	if (*res == CUDA_SUCCESS)
		record(g, use);
	return true;
}

void shim_graph_captured(struct shim_use *use, bool checked)
{
	if (checked)
		let_go(use);
}

static void refs_drop(CUgraph g)
{
	pthread_mutex_lock(&graph_lock);
	for (struct graph_refs **p = &graphs; *p; p = &(*p)->next) {
		if ((*p)->graph == g) {
			struct graph_refs *r = *p;

			*p = r->next;
			free(r);
			break;
		}
	}
	pthread_mutex_unlock(&graph_lock);
}

static CUresult begin_capture(CUresult res)
{
	if (res == CUDA_SUCCESS)
		__atomic_add_fetch(&capturing, 1, __ATOMIC_ACQ_REL);
	return res;
}

/* The capture is over (with a graph or not) unless the stream was not capturing. */
static CUresult end_capture(CUresult res)
{
	if (res == CUDA_SUCCESS || res == CUDA_ERROR_STREAM_CAPTURE_INVALIDATED ||
	    res == CUDA_ERROR_STREAM_CAPTURE_UNJOINED)
		__atomic_sub_fetch(&capturing, 1, __ATOMIC_ACQ_REL);
	return res;
}

SHIM_EXPORT CUresult cuStreamBeginCapture_v2(CUstream s, CUstreamCaptureMode mode)
{
	SHIM_GET_REAL(real, cuStreamBeginCapture_v2);
	return begin_capture(real(s, mode));
}

SHIM_EXPORT CUresult cuStreamBeginCapture_v2_ptsz(CUstream s, CUstreamCaptureMode mode)
{
	SHIM_GET_REAL_AS(real, cuStreamBeginCapture_v2_ptsz, cuStreamBeginCapture_v2);
	return begin_capture(real(s, mode));
}

SHIM_EXPORT CUresult cuStreamEndCapture(CUstream s, CUgraph *graph)
{
	SHIM_GET_REAL(real, cuStreamEndCapture);
	return end_capture(real(s, graph));
}

SHIM_EXPORT CUresult cuStreamEndCapture_ptsz(CUstream s, CUgraph *graph)
{
	SHIM_GET_REAL_AS(real, cuStreamEndCapture_ptsz, cuStreamEndCapture);
	return end_capture(real(s, graph));
}

/* A kernel node's parameters are scanned as a launch's are, when it is added. */
SHIM_EXPORT CUresult cuGraphAddKernelNode_v2(CUgraphNode *node, CUgraph g,
					     const CUgraphNode *deps, size_t n_deps,
					     const CUDA_KERNEL_NODE_PARAMS *p)
{
	struct shim_engine *e;
	struct shim_use *use;
	CUresult res;

	SHIM_GET_REAL(real, cuGraphAddKernelNode_v2);
	e = shim_engine_if_open();
	if (!e || !p)
		return real(node, g, deps, n_deps, p);
	use = malloc(sizeof(*use));
	if (!use)
		return CUDA_ERROR_OUT_OF_MEMORY;
	use->n = 0;
	use->too_many = false;
	res = shim_launch_collect(e, p->func ? (const void *)p->func : (const void *)p->kern,
				  p->kernelParams, p->extra, use);
	if (res == CUDA_SUCCESS)
		res = real(node, g, deps, n_deps, p);
	if (res == CUDA_SUCCESS && use->n)
		record(g, use);
	free(use);
	return res;
}

/* A copy's side names device memory at its first byte; host memory and arrays are not. */
static void copy_side(struct shim_use *use, CUmemorytype type, CUdeviceptr dev, size_t x,
		      size_t y, size_t z, size_t pitch, size_t height)
{
	if (type == CU_MEMORYTYPE_DEVICE || type == CU_MEMORYTYPE_UNIFIED)
		shim_use_add(use, dev + (z * height + y) * pitch + x);
}

/* Add a copy or memset node (add, the driver's call) naming use's allocations: see hold. */
#define ADD_NODE(call, g, use, add)                                                    \
	do {                                                                           \
		CUresult res_ = hold(use, call);                                       \
                                                                                       \
		if (res_ != CUDA_SUCCESS)                                              \
			return res_;                                                   \
		res_ = add;                                                            \
		if (res_ == CUDA_SUCCESS)                                              \
			record(g, use);                                                \
		let_go(use);                                                           \
		return res_;                                                           \
	} while (0)

SHIM_EXPORT CUresult cuGraphAddMemcpyNode(CUgraphNode *node, CUgraph g, const CUgraphNode *deps,
					  size_t n_deps, const CUDA_MEMCPY3D *p, CUcontext ctx)
{
	struct shim_use use;

	SHIM_GET_REAL(real, cuGraphAddMemcpyNode);
	if (!shim_engine_if_open() || !p)
		return real(node, g, deps, n_deps, p, ctx);
	use.n = 0;
	use.too_many = false;
	copy_side(&use, p->srcMemoryType, p->srcDevice, p->srcXInBytes, p->srcY, p->srcZ,
		  p->srcPitch, p->srcHeight);
	copy_side(&use, p->dstMemoryType, p->dstDevice, p->dstXInBytes, p->dstY, p->dstZ,
		  p->dstPitch, p->dstHeight);
	ADD_NODE("cuGraphAddMemcpyNode", g, &use, real(node, g, deps, n_deps, p, ctx));
}

SHIM_EXPORT CUresult cuGraphAddMemsetNode(CUgraphNode *node, CUgraph g, const CUgraphNode *deps,
					  size_t n_deps, const CUDA_MEMSET_NODE_PARAMS *p,
					  CUcontext ctx)
{
	struct shim_use use;

	SHIM_GET_REAL(real, cuGraphAddMemsetNode);
	if (!shim_engine_if_open() || !p)
		return real(node, g, deps, n_deps, p, ctx);
	use.n = 0;
	use.too_many = false;
	shim_use_add(&use, p->dst);
	ADD_NODE("cuGraphAddMemsetNode", g, &use, real(node, g, deps, n_deps, p, ctx));
}

/*
 * Pin what graph g references for its new exec: resident now, held until
 * the exec is destroyed.  When they cannot be, the exec is destroyed again.
 */
static CUresult pin(CUgraphExec exec, CUgraph g)
{
	struct exec_pins *pins = calloc(1, sizeof(*pins));
	struct graph_refs *r;
	CUresult res = CUDA_ERROR_OUT_OF_MEMORY;

	if (!pins)
		goto fail;
	pthread_mutex_lock(&graph_lock);
	r = refs_find(g);
	if (r)
		pins->use = r->use;
	pthread_mutex_unlock(&graph_lock);
	if (!pins->use.n) {
		free(pins);
		return CUDA_SUCCESS;
	}
	res = shim_use_begin(&pins->use, NULL, "cuGraphInstantiate (pinning its memory)");
	if (res != CUDA_SUCCESS)
		goto fail;
	pins->exec = exec;
	pthread_mutex_lock(&graph_lock);
	pins->next = execs;
	execs = pins;
	pthread_mutex_unlock(&graph_lock);
	return CUDA_SUCCESS;
fail:
	free(pins);
	if (shim_real.fn[SHIM_ID_cuGraphExecDestroy])
		((__typeof__(&cuGraphExecDestroy))shim_real.fn[SHIM_ID_cuGraphExecDestroy])(exec);
	return res;
}

SHIM_EXPORT CUresult cuGraphInstantiateWithFlags(CUgraphExec *exec, CUgraph g,
						 unsigned long long flags)
{
	CUresult res;

	SHIM_GET_REAL(real, cuGraphInstantiateWithFlags);
	res = real(exec, g, flags);
	return res == CUDA_SUCCESS ? pin(*exec, g) : res;
}

/* The old forms' log says why the shim failed an instantiate the driver had done. */
static CUresult pin_logged(CUgraphExec exec, CUgraph g, char *log, size_t log_size)
{
	CUresult res = pin(exec, g);

	if (res != CUDA_SUCCESS && log && log_size)
		snprintf(log, log_size, "libgpupager: the graph's memory could not be pinned "
			 "in VRAM (the shim's log says why)");
	return res;
}

SHIM_EXPORT CUresult shim_graph_instantiate_v10000(CUgraphExec *exec, CUgraph g,
						   CUgraphNode *error_node, char *log,
						   size_t log_size)
{
	CUresult res;

	SHIM_GET_REAL_AS(real, cuGraphInstantiate, cuGraphInstantiate_v2);
	res = real(exec, g, error_node, log, log_size);
	return res == CUDA_SUCCESS ? pin_logged(*exec, g, log, log_size) : res;
}

SHIM_EXPORT CUresult cuGraphInstantiate_v2(CUgraphExec *exec, CUgraph g, CUgraphNode *error_node,
					   char *log, size_t log_size)
{
	CUresult res;

	SHIM_GET_REAL(real, cuGraphInstantiate_v2);
	res = real(exec, g, error_node, log, log_size);
	return res == CUDA_SUCCESS ? pin_logged(*exec, g, log, log_size) : res;
}

/* A failed pin is an error the returned code describes (hErrNode_out stays NULL). */
static CUresult pin_with_params(CUgraphExec exec, CUgraph g, CUDA_GRAPH_INSTANTIATE_PARAMS *p)
{
	CUresult res = pin(exec, g);

	if (res != CUDA_SUCCESS)
		p->result_out = CUDA_GRAPH_INSTANTIATE_ERROR;
	return res;
}

SHIM_EXPORT CUresult cuGraphInstantiateWithParams(CUgraphExec *exec, CUgraph g,
						  CUDA_GRAPH_INSTANTIATE_PARAMS *p)
{
	CUresult res;

	SHIM_GET_REAL(real, cuGraphInstantiateWithParams);
	res = real(exec, g, p);
	return res == CUDA_SUCCESS ? pin_with_params(*exec, g, p) : res;
}

SHIM_EXPORT CUresult cuGraphInstantiateWithParams_ptsz(CUgraphExec *exec, CUgraph g,
						       CUDA_GRAPH_INSTANTIATE_PARAMS *p)
{
	CUresult res;

	SHIM_GET_REAL_AS(real, cuGraphInstantiateWithParams_ptsz, cuGraphInstantiateWithParams);
	res = real(exec, g, p);
	return res == CUDA_SUCCESS ? pin_with_params(*exec, g, p) : res;
}

static struct exec_pins *pins_find(CUgraphExec exec)
{
	struct exec_pins *found = NULL;

	pthread_mutex_lock(&graph_lock);
	for (struct exec_pins *p = execs; p && !found; p = p->next)
		if (p->exec == exec)
			found = p;
	pthread_mutex_unlock(&graph_lock);
	return found;
}

/* The pins are resident already; acquiring on s makes s wait for any copy still on its way. */
static CUresult launch(CUgraphExec exec, CUstream s, CUstream stream,
		       __typeof__(&cuGraphLaunch) real)
{
	struct exec_pins *pins = pins_find(exec);
	CUresult res;

	if (shim_in_forked_child())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pins)
		return real(exec, s);
	res = shim_use_begin(&pins->use, stream, "cuGraphLaunch");
	if (res != CUDA_SUCCESS)
		return res;
	res = real(exec, s);
	shim_use_end(&pins->use, stream);
	if (res == CUDA_SUCCESS)
		__atomic_store_n(&pins->last, stream, __ATOMIC_RELEASE);
	return res;
}

SHIM_EXPORT CUresult cuGraphLaunch(CUgraphExec exec, CUstream s)
{
	SHIM_GET_REAL(real, cuGraphLaunch);
	return launch(exec, s, s, real);
}

SHIM_EXPORT CUresult cuGraphLaunch_ptsz(CUgraphExec exec, CUstream s)
{
	SHIM_GET_REAL_AS(real, cuGraphLaunch_ptsz, cuGraphLaunch);
	return launch(exec, s, shim_stream(s, true), real);
}

/* The pins go on the newest launch's stream: eviction waits for that launch. */
SHIM_EXPORT CUresult cuGraphExecDestroy(CUgraphExec exec)
{
	struct exec_pins *pins = NULL;
	CUresult res;

	SHIM_GET_REAL(real, cuGraphExecDestroy);
	res = real(exec);
	if (res != CUDA_SUCCESS)
		return res;
	pthread_mutex_lock(&graph_lock);
	for (struct exec_pins **p = &execs; *p; p = &(*p)->next) {
		if ((*p)->exec == exec) {
			pins = *p;
			*p = pins->next;
			break;
		}
	}
	pthread_mutex_unlock(&graph_lock);
	if (pins) {
		shim_use_end(&pins->use, __atomic_load_n(&pins->last, __ATOMIC_ACQUIRE));
		free(pins);
	}
	return CUDA_SUCCESS;
}

SHIM_EXPORT CUresult cuGraphDestroy(CUgraph g)
{
	CUresult res;

	SHIM_GET_REAL(real, cuGraphDestroy);
	res = real(g);
	if (res == CUDA_SUCCESS)
		refs_drop(g);
	return res;
}
