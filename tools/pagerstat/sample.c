/* sample.c - consistent copies of a live segment, and small helpers on them. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pagerstat.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ps_sample_init(struct ps_sample *s)
{
	memset(s, 0, sizeof(*s));
	if (gp_stats_snapshot_new(&s->snap)) {
		fprintf(stderr, "pagerstat: %s\n", gp_last_error());
		return -1;
	}
	return 0;
}

void ps_sample_free(struct ps_sample *s)
{
	gp_stats_snapshot_free(s->snap);
	s->snap = NULL;
}

/* The library checks the copy: strings are valid UTF-8, indices in bounds. */
int ps_sample_take(const struct gp_stats_reader *reader, struct ps_sample *out)
{
	if (gp_stats_read(reader, out->snap)) {
		fprintf(stderr, "pagerstat: %s\n", gp_last_error());
		return -1;
	}
	out->proc = (struct gp_stats_process){ .struct_size = sizeof(out->proc) };
	if (gp_stats_snapshot_process(out->snap, &out->proc)) {
		fprintf(stderr, "pagerstat: %s\n", gp_last_error());
		return -1;
	}
	out->unix_s = clock_s(CLOCK_REALTIME);
	out->mono_s = clock_s(CLOCK_MONOTONIC);
	return 0;
}

uint64_t ps_counter(const struct ps_sample *s, int c)
{
	return gp_stats_snapshot_counter(s->snap, c);
}

double ps_uptime(const struct ps_sample *s)
{
	double up = s->unix_s - (double)s->proc.start_unix_ns / 1e9;

	return up > 0 ? up : 0;
}

int ps_pid_alive(int pid)
{
	return kill(pid, 0) == 0 || errno != ESRCH;
}

void ps_comm(int pid, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	snprintf(buf, size, "?");
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, (int)size, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		gp_utf8_sanitize(buf);
	} else {
		snprintf(buf, size, "?");
	}
	fclose(f);
}

double ps_ratio(uint64_t part, uint64_t other)
{
	if (!part && !other)
		return -1;
	return 100.0 * (double)part / ((double)part + (double)other);
}

const char *ps_size(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, size, "%lluB", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f%c", v, units[u]);
	return buf;
}
