/*
 * test_safetensors.c - gp_st_parse_header: one bad header per validation
 * rule (code and exact message), and what a good header leaves in the
 * model description.  Headers are written with ' for " (st_fixture.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/st_fixture.h"
#include "model.h"

#define FILE_NAME "model.safetensors"

/* A description with one (empty) file slot, as gp_model_desc_open makes it. */
static struct gp_model_desc *new_desc(uint32_t n_files)
{
	struct gp_model_desc *desc = calloc(1, sizeof(*desc));

	cr_assert_not_null(desc);
	desc->files = calloc(n_files, sizeof(*desc->files));
	cr_assert_not_null(desc->files);
	desc->n_files = n_files;
	return desc;
}

/* Parse raw header bytes followed by data_len data bytes as file file_index. */
static int parse_bytes(struct gp_model_desc *desc, uint32_t file_index, const char *header,
		       size_t len, uint64_t data_len)
{
	return gp_st_parse_header(desc, file_index, header, len, 8 + len + data_len, FILE_NAME);
}

static int parse(struct gp_model_desc *desc, const char *header, uint64_t data_len)
{
	char *json = gp_test_st_json(header);
	int err = parse_bytes(desc, 0, json, strlen(json), data_len);

	free(json);
	return err;
}

static struct gp_model_desc *parse_ok(const char *header, uint64_t data_len)
{
	struct gp_model_desc *desc = new_desc(1);
	int err = parse(desc, header, data_len);

	cr_assert_eq(err, 0, "%s: %s: %s", header, gp_error_name(err), gp_last_error());
	return desc;
}

/* A failed parse must leave nothing behind in desc. */
static void expect_rolled_back(const struct gp_model_desc *desc)
{
	cr_expect_eq(desc->n_tensors, 0);
	cr_expect_eq(desc->tensor_bytes, 0);
	cr_expect_eq(desc->files[0].n_metadata, 0);
	cr_expect_null(desc->files[0].metadata_keys);
}

static void expect_bad_bytes(const char *header, size_t len, uint64_t data_len, int code,
			     const char *message)
{
	struct gp_model_desc *desc = new_desc(1);
	int err = parse_bytes(desc, 0, header, len, data_len);

	cr_expect_eq(err, code, "'%.*s': got %s (%s), expected %s", (int)len, header,
		     gp_error_name(err), gp_last_error(), gp_error_name(code));
	cr_expect_str_eq(gp_last_error(), message);
	expect_rolled_back(desc);
	gp_model_desc_free(desc);
}

static void expect_bad(const char *header, uint64_t data_len, int code, const char *message)
{
	char *json = gp_test_st_json(header);

	expect_bad_bytes(json, strlen(json), data_len, code, message);
	free(json);
}

/* Syntax errors: the start is fixed, the rest names the defect and where. */
static void expect_bad_json(const char *header, const char *detail)
{
	struct gp_model_desc *desc = new_desc(1);
	char *json = gp_test_st_json(header);
	int err = parse_bytes(desc, 0, json, strlen(json), 0);

	cr_expect_eq(err, GP_EFORMAT, "'%s' was not rejected: %s", json, gp_last_error());
	cr_expect_eq(strncmp(gp_last_error(), FILE_NAME ": header is not valid JSON: ",
			     strlen(FILE_NAME ": header is not valid JSON: ")), 0, "%s",
		     gp_last_error());
	cr_expect_not_null(strstr(gp_last_error(), detail), "'%s' lacks '%s'", gp_last_error(),
			   detail);
	expect_rolled_back(desc);
	free(json);
	gp_model_desc_free(desc);
}

#define W_F32_2x2 "'w': {'dtype': 'F32', 'shape': [2, 2], 'data_offsets': [0, 16]}"

Test(safetensors, single_tensor)
{
	const char *header = "{" W_F32_2x2 "}";
	struct gp_model_desc *desc = parse_ok(header, 16);
	const struct gp_st_tensor *t = &desc->tensors[0];
	uint64_t n = strlen(header);

	cr_assert_eq(desc->n_tensors, 1);
	cr_assert_str_eq(t->name, "w");
	cr_assert_eq(t->dtype, GP_DTYPE_F32);
	cr_assert_eq(t->ndim, 2);
	cr_assert(t->shape[0] == 2 && t->shape[1] == 2);
	cr_assert_eq(t->nbytes, 16);
	cr_assert_eq(t->file, 0);
	cr_assert_eq(t->file_offset, 8 + n);
	cr_assert_eq(desc->tensor_bytes, 16);
	cr_assert_eq(desc->files[0].header_len, n);
	cr_assert_eq(desc->files[0].data_start, 8 + n);
	cr_assert_eq(desc->files[0].size, 8 + n + 16);
	cr_assert_eq(desc->files[0].n_tensors, 1);
	gp_model_desc_free(desc);
}

/* Tensors come out ordered by offset whatever the JSON order; offsets are absolute. */
Test(safetensors, tensors_ordered_by_offset)
{
	const char *header = "{'c': {'dtype': 'U8', 'shape': [3], 'data_offsets': [10, 13]},"
			     " 'a': {'dtype': 'I16', 'shape': [1, 4], 'data_offsets': [2, 10]},"
			     " 'b': {'dtype': 'BF16', 'shape': [], 'data_offsets': [0, 2]}}";
	struct gp_model_desc *desc = parse_ok(header, 13);
	const char *order[] = { "b", "a", "c" };
	const uint64_t begin[] = { 0, 2, 10 };

	cr_assert_eq(desc->n_tensors, 3);
	for (int i = 0; i < 3; i++) {
		cr_expect_str_eq(desc->tensors[i].name, order[i]);
		cr_expect_eq(desc->tensors[i].file_offset, 8 + strlen(header) + begin[i]);
	}
	cr_expect_eq(desc->tensors[0].ndim, 0, "a scalar has no dimensions");
	cr_expect_eq(desc->tensors[0].nbytes, 2, "a scalar holds one element");
	cr_expect_eq(desc->tensor_bytes, 13);
	gp_model_desc_free(desc);
}

Test(safetensors, every_dtype_and_its_size)
{
	static const struct {
		const char *name;
		enum gp_dtype dtype;
		uint64_t size;
	} cases[] = {
		{ "BOOL", GP_DTYPE_BOOL, 1 }, { "U8", GP_DTYPE_U8, 1 },
		{ "I8", GP_DTYPE_I8, 1 },     { "I16", GP_DTYPE_I16, 2 },
		{ "U16", GP_DTYPE_U16, 2 },   { "I32", GP_DTYPE_I32, 4 },
		{ "U32", GP_DTYPE_U32, 4 },   { "I64", GP_DTYPE_I64, 8 },
		{ "U64", GP_DTYPE_U64, 8 },   { "F16", GP_DTYPE_F16, 2 },
		{ "BF16", GP_DTYPE_BF16, 2 }, { "F32", GP_DTYPE_F32, 4 },
		{ "F64", GP_DTYPE_F64, 8 },   { "F8_E4M3", GP_DTYPE_F8_E4M3, 1 },
		{ "F8_E5M2", GP_DTYPE_F8_E5M2, 1 }, { "F8_E8M0", GP_DTYPE_F8_E8M0, 1 },
		{ "F8_E4M3FNUZ", GP_DTYPE_F8_E4M3FNUZ, 1 },
		{ "F8_E5M2FNUZ", GP_DTYPE_F8_E5M2FNUZ, 1 }, { "C64", GP_DTYPE_C64, 8 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char header[128];
		struct gp_model_desc *desc;

		snprintf(header, sizeof(header),
			 "{'t': {'dtype': '%s', 'shape': [3], 'data_offsets': [0, %llu]}}",
			 cases[i].name, (unsigned long long)(3 * cases[i].size));
		desc = parse_ok(header, 3 * cases[i].size);
		cr_expect_eq(desc->tensors[0].dtype, cases[i].dtype, "%s", cases[i].name);
		cr_expect_eq(desc->tensors[0].nbytes, 3 * cases[i].size, "%s", cases[i].name);
		gp_model_desc_free(desc);
	}
}

/* Empty tensors sharing an offset come first there, then by name. */
Test(safetensors, zero_size_tensors)
{
	struct gp_model_desc *desc = parse_ok(
		"{'z': {'dtype': 'F16', 'shape': [4, 0], 'data_offsets': [8, 8]},"
		" 'y': {'dtype': 'F16', 'shape': [0], 'data_offsets': [0, 0]},"
		" 'w': {'dtype': 'F16', 'shape': [4], 'data_offsets': [0, 8]},"
		" 'v': {'dtype': 'U8', 'shape': [0, 7], 'data_offsets': [8, 8]}}", 8);
	const char *order[] = { "y", "w", "v", "z" };

	cr_assert_eq(desc->n_tensors, 4);
	for (int i = 0; i < 4; i++)
		cr_expect_str_eq(desc->tensors[i].name, order[i]);
	cr_expect_eq(desc->tensors[3].nbytes, 0);
	cr_expect_eq(desc->tensor_bytes, 8);
	gp_model_desc_free(desc);
}

Test(safetensors, empty_header_object)
{
	struct gp_model_desc *desc = parse_ok("{}", 0);

	cr_expect_eq(desc->n_tensors, 0);
	gp_model_desc_free(desc);
	expect_bad("{}", 5, GP_EFORMAT,
		   FILE_NAME ": the tensors end at data offset 0 but the data buffer has 5 bytes");
}

Test(safetensors, trailing_spaces_accepted)
{
	struct gp_model_desc *desc = parse_ok("{" W_F32_2x2 "}     ", 16);

	cr_expect_eq(desc->n_tensors, 1);
	gp_model_desc_free(desc);
}

/* JSON whitespace (space, \t, \n, \r) before, inside and after, as serde_json reads it. */
Test(safetensors, json_whitespace_around_header_accepted)
{
	static const char *const headers[] = {
		"{" W_F32_2x2 "}\n",
		"{" W_F32_2x2 "}\r\n\t  ",
		"\n {" W_F32_2x2 "}",
		" \t\r\n{ \n'w'\t:\r{ 'dtype' :'F32' ,\n'shape':[ 2 ,2 ], 'data_offsets' : [0,16]\n} \n}\n",
	};

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		struct gp_model_desc *desc = parse_ok(headers[i], 16);

		cr_expect_eq(desc->n_tensors, 1, "%s", headers[i]);
		cr_expect_eq(desc->tensors[0].nbytes, 16, "%s", headers[i]);
		gp_model_desc_free(desc);
	}
	/* Form feed and vertical tab are not JSON whitespace. */
	expect_bad("{}\f", 0, GP_EFORMAT,
		   FILE_NAME ": header must be a JSON object followed only by whitespace (found more at byte 2)");
	expect_bad("\v{}", 0, GP_EFORMAT, FILE_NAME ": header does not start with a JSON object '{'");
}

/* The reference's sub-byte and newer dtypes, sized as its bitsize() / 8. */
Test(safetensors, sub_byte_and_newer_dtypes)
{
	static const struct {
		const char *dtype, *shape;
		uint64_t bytes;
		enum gp_dtype id;
	} ok[] = {
		{ "F4", "[4]", 2, GP_DTYPE_F4 },           { "F4", "[3, 2]", 3, GP_DTYPE_F4 },
		{ "F6_E2M3", "[4]", 3, GP_DTYPE_F6_E2M3 }, { "F6_E3M2", "[2, 8]", 12, GP_DTYPE_F6_E3M2 },
		{ "F4", "[0, 3]", 0, GP_DTYPE_F4 },        { "C64", "[3]", 24, GP_DTYPE_C64 },
		{ "F8_E4M3FNUZ", "[5]", 5, GP_DTYPE_F8_E4M3FNUZ },
		{ "F8_E5M2FNUZ", "[5]", 5, GP_DTYPE_F8_E5M2FNUZ },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char header[160];
		struct gp_model_desc *desc;

		snprintf(header, sizeof(header),
			 "{'t': {'dtype': '%s', 'shape': %s, 'data_offsets': [0, %llu]}}", ok[i].dtype,
			 ok[i].shape, (unsigned long long)ok[i].bytes);
		desc = parse_ok(header, ok[i].bytes);
		cr_expect_eq(desc->tensors[0].dtype, ok[i].id, "%s", header);
		cr_expect_eq(desc->tensors[0].nbytes, ok[i].bytes, "%s", header);
		gp_model_desc_free(desc);
	}
	expect_bad("{'w': {'dtype': 'F4', 'shape': [3], 'data_offsets': [0, 2]}}", 2, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': shape [3] of F4 is 12 bits, not a whole number of bytes");
	expect_bad("{'w': {'dtype': 'F6_E2M3', 'shape': [1, 3], 'data_offsets': [0, 3]}}", 3,
		   GP_EFORMAT,
		   FILE_NAME ": tensor 'w': shape [1, 3] of F6_E2M3 is 18 bits, not a whole number of bytes");
	expect_bad("{'w': {'dtype': 'F4', 'shape': [4], 'data_offsets': [0, 4]}}", 4, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': data_offsets [0, 4] hold 4 bytes but shape [4] of F4 needs 2");
	expect_bad("{'w': {'dtype': 'F4', 'shape': [4611686018427387904], 'data_offsets': [0, 0]}}",
		   0, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': shape [4611686018427387904] of F4 overflows 64 bits");
}

/* serde_json reads -0 as the float -0.0, which the reference rejects for a usize. */
Test(safetensors, minus_zero_rejected)
{
	expect_bad("{'w': {'dtype': 'U8', 'shape': [-0], 'data_offsets': [0, 0]}}", 0, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': shape[0] is -0, not an integer in [0, 2^64-1] (no sign, fraction or exponent)");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [0], 'data_offsets': [-0, 0]}}", 0, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': data_offsets[0] is -0, not an integer in [0, 2^64-1] (no sign, fraction or exponent)");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [0], 'data_offsets': [0, -0]}}", 0, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': data_offsets[1] is -0, not an integer in [0, 2^64-1] (no sign, fraction or exponent)");
}

/* Integers are exact up to 2^64-1, the reference's usize on 64-bit machines. */
Test(safetensors, integers_up_to_2_64_minus_1)
{
	struct gp_model_desc *desc = parse_ok(
		"{'z': {'dtype': 'F32', 'shape': [0, 18446744073709551615], 'data_offsets': [4, 4]},"
		" 'w': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}", 4);
	char text[GP_ST_SHAPE_TEXT];

	cr_assert_eq(desc->n_tensors, 2);
	cr_expect_str_eq(desc->tensors[1].name, "z");
	cr_expect_eq((uint64_t)desc->tensors[1].shape[1], UINT64_MAX);
	cr_expect_eq(desc->tensors[1].nbytes, 0);
	gp_st_format_shape(&desc->tensors[1], text, sizeof(text));
	cr_expect_str_eq(text, "[0, 18446744073709551615]");
	gp_model_desc_free(desc);
	expect_bad("{'w': {'dtype': 'U8', 'shape': [0, 18446744073709551616], 'data_offsets': [0, 0]}}",
		   0, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': shape[1] is 18446744073709551616, not an integer in [0, 2^64-1] (no sign, fraction or exponent)");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [2, 9223372036854775808], 'data_offsets': [0, 0]}}",
		   0, GP_EFORMAT, FILE_NAME ": tensor 'w': element count overflows 64 bits");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [0], 'data_offsets': [18446744073709551615, 18446744073709551615]}}",
		   0, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': data_offsets end 18446744073709551615 is past the data buffer (0 bytes)");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [0], 'data_offsets': [0, 99999999999999999999999]}}",
		   0, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': data_offsets[1] is 99999999999999999999999, not an integer in [0, 2^64-1] (no sign, fraction or exponent)");
}

Test(safetensors, duplicate_field_names_the_tensor)
{
	expect_bad("{'w': {'dtype': 'U8', 'shape': [1], 'dtype': 'U8', 'data_offsets': [0, 1]}}", 1,
		   GP_EFORMAT, FILE_NAME ": tensor 'w': duplicate key 'dtype'");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [1], 'data_offsets': [0, 1], 'shape': [1]}}", 1,
		   GP_EFORMAT, FILE_NAME ": tensor 'w': duplicate key 'shape'");
	expect_bad("{'a': {'dtype': 'U8', 'shape': [1], 'data_offsets': [0, 1]},"
		   " 'a': {'dtype': 'U8', 'shape': [1], 'data_offsets': [1, 2]}}", 2, GP_EFORMAT,
		   FILE_NAME ": tensor 'a': the name appears twice in the header");
	expect_bad("{'__metadata__': {}, '__metadata__': {}}", 0, GP_EFORMAT,
		   FILE_NAME ": __metadata__ appears twice");
	expect_bad("{'__metadata__': {'k': 'a', 'k': 'b'}}", 0, GP_EFORMAT,
		   FILE_NAME ": __metadata__ has the key 'k' twice");
}

Test(safetensors, nul_in_a_name_names_the_tensor)
{
	expect_bad("{'a\\u0000b': {'dtype': 'U8', 'shape': [1], 'data_offsets': [0, 1]}}", 1,
		   GP_EFORMAT,
		   FILE_NAME ": tensor 'a\\u0000b': the name contains a NUL character (\\u0000), which tensor names cannot hold");
}

/* Escapes decode as JSON says; the name is the decoded text. */
Test(safetensors, escaped_names_decoded)
{
	struct gp_model_desc *desc = parse_ok(
		"{'\\u0062lock\\u00e9\\ud83d\\ude00\\n\\/\\'': {'dtype': 'U8', 'shape': [1],"
		" 'data_offsets': [0, 1]}, '\\u005f_metadata__': {'k': 'v\\t'}}", 1);

	cr_assert_eq(desc->n_tensors, 1);
	cr_expect_str_eq(desc->tensors[0].name, "block\xc3\xa9\xf0\x9f\x98\x80\n/\"");
	cr_assert_eq(desc->files[0].n_metadata, 1);
	cr_expect_str_eq(desc->files[0].metadata_values[0], "v\t");
	gp_model_desc_free(desc);
}

/* The reference's Option<HashMap> takes null as no metadata. */
Test(safetensors, null_metadata_accepted)
{
	struct gp_model_desc *desc = parse_ok("{'__metadata__': null, " W_F32_2x2 "}", 16);

	cr_expect_eq(desc->n_tensors, 1);
	cr_expect_eq(desc->files[0].n_metadata, 0);
	gp_model_desc_free(desc);
}

Test(safetensors, metadata_stored)
{
	struct gp_model_desc *desc = parse_ok(
		"{'__metadata__': {'format': 'pt', 'note': ''}, " W_F32_2x2 "}", 16);
	const struct gp_st_file *f = &desc->files[0];

	cr_assert_eq(desc->n_tensors, 1, "__metadata__ is not a tensor");
	cr_assert_eq(f->n_metadata, 2);
	for (size_t i = 0; i < 2; i++) {
		const char *expected = !strcmp(f->metadata_keys[i], "format") ? "pt" : "";

		cr_expect(!strcmp(f->metadata_keys[i], "format") ||
			  !strcmp(f->metadata_keys[i], "note"), "%s", f->metadata_keys[i]);
		cr_expect_str_eq(f->metadata_values[i], expected);
	}
	cr_expect_str_neq(f->metadata_keys[0], f->metadata_keys[1]);
	gp_model_desc_free(desc);
}

Test(safetensors, header_length_rules)
{
	struct gp_model_desc *desc = new_desc(1);

	cr_expect_eq(gp_st_parse_header(desc, 0, "", 0, 8, FILE_NAME), GP_EFORMAT);
	cr_expect_str_eq(gp_last_error(), FILE_NAME ": header length is 0");
	cr_expect_eq(gp_st_parse_header(desc, 0, "", GP_ST_MAX_HEADER + 1, 1ull << 40, FILE_NAME),
		     GP_EFORMAT);
	cr_expect_str_eq(gp_last_error(),
			 FILE_NAME ": header length 100000001 exceeds the limit of 100000000 bytes");
	cr_expect_eq(gp_st_parse_header(desc, 0, "{}", 2, 9, FILE_NAME), GP_EFORMAT);
	cr_expect_str_eq(gp_last_error(),
			 FILE_NAME ": header length 2 runs past the end of the file (9 bytes)");
	expect_rolled_back(desc);
	gp_model_desc_free(desc);
}

Test(safetensors, header_text_rules)
{
	expect_bad("[1]", 0, GP_EFORMAT,
		   FILE_NAME ": header does not start with a JSON object '{'");
	expect_bad("      ", 0, GP_EFORMAT,
		   FILE_NAME ": header does not start with a JSON object '{'");
	expect_bad("{} x", 0, GP_EFORMAT,
		   FILE_NAME ": header must be a JSON object followed only by whitespace (found more at byte 3)");
	expect_bad("{} {}", 0, GP_EFORMAT,
		   FILE_NAME ": header must be a JSON object followed only by whitespace (found more at byte 3)");
	expect_bad_bytes("{}\0 ", 4, 0, GP_EFORMAT, FILE_NAME ": header contains a NUL byte");
	expect_bad_bytes("{\0}", 3, 0, GP_EFORMAT, FILE_NAME ": header contains a NUL byte");
	expect_bad("{'\xff': 1}", 0, GP_EFORMAT,
		   FILE_NAME ": header is not valid UTF-8: byte 0xff at byte 2");
	expect_bad("{'w\xc3': 1}", 0, GP_EFORMAT,
		   FILE_NAME ": header is not valid UTF-8: byte 0xc3 at byte 3");
	expect_bad("{'\xed\xa0\x80': 1}", 0, GP_EFORMAT,
		   FILE_NAME ": header is not valid UTF-8: byte 0xed at byte 2");
	expect_bad("{'\xc0\x80': 1}", 0, GP_EFORMAT,
		   FILE_NAME ": header is not valid UTF-8: byte 0xc0 at byte 2");
}

Test(safetensors, header_json_rules)
{
	expect_bad_json("{'w' }", "expected ':' after an object key at byte 5");
	expect_bad_json("{'w': {'dtype': 'U8' 'shape': [1]}}", "expected ',' or '}' in an object at byte 21");
	expect_bad_json("{'w': {'dtype': 'U8', 'shape': [1 2]}}", "expected ',' or ']' in an array at byte 34");
	expect_bad_json("{'w': {'dtype': 'U8', 'shape': [01]}}", "expected ',' or ']' in an array at byte 33");
	expect_bad_json("{'w': {'dtype': 'U8', 'shape': [1.]}}", "invalid number at byte 34");
	expect_bad_json("{'w': {'dtype': 'U8', 'shape': [-]}}", "invalid number at byte 33");
	expect_bad_json("{'w': {'dtype': 'U8', 'shape': [1e]}}", "invalid number at byte 34");
	expect_bad_json("{'w\\x': 1}", "invalid escape at byte 3");
	expect_bad_json("{'w\\u12': 1}", "invalid \\u escape at byte 3");
	expect_bad_json("{'w\\ud800': 1}", "lone high surrogate in a \\u escape at byte 3");
	expect_bad_json("{'w\\udc00': 1}", "lone low surrogate in a \\u escape at byte 3");
	expect_bad_json("{'w\t': 1}", "control character in a string at byte 3");
	expect_bad_json("{'w", "unterminated string at the end of the header");
	expect_bad_json("{", "expected a string at the end of the header");
	expect_bad_json("{'w': {'dtype': 'U8',", "expected a string at the end of the header");
	expect_bad_json("{,}", "expected a string at byte 1");
}

Test(safetensors, entry_rules)
{
	expect_bad("{'w': [1]}", 0, GP_EFORMAT, FILE_NAME ": tensor 'w': entry is not an object");
	expect_bad("{'w': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4], 'extra': 1}}", 4,
		   GP_EFORMAT, FILE_NAME ": tensor 'w': unknown key 'extra'");
	expect_bad("{'w': {'shape': [1], 'data_offsets': [0, 4]}}", 4, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': missing 'dtype'");
	expect_bad("{'w': {'dtype': 'F32', 'data_offsets': [0, 4]}}", 4, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': missing 'shape'");
	expect_bad("{'w': {'dtype': 'F32', 'shape': [1]}}", 4, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': missing 'data_offsets'");
	expect_bad("{'': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}", 4, GP_EFORMAT,
		   FILE_NAME ": a tensor has an empty name");
}

Test(safetensors, dtype_rules)
{
	expect_bad("{'w': {'dtype': 4, 'shape': [1], 'data_offsets': [0, 4]}}", 4, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': dtype is not a string");
	expect_bad("{'w': {'dtype': 'F2', 'shape': [1], 'data_offsets': [0, 4]}}", 4,
		   GP_EUNSUPPORTED, FILE_NAME ": tensor 'w': unsupported dtype 'F2'");
	expect_bad("{'w': {'dtype': 'C128', 'shape': [1], 'data_offsets': [0, 16]}}", 16,
		   GP_EUNSUPPORTED, FILE_NAME ": tensor 'w': unsupported dtype 'C128'");
	expect_bad("{'w': {'dtype': 'f32', 'shape': [1], 'data_offsets': [0, 4]}}", 4,
		   GP_EUNSUPPORTED, FILE_NAME ": tensor 'w': unsupported dtype 'f32'");
}

Test(safetensors, shape_rules)
{
	expect_bad("{'w': {'dtype': 'U8', 'shape': 4, 'data_offsets': [0, 4]}}", 4, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': shape is not an array");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [2, -2], 'data_offsets': [0, 4]}}", 4,
		   GP_EFORMAT, FILE_NAME ": tensor 'w': shape[1] is -2, not an integer in [0, 2^64-1] (no sign, fraction or exponent)");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [4.0], 'data_offsets': [0, 4]}}", 4,
		   GP_EFORMAT, FILE_NAME ": tensor 'w': shape[0] is 4.0, not an integer in [0, 2^64-1] (no sign, fraction or exponent)");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [4e0], 'data_offsets': [0, 4]}}", 4,
		   GP_EFORMAT, FILE_NAME ": tensor 'w': shape[0] is 4e0, not an integer in [0, 2^64-1] (no sign, fraction or exponent)");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [null], 'data_offsets': [0, 4]}}", 4,
		   GP_EFORMAT, FILE_NAME ": tensor 'w': shape[0] is not a non-negative integer");
	expect_bad("{'w': {'dtype': 'U8', 'shape': ['4'], 'data_offsets': [0, 4]}}", 4,
		   GP_EFORMAT, FILE_NAME ": tensor 'w': shape[0] is not a non-negative integer");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [1,1,1,1,1,1,1,1,1], 'data_offsets': [0, 1]}}",
		   1, GP_EUNSUPPORTED,
		   FILE_NAME ": tensor 'w': 9 dimensions (at most 8 supported)");
}

Test(safetensors, eight_dimensions_accepted)
{
	struct gp_model_desc *desc =
		parse_ok("{'w': {'dtype': 'U8', 'shape': [1,2,1,2,1,2,1,2], 'data_offsets': [0, 16]}}",
			 16);

	cr_expect_eq(desc->tensors[0].ndim, 8);
	cr_expect_eq(desc->tensors[0].shape[7], 2);
	gp_model_desc_free(desc);
}

Test(safetensors, size_overflow_rules)
{
	expect_bad("{'w': {'dtype': 'U8', 'shape': [4294967296, 4294967296], 'data_offsets': [0, 0]}}",
		   0, GP_EFORMAT, FILE_NAME ": tensor 'w': element count overflows 64 bits");
	expect_bad("{'w': {'dtype': 'F32', 'shape': [4611686018427387904], 'data_offsets': [0, 0]}}",
		   0, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': shape [4611686018427387904] of F32 overflows 64 bits");
	/* A zero dimension makes the count 0 whatever the others are. */
	expect_bad("{'w': {'dtype': 'U8', 'shape': [0, 9223372036854775807, 9223372036854775807],"
		   " 'data_offsets': [0, 1]}}", 1, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': data_offsets [0, 1] hold 1 bytes but shape [0, "
			     "9223372036854775807, 9223372036854775807] of U8 needs 0");
}

Test(safetensors, data_offsets_rules)
{
	const char *shape_msg =
		FILE_NAME ": tensor 'w': data_offsets must be [begin, end] of non-negative integers";

	expect_bad("{'w': {'dtype': 'U8', 'shape': [4], 'data_offsets': 4}}", 4, GP_EFORMAT,
		   shape_msg);
	expect_bad("{'w': {'dtype': 'U8', 'shape': [4], 'data_offsets': [4]}}", 4, GP_EFORMAT,
		   shape_msg);
	expect_bad("{'w': {'dtype': 'U8', 'shape': [4], 'data_offsets': [0, 4, 8]}}", 4,
		   GP_EFORMAT, shape_msg);
	expect_bad("{'w': {'dtype': 'U8', 'shape': [4], 'data_offsets': ['0', 4]}}", 4, GP_EFORMAT,
		   shape_msg);
	expect_bad("{'w': {'dtype': 'U8', 'shape': [4], 'data_offsets': [-4, 0]}}", 4, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': data_offsets[0] is -4, not an integer in [0, 2^64-1] (no sign, fraction or exponent)");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [4], 'data_offsets': [0, 4.5]}}", 4,
		   GP_EFORMAT, FILE_NAME ": tensor 'w': data_offsets[1] is 4.5, not an integer in [0, 2^64-1] (no sign, fraction or exponent)");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [4], 'data_offsets': [8, 4]}}", 8, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': data_offsets [8, 4] end before begin");
	expect_bad("{'blocks.0.w': {'dtype': 'F32', 'shape': [2, 2], 'data_offsets': [0, 12]}}", 12,
		   GP_EFORMAT,
		   FILE_NAME ": tensor 'blocks.0.w': data_offsets [0, 12] hold 12 bytes but shape "
			     "[2, 2] of F32 needs 16");
}

Test(safetensors, tiling_rules)
{
	expect_bad("{'w': {'dtype': 'U8', 'shape': [4], 'data_offsets': [4, 8]}}", 8, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': hole in the data buffer: bytes [0, 4) belong to no tensor");
	expect_bad("{'a': {'dtype': 'U8', 'shape': [4], 'data_offsets': [0, 4]},"
		   " 'b': {'dtype': 'U8', 'shape': [4], 'data_offsets': [6, 10]}}", 10, GP_EFORMAT,
		   FILE_NAME ": tensor 'b': hole in the data buffer: bytes [4, 6) belong to no tensor");
	expect_bad("{'a': {'dtype': 'U8', 'shape': [4], 'data_offsets': [0, 4]},"
		   " 'b': {'dtype': 'U8', 'shape': [4], 'data_offsets': [2, 6]}}", 6, GP_EFORMAT,
		   FILE_NAME ": tensor 'b': data_offsets [2, 6] overlap the previous tensor");
	expect_bad("{'a': {'dtype': 'U8', 'shape': [4], 'data_offsets': [0, 4]},"
		   " 'b': {'dtype': 'U8', 'shape': [0], 'data_offsets': [2, 2]}}", 4, GP_EFORMAT,
		   FILE_NAME ": tensor 'b': data_offsets [2, 2] overlap the previous tensor");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [8], 'data_offsets': [0, 8]}}", 4, GP_EFORMAT,
		   FILE_NAME ": tensor 'w': data_offsets end 8 is past the data buffer (4 bytes)");
	expect_bad("{'w': {'dtype': 'U8', 'shape': [4], 'data_offsets': [0, 4]}}", 6, GP_EFORMAT,
		   FILE_NAME ": the tensors end at data offset 4 but the data buffer has 6 bytes");
}

Test(safetensors, metadata_rules)
{
	expect_bad("{'__metadata__': ['a'], " W_F32_2x2 "}", 16, GP_EFORMAT,
		   FILE_NAME ": __metadata__ is not an object");
	expect_bad("{" W_F32_2x2 ", '__metadata__': {'ok': 'x', 'n': 1}}", 16, GP_EFORMAT,
		   FILE_NAME ": __metadata__ value of 'n' is not a string");
	expect_bad("{'__metadata__': {'k': 'v'}, " W_F32_2x2 ", 'x': 1}", 16, GP_EFORMAT,
		   FILE_NAME ": tensor 'x': entry is not an object");
}

/* A bad second file leaves the first file's tensors as they were. */
Test(safetensors, failure_keeps_earlier_files)
{
	struct gp_model_desc *desc = new_desc(2);
	char *good = gp_test_st_json("{" W_F32_2x2 "}");
	char *bad = gp_test_st_json("{'__metadata__': {'k': 'v'}, 'v': {'dtype': 'F32', "
				    "'shape': [1], 'data_offsets': [0, 4]}, 'u': 7}");

	cr_assert_eq(parse_bytes(desc, 0, good, strlen(good), 16), 0, "%s", gp_last_error());
	cr_assert_eq(parse_bytes(desc, 1, bad, strlen(bad), 4), GP_EFORMAT);
	cr_expect_eq(desc->n_tensors, 1);
	cr_expect_str_eq(desc->tensors[0].name, "w");
	cr_expect_eq(desc->tensor_bytes, 16);
	cr_expect_eq(desc->files[1].n_metadata, 0);
	cr_expect_null(desc->files[1].metadata_keys);
	free(good);
	free(bad);
	gp_model_desc_free(desc);
}
