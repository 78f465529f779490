/* test_parse.c - sizes, budgets, dtypes, error names and the checksum. */
#include <criterion/criterion.h>
#include <string.h>

#include "gpupager.h"

Test(parse_size, accepted_forms)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} cases[] = {
		{ "0", 0 },           { "123", 123 },          { "1K", 1024 },
		{ "512M", 512ull << 20 }, { "8G", 8ull << 30 }, { "8GiB", 8ull << 30 },
		{ "8gb", 8ull << 30 }, { "2t", 2ull << 40 },    { "7B", 7 },
		{ "16777215T", 16777215ull << 40 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 1;
		cr_assert_eq(gp_parse_size(cases[i].text, &v), 0, "%s: %s", cases[i].text,
			     gp_last_error());
		cr_assert_eq(v, cases[i].bytes, "%s", cases[i].text);
	}
}

Test(parse_size, rejected_forms)
{
	static const char *bad[] = { "", "G", "-1", " 1", "1 G", "1.5G", "12Q", "0x10", "1GG" };
	uint64_t v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(gp_parse_size(bad[i], &v), GP_EINVAL, "'%s' accepted", bad[i]);
		cr_assert(strstr(gp_last_error(), "Invalid size"), "%s", gp_last_error());
	}
	cr_assert_eq(v, 42, "output written on failure");
}

Test(parse_size, overflow)
{
	uint64_t v;

	cr_assert_eq(gp_parse_size("16777215T", &v), 0);
	cr_assert_eq(gp_parse_size("16777216T", &v), GP_ERANGE);
	cr_assert_eq(gp_parse_size("18446744073709551616", &v), GP_ERANGE);
}

Test(parse_budget, sizes_and_percentages)
{
	uint64_t bytes;
	double pct;

	cr_assert_eq(gp_parse_budget("40%", &bytes, &pct), 0);
	cr_assert_eq(bytes, 0);
	cr_assert_float_eq(pct, 40.0, 1e-9);
	cr_assert_eq(gp_parse_budget("12.5%", &bytes, &pct), 0);
	cr_assert_float_eq(pct, 12.5, 1e-9);
	cr_assert_eq(gp_parse_budget("6G", &bytes, &pct), 0);
	cr_assert_eq(bytes, 6ull << 30);
	cr_assert_eq(pct, 0.0);
	cr_assert_eq(gp_parse_budget("0%", &bytes, &pct), GP_ERANGE);
	cr_assert_eq(gp_parse_budget("101%", &bytes, &pct), GP_ERANGE);
	cr_assert_eq(gp_parse_budget("%", &bytes, &pct), GP_EINVAL);
	cr_assert_eq(gp_parse_budget("4x%", &bytes, &pct), GP_EINVAL);
	cr_assert_eq(gp_parse_budget("-5%", &bytes, &pct), GP_EINVAL);
}

Test(dtype, names_sizes_round_trip)
{
	/* Bits as the reference's Dtype::bitsize(); sub-byte types have size 0. */
	static const size_t bits[GP_DTYPE_COUNT] = { 8, 8, 8, 16, 16, 32, 32, 64, 64, 16, 16,
						     32, 64, 8, 8, 8, 4, 6, 6, 8, 8, 64 };

	cr_assert_eq(GP_DTYPE_COUNT, 22);
	for (int i = 0; i < GP_DTYPE_COUNT; i++) {
		enum gp_dtype d;
		cr_assert_eq(gp_dtype_bits((enum gp_dtype)i), bits[i], "%s", gp_dtype_name(i));
		cr_assert_eq(gp_dtype_size((enum gp_dtype)i), bits[i] % 8 ? 0 : bits[i] / 8);
		cr_assert_eq(gp_dtype_parse(gp_dtype_name((enum gp_dtype)i), &d), 0);
		cr_assert_eq(d, (enum gp_dtype)i);
	}
	cr_assert_null(gp_dtype_name(GP_DTYPE_COUNT));
	cr_assert_eq(gp_dtype_size(GP_DTYPE_COUNT), 0);
	cr_assert_eq(gp_dtype_bits(GP_DTYPE_COUNT), 0);
}

Test(dtype, unknown_is_unsupported)
{
	enum gp_dtype d;

	cr_assert_eq(gp_dtype_parse("F2", &d), GP_EUNSUPPORTED);
	cr_assert_str_eq(gp_last_error(), "unsupported dtype 'F2'");
	cr_assert_eq(gp_dtype_parse("f32", &d), GP_EUNSUPPORTED, "dtype names are case-sensitive");
}

Test(errors, every_code_has_a_name_and_text)
{
	for (int code = 0; code >= GP_ERROR_MIN; code--) {
		cr_assert_str_neq(gp_error_name(code), "GP_E?", "code %d", code);
		cr_assert_str_neq(gp_strerror(code), "unknown error", "code %d", code);
	}
	cr_assert_str_eq(gp_strerror(GP_ERROR_MIN - 1), "unknown error");
	cr_assert_str_eq(gp_error_name(GP_EFORMAT), "GP_EFORMAT");
}

Test(checksum, pieces_add_up)
{
	unsigned char buf[1000];
	uint64_t whole, split;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	whole = gp_checksum(buf, sizeof(buf));
	split = gp_checksum_at(buf, 504, 0) + gp_checksum_at(buf + 504, sizeof(buf) - 504, 504);
	cr_assert_eq(whole, split);
	/* Position matters: swapping two words changes the sum. */
	memcpy(buf, buf + 8, 8);
	cr_assert_neq(gp_checksum(buf, sizeof(buf)), whole);
}

Test(checksum, trailing_bytes_count)
{
	unsigned char a[13] = { 0 }, b[13] = { 0 };

	b[12] = 1;
	cr_assert_neq(gp_checksum(a, sizeof(a)), gp_checksum(b, sizeof(b)));
	cr_assert_eq(gp_checksum(a, 0), 0);
}

/* Strict UTF-8: the shortest form, no surrogates, nothing past U+10FFFF, within the bytes given. */
Test(utf8, char_len_is_strict)
{
	cr_assert_eq(gp_utf8_char_len("a", 1), 1);
	cr_assert_eq(gp_utf8_char_len("\xc3\xa9", 2), 2);
	cr_assert_eq(gp_utf8_char_len("\xe2\x82\xac", 3), 3);
	cr_assert_eq(gp_utf8_char_len("\xf0\x9f\x98\x80", 4), 4);
	cr_assert_eq(gp_utf8_char_len("\xc3\xa9", 1), 0, "cut short");
	cr_assert_eq(gp_utf8_char_len("\xc0\xaf", 2), 0, "overlong 2-byte");
	cr_assert_eq(gp_utf8_char_len("\xe0\x80\xaf", 3), 0, "overlong 3-byte");
	cr_assert_eq(gp_utf8_char_len("\xed\xa0\x80", 3), 0, "surrogate");
	cr_assert_eq(gp_utf8_char_len("\xf4\x90\x80\x80", 4), 0, "above U+10FFFF");
	cr_assert_eq(gp_utf8_char_len("\x80", 1), 0, "lone continuation");
	cr_assert_eq(gp_utf8_char_len("\xe2\x82", 3), 0, "NUL where a continuation belongs");
	cr_assert_eq(gp_utf8_char_len("", 0), 0);
}

Test(utf8, sanitize_replaces_only_bad_bytes)
{
	char text[] = "ok-\xc3\xa9-\xff-\xed\xa0\x80-\xe2\x82\xac";

	cr_assert_eq(gp_utf8_sanitize(text), 4);
	cr_assert_str_eq(text, "ok-\xc3\xa9-?-?" "?" "?-\xe2\x82\xac");
}
