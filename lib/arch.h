/*
 * arch.h - tensor lists of real model architectures, scaled (internal).
 *
 * Used by `gpupager mkmodel` to write sample models and by tests to check
 * grouping on real names without writing files.
 */
#ifndef GP_LIB_ARCH_H
#define GP_LIB_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "gpupager.h"

struct gp_arch_tensor {
	char name[160];
	enum gp_dtype dtype;
	int ndim;
	int64_t shape[GP_MAX_DIMS];
};

/* NULL-terminated list of supported architecture names ("wan2.1-14b", ...). */
const char *const *gp_arch_names(void);

/*
 * The tensors of arch with hidden sizes scaled by scale (0 < scale <= 1
 * typically; 1 is the real model), in the model's forward order.  The caller
 * frees *out.  GP_ENOENT for an unknown arch, GP_EINVAL for a bad scale.
 */
int gp_arch_tensors(const char *arch, double scale, struct gp_arch_tensor **out, size_t *count);

#endif
