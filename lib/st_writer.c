/*
 * st_writer.c - write tensors as a safetensors model: plan the shards, write
 * each file (JSON header, then data generated through one buffer) in a
 * staging directory, then rename the files into place, index last.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "error.h"
#include "log.h"
#include "st_writer.h"

/* Data goes to the file in pieces this big: large enough for full disk speed. */
#define WRITE_BUFFER_SIZE (8u << 20)
#define STAGING_TEMPLATE ".gpupager-staging.XXXXXX"
/* '#' stands for a digit. */
#define SHARD_NAME_PATTERN "model-#####-of-#####.safetensors"

struct shard {
	size_t first;           /* index of its first tensor */
	size_t count;
	uint64_t data_bytes;
};

struct writer {
	const struct gp_arch_tensor *tensors;
	size_t n_tensors;
	uint64_t *nbytes;       /* per tensor */
	const struct gp_st_write_opts *opts;
	struct shard *shards;
	uint32_t n_shards;
	char staging[PATH_MAX]; /* empty until created */
	unsigned char *buffer;
	uint64_t tensor_bytes;
	uint64_t done_bytes;    /* tensor bytes written so far, for progress */
	uint64_t file_bytes;
};

void gp_st_file_name(uint32_t index, uint32_t n_files, char *buf, size_t len)
{
	if (n_files == 1)
		snprintf(buf, len, "%s", GP_ST_SINGLE_NAME);
	else
		snprintf(buf, len, "model-%05u-of-%05u.safetensors", index + 1, n_files);
}

static int path_join(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX)
		return gp_fail(GP_ERANGE, "%s/%s: path is longer than %d bytes", dir, name, PATH_MAX - 1);
	return 0;
}

static int tensor_nbytes(const struct gp_arch_tensor *t, uint64_t *out)
{
	uint64_t n = gp_dtype_size(t->dtype);

	if (!n)
		return gp_fail(GP_EINVAL, "tensor '%s': invalid dtype %d", t->name, (int)t->dtype);
	if (t->ndim < 0 || t->ndim > GP_MAX_DIMS)
		return gp_fail(GP_EINVAL, "tensor '%s': %d dimensions (at most %d)", t->name, t->ndim,
			       GP_MAX_DIMS);
	for (int d = 0; d < t->ndim; d++) {
		if (t->shape[d] < 0)
			return gp_fail(GP_EINVAL, "tensor '%s': negative dimension %lld", t->name,
				       (long long)t->shape[d]);
		if (__builtin_mul_overflow(n, (uint64_t)t->shape[d], &n))
			return gp_fail(GP_ERANGE, "tensor '%s': size overflows 64 bits", t->name);
	}
	*out = n;
	return 0;
}

/* Greedy, in order: a shard takes tensors while they fit; a tensor never splits. */
static int plan_shards(struct writer *w)
{
	uint64_t limit = w->opts->shard_size;
	struct shard *s;

	w->shards = calloc(w->n_tensors ? w->n_tensors : 1, sizeof(*w->shards));
	if (!w->shards)
		return gp_fail(GP_ENOMEM, "out of memory planning %zu tensors", w->n_tensors);
	s = w->shards;
	w->n_shards = 1;
	for (size_t i = 0; i < w->n_tensors; i++) {
		if (__builtin_add_overflow(w->tensor_bytes, w->nbytes[i], &w->tensor_bytes))
			return gp_fail(GP_ERANGE, "model size overflows 64 bits");
		if (s->count && s->data_bytes + w->nbytes[i] > limit) {
			s++;
			s->first = i;
			w->n_shards++;
		}
		s->count++;
		s->data_bytes += w->nbytes[i];
	}
	if (w->n_shards > GP_ST_MAX_SHARDS)
		return gp_fail(GP_ERANGE,
			       "a shard size of %llu bytes needs %u shards, more than %u; use a larger shard size",
			       (unsigned long long)limit, w->n_shards, GP_ST_MAX_SHARDS);
	return 0;
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
	char path[PATH_MAX], saved;
	struct stat st;
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return gp_fail(GP_EINVAL, "output directory '%s': empty or too long a path", dir);
	memcpy(path, dir, len + 1);
	/* Each prefix ending before a '/' (and the whole path) in turn. */
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		saved = *p;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return gp_fail(GP_EIO, "%s: cannot create directory: %s", path, strerror(errno));
		*p = saved;
		if (!saved)
			break;
	}
	if (stat(dir, &st))
		return gp_fail(GP_EIO, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return gp_fail(GP_EIO, "%s: not a directory", dir);
	return 0;
}

static int is_model_file(const char *name)
{
	const char *pattern = SHARD_NAME_PATTERN;

	if (!strcmp(name, GP_ST_SINGLE_NAME) || !strcmp(name, GP_ST_INDEX_NAME))
		return 1;
	for (; *pattern; pattern++, name++) {
		if (*pattern == '#' ? (*name < '0' || *name > '9') : *name != *pattern)
			return 0;
	}
	return *name == '\0';
}

/* The name of a model file in dir into found, or found[0] = 0 if there is none. */
static int find_model_file(const char *dir, char *found, size_t found_len)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return gp_fail(GP_EIO, "%s: cannot list directory: %s", dir, strerror(errno));
	while ((e = readdir(d)) && !is_model_file(e->d_name))
		;
	snprintf(found, found_len, "%s", e ? e->d_name : "");
	closedir(d);
	return 0;
}

/* Delete the model files in dir, the index first so that a half-removed model no longer looks complete. */
static int remove_model_files(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int err = path_join(path, dir, GP_ST_INDEX_NAME);

	if (err)
		return err;
	if (unlink(path) && errno != ENOENT)
		return gp_fail(GP_EIO, "%s: cannot remove: %s", path, strerror(errno));
	d = opendir(dir);
	if (!d)
		return gp_fail(GP_EIO, "%s: cannot list directory: %s", dir, strerror(errno));
	while (!err && (e = readdir(d))) {
		if (!is_model_file(e->d_name))
			continue;
		err = path_join(path, dir, e->d_name);
		if (!err && unlink(path))
			err = gp_fail(GP_EIO, "%s: cannot remove: %s", path, strerror(errno));
	}
	closedir(d);
	return err;
}

static int write_all(int fd, const void *data, size_t len, const char *path)
{
	const unsigned char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return gp_fail(GP_EIO, "%s: write failed: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* {"dtype": ..., "shape": [...], "data_offsets": [begin, end]} */
static json_t *tensor_entry(const struct gp_arch_tensor *t, uint64_t begin, uint64_t end)
{
	json_t *entry = json_object(), *shape = json_array();
	int bad = !entry || !shape;

	for (int d = 0; !bad && d < t->ndim; d++)
		bad = json_array_append_new(shape, json_integer(t->shape[d]));
	if (!bad)
		bad = json_object_set_new(entry, "dtype", json_string(gp_dtype_name(t->dtype))) ||
		      json_object_set(entry, "shape", shape) ||
		      json_object_set_new(entry, "data_offsets",
					  json_pack("[I, I]", (json_int_t)begin, (json_int_t)end));
	json_decref(shape);
	if (bad) {
		json_decref(entry);
		return NULL;
	}
	return entry;
}

static int add_metadata(json_t *root, const char *const *metadata)
{
	json_t *meta;

	if (!metadata || !metadata[0])
		return 0;
	meta = json_object();
	if (json_object_set_new(root, "__metadata__", meta))
		return gp_fail(GP_ENOMEM, "out of memory building a header");
	for (size_t i = 0; metadata[i]; i += 2) {
		if (!metadata[i + 1])
			return gp_fail(GP_EINVAL, "metadata key '%s' has no value", metadata[i]);
		if (json_object_set_new(meta, metadata[i], json_string(metadata[i + 1])))
			return gp_fail(GP_EINVAL, "metadata '%s': '%s' is not valid UTF-8 text",
				       metadata[i], metadata[i + 1]);
	}
	return 0;
}

/*
 * The JSON header of one shard, padded with spaces to a multiple of 8 bytes
 * so that the data after the 8-byte length prefix starts 8-byte aligned.
 */
static int build_header(const struct writer *w, const struct shard *s, char **out, size_t *out_len)
{
	json_t *root = json_object();
	uint64_t offset = 0;
	size_t len, padded;
	char *text = NULL, *grown;
	int err;

	if (!root)
		return gp_fail(GP_ENOMEM, "out of memory building a header");
	err = add_metadata(root, w->opts->metadata);
	for (size_t i = s->first; !err && i < s->first + s->count; i++) {
		const struct gp_arch_tensor *t = &w->tensors[i];

		if (!strcmp(t->name, "__metadata__"))
			err = gp_fail(GP_EINVAL, "tensor name '__metadata__' is reserved for the header's metadata");
		else if (json_object_get(root, t->name))
			err = gp_fail(GP_EINVAL, "tensor '%s' is listed twice", t->name);
		else if (json_object_set_new(root, t->name, tensor_entry(t, offset, offset + w->nbytes[i])))
			err = gp_fail(GP_EINVAL, "tensor '%s': cannot be written in a header "
				      "(not valid UTF-8, or out of memory)", t->name);
		offset += w->nbytes[i];
	}
	if (!err) {
		text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!text)
			err = gp_fail(GP_ENOMEM, "out of memory serializing a header");
	}
	json_decref(root);
	if (err)
		return err;
	len = strlen(text);
	padded = (len + 7) & ~(size_t)7;
	grown = realloc(text, padded + 1);
	if (!grown) {
		free(text);
		return gp_fail(GP_ENOMEM, "out of memory padding a header");
	}
	memset(grown + len, ' ', padded - len);
	grown[padded] = '\0';
	*out = grown;
	*out_len = padded;
	return 0;
}

static int flush(struct writer *w, int fd, size_t used, const char *path)
{
	int err = write_all(fd, w->buffer, used, path);

	if (err)
		return err;
	w->done_bytes += used;
	w->file_bytes += used;
	if (w->opts->progress)
		w->opts->progress(w->opts->progress_ctx, w->done_bytes, w->tensor_bytes);
	return 0;
}

/* The shard's tensors, back to back, generated into the buffer and written as it fills. */
static int write_data(struct writer *w, int fd, const struct shard *s, const char *path)
{
	size_t used = 0;
	int err;

	for (size_t i = s->first; i < s->first + s->count; i++) {
		for (uint64_t off = 0; off < w->nbytes[i];) {
			uint64_t left = w->nbytes[i] - off;
			size_t n = WRITE_BUFFER_SIZE - used;

			if (left < n)
				n = (size_t)left;
			w->opts->fill(w->opts->fill_ctx, &w->tensors[i], off, w->buffer + used, n);
			used += n;
			off += n;
			if (used == WRITE_BUFFER_SIZE) {
				err = flush(w, fd, used, path);
				if (err)
					return err;
				used = 0;
			}
		}
	}
	return used ? flush(w, fd, used, path) : 0;
}

static int write_shard(struct writer *w, uint32_t index)
{
	const struct shard *s = &w->shards[index];
	char name[64], path[PATH_MAX];
	unsigned char prefix[8];
	char *header = NULL;
	size_t header_len = 0;
	int fd, err;

	gp_st_file_name(index, w->n_shards, name, sizeof(name));
	err = path_join(path, w->staging, name);
	if (!err)
		err = build_header(w, s, &header, &header_len);
	if (err)
		return err;
	/* The length prefix is a little-endian u64. */
	for (int i = 0; i < 8; i++)
		prefix[i] = (unsigned char)((uint64_t)header_len >> (8 * i));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = gp_fail(GP_EIO, "%s: cannot create: %s", path, strerror(errno));
		goto out_header;
	}
	err = write_all(fd, prefix, sizeof(prefix), path);
	if (!err)
		err = write_all(fd, header, header_len, path);
	if (!err) {
		w->file_bytes += sizeof(prefix) + header_len;
		err = write_data(w, fd, s, path);
	}
	if (close(fd) && !err)
		err = gp_fail(GP_EIO, "%s: close failed: %s", path, strerror(errno));
	if (!err)
		gp_log_info("wrote %s: %zu tensors, %llu data bytes", name, s->count,
			    (unsigned long long)s->data_bytes);
out_header:
	free(header);
	return err;
}

/* {"metadata": {"total_size": N}, "weight_map": {tensor: file, ...}} */
static int write_index(struct writer *w)
{
	json_t *map = json_object(), *root = NULL;
	char name[64], path[PATH_MAX];
	char *text = NULL;
	int bad = !map, fd, err;

	for (uint32_t i = 0; !bad && i < w->n_shards; i++) {
		const struct shard *s = &w->shards[i];

		gp_st_file_name(i, w->n_shards, name, sizeof(name));
		for (size_t k = s->first; !bad && k < s->first + s->count; k++)
			bad = json_object_set_new(map, w->tensors[k].name, json_string(name));
	}
	if (!bad)
		root = json_pack("{s:{s:I}, s:O}", "metadata", "total_size",
				 (json_int_t)w->tensor_bytes, "weight_map", map);
	if (root)
		text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	json_decref(map);
	if (!text)
		return gp_fail(GP_ENOMEM, "out of memory building %s", GP_ST_INDEX_NAME);

	err = path_join(path, w->staging, GP_ST_INDEX_NAME);
	if (err)
		goto out_text;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = gp_fail(GP_EIO, "%s: cannot create: %s", path, strerror(errno));
		goto out_text;
	}
	err = write_all(fd, text, strlen(text), path);
	if (!err)
		err = write_all(fd, "\n", 1, path);
	if (close(fd) && !err)
		err = gp_fail(GP_EIO, "%s: close failed: %s", path, strerror(errno));
	if (!err)
		w->file_bytes += strlen(text) + 1;
out_text:
	free(text);
	return err;
}

/* The files of this model, shards then index: the order they are committed in. */
static uint32_t n_outputs(const struct writer *w)
{
	return w->n_shards > 1 ? w->n_shards + 1 : 1;
}

static void output_name(const struct writer *w, uint32_t i, char *buf, size_t len)
{
	if (i == w->n_shards)
		snprintf(buf, len, "%s", GP_ST_INDEX_NAME);
	else
		gp_st_file_name(i, w->n_shards, buf, len);
}

/* Best effort: remove whatever was written in the staging directory, then the directory. */
static void discard_staging(struct writer *w)
{
	char name[64], path[PATH_MAX];

	if (!w->staging[0])
		return;
	for (uint32_t i = 0; i < n_outputs(w); i++) {
		output_name(w, i, name, sizeof(name));
		if (!path_join(path, w->staging, name))
			unlink(path);
	}
	if (rmdir(w->staging))
		gp_log_warn("%s: cannot remove staging directory: %s", w->staging, strerror(errno));
	w->staging[0] = '\0';
}

/* Move the staged files into out_dir, the index (or the single file) last. */
static int commit(struct writer *w)
{
	const char *out_dir = w->opts->out_dir;
	char name[64], from[PATH_MAX], to[PATH_MAX];
	uint32_t moved;
	int err = 0;

	if (w->opts->force) {
		err = remove_model_files(out_dir);
		if (err)
			return err;
	}
	for (moved = 0; moved < n_outputs(w); moved++) {
		output_name(w, moved, name, sizeof(name));
		err = path_join(from, w->staging, name);
		if (!err)
			err = path_join(to, out_dir, name);
		if (!err && rename(from, to))
			err = gp_fail(GP_EIO, "%s: cannot move into place: %s", to, strerror(errno));
		if (err)
			break;
	}
	if (!err)
		return 0;
	/* Take back the shards already moved: without an index they would only mislead. */
	while (moved--) {
		output_name(w, moved, name, sizeof(name));
		if (!path_join(to, out_dir, name))
			unlink(to);
	}
	return err;
}

static int prepare_out_dir(struct writer *w)
{
	const char *out_dir = w->opts->out_dir;
	char found[NAME_MAX + 1] = "";
	int err;

	err = make_dirs(out_dir);
	if (!err && !w->opts->force)
		err = find_model_file(out_dir, found, sizeof(found));
	if (err)
		return err;
	if (found[0])
		return gp_fail(GP_EEXIST, "%s already holds a model (%s); use --force to replace it",
			       out_dir, found);
	err = path_join(w->staging, out_dir, STAGING_TEMPLATE);
	if (err)
		return err;
	if (!mkdtemp(w->staging)) {
		err = gp_fail(GP_EIO, "%s: cannot create a staging directory: %s", out_dir,
			      strerror(errno));
		w->staging[0] = '\0';
		return err;
	}
	gp_log_debug("staging the model in %s", w->staging);
	return 0;
}

int gp_st_write(const struct gp_arch_tensor *tensors, size_t n_tensors,
		const struct gp_st_write_opts *opts, struct gp_st_write_result *result)
{
	struct writer w = { .tensors = tensors, .n_tensors = n_tensors, .opts = opts };
	int err = 0;

	if (!opts || !opts->out_dir || !opts->fill || (n_tensors && !tensors))
		return gp_fail(GP_EINVAL, "gp_st_write: NULL argument");
	if (!opts->shard_size)
		return gp_fail(GP_EINVAL, "shard size must be above 0 bytes");
	w.nbytes = calloc(n_tensors ? n_tensors : 1, sizeof(*w.nbytes));
	w.buffer = malloc(WRITE_BUFFER_SIZE);
	if (!w.nbytes || !w.buffer) {
		err = gp_fail(GP_ENOMEM, "out of memory for a %u-byte write buffer", WRITE_BUFFER_SIZE);
		goto out;
	}
	for (size_t i = 0; !err && i < n_tensors; i++)
		err = tensor_nbytes(&tensors[i], &w.nbytes[i]);
	if (!err)
		err = plan_shards(&w);
	if (!err)
		err = prepare_out_dir(&w);
	for (uint32_t i = 0; !err && i < w.n_shards; i++)
		err = write_shard(&w, i);
	if (!err && w.n_shards > 1)
		err = write_index(&w);
	if (!err)
		err = commit(&w);
	discard_staging(&w);
	if (!err && result) {
		result->n_files = w.n_shards;
		result->n_tensors = n_tensors;
		result->tensor_bytes = w.tensor_bytes;
		result->file_bytes = w.file_bytes;
	}
out:
	free(w.shards);
	free(w.buffer);
	free(w.nbytes);
	return err;
}
