/*
 * model.h - a safetensors model as the pager sees it (internal).
 *
 * Loading a model description is three steps, each in its own file:
 *   safetensors.c / st_index.c  parse and validate the file(s)  -> tensors
 *   grouping.c                  assign tensors to groups         -> groups
 *   layout.c                    place groups/tensors in a range  -> offsets
 * gp_model_desc_load() runs all three.
 */
#ifndef GP_LIB_MODEL_H
#define GP_LIB_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "gpupager.h"

/* Largest safetensors header accepted, as in the reference implementation. */
#define GP_ST_MAX_HEADER 100000000ull
/* Alignment of every tensor inside the device range. */
#define GP_TENSOR_ALIGN 256u

struct gp_st_tensor {
	char *name;
	enum gp_dtype dtype;
	int ndim;
	int64_t shape[GP_MAX_DIMS];
	uint64_t nbytes;
	uint32_t file;          /* index into gp_model_desc.files */
	uint64_t file_offset;   /* absolute offset of the first byte in the file */
	uint32_t group;         /* set by grouping */
	uint64_t range_offset;  /* set by layout: offset in the model's device range */
};

struct gp_st_file {
	char *path;             /* path as opened */
	char *name;             /* base name (as listed in an index) */
	uint64_t size;          /* file size in bytes */
	uint64_t header_len;    /* JSON header length (the 8-byte prefix's value) */
	uint64_t data_start;    /* 8 + header_len */
	uint32_t n_tensors;
	size_t n_metadata;      /* __metadata__ string pairs */
	char **metadata_keys;
	char **metadata_values;
};

struct gp_group {
	char *name;             /* "blocks.3", "patch_embedding", ... */
	int64_t block_index;    /* index for a repeated block, -1 for other groups */
	uint32_t n_tensors;
	uint32_t *tensors;      /* tensor indices, in layout order */
	uint64_t nbytes;        /* sum of the tensors' bytes */
	uint64_t range_offset;  /* chunk-aligned start in the model's device range */
	uint64_t range_size;    /* bytes reserved, a multiple of the chunk size */
	/*
	 * A sub-group of a split group: the length of the prefix of name that
	 * names the group it was split from ("up_blocks.0" of
	 * "up_blocks.0.resnets.0"), else 0.  A split group's sub-groups are
	 * consecutive in groups[] and in the device range (see grouping.c).
	 */
	size_t parent_len;
};

struct gp_model_desc {
	char *source;           /* the path the user gave */
	char *dir;              /* directory holding the files */
	struct gp_st_file *files;
	uint32_t n_files;
	struct gp_st_tensor *tensors;   /* ordered by (file, file_offset) */
	uint32_t n_tensors;
	uint64_t tensor_bytes;  /* sum of all tensors' bytes */
	/* grouping */
	struct gp_group *groups;        /* in forward-pass order */
	uint32_t n_groups;
	/* layout */
	uint64_t chunk_size;
	uint64_t range_size;    /* the whole device range, a multiple of chunk_size */
};

/*
 * Open and validate a model: a .safetensors file, a *.safetensors.index.json,
 * or a directory holding model.safetensors.index.json, one index, or one
 * .safetensors file.  Errors name the file, tensor and rule (gp_last_error).
 */
int gp_model_desc_open(const char *path, struct gp_model_desc **out);
void gp_model_desc_free(struct gp_model_desc *desc);

/*
 * Parse and validate one file's header (the bytes after the 8-byte length),
 * appending its tensors to desc as file file_index.  file_size is the whole
 * file's size; file_name is used in messages.  Pure: no I/O (fuzzed).
 */
int gp_st_parse_header(struct gp_model_desc *desc, uint32_t file_index, const char *header,
		       size_t header_len, uint64_t file_size, const char *file_name);

/* Room for "[d0, d1, ...]" of GP_MAX_DIMS 64-bit dimensions. */
#define GP_ST_SHAPE_TEXT (GP_MAX_DIMS * 22 + 3)

/* Write t's shape as "[2, 3]" into buf (cut to len). */
void gp_st_format_shape(const struct gp_st_tensor *t, char *buf, size_t len);

/* Free a file's __metadata__ pairs and leave it with none. */
void gp_st_file_drop_metadata(struct gp_st_file *f);

/* A parsed model.safetensors.index.json: tensor name -> shard file name. */
struct gp_st_index {
	size_t n_entries;
	char **tensor_names;
	char **shard_names;     /* per entry, pointing into shards[] */
	size_t n_shards;
	char **shards;          /* distinct shard file names, in first-seen order */
	uint64_t total_size;    /* metadata.total_size, or UINT64_MAX when absent */
};

/* Parse and validate an index's JSON text.  Pure: no I/O (fuzzed). */
int gp_st_index_parse(const char *json, size_t len, const char *index_name,
		      struct gp_st_index **out);
void gp_st_index_free(struct gp_st_index *index);

/*
 * Assign every tensor to a group and order the groups.  pattern is a POSIX
 * extended regex whose first capture group ends at the block index (NULL:
 * the built-in rules, or GPUPAGER_GROUP_PATTERN).  Groups larger than
 * GPUPAGER_GROUP_SPLIT's share of the model are then split into sub-groups.
 */
int gp_model_group(struct gp_model_desc *desc, const char *pattern);

/*
 * Place groups on chunk boundaries and tensors on GP_TENSOR_ALIGN, after
 * merging neighbouring named groups that fit in one chunk together.
 */
int gp_layout_plan(struct gp_model_desc *desc, uint64_t chunk_size);

/* open + group + layout, with pattern and chunk size from the configuration when 0/NULL. */
int gp_model_desc_load(const char *path, uint64_t chunk_size, const char *pattern,
		       struct gp_model_desc **out);

#endif
