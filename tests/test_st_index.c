/*
 * test_st_index.c - gp_st_index_parse: the weight_map and metadata rules of
 * model.safetensors.index.json, on JSON text alone (no shards are read).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/st_fixture.h"
#include "model.h"

#define INDEX_NAME "model.safetensors.index.json"

static int parse(const char *text, struct gp_st_index **out)
{
	char *json = gp_test_st_json(text);
	int err = gp_st_index_parse(json, strlen(json), INDEX_NAME, out);

	free(json);
	return err;
}

static struct gp_st_index *parse_ok(const char *text)
{
	struct gp_st_index *index = NULL;
	int err = parse(text, &index);

	cr_assert_eq(err, 0, "%s: %s: %s", text, gp_error_name(err), gp_last_error());
	cr_assert_not_null(index);
	return index;
}

static void expect_bad(const char *text, const char *message)
{
	struct gp_st_index *index = (struct gp_st_index *)0x1;

	cr_expect_eq(parse(text, &index), GP_EFORMAT, "'%s' was accepted", text);
	cr_expect_eq(index, (struct gp_st_index *)0x1, "output written on failure");
	cr_expect_str_eq(gp_last_error(), message);
}

/* The index entry for tensor, or -1. */
static long find_entry(const struct gp_st_index *index, const char *tensor)
{
	for (size_t i = 0; i < index->n_entries; i++)
		if (!strcmp(index->tensor_names[i], tensor))
			return (long)i;
	return -1;
}

Test(st_index, weight_map_and_shards)
{
	struct gp_st_index *index = parse_ok(
		"{'metadata': {'total_size': 96, 'format': 'pt'}, 'weight_map': {"
		"'a': 'model-00001-of-00002.safetensors', 'b': 'model-00002-of-00002.safetensors',"
		" 'c': 'model-00001-of-00002.safetensors'}}");
	static const char *const expected[][2] = {
		{ "a", "model-00001-of-00002.safetensors" },
		{ "b", "model-00002-of-00002.safetensors" },
		{ "c", "model-00001-of-00002.safetensors" },
	};

	cr_assert_eq(index->n_entries, 3);
	for (size_t i = 0; i < 3; i++) {
		long e = find_entry(index, expected[i][0]);

		cr_assert_geq(e, 0, "tensor %s missing", expected[i][0]);
		cr_expect_str_eq(index->shard_names[e], expected[i][1]);
	}
	cr_assert_eq(index->n_shards, 2, "shards are listed once each");
	cr_expect_str_eq(index->shards[0], "model-00001-of-00002.safetensors");
	cr_expect_str_eq(index->shards[1], "model-00002-of-00002.safetensors");
	cr_expect_eq(index->shard_names[find_entry(index, "c")], index->shards[0],
		     "entries point into shards[]");
	cr_expect_eq(index->total_size, 96);
	gp_st_index_free(index);
}

Test(st_index, metadata_is_optional)
{
	struct gp_st_index *index = parse_ok("{'weight_map': {'w': 'a.safetensors'}}");

	cr_expect_eq(index->total_size, UINT64_MAX, "absent total_size is UINT64_MAX");
	gp_st_index_free(index);
	index = parse_ok("{'metadata': {}, 'weight_map': {'w': 'a.safetensors'}}");
	cr_expect_eq(index->total_size, UINT64_MAX);
	gp_st_index_free(index);
}

/* Other top-level keys (tools add their own) are ignored. */
Test(st_index, other_top_level_keys_ignored)
{
	struct gp_st_index *index =
		parse_ok("{'weight_map': {'w': 'a.safetensors'}, '_class_name': 'UNet'}");

	cr_expect_eq(index->n_entries, 1);
	gp_st_index_free(index);
}

Test(st_index, document_rules)
{
	struct gp_st_index *index = (struct gp_st_index *)0x1;

	cr_expect_eq(parse("{'weight_map': {'w': 'a.safetensors'},}", &index), GP_EFORMAT);
	cr_expect_eq(strncmp(gp_last_error(), INDEX_NAME ": not valid JSON: ",
			     strlen(INDEX_NAME ": not valid JSON: ")), 0, "%s", gp_last_error());
	cr_expect_eq(parse("{'weight_map': {'w': 'a.safetensors', 'w': 'b.safetensors'}}", &index),
		     GP_EFORMAT);
	cr_expect_not_null(strstr(gp_last_error(), "duplicate object key"), "%s", gp_last_error());
	cr_expect_eq(index, (struct gp_st_index *)0x1, "output written on failure");
	expect_bad("[]", INDEX_NAME ": not a JSON object");
	expect_bad("{'metadata': {}}", INDEX_NAME ": 'weight_map' is missing");
	expect_bad("{'weight_map': ['a.safetensors']}", INDEX_NAME ": 'weight_map' is not an object");
	expect_bad("{'weight_map': {}}", INDEX_NAME ": weight_map is empty");
}

Test(st_index, entry_rules)
{
	expect_bad("{'weight_map': {'': 'a.safetensors'}}",
		   INDEX_NAME ": weight_map has an empty tensor name");
	expect_bad("{'weight_map': {'w': 1}}", INDEX_NAME ": weight_map['w'] is not a string");
	expect_bad("{'weight_map': {'w': null}}", INDEX_NAME ": weight_map['w'] is not a string");
}

Test(st_index, shard_must_be_a_plain_file_name)
{
	static const char *const bad[] = { "", ".", "..", "sub/a.safetensors", "/etc/passwd",
					   "../a.safetensors", "a.safetensors/" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128], message[256];

		snprintf(text, sizeof(text), "{'weight_map': {'ok': 'a.safetensors', 'w': '%s'}}",
			 bad[i]);
		snprintf(message, sizeof(message),
			 INDEX_NAME ": weight_map['w'] = '%s': shard must be a plain file name in "
				    "the model's directory (no '/', not '.' or '..')", bad[i]);
		expect_bad(text, message);
	}
}

Test(st_index, metadata_rules)
{
	expect_bad("{'metadata': 'x', 'weight_map': {'w': 'a.safetensors'}}",
		   INDEX_NAME ": 'metadata' is not an object");
	expect_bad("{'metadata': {'total_size': -1}, 'weight_map': {'w': 'a.safetensors'}}",
		   INDEX_NAME ": metadata.total_size is not a non-negative integer");
	expect_bad("{'metadata': {'total_size': '96'}, 'weight_map': {'w': 'a.safetensors'}}",
		   INDEX_NAME ": metadata.total_size is not a non-negative integer");
	expect_bad("{'metadata': {'total_size': 9.6e1}, 'weight_map': {'w': 'a.safetensors'}}",
		   INDEX_NAME ": metadata.total_size is not a non-negative integer");
}
