/*
 * pager_stress.c - threads against one pager with two models and a small
 * budget, verifying every checksum, then threads touching a userfaultfd
 * host view whose pool is too small for the file (faults, read-ahead and
 * evictions at once), while another thread reads the pager's stats, the
 * process's totals and the pagerstat segment and another lowers, raises
 * and trims the VRAM budget: the program to run under ThreadSanitizer
 * (`make pager-stress TSAN=1`), where Criterion cannot start.  Exit status
 * 0 when every checksum matched and no call failed.
 */
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostview.h"
#include "kernels.h"
#include "pager.h"
#include "sample.h"
#include "st_writer.h"

#define N_THREADS 3
#define ROUNDS 60
#define BUDGET (40u << 20)
#define LOW_BUDGET (16u << 20)   /* 3 groups and 3 result words fit */

struct shared {
	struct gp_pager *p;
	struct gp_model *m[2];
	struct gp_kernels *kernels;
	uint64_t seeds[2];
};

struct worker {
	struct shared *s;
	unsigned id, bad, errors;
};

/* The stats reader: runs until the workers are done, checks what it reads is sane. */
struct reader {
	struct shared *s;
	int done;               /* set (atomically) when the workers have joined */
	unsigned reads, errors;
};

static uint64_t read_word(struct gp_gpu *gpu, uint64_t dev, CUstream stream)
{
	uint64_t w = 0;

	gp_copy_d2h(gpu, &w, dev, 8, stream);
	gp_stream_sync(gpu, stream);
	return w;
}

static void one_round(struct worker *w, CUstream stream, uint64_t result, uint64_t *rng)
{
	struct shared *s = w->s;
	unsigned which = (unsigned)(gp_mix64((*rng)++) % 2);
	struct gp_model *m = s->m[which];
	uint32_t g = (uint32_t)(gp_mix64((*rng)++) % gp_model_group_count(m));
	const struct gp_st_tensor *t = &m->desc->tensors[m->desc->groups[g].tensors[0]];
	uint64_t before;

	if (gp_acquire_group(m, g, stream)) {
		fprintf(stderr, "thread %u: %s\n", w->id, gp_last_error());
		w->errors++;
		return;
	}
	before = read_word(s->p->gpu, result, stream);
	gp_kernel_checksum(s->kernels, stream, gp_model_device_base(m) + t->range_offset,
			   t->nbytes, 0, result);
	gp_release_group(m, g, stream);
	if (read_word(s->p->gpu, result, stream) - before !=
	    gp_sample_checksum(s->seeds[which], t->name, t->nbytes))
		w->bad++;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t result, rng = w->id * 7919 + 1;
	CUstream stream;

	if (gp_stream_create(w->s->p->gpu, &stream) || gp_pager_alloc(w->s->p, 8, &result)) {
		w->errors++;
		return NULL;
	}
	for (int r = 0; r < ROUNDS; r++)
		one_round(w, stream, result, &rng);
	gp_pager_free(w->s->p, result, stream);
	gp_stream_destroy(w->s->p->gpu, stream);
	return NULL;
}

struct toucher {
	const uint8_t *view;
	const uint8_t *file;    /* the same bytes, from a plain mapping */
	uint64_t size;
	unsigned id, bad;
};

/* Random 64 KiB windows of the view must equal the file's. */
static void *touch(void *arg)
{
	struct toucher *t = arg;
	uint64_t rng = t->id * 104729 + 7;

	for (int r = 0; r < 200; r++) {
		uint64_t off = gp_mix64(rng++) % t->size, len = 65536;

		if (len > t->size - off)
			len = t->size - off;
		if (memcmp(t->view + off, t->file + off, len))
			t->bad++;
	}
	return NULL;
}

/* Three threads over a host view of path through a 4-slot pool. */
static unsigned view_stress(const char *path)
{
	struct gp_host_pool_opts popts = { .budget = 4u << 21, .slot_size = 2u << 20,
					   .numa_node = -1 };
	struct gp_host_view_opts vopts = { .path = path };
	struct gp_io_opts iopts;
	struct gp_io *io = NULL;
	struct gp_host_pool *pool = NULL;
	struct gp_io_file *file = NULL;
	struct gp_host_view *view = NULL;
	struct toucher t[N_THREADS];
	pthread_t th[N_THREADS];
	unsigned failures = 0;
	void *map = MAP_FAILED;
	struct stat st;
	int fd = open(path, O_RDONLY);

	gp_io_opts_default(&iopts);
	if (fd < 0 || fstat(fd, &st) || gp_io_open(&iopts, &io) ||
	    gp_host_pool_open(&popts, &pool) ||
	    gp_io_add_file(io, path, (uint64_t)st.st_size, &file))
		goto fail;
	vopts.pool = pool;
	vopts.io = io;
	vopts.file = file;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED || gp_host_view_open(&vopts, &view))
		goto fail;
	for (unsigned i = 0; i < N_THREADS; i++) {
		t[i] = (struct toucher){ gp_host_view_base(view), map, (uint64_t)st.st_size, i, 0 };
		pthread_create(&th[i], NULL, touch, &t[i]);
	}
	for (unsigned i = 0; i < N_THREADS; i++) {
		pthread_join(th[i], NULL);
		failures += t[i].bad;
	}
	printf("view stress: %d threads x 200 windows of a %s view, %u mismatches\n", N_THREADS,
	       gp_host_view_kind(view) == GP_VIEW_UFFD ? "userfaultfd" : "mmap", failures);
	goto out;
fail:
	fprintf(stderr, "view stress: %s\n", gp_last_error());
	failures++;
out:
	gp_host_view_close(view);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	if (file)
		gp_io_remove_file(io, file);
	gp_host_pool_close(pool);
	gp_io_close(io);
	if (fd >= 0)
		close(fd);
	return failures;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int write_model(const char *dir, uint64_t seed)
{
	struct gp_sample_model sm = { .arch = "wan2.1-14b", .scale = 0.04, .seed = seed,
				      .dtype = -1 };
	struct gp_st_write_opts wo = { .out_dir = dir, .shard_size = 16u << 20, .force = 1 };
	struct gp_st_write_result res;

	return gp_sample_write_model(&sm, &wo, &res);
}

/*
 * The budget between BUDGET and LOW_BUDGET, and trims, while the workers
 * page: every call succeeds or (lowering under acquired chunks) is GP_EBUSY.
 */
struct budgeter {
	struct shared *s;
	int done;               /* set (atomically) when the workers have joined */
	unsigned changes, trims, busy, errors;
	uint64_t released;
};

static void *change_budget(void *arg)
{
	struct budgeter *b = arg;

	while (!__atomic_load_n(&b->done, __ATOMIC_ACQUIRE)) {
		uint64_t released = 0;
		int err = gp_pager_set_vram_budget(b->s->p, b->changes % 2 ? BUDGET : LOW_BUDGET);

		if (err == GP_EBUSY)
			b->busy++;
		else if (err)
			b->errors++;
		b->changes++;
		err = gp_pager_trim(b->s->p, b->trims % 2 ? 0 : 4u << 20, &released);
		if (err) {
			fprintf(stderr, "budget thread: %s\n", gp_last_error());
			b->errors++;
		}
		b->trims++;
		b->released += released;
		usleep(2000);
	}
	if (gp_pager_set_vram_budget(b->s->p, BUDGET))
		b->errors++;
	return NULL;
}

/* Counters only grow; memory held never exceeds the budget; every call succeeds. */
static void *read_stats(void *arg)
{
	struct reader *r = arg;
	const struct gp_stats_segment *seg = NULL;
	uint64_t last_acquires = 0, last_segment = 0;
	char line[256];

	if (gp_stats_attach(getpid(), &seg))
		r->errors++;
	while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
		struct gp_pager_stats ps = { .struct_size = sizeof(ps) };
		struct gp_pager_stats total = { .struct_size = sizeof(total) };
		struct gp_group_info gi = { .struct_size = sizeof(gi) };
		uint64_t acquires, seg_h2d;

		if (gp_pager_get_stats(r->s->p, &ps) || gp_process_get_stats(&total) ||
		    gp_pager_stats_line(r->s->p, line, sizeof(line)) < 0 ||
		    gp_model_group_info(r->s->m[r->reads % 2], r->reads % 4, &gi)) {
			fprintf(stderr, "stats reader: %s\n", gp_last_error());
			r->errors++;
			break;
		}
		acquires = ps.hits + ps.misses;
		/* The budget thread may leave the pool above a lowered budget (GP_EBUSY) for a while. */
		if (acquires < last_acquires || ps.vram_used > BUDGET ||
		    gi.resident_chunks > gi.total_chunks || total.bytes_h2d < ps.bytes_h2d) {
			fprintf(stderr, "stats reader: inconsistent figures (%s)\n", line);
			r->errors++;
		}
		last_acquires = acquires;
		if (seg) {
			seg_h2d = __atomic_load_n(&seg->counters[GP_STAT_BYTES_H2D], __ATOMIC_RELAXED);
			if (seg_h2d < last_segment)
				r->errors++;
			last_segment = seg_h2d;
		}
		r->reads++;
	}
	gp_stats_detach(seg);
	return NULL;
}

int main(void)
{
	struct shared s = { .seeds = { 21, 22 } };
	struct gp_pager_options po;
	struct worker w[N_THREADS];
	struct reader reader = { .s = &s };
	struct budgeter budgeter = { .s = &s };
	pthread_t th[N_THREADS], reader_thread, budget_thread;
	char dirs[2][64], pattern[96];
	glob_t shards;
	unsigned failures = 0;

	setenv("GPUPAGER_CUDA_LIB", GP_BUILD_DIR "/lib/sim/libcuda.so.1", 0);
	for (int i = 0; i < 2; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "/tmp/gp-stress-%d-%d", (int)getpid(), i);
		if (write_model(dirs[i], s.seeds[i]))
			goto fail;
	}
	gp_pager_options_init(&po);
	po.host_budget = 192u << 20;
	po.vram_budget = BUDGET;
	if (gp_pager_open(&po, &s.p) || gp_model_open(s.p, dirs[0], &s.m[0]) ||
	    gp_model_open(s.p, dirs[1], &s.m[1]) || gp_kernels_load(s.p->gpu, &s.kernels))
		goto fail;
	for (unsigned i = 0; i < N_THREADS; i++) {
		w[i] = (struct worker){ .s = &s, .id = i };
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	pthread_create(&reader_thread, NULL, read_stats, &reader);
	pthread_create(&budget_thread, NULL, change_budget, &budgeter);
	for (unsigned i = 0; i < N_THREADS; i++) {
		pthread_join(th[i], NULL);
		failures += w[i].bad + w[i].errors;
	}
	__atomic_store_n(&reader.done, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&budgeter.done, 1, __ATOMIC_RELEASE);
	pthread_join(reader_thread, NULL);
	pthread_join(budget_thread, NULL);
	failures += reader.errors + budgeter.errors;
	if (!budgeter.changes || !budgeter.trims)
		failures++;
	if (!reader.reads)
		failures++;
	gp_kernels_unload(s.kernels);
	gp_pager_close(s.p);
	snprintf(pattern, sizeof(pattern), "%s/*.safetensors", dirs[0]);
	if (glob(pattern, 0, NULL, &shards) || !shards.gl_pathc) {
		fprintf(stderr, "view stress: no shard matches %s\n", pattern);
		failures++;
	} else {
		failures += view_stress(shards.gl_pathv[0]);
	}
	globfree(&shards);
	for (int i = 0; i < 2; i++)
		if (nftw(dirs[i], remove_entry, 8, FTW_DEPTH | FTW_PHYS))
			failures++;
	printf("pager stress: %d threads x %d rounds over two models, %u stats reads, %u budget "
	       "changes (%u busy), %u trims (%llu MiB released), %u failures\n", N_THREADS, ROUNDS,
	       reader.reads, budgeter.changes, budgeter.busy, budgeter.trims,
	       (unsigned long long)(budgeter.released >> 20), failures);
	return failures ? 1 : 0;
fail:
	fprintf(stderr, "pager stress: %s\n", gp_last_error());
	return 1;
}
