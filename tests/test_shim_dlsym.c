/*
 * test_shim_dlsym.c - lookups under the shim (tests/apps/shim_dlsym.c):
 * dlsym through both glibc versions, dlvsym and cuGetProcAddress_v2 on a
 * driver handle give the shim's wrappers; RTLD_NEXT is resolved relative
 * to the caller; other cu* names stay glibc's.  Without the shim the same
 * lookups give the driver, so the checks can tell the two apart.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "apps/shim_run.h"

TestSuite(shim_dlsym, .init = shim_test_env, .timeout = 120);

static void expect_all_ok(const struct gp_test_cli *r, const char *what)
{
	cr_expect_eq(r->status, 0, "%s: exit %d\n%s%s", what, r->status, r->out, r->err);
	cr_expect_null(strstr(r->out, "FAIL"), "%s:\n%s", what, r->out);
	cr_expect_neq(strstr(r->out, "ok dlsym(RTLD_NEXT, cuMemAlloc_v2)"), NULL, "%s:\n%s", what,
		      r->out);
}

Test(shim_dlsym, without_the_shim_every_lookup_is_the_drivers)
{
	struct gp_test_cli r = shim_test_run("64M", NULL, "shim_dlsym",
					     (const char *const[]){ "--no-shim", NULL });

	expect_all_ok(&r, "without the shim");
	gp_test_cli_free(&r);
}

Test(shim_dlsym, under_the_shim_driver_lookups_give_the_wrappers)
{
	struct gp_test_cli r;

	shim_test_require_shim();
	r = shim_test_run("64M", "32M", "shim_dlsym", (const char *const[]){ NULL });
	expect_all_ok(&r, "under the shim");
	gp_test_cli_free(&r);
}

/* The shim's checks must fail where the driver is expected: the two runs differ. */
Test(shim_dlsym, under_the_shim_the_drivers_own_answers_are_gone)
{
	struct gp_test_cli r;

	shim_test_require_shim();
	r = shim_test_run("64M", "32M", "shim_dlsym", (const char *const[]){ "--no-shim", NULL });
	cr_expect_eq(r.status, 1, "exit %d\n%s", r.status, r.out);
	cr_expect_neq(strstr(r.out, "FAIL dlsym@GLIBC_2.2.5(driver, cuMemAlloc_v2)"), NULL, "%s",
		      r.out);
	gp_test_cli_free(&r);
}
