/*
 * mrc.c - miss-ratio curves of a trace (gpupager.h, "traces, miss-ratio
 * curves, advice"): H2D bytes per steady-state step against the budget.
 *
 *   lru  exact at every chunk count from one pass.  The engine's lru (the
 *        replay: a group access first touches its resident chunks, then
 *        loads the absent ones over the least recent chunks of other
 *        groups) keeps the device as a suffix of the groups in recency
 *        order, whole except the oldest.  So an access of group g (k
 *        chunks) with D chunks of other groups used since g's previous
 *        access finds min(k, max(0, C - D)) of its chunks resident at
 *        capacity C: D is a stack distance over groups weighted by their
 *        chunks (Mattson), summed in a Fenwick tree over access positions.
 *   min  Belady's MIN at every chunk count: Mattson's OPT stack over the
 *        chunk trace, priorities the next-use times of one backward pass;
 *        an access at stack depth d misses exactly at capacities below d.
 *   clock, static, auto: gp_replay_trace (the engine's decision code) at
 *        each budget, in parallel.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"
#include "belady.h"
#include "decide.h"
#include "error.h"
#include "mrc.h"
#include "trace.h"
#include "sort.h"

static const char *const curve_names[GP_MRC_CURVES] = { "lru", "clock", "static", "auto", "min" };

GP_API const char *gp_mrc_curve_name(int curve)
{
	return curve >= 0 && curve < GP_MRC_CURVES ? curve_names[curve] : NULL;
}

GP_API int gp_mrc_parse_curves(const char *list, uint32_t *mask)
{
	const char *p = list;
	uint32_t m = 0;

	if (!list || !mask)
		return gp_fail(GP_EINVAL, "gp_mrc_parse_curves: NULL argument");
	while (*p) {
		size_t len = strcspn(p, ",");
		int found = -1;

		for (int c = 0; c < GP_MRC_CURVES; c++)
			if (strlen(curve_names[c]) == len && !strncmp(p, curve_names[c], len))
				found = c;
		if (found < 0)
			return gp_fail(GP_EINVAL, "unknown policy '%.*s': expected lru, clock, static, "
				       "auto or min", (int)len, p);
		m |= 1u << found;
		p += len;
		if (*p == ',' && !*++p)
			return gp_fail(GP_EINVAL, "empty policy name at the end of '%s'", list);
	}
	if (!m)
		return gp_fail(GP_EINVAL, "no policy named in '%s'", list);
	*mask = m;
	return 0;
}

GP_API void gp_mrc_options_init_size(struct gp_mrc_options *opts, size_t size)
{
	const struct gp_mrc_options full = { .struct_size = sizeof(full) };

	gp_abi_init(opts, size, &full, sizeof(full));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- steps */

int gp_mrc_steps(const uint32_t *seq, size_t n, struct gp_mrc_steps *s)
{
	size_t p;

	*s = (struct gp_mrc_steps){ 0 };
	if (!n)
		return gp_fail(GP_ENOENT, "mrc: no accesses");
	/* The smallest period that repeats to the end, at least twice. */
	for (p = 1; p <= n / 2; p++) {
		size_t i;

		for (i = p; i < n && seq[i] == seq[i - p]; i++)
			;
		if (i == n)
			break;
	}
	if (p <= n / 2) {
		s->periodic = 1;
		s->step_accesses = p;
		s->steps = n / p;
		s->used = s->steps * p;
		s->warm = p;
		s->measured_steps = s->steps - 1;
		return 0;
	}
	/* Else a step starts at each access of the first group. */
	s->used = n;
	for (size_t i = 0; i < n; i++) {
		if (seq[i] != seq[0])
			continue;
		s->steps++;
		if (s->steps == 2)
			s->warm = i;
	}
	if (s->steps < 2) {
		s->warm = 0;
		s->measured_steps = 1;
		s->step_accesses = n;
	} else {
		s->measured_steps = s->steps - 1;
		s->step_accesses = n / s->steps;
	}
	return 0;
}

/* ------------------------------------------------------------ exact LRU */

int gp_mrc_lru_exact(const struct gp_policy_layout *l, const uint32_t *seq, size_t n, size_t warm,
		     uint64_t *misses)
{
	uint32_t nc = l->n_chunks;
	int64_t *cd = calloc((size_t)nc + 2, sizeof(*cd)), *sd = calloc((size_t)nc + 2, sizeof(*sd));
	uint64_t *tree = calloc(n + 1, sizeof(*tree));
	size_t *last = malloc((l->n_groups ? l->n_groups : 1) * sizeof(*last));
	int64_t c_acc = 0, s_acc = 0;
	int err = 0;

	if (!cd || !sd || !tree || !last) {
		err = gp_fail(GP_ENOMEM, "mrc: out of memory for %zu accesses", n);
		goto out;
	}
	for (uint32_t g = 0; g < l->n_groups; g++)
		last[g] = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		uint32_t g = seq[i];
		int64_t k = l->group_chunk_count[g];

		if (last[g] != SIZE_MAX) {
			uint64_t d = 0;
			size_t p = last[g];

			/* D = weights at positions (p, i): prefix(i) - prefix(p + 1), 1-based tree. */
			for (size_t j = i; j; j -= j & -j)
				d += tree[j];
			for (size_t j = p + 1; j; j -= j & -j)
				d -= tree[j];
			for (size_t j = p + 1; j <= n; j += j & -j)
				tree[j] -= (uint64_t)k;
			if (i >= warm) {
				int64_t dd = (int64_t)d;

				if (dd > nc)
					dd = nc;
				cd[0] += k;
				cd[dd + 1] -= k;
				if (dd + 1 <= dd + k - 1) {
					int64_t e = dd + k > nc + 1 ? nc + 1 : dd + k;

					cd[dd + 1] += dd + k;
					cd[e] -= dd + k;
					sd[dd + 1] -= 1;
					sd[e] += 1;
				}
			}
		} else if (i >= warm) {
			cd[0] += k;
		}
		for (size_t j = i + 1; j <= n; j += j & -j)
			tree[j] += (uint64_t)k;
		last[g] = i;
	}
	for (uint32_t c = 0; c <= nc; c++) {
		c_acc += cd[c];
		s_acc += sd[c];
		misses[c] = (uint64_t)(c_acc + s_acc * (int64_t)c);
	}
out:
	free(cd);
	free(sd);
	free(tree);
	free(last);
	return err;
}

/* ------------------------------------------------------------ exact MIN */

struct opt_entry {
	uint64_t next;
	uint32_t chunk;
};

int gp_mrc_min_exact(const uint32_t *trace, size_t len, uint32_t n_chunks, size_t from, size_t to,
		     uint64_t *misses)
{
	uint64_t *nu = malloc((len ? len : 1) * sizeof(*nu));
	uint64_t *key = malloc((size_t)n_chunks * sizeof(*key));
	uint64_t *hist = calloc((size_t)n_chunks + 2, sizeof(*hist));
	struct opt_entry *st = malloc((size_t)n_chunks * sizeof(*st));
	uint64_t cold = 0, acc = 0;
	size_t depth = 0;
	int err = 0;

	if (!nu || !key || !hist || !st) {
		err = gp_fail(GP_ENOMEM, "mrc: out of memory for a trace of %zu chunks", len);
		goto out;
	}
	for (uint32_t c = 0; c < n_chunks; c++)
		key[c] = UINT64_MAX;
	for (size_t i = len; i-- > 0;) {
		if (trace[i] >= n_chunks) {
			err = gp_fail(GP_EINVAL, "mrc: trace position %zu names chunk %u of %u", i,
				      trace[i], n_chunks);
			goto out;
		}
		nu[i] = key[trace[i]];
		key[trace[i]] = i;
	}
	for (size_t i = 0; i < len; i++) {
		uint32_t x = trace[i];
		struct opt_entry carry;
		size_t d = 0, j;

		if (depth && st[0].chunk == x) {
			st[0].next = nu[i];
			d = 1;
			goto count;
		}
		carry = depth ? st[0] : (struct opt_entry){ 0 };
		st[0] = (struct opt_entry){ .next = nu[i], .chunk = x };
		if (!depth) {
			depth = 1;
			goto count;
		}
		for (j = 1; j < depth; j++) {
			struct opt_entry e = st[j];

			if (e.chunk == x) {
				st[j] = carry;
				d = j + 1;
				break;
			}
			/* The sooner next use stays at this depth, the later one goes down. */
			if (carry.next < e.next) {
				st[j] = carry;
				carry = e;
			}
		}
		if (!d)
			st[depth++] = carry;
count:
		if (i >= from && i < to) {
			if (d)
				hist[d]++;
			else
				cold++;
		}
	}
	/* misses(C) = cold + accesses at depth > C. */
	for (size_t c = n_chunks + 1; c-- > 0;) {
		misses[c] = cold + acc;
		acc += hist[c];
	}
out:
	free(nu);
	free(key);
	free(hist);
	free(st);
	return err;
}

/* -------------------------------------------------------------- replays */

struct job {
	int curve;
	uint32_t point;
	uint64_t capacity;
	uint64_t loads;
	int err;
	char msg[256];
};

struct pool {
	const struct gp_policy_layout *layout;
	const uint32_t *seq;
	size_t n, warm;
	struct job *jobs;
	size_t n_jobs;
	size_t next;                    /* atomic */
};

static const int replay_kind[GP_MRC_CURVES] = {
	[GP_MRC_LRU] = GP_POLICY_LRU, [GP_MRC_CLOCK] = GP_POLICY_CLOCK,
	[GP_MRC_STATIC] = GP_POLICY_STATIC, [GP_MRC_AUTO] = GP_POLICY_AUTO,
};

static void *replay_worker(void *arg)
{
	struct pool *pl = arg;

	for (;;) {
		size_t i = __atomic_fetch_add(&pl->next, 1, __ATOMIC_RELAXED);
		struct gp_replay_opts o = { 0 };
		struct gp_replay_result res;
		struct job *j;

		if (i >= pl->n_jobs)
			break;
		j = &pl->jobs[i];
		o.policy.kind = replay_kind[j->curve];
		o.policy.capacity_chunks = j->capacity;
		o.busy_groups = 1;      /* gpupager run: the group just released still computes */
		o.warm_accesses = pl->warm;
		o.chunk_size = 1;
		j->err = gp_replay_trace(pl->layout, &o, pl->seq, pl->n, &res);
		if (j->err)
			snprintf(j->msg, sizeof(j->msg), "%s", gp_last_error());
		j->loads = res.counts.demand_loads + res.counts.prefetch_loads;
	}
	return NULL;
}

static int run_jobs(struct pool *pl, uint32_t threads)
{
	pthread_t tid[GP_MRC_MAX_THREADS];
	uint32_t started = 0;

	if (threads > GP_MRC_MAX_THREADS)
		threads = GP_MRC_MAX_THREADS;
	if (threads > pl->n_jobs)
		threads = (uint32_t)pl->n_jobs;
	for (uint32_t t = 1; t < threads; t++)
		if (!pthread_create(&tid[started], NULL, replay_worker, pl))
			started++;
	replay_worker(pl);
	for (uint32_t t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	for (size_t i = 0; i < pl->n_jobs; i++)
		if (pl->jobs[i].err)
			return gp_fail(pl->jobs[i].err, "mrc: %s at %llu chunks: %s",
				       curve_names[pl->jobs[i].curve],
				       (unsigned long long)pl->jobs[i].capacity, pl->jobs[i].msg);
	return 0;
}

/* ------------------------------------------------------------- compute */

static int make_budgets(struct gp_mrc *r, const struct gp_mrc_options *o)
{
	uint64_t model = r->model_bytes, lo, hi;
	uint32_t n;

	if (o->budgets) {
		if (!o->n_budgets || o->n_budgets > GP_MRC_MAX_POINTS)
			return gp_fail(GP_EINVAL, "mrc: %u budgets: give 1 to %u", o->n_budgets,
				       GP_MRC_MAX_POINTS);
		r->budget = malloc(o->n_budgets * sizeof(*r->budget));
		if (!r->budget)
			return gp_fail(GP_ENOMEM, "mrc: out of memory");
		memcpy(r->budget, o->budgets, o->n_budgets * sizeof(*r->budget));
		qsort(r->budget, o->n_budgets, sizeof(*r->budget), gp_cmp_u64);
		n = 0;
		for (uint32_t i = 0; i < o->n_budgets; i++) {
			if (!r->budget[i])
				return gp_fail(GP_EINVAL, "mrc: a budget of 0 bytes");
			if (!n || r->budget[n - 1] != r->budget[i])
				r->budget[n++] = r->budget[i];
		}
		r->n_points = n;
		return 0;
	}
	n = o->points ? o->points : 64;
	if (n > GP_MRC_MAX_POINTS)
		return gp_fail(GP_EINVAL, "mrc: %u points: at most %u", n, GP_MRC_MAX_POINTS);
	lo = o->from ? o->from : r->min_budget;
	hi = o->to ? o->to : model;
	if (lo > hi)
		return gp_fail(GP_EINVAL, "mrc: the range from %llu to %llu bytes is empty",
			       (unsigned long long)lo, (unsigned long long)hi);
	r->budget = malloc(n * sizeof(*r->budget));
	if (!r->budget)
		return gp_fail(GP_ENOMEM, "mrc: out of memory");
	r->n_points = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t b = n == 1 ? lo : lo + (uint64_t)((double)(hi - lo) * i / (n - 1) + 0.5);

		if (!r->n_points || r->budget[r->n_points - 1] != b)
			r->budget[r->n_points++] = b;
	}
	return 0;
}

static uint64_t capacity_of(const struct gp_mrc *r, uint64_t budget)
{
	uint64_t c = budget / r->chunk_size;

	return c > r->n_chunks ? r->n_chunks : c;
}

static int exact_curves(struct gp_mrc *r, const struct gp_trace_layout *tl)
{
	const struct gp_policy_layout *l = &tl->layout;
	uint32_t *trace = NULL, *ext = NULL;
	size_t len, from = 0, to = 0, n_ext = r->steps_info.used;
	int err;

	r->lru_all = calloc((size_t)r->n_chunks + 1, sizeof(*r->lru_all));
	r->min_all = calloc((size_t)r->n_chunks + 1, sizeof(*r->min_all));
	if (!r->lru_all || !r->min_all)
		return gp_fail(GP_ENOMEM, "mrc: out of memory");
	err = gp_mrc_lru_exact(l, tl->seq, r->steps_info.used, r->steps_info.warm, r->lru_all);
	if (err)
		return err;
	/* MIN sees one step more, so that the end of the trace does not flatter it. */
	if (r->steps_info.periodic)
		n_ext += r->steps_info.step_accesses;
	ext = malloc(n_ext * sizeof(*ext));
	if (!ext)
		return gp_fail(GP_ENOMEM, "mrc: out of memory");
	for (size_t i = 0; i < n_ext; i++)
		ext[i] = tl->seq[i < r->steps_info.used ? i : i - r->steps_info.step_accesses];
	for (size_t i = 0; i < r->steps_info.used; i++) {
		if (i < r->steps_info.warm)
			from += l->group_chunk_count[ext[i]];
		to += l->group_chunk_count[ext[i]];
	}
	r->measured_chunk_accesses = to - from;
	err = gp_belady_chunk_trace(l, ext, n_ext, &trace, &len);
	if (!err)
		err = gp_mrc_min_exact(trace, len, l->n_chunks, from, to, r->min_all);
	r->chunk_accesses = len;
	free(trace);
	free(ext);
	return err;
}

static void checks(struct gp_mrc *r)
{
	r->min_convex = 1;
	for (uint64_t c = r->largest + 1; c < r->n_chunks; c++) {
		int64_t a = (int64_t)r->min_all[c - 1], b = (int64_t)r->min_all[c],
			d = (int64_t)r->min_all[c + 1];

		if (a - b < b - d)
			r->min_convex = 0;
	}
	r->min_below_all = 1;
	for (int k = 0; k < GP_MRC_CURVES; k++) {
		if (!(r->curves & (1u << k)) || k == GP_MRC_MIN)
			continue;
		for (uint32_t i = 0; i < r->n_points; i++)
			if (r->valid[i] && r->loads[GP_MRC_MIN][i] > r->loads[k][i])
				r->min_below_all = 0;
	}
}

GP_API int gp_mrc_compute(const struct gp_trace *t, const struct gp_mrc_options *opts,
			  struct gp_mrc **out)
{
	struct gp_mrc_options o;
	struct gp_trace_layout tl = { 0 };
	struct pool pl = { 0 };
	struct gp_mrc *r;
	double t0 = now_s();
	uint32_t threads, checks_n;
	int err;

	if (!t || !opts || !out)
		return gp_fail(GP_EINVAL, "gp_mrc_compute: NULL argument");
	*out = NULL;
	err = gp_abi_in(&o, sizeof(o), opts, GP_ABI_V1(struct gp_mrc_options, lru_checks),
			"gp_mrc_compute");
	if (err)
		return err;
	if (o.curves >> GP_MRC_CURVES)
		return gp_fail(GP_EINVAL, "gp_mrc_compute: unknown curves in mask 0x%x", o.curves);
	if (o.link_gbps < 0 || o.compute_ns_per_step < 0)
		return gp_fail(GP_EINVAL, "gp_mrc_compute: negative link rate or compute time");
	r = calloc(1, sizeof(*r));
	if (!r)
		return gp_fail(GP_ENOMEM, "mrc: out of memory");
	r->curves = o.curves ? o.curves : (1u << GP_MRC_CURVES) - 1;
	err = gp_trace_layout_get(t, o.model, &tl);
	if (err)
		goto fail;
	r->chunk_size = t->models[o.model].chunk_size;
	r->n_chunks = tl.layout.n_chunks;
	r->n_groups = tl.layout.n_groups;
	r->largest = tl.largest;
	r->model_bytes = (uint64_t)r->n_chunks * r->chunk_size;
	r->min_budget = (uint64_t)r->largest * r->chunk_size;
	r->link_gbps = o.link_gbps ? o.link_gbps : t->link_gbps ? t->link_gbps : 25.0;
	r->compute_ns = o.compute_ns_per_step ? o.compute_ns_per_step : t->compute_ns_per_step;
	r->accesses = tl.n_seq;
	err = gp_mrc_steps(tl.seq, tl.n_seq, &r->steps_info);
	if (!err)
		err = make_budgets(r, &o);
	if (err)
		goto fail;
	r->valid = calloc(r->n_points, sizeof(*r->valid));
	for (int k = 0; k < GP_MRC_CURVES; k++)
		r->loads[k] = calloc(r->n_points, sizeof(*r->loads[k]));
	checks_n = o.lru_checks ? o.lru_checks : 4;
	if (checks_n > r->n_points)
		checks_n = r->n_points;
	pl.jobs = calloc((size_t)r->n_points * (GP_MRC_CURVES + 1), sizeof(*pl.jobs));
	if (!r->valid || !pl.jobs) {
		err = gp_fail(GP_ENOMEM, "mrc: out of memory");
		goto fail;
	}
	for (int k = 0; k < GP_MRC_CURVES; k++)
		if (!r->loads[k]) {
			err = gp_fail(GP_ENOMEM, "mrc: out of memory");
			goto fail;
		}
	err = exact_curves(r, &tl);
	if (err)
		goto fail;
	/* Replays: every point of clock, static, auto; lru at checks_n spread points. */
	for (uint32_t i = 0; i < r->n_points; i++) {
		uint64_t cap = capacity_of(r, r->budget[i]);

		r->valid[i] = cap >= r->largest;
		if (!r->valid[i])
			continue;
		r->loads[GP_MRC_LRU][i] = r->lru_all[cap];
		r->loads[GP_MRC_MIN][i] = r->min_all[cap];
		for (int k = GP_MRC_CLOCK; k <= GP_MRC_AUTO; k++)
			if (r->curves & (1u << k))
				pl.jobs[pl.n_jobs++] = (struct job){ .curve = k, .point = i,
								     .capacity = cap };
	}
	{
		uint32_t n_valid = 0, seen = 0, done = 0;

		for (uint32_t i = 0; i < r->n_points; i++)
			n_valid += r->valid[i];
		for (uint32_t i = 0; i < r->n_points && done < checks_n; i++) {
			if (!r->valid[i])
				continue;
			/* Points seen*checks_n/n_valid spread over the valid ones, both ends included. */
			if (checks_n == 1 || (uint64_t)seen * (checks_n - 1) >=
			    (uint64_t)done * (n_valid - 1)) {
				pl.jobs[pl.n_jobs++] = (struct job){ .curve = GP_MRC_LRU, .point = i,
								     .capacity = capacity_of(r, r->budget[i]) };
				done++;
			}
			seen++;
		}
	}
	pl.layout = &tl.layout;
	pl.seq = tl.seq;
	pl.n = r->steps_info.used;
	pl.warm = r->steps_info.warm;
	threads = o.threads;
	if (!threads) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		threads = cpus < 1 ? 1 : cpus > 8 ? 8 : (uint32_t)cpus;
	}
	err = run_jobs(&pl, threads);
	if (err)
		goto fail;
	r->lru_matches = 1;
	for (size_t i = 0; i < pl.n_jobs; i++) {
		struct job *j = &pl.jobs[i];

		if (j->curve == GP_MRC_LRU) {
			r->lru_checked++;
			if (j->loads != r->loads[GP_MRC_LRU][j->point])
				r->lru_matches = 0;
		} else {
			r->loads[j->curve][j->point] = j->loads;
		}
	}
	if (!r->lru_checked)
		r->lru_matches = -1;
	checks(r);
	r->seconds = now_s() - t0;
	free(pl.jobs);
	gp_trace_layout_free(&tl);
	*out = r;
	return 0;
fail:
	free(pl.jobs);
	gp_trace_layout_free(&tl);
	gp_mrc_free(r);
	return err;
}

GP_API void gp_mrc_free(struct gp_mrc *r)
{
	if (!r)
		return;
	free(r->budget);
	free(r->valid);
	for (int k = 0; k < GP_MRC_CURVES; k++)
		free(r->loads[k]);
	free(r->lru_all);
	free(r->min_all);
	free(r);
}

GP_API int gp_mrc_get_info(const struct gp_mrc *r, struct gp_mrc_info *info)
{
	struct gp_mrc_info v;

	if (!r || !info)
		return gp_fail(GP_EINVAL, "gp_mrc_get_info: NULL argument");
	v = (struct gp_mrc_info){
		.struct_size = sizeof(v), .n_points = r->n_points, .curves = r->curves,
		.chunk_size = r->chunk_size, .model_bytes = r->model_bytes,
		.min_budget = r->min_budget, .n_groups = r->n_groups, .n_chunks = r->n_chunks,
		.accesses = r->accesses, .step_accesses = r->steps_info.step_accesses,
		.steps = r->steps_info.steps, .measured_steps = r->steps_info.measured_steps,
		.periodic = r->steps_info.periodic, .link_gbps = r->link_gbps,
		.compute_ns_per_step = r->compute_ns, .min_convex = r->min_convex,
		.min_below_all = r->min_below_all, .lru_matches_replay = r->lru_matches,
		.lru_checked = r->lru_checked, .seconds = r->seconds,
	};
	return gp_abi_out(info, &v, sizeof(v), sizeof(v), "gp_mrc_get_info");
}

static double step_ns_of(const struct gp_mrc *r, uint64_t bytes_per_step)
{
	double xfer = (double)bytes_per_step / r->link_gbps;

	return xfer > r->compute_ns ? xfer : r->compute_ns;
}

uint64_t gp_mrc_bytes_per_step(const struct gp_mrc *r, uint64_t loads)
{
	return (uint64_t)((double)loads * (double)r->chunk_size / (double)r->steps_info.measured_steps
			  + 0.5);
}

GP_API int gp_mrc_point(const struct gp_mrc *r, int curve, uint32_t index,
			struct gp_mrc_point *point)
{
	struct gp_mrc_point v;

	if (!r || !point)
		return gp_fail(GP_EINVAL, "gp_mrc_point: NULL argument");
	if (curve < 0 || curve >= GP_MRC_CURVES || !(r->curves & (1u << curve)))
		return gp_fail(GP_ENOENT, "gp_mrc_point: curve %d was not computed", curve);
	if (index >= r->n_points)
		return gp_fail(GP_ENOENT, "gp_mrc_point: no point %u (there are %u)", index,
			       r->n_points);
	v = (struct gp_mrc_point){
		.struct_size = sizeof(v), .budget = r->budget[index],
		.capacity_chunks = capacity_of(r, r->budget[index]), .valid = r->valid[index],
	};
	if (v.valid) {
		uint64_t loads = r->loads[curve][index];

		v.bytes_per_step = gp_mrc_bytes_per_step(r, loads);
		v.miss_ratio = r->measured_chunk_accesses ?
			(double)loads / (double)r->measured_chunk_accesses : 0;
		v.step_ns = step_ns_of(r, v.bytes_per_step);
	}
	return gp_abi_out(point, &v, sizeof(v), sizeof(v), "gp_mrc_point");
}

static int qualifies(const struct gp_mrc *r, uint64_t bytes, double ratio)
{
	if (r->compute_ns > 0)
		return step_ns_of(r, bytes) <= ratio * r->compute_ns;
	return bytes == 0;
}

GP_API int gp_mrc_advise(const struct gp_mrc *r, int curve, double ratio,
			 struct gp_mrc_advice *advice)
{
	struct gp_mrc_advice v;
	uint32_t at = UINT32_MAX;

	if (!r || !advice)
		return gp_fail(GP_EINVAL, "gp_mrc_advise: NULL argument");
	if (curve < 0 || curve >= GP_MRC_CURVES || !(r->curves & (1u << curve)))
		return gp_fail(GP_EINVAL, "gp_mrc_advise: curve %d was not computed", curve);
	if (!(ratio >= 1.0) || ratio > 1000)
		return gp_fail(GP_EINVAL, "gp_mrc_advise: target ratio %g: give 1 or more", ratio);
	v = (struct gp_mrc_advice){ .struct_size = sizeof(v), .curve = curve, .target_ratio = ratio,
				    .compute_ns = r->compute_ns };
	for (uint32_t i = 0; i < r->n_points && at == UINT32_MAX; i++)
		if (r->valid[i] &&
		    qualifies(r, gp_mrc_bytes_per_step(r, r->loads[curve][i]), ratio))
			at = i;
	/* MIN at chunk granularity: the least any policy can need. */
	for (uint64_t c = r->largest; c <= r->n_chunks; c++) {
		if (qualifies(r, gp_mrc_bytes_per_step(r, r->min_all[c]), ratio)) {
			v.min_budget = c * r->chunk_size;
			break;
		}
	}
	if (at != UINT32_MAX) {
		v.budget = r->budget[at];
		v.bytes_per_step = gp_mrc_bytes_per_step(r, r->loads[curve][at]);
		v.step_ns = step_ns_of(r, v.bytes_per_step);
		if (r->curves & (1u << GP_MRC_STATIC))
			for (uint32_t i = 0; i < r->n_points; i++)
				if (r->valid[i] && gp_mrc_bytes_per_step(r, r->loads[GP_MRC_STATIC][i]) <=
				    v.bytes_per_step) {
					v.static_budget = r->budget[i];
					break;
				}
	}
	if (gp_abi_out(advice, &v, sizeof(v), sizeof(v), "gp_mrc_advise"))
		return GP_EINVAL;
	if (at == UINT32_MAX)
		return gp_fail(GP_ENOENT, "no budget among the %u points (up to %llu bytes) brings %s "
			       "%s", r->n_points,
			       (unsigned long long)(r->n_points ? r->budget[r->n_points - 1] : 0),
			       curve_names[curve], r->compute_ns > 0 ?
			       "within the target of the compute time" : "to moving nothing");
	return 0;
}
