/* inspect_text.c - `gpupager inspect` for people: aligned columns, sizes like "1.50 GiB". */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "inspect.h"

/* Metadata values are free text (some checkpoints store whole configs): one line each, cut here. */
#define METADATA_SHOWN 64
/* "[5120, 16, 1, 2, 2]" with GP_MAX_DIMS dimensions of 20 digits at most. */

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

static void print_summary(const struct gp_model_desc *d)
{
	char a[32], b[32];

	printf("model     %s\n", d->source);
	printf("tensors   %u in %u file%s, %s (%llu bytes)\n", d->n_tensors, d->n_files,
	       d->n_files == 1 ? "" : "s", gp_format_size(d->tensor_bytes, a, sizeof(a)),
	       (unsigned long long)d->tensor_bytes);
	printf("layout    %u groups in a %s range of %s chunks\n", d->n_groups,
	       gp_format_size(d->range_size, a, sizeof(a)), gp_format_size(d->chunk_size, b, sizeof(b)));
	printf("padding   %s (%.2f%% of the tensor bytes)\n",
	       gp_format_size(d->range_size - d->tensor_bytes, a, sizeof(a)), inspect_padding_percent(d));
}

static void print_files(const struct gp_model_desc *d)
{
	int width = (int)strlen("path");
	char a[32], b[32];

	for (uint32_t i = 0; i < d->n_files; i++)
		width = widest(width, d->files[i].path);
	printf("\nfiles\n  %-*s  %12s  %7s  %12s\n", width, "path", "size", "tensors", "header");
	for (uint32_t i = 0; i < d->n_files; i++) {
		const struct gp_st_file *f = &d->files[i];

		printf("  ");
		print_cell(f->path, width);
		printf("  %12s  %7u  %12s\n", gp_format_size(f->size, a, sizeof(a)), f->n_tensors,
		       gp_format_size(f->header_len, b, sizeof(b)));
	}
}

/* The first file's metadata; shards of one checkpoint carry the same. */
static void print_metadata(const struct gp_model_desc *d)
{
	const struct gp_st_file *f = d->n_files ? &d->files[0] : NULL;
	int width = 0;

	if (!f || !f->n_metadata)
		return;
	for (size_t m = 0; m < f->n_metadata; m++)
		width = widest(width, f->metadata_keys[m]);
	printf("\nmetadata of %s\n", f->name);
	for (size_t m = 0; m < f->n_metadata; m++) {
		printf("  ");
		print_cell(f->metadata_keys[m], width);
		printf("  ");
		print_clean(f->metadata_values[m], METADATA_SHOWN);
		putchar('\n');
	}
}

static void print_dtypes(const struct gp_model_desc *d)
{
	struct inspect_dtypes h;
	char a[32];

	inspect_count_dtypes(d, &h);
	printf("\ndtypes\n  %-8s  %7s  %12s\n", "dtype", "tensors", "bytes");
	for (int t = 0; t < GP_DTYPE_COUNT; t++)
		if (h.count[t])
			printf("  %-8s  %7u  %12s\n", gp_dtype_name((enum gp_dtype)t), h.count[t],
			       gp_format_size(h.bytes[t], a, sizeof(a)));
}

static void print_groups(const struct gp_model_desc *d)
{
	int width = (int)strlen("name");
	char a[32], b[32], offset[32];

	for (uint32_t g = 0; g < d->n_groups; g++)
		width = widest(width, d->groups[g].name);
	printf("\ngroups, in forward order\n  %5s  %-*s  %5s  %7s  %12s  %14s  %12s\n", "#", width,
	       "name", "block", "tensors", "bytes", "range offset", "reserved");
	for (uint32_t g = 0; g < d->n_groups; g++) {
		const struct gp_group *grp = &d->groups[g];
		char block[24] = "-";

		if (grp->block_index >= 0)
			snprintf(block, sizeof(block), "%lld", (long long)grp->block_index);
		printf("  %5u  ", g);
		print_cell(grp->name, width);
		printf("  %5s  %7u  %12s  %14s  %12s\n", block, grp->n_tensors,
		       gp_format_size(grp->nbytes, a, sizeof(a)), hex(grp->range_offset, offset),
		       gp_format_size(grp->range_size, b, sizeof(b)));
	}
}

static void print_tensors(const struct gp_model_desc *d)
{
	int name_width = (int)strlen("name"), shape_width = (int)strlen("shape");
	int group_width = (int)strlen("group");
	char shape[GP_ST_SHAPE_TEXT], a[32];

	for (uint32_t i = 0; i < d->n_tensors; i++) {
		gp_st_format_shape(&d->tensors[i], shape, sizeof(shape));
		shape_width = widest(shape_width, shape);
		name_width = widest(name_width, d->tensors[i].name);
	}
	for (uint32_t g = 0; g < d->n_groups; g++)
		group_width = widest(group_width, d->groups[g].name);
	printf("\ntensors, in file order\n  %-*s  %-8s  %-*s  %12s  %-*s  %14s\n", name_width,
	       "name", "dtype", shape_width, "shape", "bytes", group_width, "group",
	       "range offset");
	for (uint32_t i = 0; i < d->n_tensors; i++) {
		const struct gp_st_tensor *t = &d->tensors[i];

		gp_st_format_shape(t, shape, sizeof(shape));
		printf("  ");
		print_cell(t->name, name_width);
		printf("  %-8s  %-*s  %12s  ", gp_dtype_name(t->dtype), shape_width, shape,
		       gp_format_size(t->nbytes, a, sizeof(a)));
		print_cell(d->groups[t->group].name, group_width);
		printf("  %14s\n", hex(t->range_offset, a));
	}
}

void inspect_print_text(const struct gp_model_desc *d, int with_tensors)
{
	print_summary(d);
	print_files(d);
	print_metadata(d);
	print_dtypes(d);
	print_groups(d);
	if (with_tensors)
		print_tensors(d);
}
