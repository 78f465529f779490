/*
 * test_pager_threads.c - several threads and two models on one pager with a
 * budget below both: runs the stress program (tests/pager_stress.c, also
 * run under ThreadSanitizer by `make pager-stress TSAN=1`) and expects every
 * checksum to match.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define STRESS GP_BUILD_DIR "/tests/pager_stress"

Test(pager_threads, two_models_three_threads)
{
	char line[256] = "";
	FILE *out = popen(STRESS " 2>&1", "r");
	int status;

	cr_assert_not_null(out, "cannot run %s", STRESS);
	while (fgets(line, sizeof(line), out))
		cr_log_info("%s", line);
	status = pclose(out);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed: %s", STRESS, line);
	cr_expect_neq(strstr(line, ", 0 failures"), NULL, "last line: %s", line);
}
