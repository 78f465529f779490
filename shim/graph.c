/*
 * graph.c - CUDA graphs.  Captured work does not run at capture time, so
 * the allocations a captured launch, copy or memset uses are only recorded
 * on the graph being captured (SHIM_AROUND asks shim_graph_capture); a
 * kernel node added explicitly is scanned like a launch.  Instantiating a
 * graph pins every allocation it references (acquired and held, so never
 * evicted) until cuGraphExecDestroy; each cuGraphLaunch acquires them on
 * its stream first and records the launch as their last use.  Each span
 * names its engine, so a graph may use several devices' memory.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shim.h"

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

bool shim_graph_capture(const struct shim_use *use, CUstream stream)
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
	pthread_mutex_lock(&graph_lock);
	refs_add(g, use);
	pthread_mutex_unlock(&graph_lock);
	return true;
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
	if (res == CUDA_SUCCESS && use->n) {
		pthread_mutex_lock(&graph_lock);
		refs_add(g, use);
		pthread_mutex_unlock(&graph_lock);
	}
	free(use);
	return res;
}

/* Pin what the graph references: resident now, held until the exec is destroyed. */
SHIM_EXPORT CUresult cuGraphInstantiateWithFlags(CUgraphExec *exec, CUgraph g,
						 unsigned long long flags)
{
	struct exec_pins *pins;
	struct graph_refs *r;
	CUresult res;

	SHIM_GET_REAL(real, cuGraphInstantiateWithFlags);
	res = real(exec, g, flags);
	if (res != CUDA_SUCCESS)
		return res;
	pins = calloc(1, sizeof(*pins));
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
	pins->exec = *exec;
	pthread_mutex_lock(&graph_lock);
	pins->next = execs;
	execs = pins;
	pthread_mutex_unlock(&graph_lock);
	return CUDA_SUCCESS;
fail:
	free(pins);
	if (shim_real.fn[SHIM_ID_cuGraphExecDestroy])
		((__typeof__(&cuGraphExecDestroy))shim_real.fn[SHIM_ID_cuGraphExecDestroy])(*exec);
	return res == CUDA_SUCCESS ? CUDA_ERROR_OUT_OF_MEMORY : res;
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
