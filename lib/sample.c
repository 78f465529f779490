/* sample.c - deterministic tensor content, and sample models written with it. */
#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "arch.h"
#include "error.h"
#include "sample.h"

#define GOLDEN 0x9e3779b97f4a7c15ull
#define FNV_OFFSET_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
/* gp_sample_checksum() generates this much at a time on the stack. */
#define CHECKSUM_PIECE 65536

static uint64_t tensor_seed(uint64_t seed, const char *name)
{
	uint64_t h = FNV_OFFSET_BASIS;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * FNV_PRIME;
	return gp_mix64(seed ^ h);
}

/* Word k of a tensor, as it lies in memory (little-endian). */
static uint64_t sample_word(uint64_t tseed, uint64_t k)
{
	return htole64(gp_mix64(tseed + k * GOLDEN));
}

void gp_sample_fill(uint64_t seed, const char *name, uint64_t byte_offset, void *buf, size_t len)
{
	uint64_t tseed = tensor_seed(seed, name), k = byte_offset / 8, w;
	size_t skip = byte_offset % 8, n;
	unsigned char *p = buf;

	if (skip && len) {
		w = sample_word(tseed, k++);
		n = 8 - skip < len ? 8 - skip : len;
		memcpy(p, (unsigned char *)&w + skip, n);
		p += n;
		len -= n;
	}
	for (; len >= 8; len -= 8, p += 8) {
		w = sample_word(tseed, k++);
		memcpy(p, &w, 8);
	}
	if (len) {
		w = sample_word(tseed, k);
		memcpy(p, &w, len);
	}
}

uint64_t gp_sample_checksum(uint64_t seed, const char *name, uint64_t nbytes)
{
	unsigned char piece[CHECKSUM_PIECE];
	uint64_t sum = 0;

	for (uint64_t off = 0; off < nbytes; off += CHECKSUM_PIECE) {
		size_t n = nbytes - off < CHECKSUM_PIECE ? (size_t)(nbytes - off) : CHECKSUM_PIECE;

		gp_sample_fill(seed, name, off, piece, n);
		sum += gp_checksum_at(piece, n, off);
	}
	return sum;
}

static void fill_tensor(void *ctx, const struct gp_arch_tensor *t, uint64_t offset, void *buf,
			size_t len)
{
	const struct gp_sample_model *model = ctx;

	gp_sample_fill(model->seed, t->name, offset, buf, len);
}

/* The shortest "%g" text that reads back as the same double. */
static void format_scale(double scale, char *buf, size_t len)
{
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(buf, len, "%.*g", precision, scale);
		if (strtod(buf, NULL) == scale)
			return;
	}
}

int gp_sample_write_model(const struct gp_sample_model *model, const struct gp_st_write_opts *opts,
			  struct gp_st_write_result *result)
{
	char scale_text[32], seed_text[24];
	const char *const metadata[] = {
		"format", "pt",
		"gpupager.arch", model ? model->arch : NULL,
		"gpupager.scale", scale_text,
		"gpupager.seed", seed_text,
		NULL,
	};
	struct gp_st_write_opts sample_opts;
	struct gp_arch_tensor *tensors;
	size_t count;
	int err;

	if (!model || !opts)
		return gp_fail(GP_EINVAL, "gp_sample_write_model: NULL argument");
	if (model->dtype != -1 && !gp_dtype_name((enum gp_dtype)model->dtype))
		return gp_fail(GP_EINVAL, "sample model: invalid dtype %d", model->dtype);
	err = gp_arch_tensors(model->arch, model->scale, &tensors, &count);
	if (err)
		return err;
	if (model->dtype != -1)
		for (size_t i = 0; i < count; i++)
			tensors[i].dtype = (enum gp_dtype)model->dtype;

	format_scale(model->scale, scale_text, sizeof(scale_text));
	snprintf(seed_text, sizeof(seed_text), "%" PRIu64, model->seed);

	sample_opts = *opts;
	sample_opts.metadata = metadata;
	sample_opts.fill = fill_tensor;
	sample_opts.fill_ctx = (void *)model;
	err = gp_st_write(tensors, count, &sample_opts, result);
	free(tensors);
	return err;
}

/* ------------------------------------------------------------ public API */

#define DEFAULT_SHARD_SIZE (2ull << 30)

GP_API size_t gp_sample_arch_count(void)
{
	size_t n = 0;

	for (const char *const *name = gp_arch_names(); *name; name++)
		n++;
	return n;
}

GP_API const char *gp_sample_arch_name(size_t i)
{
	return i < gp_sample_arch_count() ? gp_arch_names()[i] : NULL;
}

GP_API int gp_sample_arch_info(const char *arch, double scale, struct gp_sample_arch_info *info)
{
	struct gp_sample_arch_info full = { .struct_size = sizeof(full) };
	struct gp_arch_tensor *tensors;
	size_t count;
	int err;

	if (!arch || !info)
		return gp_fail(GP_EINVAL, "gp_sample_arch_info: an arch and an info are required");
	err = gp_arch_tensors(arch, scale, &tensors, &count);
	if (err)
		return err;
	for (size_t i = 0; i < count; i++) {
		uint64_t elements = 1;

		for (int d = 0; d < tensors[i].ndim; d++)
			elements *= (uint64_t)tensors[i].shape[d];
		full.params += elements;
		full.bytes += elements * gp_dtype_size(tensors[i].dtype);
	}
	full.n_tensors = count;
	full.dtype = count ? tensors[0].dtype : GP_DTYPE_F32;
	free(tensors);
	return gp_abi_out(info, &full, sizeof(full), GP_ABI_V1(struct gp_sample_arch_info, dtype),
			  "gp_sample_arch_info");
}

GP_API void gp_sample_options_init_size(struct gp_sample_options *opts, size_t size)
{
	const struct gp_sample_options full = { .struct_size = sizeof(full), .dtype = -1 };

	gp_abi_init(opts, size, &full, sizeof(full));
}

GP_API int gp_sample_write(const struct gp_sample_options *opts, const char *out_dir,
			   struct gp_sample_result *result)
{
	struct gp_sample_result full = { .struct_size = sizeof(full) };
	struct gp_st_write_opts wopts = { 0 };
	struct gp_st_write_result res;
	struct gp_sample_options o;
	struct gp_sample_model model;
	int err;

	if (!opts || !out_dir || !result)
		return gp_fail(GP_EINVAL, "gp_sample_write: options, an output directory and a "
			       "result are required");
	err = gp_abi_in(&o, sizeof(o), opts, GP_ABI_V1(struct gp_sample_options, progress_ctx),
			"gp_sample_write");
	if (err)
		return err;
	if (result->struct_size < GP_ABI_V1(struct gp_sample_result, file_bytes))
		return gp_fail(GP_EINVAL, "gp_sample_write: result->struct_size %u is too small: "
			       "set it to sizeof(struct gp_sample_result)", result->struct_size);
	if (!o.arch)
		return gp_fail(GP_EINVAL, "gp_sample_write: no architecture given");
	model = (struct gp_sample_model){ .arch = o.arch, .scale = o.scale, .seed = o.seed,
					  .dtype = o.dtype };
	wopts.out_dir = out_dir;
	wopts.shard_size = o.shard_size ? o.shard_size : DEFAULT_SHARD_SIZE;
	wopts.force = o.force;
	wopts.progress = o.progress;
	wopts.progress_ctx = o.progress_ctx;
	err = gp_sample_write_model(&model, &wopts, &res);
	if (err)
		return err;
	full.n_files = res.n_files;
	full.n_tensors = res.n_tensors;
	full.tensor_bytes = res.tensor_bytes;
	full.file_bytes = res.file_bytes;
	return gp_abi_out(result, &full, sizeof(full), GP_ABI_V1(struct gp_sample_result, file_bytes),
			  "gp_sample_write");
}

GP_API void gp_sample_file_name(uint32_t index, uint32_t n_files, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	if (n_files > 1 && index == n_files)
		snprintf(buf, len, "%s", GP_ST_INDEX_NAME);
	else
		gp_st_file_name(index, n_files, buf, len);
}
