/* bench_cmd.c - options, run loop and checksum check of `gpupager bench load` and `bench fault`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cmd.h"
#include "bench.h"
#include "config.h"
#include "error.h"

#define DEFAULT_POOL (1ull << 30)
#define MAX_OPTIONS 16

const char *const bench_mode_names[BENCH_N_MODES] = { "cold", "warm" };

static const struct option common_options[] = {
	{ "cold", no_argument, NULL, 'c' },
	{ "warm", no_argument, NULL, 'w' },
	{ "both", no_argument, NULL, 'b' },
	{ "slot-size", required_argument, NULL, 's' },
	{ "pool", required_argument, NULL, 'p' },
	{ "buffered", no_argument, NULL, 'u' },
	{ "json", no_argument, NULL, 'j' },
	{ "repeat", required_argument, NULL, 'r' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_option(struct bench *b, int c)
{
	const char *name = b->cmd->name;
	struct bench_opts *o = &b->o;
	char *end;

	switch (c) {
	case 'c': o->modes = 1u << BENCH_COLD; break;
	case 'w': o->modes = 1u << BENCH_WARM; break;
	case 'b': o->modes = (1u << BENCH_N_MODES) - 1; break;
	case 's':
		if (gp_parse_size(optarg, &o->slot))
			return cli_usage_error(name, "--slot-size: %s", gp_last_error());
		if (!b->cmd->slot_ok(o->slot))
			return cli_usage_error(name, "--slot-size '%s': must be %s", optarg,
					       b->cmd->slot_rule);
		break;
	case 'p':
		if (gp_parse_size(optarg, &o->pool))
			return cli_usage_error(name, "--pool: %s", gp_last_error());
		break;
	case 'u': o->buffered = 1; break;
	case 'j': o->json = 1; break;
	case 'r':
		o->repeat = (unsigned)strtoul(optarg, &end, 10);
		if (*end || !*optarg || o->repeat < 1 || o->repeat > BENCH_MAX_REPEAT)
			return cli_usage_error(name, "--repeat '%s': expected 1 to %u", optarg,
					       BENCH_MAX_REPEAT);
		break;
	case 'h': b->cmd->help(); return -1;
	case '?': return cli_usage_error(name, "bad option");
	default: return b->cmd->option(b, c, optarg);
	}
	return 0;
}

int bench_args(struct bench *b, int argc, char **argv)
{
	const struct bench_cmd *cmd = b->cmd;
	struct option opts[MAX_OPTIONS];
	const struct gp_config *cfg;
	size_t n = 0;
	int c, status, err;

	while (cmd->options[n].name)
		n++;
	memcpy(opts, cmd->options, n * sizeof(*opts));
	memcpy(opts + n, common_options, sizeof(common_options));
	b->o.modes = (1u << BENCH_N_MODES) - 1;
	b->o.pool = DEFAULT_POOL;
	b->o.repeat = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		status = parse_option(b, c);
		if (status)
			return status;
	}
	if (optind + 1 != argc)
		return cli_usage_error(cmd->name, optind == argc ? "no MODEL given" : "more than one MODEL given");
	b->o.model = argv[optind];
	err = gp_config_get(&cfg);
	if (err)
		return cli_fail(cmd->name, err);
	if (!b->o.slot) {
		b->o.slot = cfg->chunk_size;
		if (!cmd->slot_ok(b->o.slot))
			return cli_usage_error(cmd->name, "the slot must be %s (GPUPAGER_CHUNK_SIZE is %" PRIu64 " bytes); give --slot-size",
					       cmd->slot_rule, b->o.slot);
	}
	if (b->o.pool < b->o.slot)
		return cli_usage_error(cmd->name, "--pool must hold at least one slot (%" PRIu64 " bytes)",
				       b->o.slot);
	return 0;
}

static const struct gp_model_desc *way_desc(const struct bench *b, unsigned way)
{
	return b->cmd->way_desc ? b->cmd->way_desc(b, way) : b->desc;
}

static int run_one(struct bench *b, unsigned way, enum bench_mode mode)
{
	struct bench_run *r = &b->runs[way][mode], first = *r;
	char label[32];
	int err;

	err = mode == BENCH_COLD ? bench_cache_drop(way_desc(b, way), &r->cache)
				 : bench_cache_resident(way_desc(b, way), &r->cache.resident);
	if (err)
		return err;
	if (mode == BENCH_WARM)
		r->cache.how = "read";
	r->bytes = r->sum = 0;
	bench_progress_start(&b->progress, bench_run_label(b, r, label), b->progress_total);
	err = b->cmd->run(b, way, mode, r);
	bench_progress_end(&b->progress);
	if (err)
		return gp_fail_context(err, "%s (%s): ", b->cmd->way_names[way], bench_mode_names[mode]);
	if (r->n_samples && (r->bytes != first.bytes || r->sum != first.sum))
		return gp_fail(GP_EIO, "%s: repetition %u read %" PRIu64 " bytes summing to 0x%016" PRIx64
			       ", the first %" PRIu64 " bytes summing to 0x%016" PRIx64, label,
			       r->n_samples + 1, r->bytes, r->sum, first.bytes, first.sum);
	r->samples[r->n_samples++] = r->seconds;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n samples (the mean of the middle two for even n). */
static double median(const double *samples, unsigned n)
{
	double s[BENCH_MAX_REPEAT];

	memcpy(s, samples, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Read the files of every way once, each set of files once. */
static int warm_all(struct bench *b)
{
	const struct gp_model_desc *warmed[BENCH_MAX_WAYS];
	struct bench_cache warm;
	unsigned n = 0, k;
	int err;

	for (unsigned way = 0; way < b->cmd->n_ways; way++) {
		const struct gp_model_desc *d = way_desc(b, way);

		if (!(b->ways & (1u << way)))
			continue;
		for (k = 0; k < n && warmed[k] != d; k++)
			;
		if (k < n)
			continue;
		warmed[n++] = d;
		err = bench_cache_warm(d, &warm);
		if (err)
			return err;
	}
	return 0;
}

int bench_run_all(struct bench *b)
{
	int err;

	for (unsigned rep = 0; rep < b->o.repeat; rep++) {
		for (int mode = 0; mode < BENCH_N_MODES; mode++) {
			if (!(b->o.modes & (1u << mode)))
				continue;
			if (mode == BENCH_WARM) {
				err = warm_all(b);
				if (err)
					return err;
			}
			for (unsigned way = 0; way < b->cmd->n_ways; way++) {
				if (!(b->ways & (1u << way)))
					continue;
				err = run_one(b, way, mode);
				if (err)
					return err;
			}
		}
	}
	for (unsigned way = 0; way < b->cmd->n_ways; way++)
		for (int mode = 0; mode < BENCH_N_MODES; mode++) {
			struct bench_run *r = &b->runs[way][mode];

			if (!r->n_samples)
				continue;
			r->seconds = median(r->samples, r->n_samples);
			r->done = true;
		}
	return 0;
}

const struct bench_run *bench_mismatch(const struct bench *b, const struct bench_run **ref)
{
	*ref = NULL;
	for (int mode = 0; mode < BENCH_N_MODES; mode++)
		for (unsigned way = 0; way < b->cmd->n_ways; way++) {
			const struct bench_run *r = &b->runs[way][mode];

			if (!r->done)
				continue;
			if (!*ref)
				*ref = r;
			else if (r->sum != (*ref)->sum || r->bytes != (*ref)->bytes)
				return r;
		}
	return NULL;
}

const char *bench_run_label(const struct bench *b, const struct bench_run *r, char buf[32])
{
	size_t i = (size_t)(r - &b->runs[0][0]);

	snprintf(buf, 32, "%s %s", b->cmd->way_names[i / BENCH_N_MODES],
		 bench_mode_names[i % BENCH_N_MODES]);
	return buf;
}

void bench_json_print(json_t *root)
{
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text)
		puts(text);
	free(text);
	json_decref(root);
}

void bench_close(struct bench *b)
{
	bench_reader_close(&b->rd);
	if (b->desc)
		gp_model_desc_free(b->desc);
}
