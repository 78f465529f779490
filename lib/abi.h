/*
 * abi.h - versioned structs across the ABI (gpupager.h, "struct_size").
 *
 * A struct the library fills is built whole in a local copy, then handed
 * out with gp_abi_out(), which writes only what the caller's struct_size
 * covers.  A struct the caller passes in is taken with gp_abi_in(), which
 * zero-fills the fields an older caller does not know.  GP_ABI_V1 gives the
 * size of a struct's first version: the end of the field named, the last
 * of that version (fields added later go after it).
 */
#ifndef GP_LIB_ABI_H
#define GP_LIB_ABI_H

#include <stddef.h>
#include <stdint.h>

#define GP_ABI_V1(type, last_field) \
	(offsetof(type, last_field) + sizeof(((type *)0)->last_field))

/*
 * Copy the library's full struct `full` (lib_size bytes, first field
 * struct_size) to the caller's `dst`: as many bytes as dst->struct_size
 * says, at most lib_size; dst->struct_size becomes the count written.
 * GP_EINVAL, dst untouched, when dst->struct_size is below v1_size.
 */
int gp_abi_out(void *dst, const void *full, size_t lib_size, size_t v1_size, const char *what);

/*
 * Copy the caller's `src` into the library's `full` (lib_size bytes):
 * the fields src->struct_size covers, zero beyond.  GP_EINVAL when
 * src->struct_size is below v1_size (an uninitialised struct).
 */
int gp_abi_in(void *full, size_t lib_size, const void *src, size_t v1_size, const char *what);

/*
 * An _init function's body: the caller's struct of caller_size bytes (its
 * sizeof, as it was compiled) gets the library's defaults `full` within
 * that size, and struct_size says how much.  Never writes past caller_size:
 * an older caller's struct is shorter than the library's.
 */
void gp_abi_init(void *dst, size_t caller_size, const void *full, size_t lib_size);

#endif
