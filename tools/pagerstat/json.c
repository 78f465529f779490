/* json.c - `pagerstat --json`: one JSON object per sample, one per line (NDJSON). */
#include <jansson.h>
#include <stdlib.h>

#include "pagerstat.h"

/* A percentage, or null when there was nothing to divide. */
static json_t *pct_or_null(double pct)
{
	return pct < 0 ? json_null() : json_real(pct);
}

static json_t *u32_array(const uint32_t *v, uint32_t n)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *models_json(const struct gp_stats_segment *seg)
{
	json_t *models = json_array();

	for (uint32_t i = 0; i < seg->n_models; i++) {
		const struct gp_stats_model *m = &seg->models[i];
		uint64_t chunks, resident;

		if (!m->name[0])
			continue;
		ps_model_totals(m, &chunks, &resident);
		json_array_append_new(models, json_pack(
			"{s:i, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "slot", (int)i, "name", m->name,
			"chunk_size_kib", (json_int_t)m->chunk_size_kib, "n_groups",
			(json_int_t)m->n_groups, "chunks", (json_int_t)chunks, "resident",
			(json_int_t)resident, "group_chunks", u32_array(m->group_chunks, m->n_groups),
			"group_resident", u32_array(m->group_resident, m->n_groups)));
	}
	return models;
}

void ps_print_json(FILE *out, const struct ps_sample *cur, const struct ps_sample *prev,
		   double dt, const char *comm)
{
	const uint64_t *now = cur->seg.counters, *before = prev->seg.counters;
	json_t *counters = json_object(), *rates = json_object(), *root;
	uint64_t d[GP_STAT_COUNT];
	char *text;

	for (int c = 0; c < GP_STAT_COUNT; c++) {
		d[c] = now[c] > before[c] ? now[c] - before[c] : 0;
		json_object_set_new(counters, gp_stat_counter_name(c), json_integer((json_int_t)now[c]));
		if (!ps_counter_is_gauge(c))
			json_object_set_new(rates, gp_stat_counter_name(c),
					    json_real(dt > 0 ? (double)d[c] / dt : 0));
	}
	root = json_pack("{s:i, s:s, s:f, s:f, s:f, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
			 "pid", cur->seg.pid, "comm", comm, "time", cur->unix_s,
			 "uptime_s", ps_uptime(cur), "interval_s", dt, "device", cur->seg.device,
			 "policy", cur->seg.policy, "counters", counters, "rates", rates,
			 "hit_rate", pct_or_null(ps_ratio(d[GP_STAT_HITS], d[GP_STAT_MISSES])),
			 "prefetch_hit_rate",
			 pct_or_null(ps_ratio(d[GP_STAT_PREFETCH_HITS], d[GP_STAT_PREFETCH_WASTED])),
			 "models", models_json(&cur->seg));
	text = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	if (text)
		fprintf(out, "%s\n", text);
	else
		fprintf(stderr, "pagerstat: cannot format the sample as JSON (bad UTF-8 in a name?)\n");
	free(text);
	json_decref(root);
}
