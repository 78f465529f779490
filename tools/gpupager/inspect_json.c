/*
 * inspect_json.c - `gpupager inspect --json`: one object with exact byte
 * counts, for scripts.  Keys: model, files[], tensors, tensor_bytes,
 * metadata{}, dtypes{NAME: {tensors, bytes}}, groups[], chunk_size,
 * range_size, padding_bytes, padding_percent, and tensor_list[] with --tensors.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "inspect.h"

/* Append item (a new reference, possibly NULL after a failed pack); -1 on failure. */
static int append(json_t *array, json_t *item)
{
	return item ? json_array_append_new(array, item) : -1;
}

static json_t *files_json(const struct gp_model_desc *d)
{
	json_t *files = json_array();
	int err = !files;

	for (uint32_t i = 0; i < d->n_files && !err; i++)
		err = append(files, json_pack("{s:s, s:I, s:I, s:I}", "name", d->files[i].name,
					      "size", (json_int_t)d->files[i].size, "tensors",
					      (json_int_t)d->files[i].n_tensors, "header_bytes",
					      (json_int_t)d->files[i].header_len));
	if (err) {
		json_decref(files);
		return NULL;
	}
	return files;
}

static json_t *metadata_json(const struct gp_model_desc *d)
{
	json_t *metadata = json_object();
	int err = !metadata;

	for (size_t m = 0; !err && d->n_files && m < d->files[0].n_metadata; m++)
		err = json_object_set_new(metadata, d->files[0].metadata_keys[m],
					  json_string(d->files[0].metadata_values[m]));
	if (err) {
		json_decref(metadata);
		return NULL;
	}
	return metadata;
}

static json_t *dtypes_json(const struct gp_model_desc *d)
{
	json_t *dtypes = json_object();
	struct inspect_dtypes h;
	int err = !dtypes;

	inspect_count_dtypes(d, &h);
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

static json_t *groups_json(const struct gp_model_desc *d)
{
	json_t *groups = json_array();
	int err = !groups;

	for (uint32_t g = 0; g < d->n_groups && !err; g++) {
		const struct gp_group *grp = &d->groups[g];

		err = append(groups,
			     json_pack("{s:s, s:o, s:I, s:I, s:I, s:I}", "name", grp->name,
				       "block_index",
				       grp->block_index >= 0 ? json_integer(grp->block_index)
							     : json_null(),
				       "tensors", (json_int_t)grp->n_tensors, "bytes",
				       (json_int_t)grp->nbytes, "range_offset",
				       (json_int_t)grp->range_offset, "range_size",
				       (json_int_t)grp->range_size));
	}
	if (err) {
		json_decref(groups);
		return NULL;
	}
	return groups;
}

static json_t *shape_json(const struct gp_st_tensor *t)
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

static json_t *tensor_list_json(const struct gp_model_desc *d)
{
	json_t *list = json_array();
	int err = !list;

	for (uint32_t i = 0; i < d->n_tensors && !err; i++) {
		const struct gp_st_tensor *t = &d->tensors[i];

		err = append(list, json_pack("{s:s, s:s, s:o, s:I, s:s, s:I, s:s, s:I}", "name",
					     t->name, "dtype", gp_dtype_name(t->dtype), "shape",
					     shape_json(t), "bytes", (json_int_t)t->nbytes, "group",
					     d->groups[t->group].name, "range_offset",
					     (json_int_t)t->range_offset, "file",
					     d->files[t->file].name, "file_offset",
					     (json_int_t)t->file_offset));
	}
	if (err) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* NULL when out of memory; "o" arguments are consumed even when json_pack fails. */
static json_t *model_json(const struct gp_model_desc *d, int with_tensors)
{
	json_t *root = json_pack(
		"{s:s, s:o, s:I, s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:f}", "model", d->source,
		"files", files_json(d), "tensors", (json_int_t)d->n_tensors, "tensor_bytes",
		(json_int_t)d->tensor_bytes, "metadata", metadata_json(d), "dtypes", dtypes_json(d),
		"groups", groups_json(d), "chunk_size", (json_int_t)d->chunk_size, "range_size",
		(json_int_t)d->range_size, "padding_bytes",
		(json_int_t)(d->range_size - d->tensor_bytes), "padding_percent",
		inspect_padding_percent(d));

	if (root && with_tensors && json_object_set_new(root, "tensor_list", tensor_list_json(d))) {
		json_decref(root);
		return NULL;
	}
	return root;
}

int inspect_print_json(const struct gp_model_desc *desc, int with_tensors)
{
	json_t *root = model_json(desc, with_tensors);
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
