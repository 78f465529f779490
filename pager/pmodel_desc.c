/* pmodel_desc.c - a model's files, metadata and layout, with or without a pager. */
#include "abi.h"
#include "error.h"
#include "pager.h"

GP_API const char *gp_model_source(const struct gp_model *m)
{
	return m ? m->desc->source : NULL;
}

GP_API uint64_t gp_model_chunk_size(const struct gp_model *m)
{
	return m ? m->desc->chunk_size : 0;
}

GP_API uint64_t gp_model_tensor_bytes(const struct gp_model *m)
{
	return m ? m->desc->tensor_bytes : 0;
}

GP_API uint32_t gp_model_file_count(const struct gp_model *m)
{
	return m ? m->desc->n_files : 0;
}

static int check_file(const struct gp_model *m, uint32_t file, const char *call)
{
	if (!m)
		return gp_fail(GP_EINVAL, "%s: model is NULL", call);
	if (file >= m->desc->n_files)
		return gp_fail(GP_ENOENT, "%s: %s: no file %u (the model has %u)", call,
			       m->desc->source, file, m->desc->n_files);
	return 0;
}

GP_API int gp_model_file_info(const struct gp_model *m, uint32_t file, struct gp_file_info *info)
{
	struct gp_file_info full = { .struct_size = sizeof(full) };
	const struct gp_st_file *f;
	int err = check_file(m, file, "gp_model_file_info");

	if (err)
		return err;
	if (!info)
		return gp_fail(GP_EINVAL, "gp_model_file_info: info is NULL");
	f = &m->desc->files[file];
	full.path = f->path;
	full.name = f->name;
	full.size = f->size;
	full.header_bytes = f->header_len;
	full.n_tensors = f->n_tensors;
	full.n_metadata = (uint32_t)f->n_metadata;
	return gp_abi_out(info, &full, sizeof(full), GP_ABI_V1(struct gp_file_info, n_metadata),
			  "gp_model_file_info");
}

GP_API int gp_model_file_metadata(const struct gp_model *m, uint32_t file, uint32_t i,
				  const char **key, const char **value)
{
	const struct gp_st_file *f;
	int err = check_file(m, file, "gp_model_file_metadata");

	if (err)
		return err;
	f = &m->desc->files[file];
	if (i >= f->n_metadata)
		return gp_fail(GP_ENOENT, "%s: no metadata pair %u (the file has %zu)", f->path, i,
			       f->n_metadata);
	if (key)
		*key = f->metadata_keys[i];
	if (value)
		*value = f->metadata_values[i];
	return 0;
}

GP_API int gp_model_tensor_location(const struct gp_model *m, uint32_t index, uint32_t *file,
				    uint64_t *file_offset)
{
	if (!m)
		return gp_fail(GP_EINVAL, "gp_model_tensor_location: model is NULL");
	if (index >= m->desc->n_tensors)
		return gp_fail(GP_ENOENT, "%s: no tensor %u (the model has %u)", m->desc->source,
			       index, m->desc->n_tensors);
	if (file)
		*file = m->desc->tensors[index].file;
	if (file_offset)
		*file_offset = m->desc->tensors[index].file_offset;
	return 0;
}
