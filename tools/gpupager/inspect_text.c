/* inspect_text.c - `gpupager inspect` for people: aligned columns, sizes like "1.50 GiB". */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "inspect.h"

/* Metadata values are free text (some checkpoints store whole configs): one line each, cut here. */
#define METADATA_SHOWN 64

/* Range offsets in hex, "0x0" included (printf's '#' flag prints a bare 0). */
static const char *hex(uint64_t value, char buf[32])
{
	snprintf(buf, 32, "0x%llx", (unsigned long long)value);
	return buf;
}

/* Names and metadata come from the file: control characters are shown as '?'. */
static size_t print_clean(const char *text, size_t max)
{
	size_t n;

	for (n = 0; text[n] && n < max; n++)
		putchar(iscntrl((unsigned char)text[n]) ? '?' : text[n]);
	if (text[n]) {
		fputs("...", stdout);
		n += 3;
	}
	return n;
}

/* text left-aligned in a column of width characters. */
static void print_cell(const char *text, int width)
{
	size_t n = print_clean(text, SIZE_MAX);

	printf("%*s", (int)n < width ? width - (int)n : 0, "");
}

static int widest(int width, const char *text)
{
	int n = (int)strlen(text);

	return n > width ? n : width;
}

static void print_summary(const struct gp_model *m)
{
	uint64_t tensor_bytes = gp_model_tensor_bytes(m);
	uint32_t n_files = gp_model_file_count(m);
	char a[32], b[32];

	printf("model     %s\n", gp_model_source(m));
	printf("tensors   %u in %u file%s, %s (%llu bytes)\n", gp_model_tensor_count(m), n_files,
	       n_files == 1 ? "" : "s", gp_format_size(tensor_bytes, a, sizeof(a)),
	       (unsigned long long)tensor_bytes);
	printf("layout    %u groups in a %s range of %s chunks\n", gp_model_group_count(m),
	       gp_format_size(gp_model_device_size(m), a, sizeof(a)),
	       gp_format_size(gp_model_chunk_size(m), b, sizeof(b)));
	printf("padding   %s (%.2f%% of the tensor bytes)\n",
	       gp_format_size(inspect_padding_bytes(m), a, sizeof(a)), inspect_padding_percent(m));
}

static void print_files(const struct gp_model *m)
{
	int width = (int)strlen("path");
	char a[32], b[32];

	for (uint32_t i = 0; i < gp_model_file_count(m); i++)
		width = widest(width, inspect_file(m, i).path);
	printf("\nfiles\n  %-*s  %12s  %7s  %12s\n", width, "path", "size", "tensors", "header");
	for (uint32_t i = 0; i < gp_model_file_count(m); i++) {
		struct gp_file_info f = inspect_file(m, i);

		printf("  ");
		print_cell(f.path, width);
		printf("  %12s  %7u  %12s\n", gp_format_size(f.size, a, sizeof(a)), f.n_tensors,
		       gp_format_size(f.header_bytes, b, sizeof(b)));
	}
}

/* The first file's metadata; shards of one checkpoint carry the same. */
static void print_metadata(const struct gp_model *m)
{
	struct gp_file_info f;
	const char *key, *value;
	int width = 0;

	if (!gp_model_file_count(m))
		return;
	f = inspect_file(m, 0);
	if (!f.n_metadata)
		return;
	for (uint32_t i = 0; !gp_model_file_metadata(m, 0, i, &key, &value); i++)
		width = widest(width, key);
	printf("\nmetadata of %s\n", f.name);
	for (uint32_t i = 0; !gp_model_file_metadata(m, 0, i, &key, &value); i++) {
		printf("  ");
		print_cell(key, width);
		printf("  ");
		print_clean(value, METADATA_SHOWN);
		putchar('\n');
	}
}

static void print_dtypes(const struct gp_model *m)
{
	struct inspect_dtypes h;
	char a[32];

	inspect_count_dtypes(m, &h);
	printf("\ndtypes\n  %-8s  %7s  %12s\n", "dtype", "tensors", "bytes");
	for (int t = 0; t < GP_DTYPE_COUNT; t++)
		if (h.count[t])
			printf("  %-8s  %7u  %12s\n", gp_dtype_name((enum gp_dtype)t), h.count[t],
			       gp_format_size(h.bytes[t], a, sizeof(a)));
}

static void print_groups(const struct gp_model *m)
{
	int width = (int)strlen("name");
	char a[32], b[32], offset[32];

	for (uint32_t g = 0; g < gp_model_group_count(m); g++)
		width = widest(width, inspect_group(m, g).name);
	printf("\ngroups, in forward order\n  %5s  %-*s  %5s  %7s  %12s  %14s  %12s\n", "#", width,
	       "name", "block", "tensors", "bytes", "range offset", "reserved");
	for (uint32_t g = 0; g < gp_model_group_count(m); g++) {
		struct gp_group_info grp = inspect_group(m, g);
		char block[24] = "-";

		if (grp.block_index >= 0)
			snprintf(block, sizeof(block), "%lld", (long long)grp.block_index);
		printf("  %5u  ", g);
		print_cell(grp.name, width);
		printf("  %5s  %7u  %12s  %14s  %12s\n", block, grp.n_tensors,
		       gp_format_size(grp.nbytes, a, sizeof(a)), hex(grp.range_offset, offset),
		       gp_format_size(grp.range_size, b, sizeof(b)));
	}
}

static void print_tensors(const struct gp_model *m)
{
	int name_width = (int)strlen("name"), shape_width = (int)strlen("shape");
	int group_width = (int)strlen("group");
	char shape[INSPECT_SHAPE_TEXT], a[32];

	for (uint32_t i = 0; i < gp_model_tensor_count(m); i++) {
		struct gp_tensor_info t = inspect_tensor(m, i);

		inspect_format_shape(&t, shape, sizeof(shape));
		shape_width = widest(shape_width, shape);
		name_width = widest(name_width, t.name);
	}
	for (uint32_t g = 0; g < gp_model_group_count(m); g++)
		group_width = widest(group_width, inspect_group(m, g).name);
	printf("\ntensors, in file order\n  %-*s  %-8s  %-*s  %12s  %-*s  %14s\n", name_width,
	       "name", "dtype", shape_width, "shape", "bytes", group_width, "group",
	       "range offset");
	for (uint32_t i = 0; i < gp_model_tensor_count(m); i++) {
		struct gp_tensor_info t = inspect_tensor(m, i);

		inspect_format_shape(&t, shape, sizeof(shape));
		printf("  ");
		print_cell(t.name, name_width);
		printf("  %-8s  %-*s  %12s  ", gp_dtype_name(t.dtype), shape_width, shape,
		       gp_format_size(t.nbytes, a, sizeof(a)));
		print_cell(inspect_group(m, t.group).name, group_width);
		printf("  %14s\n", hex(t.range_offset, a));
	}
}

void inspect_print_text(const struct gp_model *m, int with_tensors)
{
	print_summary(m);
	print_files(m);
	print_metadata(m);
	print_dtypes(m);
	print_groups(m);
	if (with_tensors)
		print_tensors(m);
}
