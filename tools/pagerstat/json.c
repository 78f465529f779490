/* json.c - `pagerstat --json`: one JSON object per sample, one per line (NDJSON). */
#include <jansson.h>
#include <stdlib.h>

#include "pagerstat.h"

/* A percentage, or null when there was nothing to divide. */
static json_t *pct_or_null(double pct)
{
	return pct < 0 ? json_null() : json_real(pct);
}

/* Per group of model slot: its chunks (resident 0) or its resident chunks (1). */
static json_t *group_array(const struct ps_sample *s, uint32_t slot, uint32_t n, int resident)
{
	json_t *a = json_array();

	for (uint32_t g = 0; g < n; g++) {
		uint32_t chunks = 0, res = 0;

		gp_stats_snapshot_group(s->snap, slot, g, &chunks, &res);
		json_array_append_new(a, json_integer(resident ? res : chunks));
	}
	return a;
}

static json_t *models_json(const struct ps_sample *s)
{
	json_t *models = json_array();

	for (uint32_t i = 0; i < s->proc.model_slots; i++) {
		struct gp_stats_model_info m = { .struct_size = sizeof(m) };

		if (gp_stats_snapshot_model(s->snap, i, &m))
			continue;
		json_array_append_new(models, json_pack(
			"{s:i, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "slot", (int)i, "name", m.name,
			"chunk_size_kib", (json_int_t)(m.chunk_size / 1024), "n_groups",
			(json_int_t)m.n_groups, "chunks", (json_int_t)m.chunks, "resident",
			(json_int_t)m.resident, "group_chunks", group_array(s, i, m.n_groups, 0),
			"group_resident", group_array(s, i, m.n_groups, 1)));
	}
	return models;
}

void ps_print_json(FILE *out, const struct ps_sample *cur, const struct ps_sample *prev,
		   double dt, const char *comm)
{
	json_t *counters = json_object(), *rates = json_object(), *root;
	uint64_t d[GP_COUNTER_COUNT];
	char *text;

	for (int c = 0; c < GP_COUNTER_COUNT; c++) {
		uint64_t now = ps_counter(cur, c), before = prev ? ps_counter(prev, c) : 0;

		d[c] = now > before ? now - before : 0;
		json_object_set_new(counters, gp_counter_name(c), json_integer((json_int_t)now));
		if (!gp_counter_is_gauge(c))
			json_object_set_new(rates, gp_counter_name(c),
					    json_real(dt > 0 ? (double)d[c] / dt : 0));
	}
	root = json_pack("{s:i, s:s, s:f, s:f, s:f, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
			 "pid", cur->proc.pid, "comm", comm, "time", cur->unix_s,
			 "uptime_s", ps_uptime(cur), "interval_s", dt, "device", cur->proc.device,
			 "policy", cur->proc.policy, "counters", counters, "rates", rates,
			 "hit_rate",
			 pct_or_null(ps_ratio(d[GP_COUNTER_HITS], d[GP_COUNTER_MISSES])),
			 "prefetch_hit_rate",
			 pct_or_null(ps_ratio(d[GP_COUNTER_PREFETCH_HITS],
					      d[GP_COUNTER_PREFETCH_WASTED])),
			 "models", models_json(cur));
	text = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	if (text)
		fprintf(out, "%s\n", text);
	else
		fprintf(stderr, "pagerstat: cannot format the sample as JSON (bad UTF-8 in a name?)\n");
	free(text);
	json_decref(root);
}
