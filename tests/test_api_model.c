/*
 * test_api_model.c - the public model calls tools are built on: a model
 * described without a pager (layout only, device calls refused), and
 * device-side verification of groups against their files, which must
 * report a byte changed behind the pager's back.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>

#include "common/pager_fixture.h"
#include "gpupager.h"

Test(api_model, described_without_a_pager)
{
	struct gp_test_pager t;
	struct gp_model *m;
	struct gp_tensor_info ti = { .struct_size = sizeof(ti) }, dev = { .struct_size = sizeof(dev) };
	struct gp_group_info gi = { .struct_size = sizeof(gi) };
	struct gp_file_info fi = { .struct_size = sizeof(fi) };
	struct gp_verify_result vr = { .struct_size = sizeof(vr) };
	uint64_t tensor_bytes = 0, offset;
	uint32_t file;
	struct stat st;

	gp_test_pager_open(&t, "auto", 0);
	cr_assert_eq(gp_model_open(NULL, t.dir, &m), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_tensor_count(m), gp_model_tensor_count(t.m));
	cr_assert_eq(gp_model_group_count(m), gp_model_group_count(t.m));
	cr_assert_eq(gp_model_device_size(m), gp_model_device_size(t.m), "same layout");
	for (uint32_t i = 0; i < gp_model_tensor_count(m); i++) {
		cr_assert_eq(gp_model_tensor_at(m, i, &ti), 0, "%s", gp_last_error());
		cr_assert_eq(gp_model_tensor_at(t.m, i, &dev), 0, "%s", gp_last_error());
		cr_assert_str_eq(ti.name, dev.name);
		cr_assert_eq(ti.range_offset, dev.range_offset);
		cr_assert_eq(ti.device_ptr, 0, "%s has a device address without a device", ti.name);
		cr_assert_eq(gp_model_tensor_location(m, i, &file, &offset), 0, "%s", gp_last_error());
		cr_assert_eq(gp_model_file_info(m, file, &fi), 0, "%s", gp_last_error());
		cr_assert_eq(stat(fi.path, &st), 0, "%s", fi.path);
		cr_assert_leq(offset + ti.nbytes, (uint64_t)st.st_size, "%s lies past its file", ti.name);
		tensor_bytes += ti.nbytes;
	}
	cr_assert_eq(gp_model_tensor_bytes(m), tensor_bytes);
	cr_assert_eq(gp_model_group_info(m, 0, &gi), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_group_find(m, gi.name), 0);
	cr_assert_eq(gi.resident_chunks, 0);
	/* Nothing that needs a device works, and each says why. */
	cr_assert_eq(gp_acquire_group(m, 0, NULL), GP_ESTATE);
	cr_assert_neq(gp_last_error()[0], '\0');
	cr_assert_eq(gp_release_group(m, 0, NULL), GP_ESTATE);
	cr_assert_eq(gp_hint_prefetch(m, 0), GP_ESTATE);
	cr_assert_eq(gp_model_offload(m, "k"), GP_ESTATE);
	cr_assert_eq(gp_model_verify_group(m, 0, NULL), GP_ESTATE);
	cr_assert_eq(gp_model_verify_collect(m, NULL, &vr), GP_ESTATE);
	gp_model_close(m);
	gp_test_pager_close(&t);
}

static void verify_group(struct gp_test_pager *t, uint32_t g, struct gp_verify_result *vr)
{
	cr_assert_eq(gp_acquire_group(t->m, g, NULL), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_verify_group(t->m, g, NULL), 0, "%s", gp_last_error());
	cr_assert_eq(gp_release_group(t->m, g, NULL), 0, "%s", gp_last_error());
	vr->struct_size = sizeof(*vr);
	cr_assert_eq(gp_model_verify_collect(t->m, NULL, vr), 0, "%s", gp_last_error());
}

/* On the simulator device memory is host memory: a byte can be changed behind the pager. */
Test(api_model, verify_reports_a_changed_byte)
{
	struct gp_test_pager t;
	struct gp_verify_result vr;
	struct gp_group_info gi = { .struct_size = sizeof(gi) };
	struct gp_tensor_info ti = { .struct_size = sizeof(ti) };
	uint32_t g = 1, victim = UINT32_MAX;

	gp_test_pager_open(&t, "auto", 0);
	cr_assert_eq(gp_model_group_info(t.m, g, &gi), 0, "%s", gp_last_error());
	verify_group(&t, g, &vr);
	cr_assert_eq(vr.tensors_checked, gi.n_tensors);
	cr_assert_eq(vr.mismatches, 0, "first: %s", vr.first_mismatch);
	cr_assert_null(vr.first_mismatch);
	for (uint32_t i = 0; i < gp_model_tensor_count(t.m) && victim == UINT32_MAX; i++) {
		cr_assert_eq(gp_model_tensor_at(t.m, i, &ti), 0);
		if (ti.group == g && ti.nbytes >= 8)
			victim = i;
	}
	cr_assert_neq(victim, UINT32_MAX);
	cr_assert_eq(gp_acquire_group(t.m, g, NULL), 0, "%s", gp_last_error());
	((volatile unsigned char *)(uintptr_t)ti.device_ptr)[ti.nbytes / 2] ^= 0x40;
	cr_assert_eq(gp_release_group(t.m, g, NULL), 0);
	verify_group(&t, g, &vr);
	cr_assert_eq(vr.tensors_checked, gi.n_tensors);
	cr_assert_eq(vr.mismatches, 1);
	cr_assert_str_eq(vr.first_mismatch, ti.name);
	gp_test_pager_close(&t);
}

Test(api_model, verify_needs_a_sized_result)
{
	struct gp_test_pager t;
	struct gp_verify_result vr;

	gp_test_pager_open(&t, "auto", 0);
	memset(&vr, 0, sizeof(vr));
	cr_assert_eq(gp_model_verify_collect(t.m, NULL, &vr), GP_EINVAL);
	cr_assert(strstr(gp_last_error(), "struct_size"), "%s", gp_last_error());
	gp_test_pager_close(&t);
}

/*
 * A group released on stream A while A's work on it still runs, then
 * acquired and released on stream B: evicting it must wait for A's work
 * too (one last-use event covers both), or the checksum kernel queued on
 * A after a delay reads unmapped memory.
 */
Test(api_model, eviction_waits_for_a_use_released_earlier_on_another_stream)
{
	struct gp_test_pager t;
	struct gp_verify_result vr = { .struct_size = sizeof(vr) };
	struct gp_group_info gi = { .struct_size = sizeof(gi) };
	uint32_t g = 1, h = 2, k = 3;
	gp_stream_t a, b;

	gp_test_pager_open(&t, "lru", 0);
	for (uint32_t i = g; i <= k; i++) {
		cr_assert_eq(gp_model_group_info(t.m, i, &gi), 0, "%s", gp_last_error());
		cr_assert_eq(gi.total_chunks, 1, "group %u: %u chunks", i, gi.total_chunks);
	}
	cr_assert_eq(gp_model_group_info(t.m, g, &gi), 0, "%s", gp_last_error());
	cr_assert_eq(gp_pager_stream_create(t.p, &a), 0, "%s", gp_last_error());
	cr_assert_eq(gp_pager_stream_create(t.p, &b), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_verify_prepare(t.m), 0, "%s", gp_last_error());
	cr_assert_eq(gp_acquire_group(t.m, g, a), 0, "%s", gp_last_error());
	cr_assert_eq(gp_pager_stream_delay(t.p, a, 300000000), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_verify_group(t.m, g, a), 0, "%s", gp_last_error());
	cr_assert_eq(gp_release_group(t.m, g, a), 0, "%s", gp_last_error());
	cr_assert_eq(gp_acquire_group(t.m, g, b), 0, "%s", gp_last_error());
	cr_assert_eq(gp_release_group(t.m, g, b), 0, "%s", gp_last_error());
	/* Four chunks: the fixture's and the verify results, h and k; g is evicted. */
	cr_assert_eq(gp_pager_set_vram_budget(t.p, 4 * gp_model_chunk_size(t.m)), 0, "%s",
		     gp_last_error());
	cr_assert_eq(gp_acquire_group(t.m, h, NULL), 0, "%s", gp_last_error());
	cr_assert_eq(gp_acquire_group(t.m, k, NULL), 0, "%s", gp_last_error());
	cr_assert_eq(gp_release_group(t.m, k, NULL), 0, "%s", gp_last_error());
	cr_assert_eq(gp_release_group(t.m, h, NULL), 0, "%s", gp_last_error());
	cr_assert_eq(gp_model_verify_collect(t.m, a, &vr), 0, "%s", gp_last_error());
	cr_expect_eq(vr.tensors_checked, gi.n_tensors);
	cr_expect_eq(vr.mismatches, 0, "first: %s", vr.first_mismatch ? vr.first_mismatch : "-");
	gp_pager_stream_destroy(t.p, a);
	gp_pager_stream_destroy(t.p, b);
	gp_test_pager_close(&t);
}
