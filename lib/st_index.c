/*
 * st_index.c - parse model.safetensors.index.json: {"metadata": {...},
 * "weight_map": {"tensor": "shard file name", ...}}.
 *
 * Shard names must be plain file names in the model's directory: an index
 * must never make the pager open a file elsewhere.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "model.h"

static int plain_file_name(const char *name)
{
	return *name && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

void gp_st_index_free(struct gp_st_index *index)
{
	if (!index)
		return;
	for (size_t i = 0; i < index->n_entries; i++)
		free(index->tensor_names[i]);
	for (size_t i = 0; i < index->n_shards; i++)
		free(index->shards[i]);
	free(index->tensor_names);
	free(index->shard_names);
	free(index->shards);
	free(index);
}

/* The shard's entry in index->shards, added if new. */
static char *intern_shard(struct gp_st_index *index, const char *name)
{
	for (size_t i = 0; i < index->n_shards; i++)
		if (!strcmp(index->shards[i], name))
			return index->shards[i];
	index->shards[index->n_shards] = strdup(name);
	return index->shards[index->n_shards] ? index->shards[index->n_shards++] : NULL;
}

static int check_metadata(json_t *root, const char *index_name, uint64_t *total_size)
{
	json_t *meta = json_object_get(root, "metadata"), *total;

	*total_size = UINT64_MAX;
	if (!meta)
		return 0;
	if (!json_is_object(meta))
		return gp_fail(GP_EFORMAT, "%s: 'metadata' is not an object", index_name);
	total = json_object_get(meta, "total_size");
	if (!total)
		return 0;
	if (!json_is_integer(total) || json_integer_value(total) < 0)
		return gp_fail(GP_EFORMAT, "%s: metadata.total_size is not a non-negative integer",
			       index_name);
	*total_size = (uint64_t)json_integer_value(total);
	return 0;
}

static int fill_entries(struct gp_st_index *index, json_t *map, const char *index_name)
{
	const char *tensor;
	json_t *shard;

	json_object_foreach(map, tensor, shard) {
		size_t i = index->n_entries;

		if (!*tensor)
			return gp_fail(GP_EFORMAT, "%s: weight_map has an empty tensor name", index_name);
		if (!json_is_string(shard))
			return gp_fail(GP_EFORMAT, "%s: weight_map['%s'] is not a string", index_name,
				       tensor);
		if (!plain_file_name(json_string_value(shard)))
			return gp_fail(GP_EFORMAT,
				       "%s: weight_map['%s'] = '%s': shard must be a plain file name in the model's directory (no '/', not '.' or '..')",
				       index_name, tensor, json_string_value(shard));
		index->tensor_names[i] = strdup(tensor);
		if (!index->tensor_names[i])
			return gp_fail(GP_ENOMEM, "%s: out of memory", index_name);
		index->n_entries++;
		index->shard_names[i] = intern_shard(index, json_string_value(shard));
		if (!index->shard_names[i])
			return gp_fail(GP_ENOMEM, "%s: out of memory", index_name);
	}
	if (index->n_entries == 0)
		return gp_fail(GP_EFORMAT, "%s: weight_map is empty", index_name);
	return 0;
}

int gp_st_index_parse(const char *json, size_t len, const char *index_name,
		      struct gp_st_index **out)
{
	struct gp_st_index *index = NULL;
	json_error_t jerr;
	json_t *root, *map;
	uint64_t total_size;
	size_t n;
	int err;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return gp_fail(GP_EFORMAT, "%s: not valid JSON: %s (line %d, column %d)", index_name,
			       jerr.text, jerr.line, jerr.column);
	if (!json_is_object(root)) {
		err = gp_fail(GP_EFORMAT, "%s: not a JSON object", index_name);
		goto out;
	}
	map = json_object_get(root, "weight_map");
	if (!json_is_object(map)) {
		err = gp_fail(GP_EFORMAT, "%s: 'weight_map' is %s", index_name,
			      map ? "not an object" : "missing");
		goto out;
	}
	err = check_metadata(root, index_name, &total_size);
	if (err)
		goto out;
	n = json_object_size(map);
	index = calloc(1, sizeof(*index));
	if (index) {
		index->tensor_names = calloc(n + 1, sizeof(char *));
		index->shard_names = calloc(n + 1, sizeof(char *));
		index->shards = calloc(n + 1, sizeof(char *));
	}
	if (!index || !index->tensor_names || !index->shard_names || !index->shards) {
		err = gp_fail(GP_ENOMEM, "%s: out of memory", index_name);
		goto out;
	}
	err = fill_entries(index, map, index_name);
	if (err)
		goto out;
	index->total_size = total_size;
	*out = index;
	index = NULL;
out:
	gp_st_index_free(index);
	json_decref(root);
	return err;
}
