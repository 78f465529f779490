/*
 * test_pager_threads.c - several threads and two models on one pager at
 * once, with a budget below both models: every checksum still matches.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/cuda_env.h"
#include "common/pager_fixture.h"
#include "common/st_fixture.h"
#include "sample.h"

#define N_THREADS 4
#define ROUNDS 40

struct shared {
	struct gp_pager *p;
	struct gp_model *m[2];
	struct gp_kernels *kernels;
	uint64_t seeds[2];
};

struct worker {
	struct shared *s;
	unsigned id;
	unsigned bad, errors;
};

static uint64_t read_word(struct gp_gpu *gpu, uint64_t dev, CUstream stream)
{
	uint64_t w = 0;

	gp_copy_d2h(gpu, &w, dev, 8, stream);
	gp_stream_sync(gpu, stream);
	return w;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct shared *s = w->s;
	struct gp_gpu *gpu = s->p->gpu;
	uint64_t result, rng = w->id * 7919 + 1;
	CUstream stream;

	if (gp_stream_create(gpu, &stream) || gp_pager_alloc(s->p, 8, &result)) {
		w->errors++;
		return NULL;
	}
	for (int r = 0; r < ROUNDS; r++) {
		unsigned which = (unsigned)(gp_mix64(rng++) % 2);
		struct gp_model *m = s->m[which];
		uint32_t g = (uint32_t)(gp_mix64(rng++) % gp_model_group_count(m));
		const struct gp_group *grp = &m->desc->groups[g];
		const struct gp_st_tensor *t = &m->desc->tensors[grp->tensors[0]];
		uint64_t before, after;

		if (gp_acquire_group(m, g, stream)) {
			w->errors++;
			continue;
		}
		before = read_word(gpu, result, stream);
		gp_kernel_checksum(s->kernels, stream, gp_model_device_base(m) + t->range_offset,
				   t->nbytes, 0, result);
		gp_release_group(m, g, stream);
		after = read_word(gpu, result, stream);
		if (after - before != gp_sample_checksum(s->seeds[which], t->name, t->nbytes))
			w->bad++;
	}
	gp_pager_free(s->p, result);
	gp_stream_destroy(gpu, stream);
	return NULL;
}

Test(pager_threads, two_models_four_threads)
{
	struct shared s = { .seeds = { 11, 12 } };
	struct gp_pager_options po;
	struct worker w[N_THREADS];
	pthread_t th[N_THREADS];
	char *dirs[2];

	gp_test_cuda_env();
	for (int i = 0; i < 2; i++)
		dirs[i] = gp_test_model_new(GP_TEST_SCALE, s.seeds[i]);
	gp_pager_options_init(&po);
	po.host_budget = 256u << 20;
	po.vram_budget = 48u << 20;
	cr_assert_eq(gp_pager_open(&po, &s.p), 0, "%s", gp_last_error());
	for (int i = 0; i < 2; i++)
		cr_assert_eq(gp_model_open(s.p, dirs[i], &s.m[i]), 0, "%s", gp_last_error());
	cr_assert_eq(gp_kernels_load(s.p->gpu, &s.kernels), 0, "%s", gp_last_error());
	for (unsigned i = 0; i < N_THREADS; i++) {
		w[i] = (struct worker){ .s = &s, .id = i };
		cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (unsigned i = 0; i < N_THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(w[i].bad, 0, "thread %u: %u wrong checksums", i, w[i].bad);
		cr_expect_eq(w[i].errors, 0, "thread %u: %u failed calls (%s)", i, w[i].errors,
			     gp_last_error());
	}
	gp_kernels_unload(s.kernels);
	gp_pager_close(s.p);
	for (int i = 0; i < 2; i++)
		gp_test_st_dir_remove(dirs[i]);
}
