/* inspect.h - `gpupager inspect` output, as text for people or JSON for scripts. */
#ifndef GP_TOOLS_INSPECT_H
#define GP_TOOLS_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include <gpupager.h>

/* Per-dtype tensor count and bytes, indexed by enum gp_dtype. */
struct inspect_dtypes {
	uint32_t count[GP_DTYPE_COUNT];
	uint64_t bytes[GP_DTYPE_COUNT];
};

/* Room for "[d0, d1, ...]" of GP_MAX_DIMS 64-bit dimensions. */
#define INSPECT_SHAPE_TEXT (GP_MAX_DIMS * 22 + 3)

void inspect_count_dtypes(const struct gp_model *m, struct inspect_dtypes *out);

/* Bytes the layout adds to the tensors, and that as a percentage of the tensor bytes. */
uint64_t inspect_padding_bytes(const struct gp_model *m);
double inspect_padding_percent(const struct gp_model *m);

/* Tensor i, group g, file f (the indices come from the model's own counts). */
struct gp_tensor_info inspect_tensor(const struct gp_model *m, uint32_t i);
struct gp_group_info inspect_group(const struct gp_model *m, uint32_t g);
struct gp_file_info inspect_file(const struct gp_model *m, uint32_t f);

/* "[2, 3]" into buf (cut to len). */
void inspect_format_shape(const struct gp_tensor_info *t, char *buf, size_t len);

void inspect_print_text(const struct gp_model *m, int with_tensors);
/* 0, or 1 after a message on stderr if the JSON could not be built. */
int inspect_print_json(const struct gp_model *m, int with_tensors);

#endif
