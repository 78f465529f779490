/*
 * shim_app.c - a CUDA driver-API program that loads a model the way apps
 * do, for testing the LD_PRELOAD shim: it maps the .safetensors file,
 * cuMemAlloc's each tensor and cuMemcpyHtoD's it from the mapping,
 * allocates activation buffers, then runs passes of kernels on several
 * streams and the default stream.  Each pass checksums every tensor on the
 * device (compared with the checksum of the file's bytes, computed on the
 * host), checks what the previous pass wrote into each activation buffer
 * and writes a new pattern; the last one is read back and checked on the
 * host.  stdout is a deterministic summary: the same with or without the
 * shim.
 *
 *   shim_app MODEL.safetensors [--passes N] [--streams N] [--acts N]
 *            [--act-size BYTES] [--resolve link|dlsym|procaddr|procaddr-ptds]
 *            [--extra] [--write-weight T] [--after-pass1 replace|truncate] [--time]
 *
 * --extra passes kernel parameters in the packed `extra` buffer.
 * --time prints each pass's wall time on stderr ("shim_app: pass N seconds S",
 * for gpupager bench shim; stdout stays the same).
 * --write-weight T overwrites tensor T (in offset order) on the device with
 * a kernel before the first pass; the passes then expect its new bytes.
 * --after-pass1 renames a different file over MODEL, or truncates MODEL in
 * place, after the first pass (the bytes on the device must not change).
 * Exit status: 0 every checksum equal to the file's and every activation
 * intact; 1 a CUDA error (the call and the error's name on stderr); 2 bad
 * usage or model; 3 out of device memory; 4 wrong bytes (listed on stdout).
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim_app_sum.h"
#include "shim_cuda.h"

#define MAX_STREAMS 8
#define MAX_REPORTED 10

struct tensor {
	const char *name;
	uint64_t offset, len, sum;
	CUdeviceptr dev;
};

struct app {
	struct tensor *tensors;
	unsigned n_tensors;
	json_t *header;
	void *map;
	size_t map_size;
	const unsigned char *data; /* the file's data section */
	uint64_t passes, n_streams, n_acts, act_size;
	int extra;
	int time_passes;
	int64_t write_weight;           /* -1: none */
	const char *after_pass1, *path;
	CUstream streams[MAX_STREAMS + 1]; /* the last one is the default stream */
	CUdeviceptr *acts, results;
	uint64_t *host_results, *staging;
	CUfunction checksum, fill, check;
	uint64_t bad;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage_exit(const char *why)
{
	fprintf(stderr,
		"shim_app: %s\nusage: shim_app MODEL.safetensors [--passes N] [--streams N] "
		"[--acts N] [--act-size BYTES] [--resolve link|dlsym|procaddr|procaddr-ptds] "
		"[--extra] [--write-weight T] [--after-pass1 replace|truncate] [--time]\n",
		why);
	exit(2);
}

static uint64_t parse_u64(const char *text, uint64_t min, uint64_t max, const char *opt)
{
	char *end;
	unsigned long long v = text ? strtoull(text, &end, 10) : 0;

	if (!text || *end || end == text || v < min || v > max) {
		fprintf(stderr, "shim_app: %s wants an integer from %llu to %llu\n", opt,
			(unsigned long long)min, (unsigned long long)max);
		exit(2);
	}
	return v;
}

static int by_offset(const void *a, const void *b)
{
	const struct tensor *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Map the file and list its tensors, sorted by offset. */
static void load_model(struct app *app, const char *path)
{
	const unsigned char *map;
	uint64_t header_len;
	json_error_t jerr;
	const char *name;
	struct stat st;
	json_t *root, *entry;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) || st.st_size < 8)
		usage_exit("cannot open the model, or it is shorter than 8 bytes");
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		usage_exit("cannot map the model");
	app->map = (void *)map;
	app->map_size = (size_t)st.st_size;
	memcpy(&header_len, map, 8);
	if (header_len > (uint64_t)st.st_size - 8)
		usage_exit("header length past the end of the file");
	root = json_loadb((const char *)map + 8, header_len, 0, &jerr);
	if (!json_is_object(root))
		usage_exit("the header is not a JSON object");
	app->header = root;
	app->data = map + 8 + header_len;
	app->tensors = calloc(json_object_size(root), sizeof(*app->tensors));
	json_object_foreach(root, name, entry) {
		json_t *offsets = json_object_get(entry, "data_offsets");
		struct tensor *t = &app->tensors[app->n_tensors];
		uint64_t begin = (uint64_t)json_integer_value(json_array_get(offsets, 0));
		uint64_t end = (uint64_t)json_integer_value(json_array_get(offsets, 1));

		if (strcmp(name, "__metadata__") == 0)
			continue;
		if (json_array_size(offsets) != 2 || begin >= end ||
		    end > (uint64_t)st.st_size - 8 - header_len)
			usage_exit("a tensor's data_offsets are missing, empty or out of the file");
		t->name = name;
		t->offset = begin;
		t->len = end - begin;
		app->n_tensors++;
	}
	if (!app->n_tensors)
		usage_exit("the model has no tensors");
	qsort(app->tensors, app->n_tensors, sizeof(*app->tensors), by_offset);
}

static CUstream stream_of(const struct app *app, uint64_t i)
{
	return app->streams[i % (app->n_streams + 1)];
}

static void launch(const struct app *app, CUfunction f, uint64_t i, const uint64_t *args,
		   unsigned n)
{
	shim_cuda_check("cuLaunchKernel", shim_cuda_launch(f, stream_of(app, i), args, n,
							   app->extra));
}

static void run_pass(struct app *app, uint64_t pass)
{
	uint64_t words = app->act_size / 8, bad_bytes = 0;
	unsigned n_t = app->n_tensors, good = 0;

	for (unsigned t = 0; t < n_t; t++) {
		const struct tensor *ts = &app->tensors[t];

		launch(app, app->checksum, t,
		       (uint64_t[]){ ts->dev, ts->len, pass, app->results + 16 * t }, 4);
	}
	for (uint64_t a = 0; a < app->n_acts; a++) {
		launch(app, app->check, a,
		       (uint64_t[]){ app->acts[a], words, shim_act_seed(a, pass - 1), pass,
				     app->results + 16 * (n_t + a) }, 5);
		launch(app, app->fill, a,
		       (uint64_t[]){ app->acts[a], words, shim_act_seed(a, pass) }, 3);
	}
	for (uint64_t s = 0; s <= app->n_streams; s++)
		CU(cuStreamSynchronize, app->streams[s]);
	CU(cuMemcpyDtoH_v2, app->host_results, app->results, 16 * (n_t + app->n_acts));
	for (unsigned t = 0; t < n_t; t++) {
		const uint64_t *r = &app->host_results[2 * t];

		if (r[0] == pass && r[1] == app->tensors[t].sum) {
			good++;
		} else if (app->bad++ < MAX_REPORTED) {
			printf("pass %llu: %s: tag %llu checksum %#llx, file %#llx\n",
			       (unsigned long long)pass, app->tensors[t].name,
			       (unsigned long long)r[0], (unsigned long long)r[1],
			       (unsigned long long)app->tensors[t].sum);
		}
	}
	for (uint64_t a = 0; a < app->n_acts; a++) {
		const uint64_t *r = &app->host_results[2 * (n_t + a)];

		if (r[0] != pass && app->bad++ < MAX_REPORTED)
			printf("pass %llu: activation %llu: not checked (tag %llu)\n",
			       (unsigned long long)pass, (unsigned long long)a,
			       (unsigned long long)r[0]);
		bad_bytes += r[0] == pass ? r[1] : 0;
	}
	app->bad += bad_bytes;
	printf("pass %llu: %u of %u checksums match, %llu bad activation bytes\n",
	       (unsigned long long)pass, good, n_t, (unsigned long long)bad_bytes);
}

/* A kernel overwrites tensor write_weight: a weight the app changed on the device. */
static void write_weight(struct app *app)
{
	struct tensor *ts;
	uint64_t *want;

	if ((uint64_t)app->write_weight >= app->n_tensors)
		usage_exit("--write-weight: no such tensor");
	ts = &app->tensors[app->write_weight];
	want = calloc(1, ts->len);
	for (uint64_t i = 0; i < ts->len / 8; i++)
		want[i] = shim_pattern(SHIM_GOLDEN, i);
	launch(app, app->fill, 0, (uint64_t[]){ ts->dev, ts->len / 8, SHIM_GOLDEN }, 3);
	CU(cuCtxSynchronize);
	/* A last partial word keeps the file's bytes. */
	memcpy((uint8_t *)want + ts->len / 8 * 8, app->data + ts->offset + ts->len / 8 * 8,
	       ts->len % 8);
	ts->sum = shim_sum(want, ts->len);
	free(want);
	printf("wrote tensor %s on the device\n", ts->name);
}

/* Rename another file over the model, or truncate it in place. */
static void change_file(struct app *app)
{
	char tmp[4096];
	int fd;

	if (!strcmp(app->after_pass1, "truncate")) {
		if (truncate(app->path, 8))
			usage_exit("cannot truncate the model");
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.new", app->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	/* Same size, other bytes: only the inode tells them apart. */
	if (fd < 0 || ftruncate(fd, (off_t)app->map_size) || close(fd) || rename(tmp, app->path))
		usage_exit("cannot replace the model");
}

static void parse_args(struct app *app, int argc, char **argv, const char **model,
		       const char **resolve)
{
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "--extra") == 0) {
			app->extra = 1;
			continue;
		}
		if (strcmp(opt, "--time") == 0) {
			app->time_passes = 1;
			continue;
		}
		if (opt[0] != '-') {
			if (*model)
				usage_exit("one MODEL expected");
			*model = opt;
			continue;
		}
		i++;
		if (strcmp(opt, "--passes") == 0)
			app->passes = parse_u64(val, 1, 1000, opt);
		else if (strcmp(opt, "--streams") == 0)
			app->n_streams = parse_u64(val, 0, MAX_STREAMS, opt);
		else if (strcmp(opt, "--acts") == 0)
			app->n_acts = parse_u64(val, 0, 1000, opt);
		else if (strcmp(opt, "--act-size") == 0)
			app->act_size = parse_u64(val, 8, 1ull << 34, opt) / 8 * 8;
		else if (strcmp(opt, "--resolve") == 0 && val)
			*resolve = val;
		else if (strcmp(opt, "--write-weight") == 0)
			app->write_weight = (int64_t)parse_u64(val, 0, 1u << 30, opt);
		else if (strcmp(opt, "--after-pass1") == 0 && val &&
			 (!strcmp(val, "replace") || !strcmp(val, "truncate")))
			app->after_pass1 = val;
		else
			usage_exit("unknown option or missing value");
	}
	if (!*model)
		usage_exit("MODEL is required");
}

int main(int argc, char **argv)
{
	struct app app = { .passes = 3, .n_streams = 3, .n_acts = 4, .act_size = 2u << 20,
			   .write_weight = -1 };
	const char *model = NULL, *resolve = "link";
	uint64_t total = 0, bytes = 0, final_bad = 0;
	CUmodule module;

	parse_args(&app, argc, argv, &model, &resolve);
	app.path = model;
	load_model(&app, model);
	if (shim_cuda_resolve(resolve))
		return 2;
	shim_cuda_start();
	module = shim_cuda_load_kernels("shim_app_kernels.so");
	CU(cuModuleGetFunction, &app.checksum, module, "checksum");
	CU(cuModuleGetFunction, &app.fill, module, "fill");
	CU(cuModuleGetFunction, &app.check, module, "check");
	for (uint64_t s = 0; s < app.n_streams; s++)
		CU(cuStreamCreate, &app.streams[s], CU_STREAM_DEFAULT);
	app.streams[app.n_streams] = NULL;

	for (unsigned t = 0; t < app.n_tensors; t++) {
		struct tensor *ts = &app.tensors[t];

		CU(cuMemAlloc_v2, &ts->dev, ts->len);
		CU(cuMemcpyHtoD_v2, ts->dev, app.data + ts->offset, ts->len);
		ts->sum = shim_sum(app.data + ts->offset, ts->len);
		total = total * SHIM_GOLDEN + ts->sum;
		bytes += ts->len;
	}
	printf("model: %u tensors, %llu bytes, checksum %#llx\n", app.n_tensors,
	       (unsigned long long)bytes, (unsigned long long)total);
	app.acts = calloc(app.n_acts, sizeof(*app.acts));
	app.staging = malloc(app.act_size);
	for (uint64_t a = 0; a < app.n_acts; a++) {
		for (uint64_t i = 0; i < app.act_size / 8; i++)
			app.staging[i] = shim_pattern(shim_act_seed(a, 0), i);
		CU(cuMemAlloc_v2, &app.acts[a], app.act_size);
		CU(cuMemcpyHtoD_v2, app.acts[a], app.staging, app.act_size);
	}
	app.host_results = calloc(app.n_tensors + app.n_acts, 16);
	CU(cuMemAlloc_v2, &app.results, 16 * (app.n_tensors + app.n_acts));
	bytes += app.n_acts * app.act_size + 16 * (app.n_tensors + app.n_acts);
	printf("activations: %llu buffers of %llu bytes\nallocations: %llu, %llu bytes\n",
	       (unsigned long long)app.n_acts, (unsigned long long)app.act_size,
	       (unsigned long long)(app.n_tensors + app.n_acts + 1), (unsigned long long)bytes);

	if (app.write_weight >= 0)
		write_weight(&app);
	for (uint64_t p = 1; p <= app.passes; p++) {
		double start = now();

		run_pass(&app, p);
		if (app.time_passes)
			fprintf(stderr, "shim_app: pass %llu seconds %.9f\n", (unsigned long long)p,
				now() - start);
		if (p == 1 && app.after_pass1)
			change_file(&app);
	}
	for (uint64_t a = 0; a < app.n_acts; a++) {
		CU(cuMemcpyDtoH_v2, app.staging, app.acts[a], app.act_size);
		final_bad += shim_pattern_bad_bytes(app.staging, app.act_size / 8,
						    shim_act_seed(a, app.passes));
	}
	app.bad += final_bad;
	printf("read back: %llu bad activation bytes\n", (unsigned long long)final_bad);

	for (unsigned t = 0; t < app.n_tensors; t++)
		CU(cuMemFree_v2, app.tensors[t].dev);
	for (uint64_t a = 0; a < app.n_acts; a++)
		CU(cuMemFree_v2, app.acts[a]);
	CU(cuMemFree_v2, app.results);
	for (uint64_t s = 0; s < app.n_streams; s++)
		CU(cuStreamDestroy_v2, app.streams[s]);
	CU(cuModuleUnload, module);
	CU(cuDevicePrimaryCtxRelease_v2, 0);
	free(app.acts);
	free(app.staging);
	free(app.host_results);
	free(app.tensors);
	json_decref(app.header);
	munmap(app.map, app.map_size);
	printf("%s\n", app.bad ? "FAILED" : "ok");
	return app.bad ? 4 : 0;
}
