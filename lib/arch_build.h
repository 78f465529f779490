/*
 * arch_build.h - helpers the per-architecture tables (arch_*.c) are written
 * with (internal to the arch_* files).
 *
 * A table is a function that appends tensors to a builder in forward order.
 * The builder's error is sticky: after the first failure (out of memory, a
 * name too long) further appends do nothing, so a table reads as a plain list
 * and gp_arch_tensors() checks the error once at the end.
 */
#ifndef GP_LIB_ARCH_BUILD_H
#define GP_LIB_ARCH_BUILD_H

#include "arch.h"

struct gp_arch_builder {
	struct gp_arch_tensor *tensors;
	size_t count;
	size_t capacity;
	double scale;
	enum gp_dtype dtype;    /* every tensor of the published checkpoints shares one */
	int err;                /* first failure, 0 if none */
};

struct gp_arch_shape {
	int ndim;
	int64_t dim[GP_MAX_DIMS];
};

/* GP_SHAPE(out, in) -> a shape with ndim counted from the arguments. */
#define GP_SHAPE(...)                                                                  \
	((struct gp_arch_shape){ .ndim = (int)(sizeof((int64_t[]){ __VA_ARGS__ }) /     \
					       sizeof(int64_t)),                       \
				 .dim = { __VA_ARGS__ } })

/*
 * A hidden size of the real model scaled by the builder's scale: base * scale
 * rounded to the nearest multiple of `multiple` (8, or more where a ratio
 * inside the architecture must stay exact), and never below `multiple`.
 * At scale 1 every base given by the tables is returned unchanged.
 */
int64_t gp_arch_dim(const struct gp_arch_builder *b, int64_t base, int64_t multiple);

/* One tensor named by fmt. */
void gp_arch_add(struct gp_arch_builder *b, struct gp_arch_shape shape, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* nn.Linear: "<prefix>.weight" [out, in] and "<prefix>.bias" [out]. */
void gp_arch_linear(struct gp_arch_builder *b, int64_t out, int64_t in, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* nn.Linear without bias: "<prefix>.weight" [out, in] only. */
void gp_arch_linear_nobias(struct gp_arch_builder *b, int64_t out, int64_t in,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A norm with an affine transform: "<prefix>.weight" and "<prefix>.bias", both [dim]. */
void gp_arch_norm(struct gp_arch_builder *b, int64_t dim, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* nn.Conv2d with a square kernel: "<prefix>.weight" [out, in, k, k] and "<prefix>.bias". */
void gp_arch_conv2d(struct gp_arch_builder *b, int64_t out, int64_t in, int64_t kernel,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The tables, one per file. */
void gp_arch_wan21_14b(struct gp_arch_builder *b);
void gp_arch_flux_dev(struct gp_arch_builder *b);
void gp_arch_sdxl_unet(struct gp_arch_builder *b);
void gp_arch_llama3_8b(struct gp_arch_builder *b);

#endif
