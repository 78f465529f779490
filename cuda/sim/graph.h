/*
 * graph.h - CUDA graphs and stream capture in the simulator: what graph.c,
 * capture.c and the hooks in stream.c, event.c, launch.c and copy.c share.
 *
 * A graph node holds a template operation (struct sim_op with a clone
 * function); instantiating copies the templates in node order, which is a
 * topological order since a node's dependencies exist before it, and a
 * launch queues a fresh copy of each on the stream.  All graph and capture
 * state is guarded by sim_sched_lock.
 */
#ifndef GP_SIM_GRAPH_H
#define GP_SIM_GRAPH_H

#include "sim.h"

/* Per-stream capture state (capture.c). */
struct sim_capture_stream;

/* Where an event was last recorded inside a capture: its nodes then. */
struct sim_capture_mark {
	uint64_t id;          /* the capture's; 0 if not recorded in one */
	CUgraphNode *nodes;
	size_t n;
};

/* ------------------------------------------------------- graph.c */

/* Add a node owning op (NULL for an empty node) after deps; sched lock held. */
CUresult sim_graph_add_locked(CUgraph g, struct sim_op *op, int type, const CUgraphNode *deps,
			      size_t n_deps, CUgraphNode *out);
CUresult sim_graph_new_locked(CUgraph *out);
void sim_graph_free_locked(CUgraph g);
/* Whether each of nodes is one of heads or an ancestor of one. */
bool sim_graph_covers_locked(const CUgraphNode *heads, size_t n_heads, const CUgraphNode *nodes,
			     size_t n);

/* --------------------------------------------------------- capture.c */

/* sched lock held.  Capture state of s, NULL if not capturing (stream.c stores it). */
struct sim_capture_stream *sim_stream_capture(const struct CUstream_st *s);
void sim_stream_set_capture(CUstream s, struct sim_capture_stream *cs);
/* Whether s is a blocking stream (the legacy stream synchronises with it). */
bool sim_stream_is_blocking(const struct CUstream_st *s);
bool sim_stream_is_legacy(const struct CUstream_st *s);

/* Record op as a node of s's capture (taking ownership); sched lock held. */
CUresult sim_capture_record_locked(CUstream s, struct sim_op *op);
/* The legacy stream is used while a blocking stream captures: invalidate, IMPLICIT. */
CUresult sim_capture_check_legacy_locked(void);
/* A call that would wait for the device (func), prohibited by the capture mode. */
CUresult sim_capture_check_unsafe(const char *func);
/* Invalidate the capture s is in for an unsupported func; returns UNSUPPORTED. */
CUresult sim_capture_unsupported_locked(CUstream s, const char *func);
/* cuEventRecord / cuStreamWaitEvent on a capturing stream; sched lock held. */
CUresult sim_capture_mark_locked(CUstream s, struct sim_capture_mark *mark);
CUresult sim_capture_join_locked(CUstream s, const struct sim_capture_mark *mark);
void sim_capture_mark_clear(struct sim_capture_mark *mark);

/* ---------------------------------------------- op builders (launch.c, copy.c) */

CUresult sim_launch_op_new(const char *func, CUfunction f, const struct gp_sim_launch *dims,
			   void **kernel_params, void **extra, struct sim_op **out);
/* A kernel node's parameters from its template op (kernelParams point into it). */
void sim_launch_op_params(const struct sim_op *op, CUDA_KERNEL_NODE_PARAMS *out);
CUresult sim_host_fn_op_new(CUhostFn fn, void *data, struct sim_op **out);
CUresult sim_copy_2d_op_new(const char *func, const CUDA_MEMCPY2D *p, struct sim_op **out);
CUresult sim_memset_op_new(const char *func, CUdeviceptr dst, unsigned width, uint32_t value,
			   size_t n, size_t rows, size_t pitch, struct sim_op **out);

/* ------------------------------------- forms cuda.h hides behind its macros */

CUresult sim_stream_begin_capture_v10000(CUstream hstream) __asm__("cuStreamBeginCapture");
CUresult sim_stream_begin_capture_v10000_ptsz(CUstream hstream)
	__asm__("cuStreamBeginCapture_ptsz");
CUresult cuStreamBeginCapture_v2_ptsz(CUstream hstream, CUstreamCaptureMode mode);
CUresult cuStreamEndCapture_ptsz(CUstream hstream, CUgraph *graph);
CUresult cuStreamIsCapturing_ptsz(CUstream hstream, CUstreamCaptureStatus *status);
CUresult cuStreamGetCaptureInfo_v2(CUstream hstream, CUstreamCaptureStatus *status,
				   cuuint64_t *id, CUgraph *graph,
				   const CUgraphNode **deps, size_t *n_deps);
CUresult cuStreamGetCaptureInfo_v2_ptsz(CUstream hstream, CUstreamCaptureStatus *status,
					cuuint64_t *id, CUgraph *graph,
					const CUgraphNode **deps, size_t *n_deps);
CUresult cuStreamGetCaptureInfo_v3_ptsz(CUstream hstream, CUstreamCaptureStatus *status,
					cuuint64_t *id, CUgraph *graph,
					const CUgraphNode **deps, const CUgraphEdgeData **edges,
					size_t *n_deps);
CUresult sim_graph_instantiate_v10000(CUgraphExec *exec, CUgraph g, CUgraphNode *error_node,
				      char *log, size_t log_size) __asm__("cuGraphInstantiate");
CUresult cuGraphInstantiate_v2(CUgraphExec *exec, CUgraph g, CUgraphNode *error_node,
			       char *log, size_t log_size);
CUresult cuGraphInstantiateWithParams_ptsz(CUgraphExec *exec, CUgraph g,
					   CUDA_GRAPH_INSTANTIATE_PARAMS *params);
CUresult cuGraphLaunch_ptsz(CUgraphExec exec, CUstream hstream);

#endif
