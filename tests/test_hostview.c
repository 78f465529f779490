/*
 * test_hostview.c - the userfaultfd host view: bytes equal the file for odd
 * sizes, any touch order, several threads, a pool smaller than the file,
 * kernel reads, fork() children, the mmap fallback and load failures.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpupager.h"
#include "hostpool.h"
#include "hostview.h"
#include "io.h"

#define MiB (1ull << 20)
#define CHUNK (2 * MiB)

struct fixture {
	char path[64];
	uint8_t *data;          /* the file's bytes */
	uint64_t size;
	struct gp_host_pool *pool;
	struct gp_io *io;
	struct gp_io_file *file;
	struct gp_host_view *view;
	const uint8_t *base;
};

static void make_file(struct fixture *f, uint64_t size, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	int fd;

	f->size = size;
	f->data = malloc(size + 8);
	cr_assert_not_null(f->data);
	for (uint64_t i = 0; i < size; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(f->data + i, &x, 8);
	}
	strcpy(f->path, "/tmp/gp-hostview-XXXXXX");
	fd = mkstemp(f->path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, f->data, size), (ssize_t)size);
	close(fd);
}

/* Pool of `slots` 2 MiB slots, reader, file and view (uffd unless force_mmap). */
static void open_view(struct fixture *f, uint32_t slots, unsigned readahead, int force_mmap)
{
	struct gp_host_pool_opts popts = { .budget = slots * CHUNK, .slot_size = CHUNK,
					   .numa_node = -1 };
	struct gp_host_view_opts vopts = { .path = f->path, .readahead_chunks = readahead,
					   .force_mmap = force_mmap };
	struct gp_io_opts iopts;
	int err;

	gp_io_opts_default(&iopts);
	cr_assert_eq(gp_io_open(&iopts, &f->io), 0, "%s", gp_last_error());
	popts.io = f->io;
	cr_assert_eq(gp_host_pool_open(&popts, &f->pool), 0, "%s", gp_last_error());
	cr_assert_eq(gp_io_add_file(f->io, f->path, f->size, &f->file), 0, "%s", gp_last_error());
	vopts.pool = f->pool;
	vopts.io = f->io;
	vopts.file = f->file;
	err = gp_host_view_open(&vopts, &f->view);
	cr_assert_eq(err, 0, "gp_host_view_open: %s", gp_last_error());
	cr_assert_eq(gp_host_view_size(f->view), f->size);
	cr_assert_eq(gp_host_view_kind(f->view), force_mmap ? GP_VIEW_MMAP : GP_VIEW_UFFD);
	f->base = gp_host_view_base(f->view);
}

static void close_fixture(struct fixture *f)
{
	gp_host_view_close(f->view);
	gp_io_remove_file(f->io, f->file);
	gp_host_pool_close(f->pool);
	gp_io_close(f->io);
	unlink(f->path);
	free(f->data);
}

static void expect_range(const struct fixture *f, uint64_t off, uint64_t len)
{
	cr_assert_eq(gp_checksum_at(f->base + off, len, off), gp_checksum_at(f->data + off, len, off),
		     "bytes [%lu, +%lu) differ from the file", (unsigned long)off,
		     (unsigned long)len);
}

Test(view, bytes_equal_the_file_for_odd_sizes)
{
	static const uint64_t sizes[] = { 1, 4095, 4097, CHUNK - 1, CHUNK, CHUNK + 1,
					  7 * MiB + 333 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct fixture f = { 0 };

		make_file(&f, sizes[i], i + 1);
		open_view(&f, 8, 0, 0);
		cr_expect_eq(memcmp(f.base, f.data, f.size), 0, "size %lu",
			     (unsigned long)f.size);
		/* The page past the file's end reads as zeros. */
		for (uint64_t b = f.size; b % 4096; b++)
			cr_assert_eq(f.base[b], 0, "byte %lu past the end", (unsigned long)b);
		close_fixture(&f);
	}
}

Test(view, sequential_reads_fault_once_per_chunk_and_read_ahead)
{
	struct gp_host_view_stats st;
	struct fixture f = { 0 };

	make_file(&f, 8 * CHUNK + 4096, 11);
	open_view(&f, 16, 2, 0);
	expect_range(&f, 0, f.size);
	gp_host_view_get_stats(f.view, &st);
	cr_expect_eq(st.loads, 9, "loads %lu faults %lu readaheads %lu errors %lu", (unsigned long)st.loads, (unsigned long)st.faults, (unsigned long)st.readaheads, (unsigned long)st.errors);
	cr_expect_gt(st.readaheads, 0);
	cr_expect_lt(st.faults, 9, "read-ahead should have saved faults");
	cr_expect_eq(st.errors, 0);
	cr_expect_eq(st.drops, 0);
	close_fixture(&f);
}

static void random_touches(struct fixture *f, unsigned seed, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t off = ((uint64_t)rand_r(&seed) << 16 ^ (uint64_t)rand_r(&seed)) % f->size;
		uint64_t len = f->size - off < 3000 ? f->size - off : 3000;

		cr_assert_eq(memcmp(f->base + off, f->data + off, len), 0, "offset %lu",
			     (unsigned long)off);
	}
}

Test(view, random_order_touches)
{
	struct fixture f = { 0 };

	make_file(&f, 10 * CHUNK + 12345, 3);
	open_view(&f, 16, 0, 0);
	random_touches(&f, 7, 2000);
	close_fixture(&f);
}

Test(view, pool_smaller_than_the_file_refaults_correct_bytes)
{
	struct gp_host_view_stats st;
	struct fixture f = { 0 };

	make_file(&f, 10 * CHUNK + 777, 4);
	open_view(&f, 4, 0, 0);
	for (int pass = 0; pass < 2; pass++)
		expect_range(&f, 0, f.size);
	random_touches(&f, 9, 1000);
	gp_host_view_get_stats(f.view, &st);
	cr_expect_gt(st.drops, 0);
	cr_expect_gt(st.loads, 11);
	cr_expect_eq(st.errors, 0);
	close_fixture(&f);
}

struct toucher {
	struct fixture *f;
	unsigned id;
	bool ok;
};

/* Every chunk in an order of its own, checksummed, three times over. */
static void *touch_all(void *arg)
{
	struct toucher *t = arg;
	uint64_t n = (t->f->size + CHUNK - 1) / CHUNK;

	t->ok = true;
	for (int round = 0; round < 3; round++) {
		for (uint64_t k = 0; k < n; k++) {
			uint64_t c = (k * (t->id % 2 ? 1 : n - 1) + t->id + round) % n;
			uint64_t off = c * CHUNK;
			uint64_t len = t->f->size - off < CHUNK ? t->f->size - off : CHUNK;

			if (gp_checksum_at(t->f->base + off, len, off) !=
			    gp_checksum_at(t->f->data + off, len, off))
				t->ok = false;
		}
	}
	return NULL;
}

static void run_threads(uint32_t slots)
{
	struct fixture f = { 0 };
	struct toucher t[4];
	pthread_t th[4];

	make_file(&f, 9 * CHUNK + 4321, 5);
	open_view(&f, slots, 2, 0);
	for (unsigned i = 0; i < 4; i++) {
		t[i] = (struct toucher){ &f, i, false };
		pthread_create(&th[i], NULL, touch_all, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_expect(t[i].ok, "thread %d read wrong bytes", i);
	}
	close_fixture(&f);
}

Test(view, threads_touching_the_same_and_different_chunks)
{
	run_threads(16);
}

Test(view, threads_with_a_pool_smaller_than_the_file)
{
	run_threads(6);
}

/* A system call reading from the view takes kernel-mode faults, handled the same way. */
Test(view, kernel_reads_of_the_view)
{
	struct fixture f = { 0 };
	char out[] = "/tmp/gp-hostview-out-XXXXXX";
	uint8_t *back;
	int fd;

	make_file(&f, 5 * CHUNK + 99, 6);
	open_view(&f, 8, 0, 0);
	fd = mkstemp(out);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, f.base + 3 * CHUNK, CHUNK), (ssize_t)CHUNK);
	back = malloc(CHUNK);
	cr_assert_eq(pread(fd, back, CHUNK, 0), (ssize_t)CHUNK);
	cr_expect_eq(memcmp(back, f.data + 3 * CHUNK, CHUNK), 0);
	free(back);
	close(fd);
	unlink(out);
	close_fixture(&f);
}

static void exit_on_segv(int sig)
{
	(void)sig;
	_exit(7);
}

Test(view, fork_child_never_sees_zeros)
{
	struct fixture f = { 0 };
	int status;
	pid_t pid;

	make_file(&f, 3 * CHUNK, 8);
	open_view(&f, 8, 0, 0);
	expect_range(&f, 0, CHUNK);     /* resident in the parent */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = exit_on_segv };
		volatile const uint8_t *p = f.base;
		uint64_t zeros = 0;

		sigaction(SIGSEGV, &sa, NULL);
		for (uint64_t i = 0; i < 4096; i++)
			zeros += p[i] == 0;
		_exit(zeros == 4096 ? 1 : 2);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 7,
		  "the child read the view (status %#x; 1: zeros, 2: data)", status);
	expect_range(&f, 0, f.size);
	close_fixture(&f);
}

Test(view, force_mmap_fallback_equals_the_file)
{
	struct fixture f = { 0 };

	make_file(&f, 3 * CHUNK + 5, 9);
	open_view(&f, 4, 0, 1);
	expect_range(&f, 0, f.size);
	random_touches(&f, 3, 200);
	close_fixture(&f);
}

/*
 * The file is truncated after the reader opened it: a chunk loaded before
 * stays readable, and a touch of one not loaded yet raises SIGBUS (the
 * reader refuses a file changed since it was opened), never zeros.  Run in
 * a child: the view is not inherited by fork().  SIG_DFL first, so that
 * AddressSanitizer's SIGBUS handler does not turn the signal into exit 1.
 */
Test(view, load_failure_raises_sigbus)
{
	struct fixture f = { 0 };
	int status;
	pid_t pid;

	make_file(&f, 3 * CHUNK + 100, 10);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		volatile const uint8_t *p;
		uint8_t sum = 0;

		open_view(&f, 8, 0, 0);
		signal(SIGBUS, SIG_DFL);
		if (memcmp(f.base, f.data, CHUNK))
			_exit(4);
		if (truncate(f.path, CHUNK + 100))
			_exit(3);
		/* The last chunk: beyond the read-ahead (two chunks here) of chunk 0's fault. */
		p = f.base + 3 * CHUNK;
		sum += p[0];
		_exit(sum == 0 ? 1 : 2);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	unlink(f.path);
	free(f.data);
	cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
		  "the child was not killed by SIGBUS (status %#x; exit 1: zeros, 2: data)",
		  status);
}

struct other_owner {
	struct gp_host_pool *pool;
	volatile bool stop;
	unsigned loads;
};

/* Another owner of the pool (a model) loading its own keys, evicting the view's chunks. */
static void *load_other_keys(void *arg)
{
	struct other_owner *o = arg;
	uint32_t owner, slot;
	bool fresh;

	cr_assert_eq(gp_host_pool_owner_add(o->pool, NULL, NULL, &owner), 0);
	for (uint64_t k = 0; !o->stop; k++) {
		if (gp_host_pool_get(o->pool, owner, k % 8, &slot, &fresh))
			continue;       /* every slot pinned at this instant */
		if (fresh)
			gp_host_pool_filled(o->pool, slot, 0);
		gp_host_pool_put(o->pool, slot);
		o->loads++;
	}
	gp_host_pool_owner_remove(o->pool, owner);
	return NULL;
}

Test(view, evictions_by_another_owner_while_threads_read)
{
	struct gp_host_view_stats st;
	struct other_owner other;
	struct fixture f = { 0 };
	struct toucher t[3];
	pthread_t th[3], oth;

	make_file(&f, 6 * CHUNK + 1000, 12);
	open_view(&f, 6, 1, 0);
	other = (struct other_owner){ f.pool, false, 0 };
	pthread_create(&oth, NULL, load_other_keys, &other);
	for (unsigned i = 0; i < 3; i++) {
		t[i] = (struct toucher){ &f, i, false };
		pthread_create(&th[i], NULL, touch_all, &t[i]);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		cr_expect(t[i].ok, "thread %d read wrong bytes", i);
	}
	other.stop = true;
	pthread_join(oth, NULL);
	gp_host_view_get_stats(f.view, &st);
	cr_expect_gt(st.drops, 0);
	cr_expect_eq(st.errors, 0);
	close_fixture(&f);
}
