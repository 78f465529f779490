/* watch.c - `pagerstat -p PID [INTERVAL [COUNT]]`: one line per interval, like vmstat. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gpupager.h>
#include "pagerstat.h"

#define HEADER_EVERY 20

struct watch {
	const struct ps_opts *opts;
	struct gp_stats_reader *live;
	ino_t ino;              /* of the segment attached, to notice a new one */
	char path[48];
	char comm[64];
	struct ps_sample *cur, *prev;
	int fresh;              /* next sample is the first of this segment: rates since start */
	int fresh_prev;         /* prev counts as all zeros (the line covering the whole run) */
	int lines;              /* lines printed since the header */
};

static int watch_attach(struct watch *w)
{
	int pid = w->opts->pid;
	struct stat st;
	int err;

	if (!ps_pid_alive(pid)) {
		if (access(w->path, F_OK) == 0)
			fprintf(stderr, "pagerstat: process %d is not running; %s is left over from "
					"it (pagerstat --clean removes it)\n", pid, w->path);
		else
			fprintf(stderr, "pagerstat: no process %d\n", pid);
		return 1;
	}
	err = gp_stats_reader_open(pid, &w->live);
	if (err == GP_ENOENT) {
		fprintf(stderr, "pagerstat: process %d (%s) does not use libgpupager: no %s (or it "
				"has no pager open)\n", pid, w->comm, w->path);
		return 1;
	}
	if (err) {
		fprintf(stderr, "pagerstat: %s\n", gp_last_error());
		return 1;
	}
	w->ino = stat(w->path, &st) ? 0 : st.st_ino;
	w->fresh = 1;
	w->lines = 0;
	return 0;
}

static uint64_t delta(const struct watch *w, int c)
{
	uint64_t now = ps_counter(w->cur, c), before = w->fresh_prev ? 0 : ps_counter(w->prev, c);

	return now > before ? now - before : 0;
}

static void print_pct(double pct, int width)
{
	if (pct < 0)
		printf(" %*s", width, "-");
	else
		printf(" %*.1f", width, pct);
}

static void print_title(const struct watch *w)
{
	const struct gp_stats_process *proc = &w->cur->proc;
	char vb[16], hb[16];

	printf("pid %d (%s): %s, policy %s, vram budget %s, host budget %s, up %.1f s\n",
	       proc->pid, w->comm, proc->device, proc->policy,
	       ps_size(ps_counter(w->cur, GP_COUNTER_VRAM_BUDGET), vb, sizeof(vb)),
	       ps_size(ps_counter(w->cur, GP_COUNTER_HOST_BUDGET), hb, sizeof(hb)), ps_uptime(w->cur));
}

static void print_line(struct watch *w, double dt)
{
	double per_s = dt > 0 ? 1 / dt : 0;
	char vram[16], host[16];

	if (w->lines % HEADER_EVERY == 0)
		printf("%6s %8s %9s %9s %9s %8s %7s %10s %9s %9s\n", "hit%", "miss/s",
		       "disk_MB/s", "h2d_MB/s", "d2h_MB/s", "evict/s", "pf_hit%", "stall_ms/s",
		       "vram_used", "host_used");
	w->lines++;
	print_pct(ps_ratio(delta(w, GP_COUNTER_HITS), delta(w, GP_COUNTER_MISSES)), 5);
	printf(" %8.1f %9.1f %9.1f %9.1f %8.1f", (double)delta(w, GP_COUNTER_MISSES) * per_s,
	       (double)delta(w, GP_COUNTER_BYTES_DISK) * per_s / 1e6,
	       (double)delta(w, GP_COUNTER_BYTES_H2D) * per_s / 1e6,
	       (double)delta(w, GP_COUNTER_BYTES_D2H) * per_s / 1e6,
	       (double)delta(w, GP_COUNTER_DEV_EVICTIONS) * per_s);
	print_pct(ps_ratio(delta(w, GP_COUNTER_PREFETCH_HITS), delta(w, GP_COUNTER_PREFETCH_WASTED)), 7);
	printf(" %10.1f %9s %9s\n", (double)delta(w, GP_COUNTER_STALL_NS) * per_s / 1e6,
	       ps_size(ps_counter(w->cur, GP_COUNTER_VRAM_USED), vram, sizeof(vram)),
	       ps_size(ps_counter(w->cur, GP_COUNTER_HOST_USED), host, sizeof(host)));
}

static int sample(struct watch *w)
{
	struct ps_sample *swap;
	double dt;

	if (ps_sample_take(w->live, w->cur))
		return 1;
	/* The first line covers the whole run so far, as vmstat's does. */
	w->fresh_prev = w->fresh;
	dt = w->fresh ? ps_uptime(w->cur) : w->cur->mono_s - w->prev->mono_s;
	if (w->opts->json) {
		ps_print_json(stdout, w->cur, w->fresh ? NULL : w->prev, dt, w->comm);
	} else if (w->opts->groups) {
		ps_print_groups(stdout, w->cur);
	} else {
		if (w->fresh)
			print_title(w);
		print_line(w, dt);
	}
	fflush(stdout);
	w->fresh = 0;
	swap = w->prev;
	w->prev = w->cur;
	w->cur = swap;
	return 0;
}

static void sleep_until(double mono_s)
{
	struct timespec ts = { (time_t)mono_s, (long)((mono_s - (double)(time_t)mono_s) * 1e9) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* After a pause: 0 to go on (reattached if the process made a new segment), 1 to stop. */
static int still_there(struct watch *w, int *status)
{
	struct stat st;

	if (!ps_pid_alive(w->opts->pid)) {
		fprintf(stderr, "pagerstat: process %d exited\n", w->opts->pid);
		return 1;
	}
	if (stat(w->path, &st)) {
		fprintf(stderr, "pagerstat: process %d closed its last pager\n", w->opts->pid);
		return 1;
	}
	if (st.st_ino == w->ino)
		return 0;
	gp_stats_reader_close(w->live);
	w->live = NULL;
	*status = watch_attach(w);
	return *status;
}

int ps_watch(const struct ps_opts *opts)
{
	struct watch w = { .opts = opts };
	struct timespec now;
	double next;
	int status;

	snprintf(w.path, sizeof(w.path), GP_STATS_PATH_FMT, opts->pid);
	ps_comm(opts->pid, w.comm, sizeof(w.comm));
	w.cur = calloc(1, sizeof(*w.cur));
	w.prev = calloc(1, sizeof(*w.prev));
	if (!w.cur || !w.prev || ps_sample_init(w.cur) || ps_sample_init(w.prev)) {
		if (!w.cur || !w.prev)
			fprintf(stderr, "pagerstat: out of memory\n");
		status = 1;
		goto out;
	}
	status = watch_attach(&w);
	if (status)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &now);
	next = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	for (long n = 0; !opts->count || n < opts->count; n++) {
		if (n) {
			/* Deadlines on a fixed grid, so a slow terminal does not make the lines drift. */
			next += opts->interval;
			sleep_until(next);
			if (still_there(&w, &status))
				break;
		}
		status = sample(&w);
		if (status || !opts->interval)
			break;
	}
out:
	gp_stats_reader_close(w.live);
	if (w.cur)
		ps_sample_free(w.cur);
	if (w.prev)
		ps_sample_free(w.prev);
	free(w.cur);
	free(w.prev);
	return status;
}
