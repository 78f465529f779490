/* inspect.h - `gpupager inspect` output, as text for people or JSON for scripts. */
#ifndef GP_TOOLS_INSPECT_H
#define GP_TOOLS_INSPECT_H

#include <stdint.h>

#include "model.h"

/* Per-dtype tensor count and bytes, indexed by enum gp_dtype. */
struct inspect_dtypes {
	uint32_t count[GP_DTYPE_COUNT];
	uint64_t bytes[GP_DTYPE_COUNT];
};

void inspect_count_dtypes(const struct gp_model_desc *desc, struct inspect_dtypes *out);

/* Bytes the layout adds to the tensors, as a percentage of the tensor bytes. */
double inspect_padding_percent(const struct gp_model_desc *desc);

void inspect_print_text(const struct gp_model_desc *desc, int with_tensors);
/* 0, or 1 after a message on stderr if the JSON could not be built. */
int inspect_print_json(const struct gp_model_desc *desc, int with_tensors);

#endif
