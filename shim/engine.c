/*
 * engine.c - the pagers behind the shim: one per device, each opened on
 * the first call that needs it on that device (the device of the caller's
 * context), with one heap for the app's allocations there.  Loading the
 * shim into a process that never uses CUDA (a shell under `gpupager exec`)
 * costs nothing.
 *
 * After fork() the child has none of the parent's threads or device
 * state; as with the driver itself, it may not use CUDA: the shim's
 * calls fail there with CUDA_ERROR_NOT_INITIALIZED.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "gpu.h"
#include "heap.h"
#include "log.h"
#include "pager.h"
#include "shim.h"

enum engine_state { ENGINE_UNTRIED, ENGINE_OPEN, ENGINE_FAILED };

static struct shim_engine engines[SHIM_MAX_DEVICES];
/* enum engine_state; written under open_lock (release), read without it (acquire). */
static int engine_state[SHIM_MAX_DEVICES];
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
/* One past the highest device with an open engine: shim_engine_of looks no further. */
static int engines_top;
static pid_t engine_pid;
/*
 * Set in a child forked after an engine opened: every wrapped call asks, so
 * a flag set by an atfork handler rather than a getpid() system call each time.
 */
static bool forked_child;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void mark_forked_child(void)
{
	__atomic_store_n(&forked_child, true, __ATOMIC_RELAXED);
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, mark_forked_child);
}

/* Bit p of peer_grants[d]: device p's kernels may use device d's memory (under open_lock). */
static uint32_t peer_grants[SHIM_MAX_DEVICES];

/* Lock held (open_lock), e open. */
static void grant_peers(struct shim_engine *e, uint32_t peers)
{
	for (int p = 0; p < 32; p++) {
		if (!(peers >> p & 1) || !gp_pager_grant_peer(e->pager, p))
			continue;
		gp_log_warn("shim: device %d's kernels cannot be given access to device %d's "
			    "memory (%s); they fault where they use it", p, e->device,
			    gp_last_error());
		gp_clear_error();
	}
}

void shim_engine_grant_peer(int owner, int peer)
{
	if (owner < 0 || owner >= SHIM_MAX_DEVICES || peer < 0 || peer >= 32 || owner == peer)
		return;
	pthread_mutex_lock(&open_lock);
	peer_grants[owner] |= 1u << peer;
	if (engine_state[owner] == ENGINE_OPEN)
		grant_peers(&engines[owner], 1u << peer);
	pthread_mutex_unlock(&open_lock);
}

static bool stats_registered;
/* Physical memory the app made itself with cuMemCreate, by handle. */
struct outside {
	CUmemGenericAllocationHandle handle;
	uint64_t size;
	int device;
};
static pthread_mutex_t outside_lock = PTHREAD_MUTEX_INITIALIZER;
static struct outside *outside;
static size_t n_outside, cap_outside;
static uint64_t outside_bytes[SHIM_MAX_DEVICES];

static const char *const evict_text[] = {
	[GP_SHIM_EVICT_ALL] = "any app allocation (swapped to the host tier before reuse)",
	[GP_SHIM_EVICT_NONE] = "nothing (allocations are only counted against the budget)",
	[GP_SHIM_EVICT_WEIGHTS] = "only chunks copied from .safetensors files (re-read from them)",
};

/* GPUPAGER_SHIM_STATS=1: the pager's line and what moved, when the app exits. */
static void print_engine_stats(struct shim_engine *engine)
{
	struct gp_pager_stats st = { .struct_size = sizeof(st) };
	char line[256], h2d[32], d2h[32], used[32];
	struct gp_heap_back_stats fb;

	gp_pager_stats_line(engine->pager, line, sizeof(line));
	gp_pager_get_stats(engine->pager, &st);
	gp_heap_back_get_stats(engine->heap, &fb);
	fprintf(stderr, "gpupager shim: device %d: %s; app memory held %s, copied in %s, "
		"swapped out %s, %llu evictions; weights: %llu chunks from files, %llu dropped, %llu found "
		"written and swapped, %llu bytes read from disk\n", engine->device, line,
		gp_format_size(shim_heap_used(engine), used, sizeof(used)),
		gp_format_size(st.bytes_h2d, h2d, sizeof(h2d)),
		gp_format_size(st.bytes_d2h, d2h, sizeof(d2h)),
		(unsigned long long)st.dev_evictions, (unsigned long long)fb.file_chunks,
		(unsigned long long)fb.dropped, (unsigned long long)fb.written,
		(unsigned long long)st.bytes_disk);
}

/* GPUPAGER_SHIM_STATS_FILE: the same counters, exact, one JSON object per line. */
static void write_engine_stats(struct shim_engine *engine, FILE *out)
{
	struct gp_pager_stats st = { .struct_size = sizeof(st) };
	struct gp_heap_back_stats fb;

	gp_pager_get_stats(engine->pager, &st);
	gp_heap_back_get_stats(engine->heap, &fb);
	fprintf(out, "{\"pid\": %d, \"device\": %d, \"budget\": %llu, \"app_bytes\": %llu, "
		"\"bytes_disk\": %llu, \"bytes_h2d\": %llu, \"bytes_d2h\": %llu, "
		"\"host_hits\": %llu, \"dev_evictions\": %llu, \"file_chunks\": %llu, "
		"\"dropped\": %llu, \"written\": %llu, \"stall_ns\": %llu}\n", (int)getpid(),
		engine->device, (unsigned long long)engine->budget,
		(unsigned long long)shim_heap_used(engine), (unsigned long long)st.bytes_disk,
		(unsigned long long)st.bytes_h2d, (unsigned long long)st.bytes_d2h,
		(unsigned long long)st.host_hits, (unsigned long long)st.dev_evictions,
		(unsigned long long)fb.file_chunks, (unsigned long long)fb.dropped,
		(unsigned long long)fb.written, (unsigned long long)st.stall_ns);
}

static void print_stats_at_exit(void)
{
	const struct gp_config *cfg;
	FILE *file = NULL;

	if (getpid() != __atomic_load_n(&engine_pid, __ATOMIC_ACQUIRE) || gp_config_get(&cfg))
		return;
	if (cfg->shim_stats_file && !(file = fopen(cfg->shim_stats_file, "a")))
		gp_log_error("shim: cannot append the stats to %s (GPUPAGER_SHIM_STATS_FILE): %s",
			     cfg->shim_stats_file, strerror(errno));
	for (int d = 0; d < SHIM_MAX_DEVICES; d++) {
		if (__atomic_load_n(&engine_state[d], __ATOMIC_ACQUIRE) != ENGINE_OPEN)
			continue;
		if (cfg->shim_stats)
			print_engine_stats(&engines[d]);
		if (file)
			write_engine_stats(&engines[d], file);
	}
	if (file)
		fclose(file);
}

/* The current context's device; 0 without a context (the driver's default device). */
static int current_device(void)
{
	CUdevice dev = 0;

	if (shim_real.cuCtxGetDevice && shim_real.cuCtxGetDevice(&dev) == CUDA_SUCCESS)
		return (int)dev;
	return 0;
}

static int open_engine(struct shim_engine *engine, const struct gp_config *cfg)
{
	struct gp_pager_options o;
	struct gp_pager *p;
	uint64_t free_mem, total_mem, host_budget;
	int err;

	gp_pager_options_init(&o);
	o.device = engine->device;
	o.driver_path = shim_real.driver_path;
	err = gp_pager_open(&o, &engine->pager);
	if (err)
		return err;
	/* Not gp_pager_info: it measures the link, which an app's start should not wait for. */
	p = engine->pager;
	err = gp_gpu_mem_info(p->gpu, &free_mem, &total_mem);
	if (err)
		return err;
	host_budget = (uint64_t)gp_host_pool_slot_count(p->host) * gp_host_pool_slot_size(p->host);
	engine->chunk_size = p->chunk_size;
	engine->budget = p->vram_budget;
	engine->evict = cfg->shim_evict;
	engine->heap_size = cfg->shim_heap ? cfg->shim_heap : total_mem + host_budget;
	engine->heap_size -= engine->heap_size % engine->chunk_size;
	err = gp_heap_open(engine->pager, "app allocations (shim)", engine->heap_size,
			   &engine->heap);
	if (!err && cfg->shim_evict != GP_SHIM_EVICT_NONE)
		err = gp_heap_back_enable(engine->heap, cfg->shim_evict == GP_SHIM_EVICT_ALL);
	if (err)
		return err;
	engine->heap_base = gp_model_device_base(engine->heap);
	gp_log_info("shim: active in pid %d on device %d, wrapping the CUDA driver %s "
		    "(version %d) on %s; VRAM budget %llu MiB, host tier %llu MiB, heap %llu MiB of address space; "
		    "GPUPAGER_SHIM_EVICT=weights evicts %s, all %s, none %s; now: %s",
		    (int)getpid(), engine->device, shim_real.driver_path, p->gpu->drv->version,
		    p->gpu->name,
		    (unsigned long long)(engine->budget >> 20),
		    (unsigned long long)(host_budget >> 20),
		    (unsigned long long)(engine->heap_size >> 20), evict_text[GP_SHIM_EVICT_WEIGHTS],
		    evict_text[GP_SHIM_EVICT_ALL], evict_text[GP_SHIM_EVICT_NONE],
		    cfg->shim_evict == GP_SHIM_EVICT_ALL ? "all" :
		    cfg->shim_evict == GP_SHIM_EVICT_NONE ? "none" : "weights");
	return 0;
}

/* Open device dev's engine (open_lock held); ENGINE_OPEN or ENGINE_FAILED. */
static int engine_load(int dev)
{
	struct shim_engine *e = &engines[dev];
	const struct gp_config *cfg;
	int err;

	if (!__atomic_load_n(&engine_pid, __ATOMIC_ACQUIRE))
		__atomic_store_n(&engine_pid, getpid(), __ATOMIC_RELEASE);
	pthread_once(&atfork_once, register_atfork);
	e->device = dev;
	err = gp_config_get(&cfg);
	if (!err)
		err = open_engine(e, cfg);
	if (err) {
		gp_log_error("shim: the pager could not start on device %d (%s: %s); the app's "
			     "CUDA calls there go straight to the driver, without paging", dev,
			     gp_error_name(err), gp_last_error());
		if (e->pager)
			gp_pager_close(e->pager);
		e->pager = NULL;
		e->heap = NULL;
		return ENGINE_FAILED;
	}
	grant_peers(e, peer_grants[dev]);
	if ((cfg->shim_stats || cfg->shim_stats_file) && !stats_registered) {
		stats_registered = true;
		atexit(print_stats_at_exit);
	}
	return ENGINE_OPEN;
}

bool shim_in_forked_child(void)
{
	return __atomic_load_n(&forked_child, __ATOMIC_RELAXED);
}

struct shim_engine *shim_engine(void)
{
	CUcontext ctx;
	int dev, state;

	if (!shim_real_init())
		return NULL;
	dev = current_device();
	if (dev < 0 || dev >= SHIM_MAX_DEVICES)
		return NULL;
	state = __atomic_load_n(&engine_state[dev], __ATOMIC_ACQUIRE);
	if (state == ENGINE_UNTRIED) {
		/* Opening binds the device's primary context (unbinds it on failure): the app's stays. */
		ctx = shim_ctx_get();
		pthread_mutex_lock(&open_lock);
		state = __atomic_load_n(&engine_state[dev], __ATOMIC_ACQUIRE);
		if (state == ENGINE_UNTRIED) {
			state = engine_load(dev);
			__atomic_store_n(&engine_state[dev], state, __ATOMIC_RELEASE);
			if (state == ENGINE_OPEN && dev >= engines_top)
				__atomic_store_n(&engines_top, dev + 1, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&open_lock);
		shim_ctx_put_back(ctx);
	}
	return state == ENGINE_OPEN ? &engines[dev] : NULL;
}

struct shim_engine *shim_engine_if_open(void)
{
	int dev;

	if (!shim_real.cuCtxGetDevice)
		return NULL;
	dev = current_device();
	if (dev < 0 || dev >= SHIM_MAX_DEVICES ||
	    __atomic_load_n(&engine_state[dev], __ATOMIC_ACQUIRE) != ENGINE_OPEN)
		return NULL;
	return &engines[dev];
}

struct shim_engine *shim_engine_of(uint64_t ptr)
{
	int top = __atomic_load_n(&engines_top, __ATOMIC_ACQUIRE);

	for (int d = 0; d < top; d++) {
		struct shim_engine *e = &engines[d];

		if (__atomic_load_n(&engine_state[d], __ATOMIC_ACQUIRE) == ENGINE_OPEN &&
		    ptr >= e->heap_base && ptr - e->heap_base < e->heap_size)
			return e;
	}
	return NULL;
}

/* Device dev's chunk pool makes room for what the app holds beside it (outside_lock held). */
static void outside_changed(int dev)
{
	struct shim_engine *e = &engines[dev];
	uint64_t held = outside_bytes[dev];

	if (__atomic_load_n(&engine_state[dev], __ATOMIC_ACQUIRE) == ENGINE_OPEN)
		gp_pager_set_vram_budget(e->pager, held < e->budget ? e->budget - held :
					 e->chunk_size);
}

void shim_outside_add(CUmemGenericAllocationHandle handle, uint64_t size, int device)
{
	if (device < 0 || device >= SHIM_MAX_DEVICES)
		return;
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
		outside[n_outside++] = (struct outside){ handle, size, device };
		outside_bytes[device] += size;
		outside_changed(device);
	}
	pthread_mutex_unlock(&outside_lock);
}

void shim_outside_remove(CUmemGenericAllocationHandle handle)
{
	pthread_mutex_lock(&outside_lock);
	for (size_t i = 0; i < n_outside; i++) {
		int dev = outside[i].device;

		if (outside[i].handle != handle)
			continue;
		outside_bytes[dev] -= outside[i].size;
		outside[i] = outside[--n_outside];
		outside_changed(dev);
		break;
	}
	pthread_mutex_unlock(&outside_lock);
}

uint64_t shim_engine_outside_total(const struct shim_engine *e)
{
	uint64_t total;

	pthread_mutex_lock(&outside_lock);
	total = outside_bytes[e->device];
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
