/*
 * prefetch.c - one worker per pager loads the groups the policy expects
 * next, so their file reads and copies overlap the app's compute.  A new
 * request replaces the previous one: only the latest expectation matters.
 * Prefetch loads never pin chunks and never evict another model's.
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
