/* run_report.c - `gpupager run`'s closing report, as text or JSON. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

struct summary {
	double step_s;          /* mean over the steady steps */
	double h2d_per_step;    /* bytes, steady */
	double bound_s;         /* max(compute, bytes moved / link) */
	double hit_rate, prefetch_accuracy;
	unsigned first_steady;  /* the first step is the cold one when there are more */
};

static struct summary summarize(const struct run_result *r)
{
	struct summary s = { 0 };
	unsigned n;

	s.first_steady = r->steps > 1 ? 1 : 0;
	n = r->steps - s.first_steady;
	for (unsigned i = s.first_steady; i < r->steps; i++) {
		s.step_s += r->step_s[i] / n;
		s.h2d_per_step += (double)r->step_h2d[i] / n;
	}
	s.bound_s = r->simulated_s_per_step + r->kernel_s_per_step;
	if (r->link_gbps > 0 && s.h2d_per_step / (r->link_gbps * 1e9) > s.bound_s)
		s.bound_s = s.h2d_per_step / (r->link_gbps * 1e9);
	if (r->stats.hits + r->stats.misses)
		s.hit_rate = (double)r->stats.hits / (double)(r->stats.hits + r->stats.misses);
	if (r->stats.prefetch_issued)
		s.prefetch_accuracy = (double)r->stats.prefetch_hits /
				      (double)r->stats.prefetch_issued;
	return s;
}

static double gib(double bytes)
{
	return bytes / (double)(1ull << 30);
}

static void report_json(const struct run_opts *o, const struct run_result *r,
			const struct summary *s)
{
	json_t *steps = json_array();
	json_t *root;

	for (unsigned i = 0; i < r->steps; i++)
		json_array_append_new(steps, json_pack("{s:f, s:I, s:I}", "seconds", r->step_s[i],
						       "h2d_bytes", (json_int_t)r->step_h2d[i],
						       "disk_bytes", (json_int_t)r->step_disk[i]));
	root = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:i, s:i, s:o, s:I, s:f, s:f, s:f, s:f,"
			 " s:f, s:f, s:f, s:f, s:b, s:I, s:I}",
			 "model", o->model, "device", r->device, "simulated", r->simulated,
			 "policy", r->policy, "model_bytes", (json_int_t)r->model_bytes,
			 "vram_budget", (json_int_t)r->vram_budget, "groups", (int)r->n_groups,
			 "tensors", (int)r->n_tensors, "steps", steps,
			 "disk_bytes", (json_int_t)r->stats.bytes_disk,
			 "h2d_bytes_per_step", s->h2d_per_step, "step_seconds", s->step_s,
			 "compute_seconds_per_step",
			 r->simulated_s_per_step + r->kernel_s_per_step,
			 "link_gbps", r->link_gbps, "lower_bound_seconds", s->bound_s,
			 "ratio_to_bound", s->bound_s > 0 ? s->step_s / s->bound_s : 0.0,
			 "hit_rate", s->hit_rate, "prefetch_accuracy", s->prefetch_accuracy,
			 "verified", o->verify, "tensors_checked", (json_int_t)r->verified,
			 "mismatches", (json_int_t)r->mismatches);
	json_object_set_new(root, "stall_seconds", json_real((double)r->stats.stall_ns / 1e9));
	json_object_set_new(root, "prefetch_issued", json_integer((json_int_t)r->stats.prefetch_issued));
	json_object_set_new(root, "prefetch_wasted", json_integer((json_int_t)r->stats.prefetch_wasted));
	json_object_set_new(root, "evictions", json_integer((json_int_t)r->stats.dev_evictions));
	json_dumpf(root, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(root);
}

static void report_text(const struct run_opts *o, const struct run_result *r,
			const struct summary *s)
{
	printf("model        %s: %u groups, %u tensors, %.2f GiB\n", o->model, r->n_groups,
	       r->n_tensors, gib((double)r->model_bytes));
	printf("device       %s%s\n", r->device,
	       r->simulated && !strstr(r->device, "simulated") ? " (simulated: no GPU used)" : "");
	printf("policy       %s, VRAM budget %.2f GiB (%.0f%% of the model)\n", r->policy,
	       gib((double)r->vram_budget), 100.0 * (double)r->vram_budget / (double)r->model_bytes);
	printf("from disk    %.2f GiB\n", gib((double)r->stats.bytes_disk));
	printf("H2D / step   %.2f GiB (steady state)\n", gib(s->h2d_per_step));
	printf("hit rate     %.1f%% of group acquires\n", 100.0 * s->hit_rate);
	printf("prefetch     %.1f%% of %llu prefetched chunks used, %llu wasted\n",
	       100.0 * s->prefetch_accuracy, (unsigned long long)r->stats.prefetch_issued,
	       (unsigned long long)r->stats.prefetch_wasted);
	printf("stall        %.3f s in acquires that waited for data\n",
	       (double)r->stats.stall_ns / 1e9);
	for (unsigned i = 0; i < r->steps; i++)
		printf("step %-7u %.3f s, %.2f GiB H2D, %.2f GiB from disk\n", i + 1, r->step_s[i],
		       gib((double)r->step_h2d[i]), gib((double)r->step_disk[i]));
	printf("step time    %.3f s; lower bound %.3f s = max(compute %.3f s (kernels %.3f + "
	       "simulated %.3f), %.2f GiB / %.1f GB/s); ratio %.2f\n", s->step_s, s->bound_s,
	       r->simulated_s_per_step + r->kernel_s_per_step, r->kernel_s_per_step,
	       r->simulated_s_per_step, gib(s->h2d_per_step), r->link_gbps,
	       s->bound_s > 0 ? s->step_s / s->bound_s : 0.0);
	if (o->verify)
		printf("verify       %llu tensor checksums compared, %llu mismatches%s\n",
		       (unsigned long long)r->verified, (unsigned long long)r->mismatches,
		       r->mismatches ? "" : ": data intact");
	printf("pager        %s\n", r->stats_line);
}

void run_steady(const struct run_result *r, double *step_s, double *bound_s)
{
	struct summary s = summarize(r);

	*step_s = s.step_s;
	*bound_s = s.bound_s;
}

void run_report(const struct run_opts *o, const struct run_result *r)
{
	struct summary s = summarize(r);

	if (o->json)
		report_json(o, r, &s);
	else
		report_text(o, r, &s);
}
