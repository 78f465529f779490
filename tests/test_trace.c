/*
 * test_trace.c - the trace reader: v2 and v1 accepted, and every kind of
 * bad trace (truncated, wrong version, out of order, unknown model, bad
 * fields) refused with a message naming the line and the problem.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpupager.h"
#include "trace.h"

/* The header and a 2-group, 3-chunk layout of model 0 with its true fingerprint. */
static char *header(void)
{
	struct gp_fp fp;
	char *s;

	gp_fp_init(&fp, 1 << 20, 3, 2);
	gp_fp_group(&fp, "embed", 0, 1);
	gp_fp_group(&fp, "blocks.0", 1, 2);
	cr_assert(asprintf(&s, "# gpupager trace v2\n"
			   "model 0 1048576 3 2 3145728 %016llx /models/a\\x20b\n"
			   "group 0 0 0 1 1000 -1 embed\n"
			   "group 0 1 1 2 2000000 0 blocks.0\n",
			   (unsigned long long)gp_fp_done(&fp)) > 0);
	return s;
}

static int parse(const char *body, struct gp_trace **t)
{
	char *h = header(), *all;
	int err;

	cr_assert(asprintf(&all, "%s%s", h, body) > 0);
	err = gp_trace_parse(all, strlen(all), "t.trace", t);
	free(h);
	free(all);
	return err;
}

static void expect_bad(const char *body, int code, const char *line, const char *text)
{
	struct gp_trace *t = NULL;
	int err = parse(body, &t);

	cr_expect_eq(err, code, "%s: got %s (%s)", body, gp_error_name(err), gp_last_error());
	cr_expect_null(t);
	cr_expect(strstr(gp_last_error(), line), "'%s' not in '%s'", line, gp_last_error());
	cr_expect(strstr(gp_last_error(), text), "'%s' not in '%s'", text, gp_last_error());
}

Test(trace, v2_accepted_with_layout_and_counts)
{
	struct gp_trace *t;
	struct gp_trace_info ti = { .struct_size = sizeof(ti) };
	struct gp_trace_model_info mi = { .struct_size = sizeof(mi) };
	struct gp_trace_group_info gi = { .struct_size = sizeof(gi) };

	cr_assert_eq(parse("note 5 link_gbps 12.5\nnote 5 compute_ns_per_step 1e6\n"
			   "a 10 0 0 0 1 7f00 1 1048576 1000\nr 11 0 0 0 1 7f00\n"
			   "a 12 0 1 1 2 0 2 2097152 0\nr 12 0 1 1 2 0\nend 20\n", &t), 0, "%s",
		     gp_last_error());
	cr_assert_eq(gp_trace_get_info(t, &ti), 0);
	cr_expect_eq(ti.version, 2);
	cr_expect_eq(ti.complete, 1);
	cr_expect_eq(ti.n_acquires, 2);
	cr_expect_eq(ti.n_releases, 2);
	cr_expect_eq(ti.duration_ns, 15);
	cr_expect_float_eq(ti.link_gbps, 12.5, 1e-9);
	cr_expect_float_eq(ti.compute_ns_per_step, 1e6, 1e-3);
	cr_assert_eq(gp_trace_model(t, 0, &mi), 0);
	cr_expect_str_eq(mi.source, "/models/a b");
	cr_expect_eq(mi.n_chunks, 3);
	cr_expect_eq(mi.h2d_bytes, 3 << 20);
	cr_expect_eq(mi.disk_bytes, 1000);
	cr_expect_eq(mi.loaded_chunks, 3);
	cr_assert_eq(gp_trace_group(t, 0, 1, &gi), 0);
	cr_expect_str_eq(gi.name, "blocks.0");
	cr_expect_eq(gi.first_chunk, 1);
	cr_expect_eq(gi.chunk_count, 2);
	cr_expect_eq(gi.block_index, 0);
	cr_expect_eq(gp_trace_group(t, 0, 2, &gi), GP_ENOENT);
	cr_expect_eq(gp_trace_model(t, 1, &mi), GP_ENOENT);
	gp_trace_free(t);
	/* No end line: readable, not complete. */
	cr_assert_eq(parse("a 10 0 0 0 1 0 1 0 0\n", &t), 0, "%s", gp_last_error());
	gp_trace_get_info(t, &ti);
	cr_expect_eq(ti.complete, 0);
	gp_trace_free(t);
}

Test(trace, v1_read)
{
	const char *v1 = "# gpupager trace v1: ns model group name offset length\n"
			 "5 /m/with space 0 embed 0 2097152\n"
			 "9 /m/with space 2 blocks.1 6291456 4194304\n"
			 "12 /m/with space 0 embed 0 2097152\n";
	struct gp_trace *t;
	struct gp_trace_model_info mi = { .struct_size = sizeof(mi) };
	struct gp_trace_group_info gi = { .struct_size = sizeof(gi) };

	cr_assert_eq(gp_trace_parse(v1, strlen(v1), "v1", &t), 0, "%s", gp_last_error());
	cr_assert_eq(gp_trace_model(t, 0, &mi), 0);
	cr_expect_str_eq(mi.source, "/m/with space");
	cr_expect_eq(mi.chunk_size, 2 << 20);
	cr_expect_eq(mi.n_groups, 3);
	cr_expect_eq(mi.n_chunks, 5);
	cr_expect_eq(mi.n_acquires, 3);
	cr_assert_eq(gp_trace_group(t, 0, 1, &gi), 0);
	cr_expect_eq(gi.chunk_count, 0, "group 1 was never accessed: unknown");
	cr_assert_eq(gp_trace_group(t, 0, 2, &gi), 0);
	cr_expect_eq(gi.first_chunk, 3);
	cr_expect_eq(gi.chunk_count, 2);
	gp_trace_free(t);
}

Test(trace, bad_versions)
{
	struct gp_trace *t;
	const char *v3 = "# gpupager trace v3\n", *junk = "hello\n", *v9x = "# gpupager trace v9x\n";

	cr_expect_eq(gp_trace_parse(v3, strlen(v3), "n.trace", &t), GP_EUNSUPPORTED);
	cr_expect(strstr(gp_last_error(), "n.trace:1: trace format v3 is newer"), "%s",
		  gp_last_error());
	cr_expect_eq(gp_trace_parse(junk, strlen(junk), "j", &t), GP_EFORMAT);
	cr_expect(strstr(gp_last_error(), "j:1: not a gpupager trace"), "%s", gp_last_error());
	cr_expect_eq(gp_trace_parse(v9x, strlen(v9x), "j", &t), GP_EFORMAT);
	cr_expect_eq(gp_trace_parse("", 0, "e", &t), GP_EFORMAT);
	cr_expect(strstr(gp_last_error(), "e:1: empty file"), "%s", gp_last_error());
	cr_expect_eq(gp_trace_parse("# gpupager trace v2", 19, "h", &t), GP_EFORMAT);
	cr_expect(strstr(gp_last_error(), "h:1: truncated"), "%s", gp_last_error());
}

Test(trace, bad_lines_name_the_line)
{
	/* The header is 4 lines: the body starts at line 5. */
	expect_bad("a 10 0 0 0 1 0 1 0 0\na 9 0 1 1 2 0 0 0 0\n", GP_EFORMAT, "t.trace:6:",
		   "out of order");
	expect_bad("a 10 1 0 0 1 0 1 0 0\n", GP_EFORMAT, "t.trace:5:", "unknown model 1");
	expect_bad("a 10 0 0 0 1 0 1 0 0\na 11 0 1 1 2", GP_EFORMAT, "t.trace:6:", "truncated");
	expect_bad("a 10 0 5 0 1 0 1 0 0\n", GP_EFORMAT, "t.trace:5:", "group 5 out of range");
	expect_bad("a 10 0 1 0 2 0 0 0 0\n", GP_EFORMAT, "t.trace:5:", "not inside group 1");
	expect_bad("a 10 0 0 0 1 0 2 0 0\n", GP_EFORMAT, "t.trace:5:", "2 chunks loaded of the 1");
	expect_bad("a 10 0 0 0 1 0 1 0\n", GP_EFORMAT, "t.trace:5:", "9 fields, expected 10");
	expect_bad("a x 0 0 0 1 0 1 0 0\n", GP_EFORMAT, "t.trace:5:", "time 'x' is not a decimal");
	expect_bad("a 10  0 0 0 1 0 1 0 0\n", GP_EFORMAT, "t.trace:5:", "empty field");
	expect_bad("a 99999999999999999999 0 0 0 1 0 1 0 0\n", GP_EFORMAT, "t.trace:5:",
		   "not a decimal");
	expect_bad("zap 1\n", GP_EFORMAT, "t.trace:5:", "unknown record 'zap'");
	expect_bad("\n", GP_EFORMAT, "t.trace:5:", "empty line");
	expect_bad("end 5\na 10 0 0 0 1 0 1 0 0\n", GP_EFORMAT, "t.trace:6:", "after the end");
	expect_bad("note 1 link_gbps -3\n", GP_EFORMAT, "t.trace:5:", "not a non-negative");
	expect_bad("group 0 2 0 1 0 -1 x\n", GP_EFORMAT, "t.trace:5:", "model 0 already has its 2 "
		   "groups");
	expect_bad("model 0 1048576 1 1 1048576 0 x\n", GP_EFORMAT, "t.trace:5:",
		   "model 0 declared out of order: expected model 1");
}

Test(trace, bad_layouts)
{
	struct gp_trace *t;
	const char *cases[][2] = {
		{ "# gpupager trace v2\nmodel 0 1048576 3 2 3145728 0 m\ngroup 0 0 0 1 0 -1 a\n"
		  "a 1 0 0 0 1 0 0 0 0\n", "4: model 0's layout is truncated: 1 of its 2" },
		{ "# gpupager trace v2\nmodel 0 1048576 3 2 3145728 0 m\ngroup 0 0 0 1 0 -1 a\n",
		  "truncated: model 0's layout has 1 of its 2" },
		{ "# gpupager trace v2\nmodel 0 1048576 1 1 1048576 0 m\ngroup 0 0 0 1 0 -1 a\n",
		  "3: model 0: the layout does not match its fingerprint" },
		{ "# gpupager trace v2\nmodel 0 1000 1 1 1000 0 m\n", "2: chunk size 1000" },
		{ "# gpupager trace v2\nmodel 0 1048576 2 1 1048576 0 m\n", "2: model 0: range size" },
		{ "# gpupager trace v2\nmodel 0 1048576 2 3 2097152 0 m\n", "2: model 0: 2 chunks and 3" },
		{ "# gpupager trace v2\nmodel 0 1048576 2 1 2097152 0 m\ngroup 0 0 1 2 0 -1 a\n",
		  "3: group 0 covers chunks [1, +2)" },
		{ "# gpupager trace v2\nmodel 0 1048576 2 1 2097152 0 bad\\x0\n", "2: model 0: bad escape" },
		{ "# gpupager trace v2\ngroup 0 0 0 1 0 -1 a\n", "2: group line for model 0" },
		{ "# gpupager trace v2\nmodel 0 1048576 3 2 3145728 0 m\ngroup 0 1 0 1 0 -1 a\n",
		  "3: group 1 of model 0 out of order: expected group 0" },
		{ "# gpupager trace v1\n5 /m 0 a 0 2097152\n6 /m 0 a 0 4194304\n", "3: group 0 changed" },
		{ "# gpupager trace v1\n5 /m 0 a 0 4194304\n6 /m 1 b 2097152 2097152\n",
		  "3: group 1's chunks [1, +1) overlap group 0's" },
		{ "# gpupager trace v1\n5 /m 0\n", "2: a v1 line has the fields" },
		{ "# gpupager trace v1\n5 /m 1 b 0 2097152\n6 /m 0 a 4194304 2097152\n",
		  "3: group 0 at chunk 2 is out of order with group 1 at chunk 0" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = gp_trace_parse(cases[i][0], strlen(cases[i][0]), "b", &t);

		cr_expect_eq(err, GP_EFORMAT, "case %zu: %s", i, gp_error_name(err));
		cr_expect(strstr(gp_last_error(), cases[i][1]), "case %zu: '%s' not in '%s'", i,
			  cases[i][1], gp_last_error());
	}
}

Test(trace, read_errors)
{
	struct gp_trace *t;

	cr_expect_eq(gp_trace_read("/nonexistent/x.trace", &t), GP_ENOENT);
	cr_expect(strstr(gp_last_error(), "/nonexistent/x.trace"), "%s", gp_last_error());
	cr_expect_eq(gp_trace_read("/tmp", &t), GP_EIO);
	cr_expect_eq(gp_trace_parse(NULL, 3, "x", &t), GP_EINVAL);
}

/* The escaping round trip: every byte but NUL. */
Test(trace, escape_round_trip)
{
	char in[256], *out;
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	for (int i = 1; i < 256; i++)
		in[i - 1] = (char)i;
	in[255] = '\0';
	gp_trace_put_escaped(f, in);
	fclose(f);
	cr_expect_null(memchr(buf, ' ', len));
	cr_expect_null(memchr(buf, '\n', len));
	out = gp_trace_unescape(buf, len);
	cr_assert(out);
	cr_expect_str_eq(out, in);
	free(out);
	free(buf);
	cr_expect_null(gp_trace_unescape("a\\x", 3));
	cr_expect_null(gp_trace_unescape("a\\xzz", 5));
}
