/* dtype.c - the safetensors element types: names and sizes in bits. */
#include <string.h>

#include "error.h"

/* The reference's Dtype list (safetensors/src/tensor.rs), with bitsize(). */
static const struct {
	const char *name;
	size_t bits;
} dtype_table[GP_DTYPE_COUNT] = {
	[GP_DTYPE_BOOL] = { "BOOL", 8 },     [GP_DTYPE_U8] = { "U8", 8 },
	[GP_DTYPE_I8] = { "I8", 8 },         [GP_DTYPE_I16] = { "I16", 16 },
	[GP_DTYPE_U16] = { "U16", 16 },      [GP_DTYPE_I32] = { "I32", 32 },
	[GP_DTYPE_U32] = { "U32", 32 },      [GP_DTYPE_I64] = { "I64", 64 },
	[GP_DTYPE_U64] = { "U64", 64 },      [GP_DTYPE_F16] = { "F16", 16 },
	[GP_DTYPE_BF16] = { "BF16", 16 },    [GP_DTYPE_F32] = { "F32", 32 },
	[GP_DTYPE_F64] = { "F64", 64 },      [GP_DTYPE_F8_E4M3] = { "F8_E4M3", 8 },
	[GP_DTYPE_F8_E5M2] = { "F8_E5M2", 8 }, [GP_DTYPE_F8_E8M0] = { "F8_E8M0", 8 },
	[GP_DTYPE_F4] = { "F4", 4 },         [GP_DTYPE_F6_E2M3] = { "F6_E2M3", 6 },
	[GP_DTYPE_F6_E3M2] = { "F6_E3M2", 6 }, [GP_DTYPE_F8_E4M3FNUZ] = { "F8_E4M3FNUZ", 8 },
	[GP_DTYPE_F8_E5M2FNUZ] = { "F8_E5M2FNUZ", 8 }, [GP_DTYPE_C64] = { "C64", 64 },
};

const char *gp_dtype_name(enum gp_dtype dtype)
{
	if ((unsigned)dtype >= GP_DTYPE_COUNT)
		return NULL;
	return dtype_table[dtype].name;
}

size_t gp_dtype_bits(enum gp_dtype dtype)
{
	if ((unsigned)dtype >= GP_DTYPE_COUNT)
		return 0;
	return dtype_table[dtype].bits;
}

size_t gp_dtype_size(enum gp_dtype dtype)
{
	size_t bits = gp_dtype_bits(dtype);

	return bits % 8 ? 0 : bits / 8;
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
