/*
 * test_model_open.c - gp_model_desc_open on files in a temporary directory:
 * the accepted path forms, the 8-byte length prefix, shards checked against
 * their index, and gp_model_desc_load on top of it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cli_run.h"
#include "common/st_fixture.h"
#include "config.h"
#include "model.h"
#include "sample.h"


/* Two shards and their index: m-1 holds a, b (8 bytes), m-2 holds c (12 bytes). */
#define SHARD_1 "{'a': {'dtype': 'U8', 'shape': [4], 'data_offsets': [0, 4]}," \
		" 'b': {'dtype': 'F16', 'shape': [2], 'data_offsets': [4, 8]}}"
#define SHARD_2 "{'c': {'dtype': 'F32', 'shape': [3], 'data_offsets': [0, 12]}}"
#define WEIGHT_MAP "'weight_map': {'c': 'm-2.safetensors', 'a': 'm-1.safetensors'," \
		   " 'b': 'm-1.safetensors'}"
#define INDEX "{'metadata': {'total_size': 20}, " WEIGHT_MAP "}"
#define MODEL_INDEX "model.safetensors.index.json"

static char *dir;

static void make_dir(void)
{
	dir = gp_test_st_dir_new();
}

static void remove_dir(void)
{
	gp_test_st_dir_remove(dir);
}

TestSuite(model_open, .init = make_dir, .fini = remove_dir);

static void write_shards(void)
{
	gp_test_st_write(dir, "m-1.safetensors", SHARD_1, 8);
	gp_test_st_write(dir, "m-2.safetensors", SHARD_2, 12);
}

static struct gp_model_desc *open_ok(const char *path)
{
	struct gp_model_desc *desc = NULL;
	int err = gp_model_desc_open(path, &desc);

	cr_assert_eq(err, 0, "%s: %s: %s", path, gp_error_name(err), gp_last_error());
	cr_assert_not_null(desc);
	return desc;
}

static struct gp_model_desc *open_name_ok(const char *name)
{
	char *path = gp_test_st_path(dir, name);
	struct gp_model_desc *desc = open_ok(path);

	free(path);
	return desc;
}

/* Opening path fails with code and exactly the message fmt formats; *out untouched. */
static void expect_fail(const char *path, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void expect_fail(const char *path, int code, const char *fmt, ...)
{
	struct gp_model_desc *desc = (struct gp_model_desc *)0x1;
	char message[1024];
	va_list ap;
	int err;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	err = gp_model_desc_open(path, &desc);
	cr_expect_eq(err, code, "%s: got %s (%s), expected %s", path, gp_error_name(err),
		     gp_last_error(), gp_error_name(code));
	cr_expect_eq(desc, (struct gp_model_desc *)0x1, "output written on failure");
	cr_expect_str_eq(gp_last_error(), message);
}

static void expect_fail_name(const char *name, int code, const char *message)
{
	char *path = gp_test_st_path(dir, name);

	expect_fail(path, code, "%s", message);
	free(path);
}

/* The sharded model: files in index order, tensors by (file, offset). */
static void expect_sharded(const struct gp_model_desc *desc)
{
	static const char *const names[] = { "c", "a", "b" };
	static const uint32_t files[] = { 0, 1, 1 };

	cr_assert_eq(desc->n_files, 2);
	cr_expect_str_eq(desc->files[0].name, "m-2.safetensors");
	cr_expect_str_eq(desc->files[1].name, "m-1.safetensors");
	cr_expect_eq(desc->files[0].n_tensors, 1);
	cr_expect_eq(desc->files[1].n_tensors, 2);
	cr_assert_eq(desc->n_tensors, 3);
	for (int i = 0; i < 3; i++) {
		cr_expect_str_eq(desc->tensors[i].name, names[i]);
		cr_expect_eq(desc->tensors[i].file, files[i], "%s", names[i]);
	}
	cr_expect_eq(desc->tensors[2].file_offset, desc->files[1].data_start + 4);
	cr_expect_eq(desc->tensor_bytes, 20);
	cr_expect_str_eq(desc->dir, dir);
}

Test(model_open, single_file)
{
	const char *header = "{'__metadata__': {'format': 'pt'}, "
			     "'w': {'dtype': 'BF16', 'shape': [2, 3], 'data_offsets': [0, 12]}}";
	char *path = gp_test_st_path(dir, "model.safetensors");
	struct gp_model_desc *desc;

	gp_test_st_write(dir, "model.safetensors", header, 12);
	desc = open_ok(path);
	cr_expect_str_eq(desc->source, path);
	cr_expect_str_eq(desc->dir, dir);
	cr_assert_eq(desc->n_files, 1);
	cr_expect_str_eq(desc->files[0].path, path);
	cr_expect_str_eq(desc->files[0].name, "model.safetensors");
	cr_expect_eq(desc->files[0].size, 8 + strlen(header) + 12);
	cr_expect_eq(desc->files[0].header_len, strlen(header));
	cr_assert_eq(desc->files[0].n_metadata, 1);
	cr_expect_str_eq(desc->files[0].metadata_keys[0], "format");
	cr_expect_str_eq(desc->files[0].metadata_values[0], "pt");
	cr_assert_eq(desc->n_tensors, 1);
	cr_expect_str_eq(desc->tensors[0].name, "w");
	cr_expect_eq(desc->tensors[0].file_offset, 8 + strlen(header));
	cr_expect_eq(desc->tensors[0].nbytes, 12);
	gp_model_desc_free(desc);
	free(path);
}

/* Offsets past 4 GiB: the data is a sparse hole, only the header is read. */
Test(model_open, large_tensor)
{
	struct gp_model_desc *desc;

	gp_test_st_write(dir, "big.safetensors",
			 "{'w': {'dtype': 'F16', 'shape': [3, 1024, 1024, 1024],"
			 " 'data_offsets': [0, 6442450944]}}", 6442450944ull);
	desc = open_name_ok("big.safetensors");
	cr_expect_eq(desc->tensors[0].nbytes, 6442450944ull);
	cr_expect_eq(desc->tensor_bytes, 6442450944ull);
	gp_model_desc_free(desc);
}

Test(model_open, directory_with_one_file)
{
	struct gp_model_desc *desc;

	gp_test_st_write(dir, "weights.safetensors", SHARD_2, 12);
	gp_test_st_write_json(dir, "config.json", "{'model_type': 'x'}");
	desc = open_ok(dir);
	cr_expect_str_eq(desc->source, dir);
	cr_expect_str_eq(desc->dir, dir);
	cr_assert_eq(desc->n_files, 1);
	cr_expect_str_eq(desc->files[0].name, "weights.safetensors");
	cr_expect_eq(desc->n_tensors, 1);
	gp_model_desc_free(desc);
}

Test(model_open, index_file)
{
	struct gp_model_desc *desc;

	write_shards();
	gp_test_st_write_json(dir, MODEL_INDEX, INDEX);
	desc = open_name_ok(MODEL_INDEX);
	expect_sharded(desc);
	gp_model_desc_free(desc);
}

Test(model_open, directory_prefers_model_index)
{
	struct gp_model_desc *desc;

	write_shards();
	gp_test_st_write_json(dir, MODEL_INDEX, INDEX);
	gp_test_st_write_json(dir, "other.safetensors.index.json", "not json");
	desc = open_ok(dir);
	expect_sharded(desc);
	gp_model_desc_free(desc);
}

/* One index under another name wins over the shards it lists. */
Test(model_open, directory_with_one_other_index)
{
	struct gp_model_desc *desc;

	write_shards();
	gp_test_st_write_json(dir, "diffusion_pytorch_model.safetensors.index.json", INDEX);
	desc = open_ok(dir);
	expect_sharded(desc);
	gp_model_desc_free(desc);
}

Test(model_open, directory_ambiguities)
{
	const char *msg;

	expect_fail(dir, GP_ENOENT, "%s: no .safetensors file or index in this directory", dir);
	write_shards();
	cr_expect_eq(gp_model_desc_open(dir, &(struct gp_model_desc *){ NULL }), GP_EFORMAT);
	msg = gp_last_error();
	cr_expect_not_null(strstr(msg, ": 2 .safetensors files but no index (found "), "%s", msg);
	cr_expect_not_null(strstr(msg, "m-1.safetensors"), "%s", msg);
	cr_expect_not_null(strstr(msg, "m-2.safetensors"), "%s", msg);
	gp_test_st_write_json(dir, "a.safetensors.index.json", INDEX);
	gp_test_st_write_json(dir, "b.safetensors.index.json", INDEX);
	cr_expect_eq(gp_model_desc_open(dir, &(struct gp_model_desc *){ NULL }), GP_EFORMAT);
	msg = gp_last_error();
	cr_expect_not_null(strstr(msg, ": several index files and no model.safetensors.index.json"),
			   "%s", msg);
	cr_expect_not_null(strstr(msg, "a.safetensors.index.json"), "%s", msg);
	cr_expect_not_null(strstr(msg, "b.safetensors.index.json"), "%s", msg);
}

Test(model_open, missing_paths)
{
	char *path = gp_test_st_path(dir, "nothing.safetensors");

	expect_fail(path, GP_ENOENT, "%s: No such file or directory", path);
	free(path);
	gp_test_st_write(dir, "m-1.safetensors", SHARD_1, 8);
	gp_test_st_write_json(dir, MODEL_INDEX, INDEX);
	expect_fail(dir, GP_ENOENT, "%s/m-2.safetensors: cannot open: No such file or directory",
		    dir);
	expect_fail("/dev/null", GP_EFORMAT, "/dev/null: not a regular file");
}

Test(model_open, length_prefix_rules)
{
	gp_test_st_write_bytes(dir, "short.safetensors", "\x02\0\0\0\0", 5);
	expect_fail_name("short.safetensors", GP_EFORMAT,
			 "short.safetensors: 5 bytes is too short for a safetensors file (8-byte "
			 "header length missing)");
	gp_test_st_write_bytes(dir, "zero.safetensors", "\0\0\0\0\0\0\0\0{}", 10);
	expect_fail_name("zero.safetensors", GP_EFORMAT, "zero.safetensors: header length is 0");
	/* 100,000,001 = 0x05f5e101 */
	gp_test_st_write_bytes(dir, "huge.safetensors", "\x01\xe1\xf5\x05\0\0\0\0{}", 10);
	expect_fail_name("huge.safetensors", GP_EFORMAT,
			 "huge.safetensors: header length 100000001 exceeds the limit of "
			 "100000000 bytes");
	gp_test_st_write_bytes(dir, "past.safetensors", "\x03\0\0\0\0\0\0\0{}", 10);
	expect_fail_name("past.safetensors", GP_EFORMAT,
			 "past.safetensors: header length 3 runs past the end of the file (10 bytes)");
	gp_test_st_write_bytes(dir, "top.safetensors", "\0\0\0\0\0\0\0\x80{}", 10);
	expect_fail_name("top.safetensors", GP_EFORMAT,
			 "top.safetensors: header length 9223372036854775808 exceeds the limit of "
			 "100000000 bytes");
}

/* An error in a shard names the shard; nothing of the model is returned. */
Test(model_open, bad_shard_is_named)
{
	write_shards();
	gp_test_st_write(dir, "m-2.safetensors",
			 "{'c': {'dtype': 'F32', 'shape': [3], 'data_offsets': [0, 8]}}", 8);
	gp_test_st_write_json(dir, MODEL_INDEX, INDEX);
	expect_fail(dir, GP_EFORMAT,
		    "m-2.safetensors: tensor 'c': data_offsets [0, 8] hold 8 bytes but shape [3] of "
		    "F32 needs 12");
}

/* With the shards written, opening under index fails with fmt (%s: the index's path). */
static void expect_index_fail(const char *index, const char *fmt)
{
	char *path = gp_test_st_path(dir, MODEL_INDEX);

	gp_test_st_write_json(dir, MODEL_INDEX, index);
	expect_fail(dir, GP_EFORMAT, fmt, path);
	free(path);
}

Test(model_open, index_not_json)
{
	char *path = gp_test_st_path(dir, MODEL_INDEX), *prefix;
	struct gp_model_desc *desc = (struct gp_model_desc *)0x1;

	write_shards();
	gp_test_st_write_json(dir, MODEL_INDEX, "{'weight_map': {'a': 'm-1.safetensors'");
	cr_expect_eq(gp_model_desc_open(dir, &desc), GP_EFORMAT);
	cr_expect_eq(desc, (struct gp_model_desc *)0x1, "output written on failure");
	cr_assert_geq(asprintf(&prefix, "%s: not valid JSON: ", path), 0);
	cr_expect_eq(strncmp(gp_last_error(), prefix, strlen(prefix)), 0, "%s", gp_last_error());
	free(prefix);
	free(path);
}

Test(model_open, index_lists_missing_tensor)
{
	write_shards();
	expect_index_fail("{'weight_map': {'c': 'm-2.safetensors', 'a': 'm-1.safetensors',"
			  " 'b': 'm-1.safetensors', 'd': 'm-1.safetensors'}}",
			  "%s: tensor 'd' is listed in shard m-1.safetensors but not found there");
}

Test(model_open, index_names_wrong_shard)
{
	write_shards();
	expect_index_fail("{'weight_map': {'c': 'm-2.safetensors', 'a': 'm-2.safetensors',"
			  " 'b': 'm-1.safetensors'}}",
			  "%s: tensor 'a' is listed in shard m-2.safetensors but found in "
			  "m-1.safetensors");
}

Test(model_open, shard_tensor_not_in_index)
{
	write_shards();
	expect_index_fail("{'weight_map': {'c': 'm-2.safetensors', 'a': 'm-1.safetensors'}}",
			  "%s: tensor 'b' of shard m-1.safetensors is not listed in weight_map");
}

Test(model_open, index_total_size)
{
	write_shards();
	expect_index_fail("{'metadata': {'total_size': 21}, " WEIGHT_MAP "}",
			  "%s: metadata.total_size is 21 but the shards hold 20 tensor bytes");
}

Test(model_open, index_shard_outside_directory)
{
	write_shards();
	expect_index_fail("{'weight_map': {'c': '../m-2.safetensors'}}",
			  "%s: weight_map['c'] = '../m-2.safetensors': shard must be a plain file "
			  "name in the model's directory (no '/', not '.' or '..')");
}

Test(model_open, tensor_in_two_shards)
{
	gp_test_st_write(dir, "m-1.safetensors", SHARD_1, 8);
	gp_test_st_write(dir, "m-2.safetensors",
			 "{'a': {'dtype': 'F32', 'shape': [3], 'data_offsets': [0, 12]}}", 12);
	expect_index_fail("{'weight_map': {'a': 'm-1.safetensors', 'b': 'm-2.safetensors'}}",
			  "%s: tensor 'a' appears in both m-1.safetensors and m-2.safetensors");
}

/* open + group + layout: every tensor lands in a group and inside the device range. */
Test(model_open, load_groups_and_lays_out)
{
	struct gp_model_desc *desc = NULL;
	int err;

	gp_test_st_write(dir, "model.safetensors",
			 "{'blocks.0.w': {'dtype': 'F32', 'shape': [4], 'data_offsets': [0, 16]},"
			 " 'blocks.1.w': {'dtype': 'F32', 'shape': [4], 'data_offsets': [16, 32]},"
			 " 'head.w': {'dtype': 'F32', 'shape': [2], 'data_offsets': [32, 40]}}", 40);
	err = gp_model_desc_load(dir, 1u << 20, NULL, &desc);
	cr_assert_eq(err, 0, "%s: %s", gp_error_name(err), gp_last_error());
	cr_expect_geq(desc->n_groups, 2);
	cr_expect_eq(desc->chunk_size, 1u << 20);
	cr_expect_eq(desc->range_size % (1u << 20), 0);
	for (uint32_t i = 0; i < desc->n_tensors; i++) {
		const struct gp_st_tensor *t = &desc->tensors[i];

		cr_expect_lt(t->group, desc->n_groups, "%s", t->name);
		cr_expect_eq(t->range_offset % GP_TENSOR_ALIGN, 0, "%s", t->name);
		cr_expect_leq(t->range_offset + t->nbytes, desc->range_size, "%s", t->name);
	}
	gp_model_desc_free(desc);
}

Test(model_open, load_fails_cleanly)
{
	struct gp_model_desc *desc = (struct gp_model_desc *)0x1;

	gp_test_st_write(dir, "model.safetensors", SHARD_2, 12);
	cr_expect_eq(gp_model_desc_load(dir, 1000, NULL, &desc), GP_EINVAL, "%s", gp_last_error());
	cr_expect_eq(desc, (struct gp_model_desc *)0x1, "output written on failure");
	gp_test_st_write(dir, "model.safetensors", SHARD_2, 11);
	cr_expect_eq(gp_model_desc_load(dir, 0, NULL, &desc), GP_EFORMAT);
	cr_expect_str_eq(gp_last_error(), "model.safetensors: tensor 'c': data_offsets end 12 is "
					  "past the data buffer (11 bytes)");
	cr_expect_eq(desc, (struct gp_model_desc *)0x1, "output written on failure");
}

/* Run `gpupager mkmodel ARGS... dir`; the exit status. */
static int run_mkmodel(const char *arch, const char *scale, const char *seed,
		       const char *shard_size)
{
	struct gp_test_cli r = gp_test_cli_run((const char *const[]){ "mkmodel", "--arch", arch,
								      "--scale", scale, "--seed", seed,
								      "--shard-size", shard_size, dir,
								      NULL }, 0);
	int status = r.status;

	if (status)
		fputs(r.err, stderr);
	gp_test_cli_free(&r);
	return status;
}

/* The bytes at each tensor's file_offset are the sample content of that tensor. */
static void expect_sample_content(const struct gp_model_desc *desc, uint64_t seed)
{
	for (uint32_t f = 0; f < desc->n_files; f++) {
		int fd = open(desc->files[f].path, O_RDONLY | O_CLOEXEC);

		cr_assert_geq(fd, 0, "%s: %m", desc->files[f].path);
		for (uint32_t i = 0; i < desc->n_tensors; i++) {
			const struct gp_st_tensor *t = &desc->tensors[i];
			void *buf;

			if (t->file != f)
				continue;
			buf = malloc(t->nbytes + 1);
			cr_assert_not_null(buf);
			cr_assert_eq(pread(fd, buf, t->nbytes, (off_t)t->file_offset),
				     (ssize_t)t->nbytes, "%s: %m", t->name);
			cr_expect_eq(gp_checksum(buf, t->nbytes),
				     gp_sample_checksum(seed, t->name, t->nbytes),
				     "tensor %s in %s differs from the sample", t->name,
				     desc->files[f].name);
			free(buf);
		}
		close(fd);
	}
}

/* A sharded model written by the tool opens through its directory, data in place. */
Test(model_open, mkmodel_output)
{
	struct gp_model_desc *desc;
	uint64_t file_bytes = 0;

	cr_assert_eq(run_mkmodel("wan2.1-14b", "0.03", "77", "2M"), 0, "gpupager mkmodel failed");
	desc = open_ok(dir);
	cr_expect_gt(desc->n_files, 1, "2M shards should split the model");
	cr_expect_gt(desc->n_tensors, 100);
	for (uint32_t f = 0; f < desc->n_files; f++) {
		const struct gp_st_file *file = &desc->files[f];
		int seen = 0;

		file_bytes += file->size - file->data_start;
		for (size_t m = 0; m < file->n_metadata; m++)
			if (!strcmp(file->metadata_keys[m], "gpupager.seed"))
				seen = !strcmp(file->metadata_values[m], "77");
		cr_expect(seen, "%s: no gpupager.seed 77 in __metadata__", file->name);
	}
	cr_expect_eq(file_bytes, desc->tensor_bytes, "data buffers hold exactly the tensors");
	expect_sample_content(desc, 77);
	gp_model_desc_free(desc);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
/*
 * Allocation failures.  This program replaces malloc and friends, which
 * glibc allows (its own strdup, asprintf and opendir then call them too), so
 * that one chosen allocation fails and live blocks are counted.  Sanitizer
 * builds keep their own allocator and skip the test.
 */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void __libc_free(void *ptr);

static long allocs_before_failure = -1;   /* -1: never fail */
static int failure_injected;
static long live_blocks;

static int fail_this_one(void)
{
	if (allocs_before_failure < 0 || allocs_before_failure-- > 0)
		return 0;
	failure_injected = 1;
	errno = ENOMEM;
	return 1;
}

void *malloc(size_t size)
{
	void *p = fail_this_one() ? NULL : __libc_malloc(size);

	live_blocks += p != NULL;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = fail_this_one() ? NULL : __libc_calloc(n, size);

	live_blocks += p != NULL;
	return p;
}

void *realloc(void *ptr, size_t size)
{
	void *p;

	if (fail_this_one())
		return NULL;
	p = __libc_realloc(ptr, size);
	live_blocks += !ptr && p;
	return p;
}

void free(void *ptr)
{
	live_blocks -= ptr != NULL;
	__libc_free(ptr);
}

/*
 * Fail the 1st, 2nd, ... allocation of an open, until an open makes no more
 * allocations than that.  An open may survive a failure that libc absorbs
 * (asprintf retries); otherwise it fails cleanly: no leak, *out untouched.
 * The code is not always GP_ENOMEM: jansson 2.14 reports its allocation
 * failures as syntax errors, or even truncates a string and goes on (a
 * shard name then names a missing file).
 */
Test(model_open, every_allocation_failure_is_clean)
{
	const struct gp_config *cfg;
	struct gp_model_desc *desc;
	long n, n_enomem = 0;

	write_shards();
	gp_test_st_write(dir, "m-1.safetensors",
			 "{'__metadata__': {'format': 'pt'},"
			 " 'a': {'dtype': 'U8', 'shape': [4], 'data_offsets': [0, 4]},"
			 " 'b': {'dtype': 'F16', 'shape': [2], 'data_offsets': [4, 8]}}", 8);
	gp_test_st_write_json(dir, MODEL_INDEX, INDEX);
	cr_assert_eq(gp_config_get(&cfg), 0, "parse the environment before counting");
	for (n = 0;; n++) {
		long live = live_blocks;
		int err;

		desc = (struct gp_model_desc *)0x1;
		failure_injected = 0;
		allocs_before_failure = n;
		err = gp_model_desc_open(dir, &desc);
		allocs_before_failure = -1;
		if (!failure_injected)
			break;
		if (err == 0) {
			cr_expect_eq(desc->n_tensors, 3, "allocation %ld absorbed", n);
			gp_model_desc_free(desc);
		} else {
			cr_expect_lt(err, 0);
			cr_expect_eq(desc, (struct gp_model_desc *)0x1, "allocation %ld: output written",
				     n);
			cr_expect_neq(gp_last_error()[0], '\0', "allocation %ld: no message", n);
			n_enomem += err == GP_ENOMEM;
		}
		cr_expect_eq(live_blocks, live, "allocation %ld: %ld blocks leaked (%s)", n,
			     live_blocks - live, gp_last_error());
	}
	cr_assert_eq(gp_model_desc_open(dir, &desc), 0, "%s", gp_last_error());
	cr_expect_eq(desc->n_tensors, 3);
	cr_expect_eq(desc->files[1].n_metadata, 1);
	gp_model_desc_free(desc);
	cr_expect_gt(n, 50, "only %ld allocations: is the hook working?", n);
	cr_expect_gt(n_enomem, 20, "only %ld of %ld failures reported as GP_ENOMEM", n_enomem, n);
}
#else
/* Sanitizer builds keep their own allocator: listed as skipped, its temp dir never made. */
Test(model_open, every_allocation_failure_is_clean, .disabled = true)
{
}
#endif

/*
 * The Hugging Face cache: models--org--name/snapshots/<rev>/ holds symbolic
 * links into ../../blobs/, files named by their hash.  The snapshot opens as a
 * directory and through its index link; files keep their link names.
 */
Test(model_open, hugging_face_cache_symlinks)
{
	static const char *const names[] = { "m-1.safetensors", "m-2.safetensors", MODEL_INDEX };
	static const char *const blobs[] = { "0a1b2c3d4e5f", "5f4e3d2c1b0a", "77aa88bb99cc" };
	char *root = gp_test_st_path(dir, "models--org--name"), *blob_dir, *snaps, *snap, *index;
	struct gp_model_desc *desc;

	write_shards();
	gp_test_st_write_json(dir, MODEL_INDEX, INDEX);
	cr_assert_geq(asprintf(&blob_dir, "%s/blobs", root), 0);
	cr_assert_geq(asprintf(&snaps, "%s/snapshots", root), 0);
	cr_assert_geq(asprintf(&snap, "%s/snapshots/abc123", root), 0);
	cr_assert_eq(mkdir(root, 0755) | mkdir(blob_dir, 0755) | mkdir(snaps, 0755) |
		     mkdir(snap, 0755), 0, "%m");
	for (int i = 0; i < 3; i++) {
		char *from = gp_test_st_path(dir, names[i]), *to = gp_test_st_path(blob_dir, blobs[i]);
		char *link = gp_test_st_path(snap, names[i]), *target;

		cr_assert_geq(asprintf(&target, "../../blobs/%s", blobs[i]), 0);
		cr_assert_eq(rename(from, to), 0, "%s: %m", from);
		cr_assert_eq(symlink(target, link), 0, "%s: %m", link);
		free(from);
		free(to);
		free(link);
		free(target);
	}
	index = gp_test_st_path(snap, MODEL_INDEX);
	for (int form = 0; form < 2; form++) {
		desc = open_ok(form ? index : snap);
		cr_expect_eq(desc->n_files, 2);
		cr_expect_eq(desc->n_tensors, 3);
		cr_expect_eq(desc->tensor_bytes, 20);
		for (uint32_t i = 0; i < desc->n_files; i++)
			cr_expect(!strcmp(desc->files[i].name, "m-1.safetensors") ||
				  !strcmp(desc->files[i].name, "m-2.safetensors"), "%s",
				  desc->files[i].name);
		cr_expect_str_eq(desc->dir, snap);
		gp_model_desc_free(desc);
	}
	/* A link whose blob is gone is named. */
	{
		char *gone = gp_test_st_path(blob_dir, blobs[1]), *link = gp_test_st_path(snap, names[1]);

		cr_assert_eq(unlink(gone), 0);
		desc = NULL;
		cr_expect_eq(gp_model_desc_open(snap, &desc), GP_ENOENT);
		cr_expect_null(desc);
		cr_expect_not_null(strstr(gp_last_error(), "m-2.safetensors: cannot open"), "%s",
				   gp_last_error());
		unlink(link);
		free(gone);
		free(link);
	}
	for (int i = 0; i < 3; i++) {
		char *link = gp_test_st_path(snap, names[i]), *blob = gp_test_st_path(blob_dir, blobs[i]);

		unlink(link);
		unlink(blob);
		free(link);
		free(blob);
	}
	cr_expect_eq(rmdir(snap) | rmdir(snaps) | rmdir(blob_dir) | rmdir(root), 0, "%m");
	free(index);
	free(snap);
	free(snaps);
	free(blob_dir);
	free(root);
}
