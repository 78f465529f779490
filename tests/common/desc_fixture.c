/* desc_fixture.c - in-memory model descriptions (see desc_fixture.h). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "desc_fixture.h"

struct gp_model_desc *gp_test_desc_new(const char *source)
{
	struct gp_model_desc *desc = calloc(1, sizeof(*desc));

	cr_assert(desc);
	desc->source = strdup(source);
	cr_assert(desc->source);
	return desc;
}

static struct gp_st_tensor *append(struct gp_model_desc *desc, const char *name)
{
	struct gp_st_tensor *t;

	desc->tensors = realloc(desc->tensors, (desc->n_tensors + 1) * sizeof(*desc->tensors));
	cr_assert(desc->tensors);
	t = &desc->tensors[desc->n_tensors];
	memset(t, 0, sizeof(*t));
	t->name = strdup(name);
	cr_assert(t->name);
	t->file_offset = desc->n_tensors ? t[-1].file_offset + t[-1].nbytes : 0;
	desc->n_tensors++;
	return t;
}

void gp_test_desc_add(struct gp_model_desc *desc, const char *name, uint64_t nbytes)
{
	struct gp_st_tensor *t = append(desc, name);

	t->dtype = GP_DTYPE_U8;
	t->ndim = 1;
	t->shape[0] = (int64_t)nbytes;
	t->nbytes = nbytes;
	desc->tensor_bytes += nbytes;
}

struct gp_model_desc *gp_test_desc_arch(const char *arch, double scale)
{
	struct gp_model_desc *desc = gp_test_desc_new(arch);
	struct gp_arch_tensor *list;
	size_t count;

	cr_assert_eq(gp_arch_tensors(arch, scale, &list, &count), 0, "%s: %s", arch, gp_last_error());
	for (size_t i = 0; i < count; i++) {
		struct gp_st_tensor *t = append(desc, list[i].name);

		t->dtype = list[i].dtype;
		t->ndim = list[i].ndim;
		t->nbytes = gp_dtype_size(list[i].dtype);
		for (int d = 0; d < list[i].ndim; d++) {
			t->shape[d] = list[i].shape[d];
			t->nbytes *= (uint64_t)list[i].shape[d];
		}
		desc->tensor_bytes += t->nbytes;
	}
	free(list);
	return desc;
}
