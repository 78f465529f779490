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

/* Length of the valid UTF-8 character at s, or 0. */
static int utf8_char_len(const unsigned char *s)
{
	int n = *s < 0x80 ? 1 : (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3 :
		(*s & 0xf8) == 0xf0 ? 4 : 0;

	if (n == 2 && *s < 0xc2)
		return 0;       /* overlong */
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void ps_utf8_fix(char *text)
{
	unsigned char *s = (unsigned char *)text;

	while (*s) {
		int n = utf8_char_len(s);

		if (n)
			s += n;
		else
			*s++ = '?';
	}
}

/* The copy may come from a buggy or hostile writer: keep every index and string in bounds. */
static void sanitize(struct gp_stats_segment *seg)
{
	seg->device[sizeof(seg->device) - 1] = '\0';
	seg->policy[sizeof(seg->policy) - 1] = '\0';
	ps_utf8_fix(seg->device);
	ps_utf8_fix(seg->policy);
	if (seg->n_models > GP_STATS_MAX_MODELS)
		seg->n_models = GP_STATS_MAX_MODELS;
	for (int i = 0; i < GP_STATS_MAX_MODELS; i++) {
		struct gp_stats_model *m = &seg->models[i];

		m->name[GP_STATS_NAME_LEN - 1] = '\0';
		ps_utf8_fix(m->name);
		if (m->n_groups > GP_STATS_MAX_GROUPS)
			m->n_groups = GP_STATS_MAX_GROUPS;
		for (uint32_t g = 0; g < m->n_groups; g++)
			if (m->group_resident[g] > m->group_chunks[g])
				m->group_resident[g] = m->group_chunks[g];
	}
}

int ps_sample_take(const struct gp_stats_segment *live, struct ps_sample *out)
{
	const struct timespec pause = { 0, 100000 };

	/* Names and groups change rarely and briefly: a writer mid-change is waited out. */
	for (int tries = 0; tries < 10000; tries++) {
		uint32_t seq = __atomic_load_n(&live->seq, __ATOMIC_ACQUIRE);

		if (seq & 1) {
			nanosleep(&pause, NULL);
			continue;
		}
		memcpy(&out->seg, live, sizeof(out->seg));
		/* Sequentially consistent re-read: the copy above cannot move after it. */
		if (__atomic_load_n(&live->seq, __ATOMIC_SEQ_CST) == seq) {
			out->unix_s = clock_s(CLOCK_REALTIME);
			out->mono_s = clock_s(CLOCK_MONOTONIC);
			sanitize(&out->seg);
			return 0;
		}
	}
	fprintf(stderr, "pagerstat: process %d: its statistics kept changing for a second; "
			"try again\n", live->pid);
	return -1;
}

double ps_uptime(const struct ps_sample *s)
{
	double up = s->unix_s - (double)s->seg.start_unix_ns / 1e9;

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
		ps_utf8_fix(buf);
	} else {
		snprintf(buf, size, "?");
	}
	fclose(f);
}

void ps_model_totals(const struct gp_stats_model *m, uint64_t *chunks, uint64_t *resident)
{
	*chunks = 0;
	*resident = 0;
	for (uint32_t g = 0; g < m->n_groups; g++) {
		*chunks += m->group_chunks[g];
		*resident += m->group_resident[g];
	}
}

double ps_ratio(uint64_t part, uint64_t other)
{
	if (!part && !other)
		return -1;
	return 100.0 * (double)part / ((double)part + (double)other);
}

int ps_counter_is_gauge(enum gp_stat_counter c)
{
	return c == GP_STAT_VRAM_USED || c == GP_STAT_VRAM_BUDGET || c == GP_STAT_HOST_USED ||
	       c == GP_STAT_HOST_BUDGET;
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
