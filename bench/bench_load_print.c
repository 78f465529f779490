/* bench_load_print.c - `gpupager bench load`'s report: ratios, targets, text and JSON. */
#include <inttypes.h>
#include <stdio.h>

#include "bench_load.h"
#include "format.h"

static const char *const method_text[N_METHODS] = {
	"O_DIRECT 4 MiB reads (disk)", "reader -> pool slots", "pread, 1 thread", "mmap + memcpy",
};
static const char *const layout_text[N_LAYOUTS] = { "as written", "padded 4K" };
/* Ratios: cold against the disk, warm against mmap + memcpy, each on the same layout. */
static const enum load_method ratio_base[BENCH_N_MODES] = { M_DIRECT, M_MMAP };

#define PEERS_PLAIN 0x0fu       /* bench_peers[0..3]: as each allocates */
#define PEERS_PREALLOC 0xf0u    /* bench_peers[4..7]: destination before the timer */
#define PEERS_RUNAI 0x03u

/* The reader on the model as written, over the fastest done way of a set. */
struct target {
	const char *text;
	enum bench_mode mode;
	double goal;
	unsigned ways;          /* bits of load ways */
};

#define PEER_BITS(mask) ((mask) << LOAD_PEER_WAY(0))

static const struct target targets[] = {
	{ "cold uring >= 0.9x direct (O_DIRECT disk speed)", BENCH_COLD, 0.9, 1u << M_DIRECT },
	{ "warm uring >= 1.0x mmap + memcpy", BENCH_WARM, 1.0, 1u << M_MMAP },
	{ "cold uring >= 0.95x uring on the 4K-padded copy", BENCH_COLD, 0.95,
	  1u << LOAD_WAY(L_PADDED, M_URING) },
	{ "warm uring >= 0.95x uring on the 4K-padded copy", BENCH_WARM, 0.95,
	  1u << LOAD_WAY(L_PADDED, M_URING) },
	{ "cold uring >= 1.5x Run:ai (faster setting)", BENCH_COLD, 1.5, PEER_BITS(PEERS_RUNAI) },
	{ "warm uring >= 1.5x Run:ai (faster setting)", BENCH_WARM, 1.5, PEER_BITS(PEERS_RUNAI) },
	{ "cold uring ahead of every peer", BENCH_COLD, 1.0, PEER_BITS(PEERS_PLAIN) },
	{ "warm uring ahead of every peer", BENCH_WARM, 1.0, PEER_BITS(PEERS_PLAIN) },
	{ "cold uring ahead of every peer, dest. before timer", BENCH_COLD, 1.0, PEER_BITS(PEERS_PREALLOC) },
	{ "warm uring ahead of every peer, dest. before timer", BENCH_WARM, 1.0, PEER_BITS(PEERS_PREALLOC) },
};
#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

static double gbps(const struct bench_run *r)
{
	return r->done && r->seconds > 0 ? bench_gbps(r->bytes, r->seconds) : -1;
}

/* The base of a way's ratio: direct or mmap of its layout (peers: of the model as written). */
static unsigned base_way(unsigned way, enum bench_mode mode)
{
	unsigned layout = way < LOAD_PEER_WAY(0) ? way / N_METHODS : L_FILE;

	return LOAD_WAY(layout, ratio_base[mode]);
}

/* The ratio of run (way, mode) to its mode's base, or a negative number when not measured. */
static double ratio(const struct load *l, unsigned way, enum bench_mode mode)
{
	double a = gbps(&l->b.runs[way][mode]), b = gbps(&l->b.runs[base_way(way, mode)][mode]);

	return a < 0 || b <= 0 ? -1 : a / b;
}

static double target_ratio(const struct load *l, const struct target *t)
{
	double a = gbps(&l->b.runs[M_URING][t->mode]), best = -1;

	for (unsigned w = 0; w < LOAD_N_WAYS; w++)
		if ((t->ways & (1u << w)) && gbps(&l->b.runs[w][t->mode]) > best)
			best = gbps(&l->b.runs[w][t->mode]);
	return a < 0 || best <= 0 ? -1 : a / best;
}

static const char *way_text(unsigned way)
{
	return way < LOAD_PEER_WAY(0) ? method_text[way % N_METHODS]
				     : bench_peers[way - LOAD_PEER_WAY(0)].text;
}

static const char *way_layout(unsigned way)
{
	return way < LOAD_PEER_WAY(0) ? layout_text[way / N_METHODS] : layout_text[L_FILE];
}

static void print_header(const struct load *l)
{
	char a[32], b[32], c[32];

	printf("gpupager bench load: %s\n", l->b.o.model);
	printf("  %u file%s, %s of tensor data, pieces of %s, data starts at", l->b.desc->n_files,
	       l->b.desc->n_files == 1 ? "" : "s", gp_format_size(l->data_bytes, a, sizeof(a)),
	       gp_format_size(l->b.o.slot, b, sizeof(b)));
	for (uint32_t k = 0; k < l->b.desc->n_files; k++)
		printf("%s %" PRIu64, k ? "," : "", l->b.desc->files[k].data_start);
	printf("\n");
	if (l->padded)
		printf("  padded copy: %s (data at multiples of 4096)\n", l->pad_dir);
	if (l->b.rd.io)
		printf("  uring: reader %s (%s), pool of %u slots (%s), %u pieces per batch\n",
		       gp_io_name(l->b.rd.io), gp_io_file_direct(l->b.rd.files[0]) ? "O_DIRECT" : "buffered",
		       gp_host_pool_slot_count(l->b.rd.pool),
		       gp_format_size(bench_reader_pool_bytes(&l->b.rd, l->b.o.slot), c, sizeof(c)), l->batch);
	for (unsigned p = 0; l->peers && p < BENCH_N_PEERS; p++)
		if (!bench_peers[p].prealloc || l->peer_skipped[p][0])
			printf("  peer %s: %s\n", bench_peers[p].name,
			       l->peer_skipped[p][0] ? l->peer_skipped[p] : l->peer_version[p]);
	printf("  %u repetition%s, interleaved; seconds are medians and leave out checksumming;\n"
	       "  ratio: cold to direct, warm to mmap, of the same layout\n\n", l->b.o.repeat,
	       l->b.o.repeat == 1 ? "" : "s");
}

void bench_load_print_text(const struct load *l)
{
	static const char *const headers[] = { "method", "layout", "mode", "seconds", "GB/s", "ratio" };
	struct bench_table t;
	const struct bench_run *ref;
	double x;

	print_header(l);
	bench_table_init(&t, 6, headers);
	for (int mode = 0; mode < BENCH_N_MODES; mode++)
		for (unsigned w = 0; w < LOAD_N_WAYS; w++) {
			const struct bench_run *r = &l->b.runs[w][mode];
			char s[32], g[32], q[32];

			if (!r->done)
				continue;
			snprintf(s, sizeof(s), "%.3f", r->seconds);
			snprintf(g, sizeof(g), "%.2f", bench_gbps(r->bytes, r->seconds));
			x = ratio(l, w, mode);
			if (x < 0)
				snprintf(q, sizeof(q), "-");
			else
				snprintf(q, sizeof(q), "%.2fx", x);
			bench_table_row(&t, (const char *const[]){ way_text(w), way_layout(w),
								   bench_mode_names[mode], s, g, q });
		}
	bench_table_print(&t, stdout);
	for (int mode = 0; mode < BENCH_N_MODES; mode++) {
		for (unsigned w = 0; w < LOAD_N_WAYS; w++) {
			const struct bench_run *r = &l->b.runs[w][mode];

			if (!r->done)
				continue;
			printf("\n%s: %s, %.1f%% resident", bench_mode_names[mode],
			       mode == BENCH_COLD ? "page cache dropped before each run"
						 : "files read once before each repetition",
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
		x = target_ratio(l, &targets[i]);
		if (x < 0)
			printf("  %-52s not measured\n", targets[i].text);
		else
			printf("  %-52s %.2fx  %s\n", targets[i].text, x, x >= targets[i].goal ? "met" : "missed");
	}
}

static json_t *num_or_null(double x)
{
	return x < 0 ? json_null() : json_real(x);
}

static json_t *samples_json(const struct bench_run *r)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < r->n_samples; i++)
		json_array_append_new(a, json_real(r->samples[i]));
	return a;
}

void bench_load_print_json(const struct load *l)
{
	json_t *root, *runs = json_array(), *tj = json_array(), *reader = json_null();
	const struct bench_run *ref;
	char hex[24];

	for (int mode = 0; mode < BENCH_N_MODES; mode++)
		for (unsigned w = 0; w < LOAD_N_WAYS; w++) {
			const struct bench_run *r = &l->b.runs[w][mode];

			if (!r->done)
				continue;
			snprintf(hex, sizeof(hex), "0x%016" PRIx64, r->sum);
			json_array_append_new(runs, json_pack("{s:s, s:s, s:s, s:f, s:o, s:f, s:I, s:s, s:o, s:s, s:s?, s:f}",
				"method", load_way_names[w], "layout", w < LOAD_PEER_WAY(0) && w / N_METHODS == L_PADDED ? "padded" : "file",
				"mode", bench_mode_names[mode], "seconds", r->seconds, "samples", samples_json(r),
				"gbps", bench_gbps(r->bytes, r->seconds),
				"bytes", (json_int_t)r->bytes, "checksum", hex,
				"ratio", num_or_null(ratio(l, w, mode)), "ratio_to", load_way_names[base_way(w, mode)],
				"cache_drop", mode == BENCH_COLD ? r->cache.how : NULL,
				"resident_before", r->cache.resident));
		}
	for (size_t i = 0; i < N_TARGETS; i++) {
		double x = target_ratio(l, &targets[i]);

		json_array_append_new(tj, json_pack("{s:s, s:f, s:o, s:o}", "target", targets[i].text,
						    "goal", targets[i].goal, "ratio", num_or_null(x), "met",
						    x < 0 ? json_null() : json_boolean(x >= targets[i].goal)));
	}
	if (l->b.rd.io)
		reader = json_pack("{s:s, s:b, s:I, s:I, s:i}", "io", gp_io_name(l->b.rd.io),
				   "direct", gp_io_file_direct(l->b.rd.files[0]), "pool_slots",
				   (json_int_t)gp_host_pool_slot_count(l->b.rd.pool), "pool_bytes",
				   (json_int_t)bench_reader_pool_bytes(&l->b.rd, l->b.o.slot),
				   "batch", (int)l->batch);
	root = json_pack("{s:s, s:I, s:I, s:I, s:i, s:o, s:o, s:b, s:o}", "model", l->b.o.model,
			 "files", (json_int_t)l->b.desc->n_files, "data_bytes", (json_int_t)l->data_bytes,
			 "slot_size", (json_int_t)l->b.o.slot, "repeat", (int)l->b.o.repeat, "reader", reader,
			 "runs", runs, "checksums_agree", !bench_mismatch(&l->b, &ref), "targets", tj);
	bench_json_print(root);
}
