/* sort.h - qsort comparators shared by the library's files. */
#ifndef GP_LIB_SORT_H
#define GP_LIB_SORT_H

#include <stdint.h>

/* Ascending uint64_t, for qsort. */
static inline int gp_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#endif
