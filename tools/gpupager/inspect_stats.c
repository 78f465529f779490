/* inspect_stats.c - the figures `gpupager inspect` derives from a model description. */
#include <string.h>

#include "inspect.h"

void inspect_count_dtypes(const struct gp_model_desc *desc, struct inspect_dtypes *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < desc->n_tensors; i++) {
		out->count[desc->tensors[i].dtype]++;
		out->bytes[desc->tensors[i].dtype] += desc->tensors[i].nbytes;
	}
}

double inspect_padding_percent(const struct gp_model_desc *desc)
{
	if (!desc->tensor_bytes)
		return 0.0;
	return 100.0 * (double)(desc->range_size - desc->tensor_bytes) / (double)desc->tensor_bytes;
}
