/*
 * fuzz_header.c - gp_st_parse_header on arbitrary bytes.
 *
 * Input: 8 bytes giving the data buffer's length (little-endian), then the
 * header.  A length that would overflow the file size is used as the file
 * size itself, which also reaches the "runs past the end" rule.  Besides
 * memory safety, an accepted header must describe a consistent file and a
 * rejected one must leave the description empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static void check_accepted(const struct gp_model_desc *desc, uint64_t file_size)
{
	const struct gp_st_file *f = &desc->files[0];
	uint64_t end = f->data_start;

	for (uint32_t i = 0; i < desc->n_tensors; i++) {
		const struct gp_st_tensor *t = &desc->tensors[i];

		/* Tensors tile the data buffer in order, each sized by its shape. */
		if (t->file_offset != end || t->nbytes > file_size - end || !t->name[0] ||
		    t->ndim < 0 || t->ndim > GP_MAX_DIMS || gp_dtype_bits(t->dtype) == 0)
			abort();
		end += t->nbytes;
	}
	if (end != file_size || f->n_tensors != desc->n_tensors || f->size != file_size)
		abort();
}

static void check_rejected(const struct gp_model_desc *desc)
{
	if (desc->n_tensors || desc->tensor_bytes || desc->files[0].n_metadata ||
	    desc->files[0].metadata_keys || !gp_last_error()[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gp_model_desc *desc;
	uint64_t data_len = 0, file_size;
	size_t header_len;
	int err;

	if (size < 8)
		return 0;
	for (int b = 7; b >= 0; b--)
		data_len = data_len << 8 | data[b];
	header_len = size - 8;
	file_size = 8 + header_len + data_len;
	if (file_size < data_len)
		file_size = data_len;
	desc = calloc(1, sizeof(*desc));
	if (!desc)
		return 0;
	desc->files = calloc(1, sizeof(*desc->files));
	desc->n_files = desc->files ? 1 : 0;
	if (desc->files) {
		err = gp_st_parse_header(desc, 0, (const char *)data + 8, header_len, file_size,
					 "fuzz.safetensors");
		if (err)
			check_rejected(desc);
		else
			check_accepted(desc, file_size);
	}
	gp_model_desc_free(desc);
	return 0;
}
