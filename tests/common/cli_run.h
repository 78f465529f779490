/* cli_run.h - run the built gpupager binary from a test and capture what it prints. */
#ifndef GP_TESTS_CLI_RUN_H
#define GP_TESTS_CLI_RUN_H

#include <sys/resource.h>

#define GP_TEST_GPUPAGER GP_BUILD_DIR "/bin/gpupager"
#define GP_TEST_PAGERSTAT GP_BUILD_DIR "/bin/pagerstat"

struct gp_test_cli {
	int status;     /* exit status, or 128 + signal */
	char *out;      /* stdout, NUL-terminated */
	char *err;      /* stderr, NUL-terminated */
};

/*
 * Run gpupager with args (NULL-terminated, argv[0] omitted).  fsize_limit > 0
 * caps the size of files it writes (RLIMIT_FSIZE), so a write past it fails
 * with EFBIG as on a full disk.
 */
struct gp_test_cli gp_test_cli_run(const char *const *args, rlim_t fsize_limit);
/* The same for another built program (GP_TEST_PAGERSTAT). */
struct gp_test_cli gp_test_cli_run_bin(const char *bin, const char *const *args,
				       rlim_t fsize_limit);
void gp_test_cli_free(struct gp_test_cli *r);

#endif
