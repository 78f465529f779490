/*
 * policy_auto.c - learn the iteration, then evict by Belady's MIN over it.
 *
 * Every access is appended to a history.  While no iteration is known the
 * policy is LRU and looks for a period: a candidate P is an earlier
 * occurrence of the group just accessed, kept while each access equals the
 * one P accesses before it.  Among the earlier occurrences, the candidate
 * chosen is the one whose match reaches furthest back (ties: the shortest
 * period), so a sub-sequence repeated inside an iteration loses to the whole
 * iteration once the history holds it twice.  After enough matches the last
 * P accesses become the learned sequence: a list of accesses, so a group may
 * occur several times per iteration (a UNet's down and up path).
 *
 * Locked on a sequence, the victim is a chunk of the group whose next use
 * lies furthest ahead in it (groups that never occur first), highest chunk
 * index first so a partly evicted group keeps its head.  The chunks a plan
 * computed at lock time keeps across the iteration (each group's head, see
 * plan()) go only after every other chunk, which makes the steady state
 * spread its evictions over all groups instead of streaming whole ones.
 * Prefetch names the next groups, as far as the plan leaves room for them;
 * next_use is the distance in accesses.  An access other than the predicted
 * one unlocks: LRU again, and learning resumes on the history, which is kept.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "policy_schedule.h"

/* History kept for learning; when full the older half is dropped. */
#define AUTO_HISTORY_MAX 65536u
/* Matches that lock a candidate period P (P + 1 when P is shorter). */
#define AUTO_LOCK_MATCHES 8u
/* Earlier occurrences tried, and accesses compared, when choosing a candidate. */
#define AUTO_CANDIDATES_MAX 256u
#define AUTO_LOOKBACK_MAX 4096u
/* Most groups prefetched ahead, as far as the room plan() chose holds them. */
#define AUTO_PREFETCH_MAX 8u
/* Chunks an iteration a plan may load beyond the fewest possible, in percent (plan_budget()). */
#define AUTO_BYTES_PCT 10
/* Modelled step times this close are the same one, summed in another order. */
#define AUTO_SAME_TIME 1e-12

struct auto_state {
	uint32_t prefetch;              /* groups to prefetch ahead */
	bool prefetch_asked;            /* prefetch given by the caller: plan room at any cost */
	/* learning */
	uint32_t *hist;                 /* [AUTO_HISTORY_MAX] groups, oldest first */
	uint32_t *hist_prev;            /* [AUTO_HISTORY_MAX] previous index of the same group */
	uint32_t *last_at;              /* [n_groups] latest index of each group */
	uint32_t n_hist;
	uint32_t cand;                  /* candidate period, 0: none */
	uint32_t matched;               /* latest accesses equal to the one cand before */
	/* locked */
	bool locked;
	uint32_t *seq;                  /* [period] the learned iteration */
	uint32_t period;
	uint32_t pos;                   /* index in seq of the latest access */
	/* the residency plan of the learned sequence (keep: see plan()) */
	struct gp_schedule sched;
	uint32_t plan_prefetch;         /* groups ahead the plan leaves room for */
	bool by_size;                   /* the plan's drops grow with group size, not capped alike */
	uint32_t largest;               /* chunks of the sequence's largest group */
	uint64_t plan_gen;              /* the policy's timing_gen the plan was made with */
	double *model_end, *model_host; /* [3 * period] step_time's compute ends and acquires */
};

static void rebuild_links(struct gp_policy *p, struct auto_state *s)
{
	for (uint32_t g = 0; g < p->n_groups; g++)
		s->last_at[g] = GP_POLICY_NONE;
	for (uint32_t i = 0; i < s->n_hist; i++) {
		s->hist_prev[i] = s->last_at[s->hist[i]];
		s->last_at[s->hist[i]] = i;
	}
}

static void history_append(struct gp_policy *p, struct auto_state *s, uint32_t group)
{
	uint32_t i;

	if (s->n_hist == AUTO_HISTORY_MAX) {
		uint32_t keep = AUTO_HISTORY_MAX / 2;

		memmove(s->hist, s->hist + s->n_hist - keep, keep * sizeof(*s->hist));
		s->n_hist = keep;
		rebuild_links(p, s);
		if (s->cand >= keep)
			s->cand = s->matched = 0;
	}
	i = s->n_hist++;
	s->hist[i] = group;
	s->hist_prev[i] = s->last_at[group];
	s->last_at[group] = i;
}

/* How many accesses up to index i equal the one period before, walking back. */
static uint32_t backward_match(const struct auto_state *s, uint32_t i, uint32_t period)
{
	uint32_t m = 0;

	while (m < AUTO_LOOKBACK_MAX && i - m >= period && s->hist[i - m] == s->hist[i - m - period])
		m++;
	return m;
}

/* The latest access (index i) is the first of a new candidate period, if any. */
static void find_candidate(struct auto_state *s, uint32_t i)
{
	uint32_t tried = 0;

	s->cand = s->matched = 0;
	for (uint32_t j = s->hist_prev[i]; j != GP_POLICY_NONE && tried < AUTO_CANDIDATES_MAX;
	     j = s->hist_prev[j], tried++) {
		uint32_t m = backward_match(s, i, i - j);

		if (m > s->matched) {
			s->cand = i - j;
			s->matched = m;
		}
	}
}

/* Tail chunks group drops under cap x: at most x, or x in the largest group's size (by_size). */
static uint64_t dropped(const struct gp_policy *p, const struct auto_state *s, uint32_t group,
			uint64_t x)
{
	uint64_t n = p->group_count[group];

	if (s->by_size && x < s->largest)
		x = (n * x + s->largest - 1) / s->largest;
	return n < x ? n : x;
}

/* The most dropped chunks needed at once: the group in use and the next `ahead` groups. */
static uint64_t window_need(const struct gp_policy *p, const struct auto_state *s,
			    uint64_t drop, uint32_t ahead)
{
	uint64_t most = 0;

	for (uint32_t i = 0; i < s->period; i++) {
		uint64_t sum = 0;

		for (uint32_t k = 0; k <= ahead; k++) {
			uint32_t g = s->seq[(i + k) % s->period];
			bool dup = false;

			for (uint32_t j = 0; j < k && !dup; j++)
				dup = s->seq[(i + j) % s->period] == g;
			if (!dup)
				sum += dropped(p, s, g, drop);
		}
		if (sum > most)
			most = sum;
	}
	return most;
}

/*
 * Chunks the plan with per-group cap x must drop in all: the range beyond
 * the capacity plus the room for the widest window; UINT64_MAX when groups
 * capped at x cannot drop that many.  M - D + (window) <= capacity is what
 * makes the group in use and the groups ahead fit beside the kept chunks.
 */
static uint64_t plan_total(const struct gp_policy *p, const struct auto_state *s, uint64_t x,
			   uint32_t ahead)
{
	uint64_t range = 0, most = 0, need;

	for (uint32_t i = 0; i < s->sched.n_order; i++) {
		range += p->group_count[s->sched.order[i]];
		most += dropped(p, s, s->sched.order[i], x);
	}
	need = window_need(p, s, x, ahead);
	if (range + need <= p->capacity)
		return 0;
	need += range - p->capacity;
	return need <= most ? need : UINT64_MAX;
}

/* The smallest cap x that works (it only gets easier as x grows), or UINT64_MAX. */
static uint64_t plan_cap(const struct gp_policy *p, const struct auto_state *s, uint32_t ahead)
{
	uint64_t lo = 0, hi = s->largest;

	if (plan_total(p, s, hi, ahead) == UINT64_MAX)
		return UINT64_MAX;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (plan_total(p, s, mid, ahead) != UINT64_MAX)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * Keep every group's head and drop at most x tail chunks, the drops
 * adding up to total: groups outside the sequence keep nothing, the
 * others drop min(size, x) and then take chunks back round-robin.
 */
static void fill_keep(struct gp_policy *p, struct auto_state *s, uint64_t x, uint64_t total)
{
	uint64_t excess = 0;

	for (uint32_t g = 0; g < p->n_groups; g++)
		s->sched.keep[g] = 0;
	for (uint32_t i = 0; i < s->sched.n_order; i++) {
		uint32_t g = s->sched.order[i];

		s->sched.keep[g] = p->group_count[g] - (uint32_t)dropped(p, s, g, x);
		excess += p->group_count[g] - s->sched.keep[g];
	}
	excess = x == UINT64_MAX ? 0 : excess - total;
	while (excess) {
		for (uint32_t i = 0; i < s->sched.n_order && excess; i++) {
			uint32_t g = s->sched.order[i];

			if (s->sched.keep[g] < p->group_count[g]) {
				s->sched.keep[g]++;
				excess--;
			}
		}
	}
}


/*
 * The cost model: the steady step time (ns) of the schedule keep[] makes
 * with room to prefetch `ahead` groups.  The schedule of one iteration:
 * access i loads the chunks of seq[i] beyond its keep, issued when access
 * i - AUTO_PREFETCH_MAX is acquired (the prefetch runs as far ahead as the
 * room lets it; on demand, after access i - 1, for ahead 0), and drops
 * them after its compute, which frees them for the next loads.  One
 * copy engine (a chunk takes chunk_ns) and one compute engine; a load
 * waits for the engine, for room (the drops of accesses whose compute has
 * ended) and for its issue; the host acquires access i once its loads are
 * issued; a compute waits for the one before and for its loads.  A group
 * not timed yet computes in no time, so until the times are learned the
 * plan is the one that moves the fewest bytes.  Three
 * iterations from the kept chunks alone; the third one's length is the
 * step time, INFINITY when the room cannot hold a load.
 */
static double step_time(const struct gp_policy *p, const struct auto_state *s, uint32_t ahead)
{
	uint32_t n = 3 * s->period, rel = 0;
	double copy_free = 0, room_t = 0, *end = s->model_end, *host = s->model_host;
	int64_t room = (int64_t)p->capacity;

	for (uint32_t i = 0; i < s->sched.n_order; i++)
		room -= s->sched.keep[s->sched.order[i]];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t g = s->seq[i % s->period];
		uint32_t load = p->group_count[g] - s->sched.keep[g];
		uint32_t far = i >= AUTO_PREFETCH_MAX ? i - AUTO_PREFETCH_MAX : UINT32_MAX;
		uint32_t from = ahead ? far : i - 1;
		double issue = from == UINT32_MAX || i == 0 ? 0 : host[from];
		double start = issue, ready = 0;

		/* Chunks copy as soon as room for them is freed, not once all the load's is. */
		for (uint32_t left = load, take; left; left -= take) {
			while (room <= 0 && rel < i) {
				uint32_t r = s->seq[rel % s->period];

				room += p->group_count[r] - s->sched.keep[r];
				room_t = end[rel++];
			}
			if (room <= 0)
				return INFINITY;
			take = room < left ? (uint32_t)room : left;
			room -= take;
			copy_free = fmax(fmax(issue, copy_free), room_t) + take * p->chunk_ns;
		}
		/* The acquire returns once its last copy has started. */
		if (load) {
			ready = copy_free;
			start = ready - p->chunk_ns;
		}
		host[i] = i ? fmax(host[i - 1], start) : start;
		end[i] = fmax(fmax(i ? end[i - 1] : 0, ready), host[i]) + (double)p->compute_ns[g];
	}
	return end[n - 1] - end[2 * s->period - 1];
}

/*
 * Chunks an iteration may load: AUTO_BYTES_PCT% over the fewest any policy
 * can, the range of the sequence beyond the capacity (each of its chunks
 * is used once an iteration, at most capacity of them stay).
 */
static uint64_t plan_budget(const struct gp_policy *p, const struct auto_state *s)
{
	uint64_t range = 0;

	for (uint32_t i = 0; i < s->sched.n_order; i++)
		range += p->group_count[s->sched.order[i]];
	if (range <= p->capacity)
		return 0;
	return (range - p->capacity) * (100 + AUTO_BYTES_PCT) / 100;
}

/* A plan plan() weighs: its room, the shape and cap of its drops, their total, its step time. */
struct plan_choice {
	uint32_t ahead;
	bool by_size;
	uint64_t x, total;
	double t;
};

/*
 * The plan with room for `ahead` groups and drops shaped by s->by_size,
 * weighed; false when no cap fits or it loads more than budget.
 */
static bool weigh(struct gp_policy *p, struct auto_state *s, uint32_t ahead, uint64_t budget,
		  struct plan_choice *c)
{
	c->x = plan_cap(p, s, ahead);
	if (c->x == UINT64_MAX)
		return false;
	c->total = plan_total(p, s, c->x, ahead);
	if (c->total > budget && !s->prefetch_asked)
		return false;
	fill_keep(p, s, c->x, c->total);
	c->ahead = ahead;
	c->by_size = s->by_size;
	c->t = step_time(p, s, ahead);
	return true;
}

/* More room when the caller asked for it; else faster; else fewer bytes; else more room. */
static bool better(const struct auto_state *s, const struct plan_choice *c,
		   const struct plan_choice *best)
{
	if (s->prefetch_asked && c->ahead != best->ahead)
		return c->ahead > best->ahead;
	if (c->t < best->t * (1 - AUTO_SAME_TIME))
		return true;
	if (best->t < c->t * (1 - AUTO_SAME_TIME))
		return false;
	if (c->total != best->total)
		return c->total < best->total;
	return c->ahead > best->ahead;
}

/*
 * Which chunks stay resident across the iteration, and how much room is
 * left to prefetch.  Evicting strictly by furthest next use while the
 * group in use may not be evicted settles into keeping whole groups and
 * streaming the rest, which loads about one group more per iteration than
 * needed.  Instead every group of the sequence keeps its head and drops at
 * most x tail chunks, the drops spread evenly and adding up to what leaves
 * room for the dropped chunks of the group in use and of the `ahead`
 * groups after it: x is the smallest cap for which that works (a cyclic
 * sequence of N equal groups then loads about N/(N-1) of MIN, and
 * N/(N-1-ahead) with room for `ahead` groups).  The drops may instead
 * grow with group size (by_size: x for the largest group, in proportion
 * for the others), which needs more room for the large groups but keeps
 * each group's copy in proportion to its compute, where a capped plan
 * gives small groups copies longer than their compute (flux's single
 * blocks after its double ones).  Room to prefetch buys overlap of copies
 * with compute for those bytes: the plan is the one with the shortest
 * step time under the cost model (step_time) among those that load at
 * most plan_budget() chunks (the fewest-bytes plan, capped with no room,
 * is always a candidate), fewer bytes on a tie.  With a prefetch the
 * caller asked for, the room for it is planned whenever it fits.
 */
static void plan(struct gp_policy *p, struct auto_state *s)
{
	uint32_t most = s->prefetch < s->period - 1 ? s->prefetch : s->period - 1;
	uint64_t budget = plan_budget(p, s);
	struct plan_choice best = { .x = UINT64_MAX, .t = INFINITY }, c;
	bool found = false;

	s->largest = 0;
	for (uint32_t i = 0; i < s->sched.n_order; i++)
		if (p->group_count[s->sched.order[i]] > s->largest)
			s->largest = p->group_count[s->sched.order[i]];
	for (int by_size = 0; by_size <= 1; by_size++) {
		s->by_size = by_size;
		/* The first one weighed (capped alike, no room) moves the fewest bytes: never refused. */
		for (uint32_t ahead = 0; ahead <= most; ahead++) {
			if (!weigh(p, s, ahead, found ? budget : UINT64_MAX, &c))
				break;
			if (!found || better(s, &c, &best))
				best = c;
			found = true;
		}
	}
	s->by_size = best.by_size;
	s->plan_prefetch = best.ahead;
	fill_keep(p, s, best.x, best.total);
	s->plan_gen = p->timing_gen;
	gp_schedule_recount(&s->sched, p);
	gp_log_debug("policy auto: plan drops %llu chunks an iteration, at most %llu a group%s, "
		     "room to prefetch %u groups, step %.3f ms in the cost model",
		     (unsigned long long)best.total, (unsigned long long)best.x,
		     best.by_size ? " (by size)" : "", best.ahead, best.t / 1e6);
}

static int lock(struct gp_policy *p, struct auto_state *s)
{
	uint32_t period = s->cand;
	uint32_t *seq = realloc(s->seq, period * sizeof(*seq));
	double *end = seq ? realloc(s->model_end, 3 * period * sizeof(*end)) : NULL;
	double *host = end ? realloc(s->model_host, 3 * period * sizeof(*host)) : NULL;

	if (seq)
		s->seq = seq;
	if (end)
		s->model_end = end;
	if (!host)
		return gp_fail(GP_ENOMEM, "policy auto: out of memory for a %u-access sequence",
			       period);
	s->model_host = host;
	memcpy(seq, s->hist + s->n_hist - period, period * sizeof(*seq));
	s->period = period;
	s->pos = period - 1;
	gp_schedule_start(&s->sched, p, seq, period, s->pos);
	plan(p, s);
	s->locked = true;
	gp_log_debug("policy auto: learned an iteration of %u accesses over %u groups", period,
		     s->sched.n_order);
	return 0;
}

static void learn(struct gp_policy *p, struct auto_state *s)
{
	uint32_t i = s->n_hist - 1;
	uint32_t need;

	if (s->cand && s->hist[i - s->cand] == s->hist[i])
		s->matched++;
	else
		find_candidate(s, i);
	if (!s->cand)
		return;
	need = s->cand < AUTO_LOCK_MATCHES ? s->cand + 1 : AUTO_LOCK_MATCHES;
	/* Out of memory for the sequence: stay LRU and try again on the next access. */
	if (s->matched >= need && lock(p, s))
		gp_log_debug("policy auto: %s", gp_last_error());
}

static void auto_access(struct gp_policy *p, uint32_t group)
{
	struct auto_state *s = p->priv;

	gp_lru_access(p, group);
	history_append(p, s, group);
	if (s->locked) {
		uint32_t next = s->pos + 1 == s->period ? 0 : s->pos + 1;

		if (s->seq[next] == group) {
			s->pos = next;
			gp_schedule_at(&s->sched, s->seq, s->period, s->pos);
			/* New times: the plan is weighed again once an iteration. */
			if (!next && s->plan_gen != p->timing_gen)
				plan(p, s);
			return;
		}
		gp_log_debug("policy auto: access to group %u where group %u was due; relearning",
			     group, s->seq[next]);
		s->locked = false;
		s->cand = s->matched = 0;
	}
	learn(p, s);
}

static int auto_planned_victim(struct gp_policy *p, gp_policy_can_evict_fn can_evict, void *ctx,
			       uint32_t *chunk)
{
	struct auto_state *s = p->priv;

	if (!s->locked)
		return GP_ENOENT;
	return gp_schedule_planned(&s->sched, p, can_evict, ctx, chunk);
}

static int auto_victim(struct gp_policy *p, gp_policy_can_evict_fn can_evict, void *ctx,
		       uint32_t *chunk)
{
	struct auto_state *s = p->priv;

	if (!s->locked)
		return gp_lru_victim(p, can_evict, ctx, chunk);
	return gp_schedule_victim(&s->sched, p, can_evict, ctx, chunk);
}

/*
 * The next groups of the sequence (up to AUTO_PREFETCH_MAX), as far as the
 * plan leaves room for them: free chunks and chunks beyond the plan's keep,
 * outside the group in use and the groups named before.  Groups, not room,
 * would stop the copies where small groups come before large ones (the
 * start of a transformer), and a load then waits for the compute of the
 * group just before; prefetching beyond the room would evict kept chunks,
 * which the next iteration would then load again.
 */
static size_t auto_prefetch(struct gp_policy *p, uint32_t *groups, size_t max)
{
	struct auto_state *s = p->priv;
	uint32_t cur;
	int64_t room;
	size_t n = 0;

	if (!s->locked)
		return 0;
	cur = s->seq[s->pos];
	room = gp_schedule_room(&s->sched, p, cur);
	for (uint32_t k = 1; s->plan_prefetch && k <= AUTO_PREFETCH_MAX && k < s->period && n < max;
	     k++) {
		uint32_t g = s->seq[(s->pos + k) % s->period];
		bool dup = g == cur;

		for (size_t i = 0; i < n && !dup; i++)
			dup = groups[i] == g;
		if (dup)
			continue;
		room -= gp_schedule_prefetch_cost(&s->sched, p, g);
		if (room < 0)
			break;
		groups[n++] = g;
	}
	return n;
}

static uint64_t auto_next_use(const struct gp_policy *p, uint32_t chunk)
{
	const struct auto_state *s = p->priv;
	uint32_t g = p->chunk_group[chunk];

	if (!s->locked || g == GP_POLICY_NONE)
		return UINT64_MAX;
	return s->sched.dist[g];
}

/* Unlocked, keep is stale: plan() recounts over when the next lock sets it. */
static void count_chunk(struct gp_policy *p, uint32_t chunk, int delta)
{
	struct auto_state *s = p->priv;

	if (s->locked)
		gp_schedule_count(&s->sched, p, chunk, delta);
}

static void auto_loaded(struct gp_policy *p, uint32_t chunk)
{
	gp_lru_loaded(p, chunk);
	count_chunk(p, chunk, 1);
}

static void auto_evicted(struct gp_policy *p, uint32_t chunk)
{
	gp_lru_evicted(p, chunk);
	count_chunk(p, chunk, -1);
}

static void auto_fini(struct gp_policy *p)
{
	struct auto_state *s = p->priv;

	free(s->hist);
	free(s->hist_prev);
	free(s->last_at);
	free(s->seq);
	free(s->model_end);
	free(s->model_host);
	gp_schedule_fini(&s->sched);
	free(s);
}

static int auto_init(struct gp_policy *p, const struct gp_policy_opts *opts)
{
	struct auto_state *s = calloc(1, sizeof(*s));
	size_t ng = p->n_groups ? p->n_groups : 1;

	if (!s)
		return gp_fail(GP_ENOMEM, "policy auto: out of memory");
	p->priv = s;
	s->prefetch_asked = opts->prefetch_groups != 0;
	s->prefetch = opts->prefetch_groups ? opts->prefetch_groups : GP_POLICY_DEFAULT_PREFETCH;
	if (s->prefetch > AUTO_PREFETCH_MAX)
		s->prefetch = AUTO_PREFETCH_MAX;
	s->hist = malloc(AUTO_HISTORY_MAX * sizeof(*s->hist));
	s->hist_prev = malloc(AUTO_HISTORY_MAX * sizeof(*s->hist_prev));
	s->last_at = malloc(ng * sizeof(*s->last_at));
	if (!s->hist || !s->hist_prev || !s->last_at || gp_schedule_init(&s->sched, p)) {
		auto_fini(p);
		p->priv = NULL;
		return gp_fail(GP_ENOMEM, "policy auto: out of memory for %u groups", p->n_groups);
	}
	rebuild_links(p, s);
	return 0;
}

const struct gp_policy_ops gp_policy_auto_ops = {
	.name = "auto",
	.init = auto_init,
	.fini = auto_fini,
	.access = auto_access,
	.loaded = auto_loaded,
	.evicted = auto_evicted,
	.victim = auto_victim,
	.planned_victim = auto_planned_victim,
	.prefetch = auto_prefetch,
	.next_use = auto_next_use,
};
