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
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench_cmd.h"
#include "bench.h"
#include "error.h"
#include "format.h"
#include "hostview.h"

#define CMD "bench fault"
#define TOUCH_STRIDE 4096u
#define MAX_THREADS 64u
#define TARGET 1.0

enum way { W_VIEW, W_MMAP, N_WAYS };

static const char *const way_names[N_WAYS] = { "view", "mmap" };

struct fault {
	struct bench b;                 /* first: the run function gets &f->b */
	unsigned threads;
	uint64_t file_bytes;
	enum gp_host_view_kind kind;
	/* The touching's view counts, summed over the files (view runs). */
	struct gp_host_view_stats stats[BENCH_N_MODES];
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
	       BENCH_HELP_MODES
	       "  --threads N       touch with N threads, each a contiguous part (1-%u,\n"
	       "                    default 1)\n"
	       "  --slot-size SIZE  the view's chunk (pool slot), a power of two from 2M to\n"
	       "                    1G (default GPUPAGER_CHUNK_SIZE, else 2M)\n"
	       "  --pool SIZE       most host pool memory (default 1G; never more than the\n"
	       "                    largest file); a smaller pool than the file evicts chunks\n"
	       "  --buffered        the view's reader without O_DIRECT (warm loads then come\n"
	       "                    from the page cache)\n"
	       BENCH_HELP_END,
	       MAX_THREADS);
}

static int parse_option(struct bench *b, int c, const char *arg)
{
	struct fault *f = (struct fault *)b;
	char *end;

	if (c != 't')
		return 0;
	errno = 0;
	f->threads = (unsigned)strtoul(arg, &end, 10);
	if (errno || end == arg || *end || !f->threads || f->threads > MAX_THREADS)
		return cli_usage_error(CMD, "--threads '%s': expected 1 to %u", arg, MAX_THREADS);
	return 0;
}

static bool slot_ok(uint64_t slot)
{
	return slot >= (2u << 20) && slot <= (1u << 30) && !(slot & (slot - 1));
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
	unsigned n = f->threads, started = 0;
	uint64_t per = (size / n + TOUCH_STRIDE - 1) / TOUCH_STRIDE * TOUCH_STRIDE;
	double t0 = bench_now();
	int err = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t start = (uint64_t)i * per < size ? (uint64_t)i * per : size;

		parts[i] = (struct toucher){ base, start, start + per < size ? start + per : size, 0,
					     i ? NULL : &f->b.progress, done, n };
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

static int view_file(struct fault *f, uint32_t k, struct bench_run *r,
		     struct gp_host_view_stats *stats)
{
	const struct gp_st_file *sf = &f->b.desc->files[k];
	struct gp_host_view_opts vo = { f->b.rd.pool, f->b.rd.io, f->b.rd.files[k], sf->path, 0, 0 };
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
		stats->faults += st.faults;
		stats->loads += st.loads;
		stats->readaheads += st.readaheads;
		stats->drops += st.drops;
		r->seconds += seconds;
		r->bytes += sf->size;
		r->sum += gp_checksum_at(base + sf->data_start, sf->size - sf->data_start, 0);
		gp_host_view_get_stats(view, &st);
		stats->errors += st.errors;
		if (st.errors)
			err = gp_fail(GP_EIO, "%s: the view could not load %" PRIu64 " chunk%s (see the log above)",
				      sf->path, st.errors, st.errors == 1 ? "" : "s");
	}
	gp_host_view_close(view);
	return err;
}

static int mmap_file(struct fault *f, uint32_t k, struct bench_run *r)
{
	const struct gp_st_file *sf = &f->b.desc->files[k];
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

static int run_way(struct bench *b, unsigned w, enum bench_mode mode, struct bench_run *r)
{
	struct fault *f = (struct fault *)b;
	int err = 0;

	for (uint32_t k = 0; k < b->desc->n_files && !err; k++)
		err = w == W_VIEW ? view_file(f, k, r, &f->stats[mode]) : mmap_file(f, k, r);
	return err;
}

static const struct option options[] = {
	{ "threads", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 },
};

static const struct bench_cmd cmd = {
	.name = CMD,
	.help = help,
	.options = options,
	.option = parse_option,
	.slot_ok = slot_ok,
	.slot_rule = "a power of two from 2M to 1G",
	.n_ways = N_WAYS,
	.way_names = way_names,
	.run = run_way,
};

static double ratio(const struct fault *f, enum bench_mode mode)
{
	const struct bench_run *v = &f->b.runs[W_VIEW][mode], *m = &f->b.runs[W_MMAP][mode];

	if (!v->done || !m->done || !v->seconds || !m->seconds)
		return -1;
	return m->seconds / v->seconds;
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
	const struct bench_run *ref;
	char a[32], b[32], c[32];
	double x = ratio(f, BENCH_COLD);

	printf("gpupager bench fault: %s\n", f->b.o.model);
	printf("  %u file%s, %s; touch 1 byte per 4 KiB page with %u thread%s\n",
	       f->b.desc->n_files, f->b.desc->n_files == 1 ? "" : "s", gp_format_size(f->file_bytes, a, sizeof(a)),
	       f->threads, f->threads == 1 ? "" : "s");
	printf("  view: %s (%s), chunks of %s, pool of %s, reader %s\n", kind_name(f->kind),
	       f->kind == GP_VIEW_UFFD ? "userfaultfd" : "fallback: plain mmap of the file",
	       gp_format_size(f->b.o.slot, b, sizeof(b)),
	       gp_format_size(bench_reader_pool_bytes(&f->b.rd, f->b.o.slot), c, sizeof(c)), gp_io_name(f->b.rd.io));
	printf("  seconds, faults, loads: the touching only (not the checksum pass); ratio: view to mmap\n\n");
	bench_table_init(&t, 7, headers);
	for (int mode = 0; mode < BENCH_N_MODES; mode++)
		for (int w = 0; w < N_WAYS; w++) {
			const struct bench_run *r = &f->b.runs[w][mode];
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
				snprintf(fl, sizeof(fl), "%" PRIu64, f->stats[mode].faults);
				snprintf(ld, sizeof(ld), "%" PRIu64, f->stats[mode].loads);
			}
			bench_table_row(&t, (const char *const[]){ way_names[w], bench_mode_names[mode], s, g,
								    q, fl, ld });
		}
	bench_table_print(&t, stdout);
	if (f->b.runs[W_VIEW][BENCH_COLD].done)
		printf("\ncold: page cache dropped before each run (%s)",
		       f->b.runs[W_VIEW][BENCH_COLD].cache.how);
	if (!bench_mismatch(&f->b, &ref) && ref)
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
	const struct bench_run *ref;
	double x = ratio(f, BENCH_COLD);
	char hex[24];

	for (int mode = 0; mode < BENCH_N_MODES; mode++)
		for (int w = 0; w < N_WAYS; w++) {
			const struct bench_run *r = &f->b.runs[w][mode];
			double rx = ratio(f, mode);
			json_t *j;

			if (!r->done)
				continue;
			snprintf(hex, sizeof(hex), "0x%016" PRIx64, r->sum);
			j = json_pack("{s:s, s:s, s:f, s:f, s:I, s:s, s:o, s:s?, s:f}", "way", way_names[w],
				      "mode", bench_mode_names[mode], "seconds", r->seconds, "gbps",
				      bench_gbps(r->bytes, r->seconds), "bytes", (json_int_t)r->bytes,
				      "checksum", hex,
				      "ratio", rx < 0 ? json_null() : json_real(w == W_VIEW ? rx : 1.0),
				      "cache_drop", mode == BENCH_COLD ? r->cache.how : NULL,
				      "resident_before", r->cache.resident);
			if (w == W_VIEW)
				json_object_set_new(j, "view_stats",
						    json_pack("{s:I, s:I, s:I, s:I, s:I}",
							      "faults", (json_int_t)f->stats[mode].faults,
							      "loads", (json_int_t)f->stats[mode].loads,
							      "readaheads", (json_int_t)f->stats[mode].readaheads,
							      "drops", (json_int_t)f->stats[mode].drops,
							      "errors", (json_int_t)f->stats[mode].errors));
			json_array_append_new(runs, j);
		}
	root = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:I, s:i, s:o, s:b, s:{s:s, s:f, s:o, s:o}}",
			 "model", f->b.o.model, "files", (json_int_t)f->b.desc->n_files,
			 "file_bytes", (json_int_t)f->file_bytes,
			 "data_bytes", (json_int_t)bench_data_bytes(f->b.desc),
			 "slot_size", (json_int_t)f->b.o.slot, "view", kind_name(f->kind),
			 "io", gp_io_name(f->b.rd.io),
			 "pool_bytes", (json_int_t)bench_reader_pool_bytes(&f->b.rd, f->b.o.slot),
			 "threads", (int)f->threads, "runs", runs, "checksums_agree", !bench_mismatch(&f->b, &ref),
			 "target", "target", "cold view >= 1.0x plain mmap", "goal", TARGET, "ratio",
			 x < 0 ? json_null() : json_real(x), "met",
			 x < 0 ? json_null() : json_boolean(x >= TARGET));
	bench_json_print(root);
}

/* Sizes the model's files; opens the reader and a pool for one file at a time. */
static int open_reader(struct fault *f)
{
	struct bench *b = &f->b;
	uint64_t largest = 0;

	for (uint32_t k = 0; k < b->desc->n_files; k++) {
		f->file_bytes += b->desc->files[k].size;
		if (b->desc->files[k].size > largest)
			largest = b->desc->files[k].size;
	}
	b->progress_total = f->file_bytes;
	/* One file is viewed at a time: the pool need not hold more than the largest. */
	return bench_reader_open(&b->rd, b->desc, b->o.buffered,
				 bench_pool_bytes(largest, b->o.pool, b->o.slot), b->o.slot);
}

int bench_fault_main(int argc, char **argv)
{
	const struct bench_run *ref, *bad;
	char bad_label[32], ref_label[32];
	struct fault *f;
	int err, status;

	f = calloc(1, sizeof(*f));
	if (!f)
		return cli_fail(CMD, gp_fail(GP_ENOMEM, "out of memory"));
	f->b.cmd = &cmd;
	f->b.ways = (1u << N_WAYS) - 1;
	f->threads = 1;
	status = bench_args(&f->b, argc, argv);
	if (status) {
		free(f);
		return status < 0 ? 0 : status;
	}
	err = gp_model_desc_open(f->b.o.model, &f->b.desc);
	if (!err)
		err = open_reader(f);
	if (!err)
		err = bench_run_all(&f->b);
	if (err)
		goto out;
	if (f->b.o.json)
		print_json(f);
	else
		print_text(f);
	bad = bench_mismatch(&f->b, &ref);
	if (bad)
		err = gp_fail(GP_EIO, "checksum mismatch: %s saw 0x%016" PRIx64 ", %s saw 0x%016" PRIx64,
			      bench_run_label(&f->b, bad, bad_label), bad->sum,
			      bench_run_label(&f->b, ref, ref_label), ref->sum);
out:
	bench_close(&f->b);
	free(f);
	return err ? cli_fail(CMD, err) : 0;
}
