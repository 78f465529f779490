/* pager.c - opening and closing a pager: device, chunk pool, host tier, reader, stats. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi.h"
#include "error.h"
#include "log.h"
#include "pager.h"
#include "trace.h"

uint64_t gp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

GP_API void gp_pager_options_init_size(struct gp_pager_options *opts, size_t size)
{
	const struct gp_pager_options full = { .struct_size = sizeof(full) };

	gp_abi_init(opts, size, &full, sizeof(full));
}

/* A private copy of a borrowed string option (NULL stays NULL). */
static int copy_option(const char *value, char **out)
{
	*out = NULL;
	if (value && !(*out = strdup(value)))
		return gp_fail(GP_ENOMEM, "pager: out of memory copying options");
	return 0;
}

/*
 * Take the caller's options: within its struct_size, checked, and with
 * every string copied, so nothing the caller owns is read after the call.
 */
static int take_options(struct gp_pager *p, const struct gp_pager_options *in,
			struct gp_pager_options *opts)
{
	struct gp_ranges *ranges;
	int err;

	err = gp_abi_in(opts, sizeof(*opts), in, GP_ABI_V1(struct gp_pager_options, load_all),
			"gp_pager_open");
	if (err)
		return err;
	if (opts->device < 0)
		return gp_fail(GP_EINVAL, "gp_pager_open: device %d is not a CUDA ordinal",
			       opts->device);
	if (!(opts->vram_budget_pct >= 0 && opts->vram_budget_pct <= 100))
		return gp_fail(GP_EINVAL, "gp_pager_open: vram_budget_pct %g is not in [0, 100]",
			       opts->vram_budget_pct);
	if (opts->vram_budget && opts->vram_budget_pct > 0)
		return gp_fail(GP_EINVAL, "gp_pager_open: give vram_budget or vram_budget_pct, "
			       "not both");
	if (opts->load_all != 0 && opts->load_all != 1)
		return gp_fail(GP_EINVAL, "gp_pager_open: load_all is %d, expected 0 or 1",
			       opts->load_all);
	if (opts->policy) {
		err = gp_policy_kind_parse(opts->policy, &p->cfg.policy);
		if (err)
			return err;
	}
	if (opts->swap_blocks) {
		err = gp_ranges_parse(opts->swap_blocks, &ranges);
		if (err)
			return gp_fail_context(err, "gp_pager_open: swap_blocks: ");
		gp_ranges_free(ranges);
	}
	err = copy_option(opts->swap_blocks ? opts->swap_blocks : p->cfg.swap_blocks,
			  &p->swap_blocks);
	if (!err)
		err = copy_option(opts->driver_path, &p->driver_path);
	if (!err)
		err = copy_option(opts->plan ? opts->plan : p->cfg.plan_path, &p->plan_path);
	if (err)
		return err;
	/* A plan file selects the plan policy; another policy asked for beside it is an error. */
	if (p->plan_path && opts->policy && p->cfg.policy != GP_POLICY_PLAN)
		return gp_fail(GP_EINVAL, "gp_pager_open: policy '%s' and a plan (%s) given: the "
			       "plan policy follows the plan, drop one of them", opts->policy,
			       p->plan_path);
	if (p->plan_path)
		p->cfg.policy = GP_POLICY_PLAN;
	else if (p->cfg.policy == GP_POLICY_PLAN)
		return gp_fail(GP_EINVAL, "gp_pager_open: policy plan needs a plan file "
			       "(gp_pager_options.plan, GPUPAGER_PLAN or gpupager run --plan)");
	if (p->plan_path) {
		err = gp_plan_read(p->plan_path, &p->plan);
		if (err)
			return err;
	}
	/* What is left of opts is read only during the open; policy was parsed. */
	opts->swap_blocks = p->swap_blocks;
	opts->driver_path = p->driver_path;
	opts->plan = p->plan_path;
	opts->policy = NULL;
	return err;
}

/*
 * The chunk pool's limit: the budget (bytes or percent of free memory),
 * never more than free memory less the headroom.
 */
static int size_vram_budget(struct gp_pager *p, const struct gp_pager_options *opts)
{
	uint64_t free_bytes, total, bytes = opts->vram_budget, avail;
	double pct = opts->vram_budget_pct;
	int err;

	if (!bytes && pct <= 0) {
		bytes = p->cfg.vram_budget;
		pct = p->cfg.vram_budget_pct;
	}
	err = gp_gpu_mem_info(p->gpu, &free_bytes, &total);
	if (err)
		return err;
	avail = free_bytes > p->cfg.vram_headroom ? free_bytes - p->cfg.vram_headroom : 0;
	if (!bytes)
		bytes = (uint64_t)((double)free_bytes * pct / 100.0);
	if (bytes > avail) {
		gp_log_info("pager: VRAM budget lowered from %llu to %llu bytes (free %llu less "
			    "headroom %llu)", (unsigned long long)bytes, (unsigned long long)avail,
			    (unsigned long long)free_bytes,
			    (unsigned long long)p->cfg.vram_headroom);
		bytes = avail;
	}
	p->max_chunks = bytes / p->chunk_size;
	p->vram_budget = p->max_chunks * p->chunk_size;
	if (p->max_chunks < 2)
		return gp_fail(GP_EDEVMEM, "VRAM budget of %llu bytes is less than two %llu-byte "
			       "chunks (device free: %llu bytes, headroom %llu); raise "
			       "GPUPAGER_VRAM_BUDGET or free device memory",
			       (unsigned long long)bytes, (unsigned long long)p->chunk_size,
			       (unsigned long long)free_bytes,
			       (unsigned long long)p->cfg.vram_headroom);
	p->free_chunks = calloc(p->max_chunks, sizeof(*p->free_chunks));
	if (!p->free_chunks)
		return gp_fail(GP_ENOMEM, "pager: out of memory for %llu chunk slots",
			       (unsigned long long)p->max_chunks);
	return 0;
}

static int open_host_tier(struct gp_pager *p, const struct gp_pager_options *opts)
{
	struct gp_host_pool_opts hopts = { 0 };
	struct gp_io_opts iopts;
	int err;

	gp_io_opts_default(&iopts);
	iopts.numa_node = p->gpu->numa_node;
	err = gp_io_open(&iopts, &p->io);
	if (err)
		return err;
	hopts.budget = opts->host_budget;
	hopts.slot_size = p->chunk_size;
	hopts.numa_node = p->gpu->numa_node;
	hopts.gpu = p->gpu;
	hopts.io = p->io;
	return gp_host_pool_open(&hopts, &p->host);
}

GP_API int gp_pager_open(const struct gp_pager_options *caller_opts, struct gp_pager **out)
{
	struct gp_pager_options defaults, taken, *opts = &taken;
	const struct gp_config *cfg;
	struct gp_pager *p;
	int err;

	if (!out)
		return gp_fail(GP_EINVAL, "gp_pager_open: out is NULL");
	*out = NULL;
	if (!caller_opts) {
		gp_pager_options_init(&defaults);
		caller_opts = &defaults;
	}
	err = gp_config_get(&cfg);
	if (err)
		return err;
	p = calloc(1, sizeof(*p));
	if (!p)
		return gp_fail(GP_ENOMEM, "pager: out of memory");
	p->cfg = *cfg;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	pthread_cond_init(&p->prefetch_wake, NULL);
	err = take_options(p, caller_opts, opts);
	if (err)
		goto fail;
	p->load_all = opts->load_all;

	err = gp_gpu_open(opts->driver_path, opts->device, &p->gpu);
	if (err)
		goto fail;
	err = gp_devmem_open(p->gpu, p->cfg.backend, p->cfg.chunk_size, &p->dm);
	if (err)
		goto fail;
	p->chunk_size = gp_devmem_chunk_size(p->dm);
	err = size_vram_budget(p, opts);
	if (err)
		goto fail;
	err = gp_stream_create(p->gpu, &p->copy_stream);
	if (!err)
		err = gp_stream_create(p->gpu, &p->own_stream);
	if (err)
		goto fail;
	err = open_host_tier(p, opts);
	if (err)
		goto fail;
	err = gp_stats_open(&p->stats);
	if (err)
		goto fail;
	gp_stats_set_device(p->stats, p->gpu->name, gp_policy_kind_name(p->cfg.policy));
	err = gp_prefetch_start(p);
	if (err)
		goto fail;
	if (p->cfg.trace_path) {
		err = gp_trace_start_env(p, p->cfg.trace_path);
		if (err)
			goto fail;
	}
	pthread_mutex_lock(&p->lock);
	gp_pager_stats_gauges(p);
	pthread_mutex_unlock(&p->lock);
	gp_log_info("pager: %s, %s backend, %llu-byte chunks, VRAM budget %llu bytes, policy %s, "
		    "reads via %s", p->gpu->name, gp_devmem_name(p->dm),
		    (unsigned long long)p->chunk_size, (unsigned long long)p->vram_budget,
		    gp_policy_kind_name(p->cfg.policy), gp_io_name(p->io));
	*out = p;
	return 0;
fail:
	gp_pager_close(p);
	return err;
}

static void release_chunk_pool(struct gp_pager *p)
{
	for (uint64_t i = 0; i < p->n_free; i++)
		gp_devmem_chunk_release(p->dm, p->free_chunks[i]);
	p->n_free = 0;
	free(p->free_chunks);
	p->free_chunks = NULL;
}

GP_API void gp_pager_close(struct gp_pager *p)
{
	if (!p)
		return;
	while (p->models)
		gp_model_close(p->models);
	gp_pinfo_close(p);
	gp_prefetch_stop(p);
	if (p->trace)
		gp_trace_stop(p);
	if (p->dm) {
		gp_alloc_free_all(p);
		release_chunk_pool(p);
	}
	if (p->copy_stream)
		gp_stream_sync(p->gpu, p->copy_stream);
	if (p->stats) {
		gp_pager_stats_withdraw(p);
		gp_stats_close(p->stats);
	}
	if (p->host)
		gp_host_pool_close(p->host);
	if (p->io)
		gp_io_close(p->io);
	if (p->gpu) {
		gp_stream_destroy(p->gpu, p->copy_stream);
		gp_stream_destroy(p->gpu, p->own_stream);
	}
	if (p->dm)
		gp_devmem_close(p->dm);
	if (p->gpu)
		gp_gpu_close(p->gpu);
	pthread_cond_destroy(&p->prefetch_wake);
	pthread_cond_destroy(&p->changed);
	pthread_mutex_destroy(&p->lock);
	free(p->swap_blocks);
	free(p->plan_path);
	gp_plan_free(p->plan);
	free(p->driver_path);
	free(p);
}
