/*
 * test_io.c - the file reader (uring/io.h): both engines, buffered and
 * O_DIRECT, odd offsets and lengths, unaligned and registered
 * destinations, large batches, concurrent callers, errors, injected faults
 * (uring/io_fault.h), truncated and replaced files, the fallback to pread
 * when io_uring_setup is refused.  Data is compared byte for byte with the
 * generator that wrote the files.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io.h"
#include "io_fault.h"
#include "config.h"
#include "common/st_fixture.h"
#include "gpupager.h"

#define MIB (1ull << 20)
#define FILE_SIZE (9 * MIB + 1234)

static char *dir;

/* ------------------------------------------------------------ fixtures */

static void setup_dir(void)
{
	dir = gp_test_st_dir_new_in("/var/tmp");
}

static void remove_dir(void)
{
	gp_test_st_dir_remove(dir);
}

TestSuite(io, .init = setup_dir, .fini = remove_dir, .timeout = 60);

/* Byte o of a file written with seed: byte o % 8 of gp_mix64(seed + o / 8). */
static void expected(uint64_t seed, uint64_t off, uint64_t len, unsigned char *out)
{
	for (uint64_t i = 0; i < len; i++) {
		uint64_t o = off + i;

		out[i] = (unsigned char)(gp_mix64(seed + o / 8) >> (8 * (o % 8)));
	}
}

static char *make_file(const char *name, uint64_t size, uint64_t seed)
{
	char *path = malloc(256);
	unsigned char *buf = malloc(MIB);
	FILE *fp;

	snprintf(path, 256, "%s/%s", dir, name);
	fp = fopen(path, "wb");
	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	for (uint64_t o = 0; o < size; o += MIB) {
		uint64_t n = size - o < MIB ? size - o : MIB;

		expected(seed, o, n, buf);
		cr_assert_eq(fwrite(buf, 1, n, fp), n);
	}
	cr_assert_eq(fflush(fp), 0);
	/* Out of the page cache, so reads of it take the O_DIRECT path where there is one. */
	cr_assert_eq(fdatasync(fileno(fp)), 0);
	posix_fadvise(fileno(fp), 0, 0, POSIX_FADV_DONTNEED);
	cr_assert_eq(fclose(fp), 0);
	free(buf);
	return path;
}

/* Every (engine, O_DIRECT) combination the tests run. */
struct cfg {
	int mode;
	int direct;
};
static const struct cfg cfgs[] = {
	{ GP_IO_URING, 0 }, { GP_IO_URING, 1 }, { GP_IO_PREAD, 0 }, { GP_IO_PREAD, 1 },
};
#define N_CFGS (sizeof(cfgs) / sizeof(cfgs[0]))

static const char *cfg_name(const struct cfg *c)
{
	static char s[32];

	snprintf(s, sizeof(s), "%s/%s", c->mode == GP_IO_URING ? "uring" : "pread",
		 c->direct ? "direct" : "buffered");
	return s;
}

static struct gp_io *open_io(const struct cfg *c, uint64_t request_size)
{
	struct gp_io_opts o;
	struct gp_io *io = NULL;
	int err;

	gp_io_opts_default(&o);
	o.mode = c->mode;
	o.use_direct = c->direct;
	o.request_size = request_size;
	o.queue_depth = 4;
	err = gp_io_open(&o, &io);
	cr_assert_eq(err, 0, "%s: %s", cfg_name(c), gp_last_error());
	cr_assert_str_eq(gp_io_name(io), c->mode == GP_IO_URING ? "io_uring" : "pread");
	return io;
}

/* Drop path's pages from the page cache, so O_DIRECT configurations really read direct. */
static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

static struct gp_io_file *add(struct gp_io *io, const char *path, uint64_t size)
{
	struct gp_io_file *f = NULL;
	int err;

	drop_cache(path);
	err = gp_io_add_file(io, path, size, &f);

	cr_assert_eq(err, 0, "%s: %s", path, gp_last_error());
	return f;
}

/* Compare dst with the generator; the first wrong byte names the offset. */
static void check(const struct cfg *c, uint64_t seed, uint64_t off, uint64_t len,
		  const unsigned char *dst)
{
	unsigned char *want = malloc(len ? len : 1);

	expected(seed, off, len, want);
	if (memcmp(want, dst, len)) {
		uint64_t i = 0;

		while (want[i] == dst[i])
			i++;
		cr_assert_fail("%s: read of %llu at %llu: byte %llu is %02x, expected %02x",
			       cfg_name(c), (unsigned long long)len, (unsigned long long)off,
			       (unsigned long long)i, dst[i], want[i]);
	}
	free(want);
}

static void read_ok(struct gp_io *io, const struct gp_io_req *r, size_t n, const struct cfg *c)
{
	int err = gp_io_read(io, r, n);

	cr_assert_eq(err, 0, "%s: %s", cfg_name(c), gp_last_error());
}

static struct gp_io_req req(struct gp_io_file *f, uint64_t off, uint64_t len, void *dst)
{
	return (struct gp_io_req){ .file = f, .offset = off, .len = len, .dst = dst };
}

/* ------------------------------------------------------------ opening */

Test(io, modes_and_names)
{
	struct gp_io_opts o;
	struct gp_io *io;

	gp_io_opts_default(&o);
	o.mode = GP_IO_AUTO;
	cr_assert_eq(gp_io_open(&o, &io), 0, "%s", gp_last_error());
	cr_assert_str_eq(gp_io_name(io), "io_uring");
	gp_io_close(io);
	for (size_t i = 0; i < N_CFGS; i++)
		gp_io_close(open_io(&cfgs[i], 0));
}

Test(io, defaults_follow_the_environment)
{
	struct gp_io_opts o;

	setenv("GPUPAGER_IO", "pread", 1);
	gp_io_opts_default(&o);
	cr_assert_eq(o.mode, GP_IO_PREAD);
	cr_assert_eq(o.use_direct, 1);
	cr_assert_eq(o.numa_node, -1);
}

Test(io, bad_options)
{
	struct gp_io_opts o;
	struct gp_io *io = NULL;

	gp_io_opts_default(&o);
	o.request_size = 512 << 10;
	cr_assert_eq(gp_io_open(&o, &io), GP_EINVAL);
	cr_assert(strstr(gp_last_error(), "1-4 MiB"), "%s", gp_last_error());
	o.request_size = 8 * MIB;
	cr_assert_eq(gp_io_open(&o, &io), GP_EINVAL);
	cr_assert_null(io);
}

/* Refuse io_uring_setup with EPERM, as a container's seccomp profile does. */
static void block_io_uring(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0, "%s", strerror(errno));
}

Test(io, falls_back_to_pread_when_io_uring_is_refused)
{
	static const struct cfg pread_cfg = { GP_IO_PREAD, 1 };
	char *path = make_file("f", FILE_SIZE, 7);
	struct gp_io_opts o;
	struct gp_io *io = NULL;
	struct gp_io_file *f;
	unsigned char *buf = malloc(FILE_SIZE);
	struct gp_io_req r;

	block_io_uring();
	gp_io_opts_default(&o);
	o.mode = GP_IO_URING;
	cr_assert_eq(gp_io_open(&o, &io), GP_ENOSYS);
	cr_assert(strstr(gp_last_error(), "io_uring unavailable (io_uring_setup: Operation not "
				       "permitted"), "%s", gp_last_error());
	o.mode = GP_IO_AUTO;
	cr_assert_eq(gp_io_open(&o, &io), 0, "%s", gp_last_error());
	cr_assert_str_eq(gp_io_name(io), "pread");
	f = add(io, path, FILE_SIZE);
	r = req(f, 0, FILE_SIZE, buf);
	read_ok(io, &r, 1, &pread_cfg);
	check(&pread_cfg, 7, 0, FILE_SIZE, buf);
	gp_io_close(io);
	free(buf);
	free(path);
}

/* -------------------------------------------------------------- files */

Test(io, add_file_errors)
{
	char *path = make_file("f", 5000, 1);
	char missing[300];
	struct gp_io *io = open_io(&cfgs[0], 0);
	struct gp_io_file *f = NULL;

	snprintf(missing, sizeof(missing), "%s/missing", dir);
	cr_assert_eq(gp_io_add_file(io, missing, UINT64_MAX, &f), GP_ENOENT);
	cr_assert(strstr(gp_last_error(), missing), "%s", gp_last_error());
	cr_assert_eq(gp_io_add_file(io, dir, UINT64_MAX, &f), GP_EIO);
	cr_assert(strstr(gp_last_error(), "not a regular file"), "%s", gp_last_error());
	cr_assert_eq(gp_io_add_file(io, path, 4999, &f), GP_EIO);
	cr_assert(strstr(gp_last_error(), "size 5000, expected 4999: the file changed"), "%s",
		  gp_last_error());
	cr_assert_null(f);
	f = add(io, path, 5000);
	cr_assert_str_eq(gp_io_file_path(f), path);
	cr_assert_eq(gp_io_file_size(f), 5000);
	gp_io_remove_file(io, f);
	gp_io_close(io);
	free(path);
}

Test(io, direct_where_the_file_system_allows_it)
{
	char *path = make_file("f", 5000, 1);
	char shm[64] = "/dev/shm/gp-io-XXXXXX";
	int fd = mkstemp(shm);
	struct gp_io *io;
	struct gp_io_file *f;
	unsigned char buf[3000];
	struct gp_io_req r;

	for (size_t i = 0; i < N_CFGS; i++) {
		io = open_io(&cfgs[i], 0);
		f = add(io, path, UINT64_MAX);
		/* /var/tmp is expected on a disk file system, which has O_DIRECT. */
		cr_assert_eq(gp_io_file_direct(f), cfgs[i].direct, "%s", cfg_name(&cfgs[i]));
		gp_io_close(io);
	}
	/* tmpfs: O_DIRECT or not, the data must be right. */
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "0123456789", 10), 10);
	close(fd);
	io = open_io(&cfgs[1], 0);
	f = add(io, shm, 10);
	cr_log_info("tmpfs O_DIRECT: %d", gp_io_file_direct(f));
	r = req(f, 3, 5, buf + 1);
	read_ok(io, &r, 1, &cfgs[1]);
	cr_assert_eq(memcmp(buf + 1, "34567", 5), 0);
	gp_io_close(io);
	unlink(shm);
	free(path);
}

/* ---------------------------------------------------------------- data */

/* Ranges at block, request and file edges (file size FILE_SIZE, requests of 1 MiB). */
static const uint64_t ranges[][2] = {
	{ 0, 1 }, { 1, 1 }, { 4095, 1 }, { 4095, 2 }, { 0, 4095 }, { 1, 4095 },
	{ 4096, 4095 }, { 4097, 4097 }, { 511, 513 }, { 8191, 4097 },
	{ MIB - 1, 2 }, { MIB - 100, 3 * MIB + 200 }, { 2 * MIB, 2 * MIB },
	{ 3 * MIB + 7, 1 }, { FILE_SIZE - 1, 1 }, { FILE_SIZE - 4097, 4097 },
	{ FILE_SIZE - 1234, 1234 }, { FILE_SIZE - 5000, 5000 }, { 0, FILE_SIZE }, { 12345, 0 },
	{ FILE_SIZE, 0 },
};
#define N_RANGES (sizeof(ranges) / sizeof(ranges[0]))

/*
 * Destinations: page aligned and odd addresses, inside the registered
 * region, outside it, and straddling its end.
 */
static void odd_ranges(const struct cfg *c, struct gp_io *io, struct gp_io_file *f,
		       unsigned char *region, size_t region_len, unsigned char *outside)
{
	unsigned char *dsts[] = {
		region, region + 1, region + 4093, region + 512,
		outside, outside + 3, region + region_len - 3000,
	};
	struct gp_io_req batch[N_RANGES];

	for (size_t d = 0; d < sizeof(dsts) / sizeof(dsts[0]); d++) {
		for (size_t i = 0; i < N_RANGES; i++) {
			struct gp_io_req r = req(f, ranges[i][0], ranges[i][1], dsts[d]);

			read_ok(io, &r, 1, c);
			check(c, 3, ranges[i][0], ranges[i][1], dsts[d]);
		}
	}
	/* The same ranges in one batch, side by side at odd addresses. */
	size_t at = 5;
	for (size_t i = 0; i < N_RANGES; i++) {
		batch[i] = req(f, ranges[i][0], ranges[i][1], region + at);
		at += ranges[i][1] + 3;
	}
	cr_assert_leq(at, region_len);
	read_ok(io, batch, N_RANGES, c);
	for (size_t i = 0; i < N_RANGES; i++)
		check(c, 3, ranges[i][0], ranges[i][1], batch[i].dst);
}

Test(io, odd_offsets_lengths_and_destinations)
{
	char *path = make_file("f", FILE_SIZE, 3);
	size_t region_len = 2 * FILE_SIZE;
	/* The region, then FILE_SIZE more bytes so a read can run past its end. */
	unsigned char *mem = mmap(NULL, region_len + FILE_SIZE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *outside = malloc(FILE_SIZE + 8);

	cr_assert_neq(mem, MAP_FAILED);
	for (size_t i = 0; i < N_CFGS; i++) {
		struct gp_io *io = open_io(&cfgs[i], MIB);
		struct gp_io_file *f = add(io, path, FILE_SIZE);
		struct gp_io_stats st;

		cr_assert_eq(gp_io_register_memory(io, mem, region_len), 0, "%s", gp_last_error());
		odd_ranges(&cfgs[i], io, f, mem, region_len, outside);
		gp_io_get_stats(io, &st);
		cr_assert_geq(st.bytes_device, st.bytes_read);
		cr_assert_geq(st.requests, 7 * N_RANGES);
		if (gp_io_file_direct(f))
			cr_assert_gt(st.direct_reads, 0);
		else
			cr_assert_eq(st.direct_reads, 0);
		gp_io_close(io);
	}
	munmap(mem, region_len + FILE_SIZE);
	free(outside);
	free(path);
}

Test(io, registration)
{
	char *path = make_file("f", FILE_SIZE, 3);
	size_t len = 4 * MIB;
	unsigned char *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	unsigned char *b = malloc(len);

	for (size_t i = 0; i < N_CFGS; i++) {
		struct gp_io *io = open_io(&cfgs[i], 0);
		struct gp_io_file *f = add(io, path, FILE_SIZE);
		struct gp_io_req r = req(f, 4096 + 3, len - 4096, a + 1);

		cr_assert_eq(gp_io_register_memory(io, a, len), 0);
		cr_assert_eq(gp_io_register_memory(io, b, len), GP_EBUSY);
		read_ok(io, &r, 1, &cfgs[i]);
		check(&cfgs[i], 3, r.offset, r.len, r.dst);
		gp_io_unregister_memory(io);
		memset(a, 0, len);
		read_ok(io, &r, 1, &cfgs[i]);
		check(&cfgs[i], 3, r.offset, r.len, r.dst);
		cr_assert_eq(gp_io_register_memory(io, b, len), 0);
		r.dst = b + 4096;
		read_ok(io, &r, 1, &cfgs[i]);
		check(&cfgs[i], 3, r.offset, r.len, r.dst);
		/* Closing with a region registered and a file added releases both. */
		gp_io_close(io);
	}
	munmap(a, len);
	free(b);
	free(path);
}

/* n random requests over file f (seed) into buf, side by side. */
static size_t random_batch(struct gp_io_file *f, uint64_t size, uint64_t *rng,
			   struct gp_io_req *r, size_t n, unsigned char *buf, size_t buf_len)
{
	size_t at = 0, i;

	for (i = 0; i < n; i++) {
		uint64_t x = gp_mix64((*rng)++), len = x % 300000, off;

		if (x & 1)
			len %= 9000;
		if (len > size)
			len = size;
		off = gp_mix64(x) % (size - len + 1);
		at += (x >> 20) % 7;
		if (at + len > buf_len)
			break;
		r[i] = req(f, off, len, buf + at);
		at += len;
	}
	return i;
}

Test(io, many_requests_per_batch)
{
	char *path = make_file("f", FILE_SIZE, 11);
	size_t buf_len = 128 * MIB;
	unsigned char *buf = malloc(buf_len);
	struct gp_io_req *r = calloc(1000, sizeof(*r));
	uint64_t rng = 1;

	for (size_t c = 0; c < N_CFGS; c++) {
		struct gp_io *io = open_io(&cfgs[c], MIB);
		struct gp_io_file *f = add(io, path, FILE_SIZE);
		size_t n = random_batch(f, FILE_SIZE, &rng, r, 1000, buf, buf_len);
		struct gp_io_stats st;
		uint64_t total = 0;

		cr_assert_gt(n, 500);
		if (c % 2)
			gp_io_register_memory(io, buf, buf_len / 2);
		read_ok(io, r, n, &cfgs[c]);
		for (size_t i = 0; i < n; i++) {
			check(&cfgs[c], 11, r[i].offset, r[i].len, r[i].dst);
			total += r[i].len;
		}
		gp_io_get_stats(io, &st);
		cr_assert_eq(st.bytes_read, total);
		gp_io_close(io);
	}
	free(r);
	free(buf);
	free(path);
}

struct caller {
	struct gp_io *io;
	struct gp_io_file *files[2];
	uint64_t seeds[2];
	uint64_t rng;
	int failed;
	char why[512];
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	size_t buf_len = 8 * MIB;
	unsigned char *buf = malloc(buf_len), *want = malloc(buf_len);
	struct gp_io_req r[64];

	for (int round = 0; round < 25 && !c->failed; round++) {
		int k = (int)(c->rng & 1);
		size_t n = random_batch(c->files[k], FILE_SIZE, &c->rng, r, 64, buf, buf_len);

		if (gp_io_read(c->io, r, n)) {
			c->failed = 1;
			snprintf(c->why, sizeof(c->why), "%s", gp_last_error());
		}
		for (size_t i = 0; i < n && !c->failed; i++) {
			expected(c->seeds[k], r[i].offset, r[i].len, want);
			if (memcmp(want, r[i].dst, r[i].len)) {
				c->failed = 1;
				snprintf(c->why, sizeof(c->why), "wrong bytes at %llu+%llu",
					 (unsigned long long)r[i].offset,
					 (unsigned long long)r[i].len);
			}
		}
	}
	free(buf);
	free(want);
	return NULL;
}

Test(io, concurrent_callers)
{
	char *p1 = make_file("a", FILE_SIZE, 21), *p2 = make_file("b", FILE_SIZE, 22);

	for (size_t c = 0; c < N_CFGS; c++) {
		struct gp_io *io = open_io(&cfgs[c], MIB);
		struct gp_io_file *a = add(io, p1, FILE_SIZE), *b = add(io, p2, FILE_SIZE);
		struct caller callers[4];
		pthread_t t[4];

		for (int i = 0; i < 4; i++) {
			/* Callers 0 and 1 share file a first; 2 and 3 start on b. */
			callers[i] = (struct caller){ .io = io, .rng = 1000 * (i + 1) };
			callers[i].files[0] = i < 2 ? a : b;
			callers[i].files[1] = i < 2 ? b : a;
			callers[i].seeds[0] = i < 2 ? 21 : 22;
			callers[i].seeds[1] = i < 2 ? 22 : 21;
			cr_assert_eq(pthread_create(&t[i], NULL, caller_main, &callers[i]), 0);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			cr_assert_not(callers[i].failed, "%s: caller %d: %s", cfg_name(&cfgs[c]), i,
				      callers[i].why);
		}
		gp_io_close(io);
	}
	free(p1);
	free(p2);
}

/* -------------------------------------------------------------- errors */

Test(io, past_the_end_is_einval)
{
	char *path = make_file("f", 5000, 1);
	struct gp_io *io = open_io(&cfgs[1], 0);
	struct gp_io_file *f = add(io, path, 5000);
	unsigned char buf[8192];
	struct gp_io_req r[2] = { req(f, 0, 10, buf), req(f, 4000, 1001, buf + 100) };

	cr_assert_eq(gp_io_read(io, r, 2), GP_EINVAL);
	cr_assert(strstr(gp_last_error(), "read of 1001 bytes at offset 4000 passes the end of "
				       "the file (5000 bytes when added)"), "%s", gp_last_error());
	cr_assert(strstr(gp_last_error(), path), "%s", gp_last_error());
	r[1] = req(f, 5001, 0, buf);
	cr_assert_eq(gp_io_read(io, &r[1], 1), GP_EINVAL);
	r[1] = req(f, 1, UINT64_MAX, buf);
	cr_assert_eq(gp_io_read(io, &r[1], 1), GP_EINVAL);
	r[1] = req(f, 5000, 0, NULL);
	cr_assert_eq(gp_io_read(io, r, 2), 0, "%s", gp_last_error());
	gp_io_close(io);
	free(path);
}

Test(io, truncated_file_is_eio)
{
	char *path = make_file("f", 8 * MIB, 5);
	unsigned char *buf = malloc(8 * MIB);
	uint64_t cut = 3 * MIB + 100;

	for (size_t c = 0; c < N_CFGS; c++) {
		struct gp_io *io = open_io(&cfgs[c], MIB);
		struct gp_io_file *f = add(io, path, 8 * MIB);
		struct gp_io_req r = req(f, 3 * MIB, 4096, buf + 1);
		char want[256];

		cr_assert_eq(truncate(path, cut), 0);
		cr_assert_eq(gp_io_read(io, &r, 1), GP_EIO, "%s", cfg_name(&cfgs[c]));
		snprintf(want, sizeof(want), "%s changed since it was opened (size %llu -> %llu): "
			 "reopen the model", path, (unsigned long long)(8 * MIB),
			 (unsigned long long)cut);
		cr_assert_str_eq(gp_last_error(), want, "%s", cfg_name(&cfgs[c]));
		r = req(f, 5 * MIB, MIB, buf);
		cr_assert_eq(gp_io_read(io, &r, 1), GP_EIO);
		cr_assert_str_eq(gp_last_error(), want);
		/* Not even what is still there: the file is not the one that was validated. */
		r = req(f, 1, cut - 1, buf + 3);
		cr_assert_eq(gp_io_read(io, &r, 1), GP_EIO);
		cr_assert_str_eq(gp_last_error(), want);
		gp_io_close(io);
		free(path);
		path = make_file("f", 8 * MIB, 5);
	}
	free(buf);
	free(path);
}

Test(io, replaced_file_keeps_the_original_data)
{
	char *path = make_file("f", FILE_SIZE, 5);
	char *other = make_file("g", 2 * MIB, 6);
	unsigned char *buf = malloc(FILE_SIZE);

	for (size_t c = 0; c < N_CFGS; c++) {
		struct gp_io *io = open_io(&cfgs[c], MIB);
		struct gp_io_file *f = add(io, path, FILE_SIZE), *g = NULL;
		struct gp_io_req r = req(f, 7, FILE_SIZE - 7, buf + 1);

		cr_assert_eq(rename(other, path), 0);
		/* The open descriptor still reads the replaced file: correct data. */
		read_ok(io, &r, 1, &cfgs[c]);
		check(&cfgs[c], 5, 7, FILE_SIZE - 7, buf + 1);
		/* Opening the path again with the old size sees the change. */
		cr_assert_eq(gp_io_add_file(io, path, FILE_SIZE, &g), GP_EIO);
		cr_assert(strstr(gp_last_error(), "size 2097152, expected 9438418: the file changed"), "%s",
			  gp_last_error());
		gp_io_close(io);
		free(path);
		free(other);
		path = make_file("f", FILE_SIZE, 5);
		other = make_file("g", 2 * MIB, 6);
	}
	free(buf);
	free(path);
	free(other);
}

Test(io, injected_eio_names_file_and_offset)
{
	char *path = make_file("f", FILE_SIZE, 9);
	unsigned char *buf = malloc(FILE_SIZE);

	for (size_t c = 0; c < N_CFGS; c++) {
		struct gp_io *io = open_io(&cfgs[c], MIB);
		struct gp_io_file *f = add(io, path, FILE_SIZE);
		struct gp_io_req r = req(f, 5, FILE_SIZE - 5, buf + 2);

		gp_io_inject(io, GP_IO_FAULT_EIO, 3, 1);
		cr_assert_eq(gp_io_read(io, &r, 1), GP_EIO, "%s", cfg_name(&cfgs[c]));
		cr_assert(strstr(gp_last_error(), path), "%s", gp_last_error());
		cr_assert(strstr(gp_last_error(), ": read at offset "), "%s", gp_last_error());
		cr_assert(strstr(gp_last_error(), ": Input/output error"), "%s", gp_last_error());
		/* The fault is spent: the same read now succeeds. */
		memset(buf, 0, FILE_SIZE);
		read_ok(io, &r, 1, &cfgs[c]);
		check(&cfgs[c], 9, 5, FILE_SIZE - 5, buf + 2);
		gp_io_close(io);
	}
	free(buf);
	free(path);
}

Test(io, injected_short_reads_are_resumed)
{
	char *path = make_file("f", FILE_SIZE, 13);
	unsigned char *buf = malloc(FILE_SIZE + 16);

	for (size_t c = 0; c < N_CFGS; c++) {
		struct gp_io *io = open_io(&cfgs[c], MIB);
		struct gp_io_file *f = add(io, path, FILE_SIZE);
		struct gp_io_stats st;

		for (size_t i = 0; i < N_RANGES; i++) {
			struct gp_io_req r = req(f, ranges[i][0], ranges[i][1], buf + i % 5);

			/* Every completion of this read is short, resumed ones too, a few times. */
			gp_io_inject(io, GP_IO_FAULT_SHORT, 0, 6);
			read_ok(io, &r, 1, &cfgs[c]);
			check(&cfgs[c], 13, r.offset, r.len, r.dst);
		}
		gp_io_get_stats(io, &st);
		cr_assert_gt(st.short_reads, N_RANGES, "%s", cfg_name(&cfgs[c]));
		gp_io_close(io);
	}
	free(buf);
	free(path);
}

/* A range already in the page cache is read buffered even where O_DIRECT is on. */
Test(io, warm_ranges_read_buffered)
{
	char *path = make_file("warm", FILE_SIZE, 9);
	unsigned char *dst = malloc(FILE_SIZE);
	const struct cfg c = { GP_IO_URING, 1 };
	struct gp_io *io = open_io(&c, MIB);
	struct gp_io_file *f = add(io, path, FILE_SIZE);
	struct gp_io_req r = req(f, 0, FILE_SIZE, dst);
	struct gp_io_stats cold, warm;
	int fd;

	if (!gp_io_file_direct(f))
		cr_skip_test("%s has no O_DIRECT", dir);
	read_ok(io, &r, 1, &c);
	check(&c, 9, 0, FILE_SIZE, dst);
	gp_io_get_stats(io, &cold);
	cr_expect_gt(cold.direct_reads, 0, "a cold file was not read with O_DIRECT");
	/* Warm it: read it once through the page cache. */
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, dst, FILE_SIZE, 0), (ssize_t)FILE_SIZE);
	close(fd);
	memset(dst, 0, FILE_SIZE);
	read_ok(io, &r, 1, &c);
	check(&c, 9, 0, FILE_SIZE, dst);
	gp_io_get_stats(io, &warm);
	cr_expect_eq(warm.direct_reads, cold.direct_reads, "a warm file was read with O_DIRECT");
	gp_io_close(io);
	free(dst);
	free(path);
}

/*
 * Placed destinations (gp_io_place) with scratch: the ranges of a file
 * whose data starts off any block boundary come back byte for byte, an
 * O_DIRECT read of a chunk is one request straight into the destination
 * (no bounced head or tail), and the bytes past the scratch blocks are
 * never written.
 */
Test(io, placed_scratch_reads_are_direct_and_exact)
{
	static const uint64_t offs[] = { 49144, 35488, 4096, 8, 2 * MIB + 4095, FILE_SIZE - MIB - 3 };
	const uint64_t len = MIB, room = 2 * GP_IO_PLACE_ALIGN;
	char *path = make_file("placed", FILE_SIZE, 31);

	for (size_t c = 0; c < N_CFGS; c++) {
		struct gp_io *io = open_io(&cfgs[c], MIB);
		struct gp_io_file *f = add(io, path, FILE_SIZE);
		unsigned char *buf = aligned_alloc(GP_IO_PLACE_ALIGN, len + room);

		for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			struct gp_io_stats before, after;
			struct gp_io_req r = req(f, offs[i], len, buf + gp_io_place(offs[i]));
			uint64_t end = gp_io_place(offs[i]) + len;
			uint64_t fence = (end + GP_IO_PLACE_ALIGN - 1) / GP_IO_PLACE_ALIGN * GP_IO_PLACE_ALIGN;

			r.scratch = 1;
			memset(buf, 0xa5, len + room);
			drop_cache(path);
			gp_io_get_stats(io, &before);
			read_ok(io, &r, 1, &cfgs[c]);
			gp_io_get_stats(io, &after);
			check(&cfgs[c], 31, offs[i], len, r.dst);
			for (uint64_t k = fence; k < len + room; k++)
				cr_assert_eq(buf[k], 0xa5, "%s: byte %llu past the scratch blocks written",
					     cfg_name(&cfgs[c]), (unsigned long long)k);
			if (cfgs[c].direct && gp_io_file_direct(f))
				cr_expect_eq(after.requests - before.requests, 1,
					     "%s: a placed 1 MiB read at %llu took %llu requests",
					     cfg_name(&cfgs[c]), (unsigned long long)offs[i],
					     (unsigned long long)(after.requests - before.requests));
		}
		free(buf);
		gp_io_close(io);
	}
	free(path);
}
