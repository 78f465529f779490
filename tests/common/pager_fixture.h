/*
 * pager_fixture.h - a small generated model and a pager on the simulated
 * device, and a device-side check that every tensor holds the file's bytes.
 */
#ifndef GP_TESTS_PAGER_FIXTURE_H
#define GP_TESTS_PAGER_FIXTURE_H

#include <stdint.h>

#include "gpupager.h"
#include "kernels.h"
#include "pager.h"

#define GP_TEST_ARCH "wan2.1-14b"
#define GP_TEST_SCALE 0.04
#define GP_TEST_SEED 7

struct gp_test_pager {
	char *dir;                      /* the model's directory (removed at close) */
	struct gp_pager *p;
	struct gp_model *m;
	struct gp_kernels *kernels;
	CUstream stream;
	uint64_t results;               /* device words, one per tensor */
	uint64_t *words;                /* host copy */
};

/* Write the model (sharded in 16 MiB files) into a new temporary directory. */
char *gp_test_model_new(double scale, uint64_t seed);

/* Open a pager with budget_pct of the model's range (0: all of it) and policy, and the model. */
void gp_test_pager_open(struct gp_test_pager *t, const char *policy, double budget_pct);
void gp_test_pager_close(struct gp_test_pager *t);

/*
 * Acquire group g on t's stream, checksum its tensors on the device,
 * release, and return how many tensors differ from the sample's content.
 */
unsigned gp_test_check_group(struct gp_test_pager *t, uint32_t g);
/* The same over every group in order: one forward pass. */
unsigned gp_test_check_pass(struct gp_test_pager *t);

#endif
