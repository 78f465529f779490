/* dtype.c - the safetensors element types: names and sizes. */
#include <string.h>

#include "error.h"

static const struct {
	const char *name;
	size_t size;
} dtype_table[GP_DTYPE_COUNT] = {
	[GP_DTYPE_BOOL] = { "BOOL", 1 },     [GP_DTYPE_U8] = { "U8", 1 },
	[GP_DTYPE_I8] = { "I8", 1 },         [GP_DTYPE_I16] = { "I16", 2 },
	[GP_DTYPE_U16] = { "U16", 2 },       [GP_DTYPE_I32] = { "I32", 4 },
	[GP_DTYPE_U32] = { "U32", 4 },       [GP_DTYPE_I64] = { "I64", 8 },
	[GP_DTYPE_U64] = { "U64", 8 },       [GP_DTYPE_F16] = { "F16", 2 },
	[GP_DTYPE_BF16] = { "BF16", 2 },     [GP_DTYPE_F32] = { "F32", 4 },
	[GP_DTYPE_F64] = { "F64", 8 },       [GP_DTYPE_F8_E4M3] = { "F8_E4M3", 1 },
	[GP_DTYPE_F8_E5M2] = { "F8_E5M2", 1 }, [GP_DTYPE_F8_E8M0] = { "F8_E8M0", 1 },
};

const char *gp_dtype_name(enum gp_dtype dtype)
{
	if ((unsigned)dtype >= GP_DTYPE_COUNT)
		return NULL;
	return dtype_table[dtype].name;
}

size_t gp_dtype_size(enum gp_dtype dtype)
{
	if ((unsigned)dtype >= GP_DTYPE_COUNT)
		return 0;
	return dtype_table[dtype].size;
}

int gp_dtype_parse(const char *name, enum gp_dtype *out)
{
	for (int i = 0; i < GP_DTYPE_COUNT; i++) {
		if (strcmp(name, dtype_table[i].name) == 0) {
			*out = (enum gp_dtype)i;
			return 0;
		}
	}
	return gp_fail(GP_EUNSUPPORTED, "unsupported dtype '%s'", name);
}
