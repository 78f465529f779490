/* st_fixture.c - safetensors and index files for the parser tests. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "st_fixture.h"

char *gp_test_st_dir_new_in(const char *parent)
{
	char *dir;

	cr_assert_geq(asprintf(&dir, "%s/gp-st-test-XXXXXX", parent), 0);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %m");
	return dir;
}

char *gp_test_st_dir_new(void)
{
	return gp_test_st_dir_new_in("/tmp");
}

void gp_test_st_dir_remove(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	cr_assert_not_null(d, "%s: %m", dir);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		cr_assert_eq(unlinkat(dirfd(d), e->d_name, 0), 0, "%s/%s: %m", dir, e->d_name);
	}
	closedir(d);
	cr_assert_eq(rmdir(dir), 0, "%s: %m", dir);
	free(dir);
}

char *gp_test_st_path(const char *dir, const char *name)
{
	char *path;

	cr_assert_geq(asprintf(&path, "%s/%s", dir, name), 0);
	return path;
}

char *gp_test_st_json(const char *text)
{
	char *json = strdup(text);

	cr_assert_not_null(json);
	for (char *c = json; *c; c++)
		if (*c == '\'')
			*c = '"';
	return json;
}

static int create(const char *dir, const char *name)
{
	char *path = gp_test_st_path(dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0, "%s: %m", path);
	free(path);
	return fd;
}

static void write_all(int fd, const void *bytes, size_t len)
{
	cr_assert_eq(write(fd, bytes, len), (ssize_t)len, "write: %m");
}

void gp_test_st_write(const char *dir, const char *name, const char *header, uint64_t data_len)
{
	char *json = gp_test_st_json(header);
	uint64_t n = strlen(json);
	unsigned char prefix[8];
	int fd = create(dir, name);

	for (int b = 0; b < 8; b++)
		prefix[b] = (unsigned char)(n >> (8 * b));
	write_all(fd, prefix, sizeof(prefix));
	write_all(fd, json, n);
	/* The data stays a hole: the parser must never read it. */
	cr_assert_eq(ftruncate(fd, (off_t)(8 + n + data_len)), 0, "ftruncate: %m");
	close(fd);
	free(json);
}

void gp_test_st_write_bytes(const char *dir, const char *name, const void *bytes, size_t len)
{
	int fd = create(dir, name);

	write_all(fd, bytes, len);
	close(fd);
}

void gp_test_st_write_json(const char *dir, const char *name, const char *text)
{
	char *json = gp_test_st_json(text);

	gp_test_st_write_bytes(dir, name, json, strlen(json));
	free(json);
}

int gp_test_count_lines(const char *path)
{
	char line[1024];
	int lines = 0;
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		lines += strchr(line, '\n') != NULL;
	fclose(f);
	return lines;
}
