/* cmd_inspect.c - `gpupager inspect`: files, tensors, dtypes, groups and layout of a model. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "model.h"

struct inspect_opts {
	const char *model;
	uint64_t chunk_size;    /* 0: GPUPAGER_CHUNK_SIZE */
	const char *pattern;    /* NULL: GPUPAGER_GROUP_PATTERN or built-in */
	int json;
	int tensors;
};

static void help(void)
{
	printf("usage: gpupager inspect MODEL [--json] [--tensors] [--chunk-size SIZE]\n"
	       "                        [--group-pattern REGEX]\n\n"
	       "Validate a safetensors model and describe it: files, tensor count and bytes,\n"
	       "dtype histogram, groups in forward order with their place in the model's\n"
	       "device range, and the padding the layout adds.  MODEL is a .safetensors file,\n"
	       "a *.safetensors.index.json, or a directory holding either.\n\n"
	       "Groups: a repeated block is the outermost '<container>.<N>' in a tensor name\n"
	       "(blocks, layers, h, transformer_blocks, double_blocks, single_blocks,\n"
	       "down_blocks, up_blocks, ...); other tensors group by their first name component\n"
	       "after a wrapper such as 'model.'.  Each group starts on a chunk boundary;\n"
	       "tensors are aligned to 256 bytes.\n\n"
	       "  --json                 one JSON object on stdout, for scripts\n"
	       "  --tensors              also list every tensor\n"
	       "  --chunk-size SIZE      layout chunk (power of two >= 64K; default\n"
	       "                         GPUPAGER_CHUNK_SIZE or 2M)\n"
	       "  --group-pattern REGEX  POSIX extended regex whose first capture group is the\n"
	       "                         block index; the block is the name up to its end\n"
	       "                         (default GPUPAGER_GROUP_PATTERN or the built-in rules)\n"
	       "  --help                 this text\n\n"
	       "Exit status: 0 valid model, 1 invalid model or I/O error, 2 usage error.\n");
}

static const char *human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.2f %s", v, units[u]);
	return buf;
}

static double padding_percent(const struct gp_model_desc *d)
{
	return d->range_size ? 100.0 * (double)(d->range_size - d->tensor_bytes) / (double)d->range_size
			     : 0.0;
}

static void dtype_histogram(const struct gp_model_desc *d, uint32_t *count, uint64_t *bytes)
{
	memset(count, 0, GP_DTYPE_COUNT * sizeof(*count));
	memset(bytes, 0, GP_DTYPE_COUNT * sizeof(*bytes));
	for (uint32_t i = 0; i < d->n_tensors; i++) {
		count[d->tensors[i].dtype]++;
		bytes[d->tensors[i].dtype] += d->tensors[i].nbytes;
	}
}

static void format_shape(const struct gp_st_tensor *t, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "[");

	for (int i = 0; i < t->ndim && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

static void print_text(const struct gp_model_desc *d, int with_tensors)
{
	uint32_t count[GP_DTYPE_COUNT];
	uint64_t bytes[GP_DTYPE_COUNT];
	char a[32], b[32], c[32];

	printf("model:    %s\n", d->source);
	printf("tensors:  %u, %s (%llu bytes)\n", d->n_tensors, human(d->tensor_bytes, a, sizeof(a)),
	       (unsigned long long)d->tensor_bytes);
	printf("range:    %s in %u groups of %s chunks; padding %s (%.2f%%)\n",
	       human(d->range_size, a, sizeof(a)), d->n_groups, human(d->chunk_size, b, sizeof(b)),
	       human(d->range_size - d->tensor_bytes, c, sizeof(c)), padding_percent(d));
	printf("\nfiles:\n  %-40s %12s %8s %10s\n", "name", "size", "tensors", "header");
	for (uint32_t i = 0; i < d->n_files; i++)
		printf("  %-40s %12s %8u %10llu\n", d->files[i].name,
		       human(d->files[i].size, a, sizeof(a)), d->files[i].n_tensors,
		       (unsigned long long)d->files[i].header_len);
	if (d->n_files && d->files[0].n_metadata) {
		printf("\nmetadata (%s):\n", d->files[0].name);
		for (size_t m = 0; m < d->files[0].n_metadata; m++)
			printf("  %s = %s\n", d->files[0].metadata_keys[m], d->files[0].metadata_values[m]);
	}
	dtype_histogram(d, count, bytes);
	printf("\ndtypes:\n");
	for (int t = 0; t < GP_DTYPE_COUNT; t++)
		if (count[t])
			printf("  %-8s %8u tensors %12s\n", gp_dtype_name((enum gp_dtype)t), count[t],
			       human(bytes[t], a, sizeof(a)));
	printf("\ngroups (forward order):\n  %-40s %6s %8s %12s %14s %12s\n", "name", "block",
	       "tensors", "bytes", "range offset", "reserved");
	for (uint32_t g = 0; g < d->n_groups; g++) {
		const struct gp_group *grp = &d->groups[g];
		char index[24] = "-";

		if (grp->block_index >= 0)
			snprintf(index, sizeof(index), "%lld", (long long)grp->block_index);
		printf("  %-40s %6s %8u %12s %14llu %12s\n", grp->name, index, grp->n_tensors,
		       human(grp->nbytes, a, sizeof(a)), (unsigned long long)grp->range_offset,
		       human(grp->range_size, b, sizeof(b)));
	}
	if (!with_tensors)
		return;
	printf("\ntensors:\n  %-60s %-8s %-24s %12s %-24s %14s\n", "name", "dtype", "shape", "bytes",
	       "group", "range offset");
	for (uint32_t i = 0; i < d->n_tensors; i++) {
		const struct gp_st_tensor *t = &d->tensors[i];
		char shape[160];

		format_shape(t, shape, sizeof(shape));
		printf("  %-60s %-8s %-24s %12llu %-24s %14llu\n", t->name, gp_dtype_name(t->dtype),
		       shape, (unsigned long long)t->nbytes, d->groups[t->group].name,
		       (unsigned long long)t->range_offset);
	}
}

static json_t *tensor_json(const struct gp_model_desc *d, const struct gp_st_tensor *t)
{
	json_t *shape = json_array();

	for (int i = 0; i < t->ndim; i++)
		json_array_append_new(shape, json_integer(t->shape[i]));
	return json_pack("{s:s, s:s, s:o, s:I, s:s, s:I, s:s, s:I}", "name", t->name, "dtype",
			 gp_dtype_name(t->dtype), "shape", shape, "bytes", (json_int_t)t->nbytes,
			 "group", d->groups[t->group].name, "range_offset",
			 (json_int_t)t->range_offset, "file", d->files[t->file].name,
			 "file_offset", (json_int_t)t->file_offset);
}

static json_t *model_json(const struct gp_model_desc *d, int with_tensors)
{
	json_t *files = json_array(), *groups = json_array(), *dtypes = json_object();
	json_t *metadata = json_object(), *root;
	uint32_t count[GP_DTYPE_COUNT];
	uint64_t bytes[GP_DTYPE_COUNT];

	for (uint32_t i = 0; i < d->n_files; i++)
		json_array_append_new(files, json_pack("{s:s, s:I, s:i, s:I}", "name", d->files[i].name,
						       "size", (json_int_t)d->files[i].size, "tensors",
						       (int)d->files[i].n_tensors, "header_bytes",
						       (json_int_t)d->files[i].header_len));
	for (size_t m = 0; d->n_files && m < d->files[0].n_metadata; m++)
		json_object_set_new(metadata, d->files[0].metadata_keys[m],
				    json_string(d->files[0].metadata_values[m]));
	dtype_histogram(d, count, bytes);
	for (int t = 0; t < GP_DTYPE_COUNT; t++)
		if (count[t])
			json_object_set_new(dtypes, gp_dtype_name((enum gp_dtype)t),
					    json_pack("{s:i, s:I}", "tensors", (int)count[t], "bytes",
						      (json_int_t)bytes[t]));
	for (uint32_t g = 0; g < d->n_groups; g++) {
		const struct gp_group *grp = &d->groups[g];
		json_array_append_new(groups, json_pack("{s:s, s:o, s:i, s:I, s:I, s:I}", "name", grp->name,
							"block_index", grp->block_index >= 0 ? json_integer(grp->block_index) : json_null(),
							"tensors", (int)grp->n_tensors, "bytes",
							(json_int_t)grp->nbytes, "range_offset",
							(json_int_t)grp->range_offset, "range_size",
							(json_int_t)grp->range_size));
	}
	root = json_pack("{s:s, s:o, s:i, s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:f}", "model", d->source,
			 "files", files, "tensors", (int)d->n_tensors, "tensor_bytes",
			 (json_int_t)d->tensor_bytes, "metadata", metadata, "dtypes", dtypes, "groups",
			 groups, "chunk_size", (json_int_t)d->chunk_size, "range_size",
			 (json_int_t)d->range_size, "padding_bytes",
			 (json_int_t)(d->range_size - d->tensor_bytes), "padding_percent",
			 padding_percent(d));
	if (root && with_tensors) {
		json_t *list = json_array();
		for (uint32_t i = 0; i < d->n_tensors; i++)
			json_array_append_new(list, tensor_json(d, &d->tensors[i]));
		json_object_set_new(root, "tensor_list", list);
	}
	return root;
}

static int print_json(const struct gp_model_desc *d, int with_tensors)
{
	json_t *root = model_json(d, with_tensors);
	char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;

	json_decref(root);
	if (!text) {
		fprintf(stderr, "gpupager inspect: out of memory formatting JSON\n");
		return 1;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

static int parse_args(int argc, char **argv, struct inspect_opts *o)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "tensors", no_argument, NULL, 't' },
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "group-pattern", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = 1; break;
		case 't': o->tensors = 1; break;
		case 'g': o->pattern = optarg; break;
		case 'c':
			if (gp_parse_size(optarg, &o->chunk_size))
				return cli_usage_error("inspect", "--chunk-size: %s", gp_last_error());
			if (o->chunk_size < (64u << 10) || (o->chunk_size & (o->chunk_size - 1)))
				return cli_usage_error("inspect", "--chunk-size '%s': must be a power of two of at least 64K",
						       optarg);
			break;
		case 'h': help(); return -1;
		default: return cli_usage_error("inspect", "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("inspect", optind == argc ? "no MODEL given" : "more than one MODEL given");
	o->model = argv[optind];
	return 0;
}

int cmd_inspect(int argc, char **argv)
{
	struct inspect_opts o = { 0 };
	struct gp_model_desc *desc;
	int err, status;

	status = parse_args(argc, argv, &o);
	if (status)
		return status < 0 ? 0 : status;
	err = gp_model_desc_load(o.model, o.chunk_size, o.pattern, &desc);
	if (err)
		return cli_fail("inspect", err);
	status = o.json ? print_json(desc, o.tensors) : (print_text(desc, o.tensors), 0);
	gp_model_desc_free(desc);
	return status;
}
