/*
 * pstat_read.c - the public reader of another process's statistics
 * segment (gpupager.h, "other processes' statistics"): attach, consistent
 * copies under the seq protocol (stats.h), and accessors that keep every
 * index and string of a copy in bounds, whoever wrote it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi.h"
#include "error.h"
#include "pager.h"
#include "stats.h"

/* The public indices are the segment's. */
#define GP_STAT_CHECK_ROW(id, name, doc) \
	_Static_assert((int)GP_COUNTER_##id == (int)GP_STAT_##id, "counter " #name);
GP_STAT_COUNTER_LIST(GP_STAT_CHECK_ROW)
#undef GP_STAT_CHECK_ROW
_Static_assert((int)GP_COUNTER_COUNT == (int)GP_STAT_COUNT, "counter count");

struct gp_stats_reader {
	const struct gp_stats_segment *live;
};

struct gp_stats_snapshot {
	struct gp_stats_segment seg;
};

GP_API const char *gp_counter_name(int counter)
{
	return gp_stat_counter_name((enum gp_stat_counter)counter);
}

GP_API int gp_counter_is_gauge(int c)
{
	return c == GP_STAT_VRAM_USED || c == GP_STAT_VRAM_BUDGET || c == GP_STAT_HOST_USED ||
	       c == GP_STAT_HOST_BUDGET;
}

GP_API int gp_stats_reader_open(int pid, struct gp_stats_reader **out)
{
	struct gp_stats_reader *r;
	int err;

	if (!out || pid <= 0)
		return gp_fail(GP_EINVAL, "gp_stats_reader_open: a positive pid and an output are "
			       "required");
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return gp_fail(GP_ENOMEM, "out of memory");
	err = gp_stats_attach(pid, &r->live);
	if (err) {
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

GP_API void gp_stats_reader_close(struct gp_stats_reader *r)
{
	if (!r)
		return;
	gp_stats_detach(r->live);
	free(r);
}

GP_API int gp_stats_snapshot_new(struct gp_stats_snapshot **out)
{
	if (!out)
		return gp_fail(GP_EINVAL, "gp_stats_snapshot_new: out is NULL");
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : gp_fail(GP_ENOMEM, "out of memory for a statistics snapshot");
}

GP_API void gp_stats_snapshot_free(struct gp_stats_snapshot *snap)
{
	free(snap);
}

/* The copy may come from a buggy or hostile writer: keep every index and string in bounds. */
static void sanitize(struct gp_stats_segment *seg)
{
	seg->device[sizeof(seg->device) - 1] = '\0';
	seg->policy[sizeof(seg->policy) - 1] = '\0';
	gp_utf8_sanitize(seg->device);
	gp_utf8_sanitize(seg->policy);
	if (seg->n_models > GP_STATS_MAX_MODELS)
		seg->n_models = GP_STATS_MAX_MODELS;
	for (int i = 0; i < GP_STATS_MAX_MODELS; i++) {
		struct gp_stats_model *m = &seg->models[i];

		m->name[GP_STATS_NAME_LEN - 1] = '\0';
		gp_utf8_sanitize(m->name);
		if (m->n_groups > GP_STATS_MAX_GROUPS)
			m->n_groups = GP_STATS_MAX_GROUPS;
		for (uint32_t g = 0; g < m->n_groups; g++)
			if (m->group_resident[g] > m->group_chunks[g])
				m->group_resident[g] = m->group_chunks[g];
	}
}

GP_API int gp_stats_read(const struct gp_stats_reader *r, struct gp_stats_snapshot *snap)
{
	const struct timespec pause = { 0, 100000 };
	const struct gp_stats_segment *live;

	if (!r || !snap)
		return gp_fail(GP_EINVAL, "gp_stats_read: a reader and a snapshot are required");
	live = r->live;
	/* Names and groups change rarely and briefly: a writer mid-change is waited out. */
	for (int tries = 0; tries < 10000; tries++) {
		uint32_t seq = __atomic_load_n(&live->seq, __ATOMIC_ACQUIRE);

		if (seq & 1) {
			nanosleep(&pause, NULL);
			continue;
		}
		memcpy(&snap->seg, live, sizeof(snap->seg));
		/* Sequentially consistent re-read: the copy above cannot move after it. */
		if (__atomic_load_n(&live->seq, __ATOMIC_SEQ_CST) == seq) {
			sanitize(&snap->seg);
			return 0;
		}
	}
	return gp_fail(GP_EBUSY, "process %d: its statistics kept changing for a second; try "
		       "again", live->pid);
}

GP_API int gp_stats_snapshot_process(const struct gp_stats_snapshot *snap,
				     struct gp_stats_process *info)
{
	struct gp_stats_process full = { .struct_size = sizeof(full) };

	if (!snap || !info)
		return gp_fail(GP_EINVAL, "gp_stats_snapshot_process: NULL argument");
	full.pid = snap->seg.pid;
	full.start_unix_ns = snap->seg.start_unix_ns;
	full.device = snap->seg.device;
	full.policy = snap->seg.policy;
	full.model_slots = snap->seg.n_models;
	return gp_abi_out(info, &full, sizeof(full),
			  GP_ABI_V1(struct gp_stats_process, model_slots),
			  "gp_stats_snapshot_process");
}

GP_API uint64_t gp_stats_snapshot_counter(const struct gp_stats_snapshot *snap, int c)
{
	if (!snap || c < 0 || c >= GP_STAT_COUNT)
		return 0;
	return snap->seg.counters[c];
}

static const struct gp_stats_model *snap_model(const struct gp_stats_snapshot *snap,
					       uint32_t slot, const char *call)
{
	if (!snap) {
		gp_fail(GP_EINVAL, "%s: snapshot is NULL", call);
		return NULL;
	}
	if (slot >= snap->seg.n_models || !snap->seg.models[slot].name[0]) {
		gp_fail(GP_ENOENT, "%s: process %d has no model in slot %u", call, snap->seg.pid,
			slot);
		return NULL;
	}
	return &snap->seg.models[slot];
}

GP_API int gp_stats_snapshot_model(const struct gp_stats_snapshot *snap, uint32_t slot,
				   struct gp_stats_model_info *info)
{
	struct gp_stats_model_info full = { .struct_size = sizeof(full) };
	const struct gp_stats_model *m = snap_model(snap, slot, "gp_stats_snapshot_model");

	if (!m)
		return snap ? GP_ENOENT : GP_EINVAL;
	if (!info)
		return gp_fail(GP_EINVAL, "gp_stats_snapshot_model: info is NULL");
	full.name = m->name;
	full.n_groups = m->n_groups;
	full.chunk_size = (uint64_t)m->chunk_size_kib * 1024;
	for (uint32_t g = 0; g < m->n_groups; g++) {
		full.chunks += m->group_chunks[g];
		full.resident += m->group_resident[g];
	}
	return gp_abi_out(info, &full, sizeof(full),
			  GP_ABI_V1(struct gp_stats_model_info, resident), "gp_stats_snapshot_model");
}

GP_API int gp_stats_snapshot_group(const struct gp_stats_snapshot *snap, uint32_t slot,
				   uint32_t group, uint32_t *chunks, uint32_t *resident)
{
	const struct gp_stats_model *m = snap_model(snap, slot, "gp_stats_snapshot_group");

	if (!m)
		return snap ? GP_ENOENT : GP_EINVAL;
	if (group >= m->n_groups)
		return gp_fail(GP_ENOENT, "gp_stats_snapshot_group: model %u has %u groups, not %u",
			       slot, m->n_groups, group + 1);
	if (chunks)
		*chunks = m->group_chunks[group];
	if (resident)
		*resident = m->group_resident[group];
	return 0;
}
