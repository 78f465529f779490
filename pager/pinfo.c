/*
 * pinfo.c - what a pager runs on (gp_pager_info), its measured link and
 * kernel rates, public streams for programs without CUDA code, and the
 * checksum kernels the verification uses, loaded on first use.
 *
 * The rates are measured once, on the first gp_pager_info call, not at
 * open: opening stays fast and works without the kernel module.
 */
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi.h"
#include "error.h"
#include "hostpool.h"
#include "kernels.h"
#include "log.h"
#include "pager.h"
#include "sort.h"

/* The link measurement: one untimed copy, then this many timed ones of up to MEASURE_BYTES. */
#define MEASURE_COPIES 16
#define MEASURE_BYTES (16ull << 20)

struct gp_pinfo {
	pthread_mutex_t lock;           /* measuring and loading the kernels */
	bool measured;
	double link_gbps, checksum_gbps;
	struct gp_kernels *kernels;
	char driver_path[4096];
};

static pthread_mutex_t pinfo_create_lock = PTHREAD_MUTEX_INITIALIZER;

static int pinfo_get(struct gp_pager *p, struct gp_pinfo **out)
{
	int err = 0;

	pthread_mutex_lock(&pinfo_create_lock);
	if (!p->pinfo) {
		p->pinfo = calloc(1, sizeof(*p->pinfo));
		if (p->pinfo)
			pthread_mutex_init(&p->pinfo->lock, NULL);
		else
			err = gp_fail(GP_ENOMEM, "pager: out of memory");
	}
	pthread_mutex_unlock(&pinfo_create_lock);
	*out = p->pinfo;
	return err;
}

void gp_pinfo_close(struct gp_pager *p)
{
	if (!p->pinfo)
		return;
	gp_kernels_unload(p->pinfo->kernels);
	pthread_mutex_destroy(&p->pinfo->lock);
	free(p->pinfo);
	p->pinfo = NULL;
}

CUstream gp_pager_user_stream(struct gp_pager *p, gp_stream_t stream)
{
	return stream ? (CUstream)stream : p->own_stream;
}

static int kernels_locked(struct gp_pager *p, struct gp_pinfo *pi, struct gp_kernels **out)
{
	int err = 0;

	if (!pi->kernels)
		err = gp_kernels_load(p->gpu, &pi->kernels);
	*out = pi->kernels;
	return err;
}

int gp_pinfo_kernels(struct gp_pager *p, struct gp_kernels **out)
{
	struct gp_pinfo *pi;
	int err = pinfo_get(p, &pi);

	if (err)
		return err;
	pthread_mutex_lock(&pi->lock);
	err = kernels_locked(p, pi, out);
	pthread_mutex_unlock(&pi->lock);
	return err;
}

/* Checksum kernel passes, timed one by one after an untimed one; the median is the rate. */
#define CHECKSUM_PASSES 5

/*
 * The kernel's rate over device memory, over twice the device's L2 where
 * the budget allows: over less the passes read the cache, not the memory
 * the weights stream from (16 MiB read 2.3x faster than 256 MiB on a host
 * with a large L3, and an H200's L2 holds 16 MiB too).  Best effort: no
 * kernels or no room, no rate.
 */
static void measure_checksum(struct gp_pager *p, struct gp_pinfo *pi)
{
	uint64_t len = 2 * p->gpu->l2_cache_size, scratch = 0, ns[CHECKSUM_PASSES], t0, room;
	struct gp_kernels *k;
	int err = kernels_locked(p, pi, &k);

	/* Into room no weights hold, so that a live pager evicts nothing for it. */
	pthread_mutex_lock(&p->lock);
	room = (p->max_chunks - p->n_created + p->n_free) * p->chunk_size;
	pthread_mutex_unlock(&p->lock);
	if (len > room)
		len = room;
	if (len < MEASURE_BYTES)
		len = MEASURE_BYTES;
	if (len > p->vram_budget - p->chunk_size)
		len = p->vram_budget - p->chunk_size;
	if (!err)
		err = gp_pager_alloc(p, len, &scratch);
	for (int i = -1; !err && i < CHECKSUM_PASSES; i++) {
		t0 = gp_now_ns();
		err = gp_kernel_checksum(k, p->own_stream, scratch, len - 8, 0, scratch + len - 8);
		if (!err)
			err = gp_stream_sync(p->gpu, p->own_stream);
		if (i >= 0)
			ns[i] = gp_now_ns() - t0 + 1;
	}
	if (scratch)
		gp_pager_free(p, scratch, NULL);
	if (err) {
		gp_log_info("pager: no checksum rate measured: %s", gp_last_error());
		return;
	}
	qsort(ns, CHECKSUM_PASSES, sizeof(ns[0]), gp_cmp_u64);
	pi->checksum_gbps = (double)len / (double)ns[CHECKSUM_PASSES / 2];
	if (len < 2 * p->gpu->l2_cache_size)
		gp_log_info("pager: the checksum rate was measured over %llu MiB, less than twice "
			    "the L2 (%llu MiB): it may be the cache's", (unsigned long long)(len >> 20),
			    (unsigned long long)(p->gpu->l2_cache_size >> 20));
}

/* H2D copies of pinned memory into scratch device memory from the budget. */
static int measure(struct gp_pager *p, struct gp_pinfo *pi)
{
	uint64_t len = MEASURE_BYTES, scratch = 0, t0;
	void *pinned = NULL;
	bool registered = false;
	int err;

	/* The budget holds at least two chunks; leave one for the weights. */
	if (len > p->vram_budget - p->chunk_size)
		len = p->vram_budget - p->chunk_size;
	if (posix_memalign(&pinned, 4096, len))
		return gp_fail(GP_ENOMEM, "pager: out of memory for the link measurement");
	memset(pinned, 0, len);
	err = gp_gpu_host_register(p->gpu, pinned, len);
	if (err)
		goto out;
	registered = true;
	err = gp_pager_alloc(p, len, &scratch);
	if (err)
		goto out;
	/* One untimed copy first: the scratch's first touch is not the link's speed. */
	err = gp_copy_h2d(p->gpu, scratch, pinned, len, p->own_stream);
	if (!err)
		err = gp_stream_sync(p->gpu, p->own_stream);
	t0 = gp_now_ns();
	for (int i = 0; !err && i < MEASURE_COPIES; i++)
		err = gp_copy_h2d(p->gpu, scratch, pinned, len, p->own_stream);
	if (!err)
		err = gp_stream_sync(p->gpu, p->own_stream);
	if (err)
		goto out;
	pi->link_gbps = (double)MEASURE_COPIES * (double)len / (double)(gp_now_ns() - t0 + 1);
	pi->measured = true;
out:
	if (err)
		gp_fail_context(err, "measuring the host-to-device link");
	if (scratch)
		gp_pager_free(p, scratch, NULL);
	if (registered)
		gp_gpu_host_unregister(p->gpu, pinned);
	free(pinned);
	if (!err)
		measure_checksum(p, pi);
	return err;
}

/* The full path of the driver library dlopen found, or the name it was given. */
static void driver_path(struct gp_pager *p, struct gp_pinfo *pi)
{
	struct link_map *map = NULL;

	if (pi->driver_path[0])
		return;
	if (p->gpu->drv->handle && !dlinfo(p->gpu->drv->handle, RTLD_DI_LINKMAP, &map) && map &&
	    map->l_name && map->l_name[0])
		snprintf(pi->driver_path, sizeof(pi->driver_path), "%s", map->l_name);
	else
		snprintf(pi->driver_path, sizeof(pi->driver_path), "%s",
			 p->gpu->drv->path ? p->gpu->drv->path : "");
}

GP_API int gp_pager_info(struct gp_pager *p, struct gp_pager_info *info)
{
	struct gp_pager_info full = { .struct_size = sizeof(full) };
	struct gp_pinfo *pi;
	int err, out_err;

	if (!p || !info)
		return gp_fail(GP_EINVAL, "gp_pager_info: a pager and an info struct are required");
	err = pinfo_get(p, &pi);
	if (err)
		return err;
	pthread_mutex_lock(&pi->lock);
	driver_path(p, pi);
	if (!pi->measured)
		err = measure(p, pi);
	full.device_name = p->gpu->name;
	full.device = p->gpu->ordinal;
	full.simulated = p->gpu->is_simulator;
	full.driver_path = pi->driver_path;
	full.driver_version = p->gpu->drv->version;
	full.chunk_size = p->chunk_size;
	full.vram_budget = p->vram_budget;
	full.host_budget = (uint64_t)gp_host_pool_slot_count(p->host) *
			   gp_host_pool_slot_size(p->host);
	full.policy = gp_policy_kind_name(p->cfg.policy);
	full.link_h2d_gbps = pi->link_gbps;
	full.checksum_gbps = pi->checksum_gbps;
	pthread_mutex_unlock(&pi->lock);
	out_err = gp_abi_out(info, &full, sizeof(full),
			     GP_ABI_V1(struct gp_pager_info, checksum_gbps), "gp_pager_info");
	return out_err ? out_err : err;
}

GP_API int gp_host_budget_default_bytes(uint64_t *bytes)
{
	if (!bytes)
		return gp_fail(GP_EINVAL, "gp_host_budget_default_bytes: bytes is NULL");
	return gp_host_budget_default(bytes, NULL);
}

GP_API int gp_policy_check(const char *name)
{
	int kind;

	if (!name || gp_policy_kind_parse(name, &kind))
		return gp_fail(GP_EINVAL, "unknown policy '%s': expected auto, lru, clock or static",
			       name ? name : "(null)");
	return 0;
}

/* ---------------------------------------------------------------- streams */

GP_API int gp_pager_stream_create(struct gp_pager *p, gp_stream_t *out)
{
	CUstream s = NULL;
	int err;

	if (!p || !out)
		return gp_fail(GP_EINVAL, "gp_pager_stream_create: a pager and an output are required");
	err = gp_stream_create(p->gpu, &s);
	*out = err ? NULL : (gp_stream_t)s;
	return err;
}

GP_API void gp_pager_stream_destroy(struct gp_pager *p, gp_stream_t stream)
{
	if (p && stream)
		gp_stream_destroy(p->gpu, (CUstream)stream);
}

GP_API int gp_pager_stream_synchronize(struct gp_pager *p, gp_stream_t stream)
{
	if (!p)
		return gp_fail(GP_EINVAL, "gp_pager_stream_synchronize: pager is NULL");
	return gp_stream_sync(p->gpu, gp_pager_user_stream(p, stream));
}

static void sleep_ns(void *arg)
{
	uint64_t ns = (uint64_t)(uintptr_t)arg;
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts))
		;
}

GP_API int gp_pager_stream_delay(struct gp_pager *p, gp_stream_t stream, uint64_t ns)
{
	if (!p)
		return gp_fail(GP_EINVAL, "gp_pager_stream_delay: pager is NULL");
	if (!ns)
		return 0;
	return gp_stream_host_func(p->gpu, gp_pager_user_stream(p, stream), sleep_ns,
				   (void *)(uintptr_t)ns);
}
