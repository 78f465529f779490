/*
 * fuzz_trace.c - gp_trace_parse on arbitrary bytes.  An accepted trace
 * must be consistent: every group inside its model's chunks, groups in
 * order and apart, every access naming a known group; and the curves of
 * each accessed model (lru and min, a few budgets) must compute without
 * error, exact LRU equal to the replay.  A rejected one must leave nothing
 * and name the line ("NAME:LINE: ...").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpupager.h"
#include "trace.h"

static void check_accepted(const struct gp_trace *t)
{
	for (uint32_t i = 0; i < t->n_models; i++) {
		const struct gp_trace_model *m = &t->models[i];
		uint32_t end = 0;

		if (!m->source || m->chunk_size == 0)
			abort();
		for (uint32_t g = 0; g < m->n_groups; g++) {
			if (!m->count[g])
				continue;
			if (m->first[g] < end || m->first[g] + (uint64_t)m->count[g] > m->n_chunks)
				abort();
			end = m->first[g] + m->count[g];
		}
		for (size_t k = 0; k < m->n_seq; k++)
			if (m->seq[k] >= m->n_groups || !m->count[m->seq[k]])
				abort();
		if (m->n_seq && m->n_chunks <= 4096 && m->n_seq <= 4096) {
			struct gp_mrc_options o;
			struct gp_mrc_info info = { .struct_size = sizeof(info) };
			struct gp_mrc *r;

			gp_mrc_options_init(&o);
			o.model = i;
			o.curves = (1u << GP_MRC_LRU) | (1u << GP_MRC_MIN);
			o.points = 5;
			o.threads = 1;
			o.lru_checks = 5;
			if (gp_mrc_compute(t, &o, &r))
				abort();
			gp_mrc_get_info(r, &info);
			if (info.lru_matches_replay == 0 || info.min_below_all == 0)
				abort();
			gp_mrc_free(r);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gp_trace *t = (struct gp_trace *)1;
	int err = gp_trace_parse((const char *)data, size, "fuzz", &t);

	if (!err) {
		check_accepted(t);
		gp_trace_free(t);
	} else if (t || strncmp(gp_last_error(), "fuzz:", 5)) {
		abort();
	}
	return 0;
}
