/* list.c - `pagerstat` without a PID: the processes using libgpupager; and --clean. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gpupager.h>
#include "pagerstat.h"

#define SHM_DIR "/dev/shm"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* "gpupager.<pid>" with nothing else: the pid, or 0. */
static int segment_pid(const char *name)
{
	const char *digits = name + strlen("gpupager.");
	char *end;
	long pid;

	if (strncmp(name, "gpupager.", strlen("gpupager.")) || *digits < '1' || *digits > '9')
		return 0;
	errno = 0;
	pid = strtol(digits, &end, 10);
	if (*end || errno || pid > 0x7fffffff)
		return 0;
	return (int)pid;
}

int ps_segment_pids(int **out)
{
	DIR *dir = opendir(SHM_DIR);
	struct dirent *de;
	int *pids = NULL, n = 0, cap = 0;

	if (!dir) {
		fprintf(stderr, "pagerstat: %s: %s\n", SHM_DIR, strerror(errno));
		return -1;
	}
	while ((de = readdir(dir))) {
		int pid = segment_pid(de->d_name);

		if (!pid)
			continue;
		if (n == cap) {
			int *grown = realloc(pids, (size_t)(cap = cap ? 2 * cap : 16) * sizeof(*pids));

			if (!grown) {
				fprintf(stderr, "pagerstat: out of memory\n");
				free(pids);
				closedir(dir);
				return -1;
			}
			pids = grown;
		}
		pids[n++] = pid;
	}
	closedir(dir);
	if (n)
		qsort(pids, (size_t)n, sizeof(*pids), cmp_int);
	*out = pids;
	return n;
}

static json_t *process_json(const struct ps_sample *s, const char *comm)
{
	double hit = ps_ratio(ps_counter(s, GP_COUNTER_HITS), ps_counter(s, GP_COUNTER_MISSES));

	return json_pack("{s:i, s:s, s:s, s:s, s:f, s:I, s:I, s:I, s:I, s:o, s:i}",
			 "pid", s->proc.pid, "comm", comm, "device", s->proc.device,
			 "policy", s->proc.policy, "uptime_s", ps_uptime(s),
			 "vram_used", (json_int_t)ps_counter(s, GP_COUNTER_VRAM_USED),
			 "vram_budget", (json_int_t)ps_counter(s, GP_COUNTER_VRAM_BUDGET),
			 "host_used", (json_int_t)ps_counter(s, GP_COUNTER_HOST_USED),
			 "host_budget", (json_int_t)ps_counter(s, GP_COUNTER_HOST_BUDGET),
			 "hit_rate", hit < 0 ? json_null() : json_real(hit),
			 "models", (int)s->proc.model_slots);
}

static void print_row(const struct ps_sample *s, const char *comm)
{
	double hit = ps_ratio(ps_counter(s, GP_COUNTER_HITS), ps_counter(s, GP_COUNTER_MISSES));
	char vram[40], host[40], a[16], b[16];

	snprintf(vram, sizeof(vram), "%s/%s", ps_size(ps_counter(s, GP_COUNTER_VRAM_USED), a, sizeof(a)),
		 ps_size(ps_counter(s, GP_COUNTER_VRAM_BUDGET), b, sizeof(b)));
	snprintf(host, sizeof(host), "%s/%s", ps_size(ps_counter(s, GP_COUNTER_HOST_USED), a, sizeof(a)),
		 ps_size(ps_counter(s, GP_COUNTER_HOST_BUDGET), b, sizeof(b)));
	printf("%7d %-15s %-34s %-8s %17s %17s ", s->proc.pid, comm, s->proc.device,
	       s->proc.policy, vram, host);
	if (hit < 0)
		printf("%5s\n", "-");
	else
		printf("%5.1f\n", hit);
}

/* One live process's row; 1 if shown.  A stale or unreadable segment is counted, not shown. */
static int list_one(const struct ps_opts *opts, int pid, struct ps_sample *s, json_t *procs,
		    int *stale)
{
	struct gp_stats_reader *reader;
	char comm[64];
	int err;

	if (!ps_pid_alive(pid)) {
		(*stale)++;
		return 0;
	}
	err = gp_stats_reader_open(pid, &reader);
	if (err) {
		/* A segment gone since readdir is not worth a word. */
		if (err != GP_ENOENT)
			fprintf(stderr, "pagerstat: skipping pid %d: %s\n", pid, gp_last_error());
		return 0;
	}
	err = ps_sample_take(reader, s);
	gp_stats_reader_close(reader);
	if (err)
		return 0;
	ps_comm(pid, comm, sizeof(comm));
	if (opts->json)
		json_array_append_new(procs, process_json(s, comm));
	else
		print_row(s, comm);
	return 1;
}

int ps_list(const struct ps_opts *opts)
{
	struct ps_sample sample, *s = &sample;
	json_t *procs = json_array();
	int *pids = NULL, n, shown = 0, stale = 0, status = 1;

	if (ps_sample_init(s)) {
		json_decref(procs);
		return 1;
	}
	n = procs ? ps_segment_pids(&pids) : -1;
	if (n < 0)
		goto out;
	if (!opts->json && n)
		printf("%7s %-15s %-34s %-8s %17s %17s %5s\n", "PID", "COMMAND", "DEVICE", "POLICY",
		       "VRAM_USED/BUDGET", "HOST_USED/BUDGET", "HIT%");
	for (int i = 0; i < n; i++)
		shown += list_one(opts, pids[i], s, procs, &stale);
	if (opts->json) {
		json_t *root = json_pack("{s:O}", "processes", procs);
		char *text = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;

		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(root);
	} else if (!shown) {
		printf("no process is using libgpupager\n");
	}
	if (stale)
		fprintf(stderr, "pagerstat: %d stale segment%s of exited processes in %s "
				"(pagerstat --clean removes them)\n", stale, stale == 1 ? "" : "s",
			SHM_DIR);
	status = 0;
out:
	json_decref(procs);
	free(pids);
	ps_sample_free(s);
	return status;
}

int ps_clean(void)
{
	int *pids = NULL, n = ps_segment_pids(&pids), status = 0, removed = 0;
	char path[64];
	const char *name = path + strlen(SHM_DIR);      /* the shm_open name: "/gpupager.PID" */

	if (n < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		if (ps_pid_alive(pids[i]))
			continue;
		snprintf(path, sizeof(path), GP_STATS_PATH_FMT, pids[i]);
		if (shm_unlink(name)) {
			fprintf(stderr, "pagerstat: cannot remove %s%s: %s\n", SHM_DIR, name,
				strerror(errno));
			status = 1;
			continue;
		}
		printf("removed %s%s (process %d is not running)\n", SHM_DIR, name, pids[i]);
		removed++;
	}
	if (!removed && !status)
		printf("no stale segments in %s\n", SHM_DIR);
	free(pids);
	return status;
}
