/*
 * model_open.c - open a model given as a .safetensors file, an index file, or
 * a directory, and validate it as a whole (shards against their index, tensor
 * names unique across files).  Only headers are read, never tensor data.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "model.h"

#define INDEX_SUFFIX ".safetensors.index.json"
/* Indexes of the largest public models are a few MiB; this bounds the read. */
#define INDEX_MAX_BYTES (64u << 20)

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && !strcmp(s + n - m, suffix);
}

/* The GP_E* code for a failed open, stat or opendir. */
static int errno_code(int e)
{
	return e == ENOENT ? GP_ENOENT : e == ENOMEM ? GP_ENOMEM : GP_EIO;
}

static int read_exact(int fd, void *buf, size_t len, uint64_t offset, const char *path)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(offset + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return gp_fail(GP_EIO, "%s: read failed at offset %llu: %s", path,
				       (unsigned long long)(offset + done), strerror(errno));
		if (r == 0)
			return gp_fail(GP_EFORMAT, "%s: file ends at %llu, expected %llu bytes", path,
				       (unsigned long long)(offset + done),
				       (unsigned long long)(offset + len));
		done += (size_t)r;
	}
	return 0;
}

static int open_file(const char *path, int *fd, uint64_t *size)
{
	struct stat st;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return gp_fail(errno_code(errno), "%s: cannot open: %s", path, strerror(errno));
	if (fstat(*fd, &st) || !S_ISREG(st.st_mode)) {
		close(*fd);
		return gp_fail(GP_EFORMAT, "%s: not a regular file", path);
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Read and validate file desc->files[i] (path set), appending its tensors. */
static int load_file(struct gp_model_desc *desc, uint32_t i)
{
	struct gp_st_file *f = &desc->files[i];
	unsigned char prefix[8];
	uint64_t size, header_len = 0;
	char *header = NULL;
	int fd, err;

	err = open_file(f->path, &fd, &size);
	if (err)
		return err;
	if (size < 8) {
		err = gp_fail(GP_EFORMAT, "%s: %llu bytes is too short for a safetensors file (8-byte header length missing)",
			      f->name, (unsigned long long)size);
		goto out;
	}
	err = read_exact(fd, prefix, 8, 0, f->path);
	if (err)
		goto out;
	for (int b = 7; b >= 0; b--)
		header_len = header_len << 8 | prefix[b];
	if (header_len == 0 || header_len > GP_ST_MAX_HEADER || header_len > size - 8) {
		/* Let the parser word the error. */
		err = gp_st_parse_header(desc, i, "", header_len, size, f->name);
		goto out;
	}
	header = malloc(header_len);
	if (!header) {
		err = gp_fail(GP_ENOMEM, "%s: out of memory for a %llu-byte header", f->name,
			      (unsigned long long)header_len);
		goto out;
	}
	err = read_exact(fd, header, header_len, 8, f->path);
	if (!err)
		err = gp_st_parse_header(desc, i, header, header_len, size, f->name);
out:
	free(header);
	close(fd);
	return err;
}

void gp_model_desc_free(struct gp_model_desc *desc)
{
	if (!desc)
		return;
	for (uint32_t i = 0; i < desc->n_tensors; i++)
		free(desc->tensors[i].name);
	for (uint32_t i = 0; i < desc->n_files; i++) {
		struct gp_st_file *f = &desc->files[i];

		gp_st_file_drop_metadata(f);
		free(f->path);
		free(f->name);
	}
	for (uint32_t g = 0; g < desc->n_groups; g++) {
		free(desc->groups[g].name);
		free(desc->groups[g].tensors);
	}
	free(desc->groups);
	free(desc->files);
	free(desc->tensors);
	free(desc->source);
	free(desc->dir);
	free(desc);
}

static int add_file(struct gp_model_desc *desc, const char *dir, const char *name)
{
	struct gp_st_file *f = &desc->files[desc->n_files];

	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	if (asprintf(&f->path, "%s/%s", dir, name) < 0)
		f->path = NULL;
	desc->n_files++;
	if (!f->name || !f->path)
		return gp_fail(GP_ENOMEM, "out of memory opening %s", name);
	return load_file(desc, desc->n_files - 1);
}

static int cmp_tensor_name(const void *a, const void *b)
{
	return strcmp((*(const struct gp_st_tensor *const *)a)->name,
		      (*(const struct gp_st_tensor *const *)b)->name);
}

static struct gp_st_tensor **sorted_by_name(const struct gp_model_desc *desc)
{
	struct gp_st_tensor **v = malloc((desc->n_tensors + 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (uint32_t i = 0; i < desc->n_tensors; i++)
		v[i] = &desc->tensors[i];
	qsort(v, desc->n_tensors, sizeof(*v), cmp_tensor_name);
	return v;
}

/* Tensor names are unique within a file (JSON keys) but must be across shards too. */
static int check_unique_names(const struct gp_model_desc *desc, struct gp_st_tensor **sorted,
			      const char *index_name)
{
	for (uint32_t i = 1; i < desc->n_tensors; i++) {
		uint32_t a = sorted[i - 1]->file, b = sorted[i]->file;

		if (strcmp(sorted[i - 1]->name, sorted[i]->name))
			continue;
		return gp_fail(GP_EFORMAT, "%s: tensor '%s' appears in both %s and %s", index_name,
			       sorted[i]->name, desc->files[a < b ? a : b].name,
			       desc->files[a < b ? b : a].name);
	}
	return 0;
}

static const struct gp_st_tensor *find_tensor(struct gp_st_tensor **sorted, uint32_t n,
					      const char *name)
{
	struct gp_st_tensor key = { .name = (char *)name }, *kp = &key, **hit;

	hit = bsearch(&kp, sorted, n, sizeof(*sorted), cmp_tensor_name);
	return hit ? *hit : NULL;
}

/* The first shard tensor that no weight_map entry matched. */
static int report_unlisted(const struct gp_model_desc *desc, const unsigned char *listed,
			   const char *index_name)
{
	for (uint32_t i = 0; i < desc->n_tensors; i++)
		if (!listed[i])
			return gp_fail(GP_EFORMAT, "%s: tensor '%s' of shard %s is not listed in weight_map",
				       index_name, desc->tensors[i].name,
				       desc->files[desc->tensors[i].file].name);
	return 0;
}

/* Every weight_map entry is in its shard, and every shard tensor is listed. */
static int check_against_index(const struct gp_model_desc *desc, struct gp_st_tensor **sorted,
			       const struct gp_st_index *index, const char *index_name)
{
	unsigned char *listed = calloc(desc->n_tensors + 1, 1);
	int err = 0;

	if (!listed)
		return gp_fail(GP_ENOMEM, "out of memory checking %s", index_name);
	for (size_t e = 0; e < index->n_entries && !err; e++) {
		const struct gp_st_tensor *t = find_tensor(sorted, desc->n_tensors,
							   index->tensor_names[e]);
		if (!t)
			err = gp_fail(GP_EFORMAT, "%s: tensor '%s' is listed in shard %s but not found there",
				      index_name, index->tensor_names[e], index->shard_names[e]);
		else if (strcmp(desc->files[t->file].name, index->shard_names[e]))
			err = gp_fail(GP_EFORMAT, "%s: tensor '%s' is listed in shard %s but found in %s",
				      index_name, t->name, index->shard_names[e],
				      desc->files[t->file].name);
		else
			listed[t - desc->tensors] = 1;
	}
	if (!err)
		err = report_unlisted(desc, listed, index_name);
	if (!err && index->total_size != UINT64_MAX && index->total_size != desc->tensor_bytes)
		err = gp_fail(GP_EFORMAT, "%s: metadata.total_size is %llu but the shards hold %llu tensor bytes",
			      index_name, (unsigned long long)index->total_size,
			      (unsigned long long)desc->tensor_bytes);
	free(listed);
	return err;
}

/* The model's files, as a whole, against the index. */
static int check_shards(const struct gp_model_desc *desc, const struct gp_st_index *index,
			const char *index_name)
{
	struct gp_st_tensor **sorted = sorted_by_name(desc);
	int err;

	if (!sorted)
		return gp_fail(GP_ENOMEM, "out of memory checking %s", index_name);
	err = check_unique_names(desc, sorted, index_name);
	if (!err)
		err = check_against_index(desc, sorted, index, index_name);
	free(sorted);
	return err;
}

static int read_index(const char *path, struct gp_st_index **index)
{
	uint64_t size;
	char *text;
	int fd, err;

	err = open_file(path, &fd, &size);
	if (err)
		return err;
	if (size > INDEX_MAX_BYTES) {
		close(fd);
		return gp_fail(GP_EFORMAT, "%s: %llu bytes is too large for an index (limit %u)", path,
			       (unsigned long long)size, INDEX_MAX_BYTES);
	}
	text = malloc(size + 1);
	if (!text) {
		close(fd);
		return gp_fail(GP_ENOMEM, "%s: out of memory", path);
	}
	err = read_exact(fd, text, size, 0, path);
	close(fd);
	if (!err)
		err = gp_st_index_parse(text, size, path, index);
	free(text);
	return err;
}

static int open_indexed(struct gp_model_desc *desc, const char *index_path)
{
	struct gp_st_index *index = NULL;
	int err;

	err = read_index(index_path, &index);
	if (err)
		return err;
	desc->files = calloc(index->n_shards, sizeof(*desc->files));
	if (!desc->files) {
		err = gp_fail(GP_ENOMEM, "out of memory opening %s", index_path);
		goto out;
	}
	for (size_t s = 0; s < index->n_shards && !err; s++)
		err = add_file(desc, desc->dir, index->shards[s]);
	if (!err)
		err = check_shards(desc, index, index_path);
out:
	gp_st_index_free(index);
	return err;
}

static int open_single(struct gp_model_desc *desc, const char *path)
{
	char *copy = strdup(path);
	int err;

	desc->files = calloc(1, sizeof(*desc->files));
	if (!copy || !desc->files) {
		free(copy);
		return gp_fail(GP_ENOMEM, "out of memory opening %s", path);
	}
	err = add_file(desc, desc->dir, basename(copy));
	free(copy);
	return err;
}

/*
 * Pick the model file in a directory: model.safetensors.index.json, else the
 * only *.safetensors.index.json, else the only *.safetensors.
 */
static int resolve_dir(const char *dir, char **chosen)
{
	char index_name[NAME_MAX + 1] = "", single_name[NAME_MAX + 1] = "", found[512] = "";
	int n_index = 0, n_single = 0, preferred = 0;
	const char *pick;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return gp_fail(errno_code(errno), "%s: cannot read directory: %s", dir,
			       strerror(errno));
	while ((e = readdir(d))) {
		int is_index = has_suffix(e->d_name, INDEX_SUFFIX);
		int is_single = has_suffix(e->d_name, ".safetensors");
		size_t used = strlen(found);

		if (!is_index && !is_single)
			continue;
		snprintf(found + used, sizeof(found) - used, "%s%s", used ? ", " : "", e->d_name);
		preferred |= !strcmp(e->d_name, "model" INDEX_SUFFIX);
		n_index += is_index;
		n_single += is_single;
		snprintf(is_index ? index_name : single_name, NAME_MAX + 1, "%s", e->d_name);
	}
	closedir(d);
	if (preferred)
		pick = "model" INDEX_SUFFIX;
	else if (n_index > 1)
		return gp_fail(GP_EFORMAT, "%s: several index files and no model%s (found %s); open one of them",
			       dir, INDEX_SUFFIX, found);
	else if (n_index == 1)
		pick = index_name;
	else if (n_single > 1)
		return gp_fail(GP_EFORMAT, "%s: %d .safetensors files but no index (found %s); open one file or add model%s",
			       dir, n_single, found, INDEX_SUFFIX);
	else if (n_single == 1)
		pick = single_name;
	else
		return gp_fail(GP_ENOENT, "%s: no .safetensors file or index in this directory", dir);
	if (asprintf(chosen, "%s/%s", dir, pick) < 0)
		return gp_fail(GP_ENOMEM, "out of memory");
	return 0;
}

int gp_model_desc_open(const char *path, struct gp_model_desc **out)
{
	struct gp_model_desc *desc;
	char *file = NULL, *dir_copy = NULL;
	struct stat st;
	int err;

	if (!path || !out)
		return gp_fail(GP_EINVAL, "gp_model_desc_open: no path");
	if (stat(path, &st))
		return gp_fail(errno_code(errno), "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		err = resolve_dir(path, &file);
	else
		err = (file = strdup(path)) ? 0 : gp_fail(GP_ENOMEM, "out of memory");
	if (err)
		return err;
	desc = calloc(1, sizeof(*desc));
	dir_copy = strdup(file);
	if (!desc || !dir_copy) {
		err = gp_fail(GP_ENOMEM, "out of memory opening %s", path);
		goto fail;
	}
	desc->source = strdup(path);
	desc->dir = strdup(dirname(dir_copy));
	if (!desc->source || !desc->dir) {
		err = gp_fail(GP_ENOMEM, "out of memory opening %s", path);
		goto fail;
	}
	if (has_suffix(file, ".index.json"))
		err = open_indexed(desc, file);
	else
		err = open_single(desc, file);
	if (err)
		goto fail;
	gp_log_info("opened %s: %u file(s), %u tensors, %llu bytes", file, desc->n_files,
		    desc->n_tensors, (unsigned long long)desc->tensor_bytes);
	free(file);
	free(dir_copy);
	*out = desc;
	return 0;
fail:
	gp_model_desc_free(desc);
	free(file);
	free(dir_copy);
	return err;
}

int gp_model_desc_load(const char *path, uint64_t chunk_size, const char *pattern,
		       struct gp_model_desc **out)
{
	const struct gp_config *cfg;
	struct gp_model_desc *desc;
	int err;

	err = gp_config_get(&cfg);
	if (err)
		return err;
	err = gp_model_desc_open(path, &desc);
	if (err)
		return err;
	err = gp_model_group(desc, pattern);
	if (!err)
		err = gp_layout_plan(desc, chunk_size ? chunk_size : cfg->chunk_size);
	if (err) {
		gp_model_desc_free(desc);
		return err;
	}
	*out = desc;
	return 0;
}
