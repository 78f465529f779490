/*
 * plan.c - compile a residency plan from a trace, and read and write plan
 * files (gpupager.h, "plans"; the policy that follows one is
 * policy_plan.c).
 *
 * The compiler tries a handful of candidate schedules at the budget and
 * keeps the fastest under a simple link model:
 *
 *   static   whole groups resident, the rest streamed: groups are made
 *            resident in order of accesses per step (then size, largest
 *            first) while the resident chunks plus the widest window of
 *            streamed groups (the one in use and the `d` due next) fit
 *   min      every group of the step keeps its head and drops at most x
 *            tail chunks, x the least for which the drops leave room for
 *            the dropped chunks of the window (auto's MIN schedule)
 *
 * each with prefetch distance d = 0..max_prefetch.  Every candidate is
 * replayed with the plan policy itself (gp_replay: the engine's decision
 * code), so the bytes predicted are the bytes the policy moves.  Step
 * time: the copies of a step run one after another on one link (chunk
 * size / link rate each) in the order the replay issues them, an access's
 * compute starts when its demand loads are done and the previous compute
 * has finished, and lasts the step's compute time times the group's share
 * of the bytes accessed; the step time is the time between step ends.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "decide.h"
#include "error.h"
#include "mrc.h"
#include "plan.h"
#include "trace.h"

/* ------------------------------------------------------------ the plan */

int gp_plan_alloc(uint32_t n_groups, uint32_t period, struct gp_plan **out)
{
	struct gp_plan *pl = calloc(1, sizeof(*pl));
	size_t ng = n_groups ? n_groups : 1;

	*out = NULL;
	if (!pl)
		return gp_fail(GP_ENOMEM, "plan: out of memory");
	pl->version = GP_PLAN_FORMAT_VERSION;
	pl->n_groups = n_groups;
	pl->period = period;
	pl->seq = calloc(period ? period : 1, sizeof(*pl->seq));
	pl->name = calloc(ng, sizeof(*pl->name));
	pl->first = calloc(ng, sizeof(*pl->first));
	pl->count = calloc(ng, sizeof(*pl->count));
	pl->keep = calloc(ng, sizeof(*pl->keep));
	pl->pf = calloc(ng, sizeof(*pl->pf));
	pl->group_bytes = calloc(ng, sizeof(*pl->group_bytes));
	pl->group_compute_ns = calloc(ng, sizeof(*pl->group_compute_ns));
	pl->group_load_ns = calloc(ng, sizeof(*pl->group_load_ns));
	if (!pl->seq || !pl->name || !pl->first || !pl->count || !pl->keep || !pl->pf ||
	    !pl->group_bytes || !pl->group_compute_ns || !pl->group_load_ns) {
		gp_plan_free(pl);
		return gp_fail(GP_ENOMEM, "plan: out of memory for %u groups", n_groups);
	}
	*out = pl;
	return 0;
}

GP_API void gp_plan_free(struct gp_plan *pl)
{
	if (!pl)
		return;
	if (pl->name)
		for (uint32_t g = 0; g < pl->n_groups; g++)
			free(pl->name[g]);
	free(pl->name);
	free(pl->source);
	free(pl->seq);
	free(pl->first);
	free(pl->count);
	free(pl->keep);
	free(pl->pf);
	free(pl->group_bytes);
	free(pl->group_compute_ns);
	free(pl->group_load_ns);
	free(pl);
}

int gp_plan_check_layout(const struct gp_plan *pl, uint64_t fingerprint, const char *model)
{
	if (pl->fingerprint == fingerprint)
		return 0;
	return gp_fail(GP_EINVAL, "the plan was compiled for another model (%s, layout "
		       "fingerprint %016llx); %s has layout fingerprint %016llx: compile a plan "
		       "from a trace of this model", pl->source ? pl->source : "?",
		       (unsigned long long)pl->fingerprint, model,
		       (unsigned long long)fingerprint);
}

/* ------------------------------------------------------------ options */

struct compile_opts {
	bool try_static, try_min;
	uint32_t max_prefetch;
	double link_gbps, compute_ns;
};

static const char *const option_keys = "schedules, max_prefetch, link_gbps, compute_ms";

static int parse_options(const char *text, struct compile_opts *co)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	int err = 0;

	if (!text || !*text)
		return 0;
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return gp_fail(GP_EINVAL, "plan options are not valid JSON: %s (column %d)",
			       jerr.text, jerr.column);
	if (!json_is_object(root)) {
		json_decref(root);
		return gp_fail(GP_EINVAL, "plan options are not valid JSON: expected an object "
			       "such as {\"max_prefetch\": 2}");
	}
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "schedules")) {
			size_t i;
			json_t *s;

			if (!json_is_array(v) || !json_array_size(v)) {
				err = gp_fail(GP_EINVAL, "plan options: schedules must be a non-empty "
					      "array of \"static\" and \"min\"");
				break;
			}
			co->try_static = co->try_min = false;
			json_array_foreach(v, i, s) {
				const char *name = json_string_value(s);

				if (name && !strcmp(name, "static"))
					co->try_static = true;
				else if (name && !strcmp(name, "min"))
					co->try_min = true;
				else {
					err = gp_fail(GP_EINVAL, "plan options: unknown schedule %s%s%s: "
						      "expected \"static\" or \"min\"",
						      name ? "'" : "", name ? name : "(not a string)",
						      name ? "'" : "");
					break;
				}
			}
			if (err)
				break;
		} else if (!strcmp(key, "max_prefetch")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > GP_PLAN_PREFETCH_MAX) {
				err = gp_fail(GP_EINVAL, "plan options: max_prefetch must be an integer "
					      "from 0 to %u", GP_PLAN_PREFETCH_MAX);
				break;
			}
			co->max_prefetch = (uint32_t)json_integer_value(v);
		} else if (!strcmp(key, "link_gbps") || !strcmp(key, "compute_ms")) {
			double x = json_number_value(v);

			if (!json_is_number(v) || !(x >= 0) || !isfinite(x) ||
			    (!strcmp(key, "link_gbps") && x == 0)) {
				err = gp_fail(GP_EINVAL, "plan options: %s must be a %s number", key,
					      !strcmp(key, "link_gbps") ? "positive" : "non-negative");
				break;
			}
			if (!strcmp(key, "link_gbps"))
				co->link_gbps = x;
			else
				co->compute_ns = x * 1e6;
		} else {
			err = gp_fail(GP_EINVAL, "plan options: unknown key '%s' (known: %s)", key,
				      option_keys);
			break;
		}
	}
	json_decref(root);
	return err;
}

/* ------------------------------------------------------------ schedules */

struct ctx {
	const struct gp_trace_layout *tl;
	const struct gp_trace_model *tm;
	const uint32_t *step;           /* [period] */
	uint32_t period;
	uint32_t n_groups;
	uint64_t capacity;
	struct gp_mrc_steps st;
	double link_gbps, compute_ns;
	double *access_ns;              /* [n_groups] compute of one access of each group */
	uint32_t *occ;                  /* [n_groups] accesses per step */
};

/* Chunks the window starting at i needs loaded: distinct groups, each `drop(g)` chunks. */
static uint64_t window_max(const struct ctx *c, uint32_t d, const uint32_t *dropped)
{
	uint64_t most = 0;

	for (uint32_t i = 0; i < c->period; i++) {
		uint64_t sum = 0;

		for (uint32_t k = 0; k <= d && k < c->period; k++) {
			uint32_t g = c->step[(i + k) % c->period];
			bool dup = false;

			for (uint32_t j = 0; j < k && !dup; j++)
				dup = c->step[(i + j) % c->period] == g;
			if (!dup)
				sum += dropped[g];
		}
		if (sum > most)
			most = sum;
	}
	return most;
}

/* Whole groups resident, by accesses per step then size, while the rest's window fits. */
static void schedule_static(const struct ctx *c, uint32_t d, uint32_t *keep)
{
	const uint32_t *count = c->tl->layout.group_chunk_count;
	uint32_t *dropped = calloc(c->n_groups, sizeof(*dropped));
	bool *done = calloc(c->n_groups, sizeof(*done));
	uint64_t resident = 0;

	if (!dropped || !done)
		goto out;
	for (uint32_t g = 0; g < c->n_groups; g++) {
		keep[g] = 0;
		dropped[g] = c->occ[g] ? count[g] : 0;
	}
	for (;;) {
		uint32_t best = UINT32_MAX;

		for (uint32_t g = 0; g < c->n_groups; g++) {
			if (done[g] || !c->occ[g])
				continue;
			if (best == UINT32_MAX || c->occ[g] > c->occ[best] ||
			    (c->occ[g] == c->occ[best] && count[g] > count[best]))
				best = g;
		}
		if (best == UINT32_MAX)
			break;
		done[best] = true;
		dropped[best] = 0;
		if (resident + count[best] + window_max(c, d, dropped) <= c->capacity) {
			keep[best] = count[best];
			resident += count[best];
		} else {
			dropped[best] = count[best];
		}
	}
out:
	free(dropped);
	free(done);
}

/* Each group keeps its head and drops at most x tail chunks, x the least that fits. */
static void schedule_min(const struct ctx *c, uint32_t d, uint32_t *keep)
{
	const uint32_t *count = c->tl->layout.group_chunk_count;
	uint32_t *dropped = calloc(c->n_groups, sizeof(*dropped));
	uint64_t range = 0, most = 0;
	int64_t need = 0;
	uint32_t x;

	for (uint32_t g = 0; g < c->n_groups; g++) {
		keep[g] = c->occ[g] ? count[g] : 0;
		if (c->occ[g]) {
			range += count[g];
			if (count[g] > most)
				most = count[g];
		}
	}
	if (!dropped)
		return;
	for (x = 0; x <= most; x++) {
		uint64_t total = 0;

		for (uint32_t g = 0; g < c->n_groups; g++) {
			dropped[g] = c->occ[g] ? (count[g] < x ? count[g] : x) : 0;
			total += dropped[g];
		}
		need = (int64_t)(range + window_max(c, d, dropped)) - (int64_t)c->capacity;
		if (need <= (int64_t)total)
			break;
	}
	if (x > most || need <= 0) {
		/* Nothing fits the window (streams whole groups), or everything fits. */
		if (x > most)
			for (uint32_t g = 0; g < c->n_groups; g++)
				keep[g] = 0;
		free(dropped);
		return;
	}
	{
		uint64_t excess = 0;

		for (uint32_t g = 0; g < c->n_groups; g++) {
			keep[g] = c->occ[g] ? count[g] - dropped[g] : 0;
			excess += dropped[g];
		}
		excess -= (uint64_t)need;
		/* Give chunks back round-robin, in the order of the step. */
		while (excess) {
			uint64_t before = excess;

			for (uint32_t i = 0; i < c->period && excess; i++) {
				uint32_t g = c->step[i];
				bool dup = false;

				for (uint32_t j = 0; j < i && !dup; j++)
					dup = c->step[j] == g;
				if (!dup && keep[g] < count[g]) {
					keep[g]++;
					excess--;
				}
			}
			if (excess == before)
				break;
		}
	}
	free(dropped);
}

/* Replay a candidate and time it; fills the plan's per-group figures when pl is given. */
static int evaluate(const struct ctx *c, struct gp_plan *pl, uint64_t *bytes, double *step_ns)
{
	struct gp_policy_opts po = { .kind = GP_POLICY_PLAN, .capacity_chunks = c->capacity,
				     .plan = pl };
	const struct gp_policy_layout *l = &c->tl->layout;
	struct gp_policy *policy = NULL;
	struct gp_replay r;
	uint64_t *warm_loads = calloc(c->n_groups, sizeof(*warm_loads)), loads0 = 0;
	double chunk_ns = (double)c->tm->chunk_size / c->link_gbps, link = 0, compute = 0,
	       t_warm = 0;
	size_t n = c->st.used;
	int err;

	if (!warm_loads)
		return gp_fail(GP_ENOMEM, "plan: out of memory");
	err = gp_policy_create(l, &po, &policy);
	if (err)
		goto out;
	err = gp_replay_init(&r, l, policy, c->capacity, 1);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint64_t dem0, pf0;
		uint32_t g = c->tl->seq[i];

		if (i == c->st.warm) {
			memcpy(warm_loads, gp_policy_plan_group_loads(policy),
			       c->n_groups * sizeof(*warm_loads));
			loads0 = gp_replay_loads(&r);
			t_warm = compute;
		}
		dem0 = r.counts.demand_loads;
		pf0 = r.counts.prefetch_loads;
		err = gp_replay_access(&r, g);
		if (err) {
			err = gp_fail_context(err, "plan: replaying access %zu (group %u): ", i, g);
			break;
		}
		/* Demand copies, then the compute waits for them; prefetches follow on the link. */
		link += (double)(r.counts.demand_loads - dem0) * chunk_ns;
		compute = (compute > link ? compute : link) + c->access_ns[g];
		link += (double)(r.counts.prefetch_loads - pf0) * chunk_ns;
	}
	if (!err) {
		double steps = (double)c->st.measured_steps;
		const uint64_t *gl = gp_policy_plan_group_loads(policy);

		if (c->st.warm == 0)
			t_warm = 0;
		*bytes = (uint64_t)((double)(gp_replay_loads(&r) - loads0) *
				    (double)c->tm->chunk_size / steps + 0.5);
		*step_ns = (compute - t_warm) / steps;
		for (uint32_t g = 0; g < c->n_groups; g++) {
			uint64_t b = (uint64_t)((double)(gl[g] - (c->st.warm ? warm_loads[g] : 0)) *
						(double)c->tm->chunk_size / steps + 0.5);

			pl->group_bytes[g] = b;
			pl->group_load_ns[g] = (double)b / c->link_gbps;
			pl->group_compute_ns[g] = c->access_ns[g] * c->occ[g];
		}
	}
	gp_replay_free(&r);
out:
	gp_policy_destroy(policy);
	free(warm_loads);
	return err;
}

static void set_prefetch(const struct ctx *c, struct gp_plan *pl, uint32_t d)
{
	for (uint32_t g = 0; g < c->n_groups; g++)
		pl->pf[g] = pl->keep[g] < pl->count[g] && c->occ[g] ? d : 0;
	pl->prefetch = d;
}

static int fill_layout(struct gp_plan *pl, const struct gp_trace_model *tm,
		       const struct ctx *c, uint64_t budget)
{
	pl->source = strdup(tm->source ? tm->source : "");
	if (!pl->source)
		return gp_fail(GP_ENOMEM, "plan: out of memory");
	pl->fingerprint = tm->fingerprint;
	pl->chunk_size = tm->chunk_size;
	pl->n_chunks = tm->n_chunks;
	pl->budget = budget;
	pl->capacity = c->capacity;
	pl->link_gbps = c->link_gbps;
	pl->compute_ns = c->compute_ns;
	memcpy(pl->seq, c->step, c->period * sizeof(*pl->seq));
	for (uint32_t g = 0; g < c->n_groups; g++) {
		pl->name[g] = strdup(tm->group_name[g] ? tm->group_name[g] : "");
		if (!pl->name[g])
			return gp_fail(GP_ENOMEM, "plan: out of memory");
		pl->first[g] = c->tl->layout.group_first_chunk[g];
		pl->count[g] = c->tl->layout.group_chunk_count[g];
	}
	return 0;
}

GP_API void gp_plan_options_init_size(struct gp_plan_options *opts, size_t size)
{
	const struct gp_plan_options full = { .struct_size = sizeof(full) };

	gp_abi_init(opts, size, &full, sizeof(full));
}

GP_API int gp_plan_compile(const struct gp_trace *t, const struct gp_plan_options *opts,
			   struct gp_plan **out)
{
	struct gp_plan_options o;
	struct compile_opts co = { .try_static = true, .try_min = true,
				   .max_prefetch = GP_PLAN_PREFETCH_MAX };
	struct gp_trace_layout tl = { 0 };
	struct gp_plan *pl = NULL;
	struct ctx c = { 0 };
	const struct gp_trace_model *tm;
	uint64_t budget, model_bytes, step_bytes = 0;
	uint32_t best_static = 0, largest = 0;
	int err;

	if (!t || !opts || !out)
		return gp_fail(GP_EINVAL, "gp_plan_compile: NULL argument");
	*out = NULL;
	err = gp_abi_in(&o, sizeof(o), opts, GP_ABI_V1(struct gp_plan_options, compute_ns_per_step),
			"gp_plan_compile");
	if (err)
		return err;
	err = parse_options(o.options_json, &co);
	if (err)
		return err;
	if (o.budget && o.budget_pct > 0)
		return gp_fail(GP_EINVAL, "gp_plan_compile: give budget or budget_pct, not both");
	if (!o.budget && !(o.budget_pct > 0 && o.budget_pct <= 100))
		return gp_fail(GP_EINVAL, "gp_plan_compile: a budget is required (bytes, or a "
			       "percentage of the model from 0 to 100)");
	if (o.model >= t->n_models)
		return gp_fail(GP_ENOENT, "gp_plan_compile: the trace has %u models, no model %u",
			       t->n_models, o.model);
	tm = &t->models[o.model];
	if (t->version < 2)
		return gp_fail(GP_EUNSUPPORTED, "a plan needs a v2 trace (this one is v%u: it lacks "
			       "the layout and its fingerprint); record it again with gpupager run "
			       "--trace", t->version);
	err = gp_trace_layout_get(t, o.model, &tl);
	if (err)
		return err;
	if (tl.layout.n_groups != tm->n_groups) {
		err = gp_fail(GP_EUNSUPPORTED, "plan: the trace's model %u lacks the layout of some "
			      "groups", o.model);
		goto out;
	}
	c.tl = &tl;
	c.tm = tm;
	c.n_groups = tm->n_groups;
	err = gp_mrc_steps(tl.seq, tl.n_seq, &c.st);
	if (err)
		goto out;
	if (!c.st.periodic) {
		err = gp_fail(GP_EINVAL, "plan: the accesses of model %u (%zu) do not repeat a step; "
			      "a plan needs a trace of at least two identical steps", o.model,
			      tl.n_seq);
		goto out;
	}
	c.period = (uint32_t)c.st.step_accesses;
	c.step = tl.seq;
	model_bytes = tm->range_size ? tm->range_size : (uint64_t)tm->n_chunks * tm->chunk_size;
	budget = o.budget ? o.budget : (uint64_t)((double)model_bytes * o.budget_pct / 100.0 + 0.5);
	c.capacity = budget / tm->chunk_size;
	if (c.capacity > tm->n_chunks)
		c.capacity = tm->n_chunks;
	for (uint32_t g = 0; g < c.n_groups; g++)
		if (tl.layout.group_chunk_count[g] > tl.layout.group_chunk_count[largest])
			largest = g;
	if (tl.layout.group_chunk_count[largest] > c.capacity) {
		err = gp_fail(GP_ERANGE, "a budget of %.1f MiB cannot hold the largest group, '%s' "
			      "(%u chunks, %.1f MiB): give at least %.1f MiB",
			      (double)budget / 1048576.0, tm->group_name[largest],
			      tl.layout.group_chunk_count[largest],
			      (double)tl.layout.group_chunk_count[largest] * tm->chunk_size / 1048576.0,
			      (double)tl.layout.group_chunk_count[largest] * tm->chunk_size / 1048576.0);
		goto out;
	}
	c.link_gbps = co.link_gbps ? co.link_gbps : o.link_gbps ? o.link_gbps :
		      t->link_gbps ? t->link_gbps : 25.0;
	c.compute_ns = co.compute_ns ? co.compute_ns : o.compute_ns_per_step ?
		       o.compute_ns_per_step : t->compute_ns_per_step;
	c.access_ns = calloc(c.n_groups, sizeof(*c.access_ns));
	c.occ = calloc(c.n_groups, sizeof(*c.occ));
	if (!c.access_ns || !c.occ) {
		err = gp_fail(GP_ENOMEM, "plan: out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < c.period; i++) {
		c.occ[c.step[i]]++;
		step_bytes += tm->bytes[c.step[i]];
	}
	for (uint32_t g = 0; g < c.n_groups; g++)
		c.access_ns[g] = step_bytes ? c.compute_ns * (double)tm->bytes[g] / (double)step_bytes
					    : 0;
	err = gp_plan_alloc(c.n_groups, c.period, &pl);
	if (!err)
		err = fill_layout(pl, tm, &c, budget);
	if (err)
		goto out;
	/* Every candidate, then the best one again to fill in its figures. */
	{
		uint32_t *best_keep = calloc(c.n_groups, sizeof(*best_keep));
		double best_ns = INFINITY;
		uint64_t best_bytes = UINT64_MAX;

		if (!best_keep) {
			err = gp_fail(GP_ENOMEM, "plan: out of memory");
			goto out;
		}
		for (int s = 0; s < 2 && !err; s++) {
			if ((s == 0 && !co.try_static) || (s == 1 && !co.try_min))
				continue;
			for (uint32_t d = 0; d <= co.max_prefetch && !err; d++) {
				struct gp_plan_cand *cd = &pl->cand[pl->n_cand];

				if (s == 0)
					schedule_static(&c, d, pl->keep);
				else
					schedule_min(&c, d, pl->keep);
				set_prefetch(&c, pl, d);
				err = evaluate(&c, pl, &cd->bytes_per_step, &cd->step_ns);
				if (err)
					break;
				snprintf(cd->schedule, sizeof(cd->schedule), "%s", s ? "min" : "static");
				cd->prefetch = d;
				/* Fastest; a tie (within 0.1%) goes to fewer bytes, then the earlier. */
				if (cd->step_ns < best_ns * 0.999 ||
				    (cd->step_ns <= best_ns * 1.001 && cd->bytes_per_step < best_bytes)) {
					best_ns = cd->step_ns;
					best_bytes = cd->bytes_per_step;
					pl->chosen = (int)pl->n_cand;
					memcpy(best_keep, pl->keep, c.n_groups * sizeof(*best_keep));
				}
				pl->n_cand++;
			}
		}
		if (!err) {
			struct gp_plan_cand *cd = &pl->cand[pl->chosen];

			memcpy(pl->keep, best_keep, c.n_groups * sizeof(*best_keep));
			set_prefetch(&c, pl, cd->prefetch);
			snprintf(pl->schedule, sizeof(pl->schedule), "%s", cd->schedule);
			err = evaluate(&c, pl, &pl->bytes_per_step, &pl->step_ns);
		}
		free(best_keep);
	}
	(void)best_static;
out:
	free(c.access_ns);
	free(c.occ);
	gp_trace_layout_free(&tl);
	if (err) {
		gp_plan_free(pl);
		return err;
	}
	*out = pl;
	return 0;
}

/* ------------------------------------------------------------ files */

static json_t *plan_json(const struct gp_plan *pl)
{
	json_t *root = json_object(), *groups = json_array(), *seq = json_array(),
	       *cands = json_array(), *model = json_object();
	char fp[24];

	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)pl->fingerprint);
	json_object_set_new(model, "source", json_string(pl->source ? pl->source : ""));
	json_object_set_new(model, "fingerprint", json_string(fp));
	json_object_set_new(model, "chunk_size", json_integer((json_int_t)pl->chunk_size));
	json_object_set_new(model, "n_chunks", json_integer(pl->n_chunks));
	json_object_set_new(model, "n_groups", json_integer(pl->n_groups));
	json_object_set_new(root, "format", json_string("gpupager-plan"));
	json_object_set_new(root, "version", json_integer(pl->version));
	json_object_set_new(root, "model", model);
	json_object_set_new(root, "budget", json_integer((json_int_t)pl->budget));
	json_object_set_new(root, "capacity_chunks", json_integer((json_int_t)pl->capacity));
	json_object_set_new(root, "link_gbps", json_real(pl->link_gbps));
	json_object_set_new(root, "compute_ns_per_step", json_real(pl->compute_ns));
	json_object_set_new(root, "schedule", json_string(pl->schedule));
	json_object_set_new(root, "prefetch", json_integer(pl->prefetch));
	json_object_set_new(root, "eviction", json_string("outside the plan, then beyond each "
							  "group's kept head, then kept chunks; "
							  "furthest next use first, highest chunk "
							  "first"));
	json_object_set_new(root, "bytes_per_step", json_integer((json_int_t)pl->bytes_per_step));
	json_object_set_new(root, "step_ns", json_real(pl->step_ns));
	for (uint32_t i = 0; i < pl->period; i++)
		json_array_append_new(seq, json_integer(pl->seq[i]));
	json_object_set_new(root, "sequence", seq);
	for (uint32_t g = 0; g < pl->n_groups; g++) {
		json_t *o = json_object();
		bool used = false;

		for (uint32_t i = 0; i < pl->period && !used; i++)
			used = pl->seq[i] == g;
		json_object_set_new(o, "index", json_integer(g));
		json_object_set_new(o, "name", json_string(pl->name[g] ? pl->name[g] : ""));
		json_object_set_new(o, "first_chunk", json_integer(pl->first[g]));
		json_object_set_new(o, "chunks", json_integer(pl->count[g]));
		json_object_set_new(o, "mode", json_string(!used ? "unused" :
							   pl->keep[g] >= pl->count[g] ? "resident" :
							   "streamed"));
		json_object_set_new(o, "keep_chunks", json_integer(pl->keep[g]));
		json_object_set_new(o, "prefetch", json_integer(pl->pf[g]));
		json_object_set_new(o, "bytes_per_step", json_integer((json_int_t)pl->group_bytes[g]));
		json_object_set_new(o, "compute_ns", json_real(pl->group_compute_ns[g]));
		json_object_set_new(o, "load_ns", json_real(pl->group_load_ns[g]));
		json_array_append_new(groups, o);
	}
	json_object_set_new(root, "groups", groups);
	for (uint32_t i = 0; i < pl->n_cand; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "schedule", json_string(pl->cand[i].schedule));
		json_object_set_new(o, "prefetch", json_integer(pl->cand[i].prefetch));
		json_object_set_new(o, "bytes_per_step",
				    json_integer((json_int_t)pl->cand[i].bytes_per_step));
		json_object_set_new(o, "step_ns", json_real(pl->cand[i].step_ns));
		json_object_set_new(o, "chosen", json_boolean((int)i == pl->chosen));
		json_array_append_new(cands, o);
	}
	json_object_set_new(root, "candidates", cands);
	return root;
}

GP_API int gp_plan_write(const struct gp_plan *pl, const char *path)
{
	json_t *root;
	char *text;
	FILE *f;
	int err = 0;

	if (!pl || !path)
		return gp_fail(GP_EINVAL, "gp_plan_write: NULL argument");
	root = plan_json(pl);
	text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (!text)
		return gp_fail(GP_ENOMEM, "gp_plan_write: out of memory");
	f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	if (!f) {
		err = gp_fail(GP_EIO, "%s: cannot write the plan: %s", path, strerror(errno));
	} else {
		if (fputs(text, f) == EOF || fputc('\n', f) == EOF)
			err = gp_fail(GP_EIO, "%s: cannot write the plan: %s", path, strerror(errno));
		if (f != stdout && fclose(f) && !err)
			err = gp_fail(GP_EIO, "%s: cannot write the plan: %s", path, strerror(errno));
		else if (f == stdout)
			fflush(stdout);
	}
	free(text);
	return err;
}

static int bad(const char *path, const char *what)
{
	return gp_fail(GP_EFORMAT, "%s: not a valid plan: %s", path, what);
}

static int get_u64(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int read_groups(const char *path, json_t *root, struct gp_plan *pl)
{
	json_t *groups = json_object_get(root, "groups"), *seq = json_object_get(root, "sequence");
	size_t i;
	json_t *v;

	if (!json_is_array(groups) || json_array_size(groups) != pl->n_groups)
		return bad(path, "'groups' must list every group of the model");
	json_array_foreach(seq, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) >= pl->n_groups)
			return bad(path, "'sequence' names a group the model does not have");
		pl->seq[i] = (uint32_t)json_integer_value(v);
	}
	json_array_foreach(groups, i, v) {
		uint64_t first, count, keep, pf, bytes;
		const char *name = json_string_value(json_object_get(v, "name"));

		if (!json_is_object(v) || !name || get_u64(v, "first_chunk", &first) ||
		    get_u64(v, "chunks", &count) || get_u64(v, "keep_chunks", &keep) ||
		    get_u64(v, "prefetch", &pf) || get_u64(v, "bytes_per_step", &bytes) ||
		    !count || first + count > pl->n_chunks || keep > count ||
		    pf > GP_PLAN_PREFETCH_MAX)
			return bad(path, "a group needs a name, first_chunk, chunks (inside the model), "
				   "keep_chunks (at most chunks), prefetch (0 to 4) and bytes_per_step");
		pl->name[i] = strdup(name);
		if (!pl->name[i])
			return gp_fail(GP_ENOMEM, "%s: out of memory", path);
		pl->first[i] = (uint32_t)first;
		pl->count[i] = (uint32_t)count;
		pl->keep[i] = (uint32_t)keep;
		pl->pf[i] = (uint32_t)pf;
		pl->group_bytes[i] = bytes;
		pl->group_compute_ns[i] = json_number_value(json_object_get(v, "compute_ns"));
		pl->group_load_ns[i] = json_number_value(json_object_get(v, "load_ns"));
	}
	return 0;
}

static int plan_from_json(const char *path, json_t *root, struct gp_plan **out)
{
	json_t *model = json_object_get(root, "model"), *seq = json_object_get(root, "sequence");
	const char *fmt = json_string_value(json_object_get(root, "format"));
	const char *fp = json_string_value(json_object_get(model, "fingerprint"));
	const char *sched = json_string_value(json_object_get(root, "schedule"));
	uint64_t version, n_groups, n_chunks, chunk_size, v;
	struct gp_plan *pl;
	char *end;
	int err;

	if (!json_is_object(root) || !fmt || strcmp(fmt, "gpupager-plan"))
		return bad(path, "no \"format\": \"gpupager-plan\"");
	if (get_u64(root, "version", &version) || !version)
		return bad(path, "no format version");
	if (version > GP_PLAN_FORMAT_VERSION)
		return gp_fail(GP_EUNSUPPORTED, "%s: plan format v%llu is newer than this library "
			       "reads (v%d): compile it again with this version's pagerstat plan",
			       path, (unsigned long long)version, GP_PLAN_FORMAT_VERSION);
	if (!json_is_object(model) || !fp || get_u64(model, "n_groups", &n_groups) ||
	    get_u64(model, "n_chunks", &n_chunks) || get_u64(model, "chunk_size", &chunk_size) ||
	    !n_groups || !n_chunks || n_groups > n_chunks || n_chunks > UINT32_MAX || !chunk_size)
		return bad(path, "'model' needs fingerprint, chunk_size, n_chunks and n_groups");
	if (!json_is_array(seq) || !json_array_size(seq) || json_array_size(seq) > UINT32_MAX)
		return bad(path, "'sequence' must be a non-empty array of group indices");
	err = gp_plan_alloc((uint32_t)n_groups, (uint32_t)json_array_size(seq), &pl);
	if (err)
		return err;
	pl->version = (uint32_t)version;
	pl->n_chunks = (uint32_t)n_chunks;
	pl->chunk_size = chunk_size;
	errno = 0;
	pl->fingerprint = strtoull(fp, &end, 16);
	if (errno || *end || !*fp) {
		err = bad(path, "the fingerprint is not hexadecimal");
		goto fail;
	}
	pl->source = strdup(json_string_value(json_object_get(model, "source")) ?
			    json_string_value(json_object_get(model, "source")) : "");
	if (!pl->source) {
		err = gp_fail(GP_ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	if (get_u64(root, "budget", &pl->budget) || get_u64(root, "capacity_chunks", &pl->capacity) ||
	    get_u64(root, "prefetch", &v) || v > GP_PLAN_PREFETCH_MAX ||
	    get_u64(root, "bytes_per_step", &pl->bytes_per_step) || !sched) {
		err = bad(path, "it needs budget, capacity_chunks, schedule, prefetch and "
			  "bytes_per_step");
		goto fail;
	}
	pl->prefetch = (uint32_t)v;
	snprintf(pl->schedule, sizeof(pl->schedule), "%s", sched);
	pl->step_ns = json_number_value(json_object_get(root, "step_ns"));
	pl->link_gbps = json_number_value(json_object_get(root, "link_gbps"));
	pl->compute_ns = json_number_value(json_object_get(root, "compute_ns_per_step"));
	err = read_groups(path, root, pl);
	if (err)
		goto fail;
	pl->chosen = -1;
	*out = pl;
	return 0;
fail:
	gp_plan_free(pl);
	return err;
}

GP_API int gp_plan_read(const char *path, struct gp_plan **out)
{
	json_error_t jerr;
	json_t *root;
	int err;

	if (!path || !out)
		return gp_fail(GP_EINVAL, "gp_plan_read: NULL argument");
	*out = NULL;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		FILE *f = fopen(path, "r");

		if (!f)
			return gp_fail(errno == ENOENT ? GP_ENOENT : GP_EIO, "%s: cannot read the plan: "
				       "%s", path, strerror(errno));
		fclose(f);
		return gp_fail(GP_EFORMAT, "%s:%d: the plan is not valid JSON: %s", path, jerr.line,
			       jerr.text);
	}
	err = plan_from_json(path, root, out);
	json_decref(root);
	return err;
}

/* ------------------------------------------------------------ queries */

GP_API int gp_plan_get_info(const struct gp_plan *pl, struct gp_plan_info *info)
{
	struct gp_plan_info v;

	if (!pl || !info)
		return gp_fail(GP_EINVAL, "gp_plan_get_info: NULL argument");
	v = (struct gp_plan_info){
		.struct_size = sizeof(v), .version = pl->version, .source = pl->source,
		.fingerprint = pl->fingerprint, .chunk_size = pl->chunk_size,
		.n_chunks = pl->n_chunks, .n_groups = pl->n_groups, .period = pl->period,
		.budget = pl->budget, .capacity_chunks = pl->capacity, .schedule = pl->schedule,
		.prefetch = pl->prefetch, .bytes_per_step = pl->bytes_per_step,
		.step_ns = pl->step_ns, .compute_ns_per_step = pl->compute_ns,
		.link_gbps = pl->link_gbps, .n_candidates = pl->n_cand,
	};
	for (uint32_t g = 0; g < pl->n_groups; g++) {
		bool used = false;

		for (uint32_t i = 0; i < pl->period && !used; i++)
			used = pl->seq[i] == g;
		if (used && pl->keep[g] >= pl->count[g])
			v.resident_groups++;
		else if (used)
			v.streamed_groups++;
	}
	return gp_abi_out(info, &v, sizeof(v), GP_ABI_V1(struct gp_plan_info, streamed_groups),
			  "gp_plan_get_info");
}

GP_API int gp_plan_group(const struct gp_plan *pl, uint32_t group, struct gp_plan_group *info)
{
	struct gp_plan_group v;
	bool used = false;

	if (!pl || !info)
		return gp_fail(GP_EINVAL, "gp_plan_group: NULL argument");
	if (group >= pl->n_groups)
		return gp_fail(GP_ENOENT, "gp_plan_group: no group %u (the plan has %u)", group,
			       pl->n_groups);
	for (uint32_t i = 0; i < pl->period && !used; i++)
		used = pl->seq[i] == group;
	v = (struct gp_plan_group){
		.struct_size = sizeof(v), .name = pl->name[group], .chunks = pl->count[group],
		.keep_chunks = pl->keep[group], .used = used,
		.resident = used && pl->keep[group] >= pl->count[group],
		.prefetch = pl->pf[group], .bytes_per_step = pl->group_bytes[group],
		.compute_ns = pl->group_compute_ns[group], .load_ns = pl->group_load_ns[group],
	};
	return gp_abi_out(info, &v, sizeof(v), GP_ABI_V1(struct gp_plan_group, load_ns),
			  "gp_plan_group");
}

GP_API int gp_plan_candidate(const struct gp_plan *pl, uint32_t index,
			     struct gp_plan_candidate *info)
{
	struct gp_plan_candidate v;

	if (!pl || !info)
		return gp_fail(GP_EINVAL, "gp_plan_candidate: NULL argument");
	if (index >= pl->n_cand)
		return gp_fail(GP_ENOENT, "gp_plan_candidate: no candidate %u (the plan has %u)",
			       index, pl->n_cand);
	v = (struct gp_plan_candidate){
		.struct_size = sizeof(v), .schedule = pl->cand[index].schedule,
		.prefetch = pl->cand[index].prefetch,
		.bytes_per_step = pl->cand[index].bytes_per_step,
		.step_ns = pl->cand[index].step_ns, .chosen = (int)index == pl->chosen,
	};
	return gp_abi_out(info, &v, sizeof(v), GP_ABI_V1(struct gp_plan_candidate, chosen),
			  "gp_plan_candidate");
}
