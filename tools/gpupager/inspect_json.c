/*
 * inspect_json.c - `gpupager inspect --json`: one object with exact byte
 * counts, for scripts.  Keys: model, files[], tensors, tensor_bytes,
 * metadata{}, dtypes{NAME: {tensors, bytes}}, groups[], chunk_size,
 * range_size, padding_bytes, padding_percent, and tensor_list[] with --tensors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inspect.h"

/*
 * A JSON string for text that need not be UTF-8 (a path): each byte that is
 * not part of a valid UTF-8 sequence becomes U+FFFD.  NULL when out of memory.
 */
static json_t *text_json(const char *text)
{
	size_t len = strlen(text), o = 0;
	json_t *j = json_string(text);
	char *fixed;

	if (j)
		return j;
	fixed = malloc(3 * len + 1);
	if (!fixed)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = gp_utf8_char_len(text + i, len - i);

		if (n) {
			memcpy(fixed + o, text + i, n);
			o += n;
			i += n;
		} else {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	fixed[o] = '\0';
	j = json_string(fixed);
	free(fixed);
	return j;
}

/* Append item (a new reference, possibly NULL after a failed pack); -1 on failure. */
static int append(json_t *array, json_t *item)
{
	return item ? json_array_append_new(array, item) : -1;
}

static json_t *files_json(const struct gp_model *m)
{
	json_t *files = json_array();
	int err = !files;

	for (uint32_t i = 0; i < gp_model_file_count(m) && !err; i++) {
		struct gp_file_info f = inspect_file(m, i);

		err = append(files, json_pack("{s:o, s:I, s:I, s:I}", "name", text_json(f.name),
					      "size", (json_int_t)f.size, "tensors",
					      (json_int_t)f.n_tensors, "header_bytes",
					      (json_int_t)f.header_bytes));
	}
	if (err) {
		json_decref(files);
		return NULL;
	}
	return files;
}

static json_t *metadata_json(const struct gp_model *m)
{
	json_t *metadata = json_object();
	const char *key, *value;
	int err = !metadata;

	for (uint32_t i = 0; !err && gp_model_file_count(m) &&
			     !gp_model_file_metadata(m, 0, i, &key, &value); i++)
		err = json_object_set_new(metadata, key, json_string(value));
	if (err) {
		json_decref(metadata);
		return NULL;
	}
	return metadata;
}

static json_t *dtypes_json(const struct gp_model *m)
{
	json_t *dtypes = json_object();
	struct inspect_dtypes h;
	int err = !dtypes;

	inspect_count_dtypes(m, &h);
	for (int t = 0; t < GP_DTYPE_COUNT && !err; t++)
		if (h.count[t])
			err = json_object_set_new(dtypes, gp_dtype_name((enum gp_dtype)t),
						  json_pack("{s:I, s:I}", "tensors",
							    (json_int_t)h.count[t], "bytes",
							    (json_int_t)h.bytes[t]));
	if (err) {
		json_decref(dtypes);
		return NULL;
	}
	return dtypes;
}

static json_t *groups_json(const struct gp_model *m)
{
	json_t *groups = json_array();
	int err = !groups;

	for (uint32_t g = 0; g < gp_model_group_count(m) && !err; g++) {
		struct gp_group_info grp = inspect_group(m, g);

		err = append(groups,
			     json_pack("{s:s, s:o, s:I, s:I, s:I, s:I}", "name", grp.name,
				       "block_index",
				       grp.block_index >= 0 ? json_integer(grp.block_index)
							    : json_null(),
				       "tensors", (json_int_t)grp.n_tensors, "bytes",
				       (json_int_t)grp.nbytes, "range_offset",
				       (json_int_t)grp.range_offset, "range_size",
				       (json_int_t)grp.range_size));
	}
	if (err) {
		json_decref(groups);
		return NULL;
	}
	return groups;
}

static json_t *shape_json(const struct gp_tensor_info *t)
{
	json_t *shape = json_array();
	int err = !shape;

	for (int i = 0; i < t->ndim && !err; i++)
		err = append(shape, json_integer(t->shape[i]));
	if (err) {
		json_decref(shape);
		return NULL;
	}
	return shape;
}

static json_t *tensor_list_json(const struct gp_model *m)
{
	json_t *list = json_array();
	int err = !list;

	for (uint32_t i = 0; i < gp_model_tensor_count(m) && !err; i++) {
		struct gp_tensor_info t = inspect_tensor(m, i);
		uint64_t file_offset = 0;
		uint32_t file = 0;

		gp_model_tensor_location(m, i, &file, &file_offset);
		err = append(list, json_pack("{s:s, s:s, s:o, s:I, s:s, s:I, s:o, s:I}", "name",
					     t.name, "dtype", gp_dtype_name(t.dtype), "shape",
					     shape_json(&t), "bytes", (json_int_t)t.nbytes, "group",
					     inspect_group(m, t.group).name, "range_offset",
					     (json_int_t)t.range_offset, "file",
					     text_json(inspect_file(m, file).name), "file_offset",
					     (json_int_t)file_offset));
	}
	if (err) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* NULL when out of memory; "o" arguments are consumed even when json_pack fails. */
static json_t *model_json(const struct gp_model *m, int with_tensors)
{
	json_t *root = json_pack(
		"{s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:f}", "model",
		text_json(gp_model_source(m)), "files", files_json(m), "tensors",
		(json_int_t)gp_model_tensor_count(m), "tensor_bytes",
		(json_int_t)gp_model_tensor_bytes(m), "metadata", metadata_json(m), "dtypes",
		dtypes_json(m), "groups", groups_json(m), "chunk_size",
		(json_int_t)gp_model_chunk_size(m), "range_size",
		(json_int_t)gp_model_device_size(m), "padding_bytes",
		(json_int_t)inspect_padding_bytes(m), "padding_percent", inspect_padding_percent(m));

	if (root && with_tensors && json_object_set_new(root, "tensor_list", tensor_list_json(m))) {
		json_decref(root);
		return NULL;
	}
	return root;
}

int inspect_print_json(const struct gp_model *m, int with_tensors)
{
	json_t *root = model_json(m, with_tensors);
	char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;

	json_decref(root);
	if (!text) {
		fprintf(stderr, "gpupager inspect: out of memory formatting JSON\n");
		return 1;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}
