/*
 * cmd_bench_fault.c - `gpupager bench fault`: first-touch throughput of the
 * userfaultfd host view (pager/hostview.h) against a plain read-only mmap.
 *
 * For each file: map it (a view, or mmap), touch one byte per 4 KiB page in
 * order (split in contiguous parts over --threads threads) - the timed
 * part - then checksum the tensor data through the mapping, so both ways
 * must show the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_util.h"
#include "commands.h"
#include "config.h"
#include "error.h"
#include "../../pager/hostpool.h"
#include "../../pager/hostview.h"
#include "../../uring/io.h"

#define CMD "bench fault"
#define TOUCH_STRIDE 4096u
#define MAX_THREADS 64u
#define DEFAULT_POOL (1ull << 30)
#define TARGET 1.0

enum way { W_VIEW, W_MMAP, N_WAYS };
enum mode { MODE_COLD, MODE_WARM, N_MODES };

static const char *const way_names[N_WAYS] = { "view", "mmap" };
static const char *const mode_names[N_MODES] = { "cold", "warm" };

struct fault_opts {
	const char *model;
	unsigned modes;         /* bit per enum mode */
	unsigned threads;
	uint64_t slot_size;     /* 0: GPUPAGER_CHUNK_SIZE */
	uint64_t pool;
	int buffered;           /* the reader without O_DIRECT */
	int json;
};

struct run {
	bool done;
	double seconds;         /* touching only */
	uint64_t bytes;         /* bytes of the mappings touched */
	uint64_t sum;           /* checksum of the tensor data seen through them */
	struct bench_cache cache;
	struct gp_host_view_stats stats;        /* summed over the files (view) */
};

struct fault {
	const struct fault_opts *o;
	struct gp_model_desc *desc;
	uint64_t file_bytes, slot;
	struct gp_io *io;
	struct gp_io_file **files;
	struct gp_host_pool *pool;
	enum gp_host_view_kind kind;
	struct bench_progress progress;
	struct run runs[N_WAYS][N_MODES];
};

static void help(void)
{
	printf("usage: gpupager bench fault MODEL [--cold|--warm|--both] [--threads N]\n"
	       "                             [--slot-size SIZE] [--pool SIZE] [--json]\n\n"
	       "First-touch throughput of the pager's host view of each file of MODEL (a\n"
	       "userfaultfd range whose faults load whole chunks through the host pool, or a\n"
	       "plain mmap where userfaultfd is not permitted: the output says which) against\n"
	       "a plain read-only mmap of the file.  Each is touched one byte per 4 KiB page,\n"
	       "in order, and that is timed; the tensor data are then checksummed through the\n"
	       "mapping and must agree (exit 1 otherwise).  Cold runs drop the files' page\n"
	       "cache first, warm runs read the files once first.  Ratio: view to mmap;\n"
	       "target: view >= 1.0x mmap cold.\n\n"
	       "  --cold, --warm    only cold or only warm runs (--both, the default: both)\n"
	       "  --threads N       touch with N threads, each a contiguous part (1-%u,\n"
	       "                    default 1)\n"
	       "  --slot-size SIZE  the view's chunk (pool slot), a power of two from 2M to\n"
	       "                    1G (default GPUPAGER_CHUNK_SIZE, else 2M)\n"
	       "  --pool SIZE       most host pool memory (default 1G; never more than the\n"
	       "                    largest file); a smaller pool than the file evicts chunks\n"
	       "  --buffered        the view's reader without O_DIRECT (warm loads then come\n"
	       "                    from the page cache)\n"
	       "  --json            one JSON object on stdout, for scripts\n"
	       "  --help            this text\n\n"
	       "Exit status: 0 success, 1 I/O error or checksum mismatch, 2 usage error.\n",
	       MAX_THREADS);
}

/* 0 to go on, 2 after a usage error, -1 after --help. */
static int parse_args(int argc, char **argv, struct fault_opts *o)
{
	static const struct option opts[] = {
		{ "cold", no_argument, NULL, 'c' },
		{ "warm", no_argument, NULL, 'w' },
		{ "both", no_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "slot-size", required_argument, NULL, 's' },
		{ "pool", required_argument, NULL, 'p' },
		{ "buffered", no_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	o->modes = (1u << N_MODES) - 1;
	o->threads = 1;
	o->pool = DEFAULT_POOL;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->modes = 1u << MODE_COLD; break;
		case 'w': o->modes = 1u << MODE_WARM; break;
		case 'b': o->modes = (1u << N_MODES) - 1; break;
		case 't':
			errno = 0;
			o->threads = (unsigned)strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || !o->threads || o->threads > MAX_THREADS)
				return cli_usage_error(CMD, "--threads '%s': expected 1 to %u", optarg,
						       MAX_THREADS);
			break;
		case 's':
			if (gp_parse_size(optarg, &o->slot_size))
				return cli_usage_error(CMD, "--slot-size: %s", gp_last_error());
			if (o->slot_size < (2u << 20) || o->slot_size > (1u << 30) ||
			    (o->slot_size & (o->slot_size - 1)))
				return cli_usage_error(CMD, "--slot-size '%s': must be a power of two from 2M to 1G",
						       optarg);
			break;
		case 'p':
			if (gp_parse_size(optarg, &o->pool))
				return cli_usage_error(CMD, "--pool: %s", gp_last_error());
			break;
		case 'u': o->buffered = 1; break;
		case 'j': o->json = 1; break;
		case 'h': help(); return -1;
		default: return cli_usage_error(CMD, "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(CMD, optind == argc ? "no MODEL given" : "more than one MODEL given");
	o->model = argv[optind];
	return 0;
}

struct toucher {
	const volatile unsigned char *base;
	uint64_t start, end;
	unsigned sink;                  /* what was read, so the reads stay */
	struct bench_progress *progress;        /* thread 0 only */
	uint64_t progress_base;
	unsigned n_threads;
};

static void *touch_part(void *arg)
{
	struct toucher *t = arg;
	unsigned sink = 0;

	for (uint64_t p = t->start; p < t->end; p += TOUCH_STRIDE) {
		sink += t->base[p];
		/* Every 64 MiB: the other threads are assumed about as far along. */
		if (t->progress && !((p - t->start) & ((64u << 20) - 1)))
			bench_progress_update(t->progress,
					      t->progress_base + (p - t->start) * t->n_threads);
	}
	t->sink = sink;
	return NULL;
}

/* Touch [base, base + size) one byte a page over n threads; returns the seconds. */
static int touch(struct fault *f, const void *base, uint64_t size, uint64_t done, double *seconds)
{
	struct toucher parts[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	unsigned n = f->o->threads, started = 0;
	uint64_t per = (size / n + TOUCH_STRIDE - 1) / TOUCH_STRIDE * TOUCH_STRIDE;
	double t0 = bench_now();
	int err = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t start = (uint64_t)i * per < size ? (uint64_t)i * per : size;

		parts[i] = (struct toucher){ base, start, start + per < size ? start + per : size, 0,
					     i ? NULL : &f->progress, done, n };
	}
	for (unsigned i = 1; i < n; i++, started++) {
		err = pthread_create(&tids[i], NULL, touch_part, &parts[i]);
		if (err)
			break;
	}
	touch_part(&parts[0]);
	for (unsigned i = 1; i <= started; i++)
		pthread_join(tids[i], NULL);
	*seconds = bench_now() - t0;
	if (err)
		return gp_fail(GP_ENOMEM, "cannot start touch thread %u: %s", started + 1, strerror(err));
	return 0;
}

static int view_file(struct fault *f, uint32_t k, struct run *r)
{
	const struct gp_st_file *sf = &f->desc->files[k];
	struct gp_host_view_opts vo = { f->pool, f->io, f->files[k], sf->path, 0, 0 };
	struct gp_host_view_stats st;
	struct gp_host_view *view;
	const unsigned char *base;
	double seconds;
	int err;

	err = gp_host_view_open(&vo, &view);
	if (err)
		return err;
	f->kind = gp_host_view_kind(view);
	base = gp_host_view_base(view);
	err = touch(f, base, sf->size, r->bytes, &seconds);
	if (!err) {
		/* The touching's counts; the checksum pass re-faults chunks a small pool dropped. */
		gp_host_view_get_stats(view, &st);
		r->stats.faults += st.faults;
		r->stats.loads += st.loads;
		r->stats.readaheads += st.readaheads;
		r->stats.drops += st.drops;
		r->seconds += seconds;
		r->bytes += sf->size;
		r->sum += gp_checksum_at(base + sf->data_start, sf->size - sf->data_start, 0);
		gp_host_view_get_stats(view, &st);
		r->stats.errors += st.errors;
		if (st.errors)
			err = gp_fail(GP_EIO, "%s: the view could not load %" PRIu64 " chunk%s (see the log above)",
				      sf->path, st.errors, st.errors == 1 ? "" : "s");
	}
	gp_host_view_close(view);
	return err;
}

static int mmap_file(struct fault *f, uint32_t k, struct run *r)
{
	const struct gp_st_file *sf = &f->desc->files[k];
	int fd = open(sf->path, O_RDONLY | O_CLOEXEC), err;
	unsigned char *map;
	double seconds;

	if (fd < 0)
		return gp_fail(GP_EIO, "%s: %s", sf->path, strerror(errno));
	map = mmap(NULL, sf->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return gp_fail(GP_EIO, "%s: mmap of %" PRIu64 " bytes: %s", sf->path, sf->size,
			       strerror(errno));
	err = touch(f, map, sf->size, r->bytes, &seconds);
	if (!err) {
		r->seconds += seconds;
		r->bytes += sf->size;
		r->sum += gp_checksum_at(map + sf->data_start, sf->size - sf->data_start, 0);
	}
	munmap(map, sf->size);
	return err;
}

static int run_one(struct fault *f, enum way w, enum mode mode)
{
	struct run *r = &f->runs[w][mode];
	char label[32];
	int err;

	err = mode == MODE_COLD ? bench_cache_drop(f->desc, &r->cache)
				: bench_cache_resident(f->desc, &r->cache.resident);
	if (err)
		return err;
	if (mode == MODE_WARM)
		r->cache.how = "read";
	snprintf(label, sizeof(label), "%s %s", way_names[w], mode_names[mode]);
	bench_progress_start(&f->progress, label, f->file_bytes);
	for (uint32_t k = 0; k < f->desc->n_files && !err; k++)
		err = w == W_VIEW ? view_file(f, k, r) : mmap_file(f, k, r);
	bench_progress_end(&f->progress);
	if (err)
		return gp_fail_context(err, "%s (%s): ", way_names[w], mode_names[mode]);
	r->done = true;
	return 0;
}

static int open_reader(struct fault *f)
{
	struct gp_io_opts io_opts;
	struct gp_host_pool_opts pool_opts = { 0 };
	uint64_t largest = 0, budget;
	int err;

	gp_io_opts_default(&io_opts);
	io_opts.use_direct = !f->o->buffered;
	err = gp_io_open(&io_opts, &f->io);
	if (err)
		return err;
	f->files = calloc(f->desc->n_files, sizeof(*f->files));
	if (!f->files)
		return gp_fail(GP_ENOMEM, "out of memory");
	for (uint32_t k = 0; k < f->desc->n_files; k++) {
		err = gp_io_add_file(f->io, f->desc->files[k].path, f->desc->files[k].size,
				     &f->files[k]);
		if (err)
			return err;
		if (f->desc->files[k].size > largest)
			largest = f->desc->files[k].size;
	}
	/* One file is viewed at a time: the pool need not hold more than the largest. */
	budget = (largest + f->slot - 1) / f->slot * f->slot;
	budget = budget < f->o->pool ? budget : f->o->pool / f->slot * f->slot;
	pool_opts.budget = budget > f->slot ? budget : f->slot;
	pool_opts.slot_size = f->slot;
	pool_opts.numa_node = -1;
	pool_opts.io = f->io;
	return gp_host_pool_open(&pool_opts, &f->pool);
}

static void close_reader(struct fault *f)
{
	if (f->pool)
		gp_host_pool_close(f->pool);
	if (f->io)
		gp_io_close(f->io);
	free(f->files);
}

static int run_all(struct fault *f)
{
	struct bench_cache warm;
	int err;

	for (int mode = 0; mode < N_MODES; mode++) {
		if (!(f->o->modes & (1u << mode)))
			continue;
		if (mode == MODE_WARM) {
			err = bench_cache_warm(f->desc, &warm);
			if (err)
				return err;
		}
		for (int w = 0; w < N_WAYS; w++) {
			err = run_one(f, w, mode);
			if (err)
				return err;
		}
	}
	return 0;
}

static double ratio(const struct fault *f, enum mode mode)
{
	const struct run *v = &f->runs[W_VIEW][mode], *m = &f->runs[W_MMAP][mode];

	if (!v->done || !m->done || !v->seconds || !m->seconds)
		return -1;
	return m->seconds / v->seconds;
}

/* The first run whose checksum differs from the first run's, or NULL. */
static const struct run *mismatch(const struct fault *f, const struct run **ref)
{
	*ref = NULL;
	for (int mode = 0; mode < N_MODES; mode++)
		for (int w = 0; w < N_WAYS; w++) {
			const struct run *r = &f->runs[w][mode];

			if (!r->done)
				continue;
			if (!*ref)
				*ref = r;
			else if (r->sum != (*ref)->sum)
				return r;
		}
	return NULL;
}

static const char *kind_name(enum gp_host_view_kind kind)
{
	return kind == GP_VIEW_UFFD ? "uffd" : "mmap";
}

static void print_text(const struct fault *f)
{
	static const char *const headers[] = { "way", "mode", "seconds", "GB/s", "ratio",
						"faults", "loads" };
	struct bench_table t;
	const struct run *ref;
	char a[32], b[32], c[32];
	double x = ratio(f, MODE_COLD);

	printf("gpupager bench fault: %s\n", f->o->model);
	printf("  %u file%s, %s; touch 1 byte per 4 KiB page with %u thread%s\n",
	       f->desc->n_files, f->desc->n_files == 1 ? "" : "s", bench_size(f->file_bytes, a),
	       f->o->threads, f->o->threads == 1 ? "" : "s");
	printf("  view: %s (%s), chunks of %s, pool of %s, reader %s\n", kind_name(f->kind),
	       f->kind == GP_VIEW_UFFD ? "userfaultfd" : "fallback: plain mmap of the file",
	       bench_size(f->slot, b),
	       bench_size((uint64_t)gp_host_pool_slot_count(f->pool) * f->slot, c), gp_io_name(f->io));
	printf("  seconds, faults, loads: the touching only (not the checksum pass); ratio: view to mmap\n\n");
	bench_table_init(&t, 7, headers);
	for (int mode = 0; mode < N_MODES; mode++)
		for (int w = 0; w < N_WAYS; w++) {
			const struct run *r = &f->runs[w][mode];
			char s[32], g[32], q[32], fl[32], ld[32];
			double rx = ratio(f, mode);

			if (!r->done)
				continue;
			snprintf(s, sizeof(s), "%.3f", r->seconds);
			snprintf(g, sizeof(g), "%.2f", bench_gbps(r->bytes, r->seconds));
			strcpy(q, "-");
			strcpy(fl, "-");
			strcpy(ld, "-");
			if (rx >= 0)
				snprintf(q, sizeof(q), "%.2fx", w == W_VIEW ? rx : 1.0);
			if (w == W_VIEW) {
				snprintf(fl, sizeof(fl), "%" PRIu64, r->stats.faults);
				snprintf(ld, sizeof(ld), "%" PRIu64, r->stats.loads);
			}
			bench_table_row(&t, (const char *const[]){ way_names[w], mode_names[mode], s, g,
								    q, fl, ld });
		}
	bench_table_print(&t, stdout);
	if (f->runs[W_VIEW][MODE_COLD].done)
		printf("\ncold: page cache dropped before each run (%s)",
		       f->runs[W_VIEW][MODE_COLD].cache.how);
	if (!mismatch(f, &ref) && ref)
		printf("\nchecksums: every run saw the same tensor data (0x%016" PRIx64 ")\n", ref->sum);
	printf("\ntarget:\n");
	if (x < 0)
		printf("  %-40s not measured\n", "cold view >= 1.0x plain mmap");
	else
		printf("  %-40s %.2fx  %s\n", "cold view >= 1.0x plain mmap", x, x >= TARGET ? "met" : "missed");
}

static void print_json(const struct fault *f)
{
	json_t *root, *runs = json_array();
	const struct run *ref;
	double x = ratio(f, MODE_COLD);
	char hex[24];
	char *text;

	for (int mode = 0; mode < N_MODES; mode++)
		for (int w = 0; w < N_WAYS; w++) {
			const struct run *r = &f->runs[w][mode];
			double rx = ratio(f, mode);
			json_t *j;

			if (!r->done)
				continue;
			snprintf(hex, sizeof(hex), "0x%016" PRIx64, r->sum);
			j = json_pack("{s:s, s:s, s:f, s:f, s:I, s:s, s:o, s:s?, s:f}", "way", way_names[w],
				      "mode", mode_names[mode], "seconds", r->seconds, "gbps",
				      bench_gbps(r->bytes, r->seconds), "bytes", (json_int_t)r->bytes,
				      "checksum", hex,
				      "ratio", rx < 0 ? json_null() : json_real(w == W_VIEW ? rx : 1.0),
				      "cache_drop", mode == MODE_COLD ? r->cache.how : NULL,
				      "resident_before", r->cache.resident);
			if (w == W_VIEW)
				json_object_set_new(j, "view_stats",
						    json_pack("{s:I, s:I, s:I, s:I, s:I}",
							      "faults", (json_int_t)r->stats.faults,
							      "loads", (json_int_t)r->stats.loads,
							      "readaheads", (json_int_t)r->stats.readaheads,
							      "drops", (json_int_t)r->stats.drops,
							      "errors", (json_int_t)r->stats.errors));
			json_array_append_new(runs, j);
		}
	root = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:I, s:i, s:o, s:b, s:{s:s, s:f, s:o, s:o}}",
			 "model", f->o->model, "files", (json_int_t)f->desc->n_files,
			 "file_bytes", (json_int_t)f->file_bytes,
			 "data_bytes", (json_int_t)bench_data_bytes(f->desc),
			 "slot_size", (json_int_t)f->slot, "view", kind_name(f->kind),
			 "io", gp_io_name(f->io),
			 "pool_bytes", (json_int_t)((uint64_t)gp_host_pool_slot_count(f->pool) * f->slot),
			 "threads", (int)f->o->threads, "runs", runs, "checksums_agree", !mismatch(f, &ref),
			 "target", "target", "cold view >= 1.0x plain mmap", "goal", TARGET, "ratio",
			 x < 0 ? json_null() : json_real(x), "met",
			 x < 0 ? json_null() : json_boolean(x >= TARGET));
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text)
		puts(text);
	free(text);
	json_decref(root);
}

int bench_fault_main(int argc, char **argv)
{
	struct fault_opts o = { 0 };
	const struct gp_config *cfg;
	const struct run *ref, *bad;
	struct fault *f;
	uint64_t slot;
	int err, status;

	status = parse_args(argc, argv, &o);
	if (status)
		return status < 0 ? 0 : status;
	err = gp_config_get(&cfg);
	if (err)
		return cli_fail(CMD, err);
	slot = o.slot_size ? o.slot_size : cfg->chunk_size;
	if (slot < (2u << 20))
		return cli_usage_error(CMD, "the view's chunk must be at least 2M (GPUPAGER_CHUNK_SIZE is %" PRIu64 " bytes); give --slot-size",
				       slot);
	if (o.pool < slot)
		return cli_usage_error(CMD, "--pool must hold at least one slot (%" PRIu64 " bytes)", slot);
	f = calloc(1, sizeof(*f));
	if (!f)
		return cli_fail(CMD, gp_fail(GP_ENOMEM, "out of memory"));
	f->o = &o;
	f->slot = slot;
	err = gp_model_desc_open(o.model, &f->desc);
	if (err)
		goto out;
	for (uint32_t k = 0; k < f->desc->n_files; k++)
		f->file_bytes += f->desc->files[k].size;
	err = open_reader(f);
	if (!err)
		err = run_all(f);
	if (err)
		goto out;
	if (o.json)
		print_json(f);
	else
		print_text(f);
	bad = mismatch(f, &ref);
	if (bad)
		err = gp_fail(GP_EIO, "checksum mismatch: %s %s saw 0x%016" PRIx64 ", %s %s saw 0x%016" PRIx64,
			      way_names[(bad - &f->runs[0][0]) / N_MODES],
			      mode_names[(bad - &f->runs[0][0]) % N_MODES], bad->sum,
			      way_names[(ref - &f->runs[0][0]) / N_MODES],
			      mode_names[(ref - &f->runs[0][0]) % N_MODES], ref->sum);
out:
	close_reader(f);
	if (f->desc)
		gp_model_desc_free(f->desc);
	free(f);
	return err ? cli_fail(CMD, err) : 0;
}
