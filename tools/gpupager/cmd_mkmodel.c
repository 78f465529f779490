/* cmd_mkmodel.c - `gpupager mkmodel`: write a sample model with a real architecture's tensors. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include <gpupager.h>

/* Below this a model is written too fast for a progress line to be worth it. */
#define PROGRESS_MIN_BYTES (256ull << 20)
#define PROGRESS_INTERVAL_S 0.25

/* --dtype may pick any floating-point type: the content is random bits either way. */
static const enum gp_dtype float_dtypes[] = {
	GP_DTYPE_F16, GP_DTYPE_BF16, GP_DTYPE_F32, GP_DTYPE_F64, GP_DTYPE_F8_E4M3, GP_DTYPE_F8_E5M2,
};

#define N_FLOAT_DTYPES (sizeof(float_dtypes) / sizeof(float_dtypes[0]))

struct progress {
	struct timespec start;
	double last_print;      /* seconds since start, < 0 until the first print */
	int enabled;
};

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Parameters and bytes of arch at scale 1, for --help. */
static void print_arch_line(const char *arch)
{
	struct gp_sample_arch_info a = { .struct_size = sizeof(a) };

	if (gp_sample_arch_info(arch, 1.0, &a)) {
		printf("  %-12s (%s)\n", arch, gp_last_error());
		return;
	}
	printf("  %-12s %5" PRIu64 " tensors, %14" PRIu64 " parameters (%.2fe9), %-4s %6.2f GiB\n",
	       arch, a.n_tensors, a.params, (double)a.params / 1e9, gp_dtype_name(a.dtype),
	       (double)a.bytes / (1u << 30));
}

static void help(void)
{
	printf("usage: gpupager mkmodel --arch NAME --scale S [OPTIONS] OUT_DIR\n\n"
	       "Write a sample safetensors model into OUT_DIR: the tensor names, dtypes and\n"
	       "shape structure of a published checkpoint, with hidden sizes scaled by S, and\n"
	       "deterministic content (a function of the seed, the tensor name and the byte\n"
	       "offset; see README.md).  Files are written in a staging directory and moved\n"
	       "into place when complete, so a failed run leaves no model behind.\n\n"
	       "  --arch NAME        architecture, one of the list below\n"
	       "  --scale S          0 < S <= 1; 1 is the real model.  Hidden sizes (model,\n"
	       "                     feed-forward, text/context widths, vocabulary, channels)\n"
	       "                     are multiplied by S and rounded to a multiple of 8 (at\n"
	       "                     least 8); block counts, in/out channels, patch sizes and\n"
	       "                     the architecture's own ratios stay.  Bytes grow as S^2.\n"
	       "  --shard-size SIZE  most tensor bytes per file (default 2G; e.g. 512M, 5GiB).\n"
	       "                     A model that fits is one model.safetensors; a larger one\n"
	       "                     is model-00001-of-0000N.safetensors ... plus\n"
	       "                     model.safetensors.index.json.  A tensor never splits.\n"
	       "  --seed N           content seed, decimal, 0 to 2^64-1 (default 0)\n"
	       "  --dtype DT         store every tensor as DT (F16, BF16, F32, F64, F8_E4M3,\n"
	       "                     F8_E5M2) instead of the checkpoint's dtype\n"
	       "  --force            replace a model already in OUT_DIR\n"
	       "  --json             print the summary as JSON\n"
	       "  --help             this text\n\n"
	       "architectures (at scale 1):\n");
	for (size_t i = 0; i < gp_sample_arch_count(); i++)
		print_arch_line(gp_sample_arch_name(i));
	printf("\nA progress line goes to stderr when it is a terminal and the model is over\n"
	       "256 MiB.  Exit status: 0 success, 1 runtime error, 2 usage error.\n");
}

static int parse_scale(const char *text, double *scale)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (end == text || *end || errno || !isfinite(v) || v <= 0.0 || v > 1.0)
		return -1;
	*scale = v;
	return 0;
}

static int parse_seed(const char *text, uint64_t *seed)
{
	char *end;
	unsigned long long v;

	if (!*text || *text == '-' || *text == '+')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (*end || errno)
		return -1;
	*seed = v;
	return 0;
}

static int parse_dtype(const char *text, int *dtype)
{
	enum gp_dtype dt;

	if (gp_dtype_parse(text, &dt))
		return -1;
	for (size_t i = 0; i < N_FLOAT_DTYPES; i++) {
		if (float_dtypes[i] == dt) {
			*dtype = (int)dt;
			return 0;
		}
	}
	return -1;
}

static int known_arch(const char *arch)
{
	for (size_t i = 0; i < gp_sample_arch_count(); i++)
		if (!strcmp(gp_sample_arch_name(i), arch))
			return 1;
	return 0;
}

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	double t = seconds_since(&p->start);

	if (!p->enabled || total < PROGRESS_MIN_BYTES ||
	    (t - p->last_print < PROGRESS_INTERVAL_S && done < total))
		return;
	p->last_print = t;
	fprintf(stderr, "\rgpupager mkmodel: %3.0f%% (%.2f of %.2f GiB), %.0f MB/s ",
		100.0 * (double)done / (double)total, (double)done / (1u << 30),
		(double)total / (1u << 30), t > 0 ? (double)done / t / 1e6 : 0.0);
}

static int print_json(const struct gp_sample_options *model, const char *out_dir,
		      const struct gp_sample_result *res, double seconds)
{
	json_t *files = json_array(), *root;
	char name[64], index[64], seed[24], *text;

	for (uint32_t i = 0; i < res->n_files; i++) {
		gp_sample_file_name(i, res->n_files, name, sizeof(name));
		json_array_append_new(files, json_string(name));
	}
	gp_sample_file_name(res->n_files, res->n_files, index, sizeof(index));
	/* As a string, like the header's gpupager.seed: JSON integers stop at 2^63. */
	snprintf(seed, sizeof(seed), "%" PRIu64, model->seed);
	root = json_pack("{s:s, s:s, s:f, s:s, s:o, s:s?, s:I, s:I, s:I, s:f}", "out_dir", out_dir,
			 "arch", model->arch, "scale", model->scale, "seed", seed,
			 "files", files, "index", res->n_files > 1 ? index : NULL,
			 "tensors", (json_int_t)res->n_tensors,
			 "tensor_bytes", (json_int_t)res->tensor_bytes,
			 "file_bytes", (json_int_t)res->file_bytes, "seconds", seconds);
	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (!text) {
		fprintf(stderr, "gpupager mkmodel: out of memory printing JSON\n");
		return 1;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

int cmd_mkmodel(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "arch", required_argument, NULL, 'a' },
		{ "scale", required_argument, NULL, 's' },
		{ "shard-size", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 'r' },
		{ "dtype", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gp_sample_options model;
	struct gp_sample_result res = { .struct_size = sizeof(res) };
	const char *out_dir;
	struct progress progress = { .last_print = -1.0 };
	int json = 0, c, err;
	double seconds;

	gp_sample_options_init(&model);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			model.arch = optarg;
			break;
		case 's':
			if (parse_scale(optarg, &model.scale))
				return cli_usage_error("mkmodel", "bad --scale '%s': expected a number "
						       "with 0 < S <= 1 (1 is the real model)", optarg);
			break;
		case 'S':
			if (gp_parse_size(optarg, &model.shard_size))
				return cli_usage_error("mkmodel", "bad --shard-size: %s", gp_last_error());
			if (!model.shard_size)
				return cli_usage_error("mkmodel", "bad --shard-size '%s': must be above 0",
						       optarg);
			break;
		case 'r':
			if (parse_seed(optarg, &model.seed))
				return cli_usage_error("mkmodel", "bad --seed '%s': expected an unsigned "
						       "64-bit integer", optarg);
			break;
		case 'd':
			if (parse_dtype(optarg, &model.dtype))
				return cli_usage_error("mkmodel", "bad --dtype '%s': expected F16, BF16, "
						       "F32, F64, F8_E4M3 or F8_E5M2", optarg);
			break;
		case 'f':
			model.force = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cli_usage_error("mkmodel", "bad option");
		}
	}
	if (!model.arch)
		return cli_usage_error("mkmodel", "--arch is required");
	if (!known_arch(model.arch))
		return cli_usage_error("mkmodel", "unknown architecture '%s' (see the list in --help)",
				       model.arch);
	if (model.scale == 0.0)
		return cli_usage_error("mkmodel", "--scale is required");
	if (optind == argc)
		return cli_usage_error("mkmodel", "OUT_DIR is required");
	if (optind + 1 != argc)
		return cli_usage_error("mkmodel", "unexpected argument '%s'", argv[optind + 1]);

	out_dir = argv[optind];
	model.progress = show_progress;
	model.progress_ctx = &progress;
	clock_gettime(CLOCK_MONOTONIC, &progress.start);
	progress.enabled = isatty(STDERR_FILENO);
	err = gp_sample_write(&model, out_dir, &res);
	if (progress.last_print >= 0)
		fputc('\n', stderr);
	if (err)
		return cli_fail("mkmodel", err);
	seconds = seconds_since(&progress.start);
	if (json)
		return print_json(&model, out_dir, &res, seconds);
	printf("wrote %s: %u file%s%s, %" PRIu64 " tensors, %" PRIu64 " data bytes (%.2f GiB), "
	       "%" PRIu64 " bytes written in %.2f s (%.2f GB/s)\n",
	       out_dir, res.n_files, res.n_files > 1 ? "s" : "",
	       res.n_files > 1 ? " + index" : "", res.n_tensors, res.tensor_bytes,
	       (double)res.tensor_bytes / (1u << 30), res.file_bytes, seconds,
	       seconds > 0 ? (double)res.file_bytes / seconds / 1e9 : 0.0);
	return 0;
}
