/*
 * test_api_abi.c - the promises of the public API's ABI: versioned structs
 * (struct_size), options copied and checked at open, per-pager counters
 * with a process total, the run-time version check, the exported symbols,
 * and README's error table against the one list of codes.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_env.h"
#include "gpupager.h"
#include "common/pager_fixture.h"

/* The first version of gp_tensor_info ended with device_ptr; an "old caller" passes that much. */
#define TENSOR_INFO_V1 (offsetof(struct gp_tensor_info, device_ptr) + sizeof(uint64_t))

Test(abi, info_struct_without_size_is_refused_untouched)
{
	struct gp_test_pager t;
	struct gp_tensor_info ti;
	struct gp_group_info gi;
	struct gp_pager_stats s;

	gp_test_pager_open(&t, "auto", 0);
	memset(&ti, 0, sizeof(ti));
	memset(&gi, 0, sizeof(gi));
	memset(&s, 0, sizeof(s));
	cr_assert_eq(gp_model_tensor_at(t.m, 0, &ti), GP_EINVAL);
	cr_assert(strstr(gp_last_error(), "struct_size"), "message: %s", gp_last_error());
	cr_assert_null(ti.name, "refused call wrote the struct");
	cr_assert_eq(gp_model_group_info(t.m, 0, &gi), GP_EINVAL);
	cr_assert_eq(gp_pager_get_stats(t.p, &s), GP_EINVAL);
	gp_test_pager_close(&t);
}

/* A caller built against a smaller struct gets exactly its bytes; nothing past them is written. */
Test(abi, older_caller_gets_only_its_fields)
{
	struct gp_test_pager t;
	unsigned char buf[sizeof(struct gp_tensor_info) + 64];
	struct gp_tensor_info full = { .struct_size = sizeof(full) }, *old = (void *)buf;

	gp_test_pager_open(&t, "auto", 0);
	memset(buf, 0xa5, sizeof(buf));
	old->struct_size = (uint32_t)TENSOR_INFO_V1;
	cr_assert_eq(gp_model_tensor_at(t.m, 1, old), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_tensor_at(t.m, 1, &full), 0, "%s", gp_last_error());
	cr_assert_eq(old->struct_size, TENSOR_INFO_V1);
	cr_assert_eq(full.struct_size, sizeof(full));
	cr_assert_str_eq(old->name, full.name);
	cr_assert_eq(old->device_ptr, full.device_ptr);
	for (size_t i = TENSOR_INFO_V1; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0xa5, "byte %zu past the caller's struct was written", i);
	/* A larger (newer) caller: the library fills what it knows and says how much. */
	memset(buf, 0, sizeof(buf));
	old->struct_size = sizeof(buf);
	cr_assert_eq(gp_model_tensor_at(t.m, 1, old), 0, "%s", gp_last_error());
	cr_assert_eq(old->struct_size, sizeof(struct gp_tensor_info));
	gp_test_pager_close(&t);
}

Test(abi, options_without_init_are_refused)
{
	struct gp_pager_options po;
	struct gp_pager *p = (void *)0x1;

	memset(&po, 0, sizeof(po));
	cr_assert_eq(gp_pager_open(&po, &p), GP_EINVAL);
	cr_assert_null(p);
	cr_assert(strstr(gp_last_error(), "gp_pager_open: struct_size"), "%s", gp_last_error());
}

static void expect_open_fails(struct gp_pager_options *po, int code, const char *needle)
{
	struct gp_pager *p = (void *)0x1;

	cr_assert_eq(gp_pager_open(po, &p), code, "%s", gp_last_error());
	cr_assert_null(p);
	cr_assert(strstr(gp_last_error(), needle), "message: %s", gp_last_error());
}

Test(abi, bad_options_name_the_field)
{
	struct gp_pager_options po;

	gp_test_cuda_env();
	gp_pager_options_init(&po);
	po.swap_blocks = "3-x";
	expect_open_fails(&po, GP_EINVAL, "swap_blocks: Invalid range: '3-x'");
	gp_pager_options_init(&po);
	po.device = -2;
	expect_open_fails(&po, GP_EINVAL, "device -2");
	gp_pager_options_init(&po);
	po.vram_budget_pct = 140;
	expect_open_fails(&po, GP_EINVAL, "vram_budget_pct 140");
	gp_pager_options_init(&po);
	po.vram_budget = 64u << 20;
	po.vram_budget_pct = 10;
	expect_open_fails(&po, GP_EINVAL, "not both");
	gp_pager_options_init(&po);
	po.load_all = 7;
	expect_open_fails(&po, GP_EINVAL, "load_all is 7");
	gp_pager_options_init(&po);
	po.policy = "fifo";
	expect_open_fails(&po, GP_EINVAL, "fifo");
}

/*
 * The options' strings belong to the caller: a pager opened with them in a
 * buffer that is then overwritten still opens models with what was given.
 * Before the copy, static read the scribbled text at model open.
 */
Test(abi, option_strings_are_copied_at_open)
{
	struct gp_test_pager t;
	struct gp_pager_options po;
	struct gp_pager *p;
	struct gp_model *m;
	char *blocks = strdup("0-1"), *policy = strdup("static");
	struct gp_pager_stats s = { .struct_size = sizeof(s) };

	gp_test_pager_open(&t, "auto", 0);
	gp_pager_options_init(&po);
	po.policy = policy;
	po.swap_blocks = blocks;
	po.vram_budget = 64u << 20;
	po.host_budget = 64u << 20;
	cr_assert_eq(gp_pager_open(&po, &p), 0, "%s", gp_last_error());
	memset(blocks, 'x', strlen(blocks));
	memset(policy, 'x', strlen(policy));
	free(blocks);
	free(policy);
	cr_assert_eq(gp_model_open(p, t.dir, &m), 0, "%s", gp_last_error());
	for (uint32_t g = 0; g < gp_model_group_count(m); g++) {
		cr_assert_eq(gp_acquire_group(m, g, NULL), 0, "%s", gp_last_error());
		cr_assert_eq(gp_release_group(m, g, NULL), 0, "%s", gp_last_error());
	}
	cr_assert_eq(gp_pager_get_stats(p, &s), 0, "%s", gp_last_error());
	cr_assert_gt(s.chunk_misses, 0);
	gp_model_close(m);
	gp_pager_close(p);
	gp_test_pager_close(&t);
}

/* Two pagers: each reports its own counters; the process total is their sum. */
Test(abi, counters_are_per_pager_with_a_process_total)
{
	struct gp_test_pager a, b;
	struct gp_pager_stats sa = { .struct_size = sizeof(sa) }, sb = { .struct_size = sizeof(sb) };
	struct gp_pager_stats total = { .struct_size = sizeof(total) };

	cr_assert_eq(gp_process_get_stats(&total), GP_ENOENT);
	gp_test_pager_open(&a, "lru", 0);
	gp_test_pager_open(&b, "lru", 0);
	cr_assert_eq(gp_test_check_pass(&a), 0);
	cr_assert_eq(gp_test_check_pass(&a), 0);
	cr_assert_eq(gp_test_check_pass(&b), 0);
	cr_assert_eq(gp_pager_get_stats(a.p, &sa), 0, "%s", gp_last_error());
	cr_assert_eq(gp_pager_get_stats(b.p, &sb), 0, "%s", gp_last_error());
	cr_assert_eq(gp_process_get_stats(&total), 0, "%s", gp_last_error());
	cr_assert_eq(sa.hits + sa.misses, 2 * (sb.hits + sb.misses), "a made twice b's acquires");
	cr_assert_eq(sa.bytes_h2d, sb.bytes_h2d, "both loaded the whole model once");
	cr_assert_eq(total.hits, sa.hits + sb.hits);
	cr_assert_eq(total.misses, sa.misses + sb.misses);
	cr_assert_eq(total.bytes_h2d, sa.bytes_h2d + sb.bytes_h2d);
	cr_assert_eq(total.vram_used, sa.vram_used + sb.vram_used);
	gp_test_pager_close(&b);
	gp_test_pager_close(&a);
}

Test(abi, version_check)
{
	cr_assert_eq(GP_CHECK_VERSION(), 0, "%s", gp_last_error());
	cr_assert_str_eq(gp_version(), GP_VERSION_STRING);
	cr_assert_eq(gp_check_version(GP_VERSION_NUMBER & ~0xffu), 0, "patch 0 of this minor");
	cr_assert_eq(gp_check_version(GP_VERSION_NUMBER + 1), GP_EUNSUPPORTED, "a newer patch");
	cr_assert(strstr(gp_last_error(), GP_VERSION_STRING), "%s", gp_last_error());
	cr_assert_eq(gp_check_version(GP_VERSION_NUMBER + (1u << 8)), GP_EUNSUPPORTED);
	cr_assert_eq(gp_check_version(GP_VERSION_NUMBER + (1u << 16)), GP_EUNSUPPORTED);
	/* While the major is 0, an older minor may have had another ABI. */
	cr_assert_eq(gp_check_version(GP_VERSION_NUMBER - (1u << 8)), GP_EUNSUPPORTED);
}

/* The shared library exports the API, versioned, and none of the internals. */
Test(abi, shared_library_exports_only_the_versioned_api)
{
	void *h = dlopen(GP_BUILD_DIR "/lib/libgpupager.so", RTLD_NOW | RTLD_LOCAL);

	cr_assert_not_null(h, "%s", dlerror());
	cr_assert_not_null(dlvsym(h, "gp_pager_open", "GPUPAGER_0.3"), "%s", dlerror());
	cr_assert_not_null(dlvsym(h, "gp_check_version", "GPUPAGER_0.3"), "%s", dlerror());
	cr_assert_null(dlsym(h, "gp_fail"), "an internal function is exported");
	cr_assert_null(dlsym(h, "gp_res_take_chunk"), "an internal function is exported");
	dlclose(h);
}

/* README.md's table of codes says what gp_strerror says, for every code. */
Test(abi, readme_error_table_matches_the_codes)
{
	FILE *f = fopen(GP_SOURCE_DIR "/README.md", "r");
	static char text[1 << 20];
	size_t n;

	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	for (int code = -1; code >= GP_ERROR_MIN; code--) {
		char row[256];

		snprintf(row, sizeof(row), "| `%s` | %d | %s |", gp_error_name(code), code,
			 gp_strerror(code));
		cr_expect(strstr(text, row), "README.md lacks the row %s", row);
	}
}

/* An older caller's options are shorter: init writes only its bytes, and open accepts them. */
Test(abi, options_init_stays_within_an_older_callers_struct)
{
	size_t v1 = offsetof(struct gp_pager_options, load_all) + sizeof(int);
	unsigned char buf[sizeof(struct gp_pager_options) + 32];
	struct gp_pager_options *old = (void *)buf;
	struct gp_pager *p;

	gp_test_cuda_env();
	memset(buf, 0xa5, sizeof(buf));
	gp_pager_options_init_size(old, v1);
	cr_assert_eq(old->struct_size, v1);
	for (size_t i = v1; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0xa5, "byte %zu past the caller's struct was written", i);
	old->vram_budget = 64u << 20;
	old->host_budget = 64u << 20;
	cr_assert_eq(gp_pager_open(old, &p), 0, "%s", gp_last_error());
	gp_pager_close(p);
}
