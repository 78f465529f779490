/*
 * sample.h - deterministic content of sample models (internal).
 *
 * The bytes of tensor NAME in a model made with seed SEED are a pure function
 * of (SEED, NAME, byte offset), so any piece of any tensor can be recomputed
 * without the file:
 *
 *     tensor_seed = gp_mix64(SEED ^ fnv1a64(NAME))
 *     word k      = gp_mix64(tensor_seed + k * 0x9e3779b97f4a7c15)
 *     byte i      = byte (i % 8) of word (i / 8), little-endian
 *
 * fnv1a64 is 64-bit FNV-1a over the name's bytes (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3); gp_mix64 is the splitmix64
 * finalizer from gpupager.h.  The last word is cut at the tensor's end.
 */
#ifndef GP_LIB_SAMPLE_H
#define GP_LIB_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "st_writer.h"

/* Bytes [byte_offset, byte_offset + len) of tensor name; any offset and length. */
void gp_sample_fill(uint64_t seed, const char *name, uint64_t byte_offset, void *buf, size_t len);

/* gp_checksum() of the first nbytes of tensor name, computed without a file. */
uint64_t gp_sample_checksum(uint64_t seed, const char *name, uint64_t nbytes);

struct gp_sample_model {
	const char *arch;       /* one of gp_arch_names() */
	double scale;           /* 0 < scale <= 1, see gp_arch_tensors() */
	uint64_t seed;
	int dtype;              /* enum gp_dtype for every tensor, or -1 for the architecture's */
};

/*
 * Write a sample model with opts (out_dir, shard_size, force, progress).
 * The content and the header's __metadata__ are the sample's own:
 * {"format": "pt", "gpupager.arch", "gpupager.scale", "gpupager.seed"}, all
 * strings; opts->fill and opts->metadata are not used.
 */
int gp_sample_write_model(const struct gp_sample_model *model, const struct gp_st_write_opts *opts,
			  struct gp_st_write_result *result);

#endif
