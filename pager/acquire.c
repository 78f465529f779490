/*
 * acquire.c - acquire/release of groups, tensors and byte ranges, and the
 * hints.  Acquire is stream-ordered: the caller's stream waits on the copy
 * stream (an event), the host does not, unless the caller passed no stream.
 */
#include <stdlib.h>

#include "decide.h"
#include "error.h"
#include "heap.h"
#include "log.h"
#include "pager.h"
#include "trace.h"

static CUstream user_stream(struct gp_pager *p, gp_stream_t stream)
{
	return stream ? (CUstream)stream : p->own_stream;
}

static int check_range(struct gp_model *m, uint64_t offset, uint64_t len, const char *call)
{
	if (!m)
		return gp_fail(GP_EINVAL, "%s: model is NULL", call);
	if (!m->pager)
		return gp_fail(GP_ESTATE, "%s: %s was opened without a pager (a description "
			       "only): open it with gp_model_open(pager, ...) to use it", call,
			       m->desc->source);
	if (!len || offset >= m->desc->range_size || len > m->desc->range_size - offset)
		return gp_fail(GP_ERANGE, "%s: %s: range [%llu, +%llu) is not inside the model's "
			       "%llu bytes", call, m->desc->source, (unsigned long long)offset,
			       (unsigned long long)len, (unsigned long long)m->desc->range_size);
	return 0;
}

/* The chunks [*first, *first + *count) holding bytes [offset, offset + len). */
static void chunk_span(const struct gp_model *m, uint64_t offset, uint64_t len, uint32_t *first,
		       uint32_t *count)
{
	uint64_t cs = m->pager->chunk_size;

	*first = (uint32_t)(offset / cs);
	*count = (uint32_t)((offset + len - 1) / cs) - *first + 1;
}

/* Tell the policy and the trace which groups the chunks belong to, in order. */
static void note_access(struct gp_model *m, uint32_t first, uint32_t count)
{
	uint32_t last_group = UINT32_MAX;

	for (uint32_t c = first; c < first + count; c++) {
		uint32_t g = m->chunk_group[c];

		if (g == last_group)
			continue;
		last_group = g;
		m->done_hint[g] = false;
		if (gp_heap_back_reports(m, g))
			gp_policy_access(m->policy, g);
	}
}

/*
 * The trace lines of an acquire (absent: each group's absent chunks before
 * the load, NULL for a release): one per group of the span, the bytes the
 * acquire moved on the last (lock held).
 */
static void trace_span(struct gp_model *m, uint32_t first, uint32_t count, const void *stream,
		       const uint32_t *absent, uint64_t h2d, uint64_t disk)
{
	uint32_t c = first, k = 0;

	while (c < first + count) {
		uint32_t g = m->chunk_group[c], start = c;
		struct gp_trace_acq acq = { 0 };

		while (c < first + count && m->chunk_group[c] == g)
			c++;
		if (absent) {
			acq.loaded = absent[k++];
			if (c == first + count) {
				acq.h2d_bytes = h2d;
				acq.disk_bytes = disk;
			}
		}
		gp_trace_access(m, g, start, c - start, stream, absent ? &acq : NULL);
	}
}

/* Each group's absent chunks in the span, for the trace (NULL: out of memory, no line). */
static uint32_t *span_absent(struct gp_model *m, uint32_t first, uint32_t count)
{
	uint32_t *absent = calloc(count, sizeof(*absent)), k = 0;

	if (!absent)
		return NULL;
	for (uint32_t c = first; c < first + count; c++) {
		if (c > first && m->chunk_group[c] != m->chunk_group[c - 1])
			k++;
		absent[k] += m->chunks[c].state != GP_CHUNK_RESIDENT;
	}
	return absent;
}

/* Count hits and prefetch hits; make stream wait for the newest copy of the range. */
static int settle(struct gp_model *m, uint32_t first, uint32_t count, enum gp_access access,
		  CUstream stream)
{
	struct gp_pager *p = m->pager;
	struct gp_chunk *newest = NULL;

	for (uint32_t c = first; c < first + count; c++) {
		struct gp_chunk *ch = &m->chunks[c];

		if (ch->prefetched) {
			ch->prefetched = false;
			gp_stats_add(p->stats, GP_STAT_PREFETCH_HITS, 1);
		}
		if (access == GP_ACCESS_WRITE)
			ch->dirty = true;
		if (!newest || ch->ready_seq > newest->ready_seq)
			newest = ch;
	}
	/*
	 * The copy stream runs in order: waiting on its newest copy covers the
	 * others, and once one copy is seen complete so are all before it.  A
	 * range whose copies are done costs no driver call (one query at most).
	 */
	if (newest->ready_seq <= p->copy_done_seq)
		return 0;
	if (gp_event_query(p->gpu, newest->ready) == 1) {
		p->copy_done_seq = newest->ready_seq;
		return 0;
	}
	return gp_stream_wait_event(p->gpu, stream, newest->ready);
}

static void request_prefetch(struct gp_model *m)
{
	uint32_t groups[GP_DECIDE_PREFETCH_MAX];
	size_t n = gp_policy_prefetch(m->policy, groups, GP_DECIDE_PREFETCH_MAX);

	if (n)
		gp_prefetch_request(m, groups, n);
}

/* Acquire on stream s exactly (0 is the legacy default stream); sync: wait on the host too. */
static int acquire_chunks(struct gp_model *m, uint64_t offset, uint64_t len,
			  enum gp_access access, CUstream s, bool sync)
{
	struct gp_pager *p = m->pager;
	uint32_t first, count, absent = 0, *trace_absent = NULL;
	uint64_t t0 = gp_now_ns(), h2d0 = 0, disk0 = 0;
	/* The trace writes the pager's own stream as the caller named it: 0. */
	const void *stream = s == p->own_stream ? NULL : s;
	int err;

	chunk_span(m, offset, len, &first, &count);
	pthread_mutex_lock(&p->lock);
	if (m->offload_key)
		gp_offload_forget(m);
	note_access(m, first, count);
	for (uint32_t c = first; c < first + count; c++)
		absent += m->chunks[c].state != GP_CHUNK_RESIDENT;
	if (p->trace) {
		trace_absent = span_absent(m, first, count);
		h2d0 = gp_stats_get(p->stats, GP_STAT_BYTES_H2D);
		disk0 = gp_stats_get(p->stats, GP_STAT_BYTES_DISK);
	}
	err = gp_res_load(m, first, count, true, false);
	if (!err) {
		err = settle(m, first, count, access, s);
		if (err)
			gp_res_unpin(m, first, count);
	}
	if (!err) {
		gp_stats_add(p->stats, absent ? GP_STAT_MISSES : GP_STAT_HITS, 1);
		gp_stats_add(p->stats, GP_STAT_CHUNK_HITS, count - absent);
		/* The trace may have started while the lock was dropped for reads. */
		if (p->trace && trace_absent)
			trace_span(m, first, count, stream, trace_absent,
				   gp_stats_get(p->stats, GP_STAT_BYTES_H2D) - h2d0,
				   gp_stats_get(p->stats, GP_STAT_BYTES_DISK) - disk0);
		request_prefetch(m);
	}
	pthread_mutex_unlock(&p->lock);
	free(trace_absent);
	if (!err && sync)
		err = gp_stream_sync(p->gpu, s);
	if (absent)
		gp_stats_add(p->stats, GP_STAT_STALL_NS, gp_now_ns() - t0);
	return err;
}

static int release_chunks(struct gp_model *m, uint64_t offset, uint64_t len, CUstream s)
{
	struct gp_pager *p = m->pager;
	const void *stream = s == p->own_stream ? NULL : s;
	uint32_t first, count;
	int err = 0;

	chunk_span(m, offset, len, &first, &count);
	pthread_mutex_lock(&p->lock);
	for (uint32_t c = first; c < first + count; c++) {
		if (!m->chunks[c].users) {
			err = gp_fail(GP_ESTATE, "%s: releasing chunk %u at offset %llu, which is "
				      "not acquired", m->desc->source, c,
				      (unsigned long long)c * p->chunk_size);
			goto out;
		}
	}
	for (uint32_t c = first; c < first + count && !err; c++) {
		struct gp_chunk *ch = &m->chunks[c];

		/*
		 * One event holds the last use.  When another user released the
		 * chunk while this one still held it, or a use released on
		 * another stream may still run, this stream first waits for that
		 * use, so the event recorded now covers both.
		 */
		if (ch->other_use_pending ||
		    (ch->last_use_set && ch->last_use_stream != s &&
		     gp_event_query(p->gpu, ch->last_use) == 0))
			err = gp_stream_wait_event(p->gpu, s, ch->last_use);
		if (!err)
			err = gp_event_record(p->gpu, ch->last_use, s);
		ch->last_use_set = ch->last_use_set || !err;
		ch->last_use_stream = s;
		ch->other_use_pending = ch->users > 1;
	}
	/* A use no event records: wait for it, so no eviction unmaps memory it still reads. */
	if (err)
		gp_stream_sync(p->gpu, s);
	gp_res_unpin(m, first, count);
	if (p->trace)
		trace_span(m, first, count, stream, NULL, 0, 0);
out:
	pthread_mutex_unlock(&p->lock);
	return err;
}

GP_API int gp_acquire_range(struct gp_model *m, uint64_t offset, uint64_t len,
			    enum gp_access access, gp_stream_t stream)
{
	int err = check_range(m, offset, len, "gp_acquire_range");

	return err ? err : acquire_chunks(m, offset, len, access, user_stream(m->pager, stream),
					   !stream);
}

GP_API int gp_release_range(struct gp_model *m, uint64_t offset, uint64_t len, gp_stream_t stream)
{
	int err = check_range(m, offset, len, "gp_release_range");

	return err ? err : release_chunks(m, offset, len, user_stream(m->pager, stream));
}

static int group_range(struct gp_model *m, uint32_t group, uint64_t *offset, uint64_t *len,
		       const char *call)
{
	if (!m)
		return gp_fail(GP_EINVAL, "%s: model is NULL", call);
	if (!m->pager)
		return gp_fail(GP_ESTATE, "%s: %s was opened without a pager (a description "
			       "only): open it with gp_model_open(pager, ...) to use it", call,
			       m->desc->source);
	if (group >= m->desc->n_groups)
		return gp_fail(GP_ENOENT, "%s: %s: no group %u (the model has %u)", call,
			       m->desc->source, group, m->desc->n_groups);
	*offset = m->desc->groups[group].range_offset;
	*len = m->desc->groups[group].range_size;
	return 0;
}

int gp_acquire_range_on(struct gp_model *m, uint64_t offset, uint64_t len, enum gp_access access,
			CUstream stream)
{
	int err = check_range(m, offset, len, "gp_acquire_range");

	return err ? err : acquire_chunks(m, offset, len, access, stream, false);
}

int gp_release_range_on(struct gp_model *m, uint64_t offset, uint64_t len, CUstream stream)
{
	int err = check_range(m, offset, len, "gp_release_range");

	return err ? err : release_chunks(m, offset, len, stream);
}

GP_API int gp_acquire_group(struct gp_model *m, uint32_t group, gp_stream_t stream)
{
	uint64_t off = 0, len = 0;
	int err = group_range(m, group, &off, &len, "gp_acquire_group");

	err = err ? err : acquire_chunks(m, off, len, GP_ACCESS_READ, user_stream(m->pager, stream),
					 !stream);
	if (!err && stream)
		gp_prefetch_time_group(m, group, (CUstream)stream, false);
	return err;
}

GP_API int gp_release_group(struct gp_model *m, uint32_t group, gp_stream_t stream)
{
	uint64_t off = 0, len = 0;
	int err = group_range(m, group, &off, &len, "gp_release_group");

	if (!err && stream)
		gp_prefetch_time_group(m, group, (CUstream)stream, true);
	return err ? err : release_chunks(m, off, len, user_stream(m->pager, stream));
}

static int tensor_range(struct gp_model *m, const char *name, uint64_t *offset, uint64_t *len,
			const char *call)
{
	int i;

	if (!m || !name)
		return gp_fail(GP_EINVAL, "%s: NULL argument", call);
	if (!m->pager)
		return gp_fail(GP_ESTATE, "%s: %s was opened without a pager (a description "
			       "only): open it with gp_model_open(pager, ...) to use it", call,
			       m->desc->source);
	i = gp_model_tensor_index(m, name);
	if (i < 0)
		return gp_fail(GP_ENOENT, "%s: %s: no tensor named '%s'", call, m->desc->source,
			       name);
	*offset = m->desc->tensors[i].range_offset;
	*len = m->desc->tensors[i].nbytes ? m->desc->tensors[i].nbytes : 1;
	return 0;
}

GP_API int gp_acquire_tensor(struct gp_model *m, const char *name, enum gp_access access,
			     gp_stream_t stream)
{
	uint64_t off = 0, len = 0;
	int err = tensor_range(m, name, &off, &len, "gp_acquire_tensor");

	return err ? err : acquire_chunks(m, off, len, access, user_stream(m->pager, stream),
					   !stream);
}

GP_API int gp_release_tensor(struct gp_model *m, const char *name, gp_stream_t stream)
{
	uint64_t off = 0, len = 0;
	int err = tensor_range(m, name, &off, &len, "gp_release_tensor");

	return err ? err : release_chunks(m, off, len, user_stream(m->pager, stream));
}

GP_API int gp_hint_prefetch(struct gp_model *m, uint32_t group)
{
	uint64_t off = 0, len = 0;
	int err = group_range(m, group, &off, &len, "gp_hint_prefetch");

	if (err)
		return err;
	pthread_mutex_lock(&m->pager->lock);
	gp_prefetch_request(m, &group, 1);
	pthread_mutex_unlock(&m->pager->lock);
	return 0;
}

GP_API int gp_hint_done(struct gp_model *m, uint32_t group)
{
	uint64_t off = 0, len = 0;
	int err = group_range(m, group, &off, &len, "gp_hint_done");

	if (err)
		return err;
	pthread_mutex_lock(&m->pager->lock);
	m->done_hint[group] = true;
	pthread_mutex_unlock(&m->pager->lock);
	return 0;
}
