/*
 * trace_read.c - parse a trace (format v2, and v1) into models, layouts
 * and group access sequences.  Strict: every problem is GP_EFORMAT (a
 * newer version GP_EUNSUPPORTED) with "NAME:LINE: what is wrong"; nothing
 * of a failed parse is kept.  Pure apart from gp_trace_read's file read
 * (fuzzed: tests/fuzz/fuzz_trace.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi.h"
#include "error.h"
#include "trace.h"

#define MAX_FIELDS 12
#define V1_CHUNK_SIZE (2ull << 20)
/* Bounds that keep a hostile header from asking for absurd allocations. */
#define MAX_GROUPS (1u << 20)
#define MAX_CHUNKS (1u << 28)
#define MAX_MODELS 1024

struct parser {
	struct gp_trace *t;
	const char *name;
	uint64_t line;
	const char *f[MAX_FIELDS];      /* fields of the line */
	size_t flen[MAX_FIELDS];
	size_t nf;
	const char *rest;               /* the line after field 'rest_from' */
	size_t rest_len;
	uint64_t last_ns;
	int have_ns;
};

static int perr(struct parser *ps, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *ps, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gp_fail(code, "%s:%llu: %s", ps->name, (unsigned long long)ps->line, msg);
}

/* Split line[0..len) at single spaces into at most max fields; the last takes the rest. */
static int split(struct parser *ps, const char *line, size_t len, size_t max)
{
	size_t i = 0;

	ps->nf = 0;
	while (i <= len && ps->nf < max) {
		size_t start = i;

		if (ps->nf == max - 1) {
			i = len;
		} else {
			while (i < len && line[i] != ' ')
				i++;
		}
		if (i == start)
			return perr(ps, GP_EFORMAT, "empty field %zu (fields are separated by "
				    "one space)", ps->nf + 1);
		ps->f[ps->nf] = line + start;
		ps->flen[ps->nf] = i - start;
		ps->nf++;
		if (i == len)
			break;
		i++;
		if (i == len)
			return perr(ps, GP_EFORMAT, "trailing space");
	}
	return 0;
}

static int field_u64(struct parser *ps, size_t k, const char *what, uint64_t *out)
{
	uint64_t v = 0;

	if (k >= ps->nf)
		return perr(ps, GP_EFORMAT, "missing %s", what);
	if (!ps->flen[k] || ps->flen[k] > 20)
		goto bad;
	for (size_t i = 0; i < ps->flen[k]; i++) {
		unsigned d = (unsigned char)ps->f[k][i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			goto bad;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
bad:
	return perr(ps, GP_EFORMAT, "%s '%.*s' is not a decimal number", what,
		    (int)(ps->flen[k] > 40 ? 40 : ps->flen[k]), ps->f[k]);
}

static int field_u32(struct parser *ps, size_t k, const char *what, uint32_t *out)
{
	uint64_t v;
	int err = field_u64(ps, k, what, &v);

	if (err)
		return err;
	if (v > UINT32_MAX)
		return perr(ps, GP_EFORMAT, "%s %llu is too large", what, (unsigned long long)v);
	*out = (uint32_t)v;
	return 0;
}

static int field_hex(struct parser *ps, size_t k, const char *what, uint64_t *out)
{
	uint64_t v = 0;

	if (k >= ps->nf)
		return perr(ps, GP_EFORMAT, "missing %s", what);
	if (!ps->flen[k] || ps->flen[k] > 16)
		goto bad;
	for (size_t i = 0; i < ps->flen[k]; i++) {
		char c = ps->f[k][i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			goto bad;
		v = v * 16 + (uint64_t)d;
	}
	*out = v;
	return 0;
bad:
	return perr(ps, GP_EFORMAT, "%s '%.*s' is not a hexadecimal number", what,
		    (int)(ps->flen[k] > 40 ? 40 : ps->flen[k]), ps->f[k]);
}

static int field_i64(struct parser *ps, size_t k, const char *what, int64_t *out)
{
	uint64_t v;
	int err;

	if (k < ps->nf && ps->flen[k] == 2 && !memcmp(ps->f[k], "-1", 2)) {
		*out = -1;
		return 0;
	}
	err = field_u64(ps, k, what, &v);
	if (err)
		return err;
	if (v > INT64_MAX)
		return perr(ps, GP_EFORMAT, "%s is too large", what);
	*out = (int64_t)v;
	return 0;
}

static int check_time(struct parser *ps, uint64_t ns)
{
	if (ps->have_ns && ns < ps->last_ns)
		return perr(ps, GP_EFORMAT, "time %llu ns is before the previous line's %llu ns "
			    "(lines out of order)", (unsigned long long)ns,
			    (unsigned long long)ps->last_ns);
	if (!ps->have_ns)
		ps->t->first_ns = ns;
	ps->have_ns = 1;
	ps->last_ns = ns;
	ps->t->last_ns = ns;
	return 0;
}

static void model_free(struct gp_trace_model *m)
{
	if (m->group_name)
		for (uint32_t g = 0; g < m->n_groups; g++)
			free(m->group_name[g]);
	free(m->group_name);
	free(m->first);
	free(m->count);
	free(m->bytes);
	free(m->block);
	free(m->seq);
	free(m->source);
}

GP_API void gp_trace_free(struct gp_trace *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->n_models; i++)
		model_free(&t->models[i]);
	free(t->models);
	free(t);
}

static struct gp_trace_model *add_model(struct parser *ps)
{
	struct gp_trace *t = ps->t;

	if (t->n_models == t->cap_models) {
		uint32_t cap = t->cap_models ? 2 * t->cap_models : 4;
		struct gp_trace_model *m = realloc(t->models, cap * sizeof(*m));

		if (!m)
			return NULL;
		t->models = m;
		t->cap_models = cap;
	}
	memset(&t->models[t->n_models], 0, sizeof(t->models[0]));
	return &t->models[t->n_models++];
}

static int model_arrays(struct parser *ps, struct gp_trace_model *m, uint32_t n_groups)
{
	size_t n = n_groups ? n_groups : 1;

	m->n_groups = n_groups;
	m->group_name = calloc(n, sizeof(*m->group_name));
	m->first = calloc(n, sizeof(*m->first));
	m->count = calloc(n, sizeof(*m->count));
	m->bytes = calloc(n, sizeof(*m->bytes));
	m->block = malloc(n * sizeof(*m->block));
	if (!m->group_name || !m->first || !m->count || !m->bytes || !m->block)
		return perr(ps, GP_ENOMEM, "out of memory for %u groups", n_groups);
	for (uint32_t g = 0; g < n_groups; g++)
		m->block[g] = -1;
	return 0;
}

static int push_seq(struct parser *ps, struct gp_trace_model *m, uint32_t g)
{
	if (m->n_seq == m->cap_seq) {
		size_t cap = m->cap_seq ? 2 * m->cap_seq : 1024;
		uint32_t *s = realloc(m->seq, cap * sizeof(*s));

		if (!s)
			return perr(ps, GP_ENOMEM, "out of memory for %zu accesses", cap);
		m->seq = s;
		m->cap_seq = cap;
	}
	m->seq[m->n_seq++] = g;
	ps->t->n_acquires++;
	return 0;
}

/* ------------------------------------------------------------------ v2 */

static int v2_model(struct parser *ps)
{
	struct gp_trace_model *m;
	uint32_t id = 0, n_chunks = 0, n_groups = 0;
	uint64_t cs = 0, range = 0, fp = 0;
	int err;

	if ((err = split(ps, ps->rest, ps->rest_len, 8)))
		return err;
	if (ps->nf < 8)
		return perr(ps, GP_EFORMAT, "a model line has 8 fields: model ID CHUNK_SIZE "
			    "N_CHUNKS N_GROUPS RANGE_SIZE FINGERPRINT SOURCE");
	if ((err = field_u32(ps, 1, "model id", &id)) ||
	    (err = field_u64(ps, 2, "chunk size", &cs)) ||
	    (err = field_u32(ps, 3, "chunk count", &n_chunks)) ||
	    (err = field_u32(ps, 4, "group count", &n_groups)) ||
	    (err = field_u64(ps, 5, "range size", &range)) ||
	    (err = field_hex(ps, 6, "fingerprint", &fp)))
		return err;
	if (id != ps->t->n_models)
		return perr(ps, GP_EFORMAT, "model %u declared out of order: expected model %u", id,
			    ps->t->n_models);
	if (ps->t->n_models) {
		const struct gp_trace_model *prev = &ps->t->models[ps->t->n_models - 1];

		if (prev->groups_seen < prev->n_groups)
			return perr(ps, GP_EFORMAT, "model %u's layout is truncated: %u of its %u "
				    "group lines", id - 1, prev->groups_seen, prev->n_groups);
	}
	if (id >= MAX_MODELS)
		return perr(ps, GP_EFORMAT, "more than %u models", MAX_MODELS);
	if (!cs || (cs & (cs - 1)))
		return perr(ps, GP_EFORMAT, "chunk size %llu is not a power of two",
			    (unsigned long long)cs);
	if (!n_chunks || n_chunks > MAX_CHUNKS || !n_groups || n_groups > MAX_GROUPS ||
	    n_groups > n_chunks)
		return perr(ps, GP_EFORMAT, "model %u: %u chunks and %u groups: need 1 to %u groups, "
			    "at most one per chunk, and at most %u chunks", id, n_chunks, n_groups,
			    MAX_GROUPS, MAX_CHUNKS);
	if (range / cs != n_chunks || range % cs)
		return perr(ps, GP_EFORMAT, "model %u: range size %llu is not %u chunks of %llu",
			    id, (unsigned long long)range, n_chunks, (unsigned long long)cs);
	m = add_model(ps);
	if (!m)
		return perr(ps, GP_ENOMEM, "out of memory");
	m->chunk_size = cs;
	m->n_chunks = n_chunks;
	m->range_size = range;
	m->fingerprint = fp;
	m->source = gp_trace_unescape(ps->f[7], ps->flen[7]);
	if (!m->source)
		return perr(ps, GP_EFORMAT, "model %u: bad escape in the source path", id);
	return model_arrays(ps, m, n_groups);
}

static int v2_group(struct parser *ps)
{
	struct gp_trace_model *m;
	uint32_t id = 0, g = 0, first = 0, count = 0;
	uint64_t bytes = 0;
	int64_t block = -1;
	int err;

	if ((err = split(ps, ps->rest, ps->rest_len, 8)))
		return err;
	if (ps->nf < 8)
		return perr(ps, GP_EFORMAT, "a group line has 8 fields: group ID INDEX FIRST_CHUNK "
			    "CHUNK_COUNT BYTES BLOCK NAME");
	if ((err = field_u32(ps, 1, "model id", &id)) ||
	    (err = field_u32(ps, 2, "group index", &g)) ||
	    (err = field_u32(ps, 3, "first chunk", &first)) ||
	    (err = field_u32(ps, 4, "chunk count", &count)) ||
	    (err = field_u64(ps, 5, "bytes", &bytes)) ||
	    (err = field_i64(ps, 6, "block index", &block)))
		return err;
	if (!ps->t->n_models || id != ps->t->n_models - 1)
		return perr(ps, GP_EFORMAT, "group line for model %u, which is not the model being "
			    "declared%s", id, ps->t->n_models ? "" : " (no model line yet)");
	m = &ps->t->models[id];
	if (m->groups_seen == m->n_groups)
		return perr(ps, GP_EFORMAT, "group %u: model %u already has its %u groups", g, id,
			    m->n_groups);
	if (g != m->groups_seen)
		return perr(ps, GP_EFORMAT, "group %u of model %u out of order: expected group %u",
			    g, id, m->groups_seen);
	if (!count || first >= m->n_chunks || count > m->n_chunks - first)
		return perr(ps, GP_EFORMAT, "group %u covers chunks [%u, +%u), outside model %u's "
			    "%u chunks or empty", g, first, count, id, m->n_chunks);
	if (g && first < m->first[g - 1] + m->count[g - 1])
		return perr(ps, GP_EFORMAT, "group %u starts at chunk %u, inside group %u", g, first,
			    g - 1);
	if (bytes > (uint64_t)count * m->chunk_size)
		return perr(ps, GP_EFORMAT, "group %u: %llu bytes do not fit in its %u chunks", g,
			    (unsigned long long)bytes, count);
	m->group_name[g] = gp_trace_unescape(ps->f[7], ps->flen[7]);
	if (!m->group_name[g])
		return perr(ps, GP_EFORMAT, "group %u: bad escape in its name", g);
	m->first[g] = first;
	m->count[g] = count;
	m->bytes[g] = bytes;
	m->block[g] = block;
	m->groups_seen++;
	if (m->groups_seen == m->n_groups) {
		struct gp_fp fp;

		gp_fp_init(&fp, m->chunk_size, m->n_chunks, m->n_groups);
		for (uint32_t k = 0; k < m->n_groups; k++)
			gp_fp_group(&fp, m->group_name[k], m->first[k], m->count[k]);
		if (gp_fp_done(&fp) != m->fingerprint)
			return perr(ps, GP_EFORMAT, "model %u: the layout does not match its "
				    "fingerprint %016llx (edited or corrupt)", id,
				    (unsigned long long)m->fingerprint);
	}
	return 0;
}

/* An access line (a or r): the model must be declared whole, the chunks inside the group. */
static int v2_access(struct parser *ps, int acquire)
{
	struct gp_trace_model *m;
	uint32_t id = 0, g = 0, first = 0, count = 0, loaded = 0;
	uint64_t ns = 0, stream = 0, h2d = 0, disk = 0;
	size_t want = acquire ? 10 : 7;
	int err;

	if ((err = split(ps, ps->rest, ps->rest_len, MAX_FIELDS)))
		return err;
	if (ps->nf != want)
		return perr(ps, GP_EFORMAT, "%s line has %zu fields, expected %zu", acquire ?
			    "an acquire ('a')" : "a release ('r')", ps->nf, want);
	if ((err = field_u64(ps, 1, "time", &ns)) ||
	    (err = field_u32(ps, 2, "model id", &id)) ||
	    (err = field_u32(ps, 3, "group index", &g)) ||
	    (err = field_u32(ps, 4, "first chunk", &first)) ||
	    (err = field_u32(ps, 5, "chunk count", &count)) ||
	    (err = field_hex(ps, 6, "stream", &stream)))
		return err;
	if (acquire && ((err = field_u32(ps, 7, "loaded chunks", &loaded)) ||
			(err = field_u64(ps, 8, "H2D bytes", &h2d)) ||
			(err = field_u64(ps, 9, "disk bytes", &disk))))
		return err;
	if ((err = check_time(ps, ns)))
		return err;
	if (id >= ps->t->n_models)
		return perr(ps, GP_EFORMAT, "unknown model %u: the trace declares %u model%s before "
			    "this line", id, ps->t->n_models, ps->t->n_models == 1 ? "" : "s");
	m = &ps->t->models[id];
	if (m->groups_seen < m->n_groups)
		return perr(ps, GP_EFORMAT, "model %u's layout is truncated: %u of its %u group "
			    "lines before its first access", id, m->groups_seen, m->n_groups);
	if (g >= m->n_groups)
		return perr(ps, GP_EFORMAT, "group %u out of range: model %u has %u groups", g, id,
			    m->n_groups);
	if (!count || first < m->first[g] || count > m->first[g] + m->count[g] - first)
		return perr(ps, GP_EFORMAT, "chunks [%u, +%u) are not inside group %u's [%u, +%u)",
			    first, count, g, m->first[g], m->count[g]);
	if (loaded > count)
		return perr(ps, GP_EFORMAT, "%u chunks loaded of the %u acquired", loaded, count);
	if (!acquire) {
		ps->t->n_releases++;
		return 0;
	}
	m->loaded_chunks += loaded;
	m->h2d_bytes += h2d;
	m->disk_bytes += disk;
	return push_seq(ps, m, g);
}

static int v2_note(struct parser *ps)
{
	uint64_t ns;
	double v;
	char buf[64], *end;
	int err;

	if ((err = split(ps, ps->rest, ps->rest_len, MAX_FIELDS)))
		return err;
	if (ps->nf != 4)
		return perr(ps, GP_EFORMAT, "a note line has 4 fields: note NS KEY VALUE");
	if ((err = field_u64(ps, 1, "time", &ns)) || (err = check_time(ps, ns)))
		return err;
	if (ps->flen[3] >= sizeof(buf))
		return perr(ps, GP_EFORMAT, "note value too long");
	memcpy(buf, ps->f[3], ps->flen[3]);
	buf[ps->flen[3]] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if (*end || errno || !(v >= 0) || v > 1e30)
		return perr(ps, GP_EFORMAT, "note value '%s' is not a non-negative number", buf);
	if (ps->flen[2] == 9 && !memcmp(ps->f[2], "link_gbps", 9))
		ps->t->link_gbps = v;
	else if (ps->flen[2] == 19 && !memcmp(ps->f[2], "compute_ns_per_step", 19))
		ps->t->compute_ns_per_step = v;
	return 0;       /* other keys are kept for newer readers */
}

static int v2_line(struct parser *ps, const char *line, size_t len)
{
	size_t kw = 0;

	while (kw < len && line[kw] != ' ')
		kw++;
	ps->rest = line;
	ps->rest_len = len;
	if (ps->t->complete)
		return perr(ps, GP_EFORMAT, "line after the end line");
	if (kw == 1 && line[0] == 'a')
		return v2_access(ps, 1);
	if (kw == 1 && line[0] == 'r')
		return v2_access(ps, 0);
	if (kw == 5 && !memcmp(line, "model", 5))
		return v2_model(ps);
	if (kw == 5 && !memcmp(line, "group", 5))
		return v2_group(ps);
	if (kw == 4 && !memcmp(line, "note", 4))
		return v2_note(ps);
	if (kw == 3 && !memcmp(line, "end", 3)) {
		uint64_t ns;
		int err = split(ps, line, len, MAX_FIELDS);

		if (!err && ps->nf != 2)
			err = perr(ps, GP_EFORMAT, "an end line has 2 fields: end NS");
		if (!err)
			err = field_u64(ps, 1, "time", &ns);
		if (!err)
			err = check_time(ps, ns);
		if (!err && ps->t->n_models) {
			const struct gp_trace_model *m = &ps->t->models[ps->t->n_models - 1];

			if (m->groups_seen < m->n_groups)
				err = perr(ps, GP_EFORMAT, "model %u's layout is truncated: %u of "
					   "its %u group lines", ps->t->n_models - 1, m->groups_seen,
					   m->n_groups);
		}
		if (!err)
			ps->t->complete = 1;
		return err;
	}
	if (len && line[0] == '#')
		return 0;
	return perr(ps, GP_EFORMAT, "unknown record '%.*s' (expected model, group, note, a, r "
		    "or end)", (int)(kw > 20 ? 20 : kw), line);
}

/* ------------------------------------------------------------------ v1 */

/* "<ns> <model path> <group index> <group name> <offset> <length>", the path may hold spaces. */
static int v1_line(struct parser *ps, const char *line, size_t len)
{
	const char *end = line + len, *tok[4];
	size_t tlen[4];
	struct gp_trace_model *m = NULL;
	uint64_t ns = 0, off = 0, length = 0;
	uint32_t g = 0, first, count;
	const char *path, *sp;
	size_t path_len;
	char *name;
	int err;

	/* The last four fields, from the right. */
	for (int k = 3; k >= 0; k--) {
		const char *e = end;

		while (end > line && end[-1] != ' ')
			end--;
		tok[k] = end;
		tlen[k] = (size_t)(e - end);
		if (!tlen[k] || end == line)
			return perr(ps, GP_EFORMAT, "a v1 line has the fields: NS MODEL GROUP NAME "
				    "OFFSET LENGTH");
		end--;
	}
	sp = memchr(line, ' ', (size_t)(end - line));
	if (!sp || sp == line || sp + 1 >= end)
		return perr(ps, GP_EFORMAT, "a v1 line has the fields: NS MODEL GROUP NAME OFFSET "
			    "LENGTH");
	path = sp + 1;
	path_len = (size_t)(end - path);
	ps->nf = 0;
	ps->f[ps->nf] = line;
	ps->flen[ps->nf++] = (size_t)(sp - line);
	for (int k = 0; k < 4; k++) {
		ps->f[ps->nf] = tok[k];
		ps->flen[ps->nf++] = tlen[k];
	}
	if ((err = field_u64(ps, 0, "time", &ns)) || (err = field_u32(ps, 1, "group index", &g)) ||
	    (err = field_u64(ps, 3, "offset", &off)) || (err = field_u64(ps, 4, "length", &length)))
		return err;
	if ((err = check_time(ps, ns)))
		return err;
	if (!length || off > UINT64_MAX - length || (off + length - 1) / V1_CHUNK_SIZE >= MAX_CHUNKS)
		return perr(ps, GP_EFORMAT, "range [%llu, +%llu) is empty or too large",
			    (unsigned long long)off, (unsigned long long)length);
	if (g >= MAX_GROUPS)
		return perr(ps, GP_EFORMAT, "group index %u too large", g);
	first = (uint32_t)(off / V1_CHUNK_SIZE);
	count = (uint32_t)((off + length - 1) / V1_CHUNK_SIZE) - first + 1;
	for (uint32_t i = 0; i < ps->t->n_models; i++) {
		if (strlen(ps->t->models[i].source) == path_len &&
		    !memcmp(ps->t->models[i].source, path, path_len)) {
			m = &ps->t->models[i];
			break;
		}
	}
	if (!m) {
		if (ps->t->n_models >= MAX_MODELS)
			return perr(ps, GP_EFORMAT, "more than %u models", MAX_MODELS);
		m = add_model(ps);
		if (!m || !(m->source = strndup(path, path_len)))
			return perr(ps, GP_ENOMEM, "out of memory");
		m->chunk_size = V1_CHUNK_SIZE;
	}
	if (g >= m->n_groups) {
		uint32_t n = g + 1;
		char **names = realloc(m->group_name, n * sizeof(*names));

		if (names)
			m->group_name = names;
		m->first = realloc(m->first, n * sizeof(*m->first));
		m->count = realloc(m->count, n * sizeof(*m->count));
		m->bytes = realloc(m->bytes, n * sizeof(*m->bytes));
		m->block = realloc(m->block, n * sizeof(*m->block));
		if (!names || !m->first || !m->count || !m->bytes || !m->block)
			return perr(ps, GP_ENOMEM, "out of memory for %u groups", n);
		for (uint32_t k = m->n_groups; k < n; k++) {
			m->group_name[k] = NULL;
			m->first[k] = m->count[k] = 0;
			m->bytes[k] = 0;
			m->block[k] = -1;
		}
		m->n_groups = n;
	}
	if (m->count[g]) {
		if (m->first[g] != first || m->count[g] != count ||
		    strlen(m->group_name[g]) != tlen[1] || memcmp(m->group_name[g], tok[1], tlen[1]))
			return perr(ps, GP_EFORMAT, "group %u changed: was '%s' at chunks [%u, +%u)",
				    g, m->group_name[g], m->first[g], m->count[g]);
	} else {
		/* Groups lie in index order in the range, apart. */
		for (uint32_t k = 0; k < m->n_groups; k++) {
			if (!m->count[k] || k == g)
				continue;
			if (first < m->first[k] + m->count[k] && m->first[k] < first + count)
				return perr(ps, GP_EFORMAT, "group %u's chunks [%u, +%u) overlap "
					    "group %u's", g, first, count, k);
			if ((k < g) != (m->first[k] < first))
				return perr(ps, GP_EFORMAT, "group %u at chunk %u is out of order "
					    "with group %u at chunk %u", g, first, k, m->first[k]);
		}
		name = strndup(tok[1], tlen[1]);
		if (!name)
			return perr(ps, GP_ENOMEM, "out of memory");
		m->group_name[g] = name;
		m->first[g] = first;
		m->count[g] = count;
		m->bytes[g] = length;
		m->groups_seen++;
		if (first + count > m->n_chunks)
			m->n_chunks = first + count;
	}
	m->range_size = (uint64_t)m->n_chunks * m->chunk_size;
	return push_seq(ps, m, g);
}

/* ---------------------------------------------------------------- driver */

static int parse(struct parser *ps, const char *data, size_t len)
{
	const char *p = data, *end = data + len, *nl;
	size_t magic = strlen(GP_TRACE_MAGIC);
	int err = 0;

	ps->line = 1;
	nl = memchr(p, '\n', len);
	if (!nl)
		return perr(ps, GP_EFORMAT, len ? "truncated: the header line has no end" :
			    "empty file: not a gpupager trace");
	if ((size_t)(nl - p) < magic + 1 || memcmp(p, GP_TRACE_MAGIC, magic))
		return perr(ps, GP_EFORMAT, "not a gpupager trace: the first line must start with "
			    "'" GP_TRACE_MAGIC "N'");
	if (p[magic] == '1' && (nl - p == (long)magic + 1 || p[magic + 1] == ':' ||
				p[magic + 1] == ' '))
		ps->t->version = 1;
	else if (p[magic] == '2' && nl - p == (long)magic + 1)
		ps->t->version = 2;
	else {
		size_t vl = 0;

		while (magic + vl < (size_t)(nl - p) && p[magic + vl] >= '0' &&
		       p[magic + vl] <= '9')
			vl++;
		if (vl && magic + vl == (size_t)(nl - p) && (vl > 1 || p[magic] > '2'))
			return perr(ps, GP_EUNSUPPORTED, "trace format v%.*s is newer than this "
				    "library reads (v1, v2): update libgpupager", (int)vl,
				    p + magic);
		return perr(ps, GP_EFORMAT, "bad version in the header line '%.*s'",
			    (int)((nl - p) > 60 ? 60 : (nl - p)), p);
	}
	p = nl + 1;
	while (p < end && !err) {
		size_t n;

		ps->line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return perr(ps, GP_EFORMAT, "truncated: the last line has no end (the trace "
				    "was cut short)");
		n = (size_t)(nl - p);
		if (memchr(p, '\0', n))
			return perr(ps, GP_EFORMAT, "NUL byte in the line");
		if (!n)
			err = perr(ps, GP_EFORMAT, "empty line");
		else if (ps->t->version == 1)
			err = p[0] == '#' ? 0 : v1_line(ps, p, n);
		else
			err = v2_line(ps, p, n);
		p = nl + 1;
	}
	if (err)
		return err;
	ps->t->n_lines = ps->line;
	if (ps->t->version == 2 && ps->t->n_models) {
		const struct gp_trace_model *m = &ps->t->models[ps->t->n_models - 1];

		if (m->groups_seen < m->n_groups)
			return perr(ps, GP_EFORMAT, "truncated: model %u's layout has %u of its %u "
				    "group lines", ps->t->n_models - 1, m->groups_seen, m->n_groups);
	}
	if (ps->t->version == 1)
		ps->t->complete = 1;    /* v1 has no end line */
	return 0;
}

GP_API int gp_trace_parse(const char *data, size_t len, const char *name, struct gp_trace **out)
{
	struct parser ps = { .name = name ? name : "trace" };
	int err;

	if (!out || (!data && len))
		return gp_fail(GP_EINVAL, "gp_trace_parse: NULL argument");
	*out = NULL;
	ps.t = calloc(1, sizeof(*ps.t));
	if (!ps.t)
		return gp_fail(GP_ENOMEM, "trace: out of memory");
	err = parse(&ps, data ? data : "", len);
	if (err) {
		gp_trace_free(ps.t);
		return err;
	}
	*out = ps.t;
	return 0;
}

GP_API int gp_trace_read(const char *path, struct gp_trace **out)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, err;

	if (!path || !out)
		return gp_fail(GP_EINVAL, "gp_trace_read: NULL argument");
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gp_fail(errno == ENOENT ? GP_ENOENT : GP_EIO, "%s: cannot open the trace: %s",
			       path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return gp_fail(GP_EIO, "%s: not a regular file", path);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return gp_fail(GP_ENOMEM, "%s: out of memory for %lld bytes", path,
			       (long long)st.st_size);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = gp_fail(GP_EIO, "%s: read failed: %s", path,
				      n ? strerror(errno) : "file shrank");
			close(fd);
			free(buf);
			return err;
		}
		got += (size_t)n;
	}
	close(fd);
	err = gp_trace_parse(buf, got, path, out);
	free(buf);
	return err;
}

/* ----------------------------------------------------------- accessors */

GP_API int gp_trace_get_info(const struct gp_trace *t, struct gp_trace_info *info)
{
	struct gp_trace_info v;

	if (!t || !info)
		return gp_fail(GP_EINVAL, "gp_trace_get_info: NULL argument");
	v = (struct gp_trace_info){
		.struct_size = sizeof(v), .version = t->version, .n_models = t->n_models,
		.complete = t->complete, .n_lines = t->n_lines, .n_acquires = t->n_acquires,
		.n_releases = t->n_releases, .duration_ns = t->last_ns - t->first_ns,
		.link_gbps = t->link_gbps, .compute_ns_per_step = t->compute_ns_per_step,
	};
	return gp_abi_out(info, &v, sizeof(v), sizeof(v), __func__);
}

GP_API int gp_trace_model(const struct gp_trace *t, uint32_t model,
			  struct gp_trace_model_info *info)
{
	struct gp_trace_model_info v;
	const struct gp_trace_model *m;

	if (!t || !info)
		return gp_fail(GP_EINVAL, "gp_trace_model: NULL argument");
	if (model >= t->n_models)
		return gp_fail(GP_ENOENT, "gp_trace_model: no model %u (the trace has %u)", model,
			       t->n_models);
	m = &t->models[model];
	v = (struct gp_trace_model_info){
		.struct_size = sizeof(v), .source = m->source, .chunk_size = m->chunk_size,
		.range_size = m->range_size, .n_chunks = m->n_chunks, .n_groups = m->n_groups,
		.fingerprint = m->fingerprint, .n_acquires = m->n_seq,
		.loaded_chunks = m->loaded_chunks, .h2d_bytes = m->h2d_bytes,
		.disk_bytes = m->disk_bytes,
	};
	return gp_abi_out(info, &v, sizeof(v), sizeof(v), __func__);
}

GP_API int gp_trace_group(const struct gp_trace *t, uint32_t model, uint32_t group,
			  struct gp_trace_group_info *info)
{
	struct gp_trace_group_info v;
	const struct gp_trace_model *m;

	if (!t || !info)
		return gp_fail(GP_EINVAL, "gp_trace_group: NULL argument");
	if (model >= t->n_models)
		return gp_fail(GP_ENOENT, "gp_trace_group: no model %u (the trace has %u)", model,
			       t->n_models);
	m = &t->models[model];
	if (group >= m->n_groups)
		return gp_fail(GP_ENOENT, "gp_trace_group: model %u has no group %u (it has %u)",
			       model, group, m->n_groups);
	v = (struct gp_trace_group_info){
		.struct_size = sizeof(v), .name = m->group_name[group] ? m->group_name[group] : "",
		.block_index = m->block[group], .first_chunk = m->first[group],
		.chunk_count = m->count[group], .bytes = m->bytes[group],
	};
	return gp_abi_out(info, &v, sizeof(v), sizeof(v), __func__);
}

/* ------------------------------------------------------- compact layout */

void gp_trace_layout_free(struct gp_trace_layout *l)
{
	free(l->first);
	free(l->count);
	free(l->map);
	free(l->unmap);
	free(l->block);
	free(l->seq);
	memset(l, 0, sizeof(*l));
}

int gp_trace_layout_get(const struct gp_trace *t, uint32_t model, struct gp_trace_layout *l)
{
	const struct gp_trace_model *m;
	uint32_t n = 0, ng;

	memset(l, 0, sizeof(*l));
	if (model >= t->n_models)
		return gp_fail(GP_ENOENT, "trace: no model %u (the trace has %u)", model,
			       t->n_models);
	m = &t->models[model];
	if (!m->n_seq)
		return gp_fail(GP_ENOENT, "trace: model %u (%s) is never accessed", model, m->source);
	ng = m->n_groups;
	l->first = malloc(ng * sizeof(*l->first));
	l->count = malloc(ng * sizeof(*l->count));
	l->map = malloc(ng * sizeof(*l->map));
	l->unmap = malloc(ng * sizeof(*l->unmap));
	l->block = malloc(ng * sizeof(*l->block));
	l->seq = malloc(m->n_seq * sizeof(*l->seq));
	if (!l->first || !l->count || !l->map || !l->unmap || !l->block || !l->seq) {
		gp_trace_layout_free(l);
		return gp_fail(GP_ENOMEM, "trace: out of memory for model %u's layout", model);
	}
	for (uint32_t g = 0; g < ng; g++) {
		l->map[g] = UINT32_MAX;
		if (!m->count[g])
			continue;
		l->map[g] = n;
		l->unmap[n] = g;
		l->first[n] = m->first[g];
		l->count[n] = m->count[g];
		l->block[n] = m->block[g];
		if (m->count[g] > l->largest)
			l->largest = m->count[g];
		n++;
	}
	for (size_t i = 0; i < m->n_seq; i++)
		l->seq[i] = l->map[m->seq[i]];
	l->n_seq = m->n_seq;
	l->layout = (struct gp_policy_layout){
		.n_groups = n, .n_chunks = m->n_chunks, .group_first_chunk = l->first,
		.group_chunk_count = l->count, .group_block_index = l->block,
	};
	return 0;
}
