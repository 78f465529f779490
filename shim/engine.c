/*
 * engine.c - the pager behind the shim: opened on the first call that
 * needs it, on the device of the caller's context, with one heap for the
 * app's allocations.  Loading the shim into a process that never uses
 * CUDA (a shell under `gpupager exec`) costs nothing.
 *
 * After fork() the child has none of the parent's threads or device
 * state; as with the driver itself, it may not use CUDA: the shim's
 * calls fail there with CUDA_ERROR_NOT_INITIALIZED.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "gpu.h"
#include "heap.h"
#include "log.h"
#include "pager.h"
#include "shim.h"

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static struct shim_engine engine;
static bool engine_ok;
static pid_t engine_pid;
/* Physical memory the app made itself with cuMemCreate, by handle. */
struct outside {
	CUmemGenericAllocationHandle handle;
	uint64_t size;
};
static pthread_mutex_t outside_lock = PTHREAD_MUTEX_INITIALIZER;
static struct outside *outside;
static size_t n_outside, cap_outside;
static uint64_t outside_bytes;

static const char *const evict_text[] = {
	[GP_SHIM_EVICT_ALL] = "any app allocation (swapped to the host tier before reuse)",
	[GP_SHIM_EVICT_NONE] = "nothing (allocations are only counted against the budget)",
};

/* GPUPAGER_SHIM_STATS=1: the pager's line and what moved, when the app exits. */
static void print_stats_at_exit(void)
{
	struct gp_pager_stats st = { .struct_size = sizeof(st) };
	char line[256], h2d[32], d2h[32], used[32];

	if (getpid() != engine_pid || !engine.pager)
		return;
	gp_pager_stats_line(engine.pager, line, sizeof(line));
	gp_pager_get_stats(engine.pager, &st);
	fprintf(stderr, "gpupager shim: %s; app memory held %s, copied in %s, swapped out %s, "
		"%llu evictions\n", line, gp_format_size(shim_heap_used(&engine), used, sizeof(used)),
		gp_format_size(st.bytes_h2d, h2d, sizeof(h2d)),
		gp_format_size(st.bytes_d2h, d2h, sizeof(d2h)),
		(unsigned long long)st.dev_evictions);
}

static int current_device(void)
{
	CUdevice dev = 0;

	if (shim_real.cuCtxGetDevice && shim_real.cuCtxGetDevice(&dev) == CUDA_SUCCESS)
		return (int)dev;
	return 0;
}

static int open_engine(const struct gp_config *cfg)
{
	struct gp_pager_options o;
	struct gp_pager *p;
	uint64_t free_mem, total_mem, host_budget;
	int err;

	gp_pager_options_init(&o);
	o.device = current_device();
	o.driver_path = shim_real.driver_path;
	err = gp_pager_open(&o, &engine.pager);
	if (err)
		return err;
	/* Not gp_pager_info: it measures the link, which an app's start should not wait for. */
	p = engine.pager;
	err = gp_gpu_mem_info(p->gpu, &free_mem, &total_mem);
	if (err)
		return err;
	host_budget = (uint64_t)gp_host_pool_slot_count(p->host) * gp_host_pool_slot_size(p->host);
	engine.chunk_size = p->chunk_size;
	engine.budget = p->vram_budget;
	engine.evict = cfg->shim_evict;
	engine.heap_size = cfg->shim_heap ? cfg->shim_heap : total_mem + host_budget;
	engine.heap_size -= engine.heap_size % engine.chunk_size;
	err = gp_heap_open(engine.pager, "app allocations (shim)", engine.heap_size, &engine.heap);
	if (err)
		return err;
	engine.heap_base = gp_model_device_base(engine.heap);
	gp_log_info("shim: active in pid %d, wrapping the CUDA driver %s (version %d) on %s; "
		    "VRAM budget %llu MiB, host tier %llu MiB, heap %llu MiB of address space; "
		    "GPUPAGER_SHIM_EVICT=all evicts %s, none evicts %s; now: %s",
		    (int)getpid(), shim_real.driver_path, p->gpu->drv->version, p->gpu->name,
		    (unsigned long long)(engine.budget >> 20),
		    (unsigned long long)(host_budget >> 20),
		    (unsigned long long)(engine.heap_size >> 20), evict_text[GP_SHIM_EVICT_ALL],
		    evict_text[GP_SHIM_EVICT_NONE],
		    cfg->shim_evict == GP_SHIM_EVICT_ALL ? "all" : "none");
	return 0;
}

static void engine_load(void)
{
	const struct gp_config *cfg;
	int err;

	engine_pid = getpid();
	err = gp_config_get(&cfg);
	if (!err)
		err = open_engine(cfg);
	if (err) {
		gp_log_error("shim: the pager could not start (%s: %s); the app's CUDA calls go "
			     "straight to the driver, without paging", gp_error_name(err),
			     gp_last_error());
		if (engine.pager)
			gp_pager_close(engine.pager);
		engine.pager = NULL;
		engine.heap = NULL;
		return;
	}
	engine_ok = true;
	if (cfg->shim_stats)
		atexit(print_stats_at_exit);
}

bool shim_in_forked_child(void)
{
	return engine_pid && getpid() != engine_pid;
}

struct shim_engine *shim_engine(void)
{
	CUcontext ctx = NULL;

	if (!shim_real_init())
		return NULL;
	/* The engine binds the device's primary context (and unbinds it on failure): the app's stays. */
	shim_real.cuCtxGetCurrent(&ctx);
	pthread_once(&engine_once, engine_load);
	shim_real.cuCtxSetCurrent(ctx);
	return engine_ok ? &engine : NULL;
}

struct shim_engine *shim_engine_if_open(void)
{
	return engine_ok ? &engine : NULL;
}

/* The pager's chunk pool makes room for what the app holds beside it (outside_lock held). */
static void outside_changed(void)
{
	struct shim_engine *e = shim_engine_if_open();

	if (e)
		gp_pager_set_vram_budget(e->pager, outside_bytes < e->budget ?
					 e->budget - outside_bytes : e->chunk_size);
}

void shim_outside_add(CUmemGenericAllocationHandle handle, uint64_t size)
{
	pthread_mutex_lock(&outside_lock);
	if (n_outside == cap_outside) {
		size_t cap = cap_outside ? cap_outside * 2 : 64;
		struct outside *n = realloc(outside, cap * sizeof(*n));

		if (n) {
			outside = n;
			cap_outside = cap;
		}
	}
	/* Out of memory for the table: not counted, which only makes the budget looser. */
	if (n_outside < cap_outside) {
		outside[n_outside++] = (struct outside){ handle, size };
		outside_bytes += size;
		outside_changed();
	}
	pthread_mutex_unlock(&outside_lock);
}

void shim_outside_remove(CUmemGenericAllocationHandle handle)
{
	pthread_mutex_lock(&outside_lock);
	for (size_t i = 0; i < n_outside; i++) {
		if (outside[i].handle != handle)
			continue;
		outside_bytes -= outside[i].size;
		outside[i] = outside[--n_outside];
		outside_changed();
		break;
	}
	pthread_mutex_unlock(&outside_lock);
}

uint64_t shim_engine_outside_total(void)
{
	uint64_t total;

	pthread_mutex_lock(&outside_lock);
	total = outside_bytes;
	pthread_mutex_unlock(&outside_lock);
	return total;
}

CUresult shim_cu_error(int gp_err)
{
	switch (gp_err) {
	case 0:
		return CUDA_SUCCESS;
	case GP_EDEVMEM:
	case GP_EHOSTMEM:
	case GP_ENOMEM:
		return CUDA_ERROR_OUT_OF_MEMORY;
	case GP_EINVAL:
	case GP_ERANGE:
	case GP_ENOENT:
		return CUDA_ERROR_INVALID_VALUE;
	default:
		return CUDA_ERROR_UNKNOWN;
	}
}
