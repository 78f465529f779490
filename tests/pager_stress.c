/*
 * pager_stress.c - threads against one pager with two models and a small
 * budget, verifying every checksum: the program to run under
 * ThreadSanitizer (`make pager-stress TSAN=1`), where Criterion cannot start.
 * Exit status 0 when every checksum matched and no call failed.
 */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels.h"
#include "pager.h"
#include "sample.h"
#include "st_writer.h"

#define N_THREADS 3
#define ROUNDS 60

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
	gp_pager_free(w->s->p, result);
	gp_stream_destroy(w->s->p->gpu, stream);
	return NULL;
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

int main(void)
{
	struct shared s = { .seeds = { 21, 22 } };
	struct gp_pager_options po;
	struct worker w[N_THREADS];
	pthread_t th[N_THREADS];
	char dirs[2][64];
	unsigned failures = 0;

	setenv("GPUPAGER_CUDA_LIB", GP_BUILD_DIR "/lib/sim/libcuda.so.1", 0);
	for (int i = 0; i < 2; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "/tmp/gp-stress-%d-%d", (int)getpid(), i);
		if (write_model(dirs[i], s.seeds[i]))
			goto fail;
	}
	gp_pager_options_init(&po);
	po.host_budget = 192u << 20;
	po.vram_budget = 40u << 20;
	if (gp_pager_open(&po, &s.p) || gp_model_open(s.p, dirs[0], &s.m[0]) ||
	    gp_model_open(s.p, dirs[1], &s.m[1]) || gp_kernels_load(s.p->gpu, &s.kernels))
		goto fail;
	for (unsigned i = 0; i < N_THREADS; i++) {
		w[i] = (struct worker){ .s = &s, .id = i };
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (unsigned i = 0; i < N_THREADS; i++) {
		pthread_join(th[i], NULL);
		failures += w[i].bad + w[i].errors;
	}
	gp_kernels_unload(s.kernels);
	gp_pager_close(s.p);
	for (int i = 0; i < 2; i++)
		if (nftw(dirs[i], remove_entry, 8, FTW_DEPTH | FTW_PHYS))
			failures++;
	printf("pager stress: %d threads x %d rounds over two models, %u failures\n", N_THREADS,
	       ROUNDS, failures);
	return failures ? 1 : 0;
fail:
	fprintf(stderr, "pager stress: %s\n", gp_last_error());
	return 1;
}
