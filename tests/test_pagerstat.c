/*
 * test_pagerstat.c - the `pagerstat` tool watching this test process, which
 * holds a statistics segment with known counters while pagerstat runs: the
 * --json samples number by number, the line view, the process list,
 * --groups, stale segments and --clean, and its exit status on errors.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "stats.h"
#include "common/cli_run.h"
#include "gpupager.h"

#define MODEL_NAME "/models/test-model"

static const uint32_t group_chunks[3] = { 10, 20, 5 };
static const int group_resident[3] = { 3, 20, 0 };

static uint64_t counter_value(int c)
{
	switch (c) {
	case GP_STAT_HITS:
		return 900;
	case GP_STAT_MISSES:
		return 100;
	case GP_STAT_PREFETCH_HITS:
		return 30;
	case GP_STAT_PREFETCH_WASTED:
		return 10;
	default:
		return 1000003ull * (uint64_t)(c + 1);
	}
}

/* This process's segment, with every counter, a device and one model with residency. */
static struct gp_stats *open_known_stats(int *slot)
{
	struct gp_stats *stats;

	cr_assert_eq(gp_stats_open(&stats), 0, "%s", gp_last_error());
	for (int c = 0; c < GP_STAT_COUNT; c++)
		gp_stats_set(stats, c, counter_value(c));
	gp_stats_set_device(stats, "gpupager simulated device (no GPU)", "clock");
	*slot = gp_stats_model_add(stats, MODEL_NAME, 3, group_chunks, 2 << 20);
	cr_assert_eq(*slot, 0);
	for (uint32_t g = 0; g < 3; g++)
		gp_stats_group_resident(stats, *slot, g, group_resident[g]);
	return stats;
}

static void own_comm(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/comm", "r");

	cr_assert_not_null(f);
	cr_assert_not_null(fgets(buf, (int)size, f));
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static struct gp_test_cli pagerstat(const char *const *args)
{
	return gp_test_cli_run_bin(GP_TEST_PAGERSTAT, args, 0);
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static void check_sample(json_t *sample, int first)
{
	json_t *counters = json_object_get(sample, "counters");
	json_t *rates = json_object_get(sample, "rates");
	json_t *models = json_object_get(sample, "models"), *m, *gc, *gr;
	char comm[64];

	own_comm(comm, sizeof(comm));
	cr_assert_eq(json_integer_value(json_object_get(sample, "pid")), getpid());
	cr_assert_str_eq(json_string_value(json_object_get(sample, "comm")), comm);
	cr_assert_str_eq(json_string_value(json_object_get(sample, "device")),
			 "gpupager simulated device (no GPU)");
	cr_assert_str_eq(json_string_value(json_object_get(sample, "policy")), "clock");
	cr_assert(json_is_real(json_object_get(sample, "interval_s")));
	cr_assert_gt(json_real_value(json_object_get(sample, "interval_s")), 0);
	cr_assert(json_is_object(counters) && json_is_object(rates));
	cr_assert_eq(json_object_size(counters), GP_STAT_COUNT);
	for (int c = 0; c < GP_STAT_COUNT; c++) {
		const char *name = gp_stat_counter_name(c);
		json_t *v = json_object_get(counters, name);

		cr_assert(json_is_integer(v), "counter '%s' missing", name);
		cr_assert_eq((uint64_t)json_integer_value(v), counter_value(c), "%s", name);
	}
	/* Rates of counters, not of gauges; nothing moved during the second interval. */
	cr_assert(json_is_real(json_object_get(rates, "bytes_h2d")));
	cr_assert_null(json_object_get(rates, "vram_used"));
	if (first) {
		cr_assert_gt(json_real_value(json_object_get(rates, "misses")), 0);
		cr_assert_float_eq(json_real_value(json_object_get(sample, "hit_rate")), 90.0, 1e-9);
		cr_assert_float_eq(json_real_value(json_object_get(sample, "prefetch_hit_rate")),
				   75.0, 1e-9);
	} else {
		cr_assert_eq(json_real_value(json_object_get(rates, "misses")), 0);
		cr_assert(json_is_null(json_object_get(sample, "hit_rate")));
	}
	cr_assert_eq(json_array_size(models), 1);
	m = json_array_get(models, 0);
	cr_assert_str_eq(json_string_value(json_object_get(m, "name")), MODEL_NAME);
	cr_assert_eq(json_integer_value(json_object_get(m, "chunk_size_kib")), 2048);
	cr_assert_eq(json_integer_value(json_object_get(m, "n_groups")), 3);
	cr_assert_eq(json_integer_value(json_object_get(m, "chunks")), 35);
	cr_assert_eq(json_integer_value(json_object_get(m, "resident")), 23);
	gc = json_object_get(m, "group_chunks");
	gr = json_object_get(m, "group_resident");
	cr_assert_eq(json_array_size(gc), 3);
	cr_assert_eq(json_array_size(gr), 3);
	for (size_t g = 0; g < 3; g++) {
		cr_assert_eq(json_integer_value(json_array_get(gc, g)), group_chunks[g]);
		cr_assert_eq(json_integer_value(json_array_get(gr, g)), group_resident[g]);
	}
}

Test(pagerstat, json_samples_match_the_counters)
{
	struct gp_stats *stats;
	struct gp_test_cli r;
	char pid[16], *line, *save = NULL;
	int slot, n = 0;

	stats = open_known_stats(&slot);
	snprintf(pid, sizeof(pid), "%d", getpid());
	r = pagerstat((const char *const[]){ "-p", pid, "0.1", "2", "--json", NULL });
	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
	cr_assert_eq(count_lines(r.out), 2, "expected two lines:\n%s", r.out);
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *sample = json_loads(line, 0, &jerr);

		cr_assert_not_null(sample, "line %d is not JSON (%s): %s", n + 1, jerr.text, line);
		check_sample(sample, n == 0);
		json_decref(sample);
		n++;
	}
	cr_assert_eq(n, 2);
	gp_test_cli_free(&r);
	gp_stats_close(stats);
}

Test(pagerstat, line_view)
{
	struct gp_stats *stats;
	struct gp_test_cli r;
	char pid[16], title[128];
	int slot;

	stats = open_known_stats(&slot);
	snprintf(pid, sizeof(pid), "%d", getpid());
	r = pagerstat((const char *const[]){ "-p", pid, "0.05", "3", NULL });
	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
	/* Title, column header, three samples. */
	cr_assert_eq(count_lines(r.out), 5, "%s", r.out);
	snprintf(title, sizeof(title), "pid %s (", pid);
	cr_assert_eq(strncmp(r.out, title, strlen(title)), 0, "%s", r.out);
	cr_assert(strstr(r.out, "gpupager simulated device (no GPU), policy clock"), "%s", r.out);
	cr_assert(strstr(r.out, "hit%"), "%s", r.out);
	cr_assert(strstr(r.out, "stall_ms/s"), "%s", r.out);
	/* First line since start: 90% hits, 75% of prefetches used. */
	cr_assert(strstr(r.out, "\n  90.0 "), "%s", r.out);
	cr_assert(strstr(r.out, "    75.0 "), "%s", r.out);
	gp_test_cli_free(&r);

	/* Without INTERVAL: one sample. */
	r = pagerstat((const char *const[]){ "-p", pid, NULL });
	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
	cr_assert_eq(count_lines(r.out), 3, "%s", r.out);
	gp_test_cli_free(&r);
	gp_stats_close(stats);
}

Test(pagerstat, list_shows_this_process)
{
	struct gp_stats *stats;
	struct gp_test_cli r;
	char row[160], comm[64];
	json_t *root, *procs, *mine = NULL;
	size_t i;
	int slot;

	stats = open_known_stats(&slot);
	own_comm(comm, sizeof(comm));
	r = pagerstat((const char *const[]){ NULL });
	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "PID COMMAND"), "%s", r.out);
	snprintf(row, sizeof(row), "\n%7d %-15s gpupager simulated device", getpid(), comm);
	cr_assert(strstr(r.out, row), "no row '%s' in:\n%s", row + 1, r.out);
	cr_assert(strstr(r.out, " 90.0\n"), "%s", r.out);
	gp_test_cli_free(&r);

	r = pagerstat((const char *const[]){ "--json", NULL });
	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
	cr_assert_eq(count_lines(r.out), 1, "%s", r.out);
	root = json_loads(r.out, 0, NULL);
	procs = json_object_get(root, "processes");
	cr_assert(json_is_array(procs), "%s", r.out);
	for (i = 0; i < json_array_size(procs); i++)
		if (json_integer_value(json_object_get(json_array_get(procs, i), "pid")) == getpid())
			mine = json_array_get(procs, i);
	cr_assert_not_null(mine, "pid %d not listed: %s", getpid(), r.out);
	cr_assert_str_eq(json_string_value(json_object_get(mine, "comm")), comm);
	cr_assert_str_eq(json_string_value(json_object_get(mine, "policy")), "clock");
	cr_assert_eq((uint64_t)json_integer_value(json_object_get(mine, "vram_used")),
		     counter_value(GP_STAT_VRAM_USED));
	cr_assert_eq((uint64_t)json_integer_value(json_object_get(mine, "host_budget")),
		     counter_value(GP_STAT_HOST_BUDGET));
	cr_assert_float_eq(json_real_value(json_object_get(mine, "hit_rate")), 90.0, 1e-9);
	cr_assert_eq(json_integer_value(json_object_get(mine, "models")), 1);
	json_decref(root);
	gp_test_cli_free(&r);
	gp_stats_close(stats);
}

Test(pagerstat, groups_view)
{
	struct gp_stats *stats;
	struct gp_test_cli r;
	char pid[16];
	int slot;

	stats = open_known_stats(&slot);
	snprintf(pid, sizeof(pid), "%d", getpid());
	r = pagerstat((const char *const[]){ "--groups", "-p", pid, NULL });
	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "model 0: " MODEL_NAME ": 3 groups, 2048 KiB chunks, 23 of 35 "
				"chunks resident (65.7%)"), "%s", r.out);
	/* 3 of 10 is 12 of 40 marks; all of group 1; none of group 2. */
	cr_assert(strstr(r.out, "group    0 [############............................]      3/10"
				"      30.0%"), "%s", r.out);
	cr_assert(strstr(r.out, "group    1 [########################################]     20/20"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "group    2 [........................................]      0/5 "),
		  "%s", r.out);
	gp_test_cli_free(&r);
	gp_stats_close(stats);
}

static void *close_later(void *stats)
{
	/* Long enough for pagerstat to start and attach, even under sanitizers. */
	usleep(1000 * 1000);
	gp_stats_close(stats);
	return NULL;
}

Test(pagerstat, watch_ends_when_the_last_pager_closes)
{
	struct gp_stats *stats;
	struct gp_test_cli r;
	pthread_t thread;
	char pid[16];
	int slot, lines;

	stats = open_known_stats(&slot);
	snprintf(pid, sizeof(pid), "%d", getpid());
	cr_assert_eq(pthread_create(&thread, NULL, close_later, stats), 0);
	r = pagerstat((const char *const[]){ "-p", pid, "0.1", "1000", NULL });
	pthread_join(thread, NULL);
	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "closed its last pager"), "%s", r.err);
	lines = count_lines(r.out);
	cr_assert(lines >= 3 && lines < 1000, "%d lines", lines);
	gp_test_cli_free(&r);
}

/* A pid that was ours and is gone (a reaped child). */
static pid_t dead_pid(int leave_segment)
{
	int wstatus;
	pid_t child;

	fflush(NULL);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct gp_stats *stats;

		/* Exit without closing: what a crashed process leaves in /dev/shm. */
		if (leave_segment && gp_stats_open(&stats))
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(waitpid(child, &wstatus, 0), child);
	cr_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
	return child;
}

Test(pagerstat, stale_segments_ignored_and_cleaned)
{
	struct gp_test_cli r;
	char pid[16], path[64], removed[160];
	pid_t dead = dead_pid(1);

	snprintf(pid, sizeof(pid), "%d", dead);
	snprintf(path, sizeof(path), "/dev/shm" GP_STATS_NAME_FMT, dead);
	cr_assert_eq(access(path, F_OK), 0, "the child left no segment");

	r = pagerstat((const char *const[]){ "--json", NULL });
	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
	snprintf(removed, sizeof(removed), "\"pid\":%d,", dead);
	cr_assert_null(strstr(r.out, removed), "stale pid %d listed: %s", dead, r.out);
	cr_assert(strstr(r.err, "stale segment"), "%s", r.err);
	gp_test_cli_free(&r);

	r = pagerstat((const char *const[]){ "-p", pid, NULL });
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "is not running"), "%s", r.err);
	cr_assert(strstr(r.err, "--clean"), "%s", r.err);
	gp_test_cli_free(&r);

	r = pagerstat((const char *const[]){ "--clean", NULL });
	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
	snprintf(removed, sizeof(removed), "removed %s (process %d is not running)", path, dead);
	cr_assert(strstr(r.out, removed), "%s", r.out);
	cr_assert_neq(access(path, F_OK), 0, "%s still there", path);
	gp_test_cli_free(&r);
}

Test(pagerstat, malformed_segment_reported)
{
	struct gp_test_cli r;
	char pid[16], name[32];
	uint64_t junk[4] = { 1, 2, 3, 4 };
	int fd;

	snprintf(name, sizeof(name), GP_STATS_NAME_FMT, getpid());
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0, "%s: %s", name, strerror(errno));
	cr_assert_eq(ftruncate(fd, sizeof(struct gp_stats_segment)), 0);
	cr_assert_eq(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	close(fd);
	snprintf(pid, sizeof(pid), "%d", getpid());

	r = pagerstat((const char *const[]){ "-p", pid, NULL });
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "bad magic"), "%s", r.err);
	gp_test_cli_free(&r);

	r = pagerstat((const char *const[]){ NULL });
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.err, "skipping pid"), "%s", r.err);
	gp_test_cli_free(&r);
	shm_unlink(name);
}

Test(pagerstat, bad_pids_exit_1)
{
	struct gp_test_cli r;
	char pid[16];

	r = pagerstat((const char *const[]){ "-p", "1", NULL });
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "process 1 (") && strstr(r.err, "does not use libgpupager"), "%s",
		  r.err);
	gp_test_cli_free(&r);

	snprintf(pid, sizeof(pid), "%d", dead_pid(0));
	r = pagerstat((const char *const[]){ "-p", pid, "1", NULL });
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "no process"), "%s", r.err);
	cr_assert_eq(r.out[0], '\0');
	gp_test_cli_free(&r);
}

Test(pagerstat, bad_arguments_exit_2)
{
	static const char *const cases[][5] = {
		{ "-p", "abc", NULL },
		{ "-p", "-5", NULL },
		{ "-p", NULL },
		{ "-p", "1", "0", NULL },
		{ "-p", "1", "fast", NULL },
		{ "-p", "1", "1", "x", NULL },
		{ "-p", "1", "1", "0", NULL },
		{ "-p", "1", "1", "2", "3" },
		{ "--bogus", NULL },
		{ "1", NULL },
		{ "--groups", NULL },
		{ "--clean", "-p", "1", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[6] = { 0 };
		struct gp_test_cli r;

		memcpy(args, cases[i], sizeof(cases[i]));
		r = pagerstat(args);
		cr_assert_eq(r.status, 2, "case %zu (%s %s): status %d", i, args[0],
			     args[1] ? args[1] : "", r.status);
		cr_assert(strstr(r.err, "Try 'pagerstat --help'"), "case %zu: %s", i, r.err);
		cr_assert_eq(r.out[0], '\0');
		gp_test_cli_free(&r);
	}
}

Test(pagerstat, help)
{
	struct gp_test_cli r = pagerstat((const char *const[]){ "--help", NULL });

	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "usage: pagerstat"), "%s", r.out);
	cr_assert(strstr(r.out, "--json"), "%s", r.out);
	gp_test_cli_free(&r);
}
