/*
 * st_writer.h - write a list of tensors as a safetensors model (internal).
 *
 * The tensors go, in the given order, into one "model.safetensors" or, when
 * their data exceeds the shard size, into "model-00001-of-0000N.safetensors"
 * shards plus "model.safetensors.index.json".  Tensor contents come from a
 * fill callback, so a model of any size is generated on the fly through one
 * buffer.  Files are written in a staging directory inside the output
 * directory and renamed into place only when all of them are complete (the
 * index last), so a failure never leaves a model that looks valid.
 */
#ifndef GP_LIB_ST_WRITER_H
#define GP_LIB_ST_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"

#define GP_ST_SINGLE_NAME "model.safetensors"
#define GP_ST_INDEX_NAME "model.safetensors.index.json"
/* Shard names have a 5-digit number and count, as Hugging Face writes them. */
#define GP_ST_MAX_SHARDS 99999u

/* Store bytes [offset, offset + len) of tensor t in buf. */
typedef void (*gp_st_fill_fn)(void *ctx, const struct gp_arch_tensor *t, uint64_t offset,
			      void *buf, size_t len);
/* Called after each buffer written: done of total tensor bytes. */
typedef void (*gp_st_progress_fn)(void *ctx, uint64_t done, uint64_t total);

struct gp_st_write_opts {
	const char *out_dir;            /* created, with its parents, if missing */
	uint64_t shard_size;            /* most tensor bytes per file; a larger tensor gets its own */
	int force;                      /* replace a model already in out_dir */
	const char *const *metadata;    /* "__metadata__" pairs: key, value, ..., NULL (or NULL) */
	gp_st_fill_fn fill;
	void *fill_ctx;
	gp_st_progress_fn progress;     /* optional */
	void *progress_ctx;
};

struct gp_st_write_result {
	uint32_t n_files;               /* .safetensors files; an index comes with more than one */
	size_t n_tensors;
	uint64_t tensor_bytes;          /* the index's metadata.total_size */
	uint64_t file_bytes;            /* all bytes written: headers, data, index */
};

/*
 * Write tensors[0..n_tensors) into opts->out_dir.  GP_EEXIST if a model is
 * there already and !opts->force; GP_EIO naming the path and the system's
 * reason when a directory or file cannot be created or written.
 */
int gp_st_write(const struct gp_arch_tensor *tensors, size_t n_tensors,
		const struct gp_st_write_opts *opts, struct gp_st_write_result *result);

/* Name of file index (0-based) of n_files: "model.safetensors" or a shard name. */
void gp_st_file_name(uint32_t index, uint32_t n_files, char *buf, size_t len);

#endif
