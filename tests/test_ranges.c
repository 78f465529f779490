/* test_ranges.c - the block range grammar "0-5,7,9-11" and its exact error messages. */
#include <criterion/criterion.h>
#include <string.h>

#include "gpupager.h"

static struct gp_ranges *parse_ok(const char *text)
{
	struct gp_ranges *r = NULL;
	int err = gp_ranges_parse(text, &r);

	cr_assert_eq(err, 0, "'%s' failed: %s", text, gp_last_error());
	cr_assert_not_null(r);
	return r;
}

static void expect_error(const char *text, const char *message)
{
	struct gp_ranges *r = (struct gp_ranges *)0x1;

	cr_assert_eq(gp_ranges_parse(text, &r), GP_EINVAL, "'%s' was accepted", text);
	cr_assert_eq(r, (struct gp_ranges *)0x1, "output written on failure");
	cr_assert_str_eq(gp_last_error(), message);
}

Test(ranges, mixed_list)
{
	struct gp_ranges *r = parse_ok("0-5,7,9-11");
	uint64_t s, e;

	for (uint64_t i = 0; i <= 12; i++) {
		int expected = i <= 5 || i == 7 || (i >= 9 && i <= 11);
		cr_assert_eq(gp_ranges_contains(r, i), expected, "index %lu", (unsigned long)i);
	}
	cr_assert_eq(gp_ranges_count(r), 3);
	gp_ranges_get(r, 2, &s, &e);
	cr_assert_eq(s, 9);
	cr_assert_eq(e, 11);
	gp_ranges_free(r);
}

Test(ranges, merges_overlaps_and_neighbours_in_any_order)
{
	struct gp_ranges *r = parse_ok("20-39, 3, 0-2,10-25");
	uint64_t s, e;

	cr_assert_eq(gp_ranges_count(r), 2);
	gp_ranges_get(r, 0, &s, &e);
	cr_assert(s == 0 && e == 3);
	gp_ranges_get(r, 1, &s, &e);
	cr_assert(s == 10 && e == 39);
	gp_ranges_free(r);
}

Test(ranges, single_value_range)
{
	struct gp_ranges *r = parse_ok("4-4");

	cr_assert(gp_ranges_contains(r, 4));
	cr_assert_not(gp_ranges_contains(r, 3));
	cr_assert_not(gp_ranges_contains(r, 5));
	gp_ranges_free(r);
}

Test(ranges, invalid_integers)
{
	expect_error("a", "Invalid integer: 'a'");
	expect_error("1,x,3", "Invalid integer: 'x'");
	expect_error("1,,3", "Invalid integer: ''");
	expect_error("", "Invalid integer: ''");
	expect_error("1,", "Invalid integer: ''");
	expect_error("+3", "Invalid integer: '+3'");
	expect_error("1.5", "Invalid integer: '1.5'");
	expect_error("99999999999999999999", "Invalid integer: '99999999999999999999'");
}

Test(ranges, invalid_ranges)
{
	expect_error("5-3", "Invalid range: '5-3'");
	expect_error("0-5,-3", "Invalid range: '-3'");
	expect_error("1-", "Invalid range: '1-'");
	expect_error("1-2-3", "Invalid range: '1-2-3'");
	expect_error("a-b", "Invalid range: 'a-b'");
	expect_error(" 7 - x ", "Invalid range: '7 - x'");
}
