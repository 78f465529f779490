/*
 * safetensors.c - parse and validate one safetensors header.
 *
 * Layout of a file: an 8-byte little-endian header length N, N bytes of JSON
 * (an object; trailing spaces allowed), then the data buffer.  The rules
 * checked here are those of the reference implementation plus: no unknown
 * keys in a tensor entry, tensors must tile the data buffer exactly (no hole,
 * no overlap, the last one ending at the end of the file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "model.h"

/* Reject anything but a JSON object followed by optional ASCII spaces. */
static int check_header_text(const char *header, size_t len, const char *file)
{
	size_t end = len;

	while (end > 0 && header[end - 1] == ' ')
		end--;
	if (end == 0 || header[0] != '{')
		return gp_fail(GP_EFORMAT, "%s: header does not start with a JSON object '{'", file);
	if (header[end - 1] != '}')
		return gp_fail(GP_EFORMAT,
			       "%s: header must be a JSON object followed only by spaces", file);
	if (memchr(header, '\0', len))
		return gp_fail(GP_EFORMAT, "%s: header contains a NUL byte", file);
	return 0;
}

static int parse_u64(json_t *v, uint64_t *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return -1;
	i = json_integer_value(v);
	if (i < 0)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

static int parse_shape(json_t *shape, struct gp_st_tensor *t, uint64_t *numel,
		       const char *file)
{
	size_t i;
	json_t *dim;

	if (!json_is_array(shape))
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': shape is not an array", file, t->name);
	if (json_array_size(shape) > GP_MAX_DIMS)
		return gp_fail(GP_EUNSUPPORTED, "%s: tensor '%s': %zu dimensions (at most %d supported)",
			       file, t->name, json_array_size(shape), GP_MAX_DIMS);
	*numel = 1;
	json_array_foreach(shape, i, dim) {
		uint64_t d;

		if (parse_u64(dim, &d))
			return gp_fail(GP_EFORMAT,
				       "%s: tensor '%s': shape[%zu] is not a non-negative integer",
				       file, t->name, i);
		t->shape[i] = (int64_t)d;
		if (d && *numel > UINT64_MAX / d)
			return gp_fail(GP_EFORMAT, "%s: tensor '%s': element count overflows 64 bits",
				       file, t->name);
		*numel *= d;
	}
	t->ndim = (int)json_array_size(shape);
	return 0;
}

void gp_st_format_shape(const struct gp_st_tensor *t, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "[");

	for (int i = 0; i < t->ndim && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%lld", i ? ", " : "",
				      (long long)t->shape[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

static int parse_offsets(json_t *offsets, const struct gp_st_tensor *t, uint64_t *begin,
			 uint64_t *end, const char *file)
{
	if (!json_is_array(offsets) || json_array_size(offsets) != 2 ||
	    parse_u64(json_array_get(offsets, 0), begin) ||
	    parse_u64(json_array_get(offsets, 1), end))
		return gp_fail(GP_EFORMAT,
			       "%s: tensor '%s': data_offsets must be [begin, end] of non-negative integers",
			       file, t->name);
	if (*end < *begin)
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] end before begin",
			       file, t->name, (unsigned long long)*begin, (unsigned long long)*end);
	return 0;
}

/* t->nbytes from shape and dtype, which the offsets' span must match. */
static int check_size(struct gp_st_tensor *t, uint64_t numel, uint64_t begin, uint64_t end,
		      const char *file)
{
	/* Eight dimensions of up to 20 digits each, with separators. */
	char shape_text[GP_ST_SHAPE_TEXT];
	uint64_t elem = gp_dtype_size(t->dtype);

	gp_st_format_shape(t, shape_text, sizeof(shape_text));
	if (numel > UINT64_MAX / elem)
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': shape %s of %s overflows 64 bits", file,
			       t->name, shape_text, gp_dtype_name(t->dtype));
	t->nbytes = numel * elem;
	if (end - begin != t->nbytes)
		return gp_fail(GP_EFORMAT,
			       "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but shape %s of %s needs %llu",
			       file, t->name, (unsigned long long)begin, (unsigned long long)end,
			       (unsigned long long)(end - begin), shape_text,
			       gp_dtype_name(t->dtype), (unsigned long long)t->nbytes);
	return 0;
}

/* Fill t (name already set) from its JSON entry; begin/end are data-relative. */
static int parse_tensor(json_t *entry, struct gp_st_tensor *t, uint64_t *begin, uint64_t *end,
			const char *file)
{
	json_t *dtype, *shape, *offsets;
	const char *key;
	json_t *v;
	uint64_t numel = 0;
	int err;

	if (!json_is_object(entry))
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': entry is not an object", file, t->name);
	json_object_foreach(entry, key, v) {
		if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets"))
			return gp_fail(GP_EFORMAT, "%s: tensor '%s': unknown key '%s'", file, t->name,
				       key);
	}
	dtype = json_object_get(entry, "dtype");
	shape = json_object_get(entry, "shape");
	offsets = json_object_get(entry, "data_offsets");
	if (!dtype || !shape || !offsets)
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': missing '%s'", file, t->name,
			       !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
	if (!json_is_string(dtype))
		return gp_fail(GP_EFORMAT, "%s: tensor '%s': dtype is not a string", file, t->name);
	err = gp_dtype_parse(json_string_value(dtype), &t->dtype);
	if (err)
		return gp_fail_context(err, "%s: tensor '%s': ", file, t->name);
	err = parse_shape(shape, t, &numel, file);
	if (!err)
		err = parse_offsets(offsets, t, begin, end, file);
	if (!err)
		err = check_size(t, numel, *begin, *end, file);
	return err;
}

static int parse_metadata(struct gp_model_desc *desc, uint32_t file_index, json_t *meta,
			  const char *file)
{
	struct gp_st_file *f = &desc->files[file_index];
	size_t n = json_object_size(meta), i = 0;
	const char *key;
	json_t *v;

	if (!json_is_object(meta))
		return gp_fail(GP_EFORMAT, "%s: __metadata__ is not an object", file);
	f->metadata_keys = calloc(n ? n : 1, sizeof(char *));
	f->metadata_values = calloc(n ? n : 1, sizeof(char *));
	if (!f->metadata_keys || !f->metadata_values)
		return gp_fail(GP_ENOMEM, "%s: out of memory reading __metadata__", file);
	json_object_foreach(meta, key, v) {
		if (!json_is_string(v))
			return gp_fail(GP_EFORMAT, "%s: __metadata__ value of '%s' is not a string",
				       file, key);
		f->metadata_keys[i] = strdup(key);
		f->metadata_values[i] = strdup(json_string_value(v));
		f->n_metadata = ++i;
		if (!f->metadata_keys[i - 1] || !f->metadata_values[i - 1])
			return gp_fail(GP_ENOMEM, "%s: out of memory reading __metadata__", file);
	}
	return 0;
}

struct placed {
	uint64_t begin, end;
	uint32_t tensor;
};

static int cmp_placed(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* The tensors must tile [0, data_len) exactly. */
static int check_tiling(struct gp_model_desc *desc, struct placed *p, size_t n, uint64_t data_len,
			const char *file)
{
	uint64_t pos = 0;

	qsort(p, n, sizeof(*p), cmp_placed);
	for (size_t i = 0; i < n; i++) {
		const char *name = desc->tensors[p[i].tensor].name;

		if (p[i].begin > pos)
			return gp_fail(GP_EFORMAT,
				       "%s: tensor '%s': hole in the data buffer: bytes [%llu, %llu) belong to no tensor",
				       file, name, (unsigned long long)pos, (unsigned long long)p[i].begin);
		if (p[i].begin < pos)
			return gp_fail(GP_EFORMAT,
				       "%s: tensor '%s': data_offsets [%llu, %llu] overlap the previous tensor",
				       file, name, (unsigned long long)p[i].begin,
				       (unsigned long long)p[i].end);
		pos = p[i].end;
		if (pos > data_len)
			return gp_fail(GP_EFORMAT,
				       "%s: tensor '%s': data_offsets end %llu is past the data buffer (%llu bytes)",
				       file, name, (unsigned long long)pos, (unsigned long long)data_len);
	}
	if (pos != data_len)
		return gp_fail(GP_EFORMAT,
			       "%s: the tensors end at data offset %llu but the data buffer has %llu bytes",
			       file, (unsigned long long)pos, (unsigned long long)data_len);
	return 0;
}

static int grow_tensors(struct gp_model_desc *desc, size_t extra, const char *file)
{
	size_t n = (size_t)desc->n_tensors + extra;
	struct gp_st_tensor *t;

	if (n > UINT32_MAX)
		return gp_fail(GP_EFORMAT, "%s: more than 2^32 tensors", file);
	t = realloc(desc->tensors, (n ? n : 1) * sizeof(*t));
	if (!t)
		return gp_fail(GP_ENOMEM, "%s: out of memory for %zu tensors", file, n);
	desc->tensors = t;
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

/* Parse entries into desc->tensors[first..]; on failure the caller drops them. */
static int parse_entries(struct gp_model_desc *desc, uint32_t file_index, json_t *root,
			 uint64_t data_start, uint64_t data_len, const char *file)
{
	uint32_t first = desc->n_tensors;
	struct placed *placed;
	const char *key;
	json_t *entry;
	size_t n = 0;
	int err = 0;

	placed = calloc(json_object_size(root) + 1, sizeof(*placed));
	if (!placed)
		return gp_fail(GP_ENOMEM, "%s: out of memory", file);
	json_object_foreach(root, key, entry) {
		struct gp_st_tensor *t = &desc->tensors[desc->n_tensors];
		uint64_t begin = 0, end = 0;

		if (!strcmp(key, "__metadata__")) {
			err = parse_metadata(desc, file_index, entry, file);
			if (err)
				goto out;
			continue;
		}
		memset(t, 0, sizeof(*t));
		if (!*key) {
			err = gp_fail(GP_EFORMAT, "%s: a tensor has an empty name", file);
			goto out;
		}
		t->name = strdup(key);
		if (!t->name) {
			err = gp_fail(GP_ENOMEM, "%s: out of memory", file);
			goto out;
		}
		desc->n_tensors++;
		err = parse_tensor(entry, t, &begin, &end, file);
		if (err)
			goto out;
		t->file = file_index;
		t->file_offset = data_start + begin;
		placed[n++] = (struct placed){ begin, end, desc->n_tensors - 1 };
	}
	err = check_tiling(desc, placed, n, data_len, file);
	if (err)
		goto out;
	qsort(desc->tensors + first, n, sizeof(desc->tensors[0]), cmp_by_offset);
	desc->files[file_index].n_tensors = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		desc->tensor_bytes += desc->tensors[first + i].nbytes;
out:
	free(placed);
	return err;
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

int gp_st_parse_header(struct gp_model_desc *desc, uint32_t file_index, const char *header,
		       size_t header_len, uint64_t file_size, const char *file_name)
{
	uint32_t first = desc->n_tensors;
	uint64_t tensor_bytes = desc->tensor_bytes;
	json_error_t jerr;
	json_t *root;
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
	root = json_loadb(header, header_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return gp_fail(GP_EFORMAT, "%s: header is not valid JSON: %s (at byte %d)", file_name,
			       jerr.text, jerr.position);
	err = grow_tensors(desc, json_object_size(root), file_name);
	if (!err)
		err = parse_entries(desc, file_index, root, 8 + header_len,
				    file_size - 8 - header_len, file_name);
	json_decref(root);
	if (err) {
		drop_tensors_from(desc, first);
		gp_st_file_drop_metadata(&desc->files[file_index]);
		desc->tensor_bytes = tensor_bytes;
		return err;
	}
	desc->files[file_index].header_len = header_len;
	desc->files[file_index].data_start = 8 + header_len;
	desc->files[file_index].size = file_size;
	return 0;
}
