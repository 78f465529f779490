/* bench_pad.c - the padded scratch copy of `gpupager bench load --pad-header`. */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_pad.h"
#include "error.h"

static int write_all(int fd, const char *path, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return gp_fail(GP_EIO, "%s: write: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copy [off, off + len) of in to the end of out, in the kernel. */
static int copy_range(int in, int out, const char *path, uint64_t off, uint64_t len)
{
	loff_t from = (loff_t)off;

	while (len) {
		ssize_t n = copy_file_range(in, &from, out, NULL, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return gp_fail(GP_EIO, "%s: copy_file_range: %s", path,
				       n < 0 ? strerror(errno) : "source ended early");
		len -= (uint64_t)n;
	}
	return 0;
}

/* f's header padded with spaces so its data starts at a multiple of BENCH_PAD_ALIGN. */
static int pad_file(const struct gp_st_file *f, const char *dst)
{
	uint64_t padded = (8 + f->header_len + BENCH_PAD_ALIGN - 1) / BENCH_PAD_ALIGN * BENCH_PAD_ALIGN - 8;
	char *head = malloc(8 + padded);
	uint64_t le = htole64(padded);
	int in = -1, out = -1, err = 0;

	if (!head)
		return gp_fail(GP_ENOMEM, "out of memory for a %" PRIu64 "-byte header", padded);
	in = open(f->path, O_RDONLY | O_CLOEXEC);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (in < 0 || out < 0) {
		err = gp_fail(GP_EIO, "%s: %s", in < 0 ? f->path : dst, strerror(errno));
		goto out;
	}
	memcpy(head, &le, 8);
	if (pread(in, head + 8, f->header_len, 8) != (ssize_t)f->header_len) {
		err = gp_fail(GP_EIO, "%s: reading its header failed", f->path);
		goto out;
	}
	memset(head + 8 + f->header_len, ' ', padded - f->header_len);
	err = write_all(out, dst, head, 8 + padded);
	if (!err)
		err = copy_range(in, out, dst, f->data_start, f->size - f->data_start);
	if (!err && fsync(out))
		err = gp_fail(GP_EIO, "%s: fsync: %s", dst, strerror(errno));
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(head);
	return err;
}

static int copy_small(const char *src, const char *dst)
{
	struct stat st;
	int in = open(src, O_RDONLY | O_CLOEXEC), out, err;

	if (in < 0 || fstat(in, &st)) {
		err = gp_fail(GP_EIO, "%s: %s", src, strerror(errno));
		if (in >= 0)
			close(in);
		return err;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return gp_fail(GP_EIO, "%s: %s", dst, strerror(errno));
	}
	err = copy_range(in, out, dst, 0, (uint64_t)st.st_size);
	close(in);
	close(out);
	return err;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* The JSON files of directory src (the index, configs) copied to dir. */
static int copy_json(const char *src, const char *dir)
{
	DIR *d = opendir(src);
	struct dirent *e;
	char a[4096], b[4096];
	int err = 0;

	if (!d)
		return gp_fail(GP_EIO, "%s: %s", src, strerror(errno));
	while (!err && (e = readdir(d))) {
		if (!has_suffix(e->d_name, ".json"))
			continue;
		snprintf(a, sizeof(a), "%s/%s", src, e->d_name);
		snprintf(b, sizeof(b), "%s/%s", dir, e->d_name);
		err = copy_small(a, b);
	}
	closedir(d);
	return err;
}

int bench_pad_model(const struct gp_model_desc *desc, const char *parent, char **dir, char **model)
{
	const char *src = desc->source, *base = strrchr(src, '/');
	struct stat st;
	char path[4096];
	int err = 0;

	*model = NULL;
	if (asprintf(dir, "%s/gpupager-bench-pad.XXXXXX", parent) < 0) {
		*dir = NULL;
		return gp_fail(GP_ENOMEM, "out of memory");
	}
	if (!mkdtemp(*dir))
		return gp_fail(GP_EIO, "%s: mkdtemp: %s (--scratch names another directory)", *dir,
			       strerror(errno));
	for (uint32_t k = 0; k < desc->n_files && !err; k++) {
		snprintf(path, sizeof(path), "%s/%s", *dir, desc->files[k].name);
		err = pad_file(&desc->files[k], path);
	}
	if (err)
		return err;
	base = base ? base + 1 : src;
	if (stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
		err = copy_json(src, *dir);
		*model = strdup(*dir);
	} else if (has_suffix(src, ".json")) {
		snprintf(path, sizeof(path), "%s/%s", *dir, base);
		err = copy_small(src, path);
		*model = strdup(path);
	} else {
		snprintf(path, sizeof(path), "%s/%s", *dir, desc->files[0].name);
		*model = strdup(path);
	}
	if (!err && !*model)
		err = gp_fail(GP_ENOMEM, "out of memory");
	return err;
}

void bench_pad_remove(char *dir)
{
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	char path[4096];

	if (d) {
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
		rmdir(dir);
	}
	free(dir);
}
