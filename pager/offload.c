/*
 * offload.c - sending a whole model to the host tier and bringing it back.
 * Offloaded chunks are kept in host slots (never dropped) until the model is
 * restored or used again, so a restore reads nothing from disk.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "pager.h"

static struct gp_model *find_key(struct gp_pager *p, const char *key)
{
	for (struct gp_model *m = p->models; m; m = m->next)
		if (m->offload_key && !strcmp(m->offload_key, key))
			return m;
	return NULL;
}

/* Host slots the pool can still hand out for keeping (lock held). */
static uint64_t host_slots_available(struct gp_pager *p)
{
	struct gp_host_pool_stats st;
	uint64_t busy;

	gp_host_pool_get_stats(p->host, &st);
	busy = (st.pinned + st.dirty) / p->chunk_size + p->host_kept;
	return gp_host_pool_slot_count(p->host) > busy ? gp_host_pool_slot_count(p->host) - busy : 0;
}

static int check_offload(struct gp_model *m, const char *key)
{
	struct gp_pager *p = m->pager;
	uint64_t avail;

	if (m->offload_key)
		return gp_fail(GP_ESTATE, "%s: already offloaded under key '%s'", m->desc->source,
			       m->offload_key);
	if (find_key(p, key))
		return gp_fail(GP_EEXIST, "offload key '%s' is already used by %s", key,
			       find_key(p, key)->desc->source);
	for (uint32_t c = 0; c < m->n_chunks; c++)
		if (m->chunks[c].users)
			return gp_fail(GP_EBUSY, "%s: cannot offload: chunk %u is acquired; release "
				       "every group first", m->desc->source, c);
	avail = host_slots_available(p);
	if (m->n_chunks > avail)
		return gp_fail(GP_EHOSTMEM, "%s: cannot offload: needs %llu MiB of host slots, "
			       "%llu MiB available; raise GPUPAGER_HOST_BUDGET",
			       m->desc->source,
			       (unsigned long long)(m->n_chunks * p->chunk_size >> 20),
			       (unsigned long long)(avail * p->chunk_size >> 20));
	return 0;
}

/* Keep absent chunks' data in host slots, reading the files for those not cached. */
static int keep_absent_chunks(struct gp_model *m)
{
	struct gp_pager *p = m->pager;
	uint32_t *list = malloc(sizeof(*list) * m->n_chunks);
	uint32_t *slots = malloc(sizeof(*slots) * m->n_chunks);
	size_t n = 0;
	int err = 0;

	if (!list || !slots) {
		err = gp_fail(GP_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t c = 0; c < m->n_chunks; c++)
		if (m->chunks[c].state == GP_CHUNK_ABSENT)
			list[n++] = c;
	pthread_mutex_unlock(&p->lock);
	err = gp_res_fill_host(m, list, slots, n);
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; !err && i < n; i++) {
		gp_host_pool_set_kept(p->host, slots[i], true);
		gp_host_pool_put(p->host, slots[i]);
	}
out:
	free(list);
	free(slots);
	return err;
}

GP_API int gp_model_offload(struct gp_model *m, const char *key)
{
	struct gp_pager *p;
	int err;

	if (!m || !key || !*key)
		return gp_fail(GP_EINVAL, "gp_model_offload: model and a non-empty key are required");
	p = m->pager;
	if (!p)
		return gp_fail(GP_ESTATE, "gp_model_offload: %s was opened without a pager",
			       m->desc->source);
	pthread_mutex_lock(&p->lock);
	gp_prefetch_forget(m);
	err = check_offload(m, key);
	if (err)
		goto out;
	m->offload_key = strdup(key);
	if (!m->offload_key) {
		err = gp_fail(GP_ENOMEM, "out of memory");
		goto out;
	}
	p->host_kept += m->n_chunks;
	for (uint32_t c = 0; !err && c < m->n_chunks; c++) {
		struct gp_chunk *ch = &m->chunks[c];

		if (ch->state != GP_CHUNK_RESIDENT)
			continue;
		err = gp_res_copy_to_host(m, c, ch->dirty, true);
		if (!err)
			err = gp_res_evict(m, c);
	}
	if (!err)
		err = keep_absent_chunks(m);
	if (err)
		gp_offload_forget(m);
	else
		gp_log_info("%s: offloaded to the host tier under key '%s'", m->desc->source, key);
out:
	pthread_mutex_unlock(&p->lock);
	return err;
}

void gp_offload_forget(struct gp_model *m)
{
	struct gp_pager *p = m->pager;
	uint32_t slot;

	for (uint32_t c = 0; c < m->n_chunks; c++) {
		if (gp_host_pool_lookup(p->host, m->host_owner, c, &slot))
			continue;
		gp_host_pool_set_kept(p->host, slot, false);
		gp_host_pool_put(p->host, slot);
	}
	p->host_kept -= m->n_chunks;
	free(m->offload_key);
	m->offload_key = NULL;
}

GP_API int gp_model_restore(struct gp_pager *p, const char *key)
{
	struct gp_model *m;
	uint32_t n;
	int err;

	if (!p || !key)
		return gp_fail(GP_EINVAL, "gp_model_restore: NULL argument");
	pthread_mutex_lock(&p->lock);
	m = find_key(p, key);
	if (!m) {
		pthread_mutex_unlock(&p->lock);
		return gp_fail(GP_ENOENT, "no model is offloaded under key '%s'", key);
	}
	/* As much of the model as the budget holds, from the kept host slots. */
	n = m->n_chunks < p->max_chunks ? m->n_chunks : (uint32_t)p->max_chunks;
	err = gp_res_load(m, 0, n, false, false);
	if (!err) {
		gp_offload_forget(m);
		gp_log_info("%s: restored from key '%s'", m->desc->source, key);
	}
	pthread_mutex_unlock(&p->lock);
	return err;
}
