/*
 * test_mkmodel.c - sample content, the safetensors writer and `gpupager
 * mkmodel`.  Written models are read back with a minimal reader of our own
 * (length prefix, jansson on the header, bytes compared with
 * gp_sample_fill), independent of the library's parser.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "arch.h"
#include "common/cli_run.h"
#include "model.h"
#include "sample.h"
#include "st_writer.h"


/* ------------------------------------------------------------ helpers */

static char *make_tmpdir(void)
{
	char *dir = strdup("/tmp/gp-test-mkmodel-XXXXXX");

	cr_assert(dir && mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static char *path_in(const char *dir, const char *name)
{
	char *path;

	cr_assert_gt(asprintf(&path, "%s/%s", dir, name), 0);
	return path;
}

static unsigned char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data;
	long size;

	cr_assert(f, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	data = malloc((size_t)size + 1);
	cr_assert(data);
	cr_assert_eq(fread(data, 1, (size_t)size, f), (size_t)size, "%s: short read", path);
	fclose(f);
	data[size] = '\0';
	*len = (size_t)size;
	return data;
}

/* Entries of dir other than . and .., sorted names joined by spaces. */
static void list_dir(const char *dir, char *out, size_t len)
{
	struct dirent **entries;
	int n = scandir(dir, &entries, NULL, alphasort);

	cr_assert_geq(n, 0, "%s: %s", dir, strerror(errno));
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(entries[i]->d_name, ".") && strcmp(entries[i]->d_name, "..")) {
			strncat(out, out[0] ? " " : "", len - strlen(out) - 1);
			strncat(out, entries[i]->d_name, len - strlen(out) - 1);
		}
		free(entries[i]);
	}
	free(entries);
}

static uint64_t tensor_nbytes(const struct gp_arch_tensor *t)
{
	uint64_t n = gp_dtype_size(t->dtype);

	for (int d = 0; d < t->ndim; d++)
		n *= (uint64_t)t->shape[d];
	return n;
}

/* --------------------------------------------------- the model reader */

struct expected_model {
	const char *arch;
	double scale;
	uint64_t seed;
	int dtype;                      /* -1: the architecture's */
	struct gp_arch_tensor *tensors; /* gp_arch_tensors(arch, scale) */
	size_t n_tensors;
	size_t next;                    /* next tensor expected while reading */
	uint64_t total_bytes;
};

static void expect_model(struct expected_model *m, const char *arch, double scale, uint64_t seed,
			 int dtype)
{
	memset(m, 0, sizeof(*m));
	m->arch = arch;
	m->scale = scale;
	m->seed = seed;
	m->dtype = dtype;
	cr_assert_eq(gp_arch_tensors(arch, scale, &m->tensors, &m->n_tensors), 0, "%s",
		     gp_last_error());
	for (size_t i = 0; i < m->n_tensors; i++) {
		if (dtype >= 0)
			m->tensors[i].dtype = (enum gp_dtype)dtype;
		m->total_bytes += tensor_nbytes(&m->tensors[i]);
	}
}

static void check_metadata(const struct expected_model *m, json_t *meta, const char *file)
{
	char seed_text[24];

	cr_assert(json_is_object(meta), "%s: no __metadata__", file);
	cr_assert_str_eq(json_string_value(json_object_get(meta, "format")), "pt");
	cr_assert_str_eq(json_string_value(json_object_get(meta, "gpupager.arch")), m->arch);
	cr_assert_eq(strtod(json_string_value(json_object_get(meta, "gpupager.scale")), NULL),
		     m->scale, "%s: scale", file);
	snprintf(seed_text, sizeof(seed_text), "%llu", (unsigned long long)m->seed);
	cr_assert_str_eq(json_string_value(json_object_get(meta, "gpupager.seed")), seed_text);
	cr_assert_eq(json_object_size(meta), 4, "%s: extra metadata", file);
}

/*
 * One .safetensors file: its tensors must be the next ones of the table, in
 * order, with contiguous offsets and exactly the sample bytes.  Returns the
 * data bytes the file holds.
 */
static uint64_t check_file(struct expected_model *m, const char *dir, const char *file,
			   json_t *weight_map)
{
	char *path = path_in(dir, file);
	size_t len, hlen;
	unsigned char *data = read_whole(path, &len);
	uint64_t offset = 0, data_start;
	json_error_t jerr;
	json_t *header, *value;
	const char *key;
	int first = 1;

	cr_assert_geq(len, 8, "%s: shorter than the length prefix", file);
	hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | data[i];
	data_start = 8 + hlen;
	cr_assert_leq(data_start, len, "%s: header runs past the end", file);
	cr_assert_eq(data_start % 8, 0, "%s: data starts at %llu, not 8-byte aligned", file,
		     (unsigned long long)data_start);
	header = json_loadb((const char *)data + 8, hlen, 0, &jerr);
	cr_assert(header, "%s: header is not JSON: %s", file, jerr.text);

	json_object_foreach(header, key, value) {
		const struct gp_arch_tensor *t;
		json_t *shape = json_object_get(value, "shape");
		json_t *offsets = json_object_get(value, "data_offsets");
		uint64_t begin, end, nbytes;
		unsigned char *want;

		if (first) {
			cr_assert_str_eq(key, "__metadata__", "%s: metadata is not first", file);
			check_metadata(m, value, file);
			first = 0;
			continue;
		}
		cr_assert_lt(m->next, m->n_tensors, "%s: extra tensor '%s'", file, key);
		t = &m->tensors[m->next++];
		cr_assert_str_eq(key, t->name, "%s: tensor out of order", file);
		cr_assert_str_eq(json_string_value(json_object_get(value, "dtype")),
				 gp_dtype_name(t->dtype), "%s", key);
		cr_assert_eq(json_array_size(shape), (size_t)t->ndim, "%s", key);
		for (int d = 0; d < t->ndim; d++)
			cr_assert_eq(json_integer_value(json_array_get(shape, d)), t->shape[d], "%s", key);
		begin = (uint64_t)json_integer_value(json_array_get(offsets, 0));
		end = (uint64_t)json_integer_value(json_array_get(offsets, 1));
		nbytes = tensor_nbytes(t);
		cr_assert_eq(begin, offset, "%s: offsets not contiguous", key);
		cr_assert_eq(end - begin, nbytes, "%s: %llu bytes", key, (unsigned long long)(end - begin));
		cr_assert_leq(data_start + end, len, "%s: past the end of %s", key, file);

		want = malloc(nbytes ? nbytes : 1);
		cr_assert(want);
		gp_sample_fill(m->seed, key, 0, want, nbytes);
		cr_assert_eq(memcmp(data + data_start + begin, want, nbytes), 0, "%s: bytes differ", key);
		cr_assert_eq(gp_checksum(data + data_start + begin, nbytes),
			     gp_sample_checksum(m->seed, key, nbytes), "%s: checksum", key);
		free(want);
		if (weight_map)
			cr_assert_str_eq(json_string_value(json_object_get(weight_map, key)), file,
					 "index places %s elsewhere", key);
		offset = end;
	}
	cr_assert_eq(data_start + offset, len, "%s: trailing bytes after the data", file);
	json_decref(header);
	free(data);
	free(path);
	return offset;
}

/* The whole model in dir; returns the number of .safetensors files. */
static uint32_t check_model(struct expected_model *m, const char *dir)
{
	char *index_path = path_in(dir, GP_ST_INDEX_NAME);
	uint32_t n_files = 1;
	uint64_t data_bytes = 0;
	json_t *index = NULL, *weight_map = NULL;
	char name[64];

	m->next = 0;
	if (!access(index_path, F_OK)) {
		json_error_t jerr;

		index = json_load_file(index_path, 0, &jerr);
		cr_assert(index, "index: %s", jerr.text);
		weight_map = json_object_get(index, "weight_map");
		cr_assert_eq(json_object_size(weight_map), m->n_tensors);
		cr_assert_eq(json_integer_value(json_object_get(json_object_get(index, "metadata"),
								"total_size")),
			     (json_int_t)m->total_bytes);
		/* The shard count is in every shard name. */
		cr_assert_eq(sscanf(json_string_value(json_object_get(weight_map, m->tensors[0].name)),
				    "model-00001-of-%5u.safetensors", &n_files), 1);
		cr_assert_gt(n_files, 1);
	}
	for (uint32_t i = 0; i < n_files; i++) {
		gp_st_file_name(i, n_files, name, sizeof(name));
		data_bytes += check_file(m, dir, name, weight_map);
	}
	cr_assert_eq(m->next, m->n_tensors, "model ends after %zu of %zu tensors", m->next,
		     m->n_tensors);
	cr_assert_eq(data_bytes, m->total_bytes);
	json_decref(index);
	free(index_path);
	return n_files;
}

static void write_sample(const char *arch, double scale, uint64_t seed, const char *dir,
			 uint64_t shard_size, struct gp_st_write_result *res)
{
	struct gp_sample_model model = { .arch = arch, .scale = scale, .seed = seed, .dtype = -1 };
	struct gp_st_write_opts opts = { .out_dir = dir, .shard_size = shard_size };

	cr_assert_eq(gp_sample_write_model(&model, &opts, res), 0, "%s: %s", arch, gp_last_error());
}

/* ----------------------------------------------------- sample content */

static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

/* The documented formula, computed independently of lib/sample.c. */
Test(sample, matches_documented_formula)
{
	const char *name = "blocks.0.ffn.0.weight";
	uint64_t seed = 42, tseed = gp_mix64(seed ^ fnv1a64(name));
	unsigned char buf[8 * 1001];

	gp_sample_fill(seed, name, 0, buf, sizeof(buf));
	for (uint64_t k = 0; k < 1001; k++) {
		uint64_t w = gp_mix64(tseed + k * 0x9e3779b97f4a7c15ull);

		for (int b = 0; b < 8; b++)
			cr_assert_eq(buf[8 * k + b], (unsigned char)(w >> (8 * b)), "word %llu byte %d",
				     (unsigned long long)k, b);
	}
}

/* Frozen values (from an independent implementation): written models must keep their content. */
Test(sample, known_answer)
{
	static const uint64_t words[] = { 0x2bd6737b0a246e30ull, 0x5bc0edcb8475dca7ull,
					  0xeceb1ba38d177fa5ull };
	unsigned char buf[24];

	cr_assert_eq(fnv1a64("x"), 0xaf63f54c86021707ull);
	gp_sample_fill(0, "x", 0, buf, sizeof(buf));
	for (int k = 0; k < 3; k++) {
		uint64_t w = 0;

		for (int b = 7; b >= 0; b--)
			w = w << 8 | buf[8 * k + b];
		cr_assert_eq(w, words[k], "word %d: %016llx", k, (unsigned long long)w);
	}
}

Test(sample, any_offset_and_length)
{
	enum { LEN = 4099 };
	unsigned char whole[LEN], piece[LEN];

	gp_sample_fill(7, "t", 0, whole, LEN);
	for (size_t off = 0; off < 20; off++) {
		for (size_t len = 0; len < 35 && off + len <= LEN; len++) {
			memset(piece, 0xa5, sizeof(piece));
			gp_sample_fill(7, "t", off, piece, len);
			cr_assert_eq(memcmp(piece, whole + off, len), 0, "offset %zu length %zu", off, len);
			cr_assert_eq(piece[len], 0xa5, "wrote past the end at offset %zu length %zu", off,
				     len);
		}
	}
	gp_sample_fill(7, "t", 1237, piece, LEN - 1237);
	cr_assert_eq(memcmp(piece, whole + 1237, LEN - 1237), 0);
	gp_sample_fill(7, "t", LEN - 3, piece, 3);
	cr_assert_eq(memcmp(piece, whole + LEN - 3, 3), 0);
}

Test(sample, checksum_equals_checksum_of_bytes)
{
	static const size_t sizes[] = { 0, 1, 7, 8, 9, 4096, 65535, 65536, 65537, 200003 };
	unsigned char *buf = malloc(200003);

	cr_assert(buf);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		gp_sample_fill(3, "model.norm.weight", 0, buf, sizes[i]);
		cr_assert_eq(gp_sample_checksum(3, "model.norm.weight", sizes[i]),
			     gp_checksum(buf, sizes[i]), "%zu bytes", sizes[i]);
	}
	free(buf);
}

Test(sample, seed_and_name_change_content)
{
	unsigned char a[64], b[64], c[64];

	gp_sample_fill(0, "w", 0, a, sizeof(a));
	gp_sample_fill(1, "w", 0, b, sizeof(b));
	gp_sample_fill(0, "v", 0, c, sizeof(c));
	cr_assert_neq(memcmp(a, b, sizeof(a)), 0, "seed ignored");
	cr_assert_neq(memcmp(a, c, sizeof(a)), 0, "name ignored");
	cr_assert_neq(gp_sample_checksum(0, "w", 64), gp_sample_checksum(1, "w", 64));
}

/* ------------------------------------------------------------- writer */

Test(writer, every_arch_single_file)
{
	for (const char *const *arch = gp_arch_names(); *arch; arch++) {
		char *dir = make_tmpdir(), listing[256];
		struct gp_st_write_result res;
		struct expected_model m;

		write_sample(*arch, 0.02, 5, dir, 2ull << 30, &res);
		expect_model(&m, *arch, 0.02, 5, -1);
		cr_assert_eq(check_model(&m, dir), 1, "%s", *arch);
		cr_assert_eq(res.n_files, 1);
		cr_assert_eq(res.n_tensors, m.n_tensors);
		cr_assert_eq(res.tensor_bytes, m.total_bytes);
		list_dir(dir, listing, sizeof(listing));
		cr_assert_str_eq(listing, GP_ST_SINGLE_NAME, "%s: left behind: %s", *arch, listing);
		free(m.tensors);
		remove_tree(dir);
	}
}

Test(writer, every_arch_sharded)
{
	for (const char *const *arch = gp_arch_names(); *arch; arch++) {
		char *dir = make_tmpdir(), listing[4096];
		struct gp_st_write_result res;
		struct expected_model m;
		uint32_t n;

		write_sample(*arch, 0.03, 9, dir, 1u << 20, &res);
		expect_model(&m, *arch, 0.03, 9, -1);
		n = check_model(&m, dir);
		cr_assert_eq(res.n_files, n);
		cr_assert_gt(n, 2, "%s: %u files", *arch, n);
		list_dir(dir, listing, sizeof(listing));
		cr_assert(strstr(listing, GP_ST_INDEX_NAME), "%s", listing);
		cr_assert_null(strstr(listing, "staging"), "left behind: %s", listing);
		cr_assert_null(strstr(listing, GP_ST_SINGLE_NAME " "), "%s", listing);
		free(m.tensors);
		remove_tree(dir);
	}
}

/* Every shard holds at most shard-size data bytes, unless it is one bigger tensor. */
Test(writer, shard_limits)
{
	const uint64_t limit = 64 << 10;
	char *dir = make_tmpdir(), name[64];
	struct gp_st_write_result res;
	struct expected_model m;
	size_t k = 0;

	write_sample("llama3-8b", 0.02, 0, dir, limit, &res);
	expect_model(&m, "llama3-8b", 0.02, 0, -1);
	cr_assert_eq(check_model(&m, dir), res.n_files);
	cr_assert_gt(tensor_nbytes(&m.tensors[0]), limit, "test needs a tensor over the limit");
	for (uint32_t i = 0; i < res.n_files; i++) {
		uint64_t bytes = 0;
		size_t first = k;
		char *path;
		struct stat st;

		/* check_model() verified the order, so shards take the table in runs. */
		gp_st_file_name(i, res.n_files, name, sizeof(name));
		path = path_in(dir, name);
		cr_assert_eq(stat(path, &st), 0);
		while (k < m.n_tensors && (k == first || bytes + tensor_nbytes(&m.tensors[k]) <= limit))
			bytes += tensor_nbytes(&m.tensors[k++]);
		cr_assert_lt((uint64_t)st.st_size, bytes + 8 + 4096, "%s: %lld bytes for %llu of data",
			     name, (long long)st.st_size, (unsigned long long)bytes);
		cr_assert_geq((uint64_t)st.st_size, bytes);
		cr_assert(bytes <= limit || k == first + 1, "%s over the limit", name);
		free(path);
	}
	cr_assert_eq(k, m.n_tensors);
	free(m.tensors);
	remove_tree(dir);
}

Test(writer, creates_missing_parents)
{
	char *dir = make_tmpdir(), *deep = path_in(dir, "a/b/c");
	struct gp_st_write_result res;
	struct expected_model m;

	write_sample("sdxl-unet", 0.02, 0, deep, 2ull << 30, &res);
	expect_model(&m, "sdxl-unet", 0.02, 0, -1);
	check_model(&m, deep);
	free(m.tensors);
	free(deep);
	remove_tree(dir);
}

Test(writer, refuses_existing_model_without_force)
{
	char *dir = make_tmpdir(), *index = path_in(dir, GP_ST_INDEX_NAME);
	struct gp_sample_model model = { .arch = "flux-dev", .scale = 0.02, .seed = 1, .dtype = -1 };
	struct gp_st_write_opts opts = { .out_dir = dir, .shard_size = 1u << 20 };
	struct gp_st_write_result res;
	struct expected_model m;
	size_t len_before, len_after;
	unsigned char *before, *after;
	char listing[4096];

	write_sample("flux-dev", 0.02, 1, dir, 1u << 20, &res);
	before = read_whole(index, &len_before);
	model.seed = 2;
	cr_assert_eq(gp_sample_write_model(&model, &opts, &res), GP_EEXIST);
	cr_assert(strstr(gp_last_error(), dir), "%s", gp_last_error());
	cr_assert(strstr(gp_last_error(), "--force"), "%s", gp_last_error());
	after = read_whole(index, &len_after);
	cr_assert(len_before == len_after && !memcmp(before, after, len_before), "index changed");
	expect_model(&m, "flux-dev", 0.02, 1, -1);
	check_model(&m, dir);

	/* --force replaces it; the old shards go even though the new model is one file. */
	opts.force = 1;
	opts.shard_size = 1ull << 30;
	cr_assert_eq(gp_sample_write_model(&model, &opts, &res), 0, "%s", gp_last_error());
	list_dir(dir, listing, sizeof(listing));
	cr_assert_str_eq(listing, GP_ST_SINGLE_NAME, "left behind: %s", listing);
	m.seed = 2;
	check_model(&m, dir);
	free(m.tensors);
	free(before);
	free(after);
	free(index);
	remove_tree(dir);
}

Test(writer, unwritable_out_dir)
{
	char *dir = make_tmpdir(), *file = path_in(dir, "plain-file"), *out = path_in(file, "model");
	struct gp_st_write_result res;
	struct gp_sample_model model = { .arch = "llama3-8b", .scale = 0.02, .dtype = -1 };
	struct gp_st_write_opts opts = { .out_dir = out, .shard_size = 1u << 20 };
	FILE *f = fopen(file, "w");

	cr_assert(f);
	fclose(f);
	cr_assert_eq(gp_sample_write_model(&model, &opts, &res), GP_EIO);
	cr_assert(strstr(gp_last_error(), file), "%s", gp_last_error());
	cr_assert(strstr(gp_last_error(), strerror(ENOTDIR)), "%s", gp_last_error());
	opts.out_dir = file;
	cr_assert_eq(gp_sample_write_model(&model, &opts, &res), GP_EIO);
	cr_assert(strstr(gp_last_error(), "not a directory"), "%s", gp_last_error());
	free(out);
	free(file);
	remove_tree(dir);
}

static void record_progress(void *ctx, uint64_t done, uint64_t total)
{
	uint64_t *seen = ctx;

	cr_assert_geq(done, seen[0], "progress went backwards");
	cr_assert_leq(done, total);
	seen[0] = done;
	seen[1] = total;
	seen[2]++;
}

Test(writer, progress_reaches_total)
{
	char *dir = make_tmpdir();
	uint64_t seen[3] = { 0, 0, 0 };
	struct gp_sample_model model = { .arch = "wan2.1-14b", .scale = 0.05, .dtype = -1 };
	struct gp_st_write_opts opts = {
		.out_dir = dir, .shard_size = 4u << 20, .progress = record_progress, .progress_ctx = seen,
	};
	struct gp_st_write_result res;

	cr_assert_eq(gp_sample_write_model(&model, &opts, &res), 0, "%s", gp_last_error());
	cr_assert_eq(seen[0], res.tensor_bytes);
	cr_assert_eq(seen[1], res.tensor_bytes);
	cr_assert_geq(seen[2], res.n_files, "one call per buffer at least");
	remove_tree(dir);
}

static void fill_pattern(void *ctx, const struct gp_arch_tensor *t, uint64_t offset, void *buf,
			 size_t len)
{
	(void)ctx;
	gp_sample_fill(0, t->name, offset, buf, len);
}

Test(writer, rejects_bad_tensor_lists)
{
	char *dir = make_tmpdir(), listing[256];
	struct gp_arch_tensor t[2] = {
		{ .name = "a", .dtype = GP_DTYPE_F32, .ndim = 1, .shape = { 4 } },
		{ .name = "a", .dtype = GP_DTYPE_F32, .ndim = 1, .shape = { 4 } },
	};
	struct gp_st_write_opts opts = { .out_dir = dir, .shard_size = 1u << 20, .fill = fill_pattern };

	cr_assert_eq(gp_st_write(t, 2, &opts, NULL), GP_EINVAL);
	cr_assert(strstr(gp_last_error(), "'a' is listed twice"), "%s", gp_last_error());
	snprintf(t[1].name, sizeof(t[1].name), "__metadata__");
	opts.metadata = (const char *const[]){ "k", "v", NULL };
	cr_assert_eq(gp_st_write(t, 2, &opts, NULL), GP_EINVAL);
	cr_assert(strstr(gp_last_error(), "__metadata__"), "%s", gp_last_error());
	t[1].shape[0] = -1;
	snprintf(t[1].name, sizeof(t[1].name), "b");
	cr_assert_eq(gp_st_write(t, 2, &opts, NULL), GP_EINVAL);
	cr_assert(strstr(gp_last_error(), "negative"), "%s", gp_last_error());
	t[1].shape[0] = 1ll << 62;
	cr_assert_eq(gp_st_write(t, 2, &opts, NULL), GP_ERANGE);
	opts.shard_size = 0;
	cr_assert_eq(gp_st_write(t, 1, &opts, NULL), GP_EINVAL);
	list_dir(dir, listing, sizeof(listing));
	cr_assert_str_eq(listing, "", "left behind: %s", listing);
	remove_tree(dir);
}

Test(writer, zero_sized_tensor)
{
	char *dir = make_tmpdir(), *path = path_in(dir, GP_ST_SINGLE_NAME);
	struct gp_arch_tensor t[2] = {
		{ .name = "empty", .dtype = GP_DTYPE_BF16, .ndim = 2, .shape = { 0, 3 } },
		{ .name = "w", .dtype = GP_DTYPE_U8, .ndim = 1, .shape = { 5 } },
	};
	struct gp_st_write_opts opts = { .out_dir = dir, .shard_size = 1u << 20, .fill = fill_pattern };
	struct gp_st_write_result res;
	unsigned char *data, want[5];
	size_t len;

	cr_assert_eq(gp_st_write(t, 2, &opts, &res), 0, "%s", gp_last_error());
	data = read_whole(path, &len);
	cr_assert(strstr((char *)data + 8, "\"empty\":{\"dtype\":\"BF16\",\"shape\":[0,3],"
				       "\"data_offsets\":[0,0]}"), "%s", (char *)data + 8);
	gp_sample_fill(0, "w", 0, want, 5);
	cr_assert_eq(memcmp(data + len - 5, want, 5), 0);
	cr_assert_eq(res.file_bytes, len);
	free(data);
	free(path);
	remove_tree(dir);
}

/* --------------------------------------------------- gpupager mkmodel */

#define RUN(...) gp_test_cli_run((const char *const[]){ __VA_ARGS__, NULL }, 0)

Test(mkmodel_cli, help_lists_architectures)
{
	struct gp_test_cli r = RUN("mkmodel", "--help");

	cr_assert_eq(r.status, 0, "%s", r.err);
	for (const char *const *arch = gp_arch_names(); *arch; arch++)
		cr_assert(strstr(r.out, *arch), "%s missing from --help", *arch);
	cr_assert(strstr(r.out, "14288491584"), "%s", r.out);
	cr_assert(strstr(r.out, "8030261248"), "%s", r.out);
	cr_assert(strstr(r.out, "--shard-size"));
	cr_assert(strstr(r.out, "0 < S <= 1"));
	gp_test_cli_free(&r);
}

Test(mkmodel_cli, writes_and_summarizes)
{
	char *dir = make_tmpdir(), *out = path_in(dir, "m");
	struct gp_test_cli r = RUN("mkmodel", "--arch", "wan2.1-14b", "--scale", "0.03", "--seed",
				  "77", "--shard-size", "2M", out);
	struct expected_model m;
	uint32_t n;
	char want[64];

	cr_assert_eq(r.status, 0, "%s", r.err);
	expect_model(&m, "wan2.1-14b", 0.03, 77, -1);
	n = check_model(&m, out);
	snprintf(want, sizeof(want), ": %u files + index, %zu tensors,", n, m.n_tensors);
	cr_assert(strstr(r.out, want), "summary '%s' lacks '%s'", r.out, want);
	cr_assert(strstr(r.out, out), "%s", r.out);
	cr_assert_str_eq(r.err, "", "stderr not a terminal, yet: %s", r.err);
	gp_test_cli_free(&r);
	free(m.tensors);
	free(out);
	remove_tree(dir);
}

Test(mkmodel_cli, json_summary_and_dtype)
{
	char *dir = make_tmpdir();
	struct gp_test_cli r = RUN("mkmodel", "--arch", "llama3-8b", "--scale", "0.02", "--dtype", "F32",
				  "--json", dir);
	struct expected_model m;
	json_error_t jerr;
	json_t *j;

	cr_assert_eq(r.status, 0, "%s", r.err);
	expect_model(&m, "llama3-8b", 0.02, 0, GP_DTYPE_F32);
	cr_assert_eq(check_model(&m, dir), 1);
	j = json_loads(r.out, 0, &jerr);
	cr_assert(j, "not JSON: %s\n%s", jerr.text, r.out);
	cr_assert_str_eq(json_string_value(json_object_get(j, "arch")), "llama3-8b");
	cr_assert_str_eq(json_string_value(json_object_get(j, "seed")), "0");
	cr_assert_float_eq(json_real_value(json_object_get(j, "scale")), 0.02, 1e-12);
	cr_assert_eq(json_integer_value(json_object_get(j, "tensors")), (json_int_t)m.n_tensors);
	cr_assert_eq(json_integer_value(json_object_get(j, "tensor_bytes")), (json_int_t)m.total_bytes);
	cr_assert_eq(json_array_size(json_object_get(j, "files")), 1);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "files"), 0)),
			 GP_ST_SINGLE_NAME);
	cr_assert(json_is_null(json_object_get(j, "index")));
	json_decref(j);
	gp_test_cli_free(&r);
	free(m.tensors);
	remove_tree(dir);
}

Test(mkmodel_cli, existing_model_needs_force)
{
	char *dir = make_tmpdir();
	struct gp_test_cli r = RUN("mkmodel", "--arch", "sdxl-unet", "--scale", "0.02", dir);
	struct expected_model m;

	cr_assert_eq(r.status, 0, "%s", r.err);
	gp_test_cli_free(&r);
	r = RUN("mkmodel", "--arch", "sdxl-unet", "--scale", "0.02", "--seed", "5", dir);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "already holds a model"), "%s", r.err);
	cr_assert(strstr(r.err, "--force"), "%s", r.err);
	gp_test_cli_free(&r);
	r = RUN("mkmodel", "--arch", "sdxl-unet", "--scale", "0.02", "--seed", "5", "--force", dir);
	cr_assert_eq(r.status, 0, "%s", r.err);
	expect_model(&m, "sdxl-unet", 0.02, 5, -1);
	check_model(&m, dir);
	gp_test_cli_free(&r);
	free(m.tensors);
	remove_tree(dir);
}

Test(mkmodel_cli, usage_errors)
{
	static const struct {
		const char *args[8];
		const char *message;
	} cases[] = {
		{ { "--scale", "0.1", "/tmp/x" }, "--arch is required" },
		{ { "--arch", "flux-dev", "/tmp/x" }, "--scale is required" },
		{ { "--arch", "flux-dev", "--scale", "0.1" }, "OUT_DIR is required" },
		{ { "--arch", "gpt-5", "--scale", "0.1", "/tmp/x" }, "unknown architecture 'gpt-5'" },
		{ { "--arch", "flux-dev", "--scale", "0", "/tmp/x" }, "bad --scale '0'" },
		{ { "--arch", "flux-dev", "--scale", "1.5", "/tmp/x" }, "0 < S <= 1" },
		{ { "--arch", "flux-dev", "--scale", "0.1x", "/tmp/x" }, "bad --scale '0.1x'" },
		{ { "--arch", "flux-dev", "--scale", "nan", "/tmp/x" }, "bad --scale 'nan'" },
		{ { "--arch", "flux-dev", "--scale", "0.1", "--shard-size", "12Q", "/tmp/x" },
		  "Invalid size: '12Q'" },
		{ { "--arch", "flux-dev", "--scale", "0.1", "--shard-size", "0", "/tmp/x" },
		  "must be above 0" },
		{ { "--arch", "flux-dev", "--scale", "0.1", "--seed", "-1", "/tmp/x" }, "bad --seed '-1'" },
		{ { "--arch", "flux-dev", "--scale", "0.1", "--seed", "18446744073709551616", "/tmp/x" },
		  "bad --seed" },
		{ { "--arch", "flux-dev", "--scale", "0.1", "--dtype", "I32", "/tmp/x" },
		  "bad --dtype 'I32'" },
		{ { "--arch", "flux-dev", "--scale", "0.1", "/tmp/x", "/tmp/y" },
		  "unexpected argument '/tmp/y'" },
		{ { "--arch", "flux-dev", "--scale", "0.1", "--frobnicate", "/tmp/x" }, "bad option" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[10] = { "mkmodel" };
		struct gp_test_cli r;

		for (size_t k = 0; cases[i].args[k]; k++)
			args[k + 1] = cases[i].args[k];
		r = gp_test_cli_run(args, 0);
		cr_assert_eq(r.status, 2, "case %zu: status %d, stderr %s", i, r.status, r.err);
		cr_assert(strstr(r.err, cases[i].message), "case %zu: stderr '%s' lacks '%s'", i, r.err,
			  cases[i].message);
		cr_assert(strstr(r.err, "Try 'gpupager mkmodel --help'"), "%s", r.err);
		cr_assert_str_eq(r.out, "");
		gp_test_cli_free(&r);
	}
}

Test(mkmodel_cli, unwritable_out_dir)
{
	char *dir = make_tmpdir(), *file = path_in(dir, "f"), *out = path_in(file, "sub");
	FILE *f = fopen(file, "w");
	struct gp_test_cli r;

	cr_assert(f);
	fclose(f);
	r = RUN("mkmodel", "--arch", "flux-dev", "--scale", "0.02", out);
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert(strstr(r.err, "gpupager mkmodel: "), "%s", r.err);
	cr_assert(strstr(r.err, file), "%s", r.err);
	cr_assert(strstr(r.err, strerror(ENOTDIR)), "%s", r.err);
	gp_test_cli_free(&r);
	free(out);
	free(file);
	remove_tree(dir);
}

/* A write failing midway (here: the file size limit, as a full disk would) leaves nothing. */
Test(mkmodel_cli, failed_write_leaves_no_model)
{
	char *dir = make_tmpdir(), listing[256];
	const char *args[] = { "mkmodel", "--arch", "wan2.1-14b", "--scale", "0.05", "--shard-size",
			       "4M", dir, NULL };
	struct gp_test_cli r = gp_test_cli_run(args, 3u << 20);

	cr_assert_eq(r.status, 1, "status %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, strerror(EFBIG)), "%s", r.err);
	cr_assert(strstr(r.err, "model-00001-of-"), "message does not name the file: %s", r.err);
	list_dir(dir, listing, sizeof(listing));
	cr_assert_str_eq(listing, "", "left behind: %s", listing);
	gp_test_cli_free(&r);
	remove_tree(dir);
}

/* ------------------------------------------- the library's own parser */

/* Every generated model, one file or sharded, passes gp_model_desc_open() and lists the table. */
Test(model_open, generated_models_open_as_tables)
{
	static const uint64_t shard_sizes[] = { 2ull << 30, 1u << 20 };

	for (const char *const *arch = gp_arch_names(); *arch; arch++) {
		for (size_t s = 0; s < 2; s++) {
			char *dir = make_tmpdir(), name[64];
			struct gp_st_write_result res;
			struct gp_model_desc *desc = NULL;
			struct expected_model m;

			write_sample(*arch, 0.03, 3, dir, shard_sizes[s], &res);
			expect_model(&m, *arch, 0.03, 3, -1);
			cr_assert_eq(gp_model_desc_open(dir, &desc), 0, "%s: %s", *arch, gp_last_error());
			cr_assert_eq(desc->n_files, res.n_files, "%s", *arch);
			for (uint32_t f = 0; f < desc->n_files; f++) {
				gp_st_file_name(f, desc->n_files, name, sizeof(name));
				cr_assert_str_eq(desc->files[f].name, name);
				cr_assert_eq(desc->files[f].data_start % 8, 0);
			}
			cr_assert_eq(desc->n_tensors, m.n_tensors, "%s", *arch);
			cr_assert_eq(desc->tensor_bytes, m.total_bytes, "%s", *arch);
			for (size_t i = 0; i < m.n_tensors; i++) {
				const struct gp_st_tensor *t = &desc->tensors[i];

				cr_assert_str_eq(t->name, m.tensors[i].name, "%s: tensor %zu", *arch, i);
				cr_assert_eq(t->dtype, m.tensors[i].dtype, "%s", t->name);
				cr_assert_eq(t->ndim, m.tensors[i].ndim, "%s", t->name);
				cr_assert_eq(memcmp(t->shape, m.tensors[i].shape,
						    sizeof(t->shape[0]) * (size_t)t->ndim), 0, "%s", t->name);
				cr_assert_eq(t->nbytes, tensor_nbytes(&m.tensors[i]), "%s", t->name);
			}
			gp_model_desc_free(desc);
			free(m.tensors);
			remove_tree(dir);
		}
	}
}

/* Grouping sees one group per repeated block of the real architecture. */
Test(model_open, generated_models_group_by_block)
{
	static const struct {
		const char *arch;
		int blocks;
	} cases[] = { { "wan2.1-14b", 40 }, { "llama3-8b", 32 } };

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char *dir = make_tmpdir();
		struct gp_st_write_result res;
		struct gp_model_desc *desc = NULL;
		int blocks = 0;

		write_sample(cases[c].arch, 0.02, 0, dir, 1u << 20, &res);
		cr_assert_eq(gp_model_desc_load(dir, 2u << 20, NULL, &desc), 0, "%s: %s", cases[c].arch,
			     gp_last_error());
		for (uint32_t g = 0; g < desc->n_groups; g++)
			blocks += desc->groups[g].block_index >= 0;
		cr_assert_eq(blocks, cases[c].blocks, "%s: %d block groups", cases[c].arch, blocks);
		gp_model_desc_free(desc);
		remove_tree(dir);
	}
}
