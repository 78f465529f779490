/*
 * test_file_change.c - a model file changed while a pager has it open is
 * detected when it is next read (size and modification time against what
 * fstat said at open) and reported as GP_EIO, never served as wrong data:
 * truncated, rewritten in place, replaced by rename (the open descriptor
 * still reads the original: correct data), through the reader and through
 * the pager.  Also the testing-only injector GPUPAGER_IO_FAIL and its log.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cuda_env.h"
#include "common/pager_fixture.h"
#include "config.h"
#include "common/st_fixture.h"
#include "gpupager.h"
#include "io.h"

#define MIB (1ull << 20)
#define SIZE (3 * MIB + 777)

static char *dir;


static void setup_dir(void)
{
	dir = gp_test_st_dir_new_in("/var/tmp");
}

static void remove_dir(void)
{
	gp_test_st_dir_remove(dir);
}

TestSuite(file_change, .init = setup_dir, .fini = remove_dir, .timeout = 60);

static unsigned char byte_at(unsigned seed, uint64_t o)
{
	return (unsigned char)(gp_mix64(seed + o / 8) >> (8 * (o % 8)));
}

static void write_file(const char *path, uint64_t size, unsigned seed)
{
	unsigned char *buf = malloc(size);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	for (uint64_t o = 0; o < size; o++)
		buf[o] = byte_at(seed, o);
	cr_assert_eq(write(fd, buf, size), (ssize_t)size);
	cr_assert_eq(close(fd), 0);
	free(buf);
}

static void expect_bytes(const unsigned char *buf, uint64_t off, uint64_t len, unsigned seed)
{
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != byte_at(seed, off + i))
			cr_assert_fail("byte %llu is %02x, expected %02x", (unsigned long long)(off + i),
				       buf[i], byte_at(seed, off + i));
}

/* Move the file's modification time one second on: a rewrite, whatever the clock's tick. */
static void touch_later(const char *path)
{
	struct stat st;
	struct timespec t[2];

	cr_assert_eq(stat(path, &st), 0);
	t[0] = st.st_atim;
	t[1] = st.st_mtim;
	t[1].tv_sec += 1;
	cr_assert_eq(utimensat(AT_FDCWD, path, t, 0), 0);
}

static const int modes[] = { GP_IO_URING, GP_IO_PREAD };

static struct gp_io *open_io(int mode)
{
	struct gp_io_opts o;
	struct gp_io *io = NULL;

	gp_io_opts_default(&o);
	o.mode = mode;
	o.request_size = MIB;
	cr_assert_eq(gp_io_open(&o, &io), 0, "%s", gp_last_error());
	return io;
}

static int read_at(struct gp_io *io, struct gp_io_file *f, uint64_t off, uint64_t len, void *dst)
{
	struct gp_io_req r = { .file = f, .offset = off, .len = len, .dst = dst };

	return gp_io_read(io, &r, 1);
}

Test(file_change, truncated_is_eio_on_the_next_read)
{
	char path[128];
	unsigned char *buf = malloc(SIZE);

	snprintf(path, sizeof(path), "%s/t", dir);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct gp_io *io = open_io(modes[i]);
		struct gp_io_file *f = NULL;
		char want[256];

		write_file(path, SIZE, 3);
		cr_assert_eq(gp_io_add_file(io, path, SIZE, &f), 0, "%s", gp_last_error());
		cr_assert_eq(read_at(io, f, 5, 1000, buf), 0, "%s", gp_last_error());
		expect_bytes(buf, 5, 1000, 3);
		cr_assert_eq(truncate(path, MIB), 0);
		snprintf(want, sizeof(want), "%s changed since it was opened (size %llu -> %llu): "
			 "reopen the model", path, (unsigned long long)SIZE,
			 (unsigned long long)MIB);
		/* Before the new end as well as past it: the file is not the one validated. */
		cr_expect_eq(read_at(io, f, 5, 1000, buf), GP_EIO);
		cr_expect_str_eq(gp_last_error(), want);
		cr_expect_eq(read_at(io, f, 2 * MIB, 1000, buf), GP_EIO);
		cr_expect_str_eq(gp_last_error(), want);
		gp_io_close(io);
	}
	free(buf);
}

Test(file_change, rewritten_in_place_is_eio)
{
	char path[128];
	unsigned char *buf = malloc(SIZE);

	snprintf(path, sizeof(path), "%s/r", dir);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct gp_io *io = open_io(modes[i]);
		struct gp_io_file *f = NULL;
		int fd;

		write_file(path, SIZE, 4);
		cr_assert_eq(gp_io_add_file(io, path, SIZE, &f), 0, "%s", gp_last_error());
		/* Same size, other bytes, a new modification time. */
		fd = open(path, O_WRONLY);
		cr_assert_geq(fd, 0);
		memset(buf, 0x5a, 4096);
		cr_assert_eq(pwrite(fd, buf, 4096, MIB), 4096);
		close(fd);
		touch_later(path);
		cr_expect_eq(read_at(io, f, 0, SIZE, buf), GP_EIO);
		cr_expect(strstr(gp_last_error(), path), "%s", gp_last_error());
		cr_expect(strstr(gp_last_error(), " changed since it was opened (same size, modified at "),
			  "%s", gp_last_error());
		cr_expect(strstr(gp_last_error(), "): reopen the model"), "%s", gp_last_error());
		gp_io_close(io);
	}
	free(buf);
}

/*
 * Replaced by rename: the reader keeps its descriptor, so it goes on reading
 * the file it opened (the data the header was validated against), and logs
 * once that the path names another file now.
 */
Test(file_change, replaced_by_rename_reads_the_original)
{
	char path[128], other[128];
	unsigned char *buf = malloc(SIZE);

	snprintf(path, sizeof(path), "%s/m", dir);
	snprintf(other, sizeof(other), "%s/n", dir);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct gp_io *io = open_io(modes[i]);
		struct gp_io_file *f = NULL;

		write_file(path, SIZE, 5);
		write_file(other, SIZE, 6);
		cr_assert_eq(gp_io_add_file(io, path, SIZE, &f), 0, "%s", gp_last_error());
		cr_assert_eq(rename(other, path), 0);
		memset(buf, 0, SIZE);
		cr_assert_eq(read_at(io, f, 0, SIZE, buf), 0, "%s", gp_last_error());
		expect_bytes(buf, 0, SIZE, 5);
		gp_io_close(io);
	}
	free(buf);
}

/* Through the pager: a rewritten shard fails its group's load, other shards still check out. */
Test(file_change, pager_reports_a_rewritten_shard)
{
	struct gp_test_pager t;
	const struct gp_st_file *f;
	uint32_t last, victim = UINT32_MAX;
	int fd, err;

	gp_test_cuda_env();
	gp_test_pager_open(&t, "lru", 30);
	last = t.m->desc->n_files - 1;
	cr_assert_gt(last, 0, "the fixture should be sharded");
	f = &t.m->desc->files[last];
	for (uint32_t i = 0; i < t.m->desc->n_tensors && victim == UINT32_MAX; i++)
		if (t.m->desc->tensors[i].file == last && t.m->desc->tensors[i].nbytes)
			victim = t.m->desc->tensors[i].group;
	cr_assert_neq(victim, UINT32_MAX);
	fd = open(f->path, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "\xff\xff\xff\xff", 4, (off_t)f->data_start), 4);
	close(fd);
	touch_later(f->path);
	err = gp_acquire_group(t.m, victim, t.stream);
	cr_expect_eq(err, GP_EIO, "got %s: %s", gp_error_name(err), gp_last_error());
	gp_test_expect_error(f->path);
	cr_expect(strstr(gp_last_error(), " changed since it was opened"), "%s", gp_last_error());
	for (uint32_t g = 0; g < gp_model_group_count(t.m); g++) {
		bool in_changed = false;

		for (uint32_t i = 0; i < t.m->desc->groups[g].n_tensors; i++)
			in_changed |= t.m->desc->tensors[t.m->desc->groups[g].tensors[i]].file == last;
		if (!in_changed)
			cr_expect_eq(gp_test_check_group(&t, g), 0, "group %u", g);
	}
	gp_test_pager_close(&t);
}

/* ------------------------------------------- GPUPAGER_IO_FAIL (testing only) */

static void expect_bad(const char *value)
{
	struct gp_config cfg;

	setenv("GPUPAGER_IO_FAIL", value, 1);
	cr_expect_eq(gp_config_parse(&cfg), GP_ECONFIG, "'%s' accepted", value);
	cr_expect(strstr(gp_last_error(), "GPUPAGER_IO_FAIL='"), "%s", gp_last_error());
	unsetenv("GPUPAGER_IO_FAIL");
}

Test(file_change, io_fail_values)
{
	struct gp_config cfg;

	setenv("GPUPAGER_IO_FAIL", "short:17", 1);
	cr_assert_eq(gp_config_parse(&cfg), 0, "%s", gp_last_error());
	cr_expect_eq(cfg.io_fail_kind, GP_IO_FAIL_SHORT);
	cr_expect_eq(cfg.io_fail_n, 17);
	setenv("GPUPAGER_IO_FAIL", "eio:1", 1);
	cr_assert_eq(gp_config_parse(&cfg), 0, "%s", gp_last_error());
	cr_expect_eq(cfg.io_fail_kind, GP_IO_FAIL_EIO);
	cr_expect_eq(cfg.io_fail_n, 1);
	expect_bad("eio:0");
	expect_bad("eio:");
	expect_bad("eio:-1");
	expect_bad("eio:3x");
	expect_bad("EIO:3");
	expect_bad("slow:3");
	expect_bad("3");
}

/* The Nth completion of the process fails, once; the log says it fired and how many there were. */
Test(file_change, io_fail_fires_once_and_logs)
{
	char path[128], log[128], text[512] = "";
	unsigned char *buf = malloc(SIZE);
	struct gp_io *io;
	struct gp_io_file *f = NULL;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	write_file(path, SIZE, 8);
	setenv("GPUPAGER_IO_FAIL", "eio:2", 1);
	setenv("GPUPAGER_FAULT_LOG", log, 1);
	io = open_io(GP_IO_PREAD);
	cr_assert_eq(gp_io_add_file(io, path, SIZE, &f), 0, "%s", gp_last_error());
	cr_expect_eq(read_at(io, f, 0, 100, buf), 0, "%s", gp_last_error());
	cr_expect_eq(read_at(io, f, 0, 100, buf), GP_EIO);
	cr_expect(strstr(gp_last_error(), ": Input/output error"), "%s", gp_last_error());
	cr_expect_eq(read_at(io, f, 7, SIZE - 7, buf), 0, "%s", gp_last_error());
	expect_bytes(buf, 7, SIZE - 7, 8);
	gp_io_close(io);
	fp = fopen(log, "r");
	cr_assert_not_null(fp);
	cr_expect_gt(fread(text, 1, sizeof(text) - 1, fp), 0);
	fclose(fp);
	cr_expect_str_eq(text, "io fired eio:2\n");
	free(buf);
}

/* A short completion is resumed: right bytes. */
Test(file_change, io_fail_short_is_resumed)
{
	char path[128];
	unsigned char *buf = malloc(SIZE);
	struct gp_io *io;
	struct gp_io_file *f = NULL;

	snprintf(path, sizeof(path), "%s/s", dir);
	write_file(path, SIZE, 9);
	setenv("GPUPAGER_IO_FAIL", "short:1", 1);
	io = open_io(GP_IO_URING);
	cr_assert_eq(gp_io_add_file(io, path, SIZE, &f), 0, "%s", gp_last_error());
	cr_assert_eq(read_at(io, f, 3, SIZE - 3, buf), 0, "%s", gp_last_error());
	expect_bytes(buf, 3, SIZE - 3, 9);
	gp_io_close(io);
	free(buf);
}
