/* inspect_stats.c - the figures `gpupager inspect` derives from a model description. */
#include <stdio.h>
#include <string.h>

#include "inspect.h"

struct gp_tensor_info inspect_tensor(const struct gp_model *m, uint32_t i)
{
	struct gp_tensor_info t = { .struct_size = sizeof(t) };

	if (gp_model_tensor_at(m, i, &t))
		t = (struct gp_tensor_info){ .struct_size = sizeof(t), .name = "?" };
	return t;
}

struct gp_group_info inspect_group(const struct gp_model *m, uint32_t g)
{
	struct gp_group_info info = { .struct_size = sizeof(info) };

	if (gp_model_group_info(m, g, &info))
		info = (struct gp_group_info){ .struct_size = sizeof(info), .name = "?" };
	return info;
}

struct gp_file_info inspect_file(const struct gp_model *m, uint32_t f)
{
	struct gp_file_info info = { .struct_size = sizeof(info) };

	if (gp_model_file_info(m, f, &info))
		info = (struct gp_file_info){ .struct_size = sizeof(info), .path = "?", .name = "?" };
	return info;
}

void inspect_count_dtypes(const struct gp_model *m, struct inspect_dtypes *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < gp_model_tensor_count(m); i++) {
		struct gp_tensor_info t = inspect_tensor(m, i);

		if ((unsigned)t.dtype >= GP_DTYPE_COUNT)
			continue;
		out->count[t.dtype]++;
		out->bytes[t.dtype] += t.nbytes;
	}
}

uint64_t inspect_padding_bytes(const struct gp_model *m)
{
	return gp_model_device_size(m) - gp_model_tensor_bytes(m);
}

double inspect_padding_percent(const struct gp_model *m)
{
	if (!gp_model_tensor_bytes(m))
		return 0.0;
	return 100.0 * (double)inspect_padding_bytes(m) / (double)gp_model_tensor_bytes(m);
}

void inspect_format_shape(const struct gp_tensor_info *t, char *buf, size_t len)
{
	size_t used = 0;

	used += (size_t)snprintf(buf, len, "[");
	/* Dimensions are unsigned: above 2^63-1 only in a zero-size tensor. */
	for (int i = 0; i < t->ndim && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%llu", i ? ", " : "",
					 (unsigned long long)(uint64_t)t->shape[i]);
	if (used < len)
		snprintf(buf + used, len - used, "]");
}
