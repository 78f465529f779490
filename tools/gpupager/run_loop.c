/*
 * run_loop.c - `gpupager run`'s forward passes: per group, acquire it on
 * the compute stream, checksum each tensor on the device into its own
 * result word, simulate the compute, release.  Result words accumulate
 * (the kernel adds), so a step's checksums are the difference of the
 * words read after it and before it: no memset needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "kernels.h"
#include "model.h"
#include "pager.h"
#include "run.h"

struct run_ctx {
	const struct run_opts *o;
	struct run_result *r;
	struct gp_pager *p;
	struct gp_model *m;
	struct gp_kernels *kernels;
	CUstream stream;
	uint64_t results;               /* device: one word per tensor */
	uint64_t *before, *after;       /* host copies of the words */
	uint64_t *expected;             /* per tensor, from the files (--verify) */
	uint64_t *compute_ns;           /* per group, simulated */
	void *pinned;                   /* pinned staging for the words */
};

static void sleep_ns(void *arg)
{
	uint64_t ns = (uint64_t)(uintptr_t)arg;
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	nanosleep(&ts, NULL);
}

static void progress(const struct run_ctx *c, unsigned step, uint32_t group)
{
	if (!c->o->progress || c->o->json)
		return;
	fprintf(stderr, "\rstep %u/%u  group %u/%u  [%-30.*s]", step + 1, c->r->steps, group + 1,
		c->r->n_groups, (int)(30 * (group + 1) / c->r->n_groups),
		"##############################");
	fflush(stderr);
}

/* A phase that can take seconds, on the progress line (a terminal only). */
static void __attribute__((format(printf, 2, 3))) status(const struct run_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->progress || o->json)
		return;
	fprintf(stderr, "\r%-70s\r", "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "...");
	fflush(stderr);
}

/* Expected checksum of every tensor, read from the files with mmap. */
static int expected_checksums(struct run_ctx *c)
{
	const struct gp_model_desc *d = c->m->desc;
	uint64_t t0 = gp_now_ns();

	c->expected = calloc(d->n_tensors, sizeof(*c->expected));
	if (!c->expected)
		return gp_fail(GP_ENOMEM, "out of memory");
	for (uint32_t f = 0; f < d->n_files; f++) {
		int fd = open(d->files[f].path, O_RDONLY | O_CLOEXEC);
		void *map;

		if (fd < 0)
			return gp_fail(GP_EIO, "%s: %s", d->files[f].path, strerror(errno));
		map = mmap(NULL, d->files[f].size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (map == MAP_FAILED)
			return gp_fail(GP_EIO, "%s: mmap: %s", d->files[f].path, strerror(errno));
		madvise(map, d->files[f].size, MADV_SEQUENTIAL);
		for (uint32_t t = 0; t < d->n_tensors; t++)
			if (d->tensors[t].file == f)
				c->expected[t] = gp_checksum((const uint8_t *)map +
							     d->tensors[t].file_offset,
							     d->tensors[t].nbytes);
		munmap(map, d->files[f].size);
	}
	c->r->expected_s = (double)(gp_now_ns() - t0) / 1e9;
	return 0;
}

static int read_words(struct run_ctx *c, uint64_t *dst)
{
	size_t len = sizeof(uint64_t) * c->r->n_tensors;
	int err;

	err = gp_copy_d2h(c->p->gpu, c->pinned, c->results, len, c->stream);
	if (!err)
		err = gp_stream_sync(c->p->gpu, c->stream);
	if (!err)
		memcpy(dst, c->pinned, len);
	return err;
}

static int run_group(struct run_ctx *c, uint32_t g)
{
	const struct gp_model_desc *d = c->m->desc;
	const struct gp_group *grp = &d->groups[g];
	uint64_t base = gp_model_device_base(c->m);
	int err;

	err = gp_acquire_group(c->m, g, c->stream);
	if (err)
		return err;
	for (uint32_t i = 0; !err && i < grp->n_tensors; i++) {
		const struct gp_st_tensor *t = &d->tensors[grp->tensors[i]];

		if (t->nbytes)
			err = gp_kernel_checksum(c->kernels, c->stream, base + t->range_offset,
						 t->nbytes, 0,
						 c->results + 8ull * grp->tensors[i]);
	}
	if (!err && c->compute_ns[g])
		err = gp_stream_host_func(c->p->gpu, c->stream, sleep_ns,
					  (void *)(uintptr_t)c->compute_ns[g]);
	if (!err)
		err = gp_release_group(c->m, g, c->stream);
	else
		gp_release_group(c->m, g, c->stream);
	return err;
}

static int check_step(struct run_ctx *c, unsigned step)
{
	const struct gp_model_desc *d = c->m->desc;

	for (uint32_t t = 0; t < d->n_tensors; t++) {
		uint64_t got = c->after[t] - c->before[t];

		if (!d->tensors[t].nbytes)
			continue;
		c->r->verified++;
		if (got != c->expected[t] && c->r->mismatches++ < 5)
			fprintf(stderr, "gpupager run: step %u: tensor '%s': device checksum "
				"%016llx, file %016llx\n", step + 1, d->tensors[t].name,
				(unsigned long long)got, (unsigned long long)c->expected[t]);
	}
	return 0;
}

static int run_steps(struct run_ctx *c)
{
	struct gp_pager_stats s0, s1;
	int err = read_words(c, c->before);

	for (unsigned step = 0; !err && step < c->r->steps; step++) {
		uint64_t t0 = gp_now_ns();

		gp_pager_get_stats(c->p, &s0);
		for (uint32_t g = 0; !err && g < c->r->n_groups; g++) {
			progress(c, step, g);
			err = run_group(c, g);
		}
		if (!err)
			err = read_words(c, c->after);
		if (err)
			break;
		c->r->step_s[step] = (double)(gp_now_ns() - t0) / 1e9;
		gp_pager_get_stats(c->p, &s1);
		c->r->step_h2d[step] = s1.bytes_h2d - s0.bytes_h2d;
		c->r->step_disk[step] = s1.bytes_disk - s0.bytes_disk;
		if (c->o->verify)
			check_step(c, step);
		memcpy(c->before, c->after, sizeof(uint64_t) * c->r->n_tensors);
	}
	if (c->o->progress && !c->o->json)
		fprintf(stderr, "\r%70s\r", "");
	return err;
}

/*
 * What the lower bound needs: H2D bandwidth from pinned memory and the
 * checksum kernel's rate, each from 16 passes over the scratch buffer.
 */
static int measure_device(struct run_ctx *c, uint64_t scratch, void *pinned, uint64_t len)
{
	uint64_t t0, t1;
	/* One untimed copy first: the scratch's first touch is not the link's speed. */
	int err = gp_copy_h2d(c->p->gpu, scratch, pinned, len, c->stream);

	if (!err)
		err = gp_stream_sync(c->p->gpu, c->stream);
	t0 = gp_now_ns();
	for (int i = 0; !err && i < 16; i++)
		err = gp_copy_h2d(c->p->gpu, scratch, pinned, len, c->stream);
	if (!err)
		err = gp_stream_sync(c->p->gpu, c->stream);
	t1 = gp_now_ns();
	for (int i = 0; !err && i < 16; i++)
		err = gp_kernel_checksum(c->kernels, c->stream, scratch, len - 8, 0,
					 scratch + len - 8);
	if (!err)
		err = gp_stream_sync(c->p->gpu, c->stream);
	if (err)
		return err;
	c->r->link_gbps = 16.0 * (double)len / (double)(t1 - t0);
	c->r->kernel_s_per_step = (double)c->r->model_bytes * (double)(gp_now_ns() - t1) /
				  (16.0 * (double)len) / 1e9;
	return 0;
}

static int setup(struct run_ctx *c)
{
	const struct gp_model_desc *d = c->m->desc;
	size_t words = sizeof(uint64_t) * d->n_tensors;
	/* At least 16 MiB, so the measurements above are not all overhead. */
	uint64_t result_bytes = words > (16ull << 20) ? words : (16ull << 20);
	double total_ns = 0;
	int err;

	c->before = calloc(d->n_tensors, sizeof(uint64_t));
	c->after = calloc(d->n_tensors, sizeof(uint64_t));
	c->compute_ns = calloc(d->n_groups, sizeof(uint64_t));
	c->r->step_s = calloc(c->r->steps, sizeof(double));
	c->r->step_h2d = calloc(c->r->steps, sizeof(uint64_t));
	c->r->step_disk = calloc(c->r->steps, sizeof(uint64_t));
	if (posix_memalign(&c->pinned, 4096, result_bytes))
		c->pinned = NULL;
	if (!c->before || !c->after || !c->compute_ns || !c->r->step_s || !c->r->step_h2d ||
	    !c->r->step_disk || !c->pinned)
		return gp_fail(GP_ENOMEM, "out of memory");
	memset(c->pinned, 0, result_bytes);
	for (uint32_t g = 0; g < d->n_groups; g++) {
		c->compute_ns[g] = (uint64_t)((double)d->groups[g].nbytes / 1e9 *
					      c->o->compute_ms_per_gb * 1e6);
		total_ns += (double)c->compute_ns[g];
	}
	c->r->simulated_s_per_step = total_ns / 1e9;
	err = gp_gpu_host_register(c->p->gpu, c->pinned, result_bytes);
	if (!err)
		err = gp_kernels_load(c->p->gpu, &c->kernels);
	if (!err)
		err = gp_stream_create(c->p->gpu, &c->stream);
	if (!err)
		err = gp_pager_alloc(c->p, result_bytes, &c->results);
	if (!err)
		err = measure_device(c, c->results, c->pinned, result_bytes);
	return err;
}

static void teardown(struct run_ctx *c)
{
	if (c->stream)
		gp_stream_sync(c->p->gpu, c->stream);
	if (c->results)
		gp_pager_free(c->p, c->results, c->stream);
	if (c->stream)
		gp_stream_destroy(c->p->gpu, c->stream);
	gp_kernels_unload(c->kernels);
	if (c->pinned) {
		gp_gpu_host_unregister(c->p->gpu, c->pinned);
		free(c->pinned);
	}
	free(c->before);
	free(c->after);
	free(c->expected);
	free(c->compute_ns);
}

/* A group must fit in the budget beside the result words, or no step can run. */
static int check_budget(struct run_ctx *c)
{
	const struct gp_model_desc *d = c->m->desc;
	uint32_t big = 0;

	for (uint32_t g = 1; g < d->n_groups; g++)
		if (d->groups[g].range_size > d->groups[big].range_size)
			big = g;
	if (d->groups[big].range_size + (16ull << 20) > c->p->vram_budget)
		return gp_fail(GP_EDEVMEM, "the VRAM budget (%.1f MiB) cannot hold the largest group, "
			       "'%s' (%.1f MiB), plus 16 MiB of results; raise --budget",
			       (double)c->p->vram_budget / 1048576.0, d->groups[big].name,
			       (double)d->groups[big].range_size / 1048576.0);
	return 0;
}

/* The pager's options for this run: budget relative to the model, host tier sized to it. */
static int pager_options(const struct run_opts *o, struct gp_pager_options *po,
			 uint64_t *model_bytes)
{
	struct gp_model_desc *desc;
	int err = gp_model_desc_load(o->model, 0, NULL, &desc);

	if (err)
		return err;
	*model_bytes = desc->range_size;
	gp_model_desc_free(desc);
	gp_pager_options_init(po);
	po->policy = o->policy;
	po->driver_path = o->driver_path;
	po->swap_blocks = o->swap_blocks;
	po->vram_budget = o->budget_pct > 0 ? (uint64_t)((double)*model_bytes * o->budget_pct / 100.0)
					    : o->budget;
	po->host_budget = o->host_budget;
	po->load_all = o->load_all;
	if (!po->host_budget) {
		uint64_t dflt;

		err = gp_host_budget_default(&dflt, NULL);
		if (err)
			return err;
		po->host_budget = *model_bytes + (8ull << 20) < dflt ? *model_bytes + (8ull << 20) : dflt;
	}
	return 0;
}

int run_model(const struct run_opts *o, struct run_result *r)
{
	struct run_ctx c = { .o = o, .r = r };
	struct gp_pager_options po;
	int err;

	err = pager_options(o, &po, &r->model_bytes);
	if (err)
		return err;
	status(o, "opening the pager: pinning %.1f GiB of host memory",
	       (double)po.host_budget / (double)(1ull << 30));
	err = gp_pager_open(&po, &c.p);
	if (err)
		return err;
	err = gp_model_open(c.p, o->model, &c.m);
	if (err)
		goto out;
	snprintf(r->device, sizeof(r->device), "%s", c.p->gpu->name);
	r->simulated = c.p->gpu->is_simulator;
	snprintf(r->policy, sizeof(r->policy), "%s", gp_policy_kind_name(c.p->cfg.policy));
	r->vram_budget = c.p->vram_budget;
	r->n_groups = gp_model_group_count(c.m);
	r->n_tensors = gp_model_tensor_count(c.m);
	r->steps = o->steps;
	err = check_budget(&c);
	if (err)
		goto out;
	if (o->verify) {
		status(o, "reading the files for the expected checksums");
		err = expected_checksums(&c);
		if (err)
			goto out;
	}
	err = setup(&c);
	if (!err && o->trace)
		err = gp_trace_start(c.p, o->trace);
	if (!err)
		err = run_steps(&c);
	if (o->trace && !err)
		err = gp_trace_stop(c.p);
	gp_pager_get_stats(c.p, &r->stats);
	gp_pager_stats_line(c.p, r->stats_line, sizeof(r->stats_line));
out:
	if (c.p)
		teardown(&c);
	gp_model_close(c.m);
	gp_pager_close(c.p);
	return err;
}

void run_result_free(struct run_result *r)
{
	free(r->step_s);
	free(r->step_h2d);
	free(r->step_disk);
}
