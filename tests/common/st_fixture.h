/*
 * st_fixture.h - write small safetensors files and indexes for the parser
 * tests, so that each bad-file case is a line or two.
 *
 * Header and index texts are written with ' for " (gp_test_st_json), which
 * keeps JSON readable inside C strings: "{'w': {'dtype': 'F32', ...}}".
 */
#ifndef GP_TESTS_ST_FIXTURE_H
#define GP_TESTS_ST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

/* A fresh empty directory under /tmp; free with gp_test_st_dir_remove. */
char *gp_test_st_dir_new(void);
/* The same under parent (/var/tmp where a test needs a disk file system: O_DIRECT). */
char *gp_test_st_dir_new_in(const char *parent);
/* Remove the directory's files, the directory itself, and free dir. */
void gp_test_st_dir_remove(char *dir);

/* "dir/name", malloc'd. */
char *gp_test_st_path(const char *dir, const char *name);

/* text with every ' turned into ", malloc'd. */
char *gp_test_st_json(const char *text);

/*
 * dir/name as a safetensors file: the 8-byte little-endian length of the
 * header, the header (' for "), then data_len bytes of a fixed pattern.
 */
void gp_test_st_write(const char *dir, const char *name, const char *header, uint64_t data_len);

/* dir/name holding exactly len bytes. */
void gp_test_st_write_bytes(const char *dir, const char *name, const void *bytes, size_t len);

/* dir/name holding text with ' for " (an index). */
void gp_test_st_write_json(const char *dir, const char *name, const char *text);

/* Lines in the text file at path (fails the test if it cannot be read). */
int gp_test_count_lines(const char *path);

#endif
