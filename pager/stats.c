/*
 * stats.c - the process's counters in /dev/shm/gpupager.<pid> (stats.h).
 *
 * One segment per process, shared by every pager in it and counted under a
 * mutex; the last gp_stats_close() unmaps and unlinks it.  Each pager's
 * handle also keeps its own counters, so the API reports a pager's figures
 * and the segment the process's.  Counters are relaxed atomics; names and
 * groups change under the seq odd/even protocol so that pagerstat can copy
 * them consistently.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "stats.h"

/* The process's segment, shared by every handle. */
struct stats_process {
	struct gp_stats_segment *seg;
	int shared;             /* seg is the shm mapping (else calloc'd memory) */
	pid_t owner;            /* the process that created it (a forked child never unlinks) */
	int users;
	char name[32];
};

struct gp_stats {
	struct stats_process *proc;
	struct gp_stats_segment *seg;   /* proc->seg, kept here for the writers' fast path */
	uint64_t counters[GP_STAT_COUNT];
};

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stats_process *stats_current;

static void fill_header(struct gp_stats_segment *seg, pid_t pid)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	seg->version = GP_STATS_VERSION;
	seg->size = sizeof(*seg);
	seg->pid = pid;
	seg->start_unix_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	snprintf(seg->policy, sizeof(seg->policy), "-");
	snprintf(seg->device, sizeof(seg->device), "-");
	/* Last, so a reader never accepts a half-filled header. */
	__atomic_store_n(&seg->magic, GP_STATS_MAGIC, __ATOMIC_RELEASE);
}

/* Create and map the named segment; a leftover one of a dead process with our pid is replaced. */
static int map_segment(const char *name, struct gp_stats_segment **out)
{
	void *map;
	int fd, err;

	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* Not ours (we hold none): a dead process that had our pid left it. */
		shm_unlink(name);
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	}
	if (fd < 0)
		return -errno;
	/* shm_open applies the umask; 0600 exactly is what pagerstat checks for. */
	if (fchmod(fd, 0600) || ftruncate(fd, sizeof(**out)))
		goto fail;
	map = mmap(NULL, sizeof(**out), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto fail;
	close(fd);
	*out = map;
	return 0;
fail:
	err = -errno;
	close(fd);
	shm_unlink(name);
	return err;
}

static int stats_create(struct stats_process **out)
{
	struct stats_process *stats = calloc(1, sizeof(*stats));
	int err;

	if (!stats)
		return gp_fail(GP_ENOMEM, "stats: out of memory");
	stats->owner = getpid();
	stats->users = 1;
	snprintf(stats->name, sizeof(stats->name), GP_STATS_NAME_FMT, (int)stats->owner);
	err = map_segment(stats->name, &stats->seg);
	if (err) {
		gp_log_warn("stats: cannot create shared memory /dev/shm%s (%s); counters stay "
			    "in this process, pagerstat will not see it", stats->name,
			    strerror(-err));
		stats->seg = calloc(1, sizeof(*stats->seg));
		if (!stats->seg) {
			free(stats);
			return gp_fail(GP_ENOMEM, "stats: out of memory");
		}
	} else {
		stats->shared = 1;
	}
	fill_header(stats->seg, stats->owner);
	*out = stats;
	return 0;
}

int gp_stats_open(struct gp_stats **out)
{
	struct gp_stats *stats = calloc(1, sizeof(*stats));
	int err = 0;

	if (!stats)
		return gp_fail(GP_ENOMEM, "stats: out of memory");
	pthread_mutex_lock(&stats_lock);
	/* After fork() the inherited segment is the parent's: leave it to its users. */
	if (stats_current && stats_current->owner != getpid())
		stats_current = NULL;
	if (stats_current)
		stats_current->users++;
	else
		err = stats_create(&stats_current);
	if (!err) {
		stats->proc = stats_current;
		stats->seg = stats_current->seg;
	}
	pthread_mutex_unlock(&stats_lock);
	if (err) {
		free(stats);
		return err;
	}
	*out = stats;
	return 0;
}

void gp_stats_close(struct gp_stats *handle)
{
	struct stats_process *stats;

	if (!handle)
		return;
	stats = handle->proc;
	free(handle);
	pthread_mutex_lock(&stats_lock);
	if (--stats->users > 0) {
		pthread_mutex_unlock(&stats_lock);
		return;
	}
	if (stats == stats_current)
		stats_current = NULL;
	pthread_mutex_unlock(&stats_lock);
	if (stats->shared) {
		munmap(stats->seg, sizeof(*stats->seg));
		if (stats->owner == getpid())
			shm_unlink(stats->name);
	} else {
		free(stats->seg);
	}
	free(stats);
}

struct gp_stats_segment *gp_stats_segment(struct gp_stats *stats)
{
	return stats->seg;
}

void gp_stats_add(struct gp_stats *stats, enum gp_stat_counter c, uint64_t n)
{
	if (!stats || (unsigned)c >= GP_STAT_COUNT)
		return;
	__atomic_fetch_add(&stats->counters[c], n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&stats->seg->counters[c], n, __ATOMIC_RELAXED);
}

void gp_stats_set(struct gp_stats *stats, enum gp_stat_counter c, uint64_t value)
{
	if (!stats || (unsigned)c >= GP_STAT_COUNT)
		return;
	__atomic_store_n(&stats->counters[c], value, __ATOMIC_RELAXED);
	__atomic_store_n(&stats->seg->counters[c], value, __ATOMIC_RELAXED);
}

uint64_t gp_stats_get(struct gp_stats *stats, enum gp_stat_counter c)
{
	if (!stats || (unsigned)c >= GP_STAT_COUNT)
		return 0;
	return __atomic_load_n(&stats->counters[c], __ATOMIC_RELAXED);
}

int gp_stats_process_counters(uint64_t out[GP_STAT_COUNT])
{
	int err = 0;

	pthread_mutex_lock(&stats_lock);
	if (stats_current && stats_current->owner == getpid()) {
		for (int c = 0; c < GP_STAT_COUNT; c++)
			out[c] = __atomic_load_n(&stats_current->seg->counters[c], __ATOMIC_RELAXED);
	} else {
		err = gp_fail(GP_ENOENT, "no pager is open in this process");
	}
	pthread_mutex_unlock(&stats_lock);
	return err;
}

/* Bracket a change of names or groups (caller holds stats_lock): seq is odd meanwhile. */
static void seq_begin(struct gp_stats_segment *seg)
{
	/* A full barrier (not a fence: ThreadSanitizer refuses fences) keeps later writes after it. */
	__atomic_fetch_add(&seg->seq, 1, __ATOMIC_SEQ_CST);
}

static void seq_end(struct gp_stats_segment *seg)
{
	__atomic_store_n(&seg->seq, seg->seq + 1, __ATOMIC_RELEASE);
}

/* A long path keeps its end, where the model's name is: "...s/wan2.1-14b". */
static void copy_name_tail(char *dst, const char *name)
{
	size_t len = strlen(name);

	if (!len)
		name = "(unnamed)";
	else if (len >= GP_STATS_NAME_LEN)
		name += len - (GP_STATS_NAME_LEN - 4);
	/* Never start in the middle of a UTF-8 character. */
	while ((*name & 0xc0) == 0x80)
		name++;
	snprintf(dst, GP_STATS_NAME_LEN, "%s%s", len >= GP_STATS_NAME_LEN ? "..." : "", name);
}

/* Per-group counts into the segment's arrays; groups past the last slot are summed into it. */
static void set_groups(struct gp_stats_model *m, uint32_t n_groups, const uint32_t *group_chunks,
		       const uint32_t *group_resident)
{
	m->n_groups = n_groups < GP_STATS_MAX_GROUPS ? n_groups : GP_STATS_MAX_GROUPS;
	memset(m->group_chunks, 0, sizeof(m->group_chunks));
	memset(m->group_resident, 0, sizeof(m->group_resident));
	for (uint32_t g = 0; g < n_groups; g++) {
		uint32_t slot = g < GP_STATS_MAX_GROUPS ? g : GP_STATS_MAX_GROUPS - 1;
		uint64_t sum = (uint64_t)m->group_chunks[slot] + group_chunks[g];

		m->group_chunks[slot] = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
		if (group_resident) {
			sum = (uint64_t)m->group_resident[slot] + group_resident[g];
			m->group_resident[slot] = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
		}
	}
}

int gp_stats_model_add(struct gp_stats *stats, const char *name, uint32_t n_groups,
		       const uint32_t *group_chunks, uint64_t chunk_size)
{
	struct gp_stats_segment *seg;
	struct gp_stats_model *m;
	int slot;

	if (!stats)
		return -1;
	seg = stats->seg;
	pthread_mutex_lock(&stats_lock);
	for (slot = 0; slot < GP_STATS_MAX_MODELS; slot++)
		if (!seg->models[slot].name[0])
			break;
	if (slot == GP_STATS_MAX_MODELS) {
		pthread_mutex_unlock(&stats_lock);
		gp_log_info("stats: more than %d models open; '%s' is not shown by pagerstat",
			    GP_STATS_MAX_MODELS, name);
		return -1;
	}
	m = &seg->models[slot];
	seq_begin(seg);
	memset(m, 0, sizeof(*m));
	copy_name_tail(m->name, name);
	m->chunk_size_kib = (uint32_t)(chunk_size / 1024);
	set_groups(m, n_groups, group_chunks, NULL);
	if ((uint32_t)slot >= seg->n_models)
		seg->n_models = (uint32_t)slot + 1;
	seq_end(seg);
	pthread_mutex_unlock(&stats_lock);
	return slot;
}

void gp_stats_model_remove(struct gp_stats *stats, int slot)
{
	struct gp_stats_segment *seg;

	if (!stats || slot < 0 || slot >= GP_STATS_MAX_MODELS)
		return;
	seg = stats->seg;
	pthread_mutex_lock(&stats_lock);
	seq_begin(seg);
	memset(&seg->models[slot], 0, sizeof(seg->models[slot]));
	while (seg->n_models && !seg->models[seg->n_models - 1].name[0])
		seg->n_models--;
	seq_end(seg);
	pthread_mutex_unlock(&stats_lock);
}

void gp_stats_model_regroup(struct gp_stats *stats, int slot, uint32_t n_groups,
			    const uint32_t *group_chunks, const uint32_t *group_resident)
{
	if (!stats || slot < 0 || slot >= GP_STATS_MAX_MODELS)
		return;
	pthread_mutex_lock(&stats_lock);
	seq_begin(stats->seg);
	set_groups(&stats->seg->models[slot], n_groups, group_chunks, group_resident);
	seq_end(stats->seg);
	pthread_mutex_unlock(&stats_lock);
}

void gp_stats_group_resident(struct gp_stats *stats, int slot, uint32_t group, int delta)
{
	struct gp_stats_model *m;
	uint32_t *res, old, limit;
	int64_t want;

	if (!stats || slot < 0 || slot >= GP_STATS_MAX_MODELS)
		return;
	m = &stats->seg->models[slot];
	if (!m->n_groups)
		return;
	if (group >= m->n_groups)
		group = m->n_groups - 1;
	res = &m->group_resident[group];
	limit = m->group_chunks[group];
	old = __atomic_load_n(res, __ATOMIC_RELAXED);
	/* Clamped to [0, chunks in the group]: a miscount never shows as 120% or wraps. */
	do {
		want = (int64_t)old + delta;
		if (want < 0)
			want = 0;
		if (want > limit)
			want = limit;
	} while (!__atomic_compare_exchange_n(res, &old, (uint32_t)want, 1, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
}

void gp_stats_set_device(struct gp_stats *stats, const char *device, const char *policy)
{
	struct gp_stats_segment *seg;

	if (!stats)
		return;
	seg = stats->seg;
	pthread_mutex_lock(&stats_lock);
	seq_begin(seg);
	if (device)
		snprintf(seg->device, sizeof(seg->device), "%s", device);
	if (policy)
		snprintf(seg->policy, sizeof(seg->policy), "%s", policy);
	seq_end(seg);
	pthread_mutex_unlock(&stats_lock);
}

static int check_segment(int pid, const char *path, const struct gp_stats_segment *seg)
{
	if (__atomic_load_n(&seg->magic, __ATOMIC_ACQUIRE) != GP_STATS_MAGIC)
		return gp_fail(GP_EFORMAT, "%s: not a gpupager statistics segment (bad magic)",
			       path);
	if (seg->version != GP_STATS_VERSION)
		return gp_fail(GP_EFORMAT, "%s: layout version %u, this pagerstat reads %d; use "
			       "the pagerstat of the same libgpupager", path, seg->version,
			       GP_STATS_VERSION);
	if (seg->size != sizeof(*seg))
		return gp_fail(GP_EFORMAT, "%s: header says %u bytes, expected %zu", path,
			       seg->size, sizeof(*seg));
	if (seg->pid != pid)
		return gp_fail(GP_EFORMAT, "%s: written by pid %d, not %d", path, seg->pid, pid);
	return 0;
}

int gp_stats_attach(int pid, const struct gp_stats_segment **out)
{
	char name[32], path[48];
	struct stat st;
	void *map;
	int fd, err;

	snprintf(name, sizeof(name), GP_STATS_NAME_FMT, pid);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0) {
		if (errno == ENOENT)
			return gp_fail(GP_ENOENT, "%s: no such segment: process %d has no pager "
				       "open (or does not use libgpupager)", path, pid);
		return gp_fail(GP_EIO, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st)) {
		err = gp_fail(GP_EIO, "%s: fstat: %s", path, strerror(errno));
		goto out;
	}
	/* Only a segment of our own user is trusted, not one planted by another. */
	if (st.st_uid != geteuid()) {
		err = gp_fail(GP_EFORMAT, "%s: owned by uid %u, not by you (uid %u); ignored",
			      path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if ((uint64_t)st.st_size < sizeof(struct gp_stats_segment)) {
		err = gp_fail(GP_EFORMAT, "%s: %lld bytes, a statistics segment has %zu", path,
			      (long long)st.st_size, sizeof(struct gp_stats_segment));
		goto out;
	}
	map = mmap(NULL, sizeof(struct gp_stats_segment), PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		err = gp_fail(GP_EIO, "%s: mmap: %s", path, strerror(errno));
		goto out;
	}
	err = check_segment(pid, path, map);
	if (err)
		munmap(map, sizeof(struct gp_stats_segment));
	else
		*out = map;
out:
	close(fd);
	return err;
}

void gp_stats_detach(const struct gp_stats_segment *seg)
{
	if (seg)
		munmap((void *)seg, sizeof(*seg));
}
