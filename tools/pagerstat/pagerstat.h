/* pagerstat.h - `pagerstat`: watch the statistics segments of processes using libgpupager. */
#ifndef GP_TOOLS_PAGERSTAT_H
#define GP_TOOLS_PAGERSTAT_H

#include <stdio.h>
#include <sys/types.h>

#include "stats.h"

struct ps_opts {
	int pid;                /* 0: list the processes */
	double interval;        /* seconds; 0: one sample since the process started */
	long count;             /* samples; 0: until interrupted or the process exits */
	int json;
	int groups;
};

/* One consistent copy of a segment and when it was taken. */
struct ps_sample {
	struct gp_stats_segment seg;
	double unix_s;          /* CLOCK_REALTIME */
	double mono_s;          /* CLOCK_MONOTONIC */
};

/* sample.c */
int ps_sample_take(const struct gp_stats_segment *live, struct ps_sample *out);
double ps_uptime(const struct ps_sample *s);
/* Replace each byte that is not part of valid UTF-8 by '?', for JSON. */
void ps_utf8_fix(char *text);
/* Whether pid is running (ours or not): kill(pid, 0) does not fail with ESRCH. */
int ps_pid_alive(int pid);
/* The process's command name from /proc/PID/comm, or "?". */
void ps_comm(int pid, char *buf, size_t size);
/* Sum of a model's chunks and resident chunks over its groups. */
void ps_model_totals(const struct gp_stats_model *m, uint64_t *chunks, uint64_t *resident);
/* part / (part + other) as a percentage, or -1 when both are 0. */
double ps_ratio(uint64_t part, uint64_t other);
int ps_counter_is_gauge(enum gp_stat_counter c);
/* "12.3G": binary units, one decimal; buf of at least 16 bytes. */
const char *ps_size(uint64_t bytes, char *buf, size_t size);

/* watch.c: -p PID [INTERVAL [COUNT]] */
int ps_watch(const struct ps_opts *opts);
/* groups.c: --groups bars for every model of a sample */
void ps_print_groups(FILE *out, const struct ps_sample *s);
/* json.c */
void ps_print_json(FILE *out, const struct ps_sample *cur, const struct ps_sample *prev,
		   double dt, const char *comm);
/* list.c: no PID (list) and --clean */
int ps_list(const struct ps_opts *opts);
int ps_clean(void);
/* Pids with a segment in /dev/shm, sorted; returns the count, or -1 (message printed). */
int ps_segment_pids(int **pids);

#endif
