/* pager_fixture.c - see pager_fixture.h. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_env.h"
#include "model.h"
#include "pager_fixture.h"
#include "sample.h"
#include "st_fixture.h"
#include "st_writer.h"

char *gp_test_model_new(double scale, uint64_t seed)
{
	char *dir = gp_test_st_dir_new();
	struct gp_sample_model sm = { .arch = GP_TEST_ARCH, .scale = scale, .seed = seed,
				      .dtype = -1 };
	struct gp_st_write_opts wo = { .out_dir = dir, .shard_size = 16u << 20 };
	struct gp_st_write_result res;
	int err = gp_sample_write_model(&sm, &wo, &res);

	cr_assert_eq(err, 0, "writing the sample model: %s", gp_last_error());
	return dir;
}

void gp_test_pager_open(struct gp_test_pager *t, const char *policy, double budget_pct)
{
	struct gp_pager_options po;
	struct gp_model_desc *desc;
	uint32_t n;
	int err;

	memset(t, 0, sizeof(*t));
	gp_test_cuda_env();
	t->dir = gp_test_model_new(GP_TEST_SCALE, GP_TEST_SEED);
	cr_assert_eq(gp_model_desc_load(t->dir, 0, NULL, &desc), 0, "%s", gp_last_error());
	gp_pager_options_init(&po);
	po.policy = policy;
	po.host_budget = desc->range_size + (32u << 20);
	/* The budget covers weights and the 2 MiB of result words. */
	po.vram_budget = budget_pct > 0 ? (uint64_t)((double)desc->range_size * budget_pct / 100.0)
					: desc->range_size;
	po.vram_budget += 2u << 20;
	gp_model_desc_free(desc);
	err = gp_pager_open(&po, &t->p);
	cr_assert_eq(err, 0, "gp_pager_open: %s", gp_last_error());
	err = gp_model_open(t->p, t->dir, &t->m);
	cr_assert_eq(err, 0, "gp_model_open: %s", gp_last_error());
	n = gp_model_tensor_count(t->m);
	cr_assert_eq(gp_kernels_load(t->p->gpu, &t->kernels), 0, "%s", gp_last_error());
	cr_assert_eq(gp_stream_create(t->p->gpu, &t->stream), 0);
	cr_assert_eq(gp_pager_alloc(t->p, 8ull * n, &t->results), 0, "%s", gp_last_error());
	t->words = calloc(n, sizeof(uint64_t));
	cr_assert(t->words);
}

void gp_test_pager_close(struct gp_test_pager *t)
{
	if (t->stream)
		gp_stream_sync(t->p->gpu, t->stream);
	if (t->results)
		gp_pager_free(t->p, t->results, t->stream);
	if (t->stream)
		gp_stream_destroy(t->p->gpu, t->stream);
	gp_kernels_unload(t->kernels);
	gp_model_close(t->m);
	gp_pager_close(t->p);
	free(t->words);
	gp_test_st_dir_remove(t->dir);
}

/* Read one result word back (pageable copy: tests only). */
static uint64_t read_word(struct gp_test_pager *t, uint32_t tensor)
{
	uint64_t w = 0;

	cr_assert_eq(gp_copy_d2h(t->p->gpu, &w, t->results + 8ull * tensor, 8, t->stream), 0);
	cr_assert_eq(gp_stream_sync(t->p->gpu, t->stream), 0);
	return w;
}

unsigned gp_test_check_group(struct gp_test_pager *t, uint32_t g)
{
	const struct gp_model_desc *d = t->m->desc;
	const struct gp_group *grp = &d->groups[g];
	uint64_t base = gp_model_device_base(t->m);
	unsigned bad = 0;
	int err;

	err = gp_acquire_group(t->m, g, t->stream);
	cr_assert_eq(err, 0, "acquire group %u: %s", g, gp_last_error());
	for (uint32_t i = 0; i < grp->n_tensors; i++) {
		const struct gp_st_tensor *ts = &d->tensors[grp->tensors[i]];

		t->words[grp->tensors[i]] = read_word(t, grp->tensors[i]);
		cr_assert_eq(gp_kernel_checksum(t->kernels, t->stream, base + ts->range_offset,
						ts->nbytes, 0, t->results + 8ull * grp->tensors[i]),
			     0, "%s", gp_last_error());
	}
	cr_assert_eq(gp_release_group(t->m, g, t->stream), 0, "%s", gp_last_error());
	for (uint32_t i = 0; i < grp->n_tensors; i++) {
		const struct gp_st_tensor *ts = &d->tensors[grp->tensors[i]];
		uint64_t got = read_word(t, grp->tensors[i]) - t->words[grp->tensors[i]];

		if (got != gp_sample_checksum(GP_TEST_SEED, ts->name, ts->nbytes))
			bad++;
	}
	return bad;
}

unsigned gp_test_check_pass(struct gp_test_pager *t)
{
	unsigned bad = 0;

	for (uint32_t g = 0; g < gp_model_group_count(t->m); g++)
		bad += gp_test_check_group(t, g);
	return bad;
}
