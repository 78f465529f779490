/*
 * test_exec.c - `gpupager exec`, run as a user runs it, with `sh -c` as
 * CMD: the settings and LD_PRELOAD that CMD sees, CMD's exit status and
 * signals, and each usage or setup error (exit status, message, CMD not
 * run).
 *
 * Most cases run a copy of gpupager in a scratch prefix (PREFIX/bin, with
 * PREFIX/lib/libgpupager.so.0 linked to the build's), where the shim it
 * looks for, PREFIX/lib/libgpupager-preload.so, is a stand-in: a link to
 * the system's libm, which loads into sh harmlessly (libgpupager.so.0 would
 * bring the ASan runtime into sh under SAN=1).  So these cases test the
 * tool whether or not the shim is built, and the missing-shim case can
 * remove it.  One case runs the build tree's gpupager with the real shim.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cli_run.h"

#define SHIM_NAME "libgpupager-preload.so"

static char prefix[PATH_MAX];
static char bin[PATH_MAX + 32];
static char shim[PATH_MAX + 32];

static void copy_file(const char *from, const char *to, mode_t mode)
{
	FILE *in = fopen(from, "rb"), *out;
	char buf[1 << 16];
	size_t n;

	cr_assert_not_null(in, "%s: %s", from, strerror(errno));
	out = fopen(to, "wb");
	cr_assert_not_null(out, "%s: %s", to, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), in)))
		cr_assert_eq(fwrite(buf, 1, n, out), n, "%s: %s", to, strerror(errno));
	fclose(in);
	cr_assert_eq(fclose(out), 0, "%s: %s", to, strerror(errno));
	cr_assert_eq(chmod(to, mode), 0);
}

static void path_in(char *out, size_t size, const char *name)
{
	cr_assert_lt((size_t)snprintf(out, size, "%s/%s", prefix, name), size);
}

/* The file the dynamic linker loads for name. */
static void library_path(const char *name, char *out, size_t size)
{
	void *handle = dlopen(name, RTLD_NOW);
	struct link_map *map;

	cr_assert_not_null(handle, "dlopen %s: %s", name, dlerror());
	cr_assert_eq(dlinfo(handle, RTLD_DI_LINKMAP, &map), 0, "%s", dlerror());
	cr_assert_lt((size_t)snprintf(out, size, "%s", map->l_name), size);
	dlclose(handle);
}

/* Under SAN=1: gpupager's ASan runtime does not come first when LD_PRELOAD is set. */
static void asan_allow_preload(void)
{
	const char *asan = getenv("ASAN_OPTIONS");
	char options[512];

	snprintf(options, sizeof(options), "%s%sverify_asan_link_order=0", asan ? asan : "",
		 asan ? ":" : "");
	setenv("ASAN_OPTIONS", options, 1);
}

static void setup(void)
{
	char dir[] = "/tmp/gp-exec-XXXXXX", path[PATH_MAX + 32], libm[PATH_MAX];

	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	/* /proc/self/exe, where gpupager starts from, names the real path. */
	cr_assert_not_null(realpath(dir, prefix));
	path_in(path, sizeof(path), "bin");
	cr_assert_eq(mkdir(path, 0755), 0);
	path_in(path, sizeof(path), "lib");
	cr_assert_eq(mkdir(path, 0755), 0);
	/* A copy, not a link: a link would lead /proc/self/exe back to the build tree. */
	path_in(bin, sizeof(bin), "bin/gpupager");
	copy_file(GP_TEST_GPUPAGER, bin, 0755);
	path_in(path, sizeof(path), "lib/libgpupager.so.0");
	cr_assert_eq(symlink(GP_BUILD_DIR "/lib/libgpupager.so.0", path), 0);
	library_path("libm.so.6", libm, sizeof(libm));
	path_in(shim, sizeof(shim), "lib/" SHIM_NAME);
	cr_assert_eq(symlink(libm, shim), 0);
	asan_allow_preload();
	unsetenv("LD_PRELOAD");
	unsetenv("GPUPAGER_VRAM_BUDGET");
	unsetenv("GPUPAGER_HOST_BUDGET");
	unsetenv("GPUPAGER_POLICY");
	unsetenv("GPUPAGER_SHIM_STATS");
	unsetenv("GPUPAGER_SHIM_EVICT");
	unsetenv("GPUPAGER_SHIM_HEAP");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	cr_expect_eq(nftw(prefix, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0, "%s: %s", prefix,
		     strerror(errno));
}

TestSuite(exec, .init = setup, .fini = teardown);

/* The variables that exec sets, one line each, as CMD sees them ("-" for unset). */
#define PRINT_ENV "printf '%s\\n' \"${LD_PRELOAD--}\" \"${GPUPAGER_VRAM_BUDGET--}\" " \
	"\"${GPUPAGER_HOST_BUDGET--}\" \"${GPUPAGER_POLICY--}\" \"${GPUPAGER_SHIM_STATS--}\" " \
	"\"${GPUPAGER_SHIM_EVICT--}\""

static void expect_env(const char *const *args, const char *preload, const char *rest)
{
	struct gp_test_cli r = gp_test_cli_run_bin(bin, args, 0);
	char want[2 * PATH_MAX];

	snprintf(want, sizeof(want), "%s\n%s", preload, rest);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_expect_str_eq(r.out, want, "stderr: %s", r.err);
	gp_test_cli_free(&r);
}

Test(exec, options_become_the_variables_cmd_sees)
{
	expect_env((const char *const[]){ "exec", "--budget", "40%", "--host-budget", "2G",
					  "--policy", "lru", "--stats", "--evict", "none", "--",
					  "sh", "-c", PRINT_ENV, NULL },
		   shim, "40%\n2G\nlru\n1\nnone\n");
	expect_env((const char *const[]){ "exec", "--budget", "1536M", "--host-budget", "25%",
					  "--evict", "all", "--", "sh", "-c", PRINT_ENV, NULL },
		   shim, "1536M\n25%\n-\n-\nall\n");
}

Test(exec, unset_options_leave_the_environment)
{
	setenv("GPUPAGER_VRAM_BUDGET", "3G", 1);
	setenv("GPUPAGER_POLICY", "clock", 1);
	setenv("GPUPAGER_SHIM_EVICT", "none", 1);
	expect_env((const char *const[]){ "exec", "--", "sh", "-c", PRINT_ENV, NULL }, shim,
		   "3G\n-\nclock\n-\nnone\n");
	expect_env((const char *const[]){ "exec", "--budget", "50%", "--", "sh", "-c", PRINT_ENV,
					  NULL },
		   shim, "50%\n-\nclock\n-\nnone\n");
}

Test(exec, shim_goes_first_and_ld_preload_is_kept)
{
	char want[PATH_MAX + 64];

	/* A library every process has loaded already: preloading it changes nothing. */
	setenv("LD_PRELOAD", "libm.so.6", 1);
	snprintf(want, sizeof(want), "%s:libm.so.6", shim);
	expect_env((const char *const[]){ "exec", "--", "sh", "-c", PRINT_ENV, NULL }, want,
		   "-\n-\n-\n-\n-\n");
	setenv("LD_PRELOAD", "", 1);
	expect_env((const char *const[]){ "exec", "--", "sh", "-c", PRINT_ENV, NULL }, shim,
		   "-\n-\n-\n-\n-\n");
}

Test(exec, cmd_arguments_pass_untouched)
{
	const char *const args[] = { "exec", "--stats", "--", "sh", "-c", "printf '[%s]' \"$@\"",
				     "sh", "--budget", "x", "a b", "--", "-h", NULL };
	struct gp_test_cli r = gp_test_cli_run_bin(bin, args, 0);

	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_expect_str_eq(r.out, "[--budget][x][a b][--][-h]");
	gp_test_cli_free(&r);
}

static void expect_status(const char *script, int status)
{
	const char *const args[] = { "exec", "--", "sh", "-c", script, NULL };
	struct gp_test_cli r = gp_test_cli_run_bin(bin, args, 0);

	cr_expect_eq(r.status, status, "sh -c '%s': exit %d, expected %d: %s", script, r.status,
		     status, r.err);
	gp_test_cli_free(&r);
}

Test(exec, exit_status_and_signals_are_cmds)
{
	expect_status("exit 0", 0);
	expect_status("exit 7", 7);
	expect_status("exit 2", 2);
	/* Killed by a signal: the harness reports 128 + signal, as a shell does. */
	expect_status("kill -TERM $$", 128 + 15);
	expect_status("kill -KILL $$", 128 + 9);
}

/* exec fails with status and a message holding text; CMD (which would make a file) never runs. */
static void expect_failure(const char *const *args, int status, const char *text)
{
	char marker[PATH_MAX + 32];
	struct gp_test_cli r;

	path_in(marker, sizeof(marker), "ran");
	r = gp_test_cli_run_bin(bin, args, 0);
	cr_expect_eq(r.status, status, "exit %d, expected %d: %s", r.status, status, r.err);
	cr_expect(strstr(r.err, text), "stderr '%s' lacks '%s'", r.err, text);
	cr_expect_str_eq(r.out, "");
	cr_expect_neq(access(marker, F_OK), 0, "CMD ran");
	gp_test_cli_free(&r);
}

#define RUNS(...) (const char *const[]){ "exec", __VA_ARGS__, "touch ran", NULL }

Test(exec, bad_options_exit_2_without_running_cmd)
{
	cr_assert_eq(chdir(prefix), 0);
	expect_failure(RUNS("--budget", "lots", "--", "sh", "-c"), 2,
		       "gpupager exec: --budget: Invalid size: 'lots'");
	expect_failure(RUNS("--budget", "150%", "--", "sh", "-c"), 2,
		       "gpupager exec: --budget: Invalid budget: '150%'");
	expect_failure(RUNS("--host-budget", "-1G", "--", "sh", "-c"), 2,
		       "gpupager exec: --host-budget: Invalid size: '-1G'");
	expect_failure(RUNS("--policy", "fifo", "--", "sh", "-c"), 2,
		       "gpupager exec: --policy: unknown policy 'fifo': expected auto, lru, clock "
		       "or static");
	expect_failure(RUNS("--evict", "weight", "--", "sh", "-c"), 2,
		       "gpupager exec: GPUPAGER_SHIM_EVICT='weight': unknown value; accepted: "
		       "all|none|weights");
	expect_failure(RUNS("--swap-blocks", "1", "--", "sh", "-c"), 2, "gpupager exec: unknown "
		       "option");
	expect_failure(RUNS("sh", "-c"), 2, "gpupager exec: '--' is required before CMD ('sh')");
	expect_failure(RUNS("--stats", "sh", "-c"), 2,
		       "gpupager exec: '--' is required before CMD ('sh')");
	expect_failure((const char *const[]){ "exec", "--", NULL }, 2,
		       "gpupager exec: CMD is required after '--'");
	expect_failure((const char *const[]){ "exec", "--stats", NULL }, 2,
		       "gpupager exec: CMD is required: gpupager exec [OPTIONS] -- CMD [ARGS...]");
	expect_failure((const char *const[]){ "exec", NULL }, 2, "gpupager exec: CMD is required");
}

/* The environment CMD would get is parsed as the shim will parse it. */
Test(exec, bad_inherited_variable_exits_2_without_running_cmd)
{
	cr_assert_eq(chdir(prefix), 0);
	setenv("GPUPAGER_SHIM_HEAP", "lots", 1);
	expect_failure(RUNS("--", "sh", "-c"), 2,
		       "gpupager exec: GPUPAGER_SHIM_HEAP='lots': not a size; accepted: auto|size");
	unsetenv("GPUPAGER_SHIM_HEAP");
	/* An option replaces the bad inherited value. */
	setenv("GPUPAGER_VRAM_BUDGET", "lots", 1);
	expect_env((const char *const[]){ "exec", "--budget", "2G", "--", "sh", "-c", PRINT_ENV,
					  NULL },
		   shim, "2G\n-\n-\n-\n-\n");
}

Test(exec, missing_shim_exits_2_naming_it)
{
	char text[PATH_MAX + 128];

	cr_assert_eq(chdir(prefix), 0);
	cr_assert_eq(unlink(shim), 0);
	snprintf(text, sizeof(text), "gpupager exec: the shim %s is missing", shim);
	expect_failure(RUNS("--", "sh", "-c"), 2, text);
	expect_failure(RUNS("--", "sh", "-c"), 2, "build it with `make`");
}

Test(exec, cmd_not_found_127_not_executable_126)
{
	char script[PATH_MAX + 32];
	FILE *f;

	expect_failure((const char *const[]){ "exec", "--", "/nonexistent/gp-cmd", NULL }, 127,
		       "gpupager exec: cannot run '/nonexistent/gp-cmd': No such file or directory");
	expect_failure((const char *const[]){ "exec", "--", "gp-no-such-command-on-path", NULL },
		       127, "cannot run 'gp-no-such-command-on-path': No such file or directory");
	path_in(script, sizeof(script), "not-executable");
	f = fopen(script, "w");
	cr_assert_not_null(f);
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	expect_failure((const char *const[]){ "exec", "--", script, NULL }, 126,
		       "Permission denied");
	expect_failure((const char *const[]){ "exec", "--", prefix, NULL }, 126, "cannot run");
}

Test(exec, help_documents_every_option_and_variable)
{
	static const char *const words[] = {
		"--budget SIZE|PCT", "--host-budget SIZE|PCT", "--policy P", "--stats",
		"--evict weights|all|none", "-- CMD [ARGS...]", "GPUPAGER_VRAM_BUDGET",
		"GPUPAGER_HOST_BUDGET", "GPUPAGER_POLICY", "GPUPAGER_SHIM_STATS=1",
		"GPUPAGER_SHIM_EVICT", "LD_PRELOAD", SHIM_NAME, "126", "127",
	};
	struct gp_test_cli r = gp_test_cli_run_bin(bin, (const char *const[]){ "exec", "--help",
								  NULL }, 0);

	cr_assert_eq(r.status, 0, "%s", r.err);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		cr_expect(strstr(r.out, words[i]), "exec --help lacks '%s'", words[i]);
	gp_test_cli_free(&r);
	r = gp_test_cli_run_bin(bin, (const char *const[]){ "--help", NULL }, 0);
	cr_expect(strstr(r.out, "\n  exec "), "gpupager --help does not list exec:\n%s", r.out);
	gp_test_cli_free(&r);
}

/*
 * The build tree's gpupager preloads the build's shim (mk/shim.mk builds it
 * with `make`), the real one, into sh.  A suite of its own: a skipped test
 * does not run the scratch prefix's teardown.
 */
Test(exec_build, preloads_the_built_shim)
{
	const char *const args[] = { "exec", "--stats", "--", "sh", "-c",
				     "printf '%s' \"$LD_PRELOAD\"; exit 3", NULL };
	char build[PATH_MAX], want[PATH_MAX + 64];
	struct gp_test_cli r;

	if (access(GP_BUILD_DIR "/lib/" SHIM_NAME, R_OK))
		cr_skip_test("%s/lib/%s is not built yet", GP_BUILD_DIR, SHIM_NAME);
	cr_assert_not_null(realpath(GP_BUILD_DIR, build));
	snprintf(want, sizeof(want), "%s/lib/" SHIM_NAME ":libm.so.6", build);
	asan_allow_preload();
	setenv("LD_PRELOAD", "libm.so.6", 1);
	r = gp_test_cli_run(args, 0);
	cr_expect_eq(r.status, 3, "exit %d: %s", r.status, r.err);
	cr_expect_str_eq(r.out, want, "stderr: %s", r.err);
	gp_test_cli_free(&r);
}
