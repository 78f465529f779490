/*
 * safetensors.c - parse and validate one safetensors header.
 *
 * Layout of a file: an 8-byte little-endian header length N, N bytes of JSON
 * (an object, with JSON whitespace before and after it), then the data
 * buffer.  The rules checked here are those of the reference implementation
 * plus: no unknown keys in a tensor entry, no duplicate keys, tensor names
 * without NUL, and tensors must tile the data buffer exactly (no hole, no
 * overlap, the last one ending at the end of the file).
 *
 * The header is read by a small JSON reader of its own, written for this one
 * schema, rather than by a general JSON library: it keeps numbers up to
 * 2^64-1 exact (as the reference's usize), tells -0 and 1.0 from integers
 * (the reference rejects them), names the tensor in every error, and builds
 * no document tree, so a million-tensor header costs one pass and the
 * tensors' own memory.  Its syntax is RFC 8259 JSON, as serde_json reads it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"

/* A cursor over the header text; buf holds the last decoded string. */
struct jr {
	const char *start, *p, *end;
	const char *file;
	char *buf;
	size_t cap, len;
};

static int is_ws(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static void skip_ws(struct jr *r)
{
	while (r->p < r->end && is_ws(*r->p))
		r->p++;
}

static unsigned long long pos(const struct jr *r)
{
	return (unsigned long long)(r->p - r->start);
}

static int syntax_at(const struct jr *r, const char *at, const char *what)
{
	return gp_fail(GP_EFORMAT, "%s: header is not valid JSON: %s at byte %llu", r->file, what,
		       (unsigned long long)(at - r->start));
}

static int syntax(const struct jr *r, const char *what)
{
	if (r->p >= r->end)
		return gp_fail(GP_EFORMAT, "%s: header is not valid JSON: %s at the end of the header",
			       r->file, what);
	return gp_fail(GP_EFORMAT, "%s: header is not valid JSON: %s at byte %llu", r->file, what,
		       pos(r));
}

/* Consume c (after whitespace) or fail with what was expected. */
static int expect(struct jr *r, char c, const char *what)
{
	skip_ws(r);
	if (r->p >= r->end || *r->p != c)
		return syntax(r, what);
	r->p++;
	return 0;
}

/* The next non-whitespace character, not consumed; 0 at the end. */
static char peek(struct jr *r)
{
	skip_ws(r);
	return r->p < r->end ? *r->p : 0;
}

/* Byte offset of the first invalid UTF-8 sequence, or len (RFC 3629). */
static size_t utf8_invalid_at(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = (unsigned char)s[i] < 0x80 ? 1 : gp_utf8_char_len(s + i, len - i);

		if (!n)
			return i;
		i += n;
	}
	return len;
}

static int buf_put(struct jr *r, const char *s, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 64;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		b = realloc(r->buf, cap);
		if (!b)
			return gp_fail(GP_ENOMEM, "%s: out of memory reading the header", r->file);
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return 0;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* \uXXXX (and its low surrogate) at r->p, just after the 'u', as UTF-8; esc: the '\\'. */
static int unicode_escape(struct jr *r, const char *esc)
{
	unsigned cp, lo;
	char out[4];
	size_t n;

	if (r->end - r->p < 4 || hex4(r->p, &cp))
		return syntax_at(r, esc, "invalid \\u escape");
	r->p += 4;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return syntax_at(r, esc, "lone low surrogate in a \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) ||
		    lo < 0xdc00 || lo > 0xdfff)
			return syntax_at(r, esc, "lone high surrogate in a \\u escape");
		r->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp < 0x80) {
		out[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		out[0] = (char)(0xf0 | cp >> 18);
		out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_put(r, out, n);
}

/* A string (after whitespace) decoded into r->buf, r->len bytes (may hold NUL). */
static int read_string(struct jr *r)
{
	int err = expect(r, '"', "expected a string");

	r->len = 0;
	if (err)
		return err;
	if (buf_put(r, "", 0))
		return GP_ENOMEM;
	for (;;) {
		const char *run = r->p;

		while (r->p < r->end && *r->p != '"' && *r->p != '\\' &&
		       (unsigned char)*r->p >= 0x20)
			r->p++;
		if (r->p > run && (err = buf_put(r, run, (size_t)(r->p - run))))
			return err;
		if (r->p >= r->end)
			return syntax(r, "unterminated string");
		if (*r->p == '"') {
			r->p++;
			return 0;
		}
		if (*r->p != '\\')
			return syntax(r, "control character in a string");
		if (r->end - r->p < 2) {
			r->p++;
			return syntax(r, "unterminated string");
		}
		run = r->p;
		r->p += 2;
		switch (r->p[-1]) {
		case '"': err = buf_put(r, "\"", 1); break;
		case '\\': err = buf_put(r, "\\", 1); break;
		case '/': err = buf_put(r, "/", 1); break;
		case 'b': err = buf_put(r, "\b", 1); break;
		case 'f': err = buf_put(r, "\f", 1); break;
		case 'n': err = buf_put(r, "\n", 1); break;
		case 'r': err = buf_put(r, "\r", 1); break;
		case 't': err = buf_put(r, "\t", 1); break;
		case 'u': err = unicode_escape(r, run); break;
		default:
			return syntax_at(r, run, "invalid escape");
		}
		if (err)
			return err;
	}
}

/* What a JSON number token is, for a field that must be an integer in [0, 2^64-1]. */
enum num_kind { NUM_U64, NUM_OTHER };

/*
 * A JSON number (after whitespace): *kind says whether it is an integer in
 * [0, 2^64-1] (then *value) or any other number: negative, -0 (which the
 * reference reads as the float -0.0), a fraction or exponent, or too big.
 * *text / *text_len give the token for messages.  Not a number: 1.
 */
static int read_number(struct jr *r, enum num_kind *kind, uint64_t *value, const char **text,
		       int *text_len)
{
	const char *s, *digits;
	int is_int = 1, big = 0;
	uint64_t v = 0;

	skip_ws(r);
	s = r->p;
	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p >= r->end || *r->p < '0' || *r->p > '9') {
		if (r->p == s)
			return 1;
		return syntax(r, "invalid number");
	}
	digits = r->p;
	if (*r->p == '0')
		r->p++;
	else
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
			unsigned d = (unsigned)(*r->p++ - '0');

			if (v > (UINT64_MAX - d) / 10)
				big = 1;
			v = v * 10 + d;
		}
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		is_int = 0;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return syntax(r, "invalid number");
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		is_int = 0;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return syntax(r, "invalid number");
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	*kind = is_int && !big && digits == s ? NUM_U64 : NUM_OTHER;
	*value = v;
	*text = s;
	*text_len = (int)(r->p - s < 40 ? r->p - s : 40);
	return 0;
}

/*
 * An integer in [0, 2^64-1] for element i of field (shape[i], data_offsets[i])
 * of tensor t.  A number of any other kind fails naming the rule; a
 * non-number, with not_number (the caller's message, NULL: "is not a
 * non-negative integer").
 */
static int read_u64(struct jr *r, const struct gp_st_tensor *t, const char *field, size_t i,
		    const char *not_number, uint64_t *out)
{
	enum num_kind kind = NUM_OTHER;
	const char *text = "";
	int len = 0, err = read_number(r, &kind, out, &text, &len);

	if (err == 1 && not_number)
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': %s", r->file, t->name, not_number);
	if (err == 1)
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': %s[%zu] is not a non-negative integer",
			       r->file, t->name, field, i);
	if (err)
		return err;
	if (kind != NUM_U64)
		return gp_fail(GP_EFORMAT,
			       "%s: tensor '%s': %s[%zu] is %.*s, not an integer in [0, 2^64-1] (no sign, fraction or exponent)",
			       r->file, t->name, field, i, len, text);
	return 0;
}

/* Write name (len bytes, possibly with NUL) into out with NUL shown as \u0000. */
static void show_name(const char *name, size_t len, char *out, size_t out_len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 7 < out_len; i++) {
		if (name[i])
			out[o++] = name[i];
		else
			o += (size_t)snprintf(out + o, out_len - o, "\\u0000");
	}
	out[o] = '\0';
}

static int parse_shape(struct jr *r, struct gp_st_tensor *t, uint64_t *numel)
{
	size_t n = 0;
	int err;

	if (peek(r) != '[')
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': shape is not an array", r->file, t->name);
	r->p++;
	*numel = 1;
	if (peek(r) == ']') {
		r->p++;
		t->ndim = 0;
		return 0;
	}
	for (;;) {
		uint64_t d;

		err = read_u64(r, t, "shape", n, NULL, &d);
		if (err)
			return err;
		if (n < GP_MAX_DIMS)
			t->shape[n] = (int64_t)d;
		n++;
		if (d && *numel > UINT64_MAX / d)
			return gp_fail(GP_EFORMAT, "%s: tensor '%s': element count overflows 64 bits",
				       r->file, t->name);
		*numel *= d;
		if (peek(r) == ']')
			break;
		err = expect(r, ',', "expected ',' or ']' in an array");
		if (err)
			return err;
	}
	r->p++;
	if (n > GP_MAX_DIMS)
		return gp_fail(GP_EUNSUPPORTED, "%s: tensor '%s': %zu dimensions (at most %d supported)",
			       r->file, t->name, n, GP_MAX_DIMS);
	t->ndim = (int)n;
	return 0;
}

void gp_st_format_shape(const struct gp_st_tensor *t, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "[");

	/* Dimensions are unsigned: above 2^63-1 only in a zero-size tensor. */
	for (int i = 0; i < t->ndim && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%llu", i ? ", " : "",
				      (unsigned long long)(uint64_t)t->shape[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

static int parse_offsets(struct jr *r, const struct gp_st_tensor *t, uint64_t *begin,
			 uint64_t *end)
{
	static const char msg[] = "data_offsets must be [begin, end] of non-negative integers";
	int err;

	if (peek(r) != '[')
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': %s", r->file, t->name, msg);
	r->p++;
	err = read_u64(r, t, "data_offsets", 0, msg, begin);
	if (err)
		return err;
	if (peek(r) != ',')
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': %s", r->file, t->name, msg);
	r->p++;
	err = read_u64(r, t, "data_offsets", 1, msg, end);
	if (err)
		return err;
	if (peek(r) != ']')
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': %s", r->file, t->name, msg);
	r->p++;
	if (*end < *begin)
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] end before begin",
			       r->file, t->name, (unsigned long long)*begin, (unsigned long long)*end);
	return 0;
}

/*
 * t->nbytes from shape and dtype, which the offsets' span must match.  As in
 * the reference: bits = numel * bitsize must not overflow and must be a whole
 * number of bytes (sub-byte types), and nbytes = bits / 8.
 */
static int check_size(const struct jr *r, struct gp_st_tensor *t, uint64_t numel,
		      uint64_t begin, uint64_t end)
{
	char shape_text[GP_ST_SHAPE_TEXT];
	uint64_t bits = gp_dtype_bits(t->dtype);

	if (numel <= UINT64_MAX / bits && numel * bits % 8 == 0 &&
	    end - begin == numel * bits / 8) {
		t->nbytes = numel * bits / 8;
		return 0;
	}
	gp_st_format_shape(t, shape_text, sizeof(shape_text));
	if (numel > UINT64_MAX / bits)
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': shape %s of %s overflows 64 bits", r->file,
			       t->name, shape_text, gp_dtype_name(t->dtype));
	if (numel * bits % 8)
		return gp_fail(GP_EFORMAT,
			       "%s: tensor '%s': shape %s of %s is %llu bits, not a whole number of bytes",
			       r->file, t->name, shape_text, gp_dtype_name(t->dtype),
			       (unsigned long long)(numel * bits));
	return gp_fail(GP_EFORMAT,
		       "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but shape %s of %s needs %llu",
		       r->file, t->name, (unsigned long long)begin, (unsigned long long)end,
		       (unsigned long long)(end - begin), shape_text, gp_dtype_name(t->dtype),
		       (unsigned long long)(numel * bits / 8));
}

enum { KEY_DTYPE = 1, KEY_SHAPE = 2, KEY_OFFSETS = 4 };

static int parse_dtype(struct jr *r, struct gp_st_tensor *t)
{
	int err;

	if (peek(r) != '"')
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': dtype is not a string", r->file, t->name);
	err = read_string(r);
	if (err)
		return err;
	err = gp_dtype_parse(r->len == strlen(r->buf) ? r->buf : "", &t->dtype);
	if (err)
		return gp_fail(err, "%s: tensor '%s': unsupported dtype '%s'", r->file, t->name,
			       r->buf);
	return 0;
}

/* Fill t (name already set) from its entry; begin/end are data-relative. */
static int parse_tensor(struct jr *r, struct gp_st_tensor *t, uint64_t *begin, uint64_t *end)
{
	uint64_t numel = 0;
	unsigned seen = 0;
	int err;

	if (peek(r) != '{')
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': entry is not an object", r->file, t->name);
	r->p++;
	if (peek(r) == '}')
		r->p++;
	else
		for (;;) {
			unsigned key;

			err = read_string(r);
			if (err)
				return err;
			if (r->len == 5 && !memcmp(r->buf, "dtype", 5))
				key = KEY_DTYPE;
			else if (r->len == 5 && !memcmp(r->buf, "shape", 5))
				key = KEY_SHAPE;
			else if (r->len == 12 && !memcmp(r->buf, "data_offsets", 12))
				key = KEY_OFFSETS;
			else
				return gp_fail(GP_EFORMAT, "%s: tensor '%s': unknown key '%s'", r->file,
					       t->name, r->buf);
			if (seen & key)
				return gp_fail(GP_EFORMAT, "%s: tensor '%s': duplicate key '%s'", r->file,
					       t->name, r->buf);
			seen |= key;
			err = expect(r, ':', "expected ':' after an object key");
			if (err)
				return err;
			if (key == KEY_DTYPE)
				err = parse_dtype(r, t);
			else if (key == KEY_SHAPE)
				err = parse_shape(r, t, &numel);
			else
				err = parse_offsets(r, t, begin, end);
			if (err)
				return err;
			if (peek(r) == '}') {
				r->p++;
				break;
			}
			err = expect(r, ',', "expected ',' or '}' in an object");
			if (err)
				return err;
		}
	if (seen != (KEY_DTYPE | KEY_SHAPE | KEY_OFFSETS))
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': missing '%s'", r->file, t->name,
			       !(seen & KEY_DTYPE) ? "dtype" : !(seen & KEY_SHAPE) ? "shape" : "data_offsets");
	return check_size(r, t, numel, *begin, *end);
}

static int add_metadata(struct gp_st_file *f, size_t *cap, char *key, char *value,
			const char *file)
{
	if (f->n_metadata == *cap) {
		size_t n = *cap ? *cap * 2 : 8;
		char **k = realloc(f->metadata_keys, n * sizeof(char *));

		if (k)
			f->metadata_keys = k;
		char **v = k ? realloc(f->metadata_values, n * sizeof(char *)) : NULL;

		if (v)
			f->metadata_values = v;
		if (!k || !v) {
			free(key);
			free(value);
			return gp_fail(GP_ENOMEM, "%s: out of memory reading __metadata__", file);
		}
		*cap = n;
	}
	f->metadata_keys[f->n_metadata] = key;
	f->metadata_values[f->n_metadata++] = value;
	return 0;
}

/* __metadata__: an object of string values (or null, as the reference's Option allows). */
static int parse_metadata(struct jr *r, struct gp_st_file *f)
{
	size_t cap = 0;
	int err;

	if (peek(r) == 'n' && r->end - r->p >= 4 && !memcmp(r->p, "null", 4)) {
		r->p += 4;
		return 0;
	}
	if (peek(r) != '{')
		return gp_fail(GP_EFORMAT, "%s: __metadata__ is not an object", r->file);
	r->p++;
	if (peek(r) == '}') {
		r->p++;
		return 0;
	}
	for (;;) {
		char *key, *value;

		err = read_string(r);
		if (err)
			return err;
		if (r->len != strlen(r->buf))
			return gp_fail(GP_EFORMAT, "%s: __metadata__ key '%s...' contains a NUL character (\\u0000)",
				       r->file, r->buf);
		for (size_t i = 0; i < f->n_metadata; i++)
			if (!strcmp(f->metadata_keys[i], r->buf))
				return gp_fail(GP_EFORMAT, "%s: __metadata__ has the key '%s' twice",
					       r->file, r->buf);
		key = strdup(r->buf);
		if (!key)
			return gp_fail(GP_ENOMEM, "%s: out of memory reading __metadata__", r->file);
		err = expect(r, ':', "expected ':' after an object key");
		if (!err && peek(r) != '"')
			err = gp_fail(GP_EFORMAT, "%s: __metadata__ value of '%s' is not a string",
				      r->file, key);
		if (!err)
			err = read_string(r);
		if (!err && r->len != strlen(r->buf))
			err = gp_fail(GP_EFORMAT, "%s: __metadata__ value of '%s' contains a NUL character (\\u0000)",
				      r->file, key);
		if (err) {
			free(key);
			return err;
		}
		value = strdup(r->buf);
		if (!value) {
			free(key);
			return gp_fail(GP_ENOMEM, "%s: out of memory reading __metadata__", r->file);
		}
		err = add_metadata(f, &cap, key, value, r->file);
		if (err)
			return err;
		if (peek(r) == '}') {
			r->p++;
			return 0;
		}
		err = expect(r, ',', "expected ',' or '}' in an object");
		if (err)
			return err;
	}
}

/* Room for one more tensor in desc->tensors, growing geometrically. */
static int reserve_tensor(struct gp_model_desc *desc, size_t *cap, const char *file)
{
	size_t n;
	struct gp_st_tensor *t;

	if (desc->n_tensors < *cap)
		return 0;
	if (desc->n_tensors >= UINT32_MAX - 1)
		return gp_fail(GP_EFORMAT, "%s: more than 2^32 tensors", file);
	n = *cap < 64 ? 64 : *cap * 2;
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	t = realloc(desc->tensors, n * sizeof(*t));
	if (!t)
		return gp_fail(GP_ENOMEM, "%s: out of memory for %zu tensors", file, n);
	desc->tensors = t;
	*cap = n;
	return 0;
}

/*
 * Empty tensors can share an offset with each other and with the tensor that
 * starts there: empty ones first, then by name, so the order is stable.
 */
static int cmp_by_offset(const void *a, const void *b)
{
	const struct gp_st_tensor *x = a, *y = b;

	if (x->file_offset != y->file_offset)
		return x->file_offset < y->file_offset ? -1 : 1;
	if (x->nbytes != y->nbytes)
		return x->nbytes < y->nbytes ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The tensors t[0..n), in offset order, must tile [data_start, data_start + data_len). */
static int check_tiling(const struct gp_st_tensor *t, size_t n, uint64_t data_start,
			uint64_t data_len, const char *file)
{
	uint64_t pos = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t begin = t[i].file_offset - data_start, end = begin + t[i].nbytes;

		if (begin > pos)
			return gp_fail(GP_EFORMAT,
				       "%s: tensor '%s': hole in the data buffer: bytes [%llu, %llu) belong to no tensor",
				       file, t[i].name, (unsigned long long)pos, (unsigned long long)begin);
		if (begin < pos)
			return gp_fail(GP_EFORMAT,
				       "%s: tensor '%s': data_offsets [%llu, %llu] overlap the previous tensor",
				       file, t[i].name, (unsigned long long)begin, (unsigned long long)end);
		pos = end;
		if (pos > data_len)
			return gp_fail(GP_EFORMAT,
				       "%s: tensor '%s': data_offsets end %llu is past the data buffer (%llu bytes)",
				       file, t[i].name, (unsigned long long)pos, (unsigned long long)data_len);
	}
	if (pos != data_len)
		return gp_fail(GP_EFORMAT,
			       "%s: the tensors end at data offset %llu but the data buffer has %llu bytes",
			       file, (unsigned long long)pos, (unsigned long long)data_len);
	return 0;
}

static uint64_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* Names of t[0..n) are unique: an open-addressing set of indices. */
static int check_unique(const struct gp_st_tensor *t, size_t n, const char *file)
{
	size_t size = 16, mask;
	uint32_t *slots;
	int err = 0;

	while (size < 2 * n)
		size *= 2;
	mask = size - 1;
	slots = calloc(size, sizeof(*slots));
	if (!slots)
		return gp_fail(GP_ENOMEM, "%s: out of memory checking tensor names", file);
	for (size_t i = 0; i < n && !err; i++) {
		size_t s = (size_t)hash_name(t[i].name) & mask;

		for (; slots[s]; s = (s + 1) & mask)
			if (!strcmp(t[slots[s] - 1].name, t[i].name)) {
				err = gp_fail(GP_EFORMAT, "%s: tensor '%s': the name appears twice in the header",
					      file, t[i].name);
				break;
			}
		slots[s] = (uint32_t)i + 1;
	}
	free(slots);
	return err;
}

/* A tensor entry with its key just read into r->buf. */
static int parse_entry(struct jr *r, struct gp_model_desc *desc, uint32_t file_index,
		       uint64_t data_start, uint64_t data_len)
{
	struct gp_st_tensor *t = &desc->tensors[desc->n_tensors];
	uint64_t begin = 0, end = 0;
	int err;

	memset(t, 0, sizeof(*t));
	if (r->len == 0)
		return gp_fail(GP_EFORMAT, "%s: a tensor has an empty name", r->file);
	if (r->len != strlen(r->buf)) {
		char shown[256];

		show_name(r->buf, r->len, shown, sizeof(shown));
		return gp_fail(GP_EFORMAT,
			       "%s: tensor '%s': the name contains a NUL character (\\u0000), which tensor names cannot hold",
			       r->file, shown);
	}
	t->name = malloc(r->len + 1);
	if (!t->name)
		return gp_fail(GP_ENOMEM, "%s: out of memory", r->file);
	memcpy(t->name, r->buf, r->len + 1);
	desc->n_tensors++;
	err = expect(r, ':', "expected ':' after an object key");
	if (!err)
		err = parse_tensor(r, t, &begin, &end);
	if (err)
		return err;
	/* Checked here, so that file offsets cannot overflow. */
	if (end > data_len)
		return gp_fail(GP_EFORMAT,
			       "%s: tensor '%s': data_offsets end %llu is past the data buffer (%llu bytes)",
			       r->file, t->name, (unsigned long long)end, (unsigned long long)data_len);
	t->file = file_index;
	t->file_offset = data_start + begin;
	return 0;
}

/* The header object; tensors go to desc->tensors[first..]. */
static int parse_root(struct jr *r, struct gp_model_desc *desc, uint32_t file_index,
		      uint64_t data_start, uint64_t data_len)
{
	struct gp_st_file *f = &desc->files[file_index];
	size_t cap = desc->n_tensors;
	int seen_metadata = 0, err;

	if (peek(r) != '{')
		return gp_fail(GP_EFORMAT, "%s: header does not start with a JSON object '{'", r->file);
	r->p++;
	if (peek(r) == '}') {
		r->p++;
		return 0;
	}
	for (;;) {
		err = read_string(r);
		if (err)
			return err;
		if (r->len == 12 && !memcmp(r->buf, "__metadata__", 12)) {
			if (seen_metadata)
				return gp_fail(GP_EFORMAT, "%s: __metadata__ appears twice", r->file);
			seen_metadata = 1;
			err = expect(r, ':', "expected ':' after an object key");
			if (!err)
				err = parse_metadata(r, f);
		} else {
			err = reserve_tensor(desc, &cap, r->file);
			if (!err)
				err = parse_entry(r, desc, file_index, data_start, data_len);
		}
		if (err)
			return err;
		if (peek(r) == '}') {
			r->p++;
			return 0;
		}
		err = expect(r, ',', "expected ',' or '}' in an object");
		if (err)
			return err;
	}
}

/* Sort, check names and tiling, and count the file's tensors. */
static int finish_file(struct gp_model_desc *desc, uint32_t file_index, uint32_t first,
		       uint64_t data_start, uint64_t data_len, const char *file)
{
	size_t n = desc->n_tensors - first;
	/* A file of no tensors may leave the array unallocated: NULL + 0 is undefined. */
	struct gp_st_tensor *t = n ? desc->tensors + first : NULL;
	int sorted = 1, err;

	for (size_t i = 1; i < n && sorted; i++)
		sorted = cmp_by_offset(&t[i - 1], &t[i]) <= 0;
	if (!sorted)
		qsort(t, n, sizeof(*t), cmp_by_offset);
	err = check_unique(t, n, file);
	if (!err)
		err = check_tiling(t, n, data_start, data_len, file);
	if (err)
		return err;
	desc->files[file_index].n_tensors = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		desc->tensor_bytes += t[i].nbytes;
	return 0;
}

static void drop_tensors_from(struct gp_model_desc *desc, uint32_t first)
{
	while (desc->n_tensors > first)
		free(desc->tensors[--desc->n_tensors].name);
}

void gp_st_file_drop_metadata(struct gp_st_file *f)
{
	for (size_t i = 0; i < f->n_metadata; i++) {
		free(f->metadata_keys[i]);
		free(f->metadata_values[i]);
	}
	free(f->metadata_keys);
	free(f->metadata_values);
	f->metadata_keys = f->metadata_values = NULL;
	f->n_metadata = 0;
}

/* The header text as a whole: UTF-8, no NUL, one object between whitespace. */
static int check_header_text(const char *header, size_t len, const char *file)
{
	size_t bad = utf8_invalid_at(header, len);

	if (bad < len)
		return gp_fail(GP_EFORMAT, "%s: header is not valid UTF-8: byte 0x%02x at byte %zu",
			       file, (unsigned char)header[bad], bad);
	if (memchr(header, '\0', len))
		return gp_fail(GP_EFORMAT, "%s: header contains a NUL byte", file);
	return 0;
}

int gp_st_parse_header(struct gp_model_desc *desc, uint32_t file_index, const char *header,
		       size_t header_len, uint64_t file_size, const char *file_name)
{
	uint32_t first = desc->n_tensors;
	uint64_t tensor_bytes = desc->tensor_bytes, data_start, data_len;
	struct jr r = { .file = file_name };
	int err;

	if (header_len == 0)
		return gp_fail(GP_EFORMAT, "%s: header length is 0", file_name);
	if (header_len > GP_ST_MAX_HEADER)
		return gp_fail(GP_EFORMAT, "%s: header length %zu exceeds the limit of %llu bytes",
			       file_name, header_len, GP_ST_MAX_HEADER);
	if (file_size < 8 || header_len > file_size - 8)
		return gp_fail(GP_EFORMAT,
			       "%s: header length %zu runs past the end of the file (%llu bytes)",
			       file_name, header_len, (unsigned long long)file_size);
	err = check_header_text(header, header_len, file_name);
	if (err)
		return err;
	data_start = 8 + header_len;
	data_len = file_size - data_start;
	r.start = r.p = header;
	r.end = header + header_len;
	err = parse_root(&r, desc, file_index, data_start, data_len);
	if (!err) {
		skip_ws(&r);
		if (r.p != r.end)
			err = gp_fail(GP_EFORMAT,
				      "%s: header must be a JSON object followed only by whitespace (found more at byte %llu)",
				      file_name, pos(&r));
	}
	if (!err)
		err = finish_file(desc, file_index, first, data_start, data_len, file_name);
	free(r.buf);
	if (err) {
		drop_tensors_from(desc, first);
		gp_st_file_drop_metadata(&desc->files[file_index]);
		desc->tensor_bytes = tensor_bytes;
		return err;
	}
	desc->files[file_index].header_len = header_len;
	desc->files[file_index].data_start = data_start;
	desc->files[file_index].size = file_size;
	return 0;
}
