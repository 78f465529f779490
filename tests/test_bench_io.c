/*
 * test_bench_io.c - `gpupager bench load` and `bench fault` on small
 * generated models: their --json output has every field, every run read
 * exactly the model's tensor data (byte count), and every run's checksum
 * equals the one this test computes from the files itself; and that
 * `gpupager bench` forwards to the developer program gpupager-bench.
 * Figures are not checked: no timing assertions.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cli_run.h"
#include "common/st_fixture.h"
#include "model.h"

struct model {
	char *dir;              /* the temporary directory */
	char *path;             /* dir/model, as given to bench */
	uint64_t data_bytes;    /* every file's [data_start, size) */
	uint64_t file_bytes;
	uint64_t sum;           /* gp_checksum of each file's data, summed */
	uint32_t n_files;
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The file's data region, checksummed here from a plain read of the file. */
static uint64_t file_data_sum(const struct gp_st_file *f)
{
	uint64_t len = f->size - f->data_start;
	char *buf = malloc(len ? len : 1);
	int fd = open(f->path, O_RDONLY);
	uint64_t sum;

	cr_assert(buf && fd >= 0, "%s: %s", f->path, strerror(errno));
	cr_assert_eq(pread(fd, buf, len, (off_t)f->data_start), (ssize_t)len, "%s", f->path);
	/* Written just now: flush it, so dropping its page cache for cold runs works. */
	cr_assert_eq(fsync(fd), 0, "%s: %s", f->path, strerror(errno));
	close(fd);
	sum = gp_checksum_at(buf, len, 0);
	free(buf);
	return sum;
}

/* `gpupager mkmodel --arch arch --scale scale [--shard-size shard]` in a fresh directory. */
static struct model make_model(const char *arch, const char *scale, const char *shard)
{
	struct model m = { 0 };
	struct gp_model_desc *d;
	struct gp_test_cli r;

	m.dir = gp_test_st_dir_new();
	m.path = gp_test_st_path(m.dir, "model");
	r = gp_test_cli_run(shard ? (const char *const[]){ "mkmodel", "--arch", arch, "--scale", scale,
							  "--shard-size", shard, m.path, NULL }
				  : (const char *const[]){ "mkmodel", "--arch", arch, "--scale", scale,
							  m.path, NULL }, 0);
	cr_assert_eq(r.status, 0, "mkmodel: %s", r.err);
	gp_test_cli_free(&r);
	cr_assert_eq(gp_model_desc_open(m.path, &d), 0, "%s", gp_last_error());
	m.n_files = d->n_files;
	for (uint32_t i = 0; i < d->n_files; i++) {
		m.data_bytes += d->files[i].size - d->files[i].data_start;
		m.file_bytes += d->files[i].size;
		m.sum += file_data_sum(&d->files[i]);
	}
	gp_model_desc_free(d);
	return m;
}

static void free_model(struct model *m)
{
	cr_assert_eq(nftw(m->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0, "%s: %s", m->dir,
		     strerror(errno));
	free(m->dir);
	free(m->path);
}

static json_t *get(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	cr_assert_not_null(v, "JSON key '%s' missing", key);
	return v;
}

static uint64_t get_u64(const json_t *obj, const char *key)
{
	json_t *v = get(obj, key);

	cr_assert(json_is_integer(v), "JSON key '%s' is not an integer", key);
	return (uint64_t)json_integer_value(v);
}

static const char *get_str(const json_t *obj, const char *key)
{
	json_t *v = get(obj, key);

	cr_assert(json_is_string(v), "JSON key '%s' is not a string", key);
	return json_string_value(v);
}

static double get_num(const json_t *obj, const char *key)
{
	json_t *v = get(obj, key);

	cr_assert(json_is_number(v), "JSON key '%s' is not a number", key);
	return json_number_value(v);
}

/* Run gpupager with args; expect exit 0 and JSON on stdout. */
static json_t *run_json(const char *const *args)
{
	struct gp_test_cli r = gp_test_cli_run(args, 0);
	json_error_t jerr;
	json_t *root;

	cr_assert_eq(r.status, 0, "%s %s exited %d: %s", args[0], args[1], r.status, r.err);
	root = json_loads(r.out, 0, &jerr);
	cr_assert_not_null(root, "output is not JSON (%s): %s", jerr.text, r.out);
	gp_test_cli_free(&r);
	return root;
}

/* The run's checksum is sum; way is "method" (load) or "way" (fault), for the message. */
static void expect_checksum(const json_t *run, const char *way, uint64_t sum)
{
	char hex[24];

	snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)sum);
	cr_assert_str_eq(get_str(run, "checksum"), hex, "%s %s", get_str(run, way),
			 get_str(run, "mode"));
}

/* Every run of a bench load --json output; returns how many. */
static size_t check_load_runs(const json_t *root, const struct model *m)
{
	json_t *runs = get(root, "runs"), *run;
	size_t i;

	cr_assert(json_is_array(runs));
	json_array_foreach(runs, i, run) {
		const char *mode = get_str(run, "mode");

		cr_assert_eq(get_u64(run, "bytes"), m->data_bytes, "%s %s", get_str(run, "method"), mode);
		cr_assert_geq(get_num(run, "seconds"), 0.0);
		cr_assert_geq(get_num(run, "gbps"), 0.0);
		get(run, "ratio");
		get_str(run, "ratio_to");
		cr_assert_geq(get_num(run, "resident_before"), 0.0);
		cr_assert_leq(get_num(run, "resident_before"), 1.0);
		if (!strcmp(mode, "cold"))
			get_str(run, "cache_drop");
		expect_checksum(run, "method", m->sum);
	}
	return i;
}

Test(bench_load, all_methods_read_the_same_bytes, .timeout = 60)
{
	struct model m = make_model("sdxl-unet", "0.1", "20M");
	json_t *root, *targets, *reader;

	cr_assert_gt(m.n_files, 1, "want a sharded model");
	/* A pool smaller than the model: slots are reused (evicted) while reading. */
	root = run_json((const char *const[]){ "bench", "load", m.path, "--json", "--slot-size", "1M",
					       "--pool", "8M", NULL });
	cr_assert_str_eq(get_str(root, "model"), m.path);
	cr_assert_eq(get_u64(root, "files"), m.n_files);
	cr_assert_eq(get_u64(root, "data_bytes"), m.data_bytes);
	cr_assert_eq(get_u64(root, "slot_size"), 1u << 20);
	reader = get(root, "reader");
	cr_assert(!strcmp(get_str(reader, "io"), "io_uring") || !strcmp(get_str(reader, "io"), "pread"));
	cr_assert(json_is_boolean(get(reader, "direct")));
	cr_assert_eq(get_u64(reader, "pool_bytes"), 8u << 20);
	cr_assert_eq(get_u64(reader, "pool_slots"), 8);
	cr_assert_eq(check_load_runs(root, &m), 8, "4 methods, cold and warm");
	cr_assert(json_is_true(get(root, "checksums_agree")));
	targets = get(root, "targets");
	cr_assert_eq(json_array_size(targets), 10);
	for (size_t i = 0; i < json_array_size(targets); i++) {
		json_t *t = json_array_get(targets, i);

		get_str(t, "target");
		get_num(t, "goal");
		/* Only the first two are measured without --pad-header and --peers. */
		if (i < 2) {
			get_num(t, "ratio");
			cr_assert(json_is_boolean(get(t, "met")));
		} else {
			cr_assert(json_is_null(get(t, "ratio")), "target %zu", i);
		}
	}
	json_decref(root);
	free_model(&m);
}

/*
 * --pad-header: every method on the model and on its padded copy, twice
 * (--repeat 2), the same bytes; the copy is removed afterwards.
 */
Test(bench_load, pad_header_reads_the_same_bytes_both_ways, .timeout = 60)
{
	struct model m = make_model("sdxl-unet", "0.1", "20M");
	char *scratch = gp_test_st_dir_new_in("/var/tmp");
	json_t *root, *runs, *run, *t;
	size_t i, padded = 0;
	DIR *d;

	root = run_json((const char *const[]){ "bench", "load", m.path, "--json", "--slot-size", "1M",
					       "--pool", "8M", "--pad-header", "--scratch", scratch,
					       "--repeat", "2", NULL });
	cr_assert_eq(check_load_runs(root, &m), 16, "4 methods, 2 layouts, cold and warm");
	runs = get(root, "runs");
	json_array_foreach(runs, i, run) {
		padded += !strcmp(get_str(run, "layout"), "padded");
		cr_assert_eq(json_array_size(get(run, "samples")), 2);
	}
	cr_assert_eq(padded, 8);
	cr_assert(json_is_true(get(root, "checksums_agree")));
	t = json_array_get(get(root, "targets"), 2);
	get_num(t, "ratio");
	d = opendir(scratch);
	cr_assert_not_null(d);
	for (struct dirent *e; (e = readdir(d));)
		cr_assert(e->d_name[0] == '.', "left in the scratch directory: %s", e->d_name);
	closedir(d);
	json_decref(root);
	gp_test_st_dir_remove(scratch);
	free_model(&m);
}

Test(bench_load, one_method_one_mode, .timeout = 60)
{
	struct model m = make_model("flux-dev", "0.03", NULL);
	json_t *root;

	cr_assert_eq(m.n_files, 1);
	root = run_json((const char *const[]){ "bench", "load", m.path, "--json", "--method", "pread,mmap",
					       "--warm", NULL });
	cr_assert(json_is_null(get(root, "reader")));
	cr_assert_eq(check_load_runs(root, &m), 2);
	/* Without uring runs the targets are not measured. */
	cr_assert(json_is_null(get(json_array_get(get(root, "targets"), 0), "ratio")));
	json_decref(root);
	free_model(&m);
}

Test(bench_fault, view_and_mmap_see_the_same_bytes, .timeout = 60)
{
	struct model m = make_model("sdxl-unet", "0.1", "20M");
	const char *view;
	json_t *root, *runs, *run, *target;
	size_t i;

	root = run_json((const char *const[]){ "bench", "fault", m.path, "--json", "--threads", "2",
					       "--pool", "8M", NULL });
	cr_assert_eq(get_u64(root, "files"), m.n_files);
	cr_assert_eq(get_u64(root, "file_bytes"), m.file_bytes);
	cr_assert_eq(get_u64(root, "data_bytes"), m.data_bytes);
	cr_assert_eq(get_u64(root, "threads"), 2);
	view = get_str(root, "view");
	cr_assert(!strcmp(view, "uffd") || !strcmp(view, "mmap"), "view '%s'", view);
	runs = get(root, "runs");
	cr_assert_eq(json_array_size(runs), 4, "view and mmap, cold and warm");
	json_array_foreach(runs, i, run) {
		cr_assert_eq(get_u64(run, "bytes"), m.file_bytes);
		cr_assert_geq(get_num(run, "seconds"), 0.0);
		get_num(run, "gbps");
		get_num(run, "ratio");
		expect_checksum(run, "way", m.sum);
		if (!strcmp(get_str(run, "way"), "view")) {
			json_t *st = get(run, "view_stats");

			cr_assert_eq(get_u64(st, "errors"), 0);
			if (!strcmp(view, "uffd"))
				cr_assert_gt(get_u64(st, "loads"), 0, "a uffd view loads chunks");
		}
	}
	cr_assert(json_is_true(get(root, "checksums_agree")));
	target = get(root, "target");
	get_num(target, "ratio");
	cr_assert(json_is_boolean(get(target, "met")));
	json_decref(root);
	free_model(&m);
}

Test(bench, usage_and_runtime_errors)
{
	static const struct {
		const char *args[6];
		int status;
		const char *err;
	} cases[] = {
		{ { "bench", "load", NULL }, 2, "no MODEL given" },
		{ { "bench", "load", "/nonexistent/model", "--method", "nfs", NULL }, 2, "--method 'nfs'" },
		{ { "bench", "load", "/nonexistent/model", "--slot-size", "1000", NULL }, 2, "--slot-size" },
		{ { "bench", "load", "/nonexistent/model", "--pool", "64K", NULL }, 2, "--pool" },
		{ { "bench", "load", "/nonexistent/model", NULL }, 1, "/nonexistent/model" },
		{ { "bench", "load", "m", "--peers", NULL }, 2, "--peers needs --python" },
		{ { "bench", "load", "m", "--repeat", "0", NULL }, 2, "--repeat '0'" },
		{ { "bench", "fault", NULL }, 2, "no MODEL given" },
		{ { "bench", "fault", "m", "--threads", "0", NULL }, 2, "--threads '0'" },
		{ { "bench", "fault", "m", "--slot-size", "1M", NULL }, 2, "--slot-size '1M'" },
		{ { "bench", "fault", "/nonexistent/model", NULL }, 1, "/nonexistent/model" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gp_test_cli r = gp_test_cli_run(cases[i].args, 0);

		cr_assert_eq(r.status, cases[i].status, "case %zu: exit %d: %s", i, r.status, r.err);
		cr_assert_not_null(strstr(r.err, cases[i].err), "case %zu: stderr '%s'", i, r.err);
		gp_test_cli_free(&r);
	}
}

Test(bench, help)
{
	static const char *const names[] = { "load", "fault" };

	for (size_t i = 0; i < 2; i++) {
		struct gp_test_cli r = gp_test_cli_run((const char *const[]){ "bench", names[i], "--help",
									     NULL }, 0);

		cr_assert_eq(r.status, 0, "%s", r.err);
		cr_assert_not_null(strstr(r.out, "usage: gpupager bench"), "%s", r.out);
		gp_test_cli_free(&r);
	}
}

/* gpupager bench runs gpupager-bench with the same arguments: same output, same status. */
Test(bench, gpupager_forwards_to_gpupager_bench)
{
	const char *const args[][4] = {
		{ "bench", "--help", NULL },
		{ "bench", "policy", "--budgets", "0" },
		{ "bench", "nope", NULL },
	};

	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		const char *direct[5] = { args[i][1], args[i][2], args[i][3], NULL };
		struct gp_test_cli a = gp_test_cli_run(args[i], 0);
		struct gp_test_cli b = gp_test_cli_run_bin(GP_BUILD_DIR "/bin/gpupager-bench", direct, 0);

		cr_assert_eq(a.status, b.status, "case %zu: %d vs %d", i, a.status, b.status);
		cr_assert_str_eq(a.out, b.out, "case %zu", i);
		cr_assert_str_eq(a.err, b.err, "case %zu", i);
		gp_test_cli_free(&a);
		gp_test_cli_free(&b);
	}
}

/* A gpupager without gpupager-bench beside it says what is missing. */
Test(bench, missing_gpupager_bench_is_named)
{
	char *dir = gp_test_st_dir_new();
	char bin[4096], cmd[16384];
	struct gp_test_cli r;

	/* DIR/bin/gpupager with DIR/lib the build's: it finds its library, not the bench. */
	snprintf(bin, sizeof(bin), "%s/bin/gpupager", dir);
	snprintf(cmd, sizeof(cmd), "mkdir '%s/bin' && cp '%s' '%s' && ln -s '%s/lib' '%s/lib'", dir,
		 GP_TEST_GPUPAGER, bin, GP_BUILD_DIR, dir);
	cr_assert_eq(system(cmd), 0);
	r = gp_test_cli_run_bin(bin, (const char *const[]){ "bench", "policy", NULL }, 0);
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "/gpupager-bench"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "developer program"), "%s", r.err);
	cr_assert_str_eq(r.out, "");
	gp_test_cli_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -r '%s/bin' '%s/lib'", dir, dir);
	cr_assert_eq(system(cmd), 0);
	gp_test_st_dir_remove(dir);
}
