/*
 * run_loop.c - `gpupager run`'s forward passes, on the public API only:
 * per group, acquire it on the compute stream, queue the device checksum
 * of each of its tensors (gp_model_verify_group: the checksum kernel is
 * the "compute"), the simulated compute (gp_pager_stream_delay), release.
 * With --verify each step ends by comparing the checksums with the files
 * (gp_model_verify_collect); without, by waiting for the stream.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run.h"

/* Mismatching tensors named on stderr, over the whole run. */
#define MISMATCHES_SHOWN 5

struct run_ctx {
	const struct run_opts *o;
	struct run_result *r;
	struct gp_pager *p;
	struct gp_model *m;
	gp_stream_t stream;
	uint64_t *compute_ns;           /* per group, simulated */
	uint64_t shown;                 /* mismatches printed */
};

int run_fail(struct run_result *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	return err;
}

const char *run_error(const struct run_result *r)
{
	return r->error[0] ? r->error : gp_last_error();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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

static int run_group(struct run_ctx *c, uint32_t g)
{
	int err = gp_acquire_group(c->m, g, c->stream);

	if (err)
		return err;
	err = gp_model_verify_group(c->m, g, c->stream);
	if (!err)
		err = gp_pager_stream_delay(c->p, c->stream, c->compute_ns[g]);
	if (!err)
		err = gp_release_group(c->m, g, c->stream);
	else
		gp_release_group(c->m, g, c->stream);
	return err;
}

/* The end of a step: its checksums against the files (--verify), or only the wait. */
static int end_step(struct run_ctx *c, unsigned step)
{
	struct gp_verify_result v = { .struct_size = sizeof(v) };
	int err;

	if (!c->o->verify)
		return gp_pager_stream_synchronize(c->p, c->stream);
	err = gp_model_verify_collect(c->m, c->stream, &v);
	if (err)
		return err;
	c->r->verified += v.tensors_checked;
	c->r->mismatches += v.mismatches;
	if (v.mismatches && c->shown++ < MISMATCHES_SHOWN)
		fprintf(stderr, "gpupager run: step %u: tensor '%s': device checksum %016llx, file "
			"%016llx (%llu tensors differ in this step)\n", step + 1, v.first_mismatch,
			(unsigned long long)v.device_checksum, (unsigned long long)v.file_checksum,
			(unsigned long long)v.mismatches);
	return 0;
}

static int run_steps(struct run_ctx *c)
{
	struct gp_pager_stats s0 = { .struct_size = sizeof(s0) }, s1 = { .struct_size = sizeof(s1) };
	int err = 0;

	for (unsigned step = 0; !err && step < c->r->steps; step++) {
		uint64_t t0 = now_ns();

		err = gp_pager_get_stats(c->p, &s0);
		for (uint32_t g = 0; !err && g < c->r->n_groups; g++) {
			progress(c, step, g);
			err = run_group(c, g);
		}
		if (!err)
			err = end_step(c, step);
		if (err)
			break;
		c->r->step_s[step] = (double)(now_ns() - t0) / 1e9;
		err = gp_pager_get_stats(c->p, &s1);
		c->r->step_h2d[step] = s1.bytes_h2d - s0.bytes_h2d;
		c->r->step_disk[step] = s1.bytes_disk - s0.bytes_disk;
	}
	if (c->o->progress && !c->o->json)
		fprintf(stderr, "\r%70s\r", "");
	return err;
}

static int setup(struct run_ctx *c)
{
	struct gp_group_info gi = { .struct_size = sizeof(gi) };
	double total_ns = 0;
	int err = 0;

	c->compute_ns = calloc(c->r->n_groups, sizeof(uint64_t));
	c->r->step_s = calloc(c->r->steps, sizeof(double));
	c->r->step_h2d = calloc(c->r->steps, sizeof(uint64_t));
	c->r->step_disk = calloc(c->r->steps, sizeof(uint64_t));
	if (!c->compute_ns || !c->r->step_s || !c->r->step_h2d || !c->r->step_disk)
		return run_fail(c->r, GP_ENOMEM, "out of memory for %u steps", c->r->steps);
	for (uint32_t g = 0; !err && g < c->r->n_groups; g++) {
		err = gp_model_group_info(c->m, g, &gi);
		c->compute_ns[g] = (uint64_t)((double)gi.nbytes / 1e9 * c->o->compute_ms_per_gb * 1e6);
		total_ns += (double)c->compute_ns[g];
	}
	c->r->simulated_s_per_step = total_ns / 1e9;
	if (!err)
		err = gp_pager_stream_create(c->p, &c->stream);
	return err;
}

/* A group must fit in the budget beside the result words, or no step can run. */
static int check_budget(struct run_ctx *c)
{
	struct gp_group_info gi = { .struct_size = sizeof(gi) };
	uint64_t big_size = 0;
	const char *big = "";
	int err = 0;

	for (uint32_t g = 0; !err && g < c->r->n_groups; g++) {
		err = gp_model_group_info(c->m, g, &gi);
		if (!err && (!g || gi.range_size > big_size)) {
			big_size = gi.range_size;
			big = gi.name;
		}
	}
	if (err)
		return err;
	if (big_size + (16ull << 20) > c->r->vram_budget)
		return run_fail(c->r, GP_EDEVMEM, "the VRAM budget (%.1f MiB) cannot hold the "
				"largest group, '%s' (%.1f MiB), plus 16 MiB of results; raise "
				"--budget", (double)c->r->vram_budget / 1048576.0, big,
				(double)big_size / 1048576.0);
	return 0;
}

/* The pager's options for this run: budget relative to the model, host tier sized to it. */
static int pager_options(const struct run_opts *o, struct gp_pager_options *po,
			 uint64_t *model_bytes)
{
	struct gp_model *desc;
	int err = gp_model_open(NULL, o->model, &desc);
	uint64_t words, chunk;

	if (err)
		return err;
	*model_bytes = gp_model_device_size(desc);
	/* The checksum kernels' result words: one per tensor, whole chunks of the budget. */
	chunk = gp_model_chunk_size(desc);
	words = (uint64_t)gp_model_tensor_count(desc) * sizeof(uint64_t);
	words = chunk ? (words + chunk - 1) / chunk * chunk : words;
	gp_model_close(desc);
	gp_pager_options_init(po);
	po->policy = o->policy;
	po->driver_path = o->driver_path;
	po->swap_blocks = o->swap_blocks;
	po->plan = o->plan;
	po->vram_budget = o->budget_pct > 0 ? (uint64_t)((double)*model_bytes * o->budget_pct / 100.0)
					    : o->budget;
	if (o->plan && !po->vram_budget) {
		struct gp_plan_info pi = { .struct_size = sizeof(pi) };
		struct gp_plan *plan;

		err = gp_plan_read(o->plan, &plan);
		if (err)
			return err;
		gp_plan_get_info(plan, &pi);
		/* The plan's budget is the weights'; the result words come on top. */
		po->vram_budget = pi.budget + words;
		gp_plan_free(plan);
	}
	po->host_budget = o->host_budget;
	po->load_all = o->load_all;
	if (!po->host_budget) {
		uint64_t dflt;

		err = gp_host_budget_default_bytes(&dflt);
		if (err)
			return err;
		po->host_budget = *model_bytes + (8ull << 20) < dflt ? *model_bytes + (8ull << 20) : dflt;
	}
	return 0;
}

/* Device, policy, budget and the measured rates for the report. */
static int describe(struct run_ctx *c)
{
	struct gp_pager_info info = { .struct_size = sizeof(info) };
	int err = gp_pager_info(c->p, &info);

	if (err)
		return err;
	snprintf(c->r->device, sizeof(c->r->device), "%s", info.device_name);
	c->r->simulated = info.simulated;
	snprintf(c->r->policy, sizeof(c->r->policy), "%s", info.policy);
	c->r->vram_budget = info.vram_budget;
	c->r->link_gbps = info.link_h2d_gbps;
	c->r->kernel_s_per_step = info.checksum_gbps > 0 ?
				  (double)c->r->model_bytes / (info.checksum_gbps * 1e9) : 0;
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
	r->n_groups = gp_model_group_count(c.m);
	r->n_tensors = gp_model_tensor_count(c.m);
	r->steps = o->steps;
	status(o, "measuring the host-to-device link");
	err = describe(&c);
	if (!err)
		err = check_budget(&c);
	if (err)
		goto out;
	if (o->verify) {
		uint64_t t0 = now_ns();

		status(o, "reading the files for the expected checksums");
		err = gp_model_verify_prepare(c.m);
		r->expected_s = (double)(now_ns() - t0) / 1e9;
		if (err)
			goto out;
	}
	err = setup(&c);
	if (!err && o->trace)
		err = gp_trace_start(c.p, o->trace);
	/* What pagerstat mrc and advise need besides the accesses: compute and the link. */
	if (!err && o->trace)
		err = gp_trace_note(c.p, "compute_ns_per_step",
				    (r->simulated_s_per_step + r->kernel_s_per_step) * 1e9);
	if (!err && o->trace && r->link_gbps > 0)
		err = gp_trace_note(c.p, "link_gbps", r->link_gbps);
	if (!err)
		err = run_steps(&c);
	if (o->trace && !err)
		err = gp_trace_stop(c.p);
	r->stats.struct_size = sizeof(r->stats);
	gp_pager_get_stats(c.p, &r->stats);
	gp_pager_stats_line(c.p, r->stats_line, sizeof(r->stats_line));
out:
	if (c.stream)
		gp_pager_stream_synchronize(c.p, c.stream);
	gp_model_close(c.m);
	gp_pager_stream_destroy(c.p, c.stream);
	gp_pager_close(c.p);
	free(c.compute_ns);
	return err;
}

void run_result_free(struct run_result *r)
{
	free(r->step_s);
	free(r->step_h2d);
	free(r->step_disk);
}
