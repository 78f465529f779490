/* cmd_inspect.c - `gpupager inspect`: files, tensors, dtypes, groups and layout of a model. */
#include <getopt.h>
#include <regex.h>
#include <stdio.h>

#include "commands.h"
#include "inspect.h"

struct inspect_opts {
	const char *model;
	uint64_t chunk_size;    /* 0: GPUPAGER_CHUNK_SIZE */
	const char *pattern;    /* NULL: GPUPAGER_GROUP_PATTERN or the built-in rules */
	int json;
	int tensors;
};

static void help(void)
{
	printf("usage: gpupager inspect MODEL [--json] [--tensors] [--chunk-size SIZE]\n"
	       "                        [--group-pattern REGEX]\n\n"
	       "Validate a safetensors model and describe it: its files (size, tensor count,\n"
	       "header bytes), tensor count and bytes, dtype histogram, the __metadata__ of\n"
	       "the first file, its groups in forward order with their place in the model's\n"
	       "device range, and the padding that layout adds.  MODEL is a .safetensors\n"
	       "file, a *.safetensors.index.json, or a directory holding either.\n\n"
	       "Groups (the pager's unit of residency decisions):\n"
	       "  - a repeated block is the outermost '<list>.<N>' in a tensor name, <list>\n"
	       "    being blocks, layers, layer, h, block, resblocks, transformer_blocks,\n"
	       "    double_blocks, single_blocks, single_transformer_blocks, joint_blocks,\n"
	       "    down_blocks, up_blocks, input_blocks or output_blocks;\n"
	       "  - mid_block and middle_block are one group each;\n"
	       "  - every other tensor belongs to its module: the path it shares with a\n"
	       "    block list's path, plus one component ('model.embed_tokens', 'lm_head');\n"
	       "  - order: embeddings and stems first, then blocks (down, mid, up; double,\n"
	       "    single; other lists as the file first shows them) by index, then\n"
	       "    norms, projections and heads.\n"
	       "Layout: each group starts on a chunk boundary and reserves whole chunks;\n"
	       "tensors inside it are packed at 256-byte alignment; neighbouring named groups\n"
	       "that fit in one chunk together share it ('conv_norm_out+conv_out').\n\n"
	       "  --json                 one JSON object on stdout, for scripts (exact bytes)\n"
	       "  --tensors              also list every tensor: dtype, shape, bytes, group,\n"
	       "                         range offset, file and file offset\n"
	       "  --chunk-size SIZE      layout chunk, a power of two >= 64K (default\n"
	       "                         GPUPAGER_CHUNK_SIZE, else 2M)\n"
	       "  --group-pattern REGEX  POSIX extended regex replacing the built-in block\n"
	       "                         rule; its first capture group must be the block index\n"
	       "                         (digits); the block is the name up to the group's end:\n"
	       "                         '^stage\\.([0-9]+)' puts stage.3.conv.weight in\n"
	       "                         block 3 (default GPUPAGER_GROUP_PATTERN); names it\n"
	       "                         does not match form named groups\n"
	       "  --help                 this text\n\n"
	       "Exit status: 0 valid model, 1 invalid model or I/O error, 2 usage error.\n");
}

static int valid_pattern(const char *pattern)
{
	regex_t re;
	int ok;

	if (regcomp(&re, pattern, REG_EXTENDED))
		return 0;
	ok = re.re_nsub >= 1;
	regfree(&re);
	return ok;
}

/* 0 to go on, 2 after a usage error, -1 after --help. */
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
		case 'g':
			if (!valid_pattern(optarg))
				return cli_usage_error("inspect", "--group-pattern '%s': not a POSIX extended regex with a capture group for the block index",
						       optarg);
			o->pattern = optarg;
			break;
		case 'c':
			if (gp_parse_size(optarg, &o->chunk_size))
				return cli_usage_error("inspect", "--chunk-size: %s", gp_last_error());
			if (o->chunk_size < (64u << 10) || (o->chunk_size & (o->chunk_size - 1)))
				return cli_usage_error("inspect",
						       "--chunk-size '%s': must be a power of two of at least 64K",
						       optarg);
			break;
		case 'h': help(); return -1;
		default: return cli_usage_error("inspect", "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("inspect", optind == argc ? "no MODEL given"
								 : "more than one MODEL given");
	o->model = argv[optind];
	return 0;
}

int cmd_inspect(int argc, char **argv)
{
	struct inspect_opts o = { 0 };
	struct gp_model_options mo;
	struct gp_model *m;
	int err, status;

	status = parse_args(argc, argv, &o);
	if (status)
		return status < 0 ? 0 : status;
	gp_model_options_init(&mo);
	mo.chunk_size = o.chunk_size;
	mo.group_pattern = o.pattern;
	err = gp_model_describe(o.model, &mo, &m);
	if (err)
		return cli_fail("inspect", err);
	if (o.json) {
		status = inspect_print_json(m, o.tensors);
	} else {
		inspect_print_text(m, o.tensors);
		status = 0;
	}
	gp_model_close(m);
	return status;
}
