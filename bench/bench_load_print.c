/* bench_load_print.c - `gpupager bench load`'s report: ratios, targets, text and JSON. */
#include <inttypes.h>
#include <stdio.h>

#include "bench_load.h"
#include "format.h"

static const char *const method_text[N_METHODS] = {
	"O_DIRECT 4 MiB reads (disk)", "reader -> pool slots", "pread, 1 thread", "mmap + memcpy",
};
/* Ratios: cold against the disk, warm against mmap + memcpy. */
static const enum load_method ratio_base[BENCH_N_MODES] = { M_DIRECT, M_MMAP };

struct target {
	const char *text;
	enum bench_mode mode;
	double goal;
};

static const struct target targets[] = {
	{ "cold uring >= 0.9x direct (O_DIRECT disk speed)", BENCH_COLD, 0.9 },
	{ "warm uring >= 1.0x mmap + memcpy", BENCH_WARM, 1.0 },
};
#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

/* The ratio of run (m, mode) to its mode's base, or a negative number when not measured. */
static double ratio(const struct load *l, enum load_method m, enum bench_mode mode)
{
	const struct bench_run *r = &l->b.runs[m][mode], *b = &l->b.runs[ratio_base[mode]][mode];

	if (!r->done || !b->done || !r->seconds || !b->seconds)
		return -1;
	return bench_gbps(r->bytes, r->seconds) / bench_gbps(b->bytes, b->seconds);
}

void bench_load_print_text(const struct load *l)
{
	static const char *const headers[] = { "method", "mode", "seconds", "GB/s", "ratio" };
	struct bench_table t;
	const struct bench_run *ref;
	char a[32], b[32], c[32];
	double x;

	printf("gpupager bench load: %s\n", l->b.o.model);
	printf("  %u file%s, %s of tensor data, pieces of %s\n", l->b.desc->n_files,
	       l->b.desc->n_files == 1 ? "" : "s", gp_format_size(l->data_bytes, a, sizeof(a)),
	       gp_format_size(l->b.o.slot, b, sizeof(b)));
	if (l->b.rd.io)
		printf("  uring: reader %s (%s), pool of %u slots (%s), %u pieces per batch\n",
		       gp_io_name(l->b.rd.io), gp_io_file_direct(l->b.rd.files[0]) ? "O_DIRECT" : "buffered",
		       gp_host_pool_slot_count(l->b.rd.pool),
		       gp_format_size(bench_reader_pool_bytes(&l->b.rd, l->b.o.slot), c, sizeof(c)), l->batch);
	printf("  seconds leave out checksumming; cold ratio: to direct, warm ratio: to mmap\n\n");
	bench_table_init(&t, 5, headers);
	for (int mode = 0; mode < BENCH_N_MODES; mode++)
		for (int m = 0; m < N_METHODS; m++) {
			const struct bench_run *r = &l->b.runs[m][mode];
			char s[32], g[32], q[32];

			if (!r->done)
				continue;
			snprintf(s, sizeof(s), "%.3f", r->seconds);
			snprintf(g, sizeof(g), "%.2f", bench_gbps(r->bytes, r->seconds));
			x = ratio(l, m, mode);
			if (x < 0)
				snprintf(q, sizeof(q), "-");
			else
				snprintf(q, sizeof(q), "%.2fx", x);
			bench_table_row(&t, (const char *const[]){ method_text[m], bench_mode_names[mode], s, g, q });
		}
	bench_table_print(&t, stdout);
	for (int mode = 0; mode < BENCH_N_MODES; mode++) {
		for (int m = 0; m < N_METHODS; m++) {
			const struct bench_run *r = &l->b.runs[m][mode];

			if (!r->done)
				continue;
			printf("\n%s: %s, %.1f%% resident", bench_mode_names[mode],
			       mode == BENCH_COLD ? "page cache dropped before each run"
						 : "files read once before the runs",
			       100.0 * r->cache.resident);
			if (mode == BENCH_COLD)
				printf(" (%s)", r->cache.how);
			break;
		}
	}
	if (!bench_mismatch(&l->b, &ref) && ref)
		printf("\nchecksums: every run read the same %" PRIu64 " bytes (0x%016" PRIx64 ")\n",
		       ref->bytes, ref->sum);
	printf("\ntargets:\n");
	for (size_t i = 0; i < N_TARGETS; i++) {
		x = ratio(l, M_URING, targets[i].mode);
		if (x < 0)
			printf("  %-50s not measured\n", targets[i].text);
		else
			printf("  %-50s %.2fx  %s\n", targets[i].text, x, x >= targets[i].goal ? "met" : "missed");
	}
}

static json_t *ratio_json(const struct load *l, enum load_method m, enum bench_mode mode)
{
	double x = ratio(l, m, mode);

	return x < 0 ? json_null() : json_real(x);
}

void bench_load_print_json(const struct load *l)
{
	json_t *root, *runs = json_array(), *tj = json_array(), *reader = json_null();
	const struct bench_run *ref;
	char hex[24];

	for (int mode = 0; mode < BENCH_N_MODES; mode++)
		for (int m = 0; m < N_METHODS; m++) {
			const struct bench_run *r = &l->b.runs[m][mode];

			if (!r->done)
				continue;
			snprintf(hex, sizeof(hex), "0x%016" PRIx64, r->sum);
			json_array_append_new(runs, json_pack("{s:s, s:s, s:f, s:f, s:I, s:s, s:o, s:s, s:s?, s:f}",
				"method", load_method_names[m], "mode", bench_mode_names[mode],
				"seconds", r->seconds, "gbps", bench_gbps(r->bytes, r->seconds),
				"bytes", (json_int_t)r->bytes, "checksum", hex,
				"ratio", ratio_json(l, m, mode), "ratio_to", load_method_names[ratio_base[mode]],
				"cache_drop", mode == BENCH_COLD ? r->cache.how : NULL,
				"resident_before", r->cache.resident));
		}
	for (size_t i = 0; i < N_TARGETS; i++) {
		double x = ratio(l, M_URING, targets[i].mode);

		json_array_append_new(tj, json_pack("{s:s, s:f, s:o, s:o}", "target", targets[i].text,
						    "goal", targets[i].goal, "ratio",
						    ratio_json(l, M_URING, targets[i].mode), "met",
						    x < 0 ? json_null() : json_boolean(x >= targets[i].goal)));
	}
	if (l->b.rd.io)
		reader = json_pack("{s:s, s:b, s:I, s:I, s:i}", "io", gp_io_name(l->b.rd.io),
				   "direct", gp_io_file_direct(l->b.rd.files[0]), "pool_slots",
				   (json_int_t)gp_host_pool_slot_count(l->b.rd.pool), "pool_bytes",
				   (json_int_t)bench_reader_pool_bytes(&l->b.rd, l->b.o.slot),
				   "batch", (int)l->batch);
	root = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:b, s:o}", "model", l->b.o.model,
			 "files", (json_int_t)l->b.desc->n_files, "data_bytes", (json_int_t)l->data_bytes,
			 "slot_size", (json_int_t)l->b.o.slot, "reader", reader, "runs", runs,
			 "checksums_agree", !bench_mismatch(&l->b, &ref), "targets", tj);
	bench_json_print(root);
}
