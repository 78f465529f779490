/*
 * test_inspect.c - `gpupager inspect` on small generated models: its --json
 * output checked number by number against gp_model_desc_load() of the same
 * path, and its exit status and messages on bad models and bad options.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/st_fixture.h"
#include "common/cli_run.h"
#include "model.h"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove a make_model() directory and everything in it. */
static void remove_model_dir(char *dir)
{
	cr_assert_eq(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0, "%s: %s", dir,
		     strerror(errno));
	free(dir);
}

/* A model from `gpupager mkmodel` in DIR/model; shard_size "" for one file.  Returns DIR. */
static char *make_model(const char *arch, const char *shard_size)
{
	char *dir = strdup("/tmp/gp-test-inspect-XXXXXX");
	char *model;
	struct gp_test_cli r;

	cr_assert(dir && mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	model = gp_test_st_path(dir, "model");
	r = gp_test_cli_run(*shard_size ? (const char *const[]){ "mkmodel", "--arch", arch, "--scale",
							      "0.03", "--shard-size", shard_size,
							      model, NULL }
				     : (const char *const[]){ "mkmodel", "--arch", arch, "--scale",
							      "0.03", model, NULL }, 0);
	cr_assert_eq(r.status, 0, "mkmodel %s: %s", arch, r.err);
	gp_test_cli_free(&r);
	free(model);
	return dir;
}

static uint64_t get_u64(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	cr_assert(json_is_integer(v), "JSON key '%s' missing or not an integer", key);
	return (uint64_t)json_integer_value(v);
}

static const char *get_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	cr_assert(json_is_string(v), "JSON key '%s' missing or not a string", key);
	return json_string_value(v);
}

static json_t *get_array(const json_t *obj, const char *key, size_t expected)
{
	json_t *v = json_object_get(obj, key);

	cr_assert(json_is_array(v), "JSON key '%s' missing or not an array", key);
	cr_assert_eq(json_array_size(v), expected, "'%s' has %zu entries, expected %zu", key,
		     json_array_size(v), expected);
	return v;
}

static void check_files(const json_t *root, const struct gp_model_desc *d)
{
	json_t *files = get_array(root, "files", d->n_files);

	for (uint32_t i = 0; i < d->n_files; i++) {
		json_t *f = json_array_get(files, i);

		cr_assert_str_eq(get_str(f, "name"), d->files[i].name);
		cr_assert_eq(get_u64(f, "size"), d->files[i].size);
		cr_assert_eq(get_u64(f, "tensors"), d->files[i].n_tensors);
		cr_assert_eq(get_u64(f, "header_bytes"), d->files[i].header_len);
	}
}

static void check_groups(const json_t *root, const struct gp_model_desc *d)
{
	json_t *groups = get_array(root, "groups", d->n_groups);

	for (uint32_t g = 0; g < d->n_groups; g++) {
		json_t *j = json_array_get(groups, g), *index = json_object_get(j, "block_index");
		const struct gp_group *grp = &d->groups[g];

		cr_assert_str_eq(get_str(j, "name"), grp->name, "group %u", g);
		if (grp->block_index < 0)
			cr_assert(json_is_null(index), "%s: block_index should be null", grp->name);
		else
			cr_assert_eq(json_integer_value(index), grp->block_index, "%s", grp->name);
		cr_assert_eq(get_u64(j, "tensors"), grp->n_tensors, "%s", grp->name);
		cr_assert_eq(get_u64(j, "bytes"), grp->nbytes, "%s", grp->name);
		cr_assert_eq(get_u64(j, "range_offset"), grp->range_offset, "%s", grp->name);
		cr_assert_eq(get_u64(j, "range_size"), grp->range_size, "%s", grp->name);
	}
}

static void check_tensor_list(const json_t *root, const struct gp_model_desc *d)
{
	json_t *list = get_array(root, "tensor_list", d->n_tensors);

	for (uint32_t i = 0; i < d->n_tensors; i++) {
		json_t *j = json_array_get(list, i);
		const struct gp_st_tensor *t = &d->tensors[i];
		json_t *shape = get_array(j, "shape", (size_t)t->ndim);

		cr_assert_str_eq(get_str(j, "name"), t->name);
		cr_assert_str_eq(get_str(j, "dtype"), gp_dtype_name(t->dtype), "%s", t->name);
		for (int k = 0; k < t->ndim; k++)
			cr_assert_eq(json_integer_value(json_array_get(shape, (size_t)k)),
				     t->shape[k], "%s: dim %d", t->name, k);
		cr_assert_eq(get_u64(j, "bytes"), t->nbytes, "%s", t->name);
		cr_assert_str_eq(get_str(j, "group"), d->groups[t->group].name, "%s", t->name);
		cr_assert_eq(get_u64(j, "range_offset"), t->range_offset, "%s", t->name);
		cr_assert_str_eq(get_str(j, "file"), d->files[t->file].name, "%s", t->name);
		cr_assert_eq(get_u64(j, "file_offset"), t->file_offset, "%s", t->name);
	}
}

/* The dtype histogram adds up to the model, and BF16 (the samples' dtype) holds it all. */
static void check_dtypes(const json_t *root, const struct gp_model_desc *d)
{
	json_t *dtypes = json_object_get(root, "dtypes"), *v;
	uint64_t count = 0, bytes = 0;
	const char *key;

	cr_assert(json_is_object(dtypes));
	json_object_foreach(dtypes, key, v) {
		count += get_u64(v, "tensors");
		bytes += get_u64(v, "bytes");
	}
	cr_assert_eq(count, d->n_tensors);
	cr_assert_eq(bytes, d->tensor_bytes);
	cr_assert_eq(get_u64(json_object_get(dtypes, "BF16"), "bytes"), d->tensor_bytes);
}

/* inspect --json --tensors [extra] on path equals gp_model_desc_load(path, chunk, pattern). */
static void expect_json_matches(const char *path, const char *arch, const char *const *extra,
				uint64_t chunk, const char *pattern)
{
	const char *args[12] = { "inspect", path, "--json", "--tensors" };
	struct gp_model_desc *d;
	json_error_t jerr;
	json_t *root;
	struct gp_test_cli r;
	int n = 4;

	for (; extra && *extra; extra++)
		args[n++] = *extra;
	r = gp_test_cli_run(args, 0);
	cr_assert_eq(r.status, 0, "inspect %s: %s", path, r.err);
	root = json_loads(r.out, 0, &jerr);
	cr_assert(root, "inspect --json output is not JSON: %s", jerr.text);
	cr_assert_eq(gp_model_desc_load(path, chunk, pattern, &d), 0, "%s", gp_last_error());

	cr_assert_str_eq(get_str(root, "model"), path);
	cr_assert_eq(get_u64(root, "tensors"), d->n_tensors);
	cr_assert_eq(get_u64(root, "tensor_bytes"), d->tensor_bytes);
	cr_assert_eq(get_u64(root, "chunk_size"), d->chunk_size);
	cr_assert_eq(get_u64(root, "range_size"), d->range_size);
	cr_assert_eq(get_u64(root, "padding_bytes"), d->range_size - d->tensor_bytes);
	cr_assert_float_eq(json_real_value(json_object_get(root, "padding_percent")),
			   100.0 * (double)(d->range_size - d->tensor_bytes) /
				   (double)d->tensor_bytes, 1e-9);
	cr_assert_str_eq(get_str(json_object_get(root, "metadata"), "gpupager.arch"), arch);
	check_files(root, d);
	check_dtypes(root, d);
	check_groups(root, d);
	check_tensor_list(root, d);

	gp_model_desc_free(d);
	json_decref(root);
	gp_test_cli_free(&r);
}

Test(inspect, json_matches_library_single_file)
{
	char *dir = make_model("flux-dev", "");
	char *path = gp_test_st_path(dir, "model/model.safetensors");

	expect_json_matches(path, "flux-dev", NULL, 0, NULL);
	free(path);
	remove_model_dir(dir);
}

Test(inspect, json_matches_library_sharded)
{
	char *dir = make_model("llama3-8b", "4M");
	char *path = gp_test_st_path(dir, "model");

	expect_json_matches(path, "llama3-8b", NULL, 0, NULL);
	free(path);
	remove_model_dir(dir);
}

Test(inspect, chunk_size_and_group_pattern)
{
	char *dir = make_model("wan2.1-14b", "");
	char *path = gp_test_st_path(dir, "model");

	expect_json_matches(path, "wan2.1-14b", (const char *const[]){ "--chunk-size", "64K", NULL },
			    64 << 10, NULL);
	/* Blocks of the pattern's choosing: only self-attention tensors form blocks. */
	expect_json_matches(path, "wan2.1-14b",
			    (const char *const[]){ "--group-pattern",
						   "^blocks\\.([0-9]+)\\.self_attn", NULL },
			    0, "^blocks\\.([0-9]+)\\.self_attn");
	free(path);
	remove_model_dir(dir);
}

Test(inspect, text_output)
{
	char *dir = make_model("llama3-8b", "4M");
	char *path = gp_test_st_path(dir, "model");
	struct gp_test_cli r = gp_test_cli_run((const char *const[]){ "inspect", path, "--tensors", NULL }, 0);

	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "model-00001-of-"), "no file table:\n%s", r.out);
	cr_assert(strstr(r.out, "gpupager.arch") && strstr(r.out, "llama3-8b"), "no metadata:\n%s",
		  r.out);
	cr_assert(strstr(r.out, "forward order"), "no group table:\n%s", r.out);
	cr_assert(strstr(r.out, " model.layers.31 "), "no group model.layers.31:\n%s", r.out);
	cr_assert(strstr(r.out, "padding"), "no padding line:\n%s", r.out);
	cr_assert(strstr(r.out, " lm_head.weight "), "no tensor table:\n%s", r.out);
	cr_assert(strstr(r.out, " MiB"), "sizes not humanised:\n%s", r.out);
	cr_assert_str_empty(r.err);
	gp_test_cli_free(&r);
	free(path);
	remove_model_dir(dir);
}

static void expect_failure(const char *const *args, int status, const char *words)
{
	struct gp_test_cli r = gp_test_cli_run(args, 0);

	cr_assert_eq(r.status, status, "gpupager %s %s: exit %d, expected %d (%s)", args[0],
		     args[1] ? args[1] : "", r.status, status, r.err);
	cr_assert(strstr(r.err, "gpupager inspect: "), "stderr: %s", r.err);
	cr_assert(strstr(r.err, words), "stderr lacks '%s': %s", words, r.err);
	cr_assert_str_empty(r.out);
	gp_test_cli_free(&r);
}

Test(inspect, invalid_models)
{
	char *dir = gp_test_st_dir_new();
	char *bad = gp_test_st_path(dir, "bad.safetensors");
	char *missing = gp_test_st_path(dir, "missing.safetensors");

	gp_test_st_write_bytes(dir, "bad.safetensors", "\x04\0\0\0\0\0\0\0{{{{", 12);
	expect_failure((const char *const[]){ "inspect", bad, NULL }, 1, "bad.safetensors");
	expect_failure((const char *const[]){ "inspect", missing, "--json", NULL }, 1,
		       "missing.safetensors");
	free(bad);
	free(missing);
	gp_test_st_dir_remove(dir);
}

Test(inspect, pattern_capturing_the_wrong_part)
{
	char *dir = make_model("llama3-8b", "");
	char *path = gp_test_st_path(dir, "model");

	expect_failure((const char *const[]){ "inspect", path, "--group-pattern",
					      "^(model)\\.layers\\.([0-9]+)", NULL },
		       1, "'model', not a block index");
	free(path);
	remove_model_dir(dir);
}

Test(inspect, usage_errors)
{
	expect_failure((const char *const[]){ "inspect", "--bogus", "x", NULL }, 2,
		       "Try 'gpupager inspect --help'");
	expect_failure((const char *const[]){ "inspect", NULL }, 2, "no MODEL given");
	expect_failure((const char *const[]){ "inspect", "a", "b", NULL }, 2,
		       "more than one MODEL");
	expect_failure((const char *const[]){ "inspect", "x", "--chunk-size", "3M", NULL }, 2,
		       "power of two");
	expect_failure((const char *const[]){ "inspect", "x", "--chunk-size", "lots", NULL }, 2,
		       "--chunk-size");
}

Test(inspect, help)
{
	struct gp_test_cli r = gp_test_cli_run((const char *const[]){ "inspect", "--help", NULL }, 0);

	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "usage: gpupager inspect MODEL"), "%s", r.out);
	for (const char *const *opt = (const char *const[]){ "--json", "--tensors", "--chunk-size",
							     "--group-pattern", "mid_block",
							     "chunk boundary", "Exit status", NULL };
	     *opt; opt++)
		cr_assert(strstr(r.out, *opt), "--help does not mention %s", *opt);
	gp_test_cli_free(&r);
}

/*
 * A path that is not UTF-8 (Linux allows any bytes but '/' and NUL): --json
 * still prints, with each invalid byte as U+FFFD.
 */
Test(inspect, json_path_not_utf8)
{
	char *dir = strdup("/tmp/gp-test-inspect-XXXXXX"), *sub, *model;
	struct gp_test_cli r;
	json_error_t jerr;
	json_t *j, *file;

	cr_assert(dir && mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	sub = gp_test_st_path(dir, "m\xff\xc3");
	cr_assert_eq(mkdir(sub, 0755), 0, "%s", strerror(errno));
	gp_test_st_write(sub, "w\xfe.safetensors",
			 "{'w': {'dtype': 'U8', 'shape': [4], 'data_offsets': [0, 4]}}", 4);
	cr_assert_geq(asprintf(&model, "%s/w\xfe.safetensors", sub), 0);
	r = gp_test_cli_run((const char *const[]){ "inspect", "--json", "--tensors", sub, NULL }, 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	j = json_loads(r.out, 0, &jerr);
	cr_assert_not_null(j, "%s: %s", jerr.text, r.out);
	{
		char *shown;

		cr_assert_geq(asprintf(&shown, "%s/m\xef\xbf\xbd\xef\xbf\xbd", dir), 0);
		cr_expect_str_eq(json_string_value(json_object_get(j, "model")), shown);
		free(shown);
	}
	json_decref(j);
	gp_test_cli_free(&r);
	r = gp_test_cli_run((const char *const[]){ "inspect", "--json", "--tensors", model, NULL }, 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	j = json_loads(r.out, 0, &jerr);
	cr_assert_not_null(j, "%s: %s", jerr.text, r.out);
	cr_expect_not_null(strstr(json_string_value(json_object_get(j, "model")),
				  "/m\xef\xbf\xbd\xef\xbf\xbd/w\xef\xbf\xbd.safetensors"), "%s",
			   json_string_value(json_object_get(j, "model")));
	file = json_array_get(json_object_get(j, "files"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(file, "name")),
			 "w\xef\xbf\xbd.safetensors");
	file = json_array_get(json_object_get(j, "tensor_list"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(file, "file")),
			 "w\xef\xbf\xbd.safetensors");
	json_decref(j);
	gp_test_cli_free(&r);
	free(model);
	free(sub);
	remove_model_dir(dir);
}
