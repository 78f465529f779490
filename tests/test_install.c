/*
 * test_install.c - an installed libgpupager works like the build tree:
 * `make install PREFIX=<scratch>` (the build's own O=), then, from the
 * scratch prefix only, the installed `gpupager run --verify` on the
 * installed simulator (the kernels found beside the installed library, not
 * in the build tree), and a program built with `pkg-config --cflags --libs
 * gpupager` that verifies a model through the public API.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpupager.h"

static char prefix[] = "/tmp/gp-install-XXXXXX";
static char out_path[4096];

/* Run a shell command line; its stdout and stderr in *out (free it); the exit status. */
static int __attribute__((format(printf, 2, 3))) sh(char **out, const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	FILE *f;
	long len;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " >'%s' 2>&1", out_path);
	status = system(cmd);
	f = fopen(out_path, "r");
	cr_assert_not_null(f, "%s: no output file", cmd);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	*out = calloc(1, (size_t)len + 1);
	cr_assert_not_null(*out);
	cr_assert_eq(fread(*out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void setup(void)
{
	char *out;
	int status;

	cr_assert_not_null(mkdtemp(prefix));
	snprintf(out_path, sizeof(out_path), "%s.out", prefix);
	/* What the build tree would lend: none of it may be used from the prefix. */
	unsetenv("GPUPAGER_KERNELS");
	unsetenv("GPUPAGER_CUDA_LIB");
	unsetenv("LD_LIBRARY_PATH");
	status = sh(&out, "make -s -C '%s' O='%s' PREFIX='%s' install", GP_SOURCE_DIR, GP_BUILD_DIR,
		    prefix);
	cr_assert_eq(status, 0, "make install PREFIX=%s: exit %d:\n%s", prefix, status, out);
	free(out);
}

static void teardown(void)
{
	char *out;

	sh(&out, "rm -rf '%s'", prefix);
	free(out);
	unlink(out_path);
}

TestSuite(install, .init = setup, .fini = teardown, .timeout = 300);

Test(install, layout)
{
	static const char *const files[] = {
		"include/gpupager.h", "lib/libgpupager.so.0", "lib/libgpupager.so",
		"lib/libgpupager.a", "lib/pkgconfig/gpupager.pc", "bin/gpupager", "bin/pagerstat",
		"bin/gpupager-bench", "lib/libgpupager-preload.so",
		"lib/gpupager/kernels/gpupager-kernels-sim.so", "lib/gpupager/sim/libcuda.so.1",
	};
	char path[8192], *out;
	int status;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", prefix, files[i]);
		cr_expect_eq(access(path, R_OK), 0, "%s is not installed", path);
	}
	/* The installed tools load the installed library, not the build's. */
	status = sh(&out, "ldd '%s/bin/gpupager'", prefix);
	cr_assert_eq(status, 0, "%s", out);
	snprintf(path, sizeof(path), "%s/bin/../lib/libgpupager.so.0", prefix);
	cr_expect(strstr(out, path), "the installed gpupager does not load %s:\n%s", path, out);
	free(out);
	/* gpupager exec preloads the installed shim (ASan-built under SAN=1, into a plain sh). */
	status = sh(&out, "ASAN_OPTIONS=verify_asan_link_order=0 '%s/bin/gpupager' exec -- "
		    "sh -c 'printf %%s \"$LD_PRELOAD\"'", prefix);
	cr_expect_eq(status, 0, "%s", out);
	snprintf(path, sizeof(path), "%s/lib/libgpupager-preload.so", prefix);
	cr_expect(strstr(out, path), "the installed gpupager exec does not preload %s:\n%s", path,
		  out);
	free(out);
	/* gpupager bench forwards to the installed developer program. */
	status = sh(&out, "'%s/bin/gpupager' bench --help", prefix);
	cr_expect_eq(status, 0, "%s", out);
	free(out);
}

Test(install, installed_run_verifies_with_installed_kernels_and_simulator)
{
	char *out;
	int status;

	status = sh(&out, "'%1$s/bin/gpupager' mkmodel --arch sdxl-unet --scale 0.02 '%1$s/model'",
		    prefix);
	cr_assert_eq(status, 0, "mkmodel: %s", out);
	free(out);
	status = sh(&out, "GPUPAGER_LOG=info GPUPAGER_CUDA_LIB='%1$s/lib/gpupager/sim/libcuda.so.1' "
		    "'%1$s/bin/gpupager' run '%1$s/model' --steps 2 --verify --compute-ms-per-gb 0",
		    prefix);
	cr_assert_eq(status, 0, "installed gpupager run: exit %d:\n%s", status, out);
	cr_expect(strstr(out, "mismatches: data intact"), "%s", out);
	cr_expect(strstr(out, "simulated"), "%s", out);
	cr_expect(strstr(out, "/lib/gpupager/kernels/gpupager-kernels-sim.so"),
		  "the kernels did not come from the prefix:\n%s", out);
	cr_expect_null(strstr(out, GP_BUILD_DIR "/lib/kernels"), "build-tree kernels used:\n%s",
		       out);
	free(out);
}

static const char app_source[] =
	"#include <stdio.h>\n"
	"#include <gpupager.h>\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	struct gp_pager_options po;\n"
	"	struct gp_pager_info info = { .struct_size = sizeof(info) };\n"
	"	struct gp_verify_result v = { .struct_size = sizeof(v) };\n"
	"	struct gp_pager *p;\n"
	"	struct gp_model *m;\n"
	"	gp_stream_t s;\n"
	"	int err;\n"
	"	if (argc != 2 || GP_CHECK_VERSION())\n"
	"		return 2;\n"
	"	gp_pager_options_init(&po);\n"
	"	po.vram_budget = 64u << 20;\n"
	"	po.host_budget = 64u << 20;\n"
	"	err = gp_pager_open(&po, &p);\n"
	"	if (!err)\n"
	"		err = gp_model_open(p, argv[1], &m);\n"
	"	if (err) {\n"
	"		fprintf(stderr, \"app: %s\\n\", gp_last_error());\n"
	"		return 1;\n"
	"	}\n"
	"	err = gp_pager_info(p, &info);\n"
	"	if (!err)\n"
	"		err = gp_pager_stream_create(p, &s);\n"
	"	for (unsigned g = 0; !err && g < gp_model_group_count(m); g++) {\n"
	"		err = gp_acquire_group(m, g, s);\n"
	"		if (!err)\n"
	"			err = gp_model_verify_group(m, g, s);\n"
	"		if (!err)\n"
	"			err = gp_release_group(m, g, s);\n"
	"	}\n"
	"	if (!err)\n"
	"		err = gp_model_verify_collect(m, s, &v);\n"
	"	if (err) {\n"
	"		fprintf(stderr, \"app: %s\\n\", gp_last_error());\n"
	"		return 1;\n"
	"	}\n"
	"	printf(\"device %s simulated %d checked %llu mismatches %llu\\n\", info.device_name,\n"
	"	       info.simulated, (unsigned long long)v.tensors_checked,\n"
	"	       (unsigned long long)v.mismatches);\n"
	"	gp_pager_stream_destroy(p, s);\n"
	"	gp_model_close(m);\n"
	"	gp_pager_close(p);\n"
	"	return v.mismatches ? 1 : 0;\n"
	"}\n";

#if defined(__SANITIZE_ADDRESS__)
static const char app_sanitizers[] = "-fsanitize=address,undefined";
#elif defined(__SANITIZE_THREAD__)
static const char app_sanitizers[] = "-fsanitize=thread";
#else
static const char app_sanitizers[] = "";
#endif

Test(install, pkg_config_program_runs_from_the_prefix)
{
	char path[8192], *out;
	unsigned long long checked = 0;
	FILE *f;
	int status;

	snprintf(path, sizeof(path), "%s/app.c", prefix);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(app_source, f);
	fclose(f);
	status = sh(&out, "PKG_CONFIG_PATH='%1$s/lib/pkgconfig' pkg-config --modversion gpupager",
		    prefix);
	cr_assert_eq(status, 0, "%s", out);
	cr_expect(!strncmp(out, GP_VERSION_STRING "\n", strlen(GP_VERSION_STRING) + 1), "%s", out);
	free(out);
	/*
	 * The prefix's own header and library: nothing from the source or build
	 * tree.  A sanitized library needs its runtime in the program too.
	 */
	status = sh(&out, "cd '%1$s' && cc -std=c11 -Wall -Werror %2$s -o app app.c "
		    "$(PKG_CONFIG_PATH='%1$s/lib/pkgconfig' pkg-config --cflags --libs gpupager) "
		    "-Wl,-rpath,'%1$s/lib'", prefix, app_sanitizers);
	cr_assert_eq(status, 0, "building with pkg-config: %s", out);
	free(out);
	status = sh(&out, "'%1$s/bin/gpupager' mkmodel --arch llama3-8b --scale 0.02 '%1$s/llama' "
		    "&& GPUPAGER_LOG=info GPUPAGER_CUDA_LIB='%1$s/lib/gpupager/sim/libcuda.so.1' "
		    "'%1$s/app' '%1$s/llama'", prefix);
	cr_assert_eq(status, 0, "the pkg-config program: exit %d:\n%s", status, out);
	cr_expect(strstr(out, "simulated 1"), "%s", out);
	cr_expect(strstr(out, "mismatches 0"), "%s", out);
	cr_expect(strstr(out, "/lib/gpupager/kernels/gpupager-kernels-sim.so"), "%s", out);
	cr_assert(strstr(out, "checked "), "%s", out);
	sscanf(strstr(out, "checked ") + strlen("checked "), "%llu", &checked);
	cr_expect_gt(checked, 0, "%s", out);
	free(out);
}

/* The installed header is the public one: internals are not reachable from the prefix. */
Test(install, internal_headers_are_not_installed)
{
	char path[8192], *out;
	FILE *f;
	int status;

	snprintf(path, sizeof(path), "%s/internal.c", prefix);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("#include <gpupager.h>\n#include \"pager.h\"\nint main(void) { return 0; }\n", f);
	fclose(f);
	status = sh(&out, "cd '%1$s' && cc -c -o internal.o internal.c "
		    "$(PKG_CONFIG_PATH='%1$s/lib/pkgconfig' pkg-config --cflags gpupager)", prefix);
	cr_expect_neq(status, 0, "pager.h was found from the prefix:\n%s", out);
	cr_expect(strstr(out, "pager.h"), "%s", out);
	free(out);
}
