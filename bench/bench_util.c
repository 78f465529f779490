/* bench_util.c - clocks, checksum stream, page-cache control, tables and progress for bench. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "error.h"
#include "format.h"
#include "log.h"

#define WARM_BUFFER (4u << 20)
#define PROGRESS_AFTER_S 2.0
#define PROGRESS_INTERVAL_S 0.25

int bench_parse_percents(const char *text, double *out, unsigned max, unsigned *n)
{
	const char *p = text;

	*n = 0;
	for (;;) {
		char *end;
		double v;

		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno || !isfinite(v) || v <= 0.0 || v > 100.0 ||
		    (*end && *end != ',') || *n == max)
			return -1;
		out[(*n)++] = v;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_gbps(uint64_t bytes, double seconds)
{
	return seconds > 0 ? (double)bytes / seconds / 1e9 : 0.0;
}

uint64_t bench_data_bytes(const struct gp_model_desc *desc)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < desc->n_files; i++)
		total += desc->files[i].size - desc->files[i].data_start;
	return total;
}

void bench_sum_feed(struct bench_sum *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t whole;

	if (s->n_tail) {
		size_t take = 8 - s->n_tail < len ? 8 - s->n_tail : len;

		memcpy(s->tail + s->n_tail, p, take);
		s->n_tail += (unsigned)take;
		p += take;
		len -= take;
		if (s->n_tail < 8)
			return;
		s->sum += gp_checksum_at(s->tail, 8, s->offset);
		s->offset += 8;
		s->n_tail = 0;
	}
	whole = len & ~(size_t)7;
	s->sum += gp_checksum_at(p, whole, s->offset);
	s->offset += whole;
	memcpy(s->tail, p + whole, len - whole);
	s->n_tail = (unsigned)(len - whole);
}

uint64_t bench_sum_end(struct bench_sum *s)
{
	if (s->n_tail) {
		s->sum += gp_checksum_at(s->tail, s->n_tail, s->offset);
		s->offset += s->n_tail;
		s->n_tail = 0;
	}
	return s->sum;
}

/* Pages of path in the page cache (mincore over a fresh mapping), added to *resident. */
static int count_resident(const char *path, uint64_t size, uint64_t *resident)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t n_pages = (size + (uint64_t)page - 1) / (uint64_t)page;
	unsigned char *vec = NULL;
	void *map = MAP_FAILED;
	int fd, err = 0;

	if (!size)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gp_fail(GP_EIO, "%s: %s", path, strerror(errno));
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	vec = malloc(n_pages);
	if (map == MAP_FAILED || !vec) {
		err = gp_fail(GP_ENOMEM, "%s: cannot map %llu bytes to check the page cache: %s",
			      path, (unsigned long long)size, strerror(errno));
		goto out;
	}
	if (mincore(map, size, vec)) {
		err = gp_fail(GP_EIO, "%s: mincore: %s", path, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n_pages; i++)
		*resident += vec[i] & 1;
out:
	free(vec);
	if (map != MAP_FAILED)
		munmap(map, size);
	close(fd);
	return err;
}

int bench_cache_resident(const struct gp_model_desc *desc, double *fraction)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t resident = 0, pages = 0;
	int err;

	for (uint32_t i = 0; i < desc->n_files; i++) {
		err = count_resident(desc->files[i].path, desc->files[i].size, &resident);
		if (err)
			return err;
		pages += (desc->files[i].size + (uint64_t)page - 1) / (uint64_t)page;
	}
	*fraction = pages ? (double)resident / (double)pages : 0.0;
	return 0;
}

static int fadvise_dontneed(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return gp_fail(GP_EIO, "%s: %s", path, strerror(errno));
	err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	if (err)
		return gp_fail(GP_EIO, "%s: posix_fadvise(DONTNEED): %s", path, strerror(err));
	return 0;
}

/* Drop the whole page cache (clean pages only); 0 when done, -1 when not permitted. */
static int drop_all_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, "1", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

int bench_cache_drop(const struct gp_model_desc *desc, struct bench_cache *out)
{
	int err;

	out->how = "fadvise";
	for (uint32_t i = 0; i < desc->n_files; i++) {
		err = fadvise_dontneed(desc->files[i].path);
		if (err)
			return err;
	}
	err = bench_cache_resident(desc, &out->resident);
	if (err)
		return err;
	/* Over 1% left: pages mapped by someone else; the global drop may free them. */
	if (out->resident > 0.01 && geteuid() == 0 && !drop_all_caches()) {
		out->how = "fadvise+drop_caches";
		err = bench_cache_resident(desc, &out->resident);
		if (err)
			return err;
	}
	if (out->resident > 0.01)
		gp_log_warn("%.0f%% of the model's pages stayed in the page cache after %s (dirty? run sync): cold figures are partly warm",
			    100.0 * out->resident, out->how);
	return 0;
}

static int read_once(const char *path, char *buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t got;

	if (fd < 0)
		return gp_fail(GP_EIO, "%s: %s", path, strerror(errno));
	while ((got = read(fd, buf, WARM_BUFFER)) > 0)
		;
	if (got < 0)
		err = gp_fail(GP_EIO, "%s: read: %s", path, strerror(errno));
	close(fd);
	return err;
}

int bench_cache_warm(const struct gp_model_desc *desc, struct bench_cache *out)
{
	char *buf = malloc(WARM_BUFFER);
	int err = 0;

	if (!buf)
		return gp_fail(GP_ENOMEM, "cannot allocate a %u-byte read buffer", WARM_BUFFER);
	out->how = "read";
	for (uint32_t i = 0; i < desc->n_files && !err; i++)
		err = read_once(desc->files[i].path, buf);
	free(buf);
	return err ? err : bench_cache_resident(desc, &out->resident);
}

void bench_table_init(struct bench_table *t, unsigned n_cols, const char *const *headers)
{
	t->n_cols = n_cols < BENCH_TABLE_COLS ? n_cols : BENCH_TABLE_COLS;
	t->n_rows = 0;
	bench_table_row(t, headers);
}

void bench_table_row(struct bench_table *t, const char *const *cells)
{
	if (t->n_rows == BENCH_TABLE_ROWS)
		return;
	for (unsigned c = 0; c < t->n_cols; c++)
		snprintf(t->cell[t->n_rows][c], BENCH_TABLE_CELL, "%s", cells[c]);
	t->n_rows++;
}

void bench_table_print(const struct bench_table *t, FILE *out)
{
	int width[BENCH_TABLE_COLS] = { 0 };

	for (unsigned r = 0; r < t->n_rows; r++)
		for (unsigned c = 0; c < t->n_cols; c++) {
			int len = (int)strlen(t->cell[r][c]);

			if (len > width[c])
				width[c] = len;
		}
	for (unsigned r = 0; r < t->n_rows; r++) {
		fprintf(out, "  %-*s", width[0], t->cell[r][0]);
		for (unsigned c = 1; c < t->n_cols; c++)
			fprintf(out, "  %*s", width[c], t->cell[r][c]);
		fputc('\n', out);
	}
}

void bench_progress_start(struct bench_progress *p, const char *label, uint64_t total)
{
	p->label = label;
	p->total = total;
	p->start = bench_now();
	p->last = 0;
	p->enabled = isatty(STDERR_FILENO);
	p->shown = 0;
}

void bench_progress_update(struct bench_progress *p, uint64_t done)
{
	double t;
	char a[32], b[32];

	if (!p->enabled)
		return;
	t = bench_now() - p->start;
	if (t < PROGRESS_AFTER_S || t - p->last < PROGRESS_INTERVAL_S)
		return;
	p->last = t;
	p->shown = 1;
	fprintf(stderr, "\rgpupager bench: %s %3.0f%% (%s of %s), %.2f GB/s   ", p->label,
		p->total ? 100.0 * (double)done / (double)p->total : 100.0, gp_format_size(done, a, sizeof(a)),
		gp_format_size(p->total, b, sizeof(b)), bench_gbps(done, t));
}

void bench_progress_end(struct bench_progress *p)
{
	if (p->shown)
		fprintf(stderr, "\r%*s\r", 78, "");
	p->shown = 0;
}
