/*
 * event.c - events: a record is an operation on a stream that stamps the
 * time at which the stream reached it; the event is complete when that
 * operation is.  Re-recording moves the event to the newest record.
 */
#include <stdlib.h>

#include "graph.h"
#include "sim.h"

/* The opaque type behind CUevent; guarded by sim_sched_lock. */
struct CUevent_st {
	unsigned flags;
	int refs;          /* the handle and each queued record */
	CUstream stream;   /* of the newest record (referenced), NULL if never recorded */
	uint64_t seq;      /* that record's operation */
	uint64_t time_ns;  /* when the stream reached it */
	struct sim_capture_mark mark; /* newest record, when it was captured */
};

struct record_op {
	struct sim_op op;
	CUevent event;     /* referenced */
	CUstream stream;   /* the op's own */
};

static void event_put(CUevent ev)
{
	if (--ev->refs > 0)
		return;
	if (ev->stream)
		sim_stream_put(ev->stream);
	sim_capture_mark_clear(&ev->mark);
	free(ev);
}

static uint64_t run_record(struct sim_op *op, uint64_t start_ns)
{
	struct record_op *rec = (struct record_op *)op;
	CUevent ev = rec->event;

	sim_sched_lock();
	/* Only the newest record of the event stamps it. */
	if (ev->stream == rec->stream && ev->seq == op->seq)
		ev->time_ns = start_ns;
	event_put(ev);
	sim_sched_unlock();
	free(rec);
	return start_ns;
}

/* With sim_sched_lock held. */
static bool complete(const struct CUevent_st *ev)
{
	return !ev->stream || sim_stream_reached(ev->stream, ev->seq);
}

CUresult cuEventCreate(CUevent *phevent, unsigned int flags)
{
	CUresult err = sim_enter("cuEventCreate", SIM_NEED_CTX);
	CUevent ev;

	if (err)
		return err;
	if (!phevent || (flags & ~(unsigned)(CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING |
					     CU_EVENT_INTERPROCESS)))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuEventCreate: bad flags %#x", flags);
	if (flags & CU_EVENT_INTERPROCESS)
		return sim_error(CUDA_ERROR_NOT_SUPPORTED,
				 "cuEventCreate: interprocess events are not simulated");
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return CUDA_ERROR_OUT_OF_MEMORY;
	ev->flags = flags;
	ev->refs = 1;
	*phevent = ev;
	return CUDA_SUCCESS;
}

/* Like CUDA, an event destroyed while a record is queued goes once it has run. */
CUresult cuEventDestroy_v2(CUevent hevent)
{
	CUresult err = sim_enter("cuEventDestroy", SIM_NEED_CTX);

	if (err)
		return err;
	if (!hevent)
		return CUDA_ERROR_INVALID_HANDLE;
	sim_sched_lock();
	event_put(hevent);
	sim_sched_unlock();
	return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent hevent, CUstream hstream)
{
	CUresult err = sim_enter("cuEventRecord", SIM_NEED_CTX);
	struct record_op *rec;
	CUstream s;
	uint64_t seq;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	if (!hevent)
		return CUDA_ERROR_INVALID_HANDLE;
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return CUDA_ERROR_OUT_OF_MEMORY;
	rec->op.run = run_record;
	rec->event = hevent;
	rec->stream = s;
	sim_sched_lock();
	/* Recorded in a capture: the event names the capture's nodes so far. */
	if (sim_stream_capture(s)) {
		err = sim_capture_mark_locked(s, &hevent->mark);
		sim_sched_unlock();
		free(rec);
		return err;
	}
	sim_capture_mark_clear(&hevent->mark);
	err = sim_stream_submit_locked(s, &rec->op, &seq);
	if (!err) {
		hevent->refs++;
		sim_stream_get_ref(s);
		if (hevent->stream)
			sim_stream_put(hevent->stream);
		hevent->stream = s;
		hevent->seq = seq;
	}
	sim_sched_unlock();
	if (err)
		free(rec);
	return err;
}

CUresult cuEventQuery(CUevent hevent)
{
	CUresult err = sim_enter("cuEventQuery", SIM_NEED_CTX);
	bool done;

	if (err)
		return err;
	if (!hevent)
		return CUDA_ERROR_INVALID_HANDLE;
	sim_sched_lock();
	done = complete(hevent);
	sim_sched_unlock();
	return done ? sim_sticky_error() : CUDA_ERROR_NOT_READY;
}

CUresult cuEventSynchronize(CUevent hevent)
{
	CUresult err = sim_enter("cuEventSynchronize", SIM_NEED_CTX);

	if (err)
		return err;
	if (!hevent)
		return CUDA_ERROR_INVALID_HANDLE;
	sim_sched_lock();
	while (!complete(hevent))
		sim_sched_wait();
	sim_sched_unlock();
	return sim_sticky_error();
}

CUresult cuEventElapsedTime_v2(float *ms, CUevent hstart, CUevent hend)
{
	CUresult err = sim_enter("cuEventElapsedTime", SIM_NEED_CTX);

	if (err)
		return err;
	if (!ms || !hstart || !hend)
		return CUDA_ERROR_INVALID_VALUE;
	sim_sched_lock();
	if ((hstart->flags | hend->flags) & CU_EVENT_DISABLE_TIMING)
		err = sim_error(CUDA_ERROR_INVALID_HANDLE,
				"cuEventElapsedTime: event created with CU_EVENT_DISABLE_TIMING");
	else if (!hstart->stream || !hend->stream)
		err = sim_error(CUDA_ERROR_INVALID_HANDLE,
				"cuEventElapsedTime: event never recorded");
	else if (!complete(hstart) || !complete(hend))
		err = CUDA_ERROR_NOT_READY;
	else
		*ms = (float)(((double)hend->time_ns - (double)hstart->time_ns) / 1e6);
	sim_sched_unlock();
	return err;
}

CUresult cuStreamWaitEvent(CUstream hstream, CUevent hevent, unsigned int flags)
{
	CUresult err = sim_enter("cuStreamWaitEvent", SIM_NEED_CTX);
	CUstream s, target;
	uint64_t seq;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	if (!hevent)
		return CUDA_ERROR_INVALID_HANDLE;
	if (flags & ~(unsigned)CU_EVENT_WAIT_EXTERNAL)
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuStreamWaitEvent: bad flags %#x",
				 flags);
	sim_sched_lock();
	if (hevent->mark.id || sim_stream_capture(s)) {
		err = sim_capture_join_locked(s, &hevent->mark);
		sim_sched_unlock();
		return err;
	}
	target = hevent->stream;
	seq = hevent->seq;
	if (target)
		sim_stream_get_ref(target);
	sim_sched_unlock();
	/* Waiting for an event never recorded is a no-op. */
	if (!target)
		return CUDA_SUCCESS;
	return sim_stream_submit_wait(s, target, seq);
}

/* The per-thread-default-stream forms (sim.h). */

CUresult cuEventRecord_ptsz(CUevent hevent, CUstream hstream)
{
	return cuEventRecord(hevent, sim_per_thread(hstream));
}

CUresult cuStreamWaitEvent_ptsz(CUstream hstream, CUevent hevent, unsigned int flags)
{
	return cuStreamWaitEvent(sim_per_thread(hstream), hevent, flags);
}
