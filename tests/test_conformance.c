/*
 * test_conformance.c - files written by the reference safetensors package
 * (tests/conformance/write_reference.py, committed under
 * tests/data/reference/ so no Python is needed here) read back through
 * gp_model_desc_open: every tensor's name, dtype, shape and offsets as the
 * reference's reader gave them in manifest.json, its bytes by checksum, the
 * file's metadata; and every file the reference rejects is rejected too.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "model.h"

#define REF_DIR GP_SOURCE_DIR "/tests/data/reference"

static json_t *load_manifest(void)
{
	json_error_t jerr;
	json_t *m = json_load_file(REF_DIR "/manifest.json", 0, &jerr);

	cr_assert_not_null(m, "manifest.json: %s (line %d)", jerr.text, jerr.line);
	cr_assert(json_is_array(json_object_get(m, "files")));
	return m;
}

static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	cr_assert_not_null(s, "manifest: no string '%s'", key);
	return s;
}

static uint64_t num(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	cr_assert(json_is_integer(v), "manifest: no integer '%s'", key);
	return (uint64_t)json_integer_value(v);
}

static uint64_t tensor_checksum(const char *path, const struct gp_st_tensor *t)
{
	char *buf = malloc(t->nbytes + 1);
	int fd = open(path, O_RDONLY);
	uint64_t sum;

	cr_assert_not_null(buf);
	cr_assert_geq(fd, 0, "%s: %m", path);
	cr_assert_eq(pread(fd, buf, t->nbytes, (off_t)t->file_offset), (ssize_t)t->nbytes,
		     "%s: tensor '%s'", path, t->name);
	close(fd);
	sum = gp_checksum(buf, t->nbytes);
	free(buf);
	return sum;
}

static void check_metadata(const struct gp_st_file *f, const json_t *meta, const char *file)
{
	const char *key;
	json_t *v;

	cr_expect_eq(f->n_metadata, json_object_size(meta), "%s: metadata count", file);
	json_object_foreach((json_t *)meta, key, v) {
		size_t i = 0;

		while (i < f->n_metadata && strcmp(f->metadata_keys[i], key))
			i++;
		cr_expect_lt(i, f->n_metadata, "%s: metadata '%s' missing", file, key);
		if (i < f->n_metadata)
			cr_expect_str_eq(f->metadata_values[i], json_string_value(v), "%s: metadata '%s'",
					 file, key);
	}
}

static void check_accepted(const json_t *entry, const char *file, const char *path)
{
	struct gp_model_desc *desc = NULL;
	const json_t *tensors = json_object_get(entry, "tensors");
	int err = gp_model_desc_open(path, &desc);

	cr_assert_eq(err, 0, "%s: the reference accepts it, we say %s: %s", file, gp_error_name(err),
		     gp_last_error());
	cr_assert_eq(desc->n_files, 1);
	cr_expect_eq(desc->files[0].header_len, num(entry, "header_len"), "%s", file);
	cr_expect_eq(desc->files[0].size, num(entry, "size"), "%s", file);
	check_metadata(&desc->files[0], json_object_get(entry, "metadata"), file);
	cr_assert_eq(desc->n_tensors, json_array_size(tensors), "%s: tensor count", file);
	for (uint32_t i = 0; i < desc->n_tensors; i++) {
		const struct gp_st_tensor *t = &desc->tensors[i];
		const json_t *e = json_array_get(tensors, i);
		char shape[GP_ST_SHAPE_TEXT];

		gp_st_format_shape(t, shape, sizeof(shape));
		cr_expect_str_eq(t->name, str(e, "name"), "%s: tensor %u", file, i);
		cr_expect_str_eq(gp_dtype_name(t->dtype), str(e, "dtype"), "%s: %s", file, t->name);
		cr_expect_str_eq(shape, str(e, "shape"), "%s: %s", file, t->name);
		cr_expect_eq(t->file_offset, num(e, "begin"), "%s: %s", file, t->name);
		cr_expect_eq(t->file_offset + t->nbytes, num(e, "end"), "%s: %s", file, t->name);
		cr_expect_eq(tensor_checksum(path, t), strtoull(str(e, "checksum"), NULL, 10),
			     "%s: %s: bytes differ", file, t->name);
	}
	gp_model_desc_free(desc);
}

Test(conformance, reference_files_agree)
{
	json_t *m = load_manifest(), *entry;
	unsigned accepted = 0, rejected = 0;
	size_t i;

	json_array_foreach(json_object_get(m, "files"), i, entry) {
		const char *file = str(entry, "file");
		char *path;

		cr_assert_geq(asprintf(&path, REF_DIR "/%s", file), 0);
		if (json_is_true(json_object_get(entry, "accepted"))) {
			check_accepted(entry, file, path);
			accepted++;
		} else {
			struct gp_model_desc *desc = NULL;
			int err = gp_model_desc_open(path, &desc);

			cr_expect_lt(err, 0, "%s: the reference rejects it (%s), we accept it", file,
				     str(entry, "error"));
			cr_expect_null(desc);
			cr_log_info("%s: reference: %s | ours: %s", file, str(entry, "error"),
				    gp_last_error());
			if (!err)
				gp_model_desc_free(desc);
			rejected++;
		}
		free(path);
	}
	cr_log_info("%s: %u files accepted and %u rejected by both", str(m, "reference"), accepted,
		    rejected);
	cr_expect_geq(accepted, 10, "the sweep lost files");
	cr_expect_geq(rejected, 15, "the sweep lost files");
	json_decref(m);
}
