/*
 * prefetch.c - one worker per pager loads the groups the policy expects
 * next, so their file reads and copies overlap the app's compute.  A new
 * request replaces the previous one: only the latest expectation matters.
 * Prefetch loads never pin chunks and never evict another model's.
 *
 * What auto's cost model learns comes from here too: stream callbacks
 * stamp when the GPU starts and ends a group's compute, and each acquire
 * hands the policy the previous use's time and the link bandwidth.
 */
#include <string.h>

#include "error.h"
#include "log.h"
#include "pager.h"

static void *prefetch_main(void *arg)
{
	struct gp_pager *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->prefetch_stop) {
		struct gp_model *m = p->prefetch_model;
		uint32_t group;

		if (!m || !p->n_prefetch) {
			pthread_cond_wait(&p->prefetch_wake, &p->lock);
			continue;
		}
		group = p->prefetch_groups[0];
		memmove(p->prefetch_groups, p->prefetch_groups + 1,
			--p->n_prefetch * sizeof(p->prefetch_groups[0]));
		p->prefetch_current = m;
		if (gp_res_load(m, m->group_first_chunk[group], m->group_chunk_count[group], false,
				true)) {
			gp_log_debug("prefetch of %s group %u stopped: %s", m->desc->source, group,
				     gp_last_error());
			p->n_prefetch = 0;
		}
		p->prefetch_current = NULL;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int gp_prefetch_start(struct gp_pager *p)
{
	int rc = pthread_create(&p->prefetch_thread, NULL, prefetch_main, p);

	if (rc)
		return gp_fail(GP_ENOMEM, "pager: cannot start the prefetch thread: %s",
			       strerror(rc));
	p->prefetch_running = true;
	return 0;
}

void gp_prefetch_stop(struct gp_pager *p)
{
	if (!p->prefetch_running)
		return;
	pthread_mutex_lock(&p->lock);
	p->prefetch_stop = true;
	pthread_cond_signal(&p->prefetch_wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->prefetch_thread, NULL);
	p->prefetch_running = false;
}

void gp_prefetch_request(struct gp_model *m, const uint32_t *groups, size_t n)
{
	struct gp_pager *p = m->pager;

	if (n > sizeof(p->prefetch_groups) / sizeof(p->prefetch_groups[0]))
		n = sizeof(p->prefetch_groups) / sizeof(p->prefetch_groups[0]);
	memcpy(p->prefetch_groups, groups, n * sizeof(*groups));
	p->n_prefetch = n;
	p->prefetch_model = m;
	pthread_cond_signal(&p->prefetch_wake);
}

void gp_prefetch_forget(struct gp_model *m)
{
	struct gp_pager *p = m->pager;

	if (p->prefetch_model == m) {
		p->prefetch_model = NULL;
		p->n_prefetch = 0;
	}
	while (p->prefetch_current == m)
		pthread_cond_wait(&p->changed, &p->lock);
}

/* A stream callback: the time the GPU got here, into a policy's stamp slot. */
static void stamp_now(void *slot)
{
	__atomic_store_n((uint64_t *)slot, gp_now_ns(), __ATOMIC_RELEASE);
}

/* The pager's measured link if it has been measured (gp_pager_info), else the default. */
static double link_gbps(struct gp_pager *p)
{
	struct gp_pager_info info = { .struct_size = sizeof(info) };

	if (p->pinfo && !gp_pager_info(p, &info) && info.link_h2d_gbps > 0)
		return info.link_h2d_gbps;
	gp_clear_error();
	return GP_POLICY_DEFAULT_LINK_GBPS;
}

void gp_prefetch_time_group(struct gp_model *m, uint32_t group, CUstream s, bool end)
{
	struct gp_pager *p = m->pager;
	double gbps = end ? 0 : link_gbps(p);
	uint64_t *slot;

	pthread_mutex_lock(&p->lock);
	slot = gp_policy_stamps(m->policy) + 2 * group;
	if (!end) {
		/* The previous use's pair; a stale or missing end (the GPU behind) is skipped. */
		uint64_t t0 = __atomic_exchange_n(&slot[0], 0, __ATOMIC_ACQUIRE);
		uint64_t t1 = __atomic_exchange_n(&slot[1], 0, __ATOMIC_ACQUIRE);

		if (t0 && t1 > t0)
			gp_policy_group_time(m->policy, group, t1 - t0);
		gp_policy_set_link(m->policy, (double)p->chunk_size / gbps);
	}
	pthread_mutex_unlock(&p->lock);
	/* Timing is best effort: without the callback the policy keeps what it knew. */
	if (gp_stream_host_func(p->gpu, s, stamp_now, &slot[end]))
		gp_clear_error();
}
