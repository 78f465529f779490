/*
 * desc_fixture.h - in-memory model descriptions for the grouping and layout
 * tests: tensors with names and sizes but no files behind them.
 */
#ifndef GP_TESTS_DESC_FIXTURE_H
#define GP_TESTS_DESC_FIXTURE_H

#include <stdint.h>

#include "model.h"

/* An empty description named source; free with gp_model_desc_free. */
struct gp_model_desc *gp_test_desc_new(const char *source);

/* Append a 1-D tensor of nbytes U8 elements at the next file offset. */
void gp_test_desc_add(struct gp_model_desc *desc, const char *name, uint64_t nbytes);

/* The tensors of gp_arch_tensors(arch, scale), in the table's order. */
struct gp_model_desc *gp_test_desc_arch(const char *arch, double scale);

#endif
