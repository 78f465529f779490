/*
 * trace.c - the access trace, format v2 (trace.h): each model's layout
 * before its first access, then one line per acquire and release of a
 * group with the chunks it covered, the stream, and what the acquire
 * moved; notes from the app (gp_trace_note); an end line at the stop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "pager.h"
#include "trace.h"

#define FNV_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static void fp_bytes(struct gp_fp *fp, const void *data, size_t len)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < len; i++)
		fp->h = (fp->h ^ b[i]) * FNV_PRIME;
}

static void fp_u64(struct gp_fp *fp, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	fp_bytes(fp, b, 8);
}

void gp_fp_init(struct gp_fp *fp, uint64_t chunk_size, uint32_t n_chunks, uint32_t n_groups)
{
	fp->h = FNV_BASIS;
	fp_u64(fp, chunk_size);
	fp_u64(fp, n_chunks);
	fp_u64(fp, n_groups);
}

void gp_fp_group(struct gp_fp *fp, const char *name, uint32_t first_chunk, uint32_t chunk_count)
{
	fp_bytes(fp, name, strlen(name) + 1);
	fp_u64(fp, first_chunk);
	fp_u64(fp, chunk_count);
}

uint64_t gp_fp_done(const struct gp_fp *fp)
{
	return gp_mix64(fp->h);
}

void gp_trace_put_escaped(FILE *f, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c <= 0x20 || *c == 0x7f || *c == '\\')
			fprintf(f, "\\x%02x", *c);
		else
			fputc(*c, f);
	}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *gp_trace_unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	size_t n = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '\0')
			goto bad;
		if (s[i] != '\\') {
			out[n++] = s[i];
			continue;
		}
		if (len - i < 4 || s[i + 1] != 'x')
			goto bad;
		hi = hex_digit(s[i + 2]);
		lo = hex_digit(s[i + 3]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			goto bad;
		out[n++] = (char)(hi * 16 + lo);
		i += 3;
	}
	out[n] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* The time of a new line: never before the previous one (lock held). */
static uint64_t trace_now(struct gp_pager *p)
{
	uint64_t t = gp_now_ns() - p->trace_start_ns;

	if (t < p->trace_last_ns)
		t = p->trace_last_ns;
	p->trace_last_ns = t;
	return t;
}

static uint64_t model_fingerprint(const struct gp_model *m)
{
	const struct gp_model_desc *d = m->desc;
	struct gp_fp fp;

	gp_fp_init(&fp, d->chunk_size, m->n_chunks, d->n_groups);
	for (uint32_t g = 0; g < d->n_groups; g++)
		gp_fp_group(&fp, d->groups[g].name, m->group_first_chunk[g],
			    m->group_chunk_count[g]);
	return gp_fp_done(&fp);
}

/* The model and group lines of m, once per trace (lock held). */
static void declare_model(struct gp_model *m)
{
	struct gp_pager *p = m->pager;
	const struct gp_model_desc *d = m->desc;

	if (m->trace_gen == p->trace_gen)
		return;
	m->trace_gen = p->trace_gen;
	m->trace_id = p->trace_models++;
	fprintf(p->trace, "model %u %llu %u %u %llu %016llx ", m->trace_id,
		(unsigned long long)d->chunk_size, m->n_chunks, d->n_groups,
		(unsigned long long)d->range_size, (unsigned long long)model_fingerprint(m));
	gp_trace_put_escaped(p->trace, d->source);
	fputc('\n', p->trace);
	for (uint32_t g = 0; g < d->n_groups; g++) {
		fprintf(p->trace, "group %u %u %u %u %llu %lld ", m->trace_id, g,
			m->group_first_chunk[g], m->group_chunk_count[g],
			(unsigned long long)d->groups[g].nbytes, (long long)d->groups[g].block_index);
		gp_trace_put_escaped(p->trace, d->groups[g].name);
		fputc('\n', p->trace);
	}
}

static int trace_open(struct gp_pager *p, const char *path)
{
	FILE *f;

	f = fopen(path, "w");
	if (!f)
		return gp_fail(errno == ENOENT ? GP_ENOENT : GP_EIO, "%s: cannot write the trace: %s",
			       path, strerror(errno));
	fprintf(f, GP_TRACE_MAGIC "2\n");
	pthread_mutex_lock(&p->lock);
	if (p->trace) {
		pthread_mutex_unlock(&p->lock);
		fclose(f);
		return gp_fail(GP_ESTATE, "gp_trace_start: a trace is already being written");
	}
	p->trace = f;
	p->trace_gen++;
	p->trace_models = 0;
	p->trace_last_ns = 0;
	p->trace_start_ns = gp_now_ns();
	pthread_mutex_unlock(&p->lock);
	return 0;
}

GP_API int gp_trace_start(struct gp_pager *p, const char *path)
{
	if (!p || !path)
		return gp_fail(GP_EINVAL, "gp_trace_start: NULL argument");
	return trace_open(p, path);
}

/* GPUPAGER_TRACE: the first pager of the process writes FILE, the Nth FILE.N. */
int gp_trace_start_env(struct gp_pager *p, const char *path)
{
	static unsigned opened;
	unsigned n = __atomic_add_fetch(&opened, 1, __ATOMIC_RELAXED);
	char *name = NULL;
	int err;

	if (n > 1 && asprintf(&name, "%s.%u", path, n) < 0)
		return gp_fail(GP_ENOMEM, "trace: out of memory");
	err = trace_open(p, name ? name : path);
	if (err)
		gp_fail_context(err, "GPUPAGER_TRACE: ");
	else
		gp_log_info("trace: writing %s (GPUPAGER_TRACE)", name ? name : path);
	free(name);
	return err;
}

GP_API int gp_trace_note(struct gp_pager *p, const char *key, double value)
{
	if (!p || !key)
		return gp_fail(GP_EINVAL, "gp_trace_note: NULL argument");
	if (!*key || strcspn(key, " \t\r\n\\") != strlen(key))
		return gp_fail(GP_EINVAL, "gp_trace_note: key '%s' is empty or holds a blank", key);
	pthread_mutex_lock(&p->lock);
	if (!p->trace) {
		pthread_mutex_unlock(&p->lock);
		return gp_fail(GP_ESTATE, "gp_trace_note: no trace is being written");
	}
	fprintf(p->trace, "note %llu %s %.17g\n", (unsigned long long)trace_now(p), key, value);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

GP_API int gp_trace_stop(struct gp_pager *p)
{
	FILE *f;
	int bad;

	if (!p)
		return gp_fail(GP_EINVAL, "gp_trace_stop: pager is NULL");
	pthread_mutex_lock(&p->lock);
	f = p->trace;
	if (f)
		fprintf(f, "end %llu\n", (unsigned long long)trace_now(p));
	p->trace = NULL;
	pthread_mutex_unlock(&p->lock);
	if (!f)
		return gp_fail(GP_ESTATE, "gp_trace_stop: no trace is being written");
	bad = ferror(f);
	if (fclose(f) || bad)
		return gp_fail(GP_EIO, "trace: write failed: %s", strerror(errno));
	return 0;
}

void gp_trace_access(struct gp_model *m, uint32_t group, uint32_t first, uint32_t count,
		     const void *stream, const struct gp_trace_acq *acq)
{
	struct gp_pager *p = m->pager;
	uint64_t t = trace_now(p);

	declare_model(m);
	if (acq)
		fprintf(p->trace, "a %llu %u %u %u %u %llx %u %llu %llu\n", (unsigned long long)t,
			m->trace_id, group, first, count,
			(unsigned long long)(uintptr_t)stream, acq->loaded,
			(unsigned long long)acq->h2d_bytes, (unsigned long long)acq->disk_bytes);
	else
		fprintf(p->trace, "r %llu %u %u %u %u %llx\n", (unsigned long long)t, m->trace_id,
			group, first, count, (unsigned long long)(uintptr_t)stream);
}
