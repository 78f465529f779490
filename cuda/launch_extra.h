/*
 * launch_extra.h - the packed form of a launch's arguments, read the one
 * way by the simulator (which launches with it) and the shim (which scans
 * it): extra = { CU_LAUNCH_PARAM_BUFFER_POINTER, p,
 * CU_LAUNCH_PARAM_BUFFER_SIZE, &n, CU_LAUNCH_PARAM_END }, in any order.
 */
#ifndef GP_CUDA_LAUNCH_EXTRA_H
#define GP_CUDA_LAUNCH_EXTRA_H

#include <cuda.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * The buffer and its size (NULL where the key is absent); false when a key
 * other than these two comes first (*unknown names it).
 */
static inline bool gp_launch_extra_parse(void **extra, const void **buffer, const size_t **size,
					 const void **unknown)
{
	*buffer = NULL;
	*size = NULL;
	for (size_t i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
		if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER) {
			*buffer = extra[i + 1];
		} else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE) {
			*size = extra[i + 1];
		} else {
			*unknown = extra[i];
			return false;
		}
	}
	return true;
}

#endif
