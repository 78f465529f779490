/* pagerstat.h - `pagerstat`: watch the statistics segments of processes using libgpupager. */
#ifndef GP_TOOLS_PAGERSTAT_H
#define GP_TOOLS_PAGERSTAT_H

#include <stdio.h>
#include <sys/types.h>

#include <gpupager.h>

struct ps_opts {
	int pid;                /* 0: list the processes */
	double interval;        /* seconds; 0: one sample since the process started */
	long count;             /* samples; 0: until interrupted or the process exits */
	int json;
	int groups;
};

/* One consistent copy of a segment and when it was taken. */
struct ps_sample {
	struct gp_stats_snapshot *snap;
	struct gp_stats_process proc;   /* pid, device, policy, model slots of snap */
	double unix_s;          /* CLOCK_REALTIME */
	double mono_s;          /* CLOCK_MONOTONIC */
};

/* sample.c */
/* A sample to fill; 0, or -1 after a message. */
int ps_sample_init(struct ps_sample *s);
void ps_sample_free(struct ps_sample *s);
int ps_sample_take(const struct gp_stats_reader *reader, struct ps_sample *out);
/* Counter c of the sample, 0 for one the writer did not have. */
uint64_t ps_counter(const struct ps_sample *s, int c);
double ps_uptime(const struct ps_sample *s);
/* Whether pid is running (ours or not): kill(pid, 0) does not fail with ESRCH. */
int ps_pid_alive(int pid);
/* The process's command name from /proc/PID/comm, or "?". */
void ps_comm(int pid, char *buf, size_t size);
/* part / (part + other) as a percentage, or -1 when both are 0. */
double ps_ratio(uint64_t part, uint64_t other);
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

/* mrc.c: `pagerstat mrc TRACE ...` and `pagerstat advise TRACE ...` (argv[0] the command) */
int ps_mrc(int argc, char **argv);
int ps_advise(int argc, char **argv);
int ps_plan(int argc, char **argv);
/* chart.c: the curves as an SVG or PNG chart, adv marked (may be NULL); -1 after a message */
int ps_chart_svg(const char *path, const struct gp_mrc *m, const struct gp_mrc_info *info,
		 const struct gp_mrc_advice *adv);
int ps_chart_png(const char *path, const struct gp_mrc *m, const struct gp_mrc_info *info,
		 const struct gp_mrc_advice *adv);

#endif
