/*
 * cmd_bench_load.c - `gpupager bench load`: read all tensor data of a model
 * from disk into host memory four ways and compare them, cold and warm.
 *
 *   uring   the pager's reader (uring/io.h) into host pool slots, a batch
 *           of slot-size pieces per gp_io_read so many are in flight
 *   pread   one thread, pread(2) of each piece into a pool-sized buffer
 *   mmap    mmap of each file, memcpy of each piece into a pool-sized buffer
 *   direct  O_DIRECT reads of whole files, 4 MiB at a time, into one
 *           buffer of transparent huge pages, to nowhere: the disk's own
 *           speed (an ordinary buffer of 4 KiB pages has its 4 MiB read
 *           cut by the block layer at 254 segments, about 1 MiB a request)
 *
 * --pad-header runs each method on a scratch copy of the model with every
 * header padded to 4 KiB (tensor data aligned) too, interleaved with the
 * model as written; --peers runs other loaders (bench_peers.h).
 *
 * Every method checksums what it read (order-free gp_checksum_at sums, so
 * the totals must agree); checksumming is timed apart and left out of the
 * figures.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench_load.h"
#include "bench_pad.h"
#include "bench.h"
#include "error.h"

#define CMD "bench load"
#define DIRECT_BUFFER (4u << 20)
#define DIRECT_ALIGN 4096u
#define HUGE_PAGE (2u << 20)
#define MAX_BATCH BENCH_LOAD_MAX_BATCH
#define DEFAULT_SCRATCH "/var/tmp"

static const char *const method_names[N_METHODS] = { "direct", "uring", "pread", "mmap" };

const char *const load_way_names[LOAD_N_WAYS] = {
	"direct", "uring", "pread", "mmap",
	"direct-pad", "uring-pad", "pread-pad", "mmap-pad",
	"runai", "runai-c16", "fastsafetensors", "safetensors",
	"runai+prealloc", "runai-c16+prealloc", "fastsafetensors+prealloc", "safetensors+prealloc",
};

static void help(void)
{
	printf("usage: gpupager bench load MODEL [--method LIST] [--cold|--warm|--both]\n"
	       "                            [--pad-header [--scratch DIR]] [--peers --python PATH]\n"
	       "                            [--repeat N] [--slot-size SIZE] [--pool SIZE] [--json]\n\n"
	       "Read all tensor data of MODEL (each file's bytes after its header) into host\n"
	       "memory, by each method, and report seconds, GB/s and a ratio:\n\n"
	       "  direct  O_DIRECT reads of 4 MiB into one huge-page buffer: the disk's own speed\n"
	       "  uring   the pager's reader (GPUPAGER_IO: io_uring, or the pread pool) into\n"
	       "          host pool slots, in slot-size pieces, up to %u pieces per batch\n"
	       "  pread   one thread, pread(2) of each slot-size piece into a pool-sized buffer\n"
	       "  mmap    mmap of each file and memcpy of each piece into a pool-sized buffer\n\n"
	       "Cold runs drop the files' page cache first (posix_fadvise DONTNEED; as root\n"
	       "also /proc/sys/vm/drop_caches when pages stay); warm runs read the files once\n"
	       "first.  Cold ratios are to direct, warm ratios to mmap.  Every method checksums\n"
	       "each piece and the totals must agree (exit 1 otherwise); checksum time is\n"
	       "left out of the figures.  Targets: cold uring >= 0.9x direct, warm uring\n"
	       ">= 1.0x mmap; with --pad-header cold uring >= 0.95x uring on the padded copy;\n"
	       "with --peers uring >= 1.5x Run:ai and ahead of every peer, cold and warm.\n\n"
	       "  --method LIST     all (default), or a comma list of uring, pread, mmap, direct\n"
	       "  --pad-header      also read a scratch copy of MODEL whose headers are padded\n"
	       "                    to 4 KiB (tensor data aligned), interleaved with MODEL\n"
	       "  --scratch DIR     where the copy is written and removed (default %s)\n"
	       "  --peers           also run Run:ai Model Streamer (default and 16-way),\n"
	       "                    fastsafetensors (CPU, no GDS) and safetensors safe_open on\n"
	       "                    MODEL, each also with its destination allocated before the\n"
	       "                    timer, through %s\n"
	       "                    in the Python of --python (peers it cannot import are skipped)\n"
	       "  --python PATH     the Python interpreter of the peers (a venv's bin/python)\n"
	       BENCH_HELP_MODES
	       "  --slot-size SIZE  piece and pool slot size, a multiple of 4K from 64K to 1G\n"
	       "                    (default GPUPAGER_CHUNK_SIZE, else 2M)\n"
	       "  --pool SIZE       most host pool memory for uring (default 1G; the pool is\n"
	       "                    never larger than the model)\n"
	       "  --buffered        the reader without O_DIRECT (buffered reads: warm runs\n"
	       "                    then come from the page cache)\n"
	       BENCH_HELP_END,
	       MAX_BATCH, DEFAULT_SCRATCH, GP_SOURCE_DIR "/tools/bench/peers/peer_load.py");
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

static int parse_option(struct bench *b, int c, const char *arg)
{
	struct load *l = (struct load *)b;

	if (c == 'm' && !parse_methods(arg, &b->ways))
		return cli_usage_error(CMD, "--method '%s': expected all or a comma list of uring, pread, mmap, direct",
				       arg);
	if (c == 'P')
		l->scratch = l->scratch ? l->scratch : DEFAULT_SCRATCH;
	if (c == 'S')
		l->scratch = arg;
	if (c == 'e')
		l->peers = true;
	if (c == 'y')
		l->python = arg;
	return 0;
}

static bool slot_ok(uint64_t slot)
{
	return !(slot % 4096) && slot >= (64u << 10) && slot <= (1u << 30);
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
	int err = gp_io_read(l->b.rd.io, b->reqs, b->n);

	for (size_t i = 0; i < b->n; i++) {
		if (!err)
			sum_piece(l, sum, b->reqs[i].dst, b->reqs[i].len, b->data_off[i]);
		if (b->fresh[i])
			gp_host_pool_filled(l->b.rd.pool, b->slots[i], err);
		/* A failed fill frees the slot; a filled one is unpinned here. */
		if (!b->fresh[i] || !err)
			gp_host_pool_put(l->b.rd.pool, b->slots[i]);
	}
	b->n = 0;
	return err;
}

static int run_uring(struct load *l, struct bench_run *r)
{
	struct batch b = { 0 };
	uint64_t index = 0;
	uint32_t owner;
	int err;

	/* A new owner per run: no slot from an earlier run can be a hit. */
	err = gp_host_pool_owner_add(l->b.rd.pool, NULL, NULL, &owner);
	if (err)
		return err;
	for (uint32_t k = 0; k < l->desc->n_files && !err; k++) {
		const struct gp_st_file *f = &l->desc->files[k];

		for (uint64_t off = f->data_start; off < f->size && !err; off += l->b.o.slot) {
			size_t i = b.n;
			char *slot;

			err = gp_host_pool_get(l->b.rd.pool, owner, index++, &b.slots[i], &b.fresh[i]);
			if (err)
				break;
			/* Placed as in the file, with the slot's room as scratch (io.h, hostpool.h). */
			slot = gp_host_pool_slot_addr(l->b.rd.pool, b.slots[i]);
			b.reqs[i] = (struct gp_io_req){ l->files[k], off, piece_len(f, off, l->b.o.slot),
							slot + gp_io_place(off), 1 };
			b.data_off[i] = off - f->data_start;
			r->bytes += b.reqs[i].len;
			if (++b.n == l->batch) {
				err = uring_flush(l, &b, &r->sum);
				bench_progress_update(&l->b.progress, r->bytes);
			}
		}
	}
	if (b.n) {
		int flush_err = uring_flush(l, &b, &r->sum);

		err = err ? err : flush_err;
	}
	gp_host_pool_owner_remove(l->b.rd.pool, owner);
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

/*
 * Where piece i goes: pieces cycle through a destination as large as the
 * reader's pool, so every method writes the same amount of distinct memory
 * (a single reused buffer would stay in the CPU cache and flatter pread/mmap).
 */
static char *dest_piece(struct load *l, uint64_t i)
{
	return l->buf + (i % (l->buf_len / l->b.o.slot)) * l->b.o.slot;
}

static int run_pread(struct load *l, struct bench_run *r)
{
	uint64_t piece = 0;
	int err = 0;

	for (uint32_t k = 0; k < l->desc->n_files && !err; k++) {
		const struct gp_st_file *f = &l->desc->files[k];
		int fd = open(f->path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return gp_fail(GP_EIO, "%s: %s", f->path, strerror(errno));
		for (uint64_t off = f->data_start; off < f->size && !err; off += l->b.o.slot) {
			uint64_t len = piece_len(f, off, l->b.o.slot);

			char *dst = dest_piece(l, piece++);

			err = read_full(fd, f->path, dst, len, off);
			if (!err)
				sum_piece(l, &r->sum, dst, len, off - f->data_start);
			r->bytes += len;
			bench_progress_update(&l->b.progress, r->bytes);
		}
		close(fd);
	}
	return err;
}

static int run_mmap(struct load *l, struct bench_run *r)
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
		for (uint64_t off = f->data_start; off < f->size; off += l->b.o.slot) {
			uint64_t len = piece_len(f, off, l->b.o.slot);

			char *dst = dest_piece(l, piece++);

			memcpy(dst, map + off, len);
			sum_piece(l, &r->sum, dst, len, off - f->data_start);
			r->bytes += len;
			bench_progress_update(&l->b.progress, r->bytes);
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

static int direct_file(struct load *l, struct bench_run *r, const struct gp_st_file *f, char *buf)
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
		bench_progress_update(&l->b.progress, r->bytes);
	}
	close(fd);
	r->sum += bench_sum_end(&s);
	return err;
}

/*
 * The buffer of direct: 4 MiB on 2 MiB boundaries, transparent huge pages
 * asked for and touched, so a read is two physically contiguous segments.
 */
static int map_direct(char **map, char **buf)
{
	size_t len = DIRECT_BUFFER + HUGE_PAGE;

	*map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*map == MAP_FAILED)
		return gp_fail(GP_ENOMEM, "cannot map a %zu-byte buffer", len);
	*buf = (char *)(((uintptr_t)*map + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	madvise(*buf, DIRECT_BUFFER, MADV_HUGEPAGE);
	madvise(*buf, DIRECT_BUFFER, MADV_POPULATE_WRITE);
	return 0;
}

static int run_direct(struct load *l, struct bench_run *r)
{
	char *map, *buf = NULL;
	int err = map_direct(&map, &buf);

	for (uint32_t k = 0; k < l->desc->n_files && !err; k++)
		err = direct_file(l, r, &l->desc->files[k], buf);
	if (map != MAP_FAILED)
		munmap(map, DIRECT_BUFFER + HUGE_PAGE);
	return err;
}

static int run_method(struct bench *b, unsigned m, enum bench_mode mode, struct bench_run *r)
{
	static int (*const fns[N_METHODS])(struct load *, struct bench_run *) = {
		run_direct, run_uring, run_pread, run_mmap,
	};
	struct load *l = (struct load *)b;
	unsigned layout = m / N_METHODS;
	double t0;
	int err;

	(void)mode;
	if (m >= LOAD_PEER_WAY(0))
		return bench_peer_run(l->python, &bench_peers[m - LOAD_PEER_WAY(0)], b->desc, r);
	l->desc = layout == L_PADDED ? l->padded : b->desc;
	l->files = layout == L_PADDED ? l->pad_files : b->rd.files;
	l->excluded = 0;
	t0 = bench_now();
	err = fns[m % N_METHODS](l, r);
	r->seconds = bench_now() - t0 - l->excluded;
	return err;
}

static const struct gp_model_desc *way_desc(const struct bench *b, unsigned way)
{
	const struct load *l = (const struct load *)b;

	return way / N_METHODS == L_PADDED ? l->padded : b->desc;
}

static const struct option options[] = {
	{ "method", required_argument, NULL, 'm' },
	{ "pad-header", no_argument, NULL, 'P' },
	{ "scratch", required_argument, NULL, 'S' },
	{ "peers", no_argument, NULL, 'e' },
	{ "python", required_argument, NULL, 'y' },
	{ NULL, 0, NULL, 0 },
};

static const struct bench_cmd cmd = {
	.name = CMD,
	.help = help,
	.options = options,
	.option = parse_option,
	.slot_ok = slot_ok,
	.slot_rule = "a multiple of 4K from 64K to 1G",
	.n_ways = LOAD_N_WAYS,
	.way_names = load_way_names,
	.run = run_method,
	.way_desc = way_desc,
};

/* The destination of pread and mmap, as large as the pool and touched up front, as the pool's slots are. */
static int map_dest(struct load *l)
{
	l->buf_len = bench_pool_bytes(l->data_bytes, l->b.o.pool, l->b.o.slot);
	l->buf = mmap(NULL, l->buf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (l->buf == MAP_FAILED) {
		l->buf = NULL;
		return gp_fail(GP_ENOMEM, "cannot map a %" PRIu64 "-byte destination", l->buf_len);
	}
	madvise(l->buf, l->buf_len, MADV_POPULATE_WRITE);
	return 0;
}

static int open_reader(struct load *l)
{
	struct bench *b = &l->b;
	unsigned slots;
	int err;

	err = bench_reader_open(&b->rd, b->desc, b->o.buffered, l->buf_len, b->o.slot);
	if (err)
		return err;
	if (l->padded) {
		l->pad_files = calloc(l->padded->n_files, sizeof(*l->pad_files));
		if (!l->pad_files)
			return gp_fail(GP_ENOMEM, "out of memory");
		for (uint32_t k = 0; k < l->padded->n_files && !err; k++)
			err = gp_io_add_file(b->rd.io, l->padded->files[k].path, l->padded->files[k].size,
					     &l->pad_files[k]);
		if (err)
			return err;
	}
	slots = gp_host_pool_slot_count(b->rd.pool);
	l->batch = slots < MAX_BATCH ? slots : MAX_BATCH;
	return 0;
}

/* --pad-header: write and open the copy; each method asked for runs on it too. */
static int open_padded(struct load *l)
{
	char *model = NULL;
	int err = bench_pad_model(l->b.desc, l->scratch, &l->pad_dir, &model);

	if (!err)
		err = gp_model_desc_open(model, &l->padded);
	free(model);
	if (!err && bench_data_bytes(l->padded) != l->data_bytes)
		err = gp_fail(GP_EIO, "%s: the padded copy has %" PRIu64 " bytes of tensor data, the model %" PRIu64,
			      l->pad_dir, bench_data_bytes(l->padded), l->data_bytes);
	l->b.ways |= (l->b.ways & ((1u << N_METHODS) - 1)) << N_METHODS;
	return err;
}

/* --peers: the peers that import in --python run, the others are named in the report. */
static int probe_peers(struct load *l)
{
	for (unsigned p = 0; p < BENCH_N_PEERS; p++) {
		int err = bench_peer_probe(l->python, &bench_peers[p], l->peer_version[p],
					   sizeof(l->peer_version[p]), l->peer_skipped[p],
					   sizeof(l->peer_skipped[p]));

		if (err < 0)
			return err;
		if (err == 0)
			l->b.ways |= 1u << LOAD_PEER_WAY(p);
	}
	return 0;
}

int bench_load_main(int argc, char **argv)
{
	const struct bench_run *ref, *bad;
	char bad_label[32], ref_label[32];
	struct load *l;
	int err, status;

	l = calloc(1, sizeof(*l));
	if (!l)
		return cli_fail(CMD, gp_fail(GP_ENOMEM, "out of memory"));
	l->b.cmd = &cmd;
	l->b.ways = (1u << N_METHODS) - 1;
	status = bench_args(&l->b, argc, argv);
	if (!status && l->peers && !l->python)
		status = cli_usage_error(CMD, "--peers needs --python PATH (the Python the peers are installed in)");
	if (status) {
		free(l);
		return status < 0 ? 0 : status;
	}
	err = gp_model_desc_open(l->b.o.model, &l->b.desc);
	if (err)
		goto out;
	l->data_bytes = bench_data_bytes(l->b.desc);
	l->b.progress_total = l->data_bytes;
	err = map_dest(l);
	if (!err && l->scratch)
		err = open_padded(l);
	if (!err && l->peers)
		err = probe_peers(l);
	if (!err && (l->b.ways & (1u << M_URING)))
		err = open_reader(l);
	if (!err)
		err = bench_run_all(&l->b);
	if (err)
		goto out;
	if (l->b.o.json)
		bench_load_print_json(l);
	else
		bench_load_print_text(l);
	bad = bench_mismatch(&l->b, &ref);
	if (bad)
		err = gp_fail(GP_EIO, "checksum mismatch: %s read %" PRIu64 " bytes summing to 0x%016" PRIx64 ", %s read %" PRIu64 " bytes summing to 0x%016" PRIx64,
			      bench_run_label(&l->b, bad, bad_label), bad->bytes, bad->sum,
			      bench_run_label(&l->b, ref, ref_label), ref->bytes, ref->sum);
out:
	bench_close(&l->b);
	free(l->pad_files);
	if (l->padded)
		gp_model_desc_free(l->padded);
	bench_pad_remove(l->pad_dir);
	if (l->buf)
		munmap(l->buf, l->buf_len);
	free(l);
	return err ? cli_fail(CMD, err) : 0;
}
