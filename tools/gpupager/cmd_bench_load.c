/*
 * cmd_bench_load.c - `gpupager bench load`: read all tensor data of a model
 * from disk into host memory four ways and compare them, cold and warm.
 *
 *   uring   the pager's reader (uring/io.h) into host pool slots, a batch
 *           of slot-size pieces per gp_io_read so many are in flight
 *   pread   one thread, pread(2) of each piece into a pool-sized buffer
 *   mmap    mmap of each file, memcpy of each piece into a pool-sized buffer
 *   direct  O_DIRECT reads of whole files, 4 MiB at a time, to nowhere:
 *           the disk's own speed, the cold baseline
 *
 * Every method checksums what it read (order-free gp_checksum_at sums, so
 * the totals must agree); checksumming is timed apart and left out of the
 * figures.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
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
#include "../../uring/io.h"

#define CMD "bench load"
#define DIRECT_BUFFER (4u << 20)
#define DIRECT_ALIGN 4096u
#define MAX_BATCH 32u
#define DEFAULT_POOL (1ull << 30)

enum method { M_DIRECT, M_URING, M_PREAD, M_MMAP, N_METHODS };
enum mode { MODE_COLD, MODE_WARM, N_MODES };

static const char *const method_names[N_METHODS] = { "direct", "uring", "pread", "mmap" };
static const char *const method_text[N_METHODS] = {
	"O_DIRECT 4 MiB reads (disk)", "reader -> pool slots", "pread, 1 thread", "mmap + memcpy",
};
static const char *const mode_names[N_MODES] = { "cold", "warm" };
/* Ratios: cold against the disk, warm against mmap + memcpy. */
static const enum method ratio_base[N_MODES] = { M_DIRECT, M_MMAP };

struct load_opts {
	const char *model;
	unsigned methods;       /* bit per enum method */
	unsigned modes;         /* bit per enum mode */
	uint64_t slot_size;     /* 0: GPUPAGER_CHUNK_SIZE */
	uint64_t pool;
	int buffered;           /* the reader without O_DIRECT */
	int json;
};

struct run {
	bool done;
	double seconds;         /* checksumming left out */
	uint64_t bytes;
	uint64_t sum;
	struct bench_cache cache;       /* the page cache before the run */
};

struct load {
	const struct load_opts *o;
	struct gp_model_desc *desc;
	uint64_t data_bytes;
	uint64_t slot;
	char *buf;                      /* pread's and mmap's destination, pieces cycled */
	uint64_t buf_len;               /* as large as the pool */
	struct gp_io *io;
	struct gp_io_file **files;
	struct gp_host_pool *pool;
	unsigned batch;
	double excluded;                /* checksum seconds in the current run */
	struct bench_progress progress;
	struct run runs[N_METHODS][N_MODES];
};

static void help(void)
{
	printf("usage: gpupager bench load MODEL [--method LIST] [--cold|--warm|--both]\n"
	       "                            [--slot-size SIZE] [--pool SIZE] [--json]\n\n"
	       "Read all tensor data of MODEL (each file's bytes after its header) into host\n"
	       "memory, by each method, and report seconds, GB/s and a ratio:\n\n"
	       "  direct  O_DIRECT reads of 4 MiB into one aligned buffer: the disk's own speed\n"
	       "  uring   the pager's reader (GPUPAGER_IO: io_uring, or the pread pool) into\n"
	       "          host pool slots, in slot-size pieces, up to %u pieces per batch\n"
	       "  pread   one thread, pread(2) of each slot-size piece into a pool-sized buffer\n"
	       "  mmap    mmap of each file and memcpy of each piece into a pool-sized buffer\n\n"
	       "Cold runs drop the files' page cache first (posix_fadvise DONTNEED; as root\n"
	       "also /proc/sys/vm/drop_caches when pages stay); warm runs read the files once\n"
	       "first.  Cold ratios are to direct, warm ratios to mmap.  Every method checksums\n"
	       "each piece and the totals must agree (exit 1 otherwise); checksum time is\n"
	       "left out of the figures.  Targets: cold uring >= 0.9x direct, warm uring\n"
	       ">= 1.0x mmap.\n\n"
	       "  --method LIST     all (default), or a comma list of uring, pread, mmap, direct\n"
	       "  --cold, --warm    only cold or only warm runs (--both, the default: both)\n"
	       "  --slot-size SIZE  piece and pool slot size, a multiple of 4K from 64K to 1G\n"
	       "                    (default GPUPAGER_CHUNK_SIZE, else 2M)\n"
	       "  --pool SIZE       most host pool memory for uring (default 1G; the pool is\n"
	       "                    never larger than the model)\n"
	       "  --buffered        the reader without O_DIRECT (buffered reads: warm runs\n"
	       "                    then come from the page cache)\n"
	       "  --json            one JSON object on stdout, for scripts\n"
	       "  --help            this text\n\n"
	       "Exit status: 0 success, 1 I/O error or checksum mismatch, 2 usage error.\n",
	       MAX_BATCH);
}

static int parse_methods(const char *text, unsigned *methods)
{
	char *copy = strdup(text), *save = NULL, *tok;
	int ok = copy != NULL;

	*methods = 0;
	for (tok = ok ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
		int m;

		if (!strcmp(tok, "all")) {
			*methods |= (1u << N_METHODS) - 1;
			continue;
		}
		for (m = 0; m < N_METHODS && strcmp(tok, method_names[m]); m++)
			;
		if (m == N_METHODS)
			ok = 0;
		*methods |= 1u << m;
	}
	free(copy);
	return ok && *methods;
}

/* 0 to go on, 2 after a usage error, -1 after --help. */
static int parse_args(int argc, char **argv, struct load_opts *o)
{
	static const struct option opts[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "cold", no_argument, NULL, 'c' },
		{ "warm", no_argument, NULL, 'w' },
		{ "both", no_argument, NULL, 'b' },
		{ "slot-size", required_argument, NULL, 's' },
		{ "pool", required_argument, NULL, 'p' },
		{ "buffered", no_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->methods = (1u << N_METHODS) - 1;
	o->modes = (1u << N_MODES) - 1;
	o->pool = DEFAULT_POOL;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!parse_methods(optarg, &o->methods))
				return cli_usage_error(CMD, "--method '%s': expected all or a comma list of uring, pread, mmap, direct",
						       optarg);
			break;
		case 'c': o->modes = 1u << MODE_COLD; break;
		case 'w': o->modes = 1u << MODE_WARM; break;
		case 'b': o->modes = (1u << N_MODES) - 1; break;
		case 's':
			if (gp_parse_size(optarg, &o->slot_size))
				return cli_usage_error(CMD, "--slot-size: %s", gp_last_error());
			if (o->slot_size % 4096 || o->slot_size < (64u << 10) || o->slot_size > (1u << 30))
				return cli_usage_error(CMD, "--slot-size '%s': must be a multiple of 4K from 64K to 1G",
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

/* Add a piece's checksum to sum, the time it takes left out of the run's figure. */
static void sum_piece(struct load *l, uint64_t *sum, const void *data, size_t len, uint64_t offset)
{
	double t = bench_now();

	*sum += gp_checksum_at(data, len, offset);
	l->excluded += bench_now() - t;
}

static uint64_t piece_len(const struct gp_st_file *f, uint64_t off, uint64_t slot)
{
	return f->size - off < slot ? f->size - off : slot;
}

/* Pieces read by one gp_io_read, each into a pinned pool slot. */
struct batch {
	size_t n;
	struct gp_io_req reqs[MAX_BATCH];
	uint32_t slots[MAX_BATCH];
	bool fresh[MAX_BATCH];
	uint64_t data_off[MAX_BATCH];   /* the piece's offset in its file's data */
};

static int uring_flush(struct load *l, struct batch *b, uint64_t *sum)
{
	int err = gp_io_read(l->io, b->reqs, b->n);

	for (size_t i = 0; i < b->n; i++) {
		if (!err)
			sum_piece(l, sum, b->reqs[i].dst, b->reqs[i].len, b->data_off[i]);
		if (b->fresh[i])
			gp_host_pool_filled(l->pool, b->slots[i], err);
		/* A failed fill frees the slot; a filled one is unpinned here. */
		if (!b->fresh[i] || !err)
			gp_host_pool_put(l->pool, b->slots[i]);
	}
	b->n = 0;
	return err;
}

static int run_uring(struct load *l, struct run *r)
{
	struct batch b = { 0 };
	uint64_t index = 0;
	uint32_t owner;
	int err;

	/* A new owner per run: no slot from an earlier run can be a hit. */
	err = gp_host_pool_owner_add(l->pool, NULL, NULL, &owner);
	if (err)
		return err;
	for (uint32_t k = 0; k < l->desc->n_files && !err; k++) {
		const struct gp_st_file *f = &l->desc->files[k];

		for (uint64_t off = f->data_start; off < f->size && !err; off += l->slot) {
			size_t i = b.n;

			err = gp_host_pool_get(l->pool, owner, index++, &b.slots[i], &b.fresh[i]);
			if (err)
				break;
			b.reqs[i] = (struct gp_io_req){ l->files[k], off, piece_len(f, off, l->slot),
							gp_host_pool_slot_addr(l->pool, b.slots[i]) };
			b.data_off[i] = off - f->data_start;
			r->bytes += b.reqs[i].len;
			if (++b.n == l->batch) {
				err = uring_flush(l, &b, &r->sum);
				bench_progress_update(&l->progress, r->bytes);
			}
		}
	}
	if (b.n) {
		int flush_err = uring_flush(l, &b, &r->sum);

		err = err ? err : flush_err;
	}
	gp_host_pool_owner_remove(l->pool, owner);
	return err;
}

static int read_full(int fd, const char *path, char *dst, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t got = pread(fd, dst, len, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return gp_fail(GP_EIO, "%s: read at offset %" PRIu64 ": %s", path, off,
				       strerror(errno));
		if (!got)
			return gp_fail(GP_EIO, "%s: file ends at %" PRIu64 ", expected more (truncated?)",
				       path, off);
		dst += got;
		len -= (uint64_t)got;
		off += (uint64_t)got;
	}
	return 0;
}

/* The destination's size for every method: the pool's (never more than the model, at least a slot). */
static uint64_t dest_bytes(const struct load *l)
{
	uint64_t n = (l->data_bytes + l->slot - 1) / l->slot * l->slot;

	n = n < l->o->pool ? n : l->o->pool / l->slot * l->slot;
	return n > l->slot ? n : l->slot;
}

/*
 * Where piece i goes: pieces cycle through a destination as large as the
 * reader's pool, so every method writes the same amount of distinct memory
 * (a single reused buffer would stay in the CPU cache and flatter pread/mmap).
 */
static char *dest_piece(struct load *l, uint64_t i)
{
	return l->buf + (i % (l->buf_len / l->slot)) * l->slot;
}

static int run_pread(struct load *l, struct run *r)
{
	uint64_t piece = 0;
	int err = 0;

	for (uint32_t k = 0; k < l->desc->n_files && !err; k++) {
		const struct gp_st_file *f = &l->desc->files[k];
		int fd = open(f->path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return gp_fail(GP_EIO, "%s: %s", f->path, strerror(errno));
		for (uint64_t off = f->data_start; off < f->size && !err; off += l->slot) {
			uint64_t len = piece_len(f, off, l->slot);

			char *dst = dest_piece(l, piece++);

			err = read_full(fd, f->path, dst, len, off);
			if (!err)
				sum_piece(l, &r->sum, dst, len, off - f->data_start);
			r->bytes += len;
			bench_progress_update(&l->progress, r->bytes);
		}
		close(fd);
	}
	return err;
}

static int run_mmap(struct load *l, struct run *r)
{
	uint64_t piece = 0;

	for (uint32_t k = 0; k < l->desc->n_files; k++) {
		const struct gp_st_file *f = &l->desc->files[k];
		int fd = open(f->path, O_RDONLY | O_CLOEXEC);
		char *map;

		if (fd < 0)
			return gp_fail(GP_EIO, "%s: %s", f->path, strerror(errno));
		map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (map == MAP_FAILED)
			return gp_fail(GP_EIO, "%s: mmap of %" PRIu64 " bytes: %s", f->path, f->size,
				       strerror(errno));
		for (uint64_t off = f->data_start; off < f->size; off += l->slot) {
			uint64_t len = piece_len(f, off, l->slot);

			char *dst = dest_piece(l, piece++);

			memcpy(dst, map + off, len);
			sum_piece(l, &r->sum, dst, len, off - f->data_start);
			r->bytes += len;
			bench_progress_update(&l->progress, r->bytes);
		}
		munmap(map, f->size);
	}
	return 0;
}

/* Feed the data part of buf (file bytes [pos, pos + len)) to the checksum stream. */
static void feed_data(struct load *l, struct bench_sum *s, const struct gp_st_file *f,
		      const char *buf, uint64_t pos, uint64_t len)
{
	uint64_t skip = pos < f->data_start ? f->data_start - pos : 0;
	double t = bench_now();

	if (skip < len)
		bench_sum_feed(s, buf + skip, len - skip);
	l->excluded += bench_now() - t;
}

static int direct_file(struct load *l, struct run *r, const struct gp_st_file *f, char *buf)
{
	struct bench_sum s = { 0 };
	int fd = open(f->path, O_RDONLY | O_DIRECT | O_CLOEXEC), err = 0;
	uint64_t pos = 0;

	if (fd < 0)
		return gp_fail(GP_EIO, "%s: open with O_DIRECT: %s%s", f->path, strerror(errno),
			       errno == EINVAL ? " (the file system does not support it; leave out --method direct)" : "");
	while (pos < f->size) {
		ssize_t got = pread(fd, buf, DIRECT_BUFFER, (off_t)pos);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || ((uint64_t)got % DIRECT_ALIGN && pos + (uint64_t)got < f->size)) {
			err = gp_fail(GP_EIO, "%s: O_DIRECT read at offset %" PRIu64 ": %s", f->path, pos,
				      got < 0 ? strerror(errno) : "short read before the end of the file");
			break;
		}
		feed_data(l, &s, f, buf, pos, (uint64_t)got);
		if (pos + (uint64_t)got > f->data_start)
			r->bytes += pos + (uint64_t)got - (pos > f->data_start ? pos : f->data_start);
		pos += (uint64_t)got;
		bench_progress_update(&l->progress, r->bytes);
	}
	close(fd);
	r->sum += bench_sum_end(&s);
	return err;
}

static int run_direct(struct load *l, struct run *r)
{
	void *buf;
	int err = 0;

	if (posix_memalign(&buf, DIRECT_ALIGN, DIRECT_BUFFER))
		return gp_fail(GP_ENOMEM, "cannot allocate a %u-byte aligned buffer", DIRECT_BUFFER);
	for (uint32_t k = 0; k < l->desc->n_files && !err; k++)
		err = direct_file(l, r, &l->desc->files[k], buf);
	free(buf);
	return err;
}

static int run_one(struct load *l, enum method m, enum mode mode)
{
	static int (*const fns[N_METHODS])(struct load *, struct run *) = {
		run_direct, run_uring, run_pread, run_mmap,
	};
	struct run *r = &l->runs[m][mode];
	char label[32];
	double t0;
	int err;

	err = mode == MODE_COLD ? bench_cache_drop(l->desc, &r->cache)
				: bench_cache_resident(l->desc, &r->cache.resident);
	if (err)
		return err;
	if (mode == MODE_WARM)
		r->cache.how = "read";
	snprintf(label, sizeof(label), "%s %s", method_names[m], mode_names[mode]);
	bench_progress_start(&l->progress, label, l->data_bytes);
	l->excluded = 0;
	t0 = bench_now();
	err = fns[m](l, r);
	r->seconds = bench_now() - t0 - l->excluded;
	bench_progress_end(&l->progress);
	if (err)
		return gp_fail_context(err, "%s (%s): ", method_names[m], mode_names[mode]);
	r->done = true;
	return 0;
}

static int open_reader(struct load *l)
{
	struct gp_io_opts io_opts;
	struct gp_host_pool_opts pool_opts = { 0 };
	int err;

	gp_io_opts_default(&io_opts);
	io_opts.use_direct = !l->o->buffered;
	err = gp_io_open(&io_opts, &l->io);
	if (err)
		return err;
	l->files = calloc(l->desc->n_files, sizeof(*l->files));
	if (!l->files)
		return gp_fail(GP_ENOMEM, "out of memory");
	for (uint32_t k = 0; k < l->desc->n_files; k++) {
		err = gp_io_add_file(l->io, l->desc->files[k].path, l->desc->files[k].size,
				     &l->files[k]);
		if (err)
			return err;
	}
	pool_opts.budget = dest_bytes(l);
	pool_opts.slot_size = l->slot;
	pool_opts.numa_node = -1;
	pool_opts.io = l->io;
	err = gp_host_pool_open(&pool_opts, &l->pool);
	if (err)
		return err;
	l->batch = gp_host_pool_slot_count(l->pool) < MAX_BATCH ? gp_host_pool_slot_count(l->pool)
								  : MAX_BATCH;
	return 0;
}

static void close_reader(struct load *l)
{
	if (l->pool)
		gp_host_pool_close(l->pool);
	if (l->io)
		gp_io_close(l->io);
	free(l->files);
}

static int run_all(struct load *l)
{
	struct bench_cache warm;
	int err;

	for (int mode = 0; mode < N_MODES; mode++) {
		if (!(l->o->modes & (1u << mode)))
			continue;
		if (mode == MODE_WARM) {
			err = bench_cache_warm(l->desc, &warm);
			if (err)
				return err;
		}
		for (int m = 0; m < N_METHODS; m++) {
			if (!(l->o->methods & (1u << m)))
				continue;
			err = run_one(l, m, mode);
			if (err)
				return err;
		}
	}
	return 0;
}

/* The ratio of run (m, mode) to its mode's base, or a negative number when not measured. */
static double ratio(const struct load *l, enum method m, enum mode mode)
{
	const struct run *r = &l->runs[m][mode], *b = &l->runs[ratio_base[mode]][mode];

	if (!r->done || !b->done || !r->seconds || !b->seconds)
		return -1;
	return bench_gbps(r->bytes, r->seconds) / bench_gbps(b->bytes, b->seconds);
}

struct target {
	const char *text;
	enum mode mode;
	double goal;
};

static const struct target targets[] = {
	{ "cold uring >= 0.9x direct (O_DIRECT disk speed)", MODE_COLD, 0.9 },
	{ "warm uring >= 1.0x mmap + memcpy", MODE_WARM, 1.0 },
};
#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

/* The first run that disagrees with the first run's checksum, or NULL. */
static const struct run *mismatch(const struct load *l, const struct run **ref)
{
	*ref = NULL;
	for (int mode = 0; mode < N_MODES; mode++)
		for (int m = 0; m < N_METHODS; m++) {
			const struct run *r = &l->runs[m][mode];

			if (!r->done)
				continue;
			if (!*ref)
				*ref = r;
			else if (r->sum != (*ref)->sum || r->bytes != (*ref)->bytes)
				return r;
		}
	return NULL;
}

static void print_text(const struct load *l)
{
	static const char *const headers[] = { "method", "mode", "seconds", "GB/s", "ratio" };
	struct bench_table t;
	const struct run *ref;
	char a[32], b[32], c[32];
	double x;

	printf("gpupager bench load: %s\n", l->o->model);
	printf("  %u file%s, %s of tensor data, pieces of %s\n", l->desc->n_files,
	       l->desc->n_files == 1 ? "" : "s", bench_size(l->data_bytes, a), bench_size(l->slot, b));
	if (l->io)
		printf("  uring: reader %s (%s), pool of %u slots (%s), %u pieces per batch\n",
		       gp_io_name(l->io), gp_io_file_direct(l->files[0]) ? "O_DIRECT" : "buffered",
		       gp_host_pool_slot_count(l->pool),
		       bench_size((uint64_t)gp_host_pool_slot_count(l->pool) * l->slot, c), l->batch);
	printf("  seconds leave out checksumming; cold ratio: to direct, warm ratio: to mmap\n\n");
	bench_table_init(&t, 5, headers);
	for (int mode = 0; mode < N_MODES; mode++)
		for (int m = 0; m < N_METHODS; m++) {
			const struct run *r = &l->runs[m][mode];
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
			bench_table_row(&t, (const char *const[]){ method_text[m], mode_names[mode], s, g, q });
		}
	bench_table_print(&t, stdout);
	for (int mode = 0; mode < N_MODES; mode++) {
		for (int m = 0; m < N_METHODS; m++) {
			const struct run *r = &l->runs[m][mode];

			if (!r->done)
				continue;
			printf("\n%s: %s, %.1f%% resident", mode_names[mode],
			       mode == MODE_COLD ? "page cache dropped before each run"
						 : "files read once before the runs",
			       100.0 * r->cache.resident);
			if (mode == MODE_COLD)
				printf(" (%s)", r->cache.how);
			break;
		}
	}
	if (!mismatch(l, &ref) && ref)
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

static json_t *ratio_json(const struct load *l, enum method m, enum mode mode)
{
	double x = ratio(l, m, mode);

	return x < 0 ? json_null() : json_real(x);
}

static void print_json(const struct load *l)
{
	json_t *root, *runs = json_array(), *tj = json_array(), *reader = json_null();
	const struct run *ref;
	char hex[24];
	char *text;

	for (int mode = 0; mode < N_MODES; mode++)
		for (int m = 0; m < N_METHODS; m++) {
			const struct run *r = &l->runs[m][mode];

			if (!r->done)
				continue;
			snprintf(hex, sizeof(hex), "0x%016" PRIx64, r->sum);
			json_array_append_new(runs, json_pack("{s:s, s:s, s:f, s:f, s:I, s:s, s:o, s:s, s:s?, s:f}",
				"method", method_names[m], "mode", mode_names[mode],
				"seconds", r->seconds, "gbps", bench_gbps(r->bytes, r->seconds),
				"bytes", (json_int_t)r->bytes, "checksum", hex,
				"ratio", ratio_json(l, m, mode), "ratio_to", method_names[ratio_base[mode]],
				"cache_drop", mode == MODE_COLD ? r->cache.how : NULL,
				"resident_before", r->cache.resident));
		}
	for (size_t i = 0; i < N_TARGETS; i++) {
		double x = ratio(l, M_URING, targets[i].mode);

		json_array_append_new(tj, json_pack("{s:s, s:f, s:o, s:o}", "target", targets[i].text,
						    "goal", targets[i].goal, "ratio",
						    ratio_json(l, M_URING, targets[i].mode), "met",
						    x < 0 ? json_null() : json_boolean(x >= targets[i].goal)));
	}
	if (l->io)
		reader = json_pack("{s:s, s:b, s:I, s:I, s:i}", "io", gp_io_name(l->io),
				   "direct", gp_io_file_direct(l->files[0]), "pool_slots",
				   (json_int_t)gp_host_pool_slot_count(l->pool), "pool_bytes",
				   (json_int_t)((uint64_t)gp_host_pool_slot_count(l->pool) * l->slot),
				   "batch", (int)l->batch);
	root = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:b, s:o}", "model", l->o->model,
			 "files", (json_int_t)l->desc->n_files, "data_bytes", (json_int_t)l->data_bytes,
			 "slot_size", (json_int_t)l->slot, "reader", reader, "runs", runs,
			 "checksums_agree", !mismatch(l, &ref), "targets", tj);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text)
		puts(text);
	free(text);
	json_decref(root);
}

int bench_load_main(int argc, char **argv)
{
	struct load_opts o = { 0 };
	struct load *l;
	const struct gp_config *cfg;
	const struct run *ref, *bad;
	uint64_t slot;
	int err, status;

	status = parse_args(argc, argv, &o);
	if (status)
		return status < 0 ? 0 : status;
	err = gp_config_get(&cfg);
	if (err)
		return cli_fail(CMD, err);
	slot = o.slot_size ? o.slot_size : cfg->chunk_size;
	if (o.pool < slot)
		return cli_usage_error(CMD, "--pool must hold at least one slot (%" PRIu64 " bytes)", slot);
	l = calloc(1, sizeof(*l));
	if (!l)
		return cli_fail(CMD, gp_fail(GP_ENOMEM, "out of memory"));
	l->o = &o;
	l->slot = slot;
	err = gp_model_desc_open(o.model, &l->desc);
	if (err)
		goto out;
	l->data_bytes = bench_data_bytes(l->desc);
	l->buf_len = dest_bytes(l);
	l->buf = mmap(NULL, l->buf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (l->buf == MAP_FAILED) {
		l->buf = NULL;
		err = gp_fail(GP_ENOMEM, "cannot map a %" PRIu64 "-byte destination", l->buf_len);
		goto out;
	}
	/* Touched up front, as the pool's slots are. */
	madvise(l->buf, l->buf_len, MADV_POPULATE_WRITE);
	if (o.methods & (1u << M_URING)) {
		err = open_reader(l);
		if (err)
			goto out;
	}
	err = run_all(l);
	if (err)
		goto out;
	if (o.json)
		print_json(l);
	else
		print_text(l);
	bad = mismatch(l, &ref);
	if (bad)
		err = gp_fail(GP_EIO, "checksum mismatch: %s %s read %" PRIu64 " bytes summing to 0x%016" PRIx64 ", %s %s read %" PRIu64 " bytes summing to 0x%016" PRIx64,
			      method_names[(bad - &l->runs[0][0]) / N_MODES], mode_names[(bad - &l->runs[0][0]) % N_MODES],
			      bad->bytes, bad->sum, method_names[(ref - &l->runs[0][0]) / N_MODES],
			      mode_names[(ref - &l->runs[0][0]) % N_MODES], ref->bytes, ref->sum);
out:
	close_reader(l);
	if (l->buf)
		munmap(l->buf, l->buf_len);
	if (l->desc)
		gp_model_desc_free(l->desc);
	free(l);
	return err ? cli_fail(CMD, err) : 0;
}
