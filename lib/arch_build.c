/* arch_build.c - the builder the architecture tables append their tensors to. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch_build.h"
#include "error.h"

int64_t gp_arch_dim(const struct gp_arch_builder *b, int64_t base, int64_t multiple)
{
	int64_t dim = (int64_t)llround((double)base * b->scale / (double)multiple) * multiple;

	return dim < multiple ? multiple : dim;
}

static struct gp_arch_tensor *append(struct gp_arch_builder *b)
{
	if (b->err)
		return NULL;
	if (b->count == b->capacity) {
		size_t capacity = b->capacity ? 2 * b->capacity : 256;
		struct gp_arch_tensor *grown = realloc(b->tensors, capacity * sizeof(*grown));

		if (!grown) {
			b->err = gp_fail(GP_ENOMEM, "architecture table: out of memory at %zu tensors",
					 b->count);
			return NULL;
		}
		b->tensors = grown;
		b->capacity = capacity;
	}
	/* Zeroed, so that a table's bytes are as deterministic as its contents. */
	memset(&b->tensors[b->count], 0, sizeof(b->tensors[0]));
	return &b->tensors[b->count++];
}

static void add_named(struct gp_arch_builder *b, struct gp_arch_shape shape, const char *prefix,
		      const char *suffix)
{
	struct gp_arch_tensor *t = append(b);
	int n;

	if (!t)
		return;
	n = snprintf(t->name, sizeof(t->name), "%s%s", prefix, suffix);
	if (n < 0 || (size_t)n >= sizeof(t->name)) {
		b->count--;
		b->err = gp_fail(GP_ERANGE, "architecture table: tensor name '%s%s' is longer than %zu bytes",
				 prefix, suffix, sizeof(t->name) - 1);
		return;
	}
	t->dtype = b->dtype;
	t->ndim = shape.ndim;
	for (int i = 0; i < GP_MAX_DIMS; i++)
		t->shape[i] = i < shape.ndim ? shape.dim[i] : 0;
}

/*
 * Names are formatted into a buffer twice the size of a tensor name, so a
 * prefix that does not fit always fails the length check in add_named().
 */
#define PREFIX_MAX (2 * sizeof(((struct gp_arch_tensor *)0)->name))

void gp_arch_add(struct gp_arch_builder *b, struct gp_arch_shape shape, const char *fmt, ...)
{
	char name[PREFIX_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	add_named(b, shape, name, "");
}

void gp_arch_linear(struct gp_arch_builder *b, int64_t out, int64_t in, const char *fmt, ...)
{
	char prefix[PREFIX_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	add_named(b, GP_SHAPE(out, in), prefix, ".weight");
	add_named(b, GP_SHAPE(out), prefix, ".bias");
}

void gp_arch_linear_nobias(struct gp_arch_builder *b, int64_t out, int64_t in, const char *fmt, ...)
{
	char prefix[PREFIX_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	add_named(b, GP_SHAPE(out, in), prefix, ".weight");
}

void gp_arch_norm(struct gp_arch_builder *b, int64_t dim, const char *fmt, ...)
{
	char prefix[PREFIX_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	add_named(b, GP_SHAPE(dim), prefix, ".weight");
	add_named(b, GP_SHAPE(dim), prefix, ".bias");
}

void gp_arch_conv2d(struct gp_arch_builder *b, int64_t out, int64_t in, int64_t kernel,
		    const char *fmt, ...)
{
	char prefix[PREFIX_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	add_named(b, GP_SHAPE(out, in, kernel, kernel), prefix, ".weight");
	add_named(b, GP_SHAPE(out), prefix, ".bias");
}
