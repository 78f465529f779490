/*
 * stream.c - streams: each one is a worker thread that runs its queue of
 * operations in order.
 *
 * Every operation gets a sequence number; "operation n of stream s is
 * done" (s->completed >= n) is the one completion test used by
 * synchronisation, queries, events and waits.  The default (legacy) stream
 * synchronises implicitly with the blocking streams, as in CUDA: its work
 * waits for theirs, and theirs for its.  State is guarded by one mutex;
 * every completion is broadcast on one condition.
 */
#include <stdlib.h>

#include "graph.h"
#include "sim.h"

struct sim_dep {
	CUstream stream; /* referenced */
	uint64_t seq;
};

/* The opaque type behind CUstream. */
struct CUstream_st {
	struct sim_op *head, *tail;
	uint64_t submitted;   /* seq of the last queued operation */
	uint64_t completed;   /* seq of the last finished operation */
	uint64_t last_end_ns; /* simulated completion time of that operation */
	unsigned flags;
	bool legacy;
	bool closing;         /* destroyed: exit once the queue is empty */
	int refs;             /* handle, worker, waiters and events */
	pthread_cond_t work;  /* queue not empty, or closing */
	CUstream next;        /* streams with a running worker */
	struct sim_capture_stream *capture; /* capturing: ops become graph nodes */
};

static pthread_mutex_t sched_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progress = PTHREAD_COND_INITIALIZER;
static CUstream streams;
static CUstream legacy_stream;
static pthread_once_t legacy_once = PTHREAD_ONCE_INIT;
static CUresult legacy_result;

void sim_sched_lock(void)
{
	pthread_mutex_lock(&sched_lock);
}

void sim_sched_unlock(void)
{
	pthread_mutex_unlock(&sched_lock);
}

void sim_sched_wait(void)
{
	pthread_cond_wait(&progress, &sched_lock);
}

bool sim_stream_reached(const struct CUstream_st *s, uint64_t seq)
{
	return s->completed >= seq;
}

void sim_stream_get_ref(CUstream s)
{
	s->refs++;
}

void sim_stream_put(CUstream s)
{
	if (--s->refs > 0)
		return;
	pthread_cond_destroy(&s->work);
	free(s);
}

struct sim_capture_stream *sim_stream_capture(const struct CUstream_st *s)
{
	return s->capture;
}

void sim_stream_set_capture(CUstream s, struct sim_capture_stream *cs)
{
	s->capture = cs;
}

static void unlink_stream(CUstream s)
{
	for (CUstream *p = &streams; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			return;
		}
	}
}

/* Wait for op's implicit dependencies; returns whether it had to wait. */
static bool wait_deps(struct sim_op *op)
{
	bool waited = false;

	for (size_t i = 0; i < op->n_deps; i++) {
		while (!sim_stream_reached(op->deps[i].stream, op->deps[i].seq)) {
			pthread_cond_wait(&progress, &sched_lock);
			waited = true;
		}
		sim_stream_put(op->deps[i].stream);
	}
	free(op->deps);
	op->deps = NULL;
	return waited;
}

static void *worker(void *arg)
{
	CUstream s = arg;

	pthread_mutex_lock(&sched_lock);
	for (;;) {
		struct sim_op *op;
		uint64_t start, end, seq;

		while (!s->head && !s->closing)
			pthread_cond_wait(&s->work, &sched_lock);
		op = s->head;
		if (!op)
			break;
		s->head = op->next;
		if (!s->head)
			s->tail = NULL;
		start = op->queued_ns > s->last_end_ns ? op->queued_ns : s->last_end_ns;
		/* Work that had to wait starts when its dependencies let it. */
		if (wait_deps(op)) {
			uint64_t now = sim_now_ns();

			if (now > start)
				start = now;
		}
		seq = op->seq;
		pthread_mutex_unlock(&sched_lock);
		end = op->run(op, start);
		pthread_mutex_lock(&sched_lock);
		s->last_end_ns = end;
		s->completed = seq;
		pthread_cond_broadcast(&progress);
	}
	unlink_stream(s);
	sim_stream_put(s);
	pthread_mutex_unlock(&sched_lock);
	return NULL;
}

static CUresult stream_create(unsigned flags, bool legacy, CUstream *out)
{
	CUstream s = calloc(1, sizeof(*s));
	pthread_attr_t attr;
	pthread_t thread;
	int rc;

	if (!s)
		return CUDA_ERROR_OUT_OF_MEMORY;
	s->flags = flags;
	s->legacy = legacy;
	s->refs = 2; /* the handle and the worker */
	pthread_cond_init(&s->work, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&sched_lock);
	rc = pthread_create(&thread, &attr, worker, s);
	if (rc == 0) {
		s->next = streams;
		streams = s;
	}
	pthread_mutex_unlock(&sched_lock);
	pthread_attr_destroy(&attr);
	if (rc) {
		pthread_cond_destroy(&s->work);
		free(s);
		return sim_error(CUDA_ERROR_OUT_OF_MEMORY, "cannot start a stream thread");
	}
	*out = s;
	return CUDA_SUCCESS;
}

static void legacy_create(void)
{
	legacy_result = stream_create(0, true, &legacy_stream);
}

CUresult sim_stream_get(CUstream handle, CUstream *out)
{
	if (handle && handle != CU_STREAM_LEGACY && handle != CU_STREAM_PER_THREAD) {
		*out = handle;
		return CUDA_SUCCESS;
	}
	pthread_once(&legacy_once, legacy_create);
	*out = legacy_stream;
	return legacy_result;
}

static bool pending(const struct CUstream_st *s)
{
	return s->completed < s->submitted;
}

static bool blocking(const struct CUstream_st *s)
{
	return !s->legacy && !(s->flags & CU_STREAM_NON_BLOCKING);
}

bool sim_stream_is_blocking(const struct CUstream_st *s)
{
	return blocking(s);
}

bool sim_stream_is_legacy(const struct CUstream_st *s)
{
	return s->legacy;
}

static int add_dep(struct sim_op *op, CUstream target)
{
	struct sim_dep *grown = realloc(op->deps, (op->n_deps + 1) * sizeof(*grown));

	if (!grown)
		return -1;
	op->deps = grown;
	op->deps[op->n_deps++] = (struct sim_dep){ target, target->submitted };
	target->refs++;
	return 0;
}

/* The legacy stream's implicit synchronisation with blocking streams. */
static int add_legacy_deps(CUstream s, struct sim_op *op)
{
	if (s->legacy) {
		for (CUstream t = streams; t; t = t->next)
			if (blocking(t) && pending(t) && add_dep(op, t))
				return -1;
	} else if (blocking(s) && legacy_stream && pending(legacy_stream)) {
		return add_dep(op, legacy_stream);
	}
	return 0;
}

static void drop_deps(struct sim_op *op)
{
	for (size_t i = 0; i < op->n_deps; i++)
		sim_stream_put(op->deps[i].stream);
	free(op->deps);
	op->deps = NULL;
	op->n_deps = 0;
}

CUresult sim_stream_submit_locked(CUstream s, struct sim_op *op, uint64_t *seq)
{
	CUresult err;

	if (s->closing)
		return sim_error(CUDA_ERROR_INVALID_HANDLE, "stream %p was destroyed", (void *)s);
	/* Captured work runs only when its graph is launched: nothing to wait for. */
	if (s->capture) {
		err = sim_capture_record_locked(s, op);
		if (!err && seq)
			*seq = 0;
		return err;
	}
	err = s->legacy ? sim_capture_check_legacy_locked() : CUDA_SUCCESS;
	if (err)
		return err;
	if (add_legacy_deps(s, op)) {
		drop_deps(op);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	op->next = NULL;
	op->seq = ++s->submitted;
	op->queued_ns = sim_now_ns();
	if (s->tail)
		s->tail->next = op;
	else
		s->head = op;
	s->tail = op;
	pthread_cond_signal(&s->work);
	if (seq)
		*seq = op->seq;
	return CUDA_SUCCESS;
}

CUresult sim_stream_submit(CUstream s, struct sim_op *op, uint64_t *seq)
{
	CUresult err;

	pthread_mutex_lock(&sched_lock);
	err = sim_stream_submit_locked(s, op, seq);
	pthread_mutex_unlock(&sched_lock);
	return err;
}

static uint64_t run_nothing(struct sim_op *op, uint64_t start_ns)
{
	free(op);
	return start_ns;
}

CUresult sim_stream_submit_wait(CUstream s, CUstream target, uint64_t seq)
{
	struct sim_op *op = calloc(1, sizeof(*op));
	struct sim_dep *dep = malloc(sizeof(*dep));
	CUresult err;

	pthread_mutex_lock(&sched_lock);
	if (!op || !dep) {
		err = CUDA_ERROR_OUT_OF_MEMORY;
		goto fail;
	}
	*dep = (struct sim_dep){ target, seq };
	op->deps = dep;
	op->n_deps = 1;
	op->run = run_nothing;
	err = sim_stream_submit_locked(s, op, NULL);
	if (err)
		goto fail;
	pthread_mutex_unlock(&sched_lock);
	return CUDA_SUCCESS;
fail:
	/* The caller's reference to target is ours to drop. */
	sim_stream_put(target);
	pthread_mutex_unlock(&sched_lock);
	free(dep);
	free(op);
	return err;
}

void sim_stream_wait(CUstream s, uint64_t seq)
{
	pthread_mutex_lock(&sched_lock);
	while (!sim_stream_reached(s, seq))
		pthread_cond_wait(&progress, &sched_lock);
	pthread_mutex_unlock(&sched_lock);
}

CUresult sim_streams_drain(void)
{
	struct sim_op marker = { 0 };

	/* The targets are recorded as dependencies of a marker that never runs. */
	pthread_mutex_lock(&sched_lock);
	for (CUstream t = streams; t; t = t->next) {
		if (pending(t) && add_dep(&marker, t)) {
			drop_deps(&marker);
			pthread_mutex_unlock(&sched_lock);
			return CUDA_ERROR_OUT_OF_MEMORY;
		}
	}
	wait_deps(&marker);
	pthread_mutex_unlock(&sched_lock);
	return CUDA_SUCCESS;
}

CUresult cuStreamCreate(CUstream *phstream, unsigned int flags)
{
	CUresult err = sim_enter("cuStreamCreate", SIM_NEED_CTX);

	if (err)
		return err;
	if (!phstream || (flags & ~(unsigned)CU_STREAM_NON_BLOCKING))
		return sim_error(CUDA_ERROR_INVALID_VALUE, "cuStreamCreate: bad flags %#x", flags);
	return stream_create(flags, false, phstream);
}

static bool is_default(CUstream handle)
{
	return !handle || handle == CU_STREAM_LEGACY || handle == CU_STREAM_PER_THREAD;
}

CUresult cuStreamDestroy_v2(CUstream hstream)
{
	CUresult err = sim_enter("cuStreamDestroy", SIM_NEED_CTX);

	if (err)
		return err;
	if (is_default(hstream))
		return sim_error(CUDA_ERROR_INVALID_HANDLE,
				 "cuStreamDestroy: the default stream cannot be destroyed");
	/* Like CUDA, queued work still runs; the worker exits after it. */
	pthread_mutex_lock(&sched_lock);
	hstream->closing = true;
	pthread_cond_signal(&hstream->work);
	sim_stream_put(hstream);
	pthread_mutex_unlock(&sched_lock);
	return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream hstream)
{
	CUresult err = sim_enter("cuStreamSynchronize", SIM_NEED_CTX);
	uint64_t target;
	CUstream s;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	pthread_mutex_lock(&sched_lock);
	err = s->capture ? sim_capture_unsupported_locked(s, "cuStreamSynchronize") :
	      s->legacy  ? sim_capture_check_legacy_locked() : CUDA_SUCCESS;
	if (err) {
		pthread_mutex_unlock(&sched_lock);
		return err;
	}
	target = s->submitted;
	while (!sim_stream_reached(s, target))
		pthread_cond_wait(&progress, &sched_lock);
	pthread_mutex_unlock(&sched_lock);
	return sim_sticky_error();
}

CUresult cuStreamQuery(CUstream hstream)
{
	CUresult err = sim_enter("cuStreamQuery", SIM_NEED_CTX);
	bool busy;
	CUstream s;

	if (!err)
		err = sim_stream_get(hstream, &s);
	if (err)
		return err;
	pthread_mutex_lock(&sched_lock);
	err = s->capture ? sim_capture_unsupported_locked(s, "cuStreamQuery") :
	      s->legacy  ? sim_capture_check_legacy_locked() : CUDA_SUCCESS;
	if (err) {
		pthread_mutex_unlock(&sched_lock);
		return err;
	}
	busy = pending(s);
	pthread_mutex_unlock(&sched_lock);
	return busy ? CUDA_ERROR_NOT_READY : sim_sticky_error();
}

/* The per-thread-default-stream forms (sim.h). */

CUresult cuStreamSynchronize_ptsz(CUstream hstream)
{
	return cuStreamSynchronize(sim_per_thread(hstream));
}

CUresult cuStreamQuery_ptsz(CUstream hstream)
{
	return cuStreamQuery(sim_per_thread(hstream));
}
