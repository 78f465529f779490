/*
 * graph.c - CUDA graphs: nodes added explicitly or by stream capture,
 * instantiated into executable graphs and launched on a stream.
 *
 * Node parameters are copied when a node is added (a kernel node's
 * argument values too), so the caller may reuse them at once, as the driver
 * documents.  An executable graph holds its own copy of every node's
 * operation, taken at instantiation: later changes to the graph do not
 * reach it.  A launch queues a copy of each, in node order, on the stream:
 * a topological order, since a node's dependencies exist before it, and
 * after the work already queued there.  Handles are checked against the
 * live ones, so a destroyed graph or executable graph is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "graph.h"

struct CUgraphNode_st {
	CUgraph graph;
	int type;             /* CUgraphNodeType */
	struct sim_op *op;    /* the template; NULL for an empty node */
	CUgraphNode *deps;
	size_t n_deps;
	uint64_t stamp;       /* sim_graph_covers_locked's visit mark */
};

struct CUgraph_st {
	CUgraphNode *nodes;
	size_t n, size;
	CUgraph next;         /* live graphs */
};

struct CUgraphExec_st {
	struct sim_op **ops;  /* templates, in launch order; empty nodes left out */
	size_t n;
	CUgraphExec next;     /* live executable graphs */
};

static CUgraph graphs;
static CUgraphExec execs;
static uint64_t last_stamp;

static bool graph_live(CUgraph g)
{
	for (CUgraph t = graphs; t; t = t->next)
		if (t == g)
			return true;
	return false;
}

static bool exec_live(CUgraphExec e)
{
	for (CUgraphExec t = execs; t; t = t->next)
		if (t == e)
			return true;
	return false;
}

/* Whether node is a node of a live graph (g, when g is non-NULL). */
static bool node_live(CUgraphNode node, CUgraph g)
{
	if (!node || (g && node->graph != g) || !graph_live(node->graph))
		return false;
	for (size_t i = 0; i < node->graph->n; i++)
		if (node->graph->nodes[i] == node)
			return true;
	return false;
}

CUresult sim_graph_new_locked(CUgraph *out)
{
	CUgraph g = calloc(1, sizeof(*g));

	if (!g)
		return CUDA_ERROR_OUT_OF_MEMORY;
	g->next = graphs;
	graphs = g;
	*out = g;
	return CUDA_SUCCESS;
}

void sim_graph_free_locked(CUgraph g)
{
	for (CUgraph *p = &graphs; *p; p = &(*p)->next) {
		if (*p == g) {
			*p = g->next;
			break;
		}
	}
	for (size_t i = 0; i < g->n; i++) {
		free(g->nodes[i]->op);
		free(g->nodes[i]->deps);
		free(g->nodes[i]);
	}
	free(g->nodes);
	free(g);
}

CUresult sim_graph_add_locked(CUgraph g, struct sim_op *op, int type, const CUgraphNode *deps,
			      size_t n_deps, CUgraphNode *out)
{
	CUgraphNode node;

	if (g->n == g->size) {
		size_t size = g->size ? 2 * g->size : 16;
		CUgraphNode *grown = realloc(g->nodes, size * sizeof(*grown));

		if (!grown)
			return CUDA_ERROR_OUT_OF_MEMORY;
		g->nodes = grown;
		g->size = size;
	}
	node = calloc(1, sizeof(*node));
	if (!node)
		return CUDA_ERROR_OUT_OF_MEMORY;
	node->deps = malloc((n_deps + 1) * sizeof(*node->deps));
	if (!node->deps) {
		free(node);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (n_deps)
		memcpy(node->deps, deps, n_deps * sizeof(*deps));
	node->n_deps = n_deps;
	node->graph = g;
	node->type = type;
	node->op = op;
	g->nodes[g->n++] = node;
	*out = node;
	return CUDA_SUCCESS;
}

static void mark_ancestors(CUgraphNode node, uint64_t stamp)
{
	if (node->stamp == stamp)
		return;
	node->stamp = stamp;
	for (size_t i = 0; i < node->n_deps; i++)
		mark_ancestors(node->deps[i], stamp);
}

bool sim_graph_covers_locked(const CUgraphNode *heads, size_t n_heads, const CUgraphNode *nodes,
			     size_t n)
{
	uint64_t stamp = ++last_stamp;

	for (size_t i = 0; i < n_heads; i++)
		mark_ancestors(heads[i], stamp);
	for (size_t i = 0; i < n; i++)
		if (nodes[i]->stamp != stamp)
			return false;
	return true;
}

CUresult cuGraphCreate(CUgraph *graph, unsigned int flags)
{
	CUresult err = sim_enter("cuGraphCreate", SIM_NEED_CTX);

	if (err)
		return err;
	if (!graph || flags)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphCreate: flags must be 0");
	sim_sched_lock();
	err = sim_graph_new_locked(graph);
	sim_sched_unlock();
	return err;
}

CUresult cuGraphDestroy(CUgraph graph)
{
	CUresult err = sim_enter("cuGraphDestroy", SIM_NEED_CTX);

	if (err)
		return err;
	sim_sched_lock();
	if (graph_live(graph))
		sim_graph_free_locked(graph);
	else
		err = sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphDestroy: no such graph");
	sim_sched_unlock();
	return err;
}

/* Add a node of an explicit-API call: check the graph and dependencies, take op. */
static CUresult add(const char *func, CUgraphNode *out, CUgraph g, const CUgraphNode *deps,
		    size_t n_deps, struct sim_op *op, int type)
{
	CUresult err = CUDA_SUCCESS;

	sim_sched_lock();
	if (!out || !graph_live(g) || (n_deps && !deps)) {
		err = sim_error(CUDA_ERROR_INVALID_VALUE, "%s: bad graph or node pointer", func);
		goto out;
	}
	for (size_t i = 0; i < n_deps && !err; i++) {
		if (!node_live(deps[i], g))
			err = sim_error(CUDA_ERROR_INVALID_VALUE,
					"%s: dependency %zu is not a node of the graph", func, i);
		for (size_t j = 0; j < i && !err; j++)
			if (deps[j] == deps[i])
				err = sim_error(CUDA_ERROR_INVALID_VALUE,
						"%s: dependency %zu is given twice", func, i);
	}
	if (!err)
		err = sim_graph_add_locked(g, op, type, deps, n_deps, out);
out:
	sim_sched_unlock();
	if (err)
		free(op);
	return err;
}

CUresult cuGraphAddKernelNode(CUgraphNode *node, CUgraph graph, const CUgraphNode *deps,
			      size_t n_deps, const CUDA_KERNEL_NODE_PARAMS *p)
{
	CUresult err = sim_enter("cuGraphAddKernelNode", SIM_NEED_CTX);
	struct gp_sim_launch dims;
	struct sim_op *op;

	if (err)
		return err;
	if (!p)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphAddKernelNode: no parameters");
	if (!p->func)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuGraphAddKernelNode: no CUfunction (CUkernel is not simulated)");
	dims = (struct gp_sim_launch){
		.grid = { p->gridDimX, p->gridDimY, p->gridDimZ },
		.block = { p->blockDimX, p->blockDimY, p->blockDimZ },
		.shared_bytes = p->sharedMemBytes,
	};
	err = sim_launch_op_new("cuGraphAddKernelNode", p->func, &dims, p->kernelParams, p->extra,
				&op);
	if (err)
		return err;
	return add("cuGraphAddKernelNode", node, graph, deps, n_deps, op,
		   CU_GRAPH_NODE_TYPE_KERNEL);
}

/* Copies between linear memory only: one layer, no CUDA arrays. */
CUresult cuGraphAddMemcpyNode(CUgraphNode *node, CUgraph graph, const CUgraphNode *deps,
			      size_t n_deps, const CUDA_MEMCPY3D *p, CUcontext ctx)
{
	CUresult err = sim_enter("cuGraphAddMemcpyNode", SIM_NEED_CTX);
	CUDA_MEMCPY2D flat;
	struct sim_op *op;

	(void)ctx;
	if (err)
		return err;
	if (!p || p->Depth != 1 || p->srcZ || p->dstZ || p->srcLOD || p->dstLOD)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuGraphAddMemcpyNode: only one layer (Depth 1) is simulated");
	flat = (CUDA_MEMCPY2D){
		.srcXInBytes = p->srcXInBytes, .srcY = p->srcY,
		.srcMemoryType = p->srcMemoryType, .srcHost = p->srcHost,
		.srcDevice = p->srcDevice, .srcArray = p->srcArray, .srcPitch = p->srcPitch,
		.dstXInBytes = p->dstXInBytes, .dstY = p->dstY,
		.dstMemoryType = p->dstMemoryType, .dstHost = p->dstHost,
		.dstDevice = p->dstDevice, .dstArray = p->dstArray, .dstPitch = p->dstPitch,
		.WidthInBytes = p->WidthInBytes, .Height = p->Height,
	};
	err = sim_copy_2d_op_new("cuGraphAddMemcpyNode", &flat, &op);
	if (err)
		return err;
	if (!op)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphAddMemcpyNode: empty copy");
	return add("cuGraphAddMemcpyNode", node, graph, deps, n_deps, op,
		   CU_GRAPH_NODE_TYPE_MEMCPY);
}

CUresult cuGraphAddMemsetNode(CUgraphNode *node, CUgraph graph, const CUgraphNode *deps,
			      size_t n_deps, const CUDA_MEMSET_NODE_PARAMS *p, CUcontext ctx)
{
	CUresult err = sim_enter("cuGraphAddMemsetNode", SIM_NEED_CTX);
	struct sim_op *op;

	(void)ctx;
	if (err)
		return err;
	if (!p)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphAddMemsetNode: no parameters");
	err = sim_memset_op_new("cuGraphAddMemsetNode", p->dst, p->elementSize, p->value,
				p->width, p->height, p->pitch, &op);
	if (err)
		return err;
	if (!op)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphAddMemsetNode: empty memset");
	return add("cuGraphAddMemsetNode", node, graph, deps, n_deps, op,
		   CU_GRAPH_NODE_TYPE_MEMSET);
}

CUresult cuGraphAddHostNode(CUgraphNode *node, CUgraph graph, const CUgraphNode *deps,
			    size_t n_deps, const CUDA_HOST_NODE_PARAMS *p)
{
	CUresult err = sim_enter("cuGraphAddHostNode", SIM_NEED_CTX);
	struct sim_op *op;

	if (err)
		return err;
	if (!p)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphAddHostNode: no parameters");
	err = sim_host_fn_op_new(p->fn, p->userData, &op);
	if (err)
		return err;
	return add("cuGraphAddHostNode", node, graph, deps, n_deps, op, CU_GRAPH_NODE_TYPE_HOST);
}

CUresult cuGraphAddEmptyNode(CUgraphNode *node, CUgraph graph, const CUgraphNode *deps,
			     size_t n_deps)
{
	CUresult err = sim_enter("cuGraphAddEmptyNode", SIM_NEED_CTX);

	if (err)
		return err;
	return add("cuGraphAddEmptyNode", node, graph, deps, n_deps, NULL,
		   CU_GRAPH_NODE_TYPE_EMPTY);
}

CUresult cuGraphGetNodes(CUgraph graph, CUgraphNode *nodes, size_t *n)
{
	CUresult err = sim_enter("cuGraphGetNodes", SIM_NEED_CTX);

	if (err)
		return err;
	sim_sched_lock();
	if (!n || !graph_live(graph)) {
		err = sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphGetNodes: bad graph or count");
	} else if (!nodes) {
		*n = graph->n;
	} else {
		/* Unused entries are NULL; *n is the number of nodes either way. */
		for (size_t i = 0; i < *n; i++)
			nodes[i] = i < graph->n ? graph->nodes[i] : NULL;
		*n = graph->n;
	}
	sim_sched_unlock();
	return err;
}

CUresult cuGraphNodeGetType(CUgraphNode node, CUgraphNodeType *type)
{
	CUresult err = sim_enter("cuGraphNodeGetType", SIM_NEED_CTX);

	if (err)
		return err;
	sim_sched_lock();
	if (!type || !node_live(node, NULL))
		err = sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphNodeGetType: bad node");
	else
		*type = (CUgraphNodeType)node->type;
	sim_sched_unlock();
	return err;
}

/* kernelParams point at the node's own copies of the values. */
CUresult cuGraphKernelNodeGetParams(CUgraphNode node, CUDA_KERNEL_NODE_PARAMS *p)
{
	CUresult err = sim_enter("cuGraphKernelNodeGetParams", SIM_NEED_CTX);

	if (err)
		return err;
	sim_sched_lock();
	if (!p || !node_live(node, NULL) || node->type != CU_GRAPH_NODE_TYPE_KERNEL)
		err = sim_error(CUDA_ERROR_INVALID_VALUE,
				"cuGraphKernelNodeGetParams: not a kernel node");
	else
		sim_launch_op_params(node->op, p);
	sim_sched_unlock();
	return err;
}

static void exec_free(CUgraphExec e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->ops[i]);
	free(e->ops);
	free(e);
}

/* Snapshot graph's operations into a new executable graph (flags checked by the caller). */
static CUresult instantiate(const char *func, CUgraphExec *out, CUgraph graph)
{
	CUresult err = CUDA_SUCCESS;
	CUgraphExec e = calloc(1, sizeof(*e));

	if (!e)
		return CUDA_ERROR_OUT_OF_MEMORY;
	sim_sched_lock();
	if (!graph_live(graph)) {
		err = sim_error(CUDA_ERROR_INVALID_VALUE, "%s: no such graph", func);
		goto fail;
	}
	e->ops = calloc(graph->n + 1, sizeof(*e->ops));
	if (!e->ops) {
		err = CUDA_ERROR_OUT_OF_MEMORY;
		goto fail;
	}
	for (size_t i = 0; i < graph->n; i++) {
		struct sim_op *op = graph->nodes[i]->op;

		if (!op)
			continue;
		e->ops[e->n] = op->clone(op);
		if (!e->ops[e->n]) {
			err = CUDA_ERROR_OUT_OF_MEMORY;
			goto fail;
		}
		e->n++;
	}
	e->next = execs;
	execs = e;
	sim_sched_unlock();
	*out = e;
	return CUDA_SUCCESS;
fail:
	sim_sched_unlock();
	if (e->ops)
		exec_free(e);
	else
		free(e);
	return err;
}

/*
 * Auto-free-on-launch and node priorities change nothing here (no
 * allocation nodes, no priorities); device launch is not simulated.
 */
#define SIM_INSTANTIATE_FLAGS                             \
	(CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH | \
	 CUDA_GRAPH_INSTANTIATE_FLAG_USE_NODE_PRIORITY)

/* cuGraphInstantiateWithFlags (cuda.h's cuGraphInstantiate): upload is not one of its flags. */
CUresult cuGraphInstantiate(CUgraphExec *out, CUgraph graph, unsigned long long flags)
{
	CUresult err = sim_enter("cuGraphInstantiate", SIM_NEED_CTX);

	if (err)
		return err;
	if (!out || (flags & ~(unsigned long long)SIM_INSTANTIATE_FLAGS))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphInstantiate: bad flags %#llx",
				 flags);
	return instantiate("cuGraphInstantiate", out, graph);
}

/*
 * CUDA 12.0's form.  result_out says why it failed: every failure the
 * simulator can have is CUDA_GRAPH_INSTANTIATE_ERROR (the returned code
 * tells the rest; its graphs cannot have cycles and device launch is not
 * simulated), and hErrNode_out is always NULL.  An upload has nothing to
 * copy to a simulated device, so hUploadStream is not used.
 */
CUresult cuGraphInstantiateWithParams(CUgraphExec *out, CUgraph graph,
				      CUDA_GRAPH_INSTANTIATE_PARAMS *p)
{
	const char *func = "cuGraphInstantiateWithParams";
	CUresult err = sim_enter(func, SIM_NEED_CTX);

	if (err)
		return err;
	if (!p)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: no parameters", func);
	p->hErrNode_out = NULL;
	p->result_out = CUDA_GRAPH_INSTANTIATE_ERROR;
	if (!out || (p->flags & ~(cuuint64_t)(SIM_INSTANTIATE_FLAGS |
					      CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD)))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: bad flags %#llx", func,
				 (unsigned long long)p->flags);
	err = instantiate(func, out, graph);
	if (!err)
		p->result_out = CUDA_GRAPH_INSTANTIATE_SUCCESS;
	return err;
}

/* The upload stream would be the thread's default one: nothing is uploaded either way. */
CUresult cuGraphInstantiateWithParams_ptsz(CUgraphExec *out, CUgraph graph,
					   CUDA_GRAPH_INSTANTIATE_PARAMS *p)
{
	return cuGraphInstantiateWithParams(out, graph, p);
}

/* CUDA 10.0 and 11.0's form: errors are returned, the log stays empty. */
CUresult cuGraphInstantiate_v2(CUgraphExec *out, CUgraph graph, CUgraphNode *error_node,
			       char *log, size_t log_size)
{
	if (error_node)
		*error_node = NULL;
	if (log && log_size)
		log[0] = '\0';
	return cuGraphInstantiate(out, graph, 0);
}

CUresult sim_graph_instantiate_v10000(CUgraphExec *out, CUgraph graph, CUgraphNode *error_node,
				      char *log, size_t log_size)
{
	return cuGraphInstantiate_v2(out, graph, error_node, log, log_size);
}

CUresult cuGraphExecDestroy(CUgraphExec exec)
{
	CUresult err = sim_enter("cuGraphExecDestroy", SIM_NEED_CTX);

	if (err)
		return err;
	sim_sched_lock();
	if (exec_live(exec)) {
		for (CUgraphExec *p = &execs; *p; p = &(*p)->next) {
			if (*p == exec) {
				*p = exec->next;
				break;
			}
		}
		/* Launches already queued run on their own copies. */
		exec_free(exec);
	} else {
		err = sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphExecDestroy: no such graph exec");
	}
	sim_sched_unlock();
	return err;
}

CUresult cuGraphLaunch(CUgraphExec exec, CUstream hstream)
{
	CUresult err = sim_enter("cuGraphLaunch", SIM_NEED_CTX);
	struct sim_op **ops = NULL;
	size_t made = 0;
	CUstream s;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	sim_sched_lock();
	if (!exec_live(exec)) {
		err = sim_error(CUDA_ERROR_INVALID_VALUE, "cuGraphLaunch: no such graph exec");
		goto out;
	}
	if (sim_stream_capture(s)) {
		err = sim_capture_unsupported_locked(s, "cuGraphLaunch (child graphs)");
		goto out;
	}
	/* Copy every operation first, so a launch is queued whole or not at all. */
	ops = calloc(exec->n + 1, sizeof(*ops));
	if (!ops) {
		err = CUDA_ERROR_OUT_OF_MEMORY;
		goto out;
	}
	for (; made < exec->n; made++) {
		ops[made] = exec->ops[made]->clone(exec->ops[made]);
		if (!ops[made]) {
			err = CUDA_ERROR_OUT_OF_MEMORY;
			goto out;
		}
	}
	for (size_t i = 0; i < made; i++) {
		err = sim_stream_submit_locked(s, ops[i], NULL);
		if (err)
			goto out;
		ops[i] = NULL;
	}
out:
	sim_sched_unlock();
	if (ops)
		for (size_t i = 0; i < made; i++)
			free(ops[i]);
	free(ops);
	return err;
}

CUresult cuGraphLaunch_ptsz(CUgraphExec exec, CUstream hstream)
{
	return cuGraphLaunch(exec, sim_per_thread(hstream));
}
