/*
 * capture.c - stream capture: between cuStreamBeginCapture and
 * cuStreamEndCapture, work queued on the stream (and on streams joined to
 * its capture through an event recorded in it) becomes graph nodes instead
 * of running.  Each capturing stream keeps the set of nodes its next node
 * depends on.  Calls that would wait for the device, prohibited by the
 * capture mode, invalidate the capture: cuStreamEndCapture then fails with
 * CUDA_ERROR_STREAM_CAPTURE_INVALIDATED and returns no graph.  The calling
 * thread's mode is always the default one (global): cuThreadExchangeStream-
 * CaptureMode is not simulated.
 */
#include <stdlib.h>
#include <string.h>

#include "graph.h"

struct sim_capture {
	uint64_t id;
	CUgraph graph;
	CUstream origin;
	CUstreamCaptureMode mode;
	pthread_t thread;     /* that began it */
	bool invalidated;
	struct sim_capture_stream *streams;
	struct sim_capture *next;
};

struct sim_capture_stream {
	struct sim_capture *cap;
	CUstream stream;      /* referenced */
	CUgraphNode *deps;    /* what the stream's next node depends on */
	CUgraphEdgeData *edges; /* default (zero) edges, one per dependency */
	size_t n_deps;
	struct sim_capture_stream *next;
};

static struct sim_capture *captures;
static uint64_t last_id;

static struct sim_capture *find(uint64_t id)
{
	for (struct sim_capture *c = captures; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* Replace cs's dependencies with nodes (those not in it yet appended when add). */
static CUresult set_deps(struct sim_capture_stream *cs, const CUgraphNode *nodes, size_t n,
			 bool add)
{
	size_t have = add ? cs->n_deps : 0, total = have;
	CUgraphNode *deps = malloc((have + n + 1) * sizeof(*deps));
	CUgraphEdgeData *edges = calloc(have + n + 1, sizeof(*edges));

	if (!deps || !edges) {
		free(deps);
		free(edges);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (have)
		memcpy(deps, cs->deps, have * sizeof(*deps));
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		for (size_t j = 0; j < have && !dup; j++)
			dup = deps[j] == nodes[i];
		if (!dup)
			deps[total++] = nodes[i];
	}
	free(cs->deps);
	free(cs->edges);
	cs->deps = deps;
	cs->edges = edges;
	cs->n_deps = total;
	return CUDA_SUCCESS;
}

static CUresult attach(struct sim_capture *cap, CUstream s, const CUgraphNode *deps, size_t n)
{
	struct sim_capture_stream *cs = calloc(1, sizeof(*cs));
	CUresult err;

	if (!cs)
		return CUDA_ERROR_OUT_OF_MEMORY;
	err = set_deps(cs, deps, n, false);
	if (err) {
		free(cs);
		return err;
	}
	cs->cap = cap;
	cs->stream = s;
	sim_stream_get_ref(s);
	cs->next = cap->streams;
	cap->streams = cs;
	sim_stream_set_capture(s, cs);
	return CUDA_SUCCESS;
}

/* End cap on every stream in it; returns its graph. */
static CUgraph finish(struct sim_capture *cap)
{
	CUgraph graph = cap->graph;

	while (cap->streams) {
		struct sim_capture_stream *cs = cap->streams;

		cap->streams = cs->next;
		sim_stream_set_capture(cs->stream, NULL);
		sim_stream_put(cs->stream);
		free(cs->deps);
		free(cs->edges);
		free(cs);
	}
	for (struct sim_capture **p = &captures; *p; p = &(*p)->next) {
		if (*p == cap) {
			*p = cap->next;
			break;
		}
	}
	free(cap);
	return graph;
}

CUresult sim_capture_record_locked(CUstream s, struct sim_op *op)
{
	struct sim_capture_stream *cs = sim_stream_capture(s);
	CUgraphNode node;
	CUresult err;

	if (cs->cap->invalidated)
		return sim_error(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED,
				 "stream %p: its capture was invalidated", (void *)s);
	if (!op->clone)
		return sim_capture_unsupported_locked(s, "this operation");
	err = sim_graph_add_locked(cs->cap->graph, op, op->node_type, cs->deps, cs->n_deps, &node);
	if (!err)
		err = set_deps(cs, &node, 1, false);
	return err;
}

CUresult sim_capture_unsupported_locked(CUstream s, const char *func)
{
	sim_stream_capture(s)->cap->invalidated = true;
	return sim_error(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED,
			 "%s is not allowed on a capturing stream; the capture is invalidated",
			 func);
}

CUresult sim_capture_check_legacy_locked(void)
{
	for (struct sim_capture *c = captures; c; c = c->next) {
		for (struct sim_capture_stream *cs = c->streams; cs; cs = cs->next) {
			if (sim_stream_is_blocking(cs->stream)) {
				c->invalidated = true;
				return sim_error(CUDA_ERROR_STREAM_CAPTURE_IMPLICIT,
						 "the legacy stream would synchronise with a "
						 "capturing stream; the capture is invalidated");
			}
		}
	}
	return CUDA_SUCCESS;
}

CUresult sim_capture_check_unsafe(const char *func)
{
	pthread_t self = pthread_self();
	CUresult err = CUDA_SUCCESS;

	sim_sched_lock();
	/* This thread's mode is global: its own captures and every global one forbid it. */
	for (struct sim_capture *c = captures; c; c = c->next) {
		if (c->mode == CU_STREAM_CAPTURE_MODE_GLOBAL ||
		    (c->mode == CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
		     pthread_equal(c->thread, self))) {
			c->invalidated = true;
			err = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
		}
	}
	sim_sched_unlock();
	if (err)
		return sim_error(err, "%s: not allowed during a stream capture; it is invalidated",
				 func);
	return CUDA_SUCCESS;
}

void sim_capture_mark_clear(struct sim_capture_mark *mark)
{
	free(mark->nodes);
	*mark = (struct sim_capture_mark){ 0 };
}

CUresult sim_capture_mark_locked(CUstream s, struct sim_capture_mark *mark)
{
	struct sim_capture_stream *cs = sim_stream_capture(s);
	CUgraphNode *nodes = malloc((cs->n_deps + 1) * sizeof(*nodes));

	if (cs->cap->invalidated) {
		free(nodes);
		return sim_error(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED,
				 "cuEventRecord: the capture was invalidated");
	}
	if (!nodes)
		return CUDA_ERROR_OUT_OF_MEMORY;
	memcpy(nodes, cs->deps, cs->n_deps * sizeof(*nodes));
	sim_capture_mark_clear(mark);
	*mark = (struct sim_capture_mark){ cs->cap->id, nodes, cs->n_deps };
	return CUDA_SUCCESS;
}

CUresult sim_capture_join_locked(CUstream s, const struct sim_capture_mark *mark)
{
	struct sim_capture_stream *cs = sim_stream_capture(s);
	struct sim_capture *cap = mark->id ? find(mark->id) : NULL;

	if (!mark->id)
		return sim_error(CUDA_ERROR_STREAM_CAPTURE_ISOLATION,
				 "cuStreamWaitEvent: a capturing stream waits for an event "
				 "recorded outside its capture");
	if (!cap)
		return sim_error(CUDA_ERROR_CAPTURED_EVENT,
				 "cuStreamWaitEvent: the event was recorded in a capture that "
				 "has ended");
	if (cs && cs->cap != cap)
		return sim_error(CUDA_ERROR_STREAM_CAPTURE_ISOLATION,
				 "cuStreamWaitEvent: the event belongs to another capture");
	if (cap->invalidated)
		return sim_error(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED,
				 "cuStreamWaitEvent: the capture was invalidated");
	if (cs)
		return set_deps(cs, mark->nodes, mark->n, true);
	if (sim_stream_is_legacy(s)) {
		cap->invalidated = true;
		return sim_error(CUDA_ERROR_STREAM_CAPTURE_IMPLICIT,
				 "cuStreamWaitEvent: the legacy stream cannot join a capture");
	}
	return attach(cap, s, mark->nodes, mark->n);
}

static CUresult begin(const char *func, CUstream hstream, CUstreamCaptureMode mode)
{
	CUresult err = sim_enter(func, SIM_NEED_CTX);
	struct sim_capture *cap;
	CUstream s;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL && mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
	    mode != CU_STREAM_CAPTURE_MODE_RELAXED)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "%s: bad mode %d", func, (int)mode);
	if (sim_stream_is_legacy(s))
		return sim_error(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED,
				 "%s: the legacy stream cannot be captured", func);
	cap = calloc(1, sizeof(*cap));
	if (!cap)
		return CUDA_ERROR_OUT_OF_MEMORY;
	sim_sched_lock();
	if (sim_stream_capture(s)) {
		err = sim_error(CUDA_ERROR_ILLEGAL_STATE, "%s: stream %p is already capturing",
				func, (void *)s);
		goto fail;
	}
	err = sim_graph_new_locked(&cap->graph);
	if (err)
		goto fail;
	cap->id = ++last_id;
	cap->origin = s;
	cap->mode = mode;
	cap->thread = pthread_self();
	err = attach(cap, s, NULL, 0);
	if (err) {
		sim_graph_free_locked(cap->graph);
		goto fail;
	}
	cap->next = captures;
	captures = cap;
	sim_sched_unlock();
	return CUDA_SUCCESS;
fail:
	sim_sched_unlock();
	free(cap);
	return err;
}

CUresult cuStreamBeginCapture(CUstream hstream, CUstreamCaptureMode mode)
{
	return begin("cuStreamBeginCapture", hstream, mode);
}

/* CUDA 10.0's form, before modes: the global one. */
CUresult sim_stream_begin_capture_v10000(CUstream hstream)
{
	return begin("cuStreamBeginCapture", hstream, CU_STREAM_CAPTURE_MODE_GLOBAL);
}

/* Whether every stream joined to cap has been joined back into its origin. */
static bool joined(const struct sim_capture *cap, const struct sim_capture_stream *origin)
{
	for (const struct sim_capture_stream *cs = cap->streams; cs; cs = cs->next)
		if (cs != origin && !sim_graph_covers_locked(origin->deps, origin->n_deps,
							     cs->deps, cs->n_deps))
			return false;
	return true;
}

CUresult cuStreamEndCapture(CUstream hstream, CUgraph *graph)
{
	CUresult err = sim_enter("cuStreamEndCapture", SIM_NEED_CTX);
	struct sim_capture_stream *cs;
	struct sim_capture *cap;
	CUgraph g;
	CUstream s;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	if (!graph)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuStreamEndCapture: no graph pointer");
	sim_sched_lock();
	cs = sim_stream_capture(s);
	if (!cs) {
		err = sim_error(CUDA_ERROR_ILLEGAL_STATE, "cuStreamEndCapture: not capturing");
		goto out;
	}
	cap = cs->cap;
	if (cap->origin != s) {
		cap->invalidated = true;
		err = sim_error(CUDA_ERROR_STREAM_CAPTURE_UNMATCHED,
				"cuStreamEndCapture: the capture began on another stream");
		goto out;
	}
	if (cap->mode != CU_STREAM_CAPTURE_MODE_RELAXED &&
	    !pthread_equal(cap->thread, pthread_self())) {
		err = sim_error(CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD,
				"cuStreamEndCapture: the capture began on another thread");
		goto out;
	}
	if (cap->invalidated)
		err = sim_error(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED,
				"cuStreamEndCapture: the capture was invalidated");
	else if (!joined(cap, cs))
		err = sim_error(CUDA_ERROR_STREAM_CAPTURE_UNJOINED,
				"cuStreamEndCapture: a forked stream was not joined back");
	g = finish(cap);
	if (err) {
		sim_graph_free_locked(g);
		g = NULL;
	}
	*graph = g;
out:
	sim_sched_unlock();
	return err;
}

/*
 * With the lock held: s's status and capture state.  Asking about the
 * legacy stream while a blocking stream captures is IMPLICIT.
 */
static CUresult status_of(CUstream s, CUstreamCaptureStatus *status,
			  struct sim_capture_stream **cs)
{
	*cs = sim_stream_capture(s);
	if (!*cs && sim_stream_is_legacy(s)) {
		for (struct sim_capture *c = captures; c; c = c->next)
			for (struct sim_capture_stream *t = c->streams; t; t = t->next)
				if (sim_stream_is_blocking(t->stream))
					return CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
	}
	*status = !*cs			   ? CU_STREAM_CAPTURE_STATUS_NONE :
		  (*cs)->cap->invalidated ? CU_STREAM_CAPTURE_STATUS_INVALIDATED :
					    CU_STREAM_CAPTURE_STATUS_ACTIVE;
	return CUDA_SUCCESS;
}

CUresult cuStreamIsCapturing(CUstream hstream, CUstreamCaptureStatus *status)
{
	CUresult err = sim_enter("cuStreamIsCapturing", SIM_NEED_CTX);
	struct sim_capture_stream *cs;
	CUstream s;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	if (!status)
		return sim_error(CUDA_ERROR_INVALID_VALUE,
				 "cuStreamIsCapturing: no status pointer");
	sim_sched_lock();
	err = status_of(s, status, &cs);
	sim_sched_unlock();
	return err;
}

/*
 * The dependency arrays returned stay valid until the stream's next
 * captured operation or the end of the capture, as the driver documents.
 */
CUresult cuStreamGetCaptureInfo(CUstream hstream, CUstreamCaptureStatus *status, cuuint64_t *id,
				CUgraph *graph, const CUgraphNode **deps,
				const CUgraphEdgeData **edges, size_t *n_deps)
{
	CUresult err = sim_enter("cuStreamGetCaptureInfo", SIM_NEED_CTX);
	struct sim_capture_stream *cs;
	CUstream s;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	if (!status || (edges && !deps))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuStreamGetCaptureInfo: bad pointers");
	sim_sched_lock();
	err = status_of(s, status, &cs);
	if (!err && cs) {
		if (id)
			*id = cs->cap->id;
		if (graph)
			*graph = cs->cap->graph;
		if (deps)
			*deps = cs->deps;
		if (edges)
			*edges = cs->edges;
		if (n_deps)
			*n_deps = cs->n_deps;
	}
	sim_sched_unlock();
	return err;
}

CUresult cuStreamGetCaptureInfo_v2(CUstream hstream, CUstreamCaptureStatus *status,
				   cuuint64_t *id, CUgraph *graph, const CUgraphNode **deps,
				   size_t *n_deps)
{
	return cuStreamGetCaptureInfo(hstream, status, id, graph, deps, NULL, n_deps);
}

/* The per-thread-default-stream forms (graph.h, sim.h). */

CUresult cuStreamBeginCapture_v2_ptsz(CUstream hstream, CUstreamCaptureMode mode)
{
	return cuStreamBeginCapture(sim_per_thread(hstream), mode);
}

CUresult sim_stream_begin_capture_v10000_ptsz(CUstream hstream)
{
	return sim_stream_begin_capture_v10000(sim_per_thread(hstream));
}

CUresult cuStreamEndCapture_ptsz(CUstream hstream, CUgraph *graph)
{
	return cuStreamEndCapture(sim_per_thread(hstream), graph);
}

CUresult cuStreamIsCapturing_ptsz(CUstream hstream, CUstreamCaptureStatus *status)
{
	return cuStreamIsCapturing(sim_per_thread(hstream), status);
}

CUresult cuStreamGetCaptureInfo_v2_ptsz(CUstream hstream, CUstreamCaptureStatus *status,
					cuuint64_t *id, CUgraph *graph,
					const CUgraphNode **deps, size_t *n_deps)
{
	return cuStreamGetCaptureInfo(sim_per_thread(hstream), status, id, graph, deps, NULL,
				      n_deps);
}

CUresult cuStreamGetCaptureInfo_v3_ptsz(CUstream hstream, CUstreamCaptureStatus *status,
					cuuint64_t *id, CUgraph *graph,
					const CUgraphNode **deps, const CUgraphEdgeData **edges,
					size_t *n_deps)
{
	return cuStreamGetCaptureInfo(sim_per_thread(hstream), status, id, graph, deps, edges,
				      n_deps);
}
