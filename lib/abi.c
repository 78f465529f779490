/* abi.c - copying versioned structs within the caller's struct_size (abi.h). */
#include <string.h>

#include "abi.h"
#include "error.h"

static int too_small(uint32_t size, size_t v1_size, const char *what)
{
	return gp_fail(GP_EINVAL, "%s: struct_size is %u, at least %zu expected: set it to "
		       "sizeof(the struct) (or call its _init function) before the call",
		       what, size, v1_size);
}

int gp_abi_out(void *dst, const void *full, size_t lib_size, size_t v1_size, const char *what)
{
	uint32_t size, n;

	memcpy(&size, dst, sizeof(size));
	if (size < v1_size)
		return too_small(size, v1_size, what);
	n = size < lib_size ? size : (uint32_t)lib_size;
	memcpy(dst, full, n);
	memcpy(dst, &n, sizeof(n));
	return 0;
}

int gp_abi_in(void *full, size_t lib_size, const void *src, size_t v1_size, const char *what)
{
	uint32_t size;

	memcpy(&size, src, sizeof(size));
	if (size < v1_size)
		return too_small(size, v1_size, what);
	memset(full, 0, lib_size);
	memcpy(full, src, size < lib_size ? size : lib_size);
	return 0;
}

void gp_abi_init(void *dst, size_t caller_size, const void *full, size_t lib_size)
{
	uint32_t n = (uint32_t)(caller_size < lib_size ? caller_size : lib_size);

	if (!dst || caller_size < sizeof(n))
		return;
	memset(dst, 0, caller_size);
	memcpy(dst, full, n);
	memcpy(dst, &n, sizeof(n));
}
