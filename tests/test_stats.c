/*
 * test_stats.c - the shared-memory statistics segment (pager/stats.h):
 * its name and mode, counters seen through gp_stats_attach(), sharing by
 * several users, models and group residency, and segments attach refuses.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats.h"
#include "gpupager.h"

static void shm_path(int pid, char *buf, size_t size)
{
	snprintf(buf, size, "/dev/shm" GP_STATS_NAME_FMT, pid);
}

static int shm_exists(int pid)
{
	char path[64];

	shm_path(pid, path, sizeof(path));
	return access(path, F_OK) == 0;
}

Test(stats, segment_name_mode_and_header)
{
	const struct gp_stats_segment *seg;
	struct gp_stats *stats;
	char path[64];
	struct stat st;
	mode_t old_umask = umask(0);

	/* Even with an open umask, nobody but the owner may read the counters. */
	cr_assert_eq(gp_stats_open(&stats), 0, "%s", gp_last_error());
	umask(old_umask);
	shm_path(getpid(), path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_assert_eq(st.st_uid, geteuid());
	cr_assert_eq((size_t)st.st_size, sizeof(struct gp_stats_segment));
	seg = gp_stats_segment(stats);
	cr_assert_eq(seg->magic, GP_STATS_MAGIC);
	cr_assert_eq(seg->version, GP_STATS_VERSION);
	cr_assert_eq(seg->size, sizeof(*seg));
	cr_assert_eq(seg->pid, getpid());
	cr_assert_eq(seg->seq % 2, 0);
	cr_assert_gt(seg->start_unix_ns, 0);
	gp_stats_close(stats);
	cr_assert_not(shm_exists(getpid()), "%s left behind", path);
}

Test(stats, counters_visible_through_attach)
{
	const struct gp_stats_segment *seg;
	struct gp_stats *stats;

	cr_assert_eq(gp_stats_open(&stats), 0, "%s", gp_last_error());
	for (int c = 0; c < GP_STAT_COUNT; c++)
		gp_stats_add(stats, c, 1000u * (unsigned)c + 7);
	gp_stats_add(stats, GP_STAT_HITS, 5);
	gp_stats_set(stats, GP_STAT_VRAM_USED, 123456789);
	gp_stats_set_device(stats, "gpupager simulated device (no GPU)", "lru");
	cr_assert_eq(gp_stats_attach(getpid(), &seg), 0, "%s", gp_last_error());
	/* A separate read-only mapping of the same memory: what pagerstat sees. */
	cr_assert_neq(seg, gp_stats_segment(stats));
	for (int c = 0; c < GP_STAT_COUNT; c++) {
		uint64_t want = c == GP_STAT_HITS ? 12 : c == GP_STAT_VRAM_USED ? 123456789 :
			1000u * (unsigned)c + 7;

		cr_assert_eq(seg->counters[c], want, "%s: %llu, expected %llu",
			     gp_stat_counter_name(c), (unsigned long long)seg->counters[c],
			     (unsigned long long)want);
		cr_assert_eq(gp_stats_get(stats, c), want);
	}
	cr_assert_str_eq(seg->device, "gpupager simulated device (no GPU)");
	cr_assert_str_eq(seg->policy, "lru");
	gp_stats_detach(seg);
	gp_stats_close(stats);
}

Test(stats, counter_names)
{
	cr_assert_str_eq(gp_stat_counter_name(GP_STAT_HITS), "hits");
	cr_assert_str_eq(gp_stat_counter_name(GP_STAT_BYTES_H2D), "bytes_h2d");
	cr_assert_str_eq(gp_stat_counter_name(GP_STAT_STALL_NS), "stall_ns");
	cr_assert_str_eq(gp_stat_counter_name(GP_STAT_HOST_BUDGET), "host_budget");
	for (int c = 0; c < GP_STAT_COUNT; c++) {
		cr_assert_str_neq(gp_stat_counter_name(c), "unknown", "counter %d has no name", c);
		for (int d = 0; d < c; d++)
			cr_assert_str_neq(gp_stat_counter_name(c), gp_stat_counter_name(d));
	}
	cr_assert_str_eq(gp_stat_counter_name(GP_STAT_COUNT), "unknown");
}

Test(stats, users_share_one_segment_and_last_close_unlinks)
{
	uint64_t total[GP_STAT_COUNT];
	const struct gp_stats_segment *seg;
	struct gp_stats *a, *b, *c;

	cr_assert_eq(gp_stats_open(&a), 0, "%s", gp_last_error());
	cr_assert_eq(gp_stats_open(&b), 0, "%s", gp_last_error());
	cr_assert_eq(gp_stats_segment(a), gp_stats_segment(b));
	gp_stats_add(a, GP_STAT_MISSES, 3);
	gp_stats_add(b, GP_STAT_MISSES, 4);
	/* Each handle (pager) counts its own; the segment counts the process. */
	cr_assert_eq(gp_stats_get(a, GP_STAT_MISSES), 3);
	cr_assert_eq(gp_stats_get(b, GP_STAT_MISSES), 4);
	cr_assert_eq(gp_stats_segment(a)->counters[GP_STAT_MISSES], 7);
	gp_stats_close(a);
	cr_assert(shm_exists(getpid()), "closing one of two users unlinked the segment");
	cr_assert_eq(gp_stats_segment(b)->counters[GP_STAT_MISSES], 7);
	gp_stats_close(b);
	cr_assert_eq(gp_stats_process_counters(total), GP_ENOENT);
	cr_assert_not(shm_exists(getpid()));
	cr_assert_eq(gp_stats_attach(getpid(), &seg), GP_ENOENT);
	cr_assert(strstr(gp_last_error(), "gpupager."), "message: %s", gp_last_error());

	/* A new first user starts from zero. */
	cr_assert_eq(gp_stats_open(&c), 0, "%s", gp_last_error());
	cr_assert_eq(gp_stats_get(c, GP_STAT_MISSES), 0);
	gp_stats_close(c);
}

#define N_THREADS 4
#define N_ADDS 100000

/* Each thread adds through the shared handle (arg) and through one of its own. */
static void *add_many(void *arg)
{
	struct gp_stats *shared = arg, *own;

	if (gp_stats_open(&own))
		return NULL;
	for (int i = 0; i < N_ADDS; i++) {
		gp_stats_add(shared, GP_STAT_CHUNK_HITS, 1);
		gp_stats_add(own, GP_STAT_BYTES_H2D, 4096);
	}
	if (gp_stats_get(own, GP_STAT_BYTES_H2D) != (uint64_t)N_ADDS * 4096)
		own = NULL;
	gp_stats_close(own);
	return own;
}

Test(stats, concurrent_adds_are_exact)
{
	uint64_t total[GP_STAT_COUNT];
	pthread_t threads[N_THREADS];
	struct gp_stats *stats;

	cr_assert_eq(gp_stats_open(&stats), 0, "%s", gp_last_error());
	for (int i = 0; i < N_THREADS; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, add_many, stats), 0);
	for (int i = 0; i < N_THREADS; i++) {
		void *ret;

		pthread_join(threads[i], &ret);
		cr_assert_not_null(ret, "thread %d: its own handle's count is wrong", i);
	}
	cr_assert_eq(gp_stats_get(stats, GP_STAT_CHUNK_HITS), (uint64_t)N_THREADS * N_ADDS);
	cr_assert_eq(gp_stats_get(stats, GP_STAT_BYTES_H2D), 0, "another handle's adds counted");
	cr_assert_eq(gp_stats_process_counters(total), 0, "%s", gp_last_error());
	cr_assert_eq(total[GP_STAT_CHUNK_HITS], (uint64_t)N_THREADS * N_ADDS);
	cr_assert_eq(total[GP_STAT_BYTES_H2D], (uint64_t)N_THREADS * N_ADDS * 4096);
	gp_stats_close(stats);
}

Test(stats, models_add_and_remove)
{
	const uint32_t chunks[3] = { 10, 20, 30 };
	char long_name[200];
	struct gp_stats_segment *seg;
	struct gp_stats *stats;
	int slots[GP_STATS_MAX_MODELS];
	uint32_t seq;

	cr_assert_eq(gp_stats_open(&stats), 0, "%s", gp_last_error());
	seg = gp_stats_segment(stats);
	seq = seg->seq;
	cr_assert_eq(gp_stats_model_add(stats, "/models/a", 3, chunks, 2 << 20), 0);
	cr_assert_eq(seg->seq % 2, 0);
	cr_assert_gt(seg->seq, seq, "seq not advanced by a model change");
	cr_assert_eq(gp_stats_model_add(stats, "/models/b", 2, chunks, 64 << 10), 1);
	cr_assert_eq(seg->n_models, 2);
	cr_assert_str_eq(seg->models[0].name, "/models/a");
	cr_assert_eq(seg->models[0].n_groups, 3);
	cr_assert_eq(seg->models[0].chunk_size_kib, 2048);
	cr_assert_eq(seg->models[0].group_chunks[2], 30);
	cr_assert_eq(seg->models[1].chunk_size_kib, 64);

	gp_stats_model_remove(stats, 0);
	cr_assert_eq(seg->models[0].name[0], '\0');
	cr_assert_eq(seg->models[0].n_groups, 0);
	cr_assert_eq(seg->n_models, 2, "a hole before the last model keeps n_models");
	cr_assert_eq(gp_stats_model_add(stats, "/models/c", 1, chunks, 1 << 20), 0,
		     "the freed slot is reused");
	gp_stats_model_remove(stats, 1);
	cr_assert_eq(seg->n_models, 1);
	gp_stats_model_remove(stats, 0);
	cr_assert_eq(seg->n_models, 0);

	/* A long path keeps its end. */
	memset(long_name, 'x', sizeof(long_name));
	strcpy(long_name + sizeof(long_name) - 20, "/wan2.1-14b-model");
	for (int i = 0; i < GP_STATS_MAX_MODELS; i++)
		slots[i] = gp_stats_model_add(stats, long_name, 1, chunks, 1 << 20);
	for (int i = 0; i < GP_STATS_MAX_MODELS; i++)
		cr_assert_eq(slots[i], i);
	cr_assert_eq(gp_stats_model_add(stats, "/one/too/many", 1, chunks, 1 << 20), -1);
	cr_assert_eq(strlen(seg->models[0].name), GP_STATS_NAME_LEN - 1);
	cr_assert_eq(strncmp(seg->models[0].name, "...", 3), 0, "%s", seg->models[0].name);
	cr_assert(strstr(seg->models[0].name, "xx/wan2.1-14b-model"), "%s", seg->models[0].name);
	gp_stats_close(stats);
}

Test(stats, groups_past_the_limit_sum_into_the_last)
{
	static uint32_t chunks[GP_STATS_MAX_GROUPS + 6];
	struct gp_stats_model *m;
	struct gp_stats *stats;
	int slot;

	for (size_t g = 0; g < sizeof(chunks) / sizeof(chunks[0]); g++)
		chunks[g] = 2;
	cr_assert_eq(gp_stats_open(&stats), 0, "%s", gp_last_error());
	slot = gp_stats_model_add(stats, "big", GP_STATS_MAX_GROUPS + 6, chunks, 1 << 20);
	cr_assert_eq(slot, 0);
	m = &gp_stats_segment(stats)->models[slot];
	cr_assert_eq(m->n_groups, GP_STATS_MAX_GROUPS);
	cr_assert_eq(m->group_chunks[GP_STATS_MAX_GROUPS - 2], 2);
	cr_assert_eq(m->group_chunks[GP_STATS_MAX_GROUPS - 1], 14);
	gp_stats_group_resident(stats, slot, GP_STATS_MAX_GROUPS + 5, 3);
	gp_stats_group_resident(stats, slot, GP_STATS_MAX_GROUPS - 1, 2);
	cr_assert_eq(m->group_resident[GP_STATS_MAX_GROUPS - 1], 5);
	gp_stats_close(stats);
}

Test(stats, group_residency_clamps)
{
	const uint32_t chunks[2] = { 10, 4 };
	struct gp_stats_model *m;
	struct gp_stats *stats;
	int slot;

	cr_assert_eq(gp_stats_open(&stats), 0, "%s", gp_last_error());
	slot = gp_stats_model_add(stats, "m", 2, chunks, 1 << 20);
	m = &gp_stats_segment(stats)->models[slot];
	gp_stats_group_resident(stats, slot, 0, 3);
	gp_stats_group_resident(stats, slot, 0, -1);
	cr_assert_eq(m->group_resident[0], 2);
	gp_stats_group_resident(stats, slot, 0, 100);
	cr_assert_eq(m->group_resident[0], 10, "not clamped to the group's chunks");
	gp_stats_group_resident(stats, slot, 0, -1000);
	cr_assert_eq(m->group_resident[0], 0, "not clamped at zero");
	gp_stats_group_resident(stats, slot, 1, 4);
	cr_assert_eq(m->group_resident[1], 4);
	/* Slots that are not models are ignored. */
	gp_stats_group_resident(stats, -1, 0, 1);
	gp_stats_group_resident(stats, 5, 0, 1);
	gp_stats_group_resident(stats, GP_STATS_MAX_MODELS, 0, 1);
	cr_assert_eq(gp_stats_segment(stats)->models[5].group_resident[0], 0);
	gp_stats_close(stats);
}

/* Write a segment for pid by hand: valid, then spoiled by spoil(). */
static void plant_segment(int pid, void (*spoil)(struct gp_stats_segment *), size_t size)
{
	struct gp_stats_segment *seg;
	char name[32];
	int fd;

	snprintf(name, sizeof(name), GP_STATS_NAME_FMT, pid);
	fd = shm_open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0, "shm_open %s: %s", name, strerror(errno));
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	seg = calloc(1, sizeof(*seg));
	seg->magic = GP_STATS_MAGIC;
	seg->version = GP_STATS_VERSION;
	seg->size = sizeof(*seg);
	seg->pid = pid;
	if (spoil)
		spoil(seg);
	cr_assert_eq(pwrite(fd, seg, size < sizeof(*seg) ? size : sizeof(*seg), 0),
		     (ssize_t)(size < sizeof(*seg) ? size : sizeof(*seg)));
	free(seg);
	close(fd);
}

static void unplant_segment(int pid)
{
	char name[32];

	snprintf(name, sizeof(name), GP_STATS_NAME_FMT, pid);
	shm_unlink(name);
}

static void bad_magic(struct gp_stats_segment *seg)
{
	seg->magic = 0x1234;
}

static void bad_version(struct gp_stats_segment *seg)
{
	seg->version = 99;
}

static void bad_pid(struct gp_stats_segment *seg)
{
	seg->pid = 1;
}

static void expect_eformat(const char *what)
{
	const struct gp_stats_segment *seg = NULL;

	cr_assert_eq(gp_stats_attach(getpid(), &seg), GP_EFORMAT, "%s accepted", what);
	cr_assert_null(seg);
	cr_assert(strstr(gp_last_error(), "/dev/shm/gpupager."), "message: %s", gp_last_error());
	cr_assert(strstr(gp_last_error(), what), "message '%s' does not say '%s'",
		  gp_last_error(), what);
	unplant_segment(getpid());
}

Test(stats, attach_rejects_malformed_segments)
{
	const struct gp_stats_segment *seg;

	plant_segment(getpid(), NULL, sizeof(struct gp_stats_segment));
	cr_assert_eq(gp_stats_attach(getpid(), &seg), 0, "%s", gp_last_error());
	gp_stats_detach(seg);
	unplant_segment(getpid());

	plant_segment(getpid(), bad_magic, sizeof(struct gp_stats_segment));
	expect_eformat("bad magic");
	plant_segment(getpid(), bad_version, sizeof(struct gp_stats_segment));
	expect_eformat("version 99");
	plant_segment(getpid(), bad_pid, sizeof(struct gp_stats_segment));
	expect_eformat("pid 1");
	plant_segment(getpid(), NULL, 100);
	expect_eformat("100 bytes");

	cr_assert_eq(gp_stats_attach(getpid(), &seg), GP_ENOENT);
	cr_assert(strstr(gp_last_error(), "no such segment"), "message: %s", gp_last_error());
}

Test(stats, leftover_segment_with_our_pid_is_replaced)
{
	const struct gp_stats_segment *seg;
	struct gp_stats *stats;

	/* What a dead process that had our pid would leave behind. */
	plant_segment(getpid(), bad_magic, sizeof(struct gp_stats_segment));
	cr_assert_eq(gp_stats_open(&stats), 0, "%s", gp_last_error());
	gp_stats_add(stats, GP_STAT_HITS, 1);
	cr_assert_eq(gp_stats_attach(getpid(), &seg), 0, "%s", gp_last_error());
	cr_assert_eq(seg->counters[GP_STAT_HITS], 1);
	gp_stats_detach(seg);
	gp_stats_close(stats);
	cr_assert_not(shm_exists(getpid()));
}

Test(stats, forked_child_gets_its_own_segment)
{
	struct gp_stats *parent;
	int wstatus;
	pid_t child;

	cr_assert_eq(gp_stats_open(&parent), 0, "%s", gp_last_error());
	gp_stats_add(parent, GP_STAT_HITS, 5);
	fflush(NULL);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct gp_stats *mine;
		int ok;

		if (gp_stats_open(&mine))
			_exit(10);
		ok = mine != parent && gp_stats_segment(mine)->pid == getpid() &&
		     gp_stats_get(mine, GP_STAT_HITS) == 0 && shm_exists(getpid());
		gp_stats_close(mine);
		/* The inherited handle's last close must not unlink the parent's segment. */
		gp_stats_close(parent);
		_exit(ok && !shm_exists(getpid()) ? 0 : 11);
	}
	cr_assert_eq(waitpid(child, &wstatus, 0), child);
	cr_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "child status %d", wstatus);
	cr_assert(shm_exists(getpid()), "the child removed the parent's segment");
	cr_assert_eq(gp_stats_get(parent, GP_STAT_HITS), 5);
	gp_stats_close(parent);
	cr_assert_not(shm_exists(getpid()));
}
